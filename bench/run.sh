#!/usr/bin/env bash
# `make bench`: every benchmark, one after another, each printing its figures
# and its ratios against the peers it measures in the same run. Benchmarks
# that need a broker get the real one (scripts/with-services.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$root/build}
echo "# Parry benchmarks on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
"$root/bench/normalize.sh"
echo
"$root/bench/detect.sh"
echo
"$root/bench/correlate.sh"
echo
echo "# correlation windows in process (bench/bench_window.c, docs/correlation.md)"
"$BUILD_DIR/bin/bench_window"
echo
"$root/scripts/with-services.sh" "$root/bench/executor.sh"
for b in "$root"/bench/*_kafka.sh; do
  [[ -x $b ]] || continue
  echo
  "$root/scripts/with-services.sh" "$b"
done

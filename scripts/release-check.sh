#!/usr/bin/env bash
# The release build (LTO + PGO) must behave exactly like the everyday build
# the tests run on: the same bytes from `parry normalize` (NDJSON, protobuf,
# rejects) and `parry detect` over the shared test data's logs (or, without
# them, the repository's fuzz seeds). An optimizer bug, or undefined
# behaviour that only the whole-program optimizer exposes, shows up here.
#
#   scripts/release-check.sh EVERYDAY_BUILD_DIR RELEASE_BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
a=${1:?usage: scripts/release-check.sh EVERYDAY_BUILD_DIR RELEASE_BUILD_DIR}/bin/parry
b=${2:?usage: scripts/release-check.sh EVERYDAY_BUILD_DIR RELEASE_BUILD_DIR}/bin/parry
data=${PARRY_TESTDATA:-$root/../shared/data}
work=$(mktemp -d "${TMPDIR:-/tmp}/parry-release-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

inputs=()
if [[ -d $data ]]; then
  while IFS= read -r -d '' f; do inputs+=("$f"); done < <(
    find "$data/fail2ban" "$data/crowdsec-hub" "$data/cef" "$data/loghub" "$data/zeek" \
      "$data/suricata" -type f \( -name '*.log' -o -name '*.txt' -o -name '*.json' \
      -o -path '*/logs/*' \) -size -4M -print0 | sort -z)
else
  echo "release-check: no test data at $data; comparing on the fuzz seeds" >&2
  while IFS= read -r -d '' f; do inputs+=("$f"); done < <(
    find "$root/tests/fuzz/corpus/fuzz_syslog" "$root/tests/fuzz/corpus/fuzz_cef" \
      "$root/tests/fuzz/corpus/fuzz_windows" "$root/tests/fuzz/corpus/fuzz_zeek" -type f \
      -print0 | sort -z)
fi
cat "${inputs[@]}" > "$work/all.log"

same() { # label, then the arguments for both programs
  local label=$1
  shift
  local x
  for x in a b; do
    local prog=$a
    [[ $x == b ]] && prog=$b
    : > "$work/rejects"
    "$prog" "$@" > "$work/$x.out" 2> "$work/$x.err" || true
    cat "$work/rejects" >> "$work/$x.err"
  done
  if ! cmp -s "$work/a.out" "$work/b.out" || ! cmp -s "$work/a.err" "$work/b.err"; then
    echo "release-check: FAILED: parry $* ($label) differs between $a and $b" >&2
    { diff "$work/a.out" "$work/b.out"; diff "$work/a.err" "$work/b.err"; } | cut -c1-300 |
      head -n 20 >&2 || true
    exit 1
  fi
  echo "release-check: same: $label ($(wc -c < "$work/a.out") bytes)" >&2
}
# One reading time for both (records without a time of their own get it).
at=(--received-at 2026-01-02T03:04:05Z)
same "auto-detect, NDJSON, rejects" normalize "${at[@]}" --rejects "$work/rejects" "$work/all.log"
same "syslog, NDJSON, rejects" normalize "${at[@]}" --format syslog --rejects "$work/rejects" \
  "$work/all.log"
same "syslog, protobuf" normalize "${at[@]}" --format syslog --output protobuf "$work/all.log"
"$a" normalize "${at[@]}" "$work/all.log" > "$work/events.ndjson" 2>/dev/null || true
same "detect, example rules" detect --rules "$root/examples/rules" "$work/events.ndjson"
echo "release-check: ${#inputs[@]} input files, release build matches the everyday build" >&2

#!/usr/bin/env bash
# Normalization speed, side by side on one generated sshd log, one core each:
#   parry normalize to NDJSON, and to encoded Events (the service path), from
#   the release build (make release: LTO + PGO, trained on other logs than
#   this one; scripts/pgo-train.sh) and, for comparison, the everyday build,
#   lognormalizer (liblognorm) with bench/sshd.rulebase, JSON output,
#   fail2ban-regex with the stock sshd filter (on a slice: it is slow),
# then the ratios, and peak memory at two input sizes (it must stay flat).
#
#   bench/normalize.sh [LINES]      (default 2,000,000)
#   INSTR=1 bench/normalize.sh      also instructions per line (valgrind)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
plain_bin=${BUILD_DIR:-$root/build}/bin
release_bin=${RELEASE_BUILD_DIR:-$root/build-release}/bin
bin=$plain_bin
if [[ -x $release_bin/parry ]]; then
  bin=$release_bin
else
  echo "(no release build at $release_bin: make release; measuring the everyday build only)"
fi
lines=${1:-2000000}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/parry-bench}
mkdir -p "$work"
log=$work/sshd-$lines.log
[[ -s $log ]] || python3 "$root/bench/gen-sshd-log.py" "$lines" "$log"
f2b_lines=$((lines / 10 < 200000 ? lines / 10 : 200000))
head -n "$f2b_lines" "$log" > "$work/sshd-f2b.log"
pin=(taskset -c 0)
command -v taskset >/dev/null || pin=()

# seconds of wall time of a command, best of 3
best_of_3() {
  local best=999999 t
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    best=$(echo "if ($t < $best) $t else $best" | bc -l)
  done
  echo "$best"
}
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }

echo "== normalization: $lines sshd lines ($log), one core"
# The two builds must write the same bytes (make test checks more inputs).
if [[ $bin != "$plain_bin" ]] && ! cmp -s \
  <("$bin/parry" normalize --received-at 2026-01-01T00:00:00Z --format syslog "$work/sshd-f2b.log" 2>&1) \
  <("$plain_bin/parry" normalize --received-at 2026-01-01T00:00:00Z --format syslog "$work/sshd-f2b.log" 2>&1); then
  echo "release and everyday builds differ on $work/sshd-f2b.log: not measuring" >&2
  exit 1
fi
t_json=$(best_of_3 "${pin[@]}" "$bin/parry" normalize --format syslog "$log")
t_auto=$(best_of_3 "${pin[@]}" "$bin/parry" normalize "$log")
t_pb=$(best_of_3 "${pin[@]}" "$bin/parry" normalize --format syslog --output protobuf "$log")
r_json=$(rate "$lines" "$t_json"); r_auto=$(rate "$lines" "$t_auto"); r_pb=$(rate "$lines" "$t_pb")
build_name=release
[[ $bin == "$plain_bin" ]] && build_name=everyday
printf '%-58s %12s lines/s\n' "parry normalize --format syslog (NDJSON), $build_name" "$r_json"
printf '%-58s %12s lines/s\n' "parry normalize (auto-detect, NDJSON), $build_name" "$r_auto"
printf '%-58s %12s lines/s\n' "parry normalize --output protobuf (Event), $build_name" "$r_pb"
r_plain=""
if [[ $bin != "$plain_bin" ]]; then
  t_plain=$(best_of_3 "${pin[@]}" "$plain_bin/parry" normalize --format syslog "$log")
  r_plain=$(rate "$lines" "$t_plain")
  printf '%-58s %12s lines/s\n' "parry normalize --format syslog (NDJSON), everyday build" "$r_plain"
fi

r_ln=""
if command -v lognormalizer >/dev/null; then
  t_ln=$(best_of_3 "${pin[@]}" sh -c "lognormalizer -r '$root/bench/sshd.rulebase' -e json < '$log'")
  r_ln=$(rate "$lines" "$t_ln")
  printf '%-58s %12s lines/s\n' "lognormalizer -e json (sshd rulebase)" "$r_ln"
else
  echo "lognormalizer: not installed (apt-get install liblognorm-utils)"
fi
r_f2b=""
if command -v fail2ban-regex >/dev/null; then
  t_f2b=$(best_of_3 "${pin[@]}" fail2ban-regex "$work/sshd-f2b.log" /etc/fail2ban/filter.d/sshd.conf)
  r_f2b=$(rate "$f2b_lines" "$t_f2b")
  printf '%-58s %12s lines/s  (%s lines)\n' "fail2ban-regex (stock sshd filter)" "$r_f2b" "$f2b_lines"
else
  echo "fail2ban-regex: not installed (apt-get install fail2ban)"
fi
echo
[[ -n $r_ln ]] && printf 'ratio parry NDJSON (%s) / lognormalizer:   %6.1fx  (target >= 3x)\n' "$build_name" "$(echo "$r_json / $r_ln" | bc -l)"
[[ -n $r_f2b ]] && printf 'ratio parry NDJSON (%s) / fail2ban-regex:  %6.1fx  (target >= 50x)\n' "$build_name" "$(echo "$r_json / $r_f2b" | bc -l)"
if [[ -n $r_plain ]]; then
  [[ -n $r_ln ]] && printf 'ratio parry NDJSON (everyday) / lognormalizer:  %6.1fx\n' "$(echo "$r_plain / $r_ln" | bc -l)"
  [[ -n $r_f2b ]] && printf 'ratio parry NDJSON (everyday) / fail2ban-regex: %6.1fx\n' "$(echo "$r_plain / $r_f2b" | bc -l)"
fi

# Instructions per line (callgrind, indifferent to load), on a 200,000-line
# slice: the figure to compare across changes on a busy machine.
#   INSTR=1 bench/normalize.sh [LINES]
if [[ ${INSTR:-0} == 1 ]] && command -v valgrind >/dev/null; then
  slice=$work/sshd-200k.log
  head -n 200000 "$log" > "$slice"
  n=$(wc -l < "$slice")
  ipl() {
    local out=$work/callgrind.out
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin/parry" normalize "$@" "$slice" \
      >/dev/null 2>&1
    callgrind_annotate "$out" | awk -v n="$n" '/PROGRAM TOTALS/ {gsub(",", "", $1); printf "%.0f", $1 / n; exit}'
    rm -f "$out"
  }
  echo
  printf '%-44s %12s instructions/line\n' "parry normalize --format syslog (NDJSON)" "$(ipl --format syslog)"
  printf '%-44s %12s instructions/line\n' "parry normalize (auto-detect, NDJSON)" "$(ipl)"
  printf '%-44s %12s instructions/line\n' "parry normalize --output protobuf (Event)" \
    "$(ipl --format syslog --output protobuf)"
fi

half=$work/sshd-half.log
head -n $((lines / 2)) "$log" > "$half"
rss() { /usr/bin/time -f %M "$bin/parry" normalize --format syslog "$1" 2>&1 >/dev/null | tail -1; }
echo
printf 'peak memory: %s KiB at %s lines, %s KiB at %s lines\n' "$(rss "$half")" $((lines / 2)) "$(rss "$log")" "$lines"

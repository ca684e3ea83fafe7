#!/usr/bin/env bash
# SSH brute-force detection end to end, raw syslog lines in, alerts out, one
# process each, on the generated sshd log bench/normalize.sh uses:
#   parry detect --format syslog with examples/rules/linux/sshd-brute-force.yml
#     (>= 10 failed logins from one source.ip within 5 minutes, event time,
#     then at most one alert per address per 5 minutes),
#     with its normalizer thread (default) and in one thread (--threads 0);
#   SEC (Simple Event Correlator) with a SingleWithThreshold rule for the
#     same condition (10 matching lines per address within 300 s; after the
#     alert, the address's window runs out before it can alert again);
# then lines/s (wall time, best of 3), CPU time, the ratio, and which
# addresses each alerted, against a reference count by event time written
# in Python here.
#
# The alert sets differ by design: SEC's windows run on arrival time (the
# clock while it reads), so reading the whole file takes seconds and every
# address with 10 failures anywhere in the file alerts; parry's windows run
# on the lines' own timestamps. Parry must equal the event-time reference;
# SEC must equal the arrival-time reading of the same count (every address
# with >= 10 matching lines). SEC also counts a "message repeated N times:
# [ Failed password ... ]" line once, parry N times.
#
#   bench/correlate.sh [LINES]      (default 2,000,000)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${BUILD_DIR:-$root/build}/bin
lines=${1:-2000000}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/parry-bench}
mkdir -p "$work"
log=$work/sshd-$lines.log
[[ -s $log ]] || python3 "$root/bench/gen-sshd-log.py" "$lines" "$log"
rules=$root/examples/rules/linux/sshd-brute-force.yml

# seconds of wall time of a command, best of 3 (output to $out_file)
best_of_3() {
  local best=999999 t
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N)
    "$@" > "$out_file" 2>> "$work/correlate.err"
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    best=$(echo "if ($t < $best) $t else $best" | bc -l)
  done
  echo "$best"
}
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
cpu() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f", $1 + $2}'; }
: > "$work/correlate.err"

echo "== SSH brute force, raw lines to alerts: $lines sshd lines ($log)"
out_file=$work/parry-alerts.ndjson
t_p=$(best_of_3 "$bin/parry" detect --format syslog --rules "$rules" "$log")
out_file=$work/parry-alerts-1t.ndjson
t_p1=$(best_of_3 "$bin/parry" detect --threads 0 --format syslog --rules "$rules" "$log")
cmp -s "$work/parry-alerts.ndjson" "$work/parry-alerts-1t.ndjson" || {
  echo "parry detect: --threads 0 and the default gave different output" >&2
  exit 1
}
r_p=$(rate "$lines" "$t_p"); r_p1=$(rate "$lines" "$t_p1")
c_p=$(cpu "$bin/parry" detect --format syslog --rules "$rules" "$log")
c_p1=$(cpu "$bin/parry" detect --threads 0 --format syslog --rules "$rules" "$log")
printf '%-44s %10s lines/s  (%s s wall; %s s CPU: %s lines per CPU-s)\n' \
  "parry detect --format syslog (2 threads)" "$r_p" "$t_p" "$c_p" "$(rate "$lines" "$c_p")"
printf '%-44s %10s lines/s  (%s s wall; %s s CPU: %s lines per CPU-s)\n' \
  "parry detect --threads 0 (one thread)" "$r_p1" "$t_p1" "$c_p1" "$(rate "$lines" "$c_p1")"

r_s=""
if command -v sec >/dev/null; then
  sec_rules=$work/sshd-brute-force.sec
  cat > "$sec_rules" <<'EOF'
# >= 10 failed sshd logins (not public key) from one address within 300 s
type=SingleWithThreshold
ptype=RegExp
pattern=sshd\[\d+\]: (?:message repeated \d+ times: \[ )?Failed (?!publickey)\S+ for (?:invalid user )?.*? from (\S+) port \d+
desc=ssh brute force from $1
action=write - $1
window=300
thresh=10
EOF
  out_file=$work/sec-alerts.txt
  t_s=$(best_of_3 sec --conf="$sec_rules" --input="$log" --notail --nointevents --nointcontexts \
    --log=/dev/null --debug=1)
  r_s=$(rate "$lines" "$t_s")
  c_s=$(cpu sec --conf="$sec_rules" --input="$log" --notail --nointevents --nointcontexts \
    --log=/dev/null --debug=1)
  printf '%-44s %10s lines/s  (%s s wall; %s s CPU: %s lines per CPU-s)\n' \
    "SEC 2.9 SingleWithThreshold" "$r_s" "$t_s" "$c_s" "$(rate "$lines" "$c_s")"
else
  echo "sec: not installed (scripts/install-deps.sh bench)"
fi
echo
if [[ -n $r_s ]]; then
  printf 'ratio parry detect / SEC:               %6.1fx  (target >= 5x)\n' "$(echo "$r_p / $r_s" | bc -l)"
  printf 'ratio parry detect one thread / SEC:    %6.1fx\n' "$(echo "$r_p1 / $r_s" | bc -l)"
  printf 'ratio per CPU-second, one thread / SEC: %6.1fx  (what a busy machine cannot blur)\n' \
    "$(echo "$c_s / $c_p1" | bc -l)"
fi

# Which addresses alerted, against the reference counts.
python3 - "$log" "$work/parry-alerts.ndjson" "${r_s:+$work/sec-alerts.txt}" <<'EOF'
import json, re, sys
from collections import defaultdict, deque
log, parry_out = sys.argv[1], sys.argv[2]
sec_out = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
line_re = re.compile(r"sshd\[\d+\]: (?:message repeated (\d+) times: \[ )?"
                     r"Failed (?!publickey)\S+ for (?:invalid user )?.*? from (\S+) port \d+")
import calendar
year, last_month = 2000, 0
windows = defaultdict(deque)
fired = {}  # the rule's `suppress: 5m`: last written alert per address
event_time, lines_per_ip = set(), defaultdict(int)
event_alerts = 0
with open(log, encoding="utf-8", errors="replace") as f:
    for line in f:
        m = line_re.search(line)
        if not m:
            continue
        month = MONTHS.index(line[0:3]) + 1
        if month < last_month:
            year += 1
        last_month = month
        h, mi, s = (int(x) for x in line[7:15].split(":"))
        t = calendar.timegm((year, month, int(line[4:6]), h, mi, s))
        ip = m.group(2)
        lines_per_ip[ip] += 1
        for _ in range(int(m.group(1) or 1)):
            w = windows[ip]
            w.append(t)
            while w[0] < t - 300:
                w.popleft()
            if len(w) >= 10:
                w.clear()
                if ip in fired and t < fired[ip] + 300:
                    continue  # suppressed: not written
                fired[ip] = t
                event_time.add(ip)
                event_alerts += 1
parry = set()
parry_alerts = 0
with open(parry_out) as f:
    for line in f:
        a = json.loads(line)
        parry.add(a["group_by"]["source.ip"])
        parry_alerts += 1
print(f"reference by event time:   {len(event_time)} addresses, {event_alerts} alerts")
print(f"parry detect:              {len(parry)} addresses, {parry_alerts} alerts -> "
      f"{'SAME as the event-time reference' if parry == event_time and parry_alerts == event_alerts else 'DIFFERENT from the event-time reference'}")
if sec_out:
    sec = set(l.strip() for l in open(sec_out) if l.strip())
    arrival = {ip for ip, n in lines_per_ip.items() if n >= 10}
    print(f"SEC:                       {len(sec)} addresses -> "
          f"{'same as' if sec == arrival else 'DIFFERENT from'} every address with >= 10 matching "
          f"lines in the file ({len(arrival)}: arrival time, the file read in seconds)")
    print(f"addresses both alerted:    {len(sec & parry)}; only SEC: {len(sec - parry)} "
          f"(never 10 failures within 5 minutes of log time); only parry: {len(parry - sec)}")
EOF

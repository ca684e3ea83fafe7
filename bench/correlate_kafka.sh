#!/usr/bin/env bash
# Correlator throughput through both stages on a real Kafka broker:
#   sshd syslog lines (bench/gen-sshd-log.py: the loghub OpenSSH sample
#   repeated with increasing timestamps) are pre-produced as protobuf Events
#   to a fresh topics.events by parry-ingestor (not timed); then one
#   parry-correlator process (correlator.stages=both: stage 1 Sigma detection
#   -> topics.signals, stage 2 windows -> topics.alerts with the changelog in
#   topics.state, both in Kafka transactions) runs the SSH brute-force rules of
#   examples/rules/linux/sshd-brute-force.yml over them.
#
#   bench/correlate_kafka.sh [LINES]        (default 500,000)
#
# Figures (from the correlator's own /metrics, polled every 100 ms):
#   - stage 1: events/s from the first event handled to the last (the end is
#     when the count stops moving for 2 s; those 2 s are not counted);
#   - both stages: events/s from the first event handled until stage 2 has
#     fed every signal stage 1 produced; the process is then sent SIGTERM and
#     must commit its last transactions and exit 0 (so every alert and state
#     record is committed; that time is printed apart);
#   - signals, correlation alerts, changelog records, aborted transactions.
# Runs RUNS times (default 1) on fresh topics; each run's figures are printed,
# with `parry detect`'s count of correlation alerts over the same log as a
# cross-check. Correlator settings (also given to parry detect):
# CORRELATE_SETTINGS="--set k=v ...", by default allowed_lateness 0 and
# idle_expiry 365d (longer than the log). A stream never ends, so with
# lateness the last signals of each key wait for later ones that never come;
# and idle expiry runs on each replica's own clock (the newest event time it
# has seen), which in a replay with skewed partitions expires keys that
# offline keeps. With both off, the correlator must make exactly the
# offline alerts.
#
# Broker: $KAFKA_BOOTSTRAP when set, else a throwaway broker started for the
# run (scripts/kafka.sh) in $BENCH_DIR/kafka-run and removed afterwards.
# Build: $BUILD_DIR (default build/, RelWithDebInfo).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bin=$build/bin
lines=${1:-500000}
runs=${RUNS:-1}
CORRELATE_SETTINGS=${CORRELATE_SETTINGS---set correlator.allowed_lateness=0 --set correlator.idle_expiry=365d}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/parry-bench}
rules=$root/examples/rules/linux/sshd-brute-force.yml
mkdir -p "$work"

for b in parry parry-ingestor parry-correlator; do
  [[ -x $bin/$b ]] || { echo "correlate_kafka: $bin/$b missing: run make build" >&2; exit 1; }
done
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
case $type in
  RelWithDebInfo | Release) ;;
  *) echo "correlate_kafka: warning: $build is a '${type:-default}' build, not RelWithDebInfo" >&2 ;;
esac

log=$work/sshd-$lines.log
[[ -s $log ]] || python3 "$root/bench/gen-sshd-log.py" "$lines" "$log"

started_broker=
cor_pid=
cleanup() {
  if [[ -n $cor_pid ]]; then
    kill "$cor_pid" 2>/dev/null || true
    wait "$cor_pid" 2>/dev/null || true
  fi
  if [[ -n $started_broker ]]; then
    PARRY_RUN_DIR=$work/kafka-run "$root/scripts/kafka.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work/kafka-run"
  fi
}
trap cleanup EXIT
if [[ -z ${KAFKA_BOOTSTRAP:-} ]]; then
  rm -rf "$work/kafka-run"
  KAFKA_BOOTSTRAP=$(PARRY_RUN_DIR=$work/kafka-run "$root/scripts/kafka.sh" start 2>/dev/null)
  started_broker=1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_once() {
  local prefix=parry-bench-cor-$$-$1
  local -a sets=(--set "kafka.bootstrap.servers=$KAFKA_BOOTSTRAP"
    --set "topics.events=$prefix.events" --set "topics.dlq=$prefix.dlq"
    --set "topics.signals=$prefix.signals" --set "topics.state=$prefix.state"
    --set "topics.alerts=$prefix.alerts")
  "$bin/parry" topics create "${sets[@]}" >/dev/null 2>"$work/cor-topics.log" || {
    cat "$work/cor-topics.log" >&2
    exit 1
  }
  "$bin/parry-ingestor" "${sets[@]}" --set http.enabled=false --set "ingestor.files=$log" \
    --set ingestor.exit_after_files=true 2>"$work/cor-ingest-$1.log" || {
    echo "correlate_kafka: parry-ingestor failed; see $work/cor-ingest-$1.log" >&2
    exit 1
  }
  # The events Kafka acknowledged (delivery reports without error, dead
  # letters apart): the correlator must read exactly these from the topic.
  local events
  events=$(python3 - "$work/cor-ingest-$1.log" <<'EOF'
import json, re, sys
for line in open(sys.argv[1]):
    try:
        msg = json.loads(line)["msg"]
    except (ValueError, KeyError):
        continue
    m = re.match(r"ingestor\.files: all files read; Kafka acknowledged (\d+) events and (\d+) "
                 r"dead letters; (\d+) failed, (\d+) not queued, (\d+) still in flight", msg)
    if m:
        if any(int(x) for x in m.groups()[2:]):
            sys.exit("correlate_kafka: the ingestor did not deliver everything: " + msg)
        print(m.group(1))
        sys.exit(0)
sys.exit("correlate_kafka: the ingestor did not finish; see " + sys.argv[1])
EOF
)
  local port
  port=$(free_port)
  # shellcheck disable=SC2086
  "$bin/parry-correlator" "${sets[@]}" --set "http.listen=127.0.0.1:$port" \
    --set "correlator.rules=$rules" --set "correlator.group=$prefix.detect" \
    --set "correlator.correlate_group=$prefix.correlate" --set correlator.instance_id=bench \
    ${CORRELATE_SETTINGS:-} 2>"$work/cor-run-$1.log" &
  cor_pid=$!
  local figures
  figures=$(python3 - "$port" "$events" "$cor_pid" <<'EOF'
import os, re, signal, sys, time, urllib.request
port, events, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def metrics():
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return None
    out = {}
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(\{[^}]*\})? (\S+)$', line)
        if m:
            key = m.group(1) + (m.group(2) or "")
            out[key] = float(m.group(3))
    return out
def get(m, name):
    return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))
# Done when stage 1 has handled every event the ingestor had acknowledged
# and its count has not moved for 2 s since, and stage 2 has fed every
# signal stage 1 produced. A count that stays short for 60 s is a failure:
# acknowledged events that the correlator cannot find in the topic.
t_first = t_detect = t_done = None
last_ev, last_change = -1, time.monotonic()
deadline = time.monotonic() + 3600
while time.monotonic() < deadline:
    m = metrics()
    now = time.monotonic()
    if m:
        ev = get(m, "parry_correlator_events_total")
        if t_first is None and ev > 0:
            t_first = now
        if ev != last_ev:
            last_ev, last_change = ev, now
            t_done = None
        t_detect = last_change
        produced = get(m, "parry_correlator_signals_produced_total")
        fed = get(m, "parry_correlator_signals_total")
        if ev > 0 and fed >= produced and t_done is None:
            t_done = now
        if ev > 0 and t_done is not None and now - last_change >= 2 and ev >= events:
            last = m
            break
        if ev > 0 and now - last_change >= 60:
            sys.exit(f"correlate_kafka: stage 1 handled {int(ev):,} events and nothing for 60 s; "
                     f"the ingestor had {events:,} acknowledged")
    time.sleep(0.1)
else:
    sys.exit("correlate_kafka: the correlator did not finish within an hour")
t_stop = time.monotonic()
os.kill(pid, signal.SIGTERM)
# The process is bash's child: watch it turn into a zombie (bash reaps it
# and checks its exit status).
def gone():
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True
while not gone():
    time.sleep(0.01)
t_end = time.monotonic()
n = int(last_ev)
both = t_done - t_first
# More than acknowledged: an aborted transaction's events were handled again.
note = "" if n == events else f" (Kafka acknowledged {events:,} to the ingestor; aborted transactions re-read)"
print(f"correlate_kafka: {n:,} events{note}: stage 1 {n / (t_detect - t_first):,.0f} events/s "
      f"({t_detect - t_first:.2f} s); both stages {n / both:,.0f} events/s "
      f"({both:.2f} s, to the last signal fed; then SIGTERM, last commits, exit 0 "
      f"in {t_end - t_stop:.2f} s); {get(last, 'parry_correlator_signals_produced_total'):,.0f} signals, "
      f"{get(last, 'parry_correlator_correlation_alerts_total'):,.0f} correlation alerts, "
      f"{get(last, 'parry_correlator_state_records_total'):,.0f} changelog records, "
      f"{get(last, 'parry_correlator_transactions_aborted_total'):,.0f} aborted transactions")
EOF
)
  local rc=0
  wait "$cor_pid" || rc=$?
  cor_pid=
  if ((rc != 0)); then
    echo "correlate_kafka: parry-correlator exited with status $rc; see $work/cor-run-$1.log" >&2
    exit 1
  fi
  echo "$figures"
  # Cross-check: the offline tool over the same log and rules (same engine,
  # same defaults) gives the correlation alerts the fleet should have made.
  local offline fleet
  # shellcheck disable=SC2086
  offline=$("$bin/parry" detect --rules "$rules" ${CORRELATE_SETTINGS:-} "$log" 2>&1 >/dev/null | tail -1 |
    sed -n 's/.*correlation_alerts=\([0-9]*\).*/\1/p')
  fleet=$(sed -n 's/.* \([0-9,]*\) correlation alerts.*/\1/p' <<< "$figures" | tr -d ,)
  if [[ $offline == "$fleet" ]]; then
    echo "correlate_kafka: parry detect over the same log: $offline correlation alerts (equal)"
  else
    echo "correlate_kafka: parry detect over the same log: $offline correlation alerts, the correlator made $fleet (DIFFERENT)"
  fi
}

echo "== correlation on Kafka: $lines sshd lines, parry-correlator (both stages, transactions) on $KAFKA_BOOTSTRAP"
for ((i = 1; i <= runs; i++)); do
  run_once "$i"
done

#!/usr/bin/env bash
# `make demo` until the executor issue brings the whole pipeline (parry dev):
# what runs today, end to end on this machine.
#   1. parry normalize: raw sshd lines to canonical JSON events
#   2. a real Kafka broker, Parry's topics, and parry-ingestor replaying a
#      generated sshd log into topics.events (exits once Kafka acknowledged all)
#   3. parry detect with a Sigma rule, and parry-correlator raising the same
#      alerts from the events in Kafka
#   4. the executor service answering health and readiness
# Stops everything it started; exits 0 only if every step worked.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${BUILD_DIR:-$root/build}/bin
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log=$work/auth.log
if python3 "$root/bench/gen-sshd-log.py" 200000 "$log" 2>/dev/null; then
  echo "== 200,000 sshd lines generated from the loghub OpenSSH log"
else # no shared data: a few lines of our own
  for i in $(seq 1 2000); do
    printf 'Dec  4 10:%02d:%02d web1 sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n' \
      $((i / 60 % 60)) $((i % 60)) $((1000 + i)) $((i % 7 + 1)) $((40000 + i))
  done > "$log"
  echo "== 2,000 sshd lines generated"
fi

echo
echo "== 1. parry normalize (first event, pretty-printed)"
head -n 2 "$log" | tail -n 1
head -n 2 "$log" | tail -n 1 | "$bin/parry" normalize | python3 -m json.tool

echo
echo "== 2. real Kafka, parry topics create, parry-ingestor replaying the log"
export PARRY_KAFKA_BOOTSTRAP_SERVERS
PARRY_KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP:-}
started_kafka=false
if [[ -z $PARRY_KAFKA_BOOTSTRAP_SERVERS ]]; then
  # stop it at the end only if it was not already running
  "$root/scripts/kafka.sh" status >/dev/null 2>&1 || started_kafka=true
  PARRY_KAFKA_BOOTSTRAP_SERVERS=$("$root/scripts/kafka.sh" start)
fi
trap 'cleanup; $started_kafka && "$root/scripts/kafka.sh" stop >/dev/null' EXIT
# fresh topics for this run, so counts are this run's alone
export PARRY_TOPICS_EVENTS=parry-demo-$$.events PARRY_TOPICS_ALERTS=parry-demo-$$.alerts \
  PARRY_TOPICS_DLQ=parry-demo-$$.dlq PARRY_TOPICS_SIGNALS=parry-demo-$$.signals \
  PARRY_TOPICS_STATE=parry-demo-$$.state
"$bin/parry" topics create 2>/dev/null
lines=$(wc -l < "$log")
start=$(date +%s.%N)
PARRY_LOG_LEVEL=warn "$bin/parry-ingestor" --set ingestor.files="$log" --set ingestor.exit_after_files=true \
  --set http.listen=127.0.0.1:0
end=$(date +%s.%N)
printf 'parry-ingestor: %s lines normalized and acknowledged by Kafka in %.2f s\n' "$lines" "$(echo "$end - $start" | bc -l)"

cat > "$work/ssh-failed-password.yml" <<'RULE'
title: SSH Failed Password
id: 5f2c9f38-3d7c-4f0e-9a51-0d2b9d4c7a10
status: experimental
description: A failed SSH password attempt (the demo's rule)
logsource: {product: linux, service: sshd}
detection:
  selection:
    event.action: ssh-password-failed
  condition: selection
level: low
RULE

echo
echo "== 3. parry detect offline, then parry-correlator on the events in Kafka"
head -n 20000 "$log" | "$bin/parry" detect --rules "$work/ssh-failed-password.yml" 2>"$work/detect.err" | wc -l |
  xargs printf 'parry detect: %s alerts from the first 20,000 lines\n'
ok=1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PARRY_LOG_LEVEL=warn "$bin/parry-correlator" --set correlator.rules="$work/ssh-failed-password.yml" \
  --set correlator.group="parry-demo-$$" --set "http.listen=127.0.0.1:$port" 2>"$work/correlator.log" &
pids+=($!)
events_in=$("$bin/parry" normalize "$log" 2>&1 >/dev/null | sed -n 's/.*events=\([0-9]*\).*/\1/p')
seen=0
for _ in $(seq 120); do
  seen=$(curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null | awk '/^parry_correlator_events_total/ {print $2}')
  [[ ${seen:-0} -ge $events_in ]] && break
  sleep 0.5
done
alerts=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^parry_correlator_alerts_total/ {s += $2} END {print s + 0}')
echo "parry-correlator: ${seen:-0} of $events_in events read from Kafka, $alerts alerts produced"
[[ ${seen:-0} -ge $events_in ]] || { echo "parry-correlator did not catch up"; ok=0; }

echo
echo "== 4. the executor (its pipeline arrives with the executor issue)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/parry-executor" --set "http.listen=127.0.0.1:$port" 2>"$work/executor.log" &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; then
  echo "parry-executor: healthz ok; readyz: $(curl -s "http://127.0.0.1:$port/readyz")"
else
  echo "parry-executor: did not answer"; ok=0
fi
((ok)) && echo && echo "demo: done"
((ok))

#!/usr/bin/env bash
# `make demo` until the executor issue brings the whole pipeline (parry dev):
# what runs today, end to end on this machine.
#   1. parry normalize: raw sshd lines to canonical JSON events
#   2. a real Kafka broker, Parry's topics, and parry-ingestor replaying a
#      generated sshd log into topics.events (exits once Kafka acknowledged all)
#   3. the correlator and executor services answering health and readiness
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
"$bin/parry" topics create 2>/dev/null
lines=$(wc -l < "$log")
start=$(date +%s.%N)
PARRY_LOG_LEVEL=warn "$bin/parry-ingestor" --set ingestor.files="$log" --set ingestor.exit_after_files=true \
  --set http.listen=127.0.0.1:0
end=$(date +%s.%N)
printf 'parry-ingestor: %s lines normalized and acknowledged by Kafka in %.2f s\n' "$lines" "$(echo "$end - $start" | bc -l)"

echo
echo "== 3. the other services (their pipelines arrive with the correlator and executor issues)"
ok=1
for svc in correlator executor; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin/parry-$svc" --set "http.listen=127.0.0.1:$port" 2>"$work/$svc.log" &
  pids+=($!)
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; then
    echo "parry-$svc: healthz ok; readyz: $(curl -s "http://127.0.0.1:$port/readyz")"
  else
    echo "parry-$svc: did not answer"; ok=0
  fi
done
((ok)) && echo && echo "demo: done"
((ok))

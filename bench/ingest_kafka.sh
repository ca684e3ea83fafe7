#!/usr/bin/env bash
# End-to-end ingest throughput into a real Kafka broker: ~2 million sshd
# syslog lines (the loghub OpenSSH sample repeated with increasing
# timestamps, bench/gen-sshd-log.py) read by parry-ingestor's file source,
# parsed, normalized, encoded as protobuf Events and produced with the
# service's own producer (idempotent, acks=all, lz4) to topics.events.
#
#   bench/ingest_kafka.sh [LINES]        (default 2,000,000)
#
# The figure is events per second from the first record read to the last
# event acknowledged by the broker (the ingestor's own log lines), the
# median of RUNS runs (default 3). Start-up and topic creation are not
# counted; acknowledgement is.
#
# Broker: $KAFKA_BOOTSTRAP when set (fresh topics each run, left in place),
# else a throwaway broker started for the run in $BENCH_DIR/kafka and removed
# afterwards. Build: $BUILD_DIR (default build/, RelWithDebInfo as `make
# build` makes it). Extra ingestor settings: INGEST_SETTINGS="--set k=v ...".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bin=$build/bin
lines=${1:-2000000}
runs=${RUNS:-3}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/parry-bench}
mkdir -p "$work"

for b in parry parry-ingestor; do
  [[ -x $bin/$b ]] || { echo "ingest_kafka: $bin/$b missing: run make build" >&2; exit 1; }
done
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
case $type in
  RelWithDebInfo | Release) ;;
  *) echo "ingest_kafka: warning: $build is a '${type:-default}' build, not RelWithDebInfo" >&2 ;;
esac

log=$work/sshd-$lines.log
[[ -s $log ]] || python3 "$root/bench/gen-sshd-log.py" "$lines" "$log"

started_broker=
cleanup() {
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

# One run: prints "EVENTS SECONDS".
run_once() {
  local prefix=parry-bench-$$-$1
  local -a sets=(--set "kafka.bootstrap.servers=$KAFKA_BOOTSTRAP"
    --set "topics.events=$prefix.events" --set "topics.dlq=$prefix.dlq"
    --set "topics.signals=$prefix.signals" --set "topics.state=$prefix.state"
    --set "topics.alerts=$prefix.alerts")
  "$bin/parry" topics create "${sets[@]}" >/dev/null 2>"$work/topics.log" || {
    cat "$work/topics.log" >&2
    exit 1
  }
  # shellcheck disable=SC2086
  "$bin/parry-ingestor" "${sets[@]}" --set http.enabled=false --set "ingestor.files=$log" \
    --set ingestor.exit_after_files=true ${INGEST_SETTINGS:-} 2>"$work/ingest-$1.log" || {
    echo "ingest_kafka: parry-ingestor failed; see $work/ingest-$1.log" >&2
    exit 1
  }
  # Events are those Kafka acknowledged (delivery reports without error;
  # dead letters are counted apart); anything failed or left fails the run.
  python3 - "$work/ingest-$1.log" <<'EOF'
import datetime as dt, json, re, sys
start = end = None
events = 0
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    ts = dt.datetime.fromisoformat(o["ts"].replace("Z", "+00:00"))
    msg = o["msg"]
    m = re.match(r"ingestor\.files: all files read; Kafka acknowledged (\d+) events and (\d+) "
                 r"dead letters; (\d+) failed, (\d+) not queued, (\d+) still in flight", msg)
    if msg.startswith("reading ") and "(ingestor.files)" in msg:
        start = ts
    elif m:
        if any(int(x) for x in m.groups()[2:]):
            sys.exit("ingest_kafka: the ingestor did not deliver everything: " + msg)
        end = ts
        events = int(m.group(1))
if start is None or end is None:
    sys.exit("ingest_kafka: the ingestor did not finish; see " + sys.argv[1])
print(events, (end - start).total_seconds())
EOF
}

results=()
for ((i = 1; i <= runs; i++)); do
  read -r events secs < <(run_once "$i")
  rate=$(python3 -c "print(f'{$events / $secs:,.0f}')")
  echo "ingest_kafka: run $i: $events events in ${secs}s = $rate events/s" >&2
  results+=("$(python3 -c "print($events / $secs)")")
done
median=$(printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'ingest_kafka: %s sshd lines, file source -> parry-ingestor -> Kafka (%s): %s events/s (median of %d)\n' \
  "$(python3 -c "print(f'{$lines:,}')")" "$KAFKA_BOOTSTRAP" \
  "$(python3 -c "print(f'{$median:,.0f}')")" "$runs"

#!/usr/bin/env bash
# parry-executor's figures (bench/bench_executor.c), against the real broker
# and PostgreSQL named by KAFKA_BOOTSTRAP and PARRY_PG_DSN (bench/run.sh
# gives them through scripts/with-services.sh):
#
#   - throughput: alerts/s one worker takes from Kafka to committed cases
#     and runs with three HTTP steps each, against a loopback API that
#     answers after 20 ms (target >= 2,000 alerts/s);
#   - latency: p50/p99 from alert produced to first request received at
#     500 alerts/s (target p99 < 25 ms);
#   - memory: RSS of the executor under a pre-produced backlog of 1,000,000
#     alerts stays flat (backpressure pauses the consumer).
#
#   bench/executor.sh [ALERTS] [BACKLOG]   (defaults 20000 and 1000000)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bench=$build/bench/bench_executor
[[ -x $bench ]] || bench=$build/bin/bench_executor
[[ -x $bench ]] || { echo "executor: bench_executor missing in $build: run make build" >&2; exit 1; }
: "${KAFKA_BOOTSTRAP:?executor bench needs KAFKA_BOOTSTRAP (scripts/with-services.sh)}"
: "${PARRY_PG_DSN:?executor bench needs PARRY_PG_DSN (scripts/with-services.sh)}"
alerts=${1:-20000}
backlog=${2:-1000000}
# The figures depend on what else the machine runs: each is printed with the
# load average before and after it.
load() { echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"; }
echo "## executor (one worker; loopback API answering after 20 ms)"
load
"$bench" throughput "$alerts"
load
"$bench" latency 500 10
load
"$bench" memory "$backlog" "${MEMORY_SECONDS:-60}"
load

#!/usr/bin/env bash
# `make demo` (after `make build`, which installs the dependencies): the whole
# pipeline on this machine through `parry dev`, well under a minute once built.
#
#   - Kafka: librdkafka's mock cluster, hosted inside `parry dev` (no broker,
#     no Java needed)
#   - PostgreSQL: a temporary cluster in a temporary folder, on a private port
#   - parry-ingestor, parry-correlator and parry-executor as separate
#     processes, with examples/rules, examples/runbooks and
#     examples/connectors.yml (targets pointed at loopback stand-ins)
#   - `parry generate`'s traffic (seed 1: sshd syslog and Windows logons,
#     a fast and a slow SSH brute force, a password spray, and a scanner from
#     the allowlisted 10.66.0.0/16), sent through the syslog TCP and HTTP
#     sources
#
# It shows a progress line, then every case with its timeline, and exits 0
# only if every attacker got the case (and the block, or none when
# allowlisted) it should. Everything it starts is stopped at the end or on
# Ctrl-C. docs/demo.md explains the output.
#
# Environment: BUILD_DIR (default build), DEMO_SEED (1), DEMO_DURATION (6m of
# event time), DEMO_SEND_TIME (10s), DEMO_WAIT (60s); extra arguments go to
# `parry dev` (e.g. --keep to explore the cases afterwards).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${BUILD_DIR:-$root/build}/bin
[[ $bin = /* ]] || bin=$root/$bin

if [[ ! -x $bin/parry ]]; then
  echo "demo: no $bin/parry; run \`make build\` (or \`make demo\`, which builds)" >&2
  exit 1
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [[ -z ${PG_BIN:-} ]]; then
  echo "demo: PostgreSQL's server binaries are missing; scripts/install-deps.sh installs them" >&2
  exit 1
fi

exec "$bin/parry" dev --source "$root" --seed "${DEMO_SEED:-1}" \
  --duration "${DEMO_DURATION:-6m}" --send-time "${DEMO_SEND_TIME:-10s}" \
  --wait "${DEMO_WAIT:-60s}" "$@"

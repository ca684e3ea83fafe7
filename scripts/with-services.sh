#!/usr/bin/env bash
# Runs a command with a real Kafka broker and a real PostgreSQL available:
#
#   scripts/with-services.sh ctest --test-dir build
#
# Exports KAFKA_BOOTSTRAP and PARRY_PG_DSN to the command. A service whose
# variable is already set is used as it is and not started. Services this
# script started are stopped when the command ends, whether it passed,
# failed or was interrupted; the command's exit status is kept. A broker or
# cluster that was already running (started by hand) is used and left running.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

started=()
cleanup() {
  local rc=$?
  for svc in "${started[@]}"; do
    "$here/$svc.sh" stop >&2 || echo "with-services: could not stop $svc" >&2
  done
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${KAFKA_BOOTSTRAP:-} ]]; then
  "$here/kafka.sh" status >/dev/null 2>&1 || started+=(kafka)
  KAFKA_BOOTSTRAP=$("$here/kafka.sh" start)
  export KAFKA_BOOTSTRAP
fi
if [[ -z ${PARRY_PG_DSN:-} ]]; then
  "$here/pg.sh" status >/dev/null 2>&1 || started+=(pg)
  "$here/pg.sh" start >&2
  PARRY_PG_DSN=$("$here/pg.sh" dsn)
  export PARRY_PG_DSN
fi
echo "with-services: Kafka at $KAFKA_BOOTSTRAP, PostgreSQL ready" >&2
"$@"

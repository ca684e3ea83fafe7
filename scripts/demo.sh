#!/usr/bin/env bash
# `make demo` until the executor issue brings the whole pipeline: starts the
# three services as separate processes, shows their health, readiness (each
# says what it still lacks) and metrics endpoints, and the configuration they
# read, then stops them. Exits 0 only if every service answered.
set -euo pipefail
bin=${BUILD_DIR:-build}/bin
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A ports
for svc in ingestor correlator executor; do
  ports[$svc]=$(free_port)
  "$bin/parry-$svc" --set "http.listen=127.0.0.1:${ports[$svc]}" 2>"${TMPDIR:-/tmp}/parry-demo-$svc.log" &
  pids+=($!)
done

ok=1
for svc in ingestor correlator executor; do
  url="http://127.0.0.1:${ports[$svc]}"
  for _ in $(seq 50); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== parry-$svc on $url"
  if ! curl -fs "$url/healthz"; then echo "   did not answer"; ok=0; continue; fi
  echo "   readyz: $(curl -s "$url/readyz")"
done
echo
echo "== one service's log line (JSON):"
head -n 2 "${TMPDIR:-/tmp}/parry-demo-ingestor.log"
echo
echo "== configuration the services read (parry config):"
"$bin/parry" config | head -n 8
echo "   ... see docs/configuration.md"
((ok)) && echo "demo: all three services answered; the full pipeline arrives with the executor issue"
((ok))

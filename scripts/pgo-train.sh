#!/usr/bin/env bash
# The training run of a profile-guided release build (make release): runs the
# instrumented `parry` over representative input so that GCC records which
# branches and calls are hot. Profiles land where the binaries were built to
# write them (PARRY_PGO_DIR).
#
#   scripts/pgo-train.sh BIN_DIR
#
# Input: the shared test data's logs of every format the normalizer reads
# (sshd/PAM/sudo syslog in many OpenSSH versions, Windows, Zeek, Suricata,
# CEF), when present ($PARRY_TESTDATA or ../shared/data), else the
# repository's fuzz seeds; then `parry detect` with the example rules. Not the
# generated log `make bench` measures, nor loghub's OpenSSH log it is made
# from: the profile must fit real input, not the benchmark.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:?usage: scripts/pgo-train.sh BIN_DIR}
parry=$bin/parry
[[ -x $parry ]] || { echo "pgo-train: no $parry (build it with PARRY_PGO=GENERATE first)" >&2; exit 2; }
data=${PARRY_TESTDATA:-$root/../shared/data}
work=$(mktemp -d "${TMPDIR:-/tmp}/parry-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Gather the inputs, text logs and JSON apart (JSON files are read as they
# are, text logs also as forced syslog).
: > "$work/text.log"
: > "$work/json.ndjson"
# The first N files find names (sorted: the same input every time).
first() {
  local n=$1
  shift
  find "$@" -type f -print0 2>/dev/null | sort -z | { head -z -n "$n" || true; }
}
if [[ -d $data ]]; then
  echo "pgo-train: input from $data"
  first 1000 "$data/fail2ban" "$data/crowdsec-hub" "$data/cef" \
    \( -name '*.log' -o -name '*.txt' -o -path '*/logs/*' \) ! -name '*suricata*' \
    ! -name '*windows*' | xargs -0 -r cat >> "$work/text.log"
  first 40 "$data/zeek" -name '*.log' | xargs -0 -r cat >> "$work/zeek.log"
  first 20 "$data/suricata" "$data/crowdsec-hub" \( -name 'eve*.json' -o -name '*evelog*' \) |
    xargs -0 -r cat >> "$work/json.ndjson"
  first 30 "$data/otrf-security-datasets" "$data/evtx-samples" -name '*.json*' |
    xargs -0 -r -n1 head -n 2000 >> "$work/json.ndjson"
else
  echo "pgo-train: no test data at $data; training on the repository's fuzz seeds only"
  cat "$root"/tests/fuzz/corpus/fuzz_syslog/* "$root"/tests/fuzz/corpus/fuzz_cef/* \
    > "$work/text.log" 2>/dev/null || true
  cat "$root"/tests/fuzz/corpus/fuzz_windows/* > "$work/json.ndjson" 2>/dev/null || true
fi
# Repeated, so that the counts are well above GCC's noise floor.
for _ in $(seq 20); do cat "$work/text.log"; done > "$work/text-x20.log"

run() { "$parry" "$@" > "$work/out" 2> "$work/err" || { cat "$work/err" >&2; return 1; }; }
run normalize "$work/text-x20.log"
run normalize --format syslog "$work/text-x20.log"
run normalize --format syslog --output protobuf "$work/text-x20.log"
[[ -s $work/json.ndjson ]] && run normalize "$work/json.ndjson"
[[ -s $work/zeek.log ]] && { run normalize --format zeek "$work/zeek.log" || true; }
# Detection over what was normalized (compiles and evaluates Sigma rules).
"$parry" normalize "$work/text-x20.log" 2>/dev/null > "$work/events.ndjson"
run detect --rules "$root/examples/rules" "$work/events.ndjson"
echo "pgo-train: $(wc -l < "$work/text-x20.log") text lines, $(wc -l < "$work/json.ndjson") JSON records"

#!/usr/bin/env bash
# What `make test` runs after building: the whole ctest suite twice, on the
# plain build and on the ASan+UBSan build, against real services that
# scripts/with-services.sh starts (and stops, even on failure); then the
# release build (LTO + PGO) against the plain one (scripts/release-check.sh).
# PARRY_REQUIRE_SERVICES=1 turns a missing service into a failure, so this
# can never pass by skipping.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
asan=${ASAN_BUILD_DIR:-$root/build-asan}
release=${RELEASE_BUILD_DIR:-$root/build-release}
export PARRY_REQUIRE_SERVICES=1

run_suites() {
  local rc=0
  echo "== ctest: $build" >&2
  ctest --test-dir "$build" --output-on-failure --timeout 300 "$@" || rc=1
  if [[ -d $asan ]]; then
    echo "== ctest under ASan+UBSan: $asan" >&2
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$asan" --output-on-failure --timeout 300 "$@" || rc=1
  fi
  return $rc
}
export -f run_suites
export build asan
rc=0
"$root/scripts/with-services.sh" bash -c 'run_suites "$@"' run_suites "$@" || rc=1
if [[ -x $release/bin/parry ]]; then
  echo "== release build ($release) against the plain build" >&2
  "$root/scripts/release-check.sh" "$build" "$release" || rc=1
else
  echo "== no release build at $release (make release): not compared" >&2
fi
exit $rc

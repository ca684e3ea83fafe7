#!/usr/bin/env bash
# `make release`: the programs as they should be deployed, built with
# link-time optimization and profile-guided optimization (cmake/ParryRelease.cmake):
#   1. instrumented `parry`, 2. a training run over representative logs
#   (scripts/pgo-train.sh), 3. every program rebuilt with what it recorded.
# The everyday build (make build) is what the tests run on; `make test` also
# checks that this build gives the same output (scripts/release-check.sh).
#
#   scripts/release-build.sh [BUILD_DIR]     (default build-release)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$root/build-release}
generator=$(command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
programs=(parry parry-ingestor parry-correlator parry-executor)

# Without GCC (the profile options are GCC's), LTO alone.
cc=${CC:-cc}
if ! "$cc" --version 2>/dev/null | grep -qiE 'gcc|free software foundation'; then
  echo "release-build: $cc is not GCC: link-time optimization only, no profile" >&2
  cmake -S "$root" -B "$dir" -G "$generator" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARRY_LTO=ON \
    -DPARRY_PGO=
  cmake --build "$dir" --target "${programs[@]}"
  exit 0
fi

echo "== release build 1/3: instrumented parry ($dir)" >&2
rm -rf "$dir/pgo"
cmake -S "$root" -B "$dir" -G "$generator" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARRY_LTO=ON \
  -DPARRY_PGO=GENERATE -DPARRY_PGO_DIR="$dir/pgo" >/dev/null
cmake --build "$dir" --target parry
echo "== release build 2/3: training run" >&2
"$root/scripts/pgo-train.sh" "$dir/bin"
echo "== release build 3/3: ${programs[*]} with the profile" >&2
cmake -S "$root" -B "$dir" -DPARRY_PGO=USE >/dev/null
cmake --build "$dir" --target "${programs[@]}"
echo "release build: $dir/bin (${programs[*]})" >&2

#!/usr/bin/env bash
# Installs the Debian packages Parry needs to build, test and run its local
# services. Safe to run again: it installs only what is missing.
#
#   scripts/install-deps.sh          install (as root, or through sudo)
#   scripts/install-deps.sh bench    also the peers `make bench` measures
#                                    against (lognormalizer, fail2ban-regex,
#                                    SEC) and its timing tools
#   scripts/install-deps.sh --check  only report what is missing
#
# When it can neither run as root nor use sudo without a password, it prints
# the exact apt-get command to run and exits 1.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries (see README: why each)
  librdkafka-dev libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev
  libpq-dev libcmocka-dev libyaml-dev libjson-c-dev libmicrohttpd-dev
  libpcre2-dev zlib1g-dev libssl-dev libmaxminddb-dev
  # real services for tests: Kafka (Java + Maven for its jars), PostgreSQL 15
  openjdk-17-jre-headless maven postgresql-15 postgresql-client-15
  # tests and tools
  curl python3 openssl
)
bench_packages=(liblognorm-utils fail2ban sec bc time util-linux)

check_only=false
for arg in "$@"; do
  case $arg in
    bench) packages+=("${bench_packages[@]}") ;;
    --check) check_only=true ;;
    *) echo "install-deps: unknown argument \"$arg\" (bench, --check)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if $check_only; then
  echo "install-deps: missing: ${missing[*]}"
  exit 1
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [[ $(id -u) == 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this as root, then try again:" >&2
  echo "  apt-get update && ${cmd[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" "${cmd[@]}"

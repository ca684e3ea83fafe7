#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for development and tests.
#
#   scripts/pg.sh start     create the cluster if needed, start it, wait until it
#                           accepts connections (idempotent)
#   scripts/pg.sh dsn       print the libpq connection string for it
#   scripts/pg.sh status    say whether it runs (exit 0) or not (exit 3)
#   scripts/pg.sh stop      stop it, fast (idempotent)
#   scripts/pg.sh destroy   stop it and delete all of its state
#
# Typical use by hand:
#
#   scripts/pg.sh start
#   export PARRY_PG_DSN="$(scripts/pg.sh dsn)"
#   ctest --test-dir build -L pg
#   psql "$PARRY_PG_DSN"
#   scripts/pg.sh stop
#
# Everything lives in ${PARRY_RUN_DIR:-<repo>/.run}/pg: the data directory, the
# server log (postgres.log), a private unix socket directory (sock/), and the
# generated password of the `parry` role (password) and the connection string
# (dsn), both mode 0600. (One exception, as root in a checkout that the server
# user cannot enter: see set_paths.) The server listens on 127.0.0.1 only, on a free port
# chosen at start (or PG_PORT), and on the private socket. TCP connections need
# the role's password (scram-sha-256); the socket uses peer authentication, for
# the cluster's superuser, e.g.
#   runuser -u postgres -- psql -h <state>/sock -p <port> -d parry   (as root)
#
# The cluster is disposable and tuned for speed, not safety: fsync, full page
# writes and synchronous commit are off, so a machine crash can corrupt it;
# `destroy` and `start` make a new one.
#
# initdb and postgres refuse to run as root. Run as root, this script runs them
# as PG_OS_USER (default: `postgres`, created by the Debian packages) and makes
# the state directory owned by that user, so every directory above it must be
# searchable by that user. As any other user it runs them as that user.
#
# This script only manages its own cluster. Pointing PARRY_PG_DSN at an
# existing server instead is the caller's choice (scripts/with-services.sh
# starts this cluster only when PARRY_PG_DSN is unset); this script ignores it.
#
# Environment:
#   PARRY_RUN_DIR     where state lives (default <repo>/.run)
#   PG_PORT           TCP port (default: the previous one if free, else a free one)
#   PG_BIN            server binaries (default /usr/lib/postgresql/15/bin)
#   PG_OS_USER        user that runs the server when invoked as root (postgres)
#   PG_START_TIMEOUT  seconds to wait for the server to accept connections (60)

set -euo pipefail

readonly ROLE=parry
readonly DATABASE=parry

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_OS_USER=${PG_OS_USER:-postgres}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-60}

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

note() {
  echo "pg.sh: $*" >&2
}

is_root() {
  [ "$(id -u)" -eq 0 ]
}

# The operating system user that owns the data directory and runs the server,
# and (initdb names it after that user) the cluster's superuser role.
server_user() {
  if is_root; then echo "$PG_OS_USER"; else id -un; fi
}

# Run a PostgreSQL program as the server user, without any PG* variables of the
# caller that could point it at another server or database.
as_server() {
  local -a clean_env=(env -u PGHOST -u PGHOSTADDR -u PGPORT -u PGDATABASE
    -u PGUSER -u PGPASSWORD -u PGPASSFILE -u PGSERVICE -u PGSERVICEFILE
    -u PGOPTIONS -u PGDATA -u PGSSLMODE -u PGCONNECT_TIMEOUT)
  # 9>&-: the lock descriptor (see main) must not be inherited by the server,
  # which would hold the lock for as long as it runs.
  if is_root; then
    # cd /: the server user may not be allowed into the caller's directory.
    (cd / && runuser -u "$PG_OS_USER" -- "${clean_env[@]}" "$@" 9>&-)
  else
    "${clean_env[@]}" "$@" 9>&-
  fi
}

# True if the cluster in $DATA is running (pg_ctl status: 0 running, 3 not
# running, 4 no usable data directory).
running() {
  [ -f "$DATA/PG_VERSION" ] || return 1
  as_server "$PG_BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# The port of the running server: line 4 of postmaster.pid.
running_port() {
  sed -n 4p "$DATA/postmaster.pid"
}

port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Ports are drawn from 20000-32767, below Linux's ephemeral range, so that
# outgoing connections do not take the one we picked in the meantime.
pick_port() {
  local port tries
  if [ -n "${PG_PORT:-}" ]; then
    case $PG_PORT in
      '' | *[!0-9]*) die "PG_PORT must be a port number, not \"$PG_PORT\"" ;;
    esac
    port_in_use "$PG_PORT" && die "port $PG_PORT (PG_PORT) is already in use"
    echo "$PG_PORT"
    return
  fi
  if [ -f "$PORT_FILE" ]; then
    port=$(cat "$PORT_FILE")
    case $port in
      '' | *[!0-9]*) ;;
      *) port_in_use "$port" || { echo "$port"; return; } ;;
    esac
  fi
  for tries in $(seq 1 100); do
    port=$((20000 + RANDOM % 12768))
    port_in_use "$port" || { echo "$port"; return; }
  done
  die "could not find a free TCP port after $tries tries"
}

new_password() {
  # 192 random bits as hex: nothing to quote in a connection string or in SQL.
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

write_private() { # write_private FILE CONTENT: a file only its owner can read
  (umask 077 && printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1")
}

prepare_state_dir() {
  mkdir -p "$RUN_DIR"
  case $STATE in
    *"'"* | *'"'* | *\\*) die "state directory $STATE must not contain quotes or backslashes" ;;
  esac
  # A unix socket path is limited to 107 bytes.
  if [ $((${#SOCK} + 17)) -gt 107 ]; then
    die "socket path $SOCK/.s.PGSQL.NNNNN is too long for a unix socket; set PARRY_RUN_DIR to a shorter directory"
  fi
  mkdir -p "$STATE"
  chmod 0700 "$STATE"
  if is_root; then
    id -u "$PG_OS_USER" >/dev/null 2>&1 ||
      die "user $PG_OS_USER does not exist; install postgresql-15 or set PG_OS_USER to the user that should run the server"
    chown "$PG_OS_USER:" "$STATE"
    [ -d "$DATA" ] && chown -R "$PG_OS_USER:" "$DATA"
    as_server test -w "$STATE" ||
      die "user $PG_OS_USER cannot write to $STATE (a parent directory is not searchable by it); set PARRY_RUN_DIR to a directory it can reach, e.g. /tmp/parry-run"
  fi
}

init_cluster() {
  local locale=C
  # C.UTF-8 gives character classes for all of Unicode; plain C sorts the same
  # (bytewise) but only knows ASCII letters.
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi
  # A data directory without PG_VERSION is a failed initdb: start over.
  if [ -e "$DATA" ] && [ ! -f "$DATA/PG_VERSION" ]; then rm -rf "$DATA"; fi
  note "creating a new cluster in $DATA"
  if ! as_server "$PG_BIN/initdb" -D "$DATA" -U "$(server_user)" \
    --encoding=UTF8 --locale="$locale" --auth-local=peer \
    --auth-host=scram-sha-256 --no-sync >"$STATE/initdb.log" 2>&1; then
    tail -n 30 "$STATE/initdb.log" >&2
    die "initdb failed; its output is in $STATE/initdb.log"
  fi
  # Only the private socket (peer) and 127.0.0.1 (password) may connect.
  cat >"$DATA/pg_hba.conf" <<'EOF'
# Written by scripts/pg.sh.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  peer
host    all       all   127.0.0.1/32   scram-sha-256
EOF
  echo "include_if_exists = 'parry.conf'" >>"$DATA/postgresql.conf"
  if is_root; then chown "$PG_OS_USER:" "$DATA/pg_hba.conf"; fi
}

# Settings are rewritten at every start, so a changed port or a changed line
# here applies to an existing cluster too.
write_settings() {
  local port=$1
  cat >"$DATA/parry.conf" <<EOF
# Written by scripts/pg.sh at every start: edits here are lost.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'

# Throwaway cluster: durability traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 1GB
checkpoint_timeout = 30min

max_connections = 200
shared_buffers = 128MB
huge_pages = off

logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  if is_root; then chown "$PG_OS_USER:" "$DATA/parry.conf"; fi
}

superuser_psql() {
  as_server "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$1" \
    -U "$(server_user)" -d postgres "${@:2}"
}

# Create the role and the database if missing, and set the role's password to
# the one in $PASSWORD_FILE (made here if missing). The password goes to psql
# on standard input, never on a command line that `ps` shows.
provision() {
  local port=$1 password
  if [ ! -s "$PASSWORD_FILE" ]; then write_private "$PASSWORD_FILE" "$(new_password)"; fi
  password=$(cat "$PASSWORD_FILE")
  superuser_psql "$port" -v role="$ROLE" -v db="$DATABASE" <<EOF
\set pw '$password'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
EOF
  write_private "$DSN_FILE" \
    "host=127.0.0.1 port=$port dbname=$DATABASE user=$ROLE password=$password"
}

cmd_start() {
  local port
  [ -x "$PG_BIN/pg_ctl" ] || die "no $PG_BIN/pg_ctl; install postgresql-15 or set PG_BIN"
  prepare_state_dir
  if running; then
    port=$(running_port)
    if [ -n "${PG_PORT:-}" ] && [ "$PG_PORT" != "$port" ]; then
      die "already running on port $port, not PG_PORT=$PG_PORT; stop it first"
    fi
    [ -s "$DSN_FILE" ] || provision "$port"
    note "already running on 127.0.0.1:$port (data in $DATA)"
    return 0
  fi
  port=$(pick_port)
  [ -f "$DATA/PG_VERSION" ] || init_cluster
  write_settings "$port"
  # Old log lines would only confuse the tail shown on failure.
  : >"$LOG" 2>/dev/null || true
  mkdir -p "$SOCK"
  chmod 0700 "$SOCK"
  if is_root; then chown -R "$PG_OS_USER:" "$SOCK" "$LOG"; fi
  if ! as_server "$PG_BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w \
    -t "$PG_START_TIMEOUT" -s >/dev/null 2>"$STATE/pg_ctl.err"; then
    cat "$STATE/pg_ctl.err" >&2
    echo "--- last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 || true
    die "could not start PostgreSQL on 127.0.0.1:$port"
  fi
  if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t "$PG_START_TIMEOUT"; then
    echo "--- last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 || true
    die "PostgreSQL started but does not accept connections on 127.0.0.1:$port"
  fi
  # Recorded only now, so a port that failed is not preferred next time.
  echo "$port" >"$PORT_FILE"
  provision "$port"
  note "running on 127.0.0.1:$port (data in $DATA, log in $LOG)"
}

cmd_stop() {
  if ! running; then
    note "not running"
    return 0
  fi
  if ! as_server "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s; then
    tail -n 20 "$LOG" >&2 || true
    die "could not stop PostgreSQL (data in $DATA)"
  fi
  note "stopped"
}

cmd_status() {
  if running; then
    echo "running on 127.0.0.1:$(running_port) (data in $DATA, log in $LOG)"
    return 0
  fi
  echo "not running (state in $STATE)"
  return 3
}

cmd_dsn() {
  [ -s "$DSN_FILE" ] || die "no cluster yet: run scripts/pg.sh start"
  cat "$DSN_FILE"
}

cmd_destroy() {
  cmd_stop
  # Only ever delete our own directory.
  case $STATE in
    */pg) [ -d "$STATE" ] && rm -rf "$STATE" ;;
    *) die "refusing to delete $STATE" ;;
  esac
  note "deleted $STATE"
}

# Where the state lives. As root, the server user must be able to reach it:
# when PARRY_RUN_DIR is unset and the checkout is somewhere that user cannot
# enter (under /root, say), the state goes to a directory in /tmp named after
# the checkout, so every command of this script finds the same one.
set_paths() {
  if [ -n "${PARRY_RUN_DIR:-}" ]; then
    RUN_DIR=$PARRY_RUN_DIR
  elif is_root && id -u "$PG_OS_USER" >/dev/null 2>&1 &&
    ! as_server test -x "$REPO"; then
    RUN_DIR=/tmp/parry-run-$(printf '%s' "$REPO" | md5sum | cut -c1-12)
    # A predictable name in /tmp: use it only if it is ours.
    if [ -L "$RUN_DIR" ] || { [ -e "$RUN_DIR" ] && [ ! -O "$RUN_DIR" ]; }; then
      die "$RUN_DIR exists and is not a directory of ours; set PARRY_RUN_DIR"
    fi
    note "$REPO is not reachable by $PG_OS_USER: state in $RUN_DIR"
  else
    RUN_DIR=$REPO/.run
  fi
  STATE=$RUN_DIR/pg
  DATA=$STATE/data
  SOCK=$STATE/sock
  LOG=$STATE/postgres.log
  PASSWORD_FILE=$STATE/password
  DSN_FILE=$STATE/dsn
  PORT_FILE=$STATE/port
}

main() {
  local cmd=${1:-}
  case $cmd in
    start | stop | status | dsn | destroy) ;;
    *)
      echo "usage: $0 start|stop|status|dsn|destroy" >&2
      exit 2
      ;;
  esac
  set_paths
  case $cmd in
    start | stop | destroy)
      # One at a time: two concurrent starts must not both run initdb.
      mkdir -p "$RUN_DIR"
      exec 9>"$RUN_DIR/pg.lock"
      flock -w 120 9 ||
        die "another scripts/pg.sh has held $RUN_DIR/pg.lock for 2 minutes"
      ;;
  esac
  "cmd_$cmd"
}

main "$@"

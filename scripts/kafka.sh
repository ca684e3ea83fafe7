#!/usr/bin/env bash
# A real Apache Kafka broker on 127.0.0.1 for Parry's integration tests,
# benchmarks and demos: one JVM, KRaft mode, broker and controller combined.
# No tarball and no container: the jars come from Maven Central through
# scripts/kafka/pom.xml and are cached per version, so only the first run
# needs Maven and the network.
#
#   scripts/kafka.sh start       start (or find) the broker; prints its address
#   scripts/kafka.sh stop        stop the broker this script started
#   scripts/kafka.sh status      say whether it runs (exit 0) or not (exit 3)
#   scripts/kafka.sh bootstrap   print the bootstrap address, 127.0.0.1:PORT
#   scripts/kafka.sh fetch       only resolve the jars into the cache
#   scripts/kafka.sh logs        show the end of the broker log
#
# Typical use:
#
#   export KAFKA_BOOTSTRAP=$(scripts/kafka.sh start)
#   ctest --test-dir build -L kafka
#   scripts/kafka.sh stop
#
# `start` prints only the address on stdout (hints go to stderr), so the line
# above works, and it is idempotent: when the broker already runs it prints the
# address again. Data survives a stop/start; remove the state folder for a
# blank broker.
#
# Environment:
#   KAFKA_VERSION          Kafka release (default 4.3.2)
#   KAFKA_PORT             client port (default: a free one, reused by later
#                          starts while it stays free); the controller port is
#                          KAFKA_CONTROLLER_PORT, or a free one
#   KAFKA_HEAP_OPTS        JVM heap (default -Xms256m -Xmx768m)
#   KAFKA_JVM_OPTS         more JVM options, appended
#   KAFKA_START_TIMEOUT    seconds to wait for the broker (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (30)
#   PARRY_RUN_DIR          state lives in $PARRY_RUN_DIR/kafka (default
#                          <repo>/.run/kafka): server.properties, data/, logs/,
#                          kafka.pid and bootstrap
#   KAFKA_JAR_CACHE      jar cache root (default
#                          ${XDG_CACHE_HOME:-$HOME/.cache}/parry); the jars of
#                          version V live in kafka-V/libs
#   JAVA_HOME, JAVA, MVN   which java (17 or newer) and mvn to run
#
# The script only ever signals the process whose pid is in its own pid file,
# and only after checking that this process is the broker of this state folder.

set -euo pipefail

prog=${0##*/}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pom=$repo/scripts/kafka/pom.xml

version=${KAFKA_VERSION:-4.3.2}
state=${PARRY_RUN_DIR:-$repo/.run}/kafka
pidfile=$state/kafka.pid
bootfile=$state/bootstrap
portsfile=$state/ports
props=$state/server.properties
start_timeout=${KAFKA_START_TIMEOUT:-90}
stop_timeout=${KAFKA_STOP_TIMEOUT:-30}

die() {
  printf '%s: %s\n' "$prog" "$*" >&2
  exit 1
}
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

cache_root() {
  if [[ -n ${KAFKA_JAR_CACHE:-} ]]; then
    printf '%s\n' "$KAFKA_JAR_CACHE"
  elif [[ -n ${XDG_CACHE_HOME:-} ]]; then
    printf '%s\n' "$XDG_CACHE_HOME/parry"
  elif [[ -n ${HOME:-} ]]; then
    printf '%s\n' "$HOME/.cache/parry"
  else
    die "cannot place the jar cache: set HOME, XDG_CACHE_HOME or KAFKA_JAR_CACHE"
  fi
}

dist=$(cache_root)/kafka-$version
libs=$dist/libs
stampfile=$dist/complete

# ---------------------------------------------------------------- jar cache

# The cache is complete when the stamp written after a successful Maven run
# matches this version and this pom, and every jar it lists is still there.
# A half-finished download never looks complete: Maven writes into a temporary
# folder that is renamed into place before the stamp is written.
stamp() {
  printf 'kafka-version %s\n' "$version"
  printf 'pom-sha256 %s\n' "$(sha256sum <"$pom" | cut -d' ' -f1)"
}

libs_complete() {
  [[ -f $stampfile && -d $libs ]] || return 1
  [[ "$(head -n 2 "$stampfile")" == "$(stamp)" ]] || return 1
  local jar n=0
  while IFS= read -r jar; do
    [[ -f $libs/$jar ]] || return 1
    n=$((n + 1))
  done < <(tail -n +3 "$stampfile")
  ((n > 0))
}

fetch() {
  libs_complete && return 0
  local mvn=${MVN:-mvn}
  command -v "$mvn" >/dev/null 2>&1 ||
    die "mvn not found and the Kafka $version jars are not cached in $libs: install Maven (Debian: apt-get install maven) or set MVN"
  mkdir -p "$(dirname "$dist")"
  # Two starts at once (parallel test runs) must not both write the cache.
  exec 8>"$(dirname "$dist")/.kafka-$version.lock"
  flock -w 600 8 || die "timed out waiting for another fetch of Kafka $version"
  if libs_complete; then
    exec 8>&-
    return 0
  fi
  note "fetching the Kafka $version jars from Maven Central (first run only)"
  local tmp
  tmp=$(mktemp -d "$dist.tmp.XXXXXX")
  if ! "$mvn" -B -q -f "$pom" -Dkafka.version="$version" \
    -Dparry.kafka.libs="$tmp/libs" dependency:copy-dependencies >"$tmp/mvn.log" 2>&1; then
    tail -n 30 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "could not resolve org.apache.kafka:kafka_2.13:$version with Maven (output above)"
  fi
  [[ -f $tmp/libs/kafka_2.13-$version.jar ]] || {
    rm -rf "$tmp"
    die "Maven succeeded but kafka_2.13-$version.jar is missing"
  }
  rm -rf "$dist"
  mkdir -p "$dist"
  mv "$tmp/libs" "$libs"
  rm -rf "$tmp"
  {
    stamp
    (cd "$libs" && ls -1 -- *.jar)
  } >"$stampfile.tmp"
  mv "$stampfile.tmp" "$stampfile"
  exec 8>&-
}

# ------------------------------------------------------------------ helpers

find_java() {
  local java
  if [[ -n ${JAVA:-} ]]; then
    java=$JAVA
    [[ -x $java ]] || java=$(command -v "$java" 2>/dev/null) ||
      die "JAVA=$JAVA is not an executable"
  elif [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    java=$JAVA_HOME/bin/java
  else
    java=$(command -v java 2>/dev/null) ||
      die "java not found: Kafka 4.x needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless), or set JAVA_HOME"
  fi
  local line major
  line=$("$java" -version 2>&1) || die "could not run $java"
  line=${line%%$'\n'*}
  major=$(sed -E 's/.*version "(1\.)?([0-9]+).*/\2/' <<<"$line")
  [[ $major =~ ^[0-9]+$ ]] || die "could not read the Java version from: $line"
  ((major >= 17)) || die "$java is Java $major; Kafka 4.x needs Java 17 or newer"
  printf '%s\n' "$java"
}

# The pid in our pid file, if that process is alive and is the broker of this
# state folder (a pid reused by an unrelated process is never signalled).
running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"kafka.Kafka $props "* ]] || return 1
  printf '%s\n' "$pid"
}

# Milliseconds since the epoch, without a process per call (bash 5).
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  printf '%s\n' "$((t / 1000))"
}

# Alive and not a zombie waiting for its (re)parent to reap it.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $st != Z ]]
}

# Free for the broker: nothing listens on it and no live connection uses it.
# Sockets in TIME-WAIT (left by the last run) do not count: the broker binds
# with SO_REUSEADDR.
port_free() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -z $(ss -Htan exclude time-wait "( sport = :$port )" 2>/dev/null) ]]
  elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    return 1 # something accepted a connection
  fi
}

# A free port below the usual ephemeral range (32768-60999), so that outgoing
# connections do not take it between this check and the broker's bind.
pick_port() {
  local port i
  for ((i = 0; i < 200; i++)); do
    port=$((10000 + RANDOM % 22000))
    [[ $port == "${1:-}" ]] && continue
    port_free "$port" && {
      printf '%s\n' "$port"
      return 0
    }
  done
  die "could not find a free TCP port on 127.0.0.1"
}

lock_state() {
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock -w 300 9 || die "timed out waiting for another $prog on $state"
}

write_config() {
  local port=$1 cport=$2
  cat >"$props" <<EOF
# Written by scripts/kafka.sh on every start; edits are lost.
# One node, broker and controller combined, reachable on 127.0.0.1 only.
process.roles=broker,controller
node.id=1
# A static quorum keeps the voter's address in this file rather than in the
# formatted metadata, so the ports may change from one start to the next.
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data

# Tests create their topics through the admin API; a typo must not silently
# create a topic.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1

# Internal topics: one replica, or consumer groups, transactions and share
# groups never become available on a single node. Fewer partitions than the
# default 50 make the first group or transaction on a fresh broker quick.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=10

# Tests: rebalance at once, and allow session timeouts of a few seconds.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000

# A 2-core machine: fewer threads than the defaults.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
EOF
}

write_log_config() {
  # The broker logs to a rolling file (a long benchmark cannot fill the disk);
  # the tools (storage format) log warnings to stderr so their stdout is clean.
  cat >"$state/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $state/logs/server.log
appender.file.filePattern = $state/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 64MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 4
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
  cat >"$state/log4j2-tools.properties" <<EOF
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = err
EOF
}

format_storage() {
  local java=$1
  [[ -f $state/data/meta.properties ]] && return 0
  # A cluster id is 16 random bytes in URL-safe base64 without padding, which
  # is what `StorageTool random-uuid` prints; making it here saves a JVM start.
  local id
  id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  mkdir -p "$state/data"
  "$java" -Xmx256m -Dlog4j2.configurationFile="$state/log4j2-tools.properties" \
    -cp "$libs/*" kafka.tools.StorageTool format -t "$id" -c "$props" \
    >"$state/logs/format.log" 2>&1 || {
    cat "$state/logs/format.log" >&2
    die "could not format the storage in $state/data (output above)"
  }
}

# Whether the broker log, from byte offset $2 on (this start's lines), holds $1.
# grep reads to the end (no -q): an early exit would SIGPIPE tail, and under
# pipefail a match would then read as a failure.
log_has() {
  tail -c +"$(($2 + 1))" "$state/logs/server.log" 2>/dev/null | grep -F -- "$1" >/dev/null
}

show_log_tail() {
  local from=$1
  note "last lines of $state/logs/server.log:"
  tail -c +"$((from + 1))" "$state/logs/server.log" 2>/dev/null | tail -n 25 >&2 || true
  if [[ -s $state/logs/kafka.out ]]; then
    note "last lines of $state/logs/kafka.out (JVM output):"
    tail -n 15 "$state/logs/kafka.out" >&2
  fi
}

# Ask a process we started to stop; SIGKILL after the timeout.
terminate() {
  local pid=$1 timeout=$2 deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$(($(now_ms) + timeout * 1000))
  while (($(now_ms) < deadline)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  note "broker (pid $pid) still running ${timeout}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || return 0
  deadline=$(($(now_ms) + 10000))
  while (($(now_ms) < deadline)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  die "broker (pid $pid) survived SIGKILL"
}

# Launch the broker and wait for "Kafka Server started". Returns 2 when the
# port was taken in the meantime (the caller may pick others), dies otherwise.
launch() {
  local java=$1 port=$2
  local log=$state/logs/server.log from=0 pid
  [[ -f $log ]] && from=$(stat -c %s "$log")
  local -a jvm_opts
  # 768 MiB of heap is plenty for tests and benchmarks on one node and leaves
  # a small machine room for PostgreSQL and the services under test.
  read -r -a jvm_opts <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
  jvm_opts+=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$state/log4j2.properties"
    -Dkafka.logs.dir="$state/logs")
  if [[ -n ${KAFKA_JVM_OPTS:-} ]]; then
    local -a extra
    read -r -a extra <<<"$KAFKA_JVM_OPTS"
    jvm_opts+=("${extra[@]}")
  fi
  # setsid: the broker gets its own session, so neither a Ctrl-C during the
  # wait below nor closing the terminal reaches it; only `stop` ends it. In a
  # non-interactive shell the subshell is not a group leader, so setsid execs
  # in place and $! is the JVM's pid.
  local -a detach=()
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  # The lock descriptors are closed first: a broker holding them would block
  # every later start and stop.
  (exec 8>&- 9>&- && exec "${detach[@]}" "$java" "${jvm_opts[@]}" -cp "$libs/*" kafka.Kafka "$props" \
    >"$state/logs/kafka.out" 2>&1 </dev/null) &
  pid=$!
  printf '%s\n' "$pid" >"$pidfile"

  local deadline=$(($(now_ms) + start_timeout * 1000))
  while (($(now_ms) < deadline)); do
    if log_has 'Kafka Server started' "$from"; then
      running_pid >/dev/null || die "broker (pid $pid) started but its pid does not match; see $state/logs"
      return 0
    fi
    if ! alive "$pid"; then
      rm -f "$pidfile"
      if log_has 'Address already in use' "$from"; then
        return 2
      fi
      show_log_tail "$from"
      die "the broker exited during start-up (logs in $state/logs; remove $state to start from a blank broker)"
    fi
    sleep 0.1
  done
  show_log_tail "$from"
  terminate "$pid" 10
  rm -f "$pidfile"
  die "the broker did not report \"Kafka Server started\" within ${start_timeout}s (logs in $state/logs)"
}

usage_hint() {
  local addr=$1
  {
    printf '%s: Kafka %s is listening on %s (state in %s)\n' "$prog" "$version" "$addr" "$state"
    printf '  %-40s # %s\n' "export KAFKA_BOOTSTRAP=$addr" "what Parry's tests and services read" \
      "ctest --test-dir build -L kafka" "run the Kafka integration tests" \
      "$0 stop" "stop it; remove the state folder for a blank broker"
  } >&2
}

# ----------------------------------------------------------------- commands

cmd_start() {
  lock_state
  if running_pid >/dev/null; then
    cat "$bootfile"
    return 0
  fi
  rm -f "$pidfile" "$bootfile"
  local java
  java=$(find_java)
  fetch
  mkdir -p "$state/logs"

  local started port cport attempt rc
  started=$(now_ms)
  local var
  for var in KAFKA_PORT KAFKA_CONTROLLER_PORT; do
    [[ -z ${!var:-} ]] && continue
    if ! [[ ${!var} =~ ^[0-9]+$ ]] || ((${!var} < 1 || ${!var} > 65535)); then
      die "$var=${!var} is not a port number"
    fi
    port_free "${!var}" || die "$var=${!var}: the port is already in use on 127.0.0.1"
  done
  for attempt in 1 2 3; do
    port=${KAFKA_PORT:-}
    cport=${KAFKA_CONTROLLER_PORT:-}
    # Keep last run's ports while they are free: a stable address is kinder
    # to a shell that exported KAFKA_BOOTSTRAP before a restart.
    if [[ $attempt == 1 && -f $portsfile ]]; then
      local old_port old_cport
      read -r old_port old_cport <"$portsfile" || true
      if [[ -z $port && $old_port =~ ^[0-9]+$ ]] && port_free "$old_port"; then port=$old_port; fi
      if [[ -z $cport && $old_cport =~ ^[0-9]+$ && $old_cport != "$port" ]] &&
        port_free "$old_cport"; then cport=$old_cport; fi
    fi
    [[ -n $port ]] || port=$(pick_port)
    [[ -n $cport ]] || cport=$(pick_port "$port")
    [[ $port =~ ^[0-9]+$ && $cport =~ ^[0-9]+$ ]] || die "ports must be numbers: KAFKA_PORT=$port KAFKA_CONTROLLER_PORT=$cport"
    write_config "$port" "$cport"
    write_log_config
    format_storage "$java"
    rc=0
    launch "$java" "$port" || rc=$?
    ((rc == 0)) && break
    if [[ -n ${KAFKA_PORT:-} || -n ${KAFKA_CONTROLLER_PORT:-} || $attempt == 3 ]]; then
      show_log_tail 0
      die "port $port or $cport on 127.0.0.1 is already in use"
    fi
    note "port $port or $cport was taken meanwhile; trying others"
  done

  printf '%s\n' "$version" >"$state/version"
  printf '%s %s\n' "$port" "$cport" >"$portsfile"
  printf '127.0.0.1:%s\n' "$port" >"$bootfile"
  local took=$(($(now_ms) - started))
  note "started in $((took / 1000)).$((took % 1000 / 100))s (pid $(<"$pidfile"))"
  usage_hint "127.0.0.1:$port"
  cat "$bootfile"
}

cmd_stop() {
  [[ -d $state ]] || {
    note "kafka is not running (no state in $state)"
    return 0
  }
  lock_state
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile" "$bootfile"
    note "kafka is not running"
    return 0
  fi
  terminate "$pid" "$stop_timeout"
  rm -f "$pidfile" "$bootfile"
  note "stopped kafka (pid $pid)"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    printf 'kafka %s running: pid %s, bootstrap %s, state %s\n' \
      "$(cat "$state/version" 2>/dev/null || echo '?')" "$pid" "$(cat "$bootfile" 2>/dev/null || echo '?')" "$state"
    return 0
  fi
  printf 'kafka is not running (state %s)\n' "$state"
  return 3
}

cmd_bootstrap() {
  if ! running_pid >/dev/null || [[ ! -s $bootfile ]]; then
    die "kafka is not running; start it with: $0 start"
  fi
  cat "$bootfile"
}

cmd_fetch() {
  fetch
  printf '%s\n' "$libs"
}

cmd_logs() {
  [[ -f $state/logs/server.log ]] || die "no broker log in $state/logs"
  tail -n "${1:-50}" "$state/logs/server.log"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  bootstrap) cmd_bootstrap ;;
  fetch) cmd_fetch ;;
  logs) cmd_logs "${2:-50}" ;;
  -h | --help | help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    printf 'usage: %s start|stop|status|bootstrap|fetch|logs\n' "$prog" >&2
    exit 2
    ;;
esac

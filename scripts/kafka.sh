#!/usr/bin/env bash
# Single-node Kafka broker (KRaft, broker + controller) run from Maven Central jars, for dev, tests and CI.
#
# Usage: scripts/kafka.sh <fetch|start|wait|stop [--kill]|status|reset>
#
# Environment:
#   KAFKA_VERSION          4.1.2 (default) | 4.x.y | 3.9.2 | aliases 4.1, 4.1.x, 3.9, 3.9.x.  3.x uses infra/kafka/pom-3.9.xml.
#   KAFKA_PORT             client listener on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default 9093)
#   KAFKA_DATA_DIR         log.dirs (default .kafka/data). Its PARENT directory holds this broker's kafka.pid,
#                          logs/ and server.properties, so a second broker needs a dedicated directory,
#                          e.g. KAFKA_DATA_DIR=/tmp/k2/data KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093.
#   KAFKA_HEAP_OPTS        default "-Xms512m -Xmx512m"
#   KAFKA_WAIT_TIMEOUT     seconds for `wait` (default 90)
#   KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL for `stop` (default 30)
#   FETCH_PROGRESS_INTERVAL seconds between two progress lines of `fetch` when not on a terminal (default 5)
# Relative paths are resolved against the repository root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KROOT="$ROOT/.kafka"
INFRA="$ROOT/infra/kafka"

DEFAULT_VERSION=4.1.2
FALLBACK_VERSION=3.9.2
VERSION="${KAFKA_VERSION:-$DEFAULT_VERSION}"
case "$VERSION" in
  4.1 | 4.1.x) VERSION=$DEFAULT_VERSION ;;
  3.9 | 3.9.x) VERSION=$FALLBACK_VERSION ;;
esac
if ! [[ "$VERSION" =~ ^[34]\.[0-9]+\.[0-9]+$ ]]; then
  echo "kafka.sh: unsupported KAFKA_VERSION '$VERSION' (use 4.x.y or 3.9.x)" >&2
  exit 1
fi
MAJOR="${VERSION%%.*}"
MINOR_LINE="${VERSION%.*}"

PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }
DATA_DIR="$(abspath "${KAFKA_DATA_DIR:-.kafka/data}")"
DATA_DIR="${DATA_DIR%/}"
RUN_DIR="$(dirname "$DATA_DIR")"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_DIR="$RUN_DIR/logs"
LOG_FILE="$LOG_DIR/broker.log"
CONFIG="$RUN_DIR/server.properties"
DATA_VERSION_FILE="$RUN_DIR/data.version"
LIBS="$KROOT/$VERSION/libs"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
WAIT_TIMEOUT="${KAFKA_WAIT_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

say() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: $*" >&2; exit 1; }

need_java() {
  command -v java >/dev/null 2>&1 ||
    die "Java not found: the broker needs Java 17+ (Debian: sudo apt-get install -y openjdk-17-jre-headless)"
}
need_maven() {
  command -v mvn >/dev/null 2>&1 ||
    die "Maven not found: it fetches the Kafka jars from Maven Central (Debian: sudo apt-get install -y maven)"
}

# Serialise start/stop/reset/fetch for one broker directory. fd 9 must not leak into the broker (closed at launch).
lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock -w 180 9 || die "timed out waiting for another kafka.sh on $1"
}

# --- fetch -----------------------------------------------------------------------------------------------------
# Reads Maven's output on stdin and reports the download: on a terminal one line rewritten in place, otherwise (logs,
# CI) a plain line every FETCH_PROGRESS_INTERVAL seconds (default 5) and one at the end, each with the files and the
# megabytes downloaded so far, the rate and the time spent. Maven cannot say the total beforehand, so no time left.
fetch_progress() {
  local every="${FETCH_PROGRESS_INTERVAL:-5}" start=$SECONDS last=$SECONDS files=0 kb=0 line status tty=0
  if [ -t 1 ] && [ -z "${CI:-}" ]; then tty=1; fi
  report() {
    local took=$((SECONDS - start)) mb rate
    mb="$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')"
    rate="$(awk -v k="$kb" -v t="$took" 'BEGIN { printf "%.1f", (t > 0 ? k / 1024 / t : 0) }')"
    if [ "$tty" = 1 ]; then printf '\r\033[Kkafka.sh: fetching: %d files, %s MB, %s MB/s, %d s%s' "$files" "$mb" "$rate" "$took" "$1"
    else printf 'kafka.sh: fetching: %d files, %s MB, %s MB/s, %d s%s' "$files" "$mb" "$rate" "$took" "$1"; fi
  }
  while :; do
    if IFS= read -r -t "$every" line; then
      if [[ "$line" =~ Downloaded\ from\ [^:]+:\ .*\(([0-9.]+)\ (B|kB|KB|MB|GB)\ at ]]; then
        files=$((files + 1))
        kb="$(awk -v n="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[2]}" -v k="$kb" 'BEGIN { f = u == "B" ? 1 / 1024 : u == "MB" ? 1024 : u == "GB" ? 1048576 : 1; printf "%.1f", k + n * f }')"
      fi
    else
      status=$?
      # > 128: no line within the interval (read timed out); anything else: end of Maven's output.
      [ "$status" -gt 128 ] || break
    fi
    if [ $((SECONDS - last)) -ge "$every" ]; then
      if [ "$tty" = 1 ]; then report ''; else report $'\n'; fi
      last=$SECONDS
    fi
  done
  report $'\n'
}

cmd_fetch() {
  if [ -f "$KROOT/$VERSION/.complete" ]; then return 0; fi
  need_maven
  local pom="$INFRA/pom.xml"
  [ "$MAJOR" = 3 ] && pom="$INFRA/pom-3.9.xml"
  lock "$KROOT/$VERSION"
  if [ -f "$KROOT/$VERSION/.complete" ]; then return 0; fi
  say "fetching Kafka $VERSION jars from Maven Central into .kafka/$VERSION/libs ..."
  local tmp="$KROOT/$VERSION/libs.tmp" start=$SECONDS log
  log="$(mktemp)"
  rm -rf "$tmp" "$LIBS"
  # Maven's own transfer lines ("Downloaded from central: … (12 kB at 1.1 MB/s)") feed fetch_progress; 3.8's jansi
  # prints ANSI resets even with -B, stripped first. The whole log is shown only when mvn fails.
  if ! mvn -B -Dstyle.color=never -f "$pom" "$DEP_PLUGIN:copy-dependencies" \
    -Dkafka.version="$VERSION" -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$log" | fetch_progress; then
    grep -E 'ERROR|FAIL' "$log" | tail -n 20 >&2 || tail -n 20 "$log" >&2
    rm -f "$log"
    rm -rf "$KROOT/$VERSION"
    die "mvn could not fetch Kafka $VERSION (is Maven Central reachable? does the version exist?)"
  fi
  rm -f "$log"
  [ -f "$tmp/kafka_2.13-$VERSION.jar" ] || die "fetch incomplete: kafka_2.13-$VERSION.jar missing in $tmp"
  mv "$tmp" "$LIBS"
  touch "$KROOT/$VERSION/.complete"
  say "fetched $(ls "$LIBS" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $((SECONDS - start)) s"
}

# --- probes ----------------------------------------------------------------------------------------------------
# Kafka-protocol readiness: ApiVersions v0 request, expect a response with our correlation id and error_code 0.
# Pure bash (/dev/tcp), no Java or client needed. Returns 0 when the broker processes requests.
probe_api_versions() {
  local out
  out="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    # int32 size=18 | int16 api_key=18 (ApiVersions) | int16 version=0 | int32 correlation_id=0x50544b31 | string "kafka.sh"
    printf "\x00\x00\x00\x12\x00\x12\x00\x00\x50\x54\x4b\x31\x00\x08kafka.sh" >&3
    head -c 10 <&3 | od -An -tx1 | tr -d " \n"
  ' _ "$1" 2>/dev/null)" || return 1
  # size (4 bytes, any) + correlation id + error_code 0
  [[ "$out" =~ ^[0-9a-f]{8}50544b310000$ ]]
}
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

# Prints the pid of the broker that `start` launched for this directory, if it is still alive.
our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Make sure the pid was not recycled by an unrelated process.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $CONFIG" || return 1
  echo "$pid"
}

# --- start -----------------------------------------------------------------------------------------------------
cmd_start() {
  need_java
  lock "$RUN_DIR"
  local pid
  if pid="$(our_pid)"; then
    say "broker already running (pid $pid, 127.0.0.1:$PORT); use 'wait' for readiness"
    return 0
  fi
  if probe_api_versions "$PORT"; then
    say "a Kafka broker already answers on 127.0.0.1:$PORT; not starting another one"
    return 0
  fi
  tcp_open "$PORT" && die "port 127.0.0.1:$PORT is in use by a process that does not answer as Kafka (KAFKA_PORT to change)"
  tcp_open "$CONTROLLER_PORT" && die "controller port 127.0.0.1:$CONTROLLER_PORT is in use (KAFKA_CONTROLLER_PORT to change)"
  rm -f "$PID_FILE"
  if [ -f "$DATA_DIR/meta.properties" ]; then
    # Storage formatted by another minor line (e.g. 4.1 metadata under a 3.9 broker) would not load.
    local formatted
    formatted="$(cat "$DATA_VERSION_FILE" 2>/dev/null || echo unknown)"
    if [ "$formatted" != unknown ] && [ "${formatted%.*}" != "$MINOR_LINE" ]; then
      die "data in $DATA_DIR was formatted by Kafka $formatted, not $VERSION: run 'KAFKA_VERSION=$VERSION scripts/kafka.sh reset' or use another KAFKA_DATA_DIR"
    fi
  fi

  cmd_fetch
  lock "$RUN_DIR" # cmd_fetch may have moved the lock fd to the version dir

  mkdir -p "$DATA_DIR" "$LOG_DIR"
  sed -e "s#@KAFKA_DATA_DIR@#$DATA_DIR#" -e "s#@KAFKA_PORT@#$PORT#g" -e "s#@KAFKA_CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
    "$INFRA/server.properties" >"$CONFIG"

  local logopts
  if [ "$MAJOR" = 3 ]; then
    logopts=(-Dlog4j.configuration="file:$INFRA/log4j.properties")
  else
    logopts=(-Dlog4j2.configurationFile="$INFRA/log4j2.properties")
  fi
  logopts+=(-Dkafka.logs.dir="$LOG_DIR")
  local cp="$LIBS/*"

  if [ ! -f "$DATA_DIR/meta.properties" ]; then
    # Cluster id: 16 random bytes, base64url without padding (22 chars), not starting with '-'.
    local cid
    while :; do
      cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
      [ "${cid:0:1}" != "-" ] && break
    done
    say "formatting $DATA_DIR (cluster id $cid)"
    java -XX:TieredStopAtLevel=1 -Xshare:auto "${logopts[@]}" -cp "$cp" kafka.tools.StorageTool \
      format -t "$cid" -c "$CONFIG" >"$LOG_DIR/format.log" 2>&1 ||
      { tail -n 20 "$LOG_DIR/format.log" >&2; die "storage format failed (full output in $LOG_DIR/format.log)"; }
    echo "$VERSION" >"$DATA_VERSION_FILE"
  fi

  [ -f "$LOG_FILE" ] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  # shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM flags
  nohup java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "${logopts[@]}" -cp "$cp" kafka.Kafka "$CONFIG" </dev/null >"$LOG_FILE" 2>&1 9>&- &
  echo $! >"$PID_FILE"
  say "started Kafka $VERSION (pid $!) on 127.0.0.1:$PORT, controller :$CONTROLLER_PORT; log $LOG_FILE"
}

# --- wait ------------------------------------------------------------------------------------------------------
cmd_wait() {
  local deadline=$((SECONDS + WAIT_TIMEOUT)) pid
  while :; do
    if pid="$(our_pid)"; then
      # Our broker: the startup log line (printed once the broker is unfenced) AND a protocol round-trip.
      if grep -q "Kafka Server started" "$LOG_FILE" 2>/dev/null && probe_api_versions "$PORT"; then
        say "ready on 127.0.0.1:$PORT (pid $pid)"
        return 0
      fi
    elif [ -f "$PID_FILE" ]; then
      echo "kafka.sh: broker process $(cat "$PID_FILE") exited during startup; last lines of $LOG_FILE:" >&2
      tail -n 25 "$LOG_FILE" >&2 2>/dev/null || true
      exit 1
    elif probe_api_versions "$PORT"; then
      say "ready on 127.0.0.1:$PORT (broker not started by this script)"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kafka.sh: broker not ready on 127.0.0.1:$PORT after ${WAIT_TIMEOUT}s; last lines of $LOG_FILE:" >&2
      tail -n 25 "$LOG_FILE" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
}

# --- stop ------------------------------------------------------------------------------------------------------
cmd_stop() {
  local force=0
  [ "${1:-}" = "--kill" ] && force=1
  lock "$RUN_DIR"
  local pid
  if ! pid="$(our_pid)"; then
    [ -f "$PID_FILE" ] && { rm -f "$PID_FILE"; say "removed stale pid file"; }
    say "not running"
    return 0
  fi
  if [ "$force" = 1 ]; then
    kill -KILL "$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "no exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  local i
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$PID_FILE"
  say "stopped (pid $pid$([ "$force" = 1 ] && echo ', SIGKILL'))"
}

# --- status / reset --------------------------------------------------------------------------------------------
cmd_status() {
  local pid
  if pid="$(our_pid)"; then
    if probe_api_versions "$PORT"; then
      echo "running (pid $pid, 127.0.0.1:$PORT, Kafka $(cat "$DATA_VERSION_FILE" 2>/dev/null || echo '?'))"
    else
      echo "running (pid $pid, starting: 127.0.0.1:$PORT not answering yet)"
    fi
    return 0
  fi
  if probe_api_versions "$PORT"; then
    echo "running (127.0.0.1:$PORT answers, but the broker was not started by this script for $RUN_DIR)"
    return 0
  fi
  echo "stopped"
  return 3
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA_DIR" "$DATA_VERSION_FILE" "$CONFIG"
  say "deleted $DATA_DIR (jars in $KROOT/<version>/libs kept)"
}

case "${1:-}" in
  fetch) cmd_fetch; say "Kafka $VERSION jars in $LIBS" ;;
  start) cmd_start ;;
  wait) cmd_wait ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *)
    echo "usage: scripts/kafka.sh <fetch|start|wait|stop [--kill]|status|reset>  (env: KAFKA_VERSION, KAFKA_PORT," \
      "KAFKA_CONTROLLER_PORT, KAFKA_DATA_DIR, KAFKA_HEAP_OPTS, KAFKA_WAIT_TIMEOUT, KAFKA_STOP_TIMEOUT)" >&2
    exit 2
    ;;
esac

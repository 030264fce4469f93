#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, broker+controller in one JVM) for local dev and CI.
# Kafka's own jars come from Maven Central via mvn, because no Docker and no
# download site other than the package registries is reachable here.
#
# Usage: scripts/kafka.sh start|stop|restart|status|logs [-f]
# Env:   KAFKA_VERSION (default below), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
#        KAFKA_START_TIMEOUT (seconds, 90), KAFKA_HEAP_OPTS, KAFKA_LOG4J_VERSION, JAVA,
#        KAFKA_LOG_LINES (lines shown by `logs`, 100)
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
SCALA_BINARY="2.13"
# Kafka's poms carry log4j-core but no SLF4J binding (the distribution tarball adds
# it), so without this the broker would log nothing at all.
LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.24.3}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
JAVA="${JAVA:-java}"
HOST="127.0.0.1"

CACHE_DIR="${ROOT_DIR}/.cache/kafka"
LIB_DIR="${CACHE_DIR}/lib-${KAFKA_VERSION}"
LIB_MARKER="${LIB_DIR}/.resolved-${KAFKA_VERSION}"
# Keyed by version too: a metadata log written by one Kafka line may not load in another.
DATA_DIR="${CACHE_DIR}/data-${KAFKA_VERSION}-${KAFKA_PORT}"
PROPS_FILE="${CACHE_DIR}/server-${KAFKA_PORT}.properties"
LOG4J_FILE="${CACHE_DIR}/log4j2.properties"
# Default port keeps the plain names; another port gets its own files so two
# brokers from one checkout do not fight over them.
if [[ "${KAFKA_PORT}" == "9092" ]]; then
  LOG_FILE="${CACHE_DIR}/broker.log"
  PID_FILE="${CACHE_DIR}/broker.pid"
else
  LOG_FILE="${CACHE_DIR}/broker-${KAFKA_PORT}.log"
  PID_FILE="${CACHE_DIR}/broker-${KAFKA_PORT}.pid"
fi
STARTED_MARKER="Kafka Server started"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

major_version() { printf '%s' "${KAFKA_VERSION%%.*}"; }

port_open() {
  # timeout guards against a SYN that is silently dropped instead of refused.
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${HOST}" "$1" 2>/dev/null
}

# A pid file can outlive its process and the pid can be reused, so only trust it
# when the pid still runs our broker's main class.
broker_pid() {
  local pid
  [[ -f "${PID_FILE}" ]] || return 1
  pid="$(tr -dc '0-9' <"${PID_FILE}")"
  [[ -n "${pid}" ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  printf '%s' "${pid}"
}

ensure_libs() {
  if [[ -f "${LIB_MARKER}" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  local work="${CACHE_DIR}/resolve-${KAFKA_VERSION}"
  rm -rf "${work}" "${LIB_DIR}"
  mkdir -p "${work}"
  # log4j-1.2-api: Kafka 3.x's Log4jController is written against the log4j 1 API.
  cat >"${work}/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-sh</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_BINARY}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-1.2-api</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "resolving kafka_${SCALA_BINARY}:${KAFKA_VERSION} from Maven Central into ${LIB_DIR}"
  # Output goes to a file: mvn -q still emits colour escapes on success, and on
  # failure the whole transcript is what one needs to see.
  if ! mvn -B -q -f "${work}/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="${LIB_DIR}" -DincludeScope=runtime >"${work}/mvn.log" 2>&1; then
    cat "${work}/mvn.log" >&2
    rm -rf "${LIB_DIR}" "${work}"
    die "mvn could not resolve kafka_${SCALA_BINARY}:${KAFKA_VERSION}"
  fi
  [[ -f "${LIB_DIR}/kafka_${SCALA_BINARY}-${KAFKA_VERSION}.jar" ]] ||
    die "resolution finished but kafka_${SCALA_BINARY}-${KAFKA_VERSION}.jar is missing"
  touch "${LIB_MARKER}"
  rm -rf "${work}"
}

write_config() {
  # Console appender because the JVM's stdout already goes to the log file, which
  # also catches JVM crashes that never reach log4j.
  cat >"${LOG4J_FILE}" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF

  local quorum
  if (( $(major_version) >= 4 )); then
    # 4.x: dynamic quorum; the storage is formatted with --standalone.
    quorum="controller.quorum.bootstrap.servers=${HOST}:${KAFKA_CONTROLLER_PORT}"
  else
    quorum="controller.quorum.voters=1@${HOST}:${KAFKA_CONTROLLER_PORT}"
  fi
  # Replication factors / ISR of 1 everywhere: with one broker, the defaults (3)
  # would leave internal topics uncreatable and group commits failing.
  # auto.create.topics.enable=false: the service creates its own topics, and a typo'd
  # topic name should fail loudly instead of silently appearing.
  cat >"${PROPS_FILE}" <<EOF
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://${HOST}:${KAFKA_PORT},CONTROLLER://${HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
${quorum}
log.dirs=${DATA_DIR}
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  if (( $(major_version) >= 4 )); then
    cat >>"${PROPS_FILE}" <<EOF
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  fi
}

java_opts() {
  # shellcheck disable=SC2206 # heap options are deliberately word-split
  local heap=(${KAFKA_HEAP_OPTS})
  printf '%s\n' "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=${LOG4J_FILE}"
}

format_storage() {
  if [[ -f "${DATA_DIR}/meta.properties" ]]; then
    return 0
  fi
  local cluster_id opts
  mapfile -t opts < <(java_opts)
  cluster_id="$("${JAVA}" "${opts[@]}" -cp "${LIB_DIR}/*" kafka.tools.StorageTool random-uuid \
    2>/dev/null | tail -n 1)"
  [[ -n "${cluster_id}" ]] || die "could not generate a cluster id"
  local args=(format -t "${cluster_id}" -c "${PROPS_FILE}")
  if (( $(major_version) >= 4 )); then
    args+=(--standalone)
  fi
  log "formatting ${DATA_DIR} (cluster id ${cluster_id})"
  mkdir -p "${DATA_DIR}"
  # The tool dumps the whole KafkaConfig; keep it out of the terminal unless it fails.
  if ! "${JAVA}" "${opts[@]}" -cp "${LIB_DIR}/*" kafka.tools.StorageTool "${args[@]}" \
      >"${CACHE_DIR}/format.log" 2>&1; then
    tail -n 40 "${CACHE_DIR}/format.log" >&2
    rm -rf "${DATA_DIR}"
    die "storage format failed (full output: ${CACHE_DIR}/format.log)"
  fi
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while (( SECONDS < deadline )); do
    if ! kill -0 "${pid}" 2>/dev/null; then
      log "broker exited during startup; last log lines:"
      tail -n 60 "${LOG_FILE}" >&2 || true
      rm -f "${PID_FILE}"
      return 1
    fi
    # The port alone is not enough: the socket accepts before the broker has
    # caught up with the metadata log and would refuse requests.
    if port_open "${KAFKA_PORT}" && grep -q "${STARTED_MARKER}" "${LOG_FILE}" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  log "broker not ready after ${KAFKA_START_TIMEOUT}s; last log lines:"
  tail -n 60 "${LOG_FILE}" >&2 || true
  # Left running on purpose: a slow box may still get there, and a rerun of start waits.
  log "pid ${pid} left running; '$0 stop' ends it"
  return 1
}

cmd_start() {
  local pid
  if pid="$(broker_pid)"; then
    if port_open "${KAFKA_PORT}"; then
      log "already running (pid ${pid}, ${HOST}:${KAFKA_PORT})"
      return 0
    fi
    # Started by a concurrent or interrupted start: wait for it instead of
    # launching a second JVM on the same data dir.
    log "pid ${pid} is starting; waiting for it"
    wait_ready "${pid}" || return 1
    log "running (pid ${pid}, ${HOST}:${KAFKA_PORT})"
    return 0
  fi
  if port_open "${KAFKA_PORT}"; then
    log "port ${KAFKA_PORT} already answers (not started by this script); leaving it alone"
    return 0
  fi
  rm -f "${PID_FILE}"

  command -v "${JAVA}" >/dev/null || die "java not found"
  mkdir -p "${CACHE_DIR}"
  ensure_libs
  write_config
  format_storage

  # Fresh log per start so the readiness grep cannot match a previous run.
  if [[ -f "${LOG_FILE}" ]]; then
    mv -f "${LOG_FILE}" "${LOG_FILE}.prev"
  fi
  local opts
  mapfile -t opts < <(java_opts)
  # setsid: the broker must outlive the calling shell/CI step and not get its
  # SIGINT/SIGHUP. 9>&- drops the start lock so the broker does not hold it forever.
  setsid nohup "${JAVA}" "${opts[@]}" -cp "${LIB_DIR}/*" kafka.Kafka "${PROPS_FILE}" \
    >"${LOG_FILE}" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "${pid}" >"${PID_FILE}"
  log "started pid ${pid} (Kafka ${KAFKA_VERSION}); waiting up to ${KAFKA_START_TIMEOUT}s"
  wait_ready "${pid}" || return 1
  log "running (pid ${pid}, ${HOST}:${KAFKA_PORT}, log ${LOG_FILE})"
}

cmd_stop() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "${PID_FILE}"
    if port_open "${KAFKA_PORT}"; then
      log "not started by this script, but port ${KAFKA_PORT} answers; not touching it"
    else
      log "not running"
    fi
    return 0
  fi
  log "stopping pid ${pid}"
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "${pid}" 2>/dev/null && (( SECONDS < deadline )); do
    sleep 0.5
  done
  if kill -0 "${pid}" 2>/dev/null; then
    log "still alive after 30s; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "${PID_FILE}"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(broker_pid)"; then
    if port_open "${KAFKA_PORT}"; then
      echo "running (pid ${pid}, ${HOST}:${KAFKA_PORT}, Kafka ${KAFKA_VERSION})"
      return 0
    fi
    echo "starting (pid ${pid}, port ${KAFKA_PORT} not answering yet)"
    return 3
  fi
  if port_open "${KAFKA_PORT}"; then
    echo "running (port ${KAFKA_PORT} answers; not started by this script)"
    return 0
  fi
  echo "stopped"
  return 3
}

cmd_logs() {
  [[ -f "${LOG_FILE}" ]] || die "no log file at ${LOG_FILE}"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "${LOG_FILE}"
  fi
  tail -n "${KAFKA_LOG_LINES:-100}" "${LOG_FILE}"
}

with_lock() {
  mkdir -p "${CACHE_DIR}"
  # Serialises concurrent start/stop (e.g. parallel test setups) on one checkout.
  exec 9>"${CACHE_DIR}/.lock-${KAFKA_PORT}"
  flock -w 600 9 || die "could not take ${CACHE_DIR}/.lock-${KAFKA_PORT}"
  "$@"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "${cmd}" in
    start) with_lock cmd_start ;;
    stop) with_lock cmd_stop ;;
    restart) with_lock cmd_stop && with_lock cmd_start ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    *)
      echo "usage: $0 start|stop|restart|status|logs [-f]" >&2
      exit 2
      ;;
  esac
}

main "$@"

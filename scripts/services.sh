# Sourced by scripts/test: makes Redis and PostgreSQL available to the store tests
# (runtime/tests/redis_*.rs, postgres_*.rs, benches/stores.rs), and Prometheus (`prometheus`,
# `promtool`) to the observability tests (tests/observability.rs,
# examples/shop/tests/prometheus.rs), which start their own server.
#
# - A server already answering (127.0.0.1:6379, 127.0.0.1:5432) is used as it is.
# - Otherwise the binaries are installed from the OS packages when missing (apt-get:
#   redis-server, postgresql) and one private instance of each is started in a temp dir on a free
#   port, exported as IDEMGATE_TEST_REDIS_URL / IDEMGATE_TEST_DATABASE_URL, and stopped on exit.
#   (Tests that kill a server always start their own private instance.)
# - If a server still cannot be had: with CI=true that is a failure; elsewhere the tests that
#   need it are skipped, and each says so.

services_log() { echo "scripts/test: $*" >&2; }

services_answers() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

services_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

services_pg_bin() { # name
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/$1" ]; then echo "$d/$1"; return; fi
  done
  return 1
}

SERVICES_APT_UPDATED=""
services_apt_install() { # packages…
  if ! command -v apt-get >/dev/null 2>&1; then
    services_log "apt-get is not available to install $*"
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
      services_log "not root and no sudo: cannot install $*"
      return 1
    fi
  fi
  if [ -z "$SERVICES_APT_UPDATED" ]; then
    $sudo apt-get update -qq >/dev/null || return 1
    SERVICES_APT_UPDATED=1
  fi
  # policy-rc.d-less containers may try to start the services; they are not needed running.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

SERVICES_CLEANUP=()
services_cleanup() {
  local c
  for c in "${SERVICES_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap services_cleanup EXIT

services_missing() { # what reason
  if [ "${CI:-}" = "true" ]; then
    services_log "CI=true and $1 is not available: $2"
    exit 1
  fi
  services_log "$1 is not available ($2): its tests will be skipped"
}

services_redis() {
  if [ -n "${IDEMGATE_TEST_REDIS_URL:-}" ]; then return; fi
  if services_answers 6379; then
    services_log "Redis: using the server at 127.0.0.1:6379"
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    services_log "Redis: installing redis-server"
    services_apt_install redis-server || true
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    services_missing "Redis" "no server on 127.0.0.1:6379 and redis-server could not be installed"
    return
  fi
  local dir port i
  dir="$(mktemp -d -t idemgate-redis.XXXXXX)"
  port="$(services_free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  for i in $(seq 1 100); do
    services_answers "$port" && break
    sleep 0.1
  done
  if ! services_answers "$port"; then
    services_missing "Redis" "a private redis-server did not start (see $dir/redis.log)"
    return
  fi
  SERVICES_CLEANUP+=("kill \$(cat '$dir/redis.pid'); rm -rf '$dir'")
  export IDEMGATE_TEST_REDIS_URL="redis://127.0.0.1:$port/"
  services_log "Redis: started a private redis-server on 127.0.0.1:$port"
}

services_postgres() {
  if [ -n "${IDEMGATE_TEST_DATABASE_URL:-}" ]; then return; fi
  if services_answers 5432; then
    services_log "PostgreSQL: using the server at 127.0.0.1:5432 (database test)"
    return
  fi
  if ! services_pg_bin initdb >/dev/null || ! services_pg_bin pg_ctl >/dev/null; then
    services_log "PostgreSQL: installing postgresql"
    services_apt_install postgresql || true
  fi
  local initdb pg_ctl
  if ! initdb="$(services_pg_bin initdb)" || ! pg_ctl="$(services_pg_bin pg_ctl)"; then
    services_missing "PostgreSQL" "no server on 127.0.0.1:5432 and initdb/pg_ctl could not be installed"
    return
  fi
  # the tests' private instances look the binaries up on PATH
  PATH="$PATH:$(dirname "$initdb")"
  export PATH
  local dir port as=()
  dir="$(mktemp -d -t idemgate-pg.XXXXXX)"
  port="$(services_free_port)"
  if [ "$(id -u)" = 0 ]; then
    # initdb and postgres refuse to run as root
    chown -R postgres:postgres "$dir" 2>/dev/null || true
    as=(runuser -u postgres --)
  fi
  if ! "${as[@]}" "$initdb" -A trust -U postgres --no-sync -D "$dir/data" >"$dir/initdb.log" 2>&1 \
    || ! "${as[@]}" "$pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/log" \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -F -c max_connections=300" >/dev/null; then
    services_missing "PostgreSQL" "a private instance did not start (see $dir)"
    return
  fi
  SERVICES_CLEANUP+=("${as[*]} '$pg_ctl' stop -m fast -D '$dir/data'; rm -rf '$dir'")
  export IDEMGATE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  services_log "PostgreSQL: started a private instance on 127.0.0.1:$port"
}

services_prometheus() {
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then return; fi
  services_log "Prometheus: installing prometheus (with promtool)"
  services_apt_install prometheus || true
  # the package may start a server of its own; the tests use private ones on free ports
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    services_missing "Prometheus" "prometheus/promtool could not be installed"
  fi
}

services_redis
services_postgres
services_prometheus

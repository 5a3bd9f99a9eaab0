# shellcheck shell=bash
# Sourced by scripts/start and scripts/test: installs (when missing) and starts PostgreSQL and Redis on
# a Debian or Ubuntu machine, idempotently. Set SESAME_SKIP_SERVICES=1 to manage them yourself.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  echo "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

wait_for() { # wait_for NAME CMD...
  local name=$1
  shift
  for _ in $(seq 1 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$name did not start in 30 s" >&2
  return 1
}

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then return 0; fi
  apt_install postgresql postgresql-client
  local version
  version=$(ls /etc/postgresql | sort -n | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  apt_install redis-server
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
    --dir /var/lib/redis --logfile /var/log/redis/sesame.log
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
}

# psql_admin runs psql as a superuser: over TCP as postgres when the server trusts it, else through
# the local socket as the postgres system user.
psql_admin() {
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
  else
    as_root su postgres -c "psql -d postgres -v ON_ERROR_STOP=1 $(printf '%q ' "$@")"
  fi
}

ensure_services() {
  [ "${SESAME_SKIP_SERVICES:-}" = 1 ] && return 0
  command -v apt-get >/dev/null || { echo "not a Debian/Ubuntu machine: start PostgreSQL and Redis yourself and set SESAME_SKIP_SERVICES=1" >&2; return 1; }
  ensure_postgres
  ensure_redis
}

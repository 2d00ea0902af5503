# shellcheck shell=bash
# PostgreSQL and Redis for the test suite.
#
# Source this file, then call `ensure_test_services`. It exports:
#   GNRP_TEST_POSTGRES_URL  postgresql://... of a server that lets user postgres in without a password
#   GNRP_TEST_REDIS_URL     redis://.../0
#   GNRP_TEST_REDIS_SERVER  path of a redis-server binary (tests start their own instances from it)
#
# For each service, in order:
#   1. the URL already given in the environment is used as it is;
#   2. otherwise a server already answering on the usual local port is reused;
#   3. otherwise a throwaway server is started on a free port in a temporary directory
#      (installing it with apt-get when missing). It is stopped and its directory removed
#      when the calling shell exits: this installs an EXIT trap in that shell.
#
# Where step 2 looks can be changed, e.g. to force step 3:
#   GNRP_PG_PROBE_HOST / GNRP_PG_PROBE_PORT        (default 127.0.0.1 / 5432)
#   GNRP_REDIS_PROBE_HOST / GNRP_REDIS_PROBE_PORT  (default 127.0.0.1 / 6379)
# GNRP_TEST_PYTHON is the Python used for probes and port picking (default python3); the
# PostgreSQL probe needs asyncpg in it only when psql is not installed.

_GNRP_PG_BIN=""
_GNRP_PG_TMP=""
_GNRP_REDIS_PID=""
_GNRP_REDIS_TMP=""

_gnrp_log() { printf '    %s\n' "$*" >&2; }

_gnrp_die() {
    printf 'error: %s\n' "$*" >&2
    return 1
}

_gnrp_python() { "${GNRP_TEST_PYTHON:-python3}" "$@"; }

# Ask the kernel for a free port. Another process could take it before the server binds it,
# which is unlikely enough for a test run.
_gnrp_free_port() {
    _gnrp_python -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Install Debian packages without prompts (CI has no stdin); needs root or sudo.
_gnrp_apt_install() {
    command -v apt-get >/dev/null 2>&1 || _gnrp_die "$* not found, and there is no apt-get to install it" || return 1
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || _gnrp_die "need root or sudo to apt-get install $*" || return 1
        sudo=(sudo)
    fi
    _gnrp_log "installing $* with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Stop what we started; runs from the EXIT trap, so it must not fail or change the exit status.
_gnrp_cleanup_test_services() {
    if [ -n "$_GNRP_REDIS_PID" ]; then
        kill "$_GNRP_REDIS_PID" 2>/dev/null || true
        wait "$_GNRP_REDIS_PID" 2>/dev/null || true
        _GNRP_REDIS_PID=""
    fi
    if [ -n "$_GNRP_REDIS_TMP" ]; then
        rm -rf "$_GNRP_REDIS_TMP"
        _GNRP_REDIS_TMP=""
    fi
    if [ -n "$_GNRP_PG_TMP" ]; then
        if [ -f "$_GNRP_PG_TMP/data/postmaster.pid" ]; then
            local pg_pid i
            pg_pid=$(head -n 1 "$_GNRP_PG_TMP/data/postmaster.pid")
            # Immediate mode: the data is thrown away, so no shutdown checkpoint is needed.
            _gnrp_as_pg_owner "$_GNRP_PG_BIN/pg_ctl" -D "$_GNRP_PG_TMP/data" -m immediate -w -t 20 stop \
                >/dev/null 2>&1 || true
            # pg_ctl returns once the pid file is gone; wait for the process itself to end too.
            for i in $(seq 1 50); do
                kill -0 "$pg_pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pg_pid" 2>/dev/null || true
        fi
        rm -rf "$_GNRP_PG_TMP"
        _GNRP_PG_TMP=""
    fi
}

_gnrp_install_cleanup_trap() {
    trap _gnrp_cleanup_test_services EXIT
    # Turn Ctrl-C / kill into a normal exit so the EXIT trap runs.
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

# True when the URL lets us run a query (a server that wants a password does not count).
_gnrp_pg_usable() {
    local url=$1
    if command -v psql >/dev/null 2>&1; then
        # -w: never prompt for a password; -X: ignore ~/.psqlrc.
        PGCONNECT_TIMEOUT=5 psql -w -X -q -A -t -d "$url" -c 'select 1' </dev/null >/dev/null 2>&1
    else
        _gnrp_python - "$url" >/dev/null 2>&1 <<'PY'
import asyncio
import sys

import asyncpg


async def main() -> None:
    conn = await asyncpg.connect(sys.argv[1], timeout=5)
    try:
        await conn.fetchval("select 1")
    finally:
        await conn.close()


asyncio.run(main())
PY
    fi
}

# Directory holding initdb and pg_ctl: from PATH, else the newest Debian-style install.
_gnrp_pg_bindir() {
    local initdb dir
    if initdb=$(command -v initdb 2>/dev/null); then
        dir=$(dirname "$(readlink -f "$initdb")")
        if [ -x "$dir/pg_ctl" ]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    dir=$( (find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null || true) |
        sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && printf '%s\n' "$dir"
}

# PostgreSQL refuses to run as root, so as root we run its tools as user postgres.
# `cd /` so the tools never start in a directory that user cannot read.
_gnrp_as_pg_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        (cd / && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

_gnrp_start_postgres() {
    local bindir tmp port url
    if ! bindir=$(_gnrp_pg_bindir); then
        _gnrp_apt_install postgresql
        bindir=$(_gnrp_pg_bindir) || _gnrp_die "PostgreSQL installed, but initdb/pg_ctl not found" || return 1
    fi

    _gnrp_install_cleanup_trap
    _GNRP_PG_BIN=$bindir
    if [ "$(id -u)" -eq 0 ]; then
        if ! id -u postgres >/dev/null 2>&1; then
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin postgres
        fi
        # /tmp rather than $TMPDIR: user postgres must be able to reach the directory.
        tmp=$(mktemp -d /tmp/gnrp-test-pg.XXXXXX)
        chown postgres: "$tmp"
    else
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/gnrp-test-pg.XXXXXX")
    fi
    _GNRP_PG_TMP=$tmp
    port=$(_gnrp_free_port)
    _gnrp_log "starting a throwaway PostgreSQL ($bindir) on 127.0.0.1:$port"

    if ! _gnrp_as_pg_owner "$bindir/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 \
        --no-locale --no-sync >"$tmp/initdb.log" 2>&1; then
        cat "$tmp/initdb.log" >&2
        _gnrp_die "initdb failed"
        return 1
    fi
    # TCP on 127.0.0.1 only, the Unix socket inside the temp dir, and durability off:
    # the data is thrown away anyway and tests run faster.
    if ! _gnrp_as_pg_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -k $tmp -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
        cat "$tmp/postgres.log" >&2 || true
        _gnrp_die "PostgreSQL did not start"
        return 1
    fi

    url="postgresql://postgres@127.0.0.1:$port/postgres"
    _gnrp_pg_usable "$url" || _gnrp_die "PostgreSQL started but $url does not answer" || return 1
    export GNRP_TEST_POSTGRES_URL=$url
}

_gnrp_ensure_postgres() {
    if [ -n "${GNRP_TEST_POSTGRES_URL:-}" ]; then
        _gnrp_log "PostgreSQL: using the given GNRP_TEST_POSTGRES_URL"
        return 0
    fi
    local url="postgresql://postgres@${GNRP_PG_PROBE_HOST:-127.0.0.1}:${GNRP_PG_PROBE_PORT:-5432}/postgres"
    if _gnrp_pg_usable "$url"; then
        _gnrp_log "PostgreSQL: reusing the server at $url"
        export GNRP_TEST_POSTGRES_URL=$url
        return 0
    fi
    _gnrp_start_postgres
}

# ---------------------------------------------------------------------------------------------
# Redis

# True when host $1 port $2 answers PING with PONG (a server that wants AUTH does not count).
_gnrp_redis_usable() {
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(timeout 5 redis-cli -h "$1" -p "$2" ping </dev/null 2>/dev/null)" = "PONG" ]
    else
        _gnrp_python - "$1" "$2" >/dev/null 2>&1 <<'PY'
import socket
import sys

with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as sock:
    sock.sendall(b"PING\r\n")
    sys.exit(0 if sock.recv(64).startswith(b"+PONG") else 1)
PY
    fi
}

# Tests start their own Redis instances (e.g. to restart one), so the binary is always needed.
_gnrp_ensure_redis_server_binary() {
    if [ -n "${GNRP_TEST_REDIS_SERVER:-}" ]; then
        [ -x "$GNRP_TEST_REDIS_SERVER" ] || _gnrp_die "GNRP_TEST_REDIS_SERVER=$GNRP_TEST_REDIS_SERVER is not executable" || return 1
        return 0
    fi
    local bin
    if ! bin=$(command -v redis-server 2>/dev/null); then
        _gnrp_apt_install redis-server
        bin=$(command -v redis-server 2>/dev/null) || _gnrp_die "redis-server installed, but not on PATH" || return 1
    fi
    export GNRP_TEST_REDIS_SERVER=$bin
}

_gnrp_start_redis() {
    local tmp port i
    _gnrp_install_cleanup_trap
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gnrp-test-redis.XXXXXX")
    _GNRP_REDIS_TMP=$tmp
    port=$(_gnrp_free_port)
    _gnrp_log "starting a throwaway Redis ($GNRP_TEST_REDIS_SERVER) on 127.0.0.1:$port"
    # In the foreground of a background job (not --daemonize) so we know its pid;
    # no persistence, since nothing is meant to outlive the run.
    "$GNRP_TEST_REDIS_SERVER" --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --daemonize no --dir "$tmp" --logfile "$tmp/redis.log" </dev/null &
    _GNRP_REDIS_PID=$!
    for i in $(seq 1 100); do
        if _gnrp_redis_usable 127.0.0.1 "$port"; then
            export GNRP_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
            return 0
        fi
        if ! kill -0 "$_GNRP_REDIS_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    cat "$tmp/redis.log" >&2 || true
    _gnrp_die "Redis did not start (waited $((i / 10)) s)"
}

_gnrp_ensure_redis() {
    _gnrp_ensure_redis_server_binary
    if [ -n "${GNRP_TEST_REDIS_URL:-}" ]; then
        _gnrp_log "Redis: using the given GNRP_TEST_REDIS_URL"
        return 0
    fi
    local host=${GNRP_REDIS_PROBE_HOST:-127.0.0.1} port=${GNRP_REDIS_PROBE_PORT:-6379}
    if _gnrp_redis_usable "$host" "$port"; then
        _gnrp_log "Redis: reusing the server at $host:$port"
        export GNRP_TEST_REDIS_URL="redis://$host:$port/0"
        return 0
    fi
    _gnrp_start_redis
}

# ---------------------------------------------------------------------------------------------

ensure_test_services() {
    _gnrp_ensure_postgres
    _gnrp_ensure_redis
}

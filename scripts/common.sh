# Shell helpers shared by the demo, the integration tests and the benchmarks:
# sourced, not run.

# wait_listening OUT_FILE PID [TRIES]: waits until the verifier started as PID
# prints "listening on ADDR:PORT (...)" into OUT_FILE; sets PORT. Fails if the
# verifier exits first or TRIES x 20 ms pass. Remove OUT_FILE before starting
# the verifier: the redirection of a background job happens in the child,
# later, so an old file read first names the port of a verifier gone.
wait_listening() {
    local out=$1 pid=$2 tries=${3:-250} i
    PORT=
    for ((i = 0; i < tries; i++)); do
        PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\) .*/\1/p' "$out" 2>/dev/null)
        [ -n "$PORT" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

# ---- a PostgreSQL 15 server of one's own (Debian's), for tests and benches ----
# pg_start DIR LOG: initdb into DIR/data (the superuser tpa, trust over its
# unix socket DIR/sock, the only way in: no TCP), the server started and
# waited for, a database "tpa"; sets PG_SOCK, PG_URI (a libpq URI) and
# PG_PID (the server's own pid: stop it with pg_down, by that pid). As root
# the server runs as the postgres user (it refuses root); then DIR's
# parents must let that user through (0711).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PID=
PG_AS=()
[ "$(id -u)" -ne 0 ] || PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
pg_up() { # DIR LOG: the server in the background; sets PG_PID
    local i
    "${PG_AS[@]}" "$PG_BIN/postgres" -D "$1/data" -k "$1/sock" -c listen_addresses= \
        -c max_connections=200 -c shared_buffers=32MB >>"$2" 2>&1 &
    PG_PID=$!
    for i in $(seq 1 300); do
        "$PG_BIN/pg_isready" -q -h "$1/sock" -U tpa -d postgres && return 0
        kill -0 "$PG_PID" 2>/dev/null || { cat "$2" >&2; return 1; }
        sleep 0.1
    done
    cat "$2" >&2
    return 1
}
pg_start() { # DIR LOG
    PG_SOCK=$1/sock
    mkdir -p "$1/data" "$PG_SOCK"
    if [ "$(id -u)" -eq 0 ]; then chmod 711 "$(dirname "$1")"; chown -R postgres:postgres "$1"; fi
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$1/data" -U tpa -A trust -E UTF8 --locale=C \
        --no-instructions >"$1.initdb.out" 2>&1 || { cat "$1.initdb.out" >&2; return 1; }
    pg_up "$1" "$2" || return 1
    "$PG_BIN/psql" -q -h "$PG_SOCK" -U tpa -d postgres -c 'CREATE DATABASE tpa' >/dev/null
    PG_URI="postgresql:///tpa?host=$PG_SOCK&user=tpa"
}
# pg_down: a fast shutdown (SIGINT: clients are disconnected, what is
# committed stays), waited for.
pg_down() {
    [ -n "$PG_PID" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=
}

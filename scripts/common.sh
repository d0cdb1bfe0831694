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

#!/usr/bin/env bash
# The echo server on coroutines (examples/echo_server) against the same
# server written as callbacks (bench/echo_callbacks), under the same load
# client (examples/echo_client) on loopback, alternating the two servers
# over the rounds so that the machine's noise hits both alike. Prints each
# round's messages per second and the ratio of the medians. A figure, not a
# test: it fails only when a run fails.
#
#   bench/echo_compare.sh BUILD_DIR [--rounds R] [client options...]
#
# e.g. bench/echo_compare.sh build --rounds 5 --connections 1000 --messages 200
set -euo pipefail
build=${1:?usage: echo_compare.sh BUILD_DIR [--rounds R] [client options...]}
shift
rounds=3
if [[ ${1:-} == --rounds ]]; then
    rounds=$2
    shift 2
fi
client_args=("$@")
[ ${#client_args[@]} -gt 0 ] || client_args=(--connections 1000 --messages 200)

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Runs one server under the client once; prints its messages per second.
one_run() {
    local server=$1 port polls=0
    "$server" 0 >"$work/server.out" 2>&1 &
    server_pid=$!
    until grep -q '^listening on' "$work/server.out"; do
        polls=$((polls + 1))
        if [ "$polls" -gt 600 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "echo_compare: $server did not start" >&2
            cat "$work/server.out" >&2
            return 1
        fi
        sleep 0.1
    done
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
    if ! "$build/examples/echo_client" "$port" "${client_args[@]}" >"$work/client.out" 2>&1; then
        echo "echo_compare: the client failed against $server" >&2
        cat "$work/client.out" >&2
        return 1
    fi
    kill -TERM "$server_pid"
    wait "$server_pid" || { echo "echo_compare: $server did not stop cleanly" >&2; return 1; }
    server_pid=
    sed -n 's/^\([0-9]*\) messages\/s.*/\1/p' "$work/client.out"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

: >"$work/coro.txt"
: >"$work/callbacks.txt"
echo "echo_compare: ${client_args[*]}, $rounds rounds, servers alternating"
for round in $(seq "$rounds"); do
    coro=$(one_run "$build/examples/echo_server")
    callbacks=$(one_run "$build/bench/echo_callbacks")
    echo "$coro" >>"$work/coro.txt"
    echo "$callbacks" >>"$work/callbacks.txt"
    printf '  round %d: coroutines %s msg/s, callbacks %s msg/s\n' "$round" "$coro" "$callbacks"
done
coro=$(median <"$work/coro.txt")
callbacks=$(median <"$work/callbacks.txt")
awk -v a="$coro" -v b="$callbacks" 'BEGIN {
    printf "median messages/s: libcoro server %.0f, callback server %.0f, ratio %.3fx\n", a, b, a / b }'

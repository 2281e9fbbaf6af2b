#!/bin/bash
# The echo server under load, then stopped with every connection open.
#   echo_test.sh ECHO_SERVER ECHO_CLIENT [client options...]
# Starts the server on a free loopback port, runs the client with --linger,
# and once every connection has finished its messages and sits open, stops
# the server with SIGTERM. Passes when the client saw every byte intact and
# every connection closed by the server, and the server exited with status 0
# after cancelling every connection it still had, each of which cleaned up
# (freed its buffer, closed its socket) in its own coroutine.
set -euo pipefail
server=$1
client=$2
shift 2

work=$(mktemp -d)
server_pid=
client_pid=
cleanup() {
    [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Polls for a line in a file while the process that writes it runs, for at
# most the given number of tenths of a second (0: no limit; the client bounds
# its own run with --timeout). A bound against hangs, not a measurement.
wait_for_line() {
    local pattern=$1 file=$2 pid=$3 limit=$4 polls=0
    while ! grep -q "$pattern" "$file"; do
        kill -0 "$pid" 2>/dev/null || { grep -q "$pattern" "$file"; return; }
        polls=$((polls + 1))
        [ "$limit" -eq 0 ] || [ "$polls" -le "$limit" ] || return 1
        sleep 0.1
    done
}

"$server" 0 >"$work/server.out" 2>&1 &
server_pid=$!
wait_for_line '^listening on' "$work/server.out" "$server_pid" 600 || {
    echo "server did not start"; cat "$work/server.out"; exit 1; }
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")

"$client" "$port" "$@" --linger >"$work/client.out" 2>&1 &
client_pid=$!
if ! wait_for_line '^all connections lingering' "$work/client.out" "$client_pid" 0; then
    echo "client did not finish its messages"
    cat "$work/client.out" "$work/server.out"
    exit 1
fi

kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
client_status=0
wait "$client_pid" || client_status=$?
client_pid=

cat "$work/client.out" "$work/server.out"
[ "$server_status" -eq 0 ] || { echo "server exited with status $server_status"; exit 1; }
[ "$client_status" -eq 0 ] || { echo "client exited with status $client_status"; exit 1; }
open=$(sed -n 's/.* \([0-9]*\) open at shutdown, \([0-9]*\) closed$/\1 \2/p' "$work/server.out")
read -r open_at_shutdown closed <<<"$open"
[ "$open_at_shutdown" -gt 0 ] && [ "$open_at_shutdown" -eq "$closed" ] || {
    echo "server closed $closed of $open_at_shutdown open connections"; exit 1; }
own=$(sed -n 's/^cleaned up by their own coroutine on cancel: \([0-9]*\)$/\1/p' "$work/server.out")
[ "${own:-0}" -eq "$open_at_shutdown" ] || {
    echo "${own:-0} of $open_at_shutdown connections cleaned up in their own coroutine"; exit 1; }
echo "PASS: clean shutdown with $open_at_shutdown connections open, each cleaned up by its own coroutine"

#!/bin/sh
# gdb's bt inside a nested coroutine of a foreign-architecture test_unwind,
# run under qemu-user's gdb stub: the walk goes from the inner coroutine's
# frames through both roots into the thread that resumed the outer one.
#
#   tests/gdb_qemu_unwind.sh QEMU SYSROOT TEST_UNWIND
#
# Exit 77 (skipped) without gdb-multiarch or qemu: scripts/cross-test counts
# a skipped test as a failure, so CI must have both.
qemu=$1 sysroot=$2 program=$3
command -v gdb-multiarch >/dev/null 2>&1 || { echo "gdb-multiarch is not installed"; exit 77; }
command -v "$qemu" >/dev/null 2>&1 || { echo "$qemu is not installed"; exit 77; }

# A port of this process's own; qemu waits for gdb to connect.
port=$((20000 + $$ % 20000))
"$qemu" -L "$sysroot" -g "$port" "$program" --gdb-target &
qemu_pid=$!
output=$(timeout 300 gdb-multiarch -batch -nx -ex 'set style enabled off' -ex 'set width 0' \
    -ex "set sysroot $sysroot" -ex "target remote :$port" -ex 'break gdb_stop_here' -ex continue \
    -ex bt -ex kill "$program" 2>&1)
kill "$qemu_pid" 2>/dev/null
wait "$qemu_pid" 2>/dev/null
printf '%s\n' "$output"

# The frames from #0 to the thread's function gdb_thread, in order, with
# none of gdb's complaints among them (the C library's thread start below
# gdb_thread is not ours to check).
printf '%s\n' "$output" | awk '
    /^#[0-9]/ && !done { frames = frames $0 "\n"; if ($0 ~ / gdb_thread \(/) done = 1 }
    /Backtrace stopped|corrupt stack/ && !done { complaint = 1 }
    END {
        n = split("gdb_stop_here nested_inner_entry coro_start coro_arch_trampoline outer_entry coro_start coro_arch_trampoline gdb_thread", want, " ")
        rest = frames
        for (i = 1; i <= n; i++) {
            at = index(rest, " " want[i] " (")
            if (at == 0) { print "missing, in order: " want[i]; exit 1 }
            rest = substr(rest, at + 1)
        }
        if (!done || complaint || frames ~ /\?\? \(/) { print "the walk did not reach gdb_thread cleanly"; exit 1 }
    }'

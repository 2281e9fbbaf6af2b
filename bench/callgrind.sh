#!/usr/bin/env bash
# Instructions per iteration of a benchmark, from valgrind's callgrind: a
# figure that, unlike time, does not move with the machine's load.
#
#   bench/callgrind.sh [-n N] BENCH [ARGS...]
#
# Runs BENCH ARGS twice under `valgrind --tool=callgrind`, with every {N} in
# ARGS replaced first by N (default 100000) and then by 2N, and prints
#   (instructions of the 2N run - instructions of the N run) / N
# so that everything but the iterations (loading, setup, warm-up, printing)
# cancels out. ARGS must make the benchmark do nothing else in proportion
# to N: select one implementation. For example, from the source directory:
#
#   bench/callgrind.sh build/bench/create_destroy --reps 1 --iterations {N} --only 'libcoro pooled'
set -euo pipefail

n=100000
if [[ ${1:-} == -n ]]; then
    n=$2
    shift 2
fi
if [[ $# -lt 1 || ! $n =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [-n N] BENCH [ARGS...]   (ARGS contain {N})" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "$0: valgrind not found" >&2; exit 1; }

bench=$1
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Total instructions (Ir) of one run with {N} replaced by $1.
instructions() {
    local count=$1 arg
    local -a args=()
    for arg in "${template[@]}"; do
        args+=("${arg//\{N\}/$count}")
    done
    if ! valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$count" \
        "$bench" "${args[@]}" >"$out/stdout.$count" 2>"$out/stderr.$count"; then
        cat "$out/stderr.$count" >&2
        exit 1
    fi
    sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$out/callgrind.$count"
}

template=("$@")
once=$(instructions "$n")
twice=$(instructions $((2 * n)))
if [[ -z $once || -z $twice ]]; then
    echo "$0: no instruction count in callgrind's output" >&2
    exit 1
fi
# Two decimals, in integer arithmetic.
per=$(((twice - once) * 100 / n))
printf '%d.%02d instructions per iteration (%s: %d at N=%d, %d at N=%d)\n' \
    $((per / 100)) $((per % 100)) "$(basename "$bench")" "$once" "$n" "$twice" $((2 * n))

#!/usr/bin/env bash
# Bar chart (SVG, via gnuplot) of one column of a benchmark's --csv output,
# one bar per implementation, for the documentation.
#
#   bench/chart.sh [-o OUT.svg] [-c COLUMN] [-t TITLE] [-y LABEL] [-l] [CSV]
#
# CSV (default: standard input) has a header line. The bars are labelled by
# the column named implementation (or impl, or name; else the first) and
# measure COLUMN (default: the first column whose name contains "median").
# OUT defaults to docs/switch_latency.svg; -l makes the axis logarithmic. For example, from the source
# directory:
#
#   build/bench/switch_latency --csv > switch.csv
#   bench/chart.sh -t 'ns per switch' -y 'ns per switch (median)' switch.csv
set -euo pipefail

output=docs/switch_latency.svg
column=
title='libcoro benchmark'
ylabel=
logscale=
while getopts o:c:t:y:l option; do
    case $option in
    o) output=$OPTARG ;;
    c) column=$OPTARG ;;
    t) title=$OPTARG ;;
    y) ylabel=$OPTARG ;;
    l) logscale="set logscale y" ;;
    *) echo "usage: $0 [-o OUT.svg] [-c COLUMN] [-t TITLE] [-y LABEL] [-l] [CSV]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (Debian: gnuplot-nox)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "${1:-/dev/stdin}" >"$work/in.csv"

# Picks the two columns and writes them tab-separated, labels quoted.
awk -F, -v want="$column" -v out="$work/bars.tsv" '
    NR == 1 {
        for (i = 1; i <= NF; i++) {
            name = tolower($i)
            if (!label && (name == "implementation" || name == "impl" || name == "name")) label = i
            if (want != "" && $i == want) value = i
            if (want == "" && !value && index(name, "median")) value = i
        }
        if (!label) label = 1
        if (!value) { print "no column " (want != "" ? want : "with median in its name") > "/dev/stderr"; exit 1 }
        print $value > (out ".name")
        next
    }
    NF > 1 { gsub(/"/, "", $label); printf "\"%s\"\t%s\n", $label, $value > out }
' "$work/in.csv"
[[ -s $work/bars.tsv ]] || { echo "$0: no data rows" >&2; exit 1; }
[[ -n $ylabel ]] || ylabel=$(cat "$work/bars.tsv.name")

mkdir -p "$(dirname "$output")"
bars=$(wc -l <"$work/bars.tsv")
gnuplot <<GNUPLOT
set terminal svg size $((260 + 120 * bars)),500 dynamic noenhanced font 'sans,12' background '#ffffff'
set output '$output'
set datafile separator "\t"
set title '$title'
set ylabel '$ylabel'
set style fill solid 0.8 border -1
set boxwidth 0.6
${logscale:-set yrange [0:*]}
set grid ytics
set xtics rotate by -30 left nomirror
set ytics nomirror
set border 3
unset key
set bmargin 9
set rmargin 14
plot '$work/bars.tsv' using 0:2:xtic(1) notitle with boxes lc rgb '#4a7ab0', \
     '' using 0:2:(sprintf('%.1f', \$2)) notitle with labels offset 0,0.7
GNUPLOT
echo "$output"

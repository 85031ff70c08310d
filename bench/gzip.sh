#!/bin/sh
# gzip.sh: reading compressed logs.  The same records as plain files and as
# .json.gz/.log.gz (gzip -6), loaded by bench/bench_load on one core in the
# same run: records per second of each and their ratio (goal: compressed at
# least half the plain rate).
# usage: bench/gzip.sh   (needs ../shared/data or TLPX_DATA)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}
[ -d "$data/nnfusion-roller" ] || { echo "gzip.sh: no data at $data"; exit 77; }
[ -x "$build/bench/bench_load" ] || make -C "$build" bench/bench_load >/dev/null
w=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_gzip.XXXXXX")
trap 'rm -rf "$w"' EXIT
R=$data/nnfusion-roller/artifacts
for s in Table3 Table4 microbenchmark; do cp -r "$R/$s" "$w/plain-$s"; cp -r "$R/$s" "$w/gz-$s"; done
cp -r "$data/crazydemo-tlcbench" "$w/plain-xeon"
cp -r "$data/crazydemo-tlcbench" "$w/gz-xeon"
find "$w"/gz-* -type f \( -name '*.json' -o -name '*.log' \) -exec gzip -6 {} +
args() { echo "K80=$w/$1-Table3 MI50=$w/$1-Table4 V100=$w/$1-microbenchmark Xeon=$w/$1-xeon"; }
echo "plain: $(du -sm "$w"/plain-* | awk '{ s += $1 } END { print s }') MB, gzip: $(du -sm "$w"/gz-* | awk '{ s += $1 } END { print s }') MB"
# shellcheck disable=SC2046
taskset -c 0 "$build/bench/bench_load" $(args plain) >"$w/plain.json"
# shellcheck disable=SC2046
taskset -c 0 "$build/bench/bench_load" $(args gz) >"$w/gz.json"
rate() { sed 's/.*"records": \([0-9]*\).*"load_s": \([0-9.]*\).*/\1 \2/' "$1" | awk '{ printf "%.0f", $1 / $2 }'; }
p=$(rate "$w/plain.json") g=$(rate "$w/gz.json")
printf '%-36s %10s\n' "records loaded per second, plain" "$p"
printf '%-36s %10s\n' "records loaded per second, gzip" "$g"
awk -v p="$p" -v g="$g" 'BEGIN { printf "%-36s %9.2fx  (goal >= 0.50)\n", "gzip / plain", g / p }'

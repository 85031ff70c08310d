#!/bin/sh
# store.sh: packed stores at scale (bench/bench_store.c): the pack rate, and
# the open time and resident bytes per record of stores of the shared
# records and of about 1 M and 8.6 M records (the shared records repeated),
# beside the JSON parse of as many records (the peer).
# usage: bench/store.sh   (needs ../shared/data or TLPX_DATA; ~2 GB of disk in TMPDIR)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}
[ -d "$data/nnfusion-roller" ] || { echo "store.sh: no data at $data"; exit 77; }
[ -x "$build/bench/bench_store" ] || make -C "$build" bench/bench_store >/dev/null
w=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_store.XXXXXX")
trap 'rm -rf "$w"' EXIT
R=$data/nnfusion-roller/artifacts
taskset -c 0 "$build/bench/bench_store" "$w" "K80=$R/Table3" "MI50=$R/Table4" "V100=$R/microbenchmark" \
    "Xeon=$data/crazydemo-tlcbench"

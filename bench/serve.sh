#!/bin/sh
# serve.sh: tlpx serve's scoring rate against tlpx predict's on the same
# records, same model and threads, in one run: the 25,176 K80 records of
# ../shared/data sent as Ansor sends them (predict requests of 2,048 lines:
# parse, tokens, the networks, the answer) beside `tlpx predict` of the
# same file (load, tokens, the networks, the TSV).  Goal (issue 25): serve
# scores at the network's rate, within 20% of predict's records/s.
# usage: bench/serve.sh [THREADS]   (needs ../shared/data or TLPX_DATA)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}
t=${1:-2}
[ -d "$data/nnfusion-roller" ] || { echo "serve.sh: no data at $data"; exit 77; }
w=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_serve.XXXXXX")
trap 'rm -rf "$w"' EXIT
T="$build/tlpx" M="$top/assets/mtl-gpu.tlpx"
find "$data/nnfusion-roller/artifacts/Table3" -type f -name '*.log' | sort | xargs cat | grep '^{' >"$w/k80.json"
n=$(wc -l <"$w/k80.json")
awk -v B=2048 -v n="$n" '(NR - 1) % B == 0 { r = n - NR + 1; print "predict " (r < B ? r : B) " K80" } { print }' \
    "$w/k80.json" >"$w/req"
secs() { s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'; }
printf '%-44s %8s %10s\n' "$n K80 records, $t threads" seconds records/s
for rep in 1 2; do
    p=$(secs "$T" predict "$M" "K80=$w/k80.json" --head K80 -j "$t" -q)
    s=$(secs sh -c "'$T' serve '$M' -j $t -q <'$w/req'")
    awk -v n="$n" -v p="$p" -v s="$s" 'BEGIN {
        printf "%-44s %8.2f %10.0f\n", "tlpx predict (one file)", p, n / p
        printf "%-44s %8.2f %10.0f   %.2fx predict'"'"'s rate\n", "tlpx serve (predict requests of 2,048)", s, n / s, p / s }'
done
"$T" serve "$M" -j "$t" -q <"$w/req" | grep -c '^ok 2048$\|^ok [0-9]*$' | awk -v want="$(grep -c '^predict' "$w/req")" \
    '{ if ($1 != want) { print "serve.sh: " $1 " answers to " want " requests"; exit 1 } }'

#!/bin/sh
# e2e.sh: `tlpx predict` and `tlpx eval` end to end (load, gather, network,
# sort, print) against the network alone (bench/bench_net, inference of GPU
# shapes, batch 512), in the same run and at the same thread count, on the
# 25,176 K80 records of ../shared/data, read as JSON and from a packed store.
# Goal: end to end at >= 90% of the network's own rate.  Then predict on
# the K80 and Xeon stores with every padding row computed (--exact-padding,
# TLP's computation) and with the padding once, in the same run (issue 24),
# and one epoch of training each way.
# usage: bench/e2e.sh [THREADS]   (needs ../shared/data or TLPX_DATA)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}
t=${1:-2}
[ -d "$data/nnfusion-roller" ] || { echo "e2e.sh: no data at $data"; exit 77; }
[ -x "$build/bench/bench_net" ] || make -C "$build" bench/bench_net >/dev/null
w=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_e2e.XXXXXX")
trap 'rm -rf "$w"' EXIT
K80="K80=$data/nnfusion-roller/artifacts/Table3" M="$top/assets/mtl-gpu.tlpx" T="$build/tlpx"
"$T" pack "$K80" --out "$w/k80.pack" -q
n=$("$T" stats "$w/k80.pack" | sed -n '1s/.* tasks, \([0-9]*\) records.*/\1/p')
secs() { # the wall seconds of a command, output discarded
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
row() { awk -v w="$1" -v n="$n" -v s="$2" -v net="$3" \
    'BEGIN { r = n / s; printf "%-28s %8.2f %10.0f %8.0f%%\n", w, s, r, 100 * r / net }'; }
printf '%-28s %8s %10s %9s\n' "$n records, $t threads" seconds "records/s" "of net"
for rep in 1 2; do
    net=$(OPENBLAS_NUM_THREADS=$t "$build/bench/bench_net" "$t" 3 | sed -n 's/^infer_cpu_40x20_b512 samples_per_s=\([0-9.]*\).*/\1/p')
    printf '%-28s %8s %10.0f %8s\n' "network alone (bench_net)" - "$net" "100%"
    row "predict, JSON" "$(secs "$T" predict "$M" "$K80" --head K80 -j "$t" -q)" "$net"
    row "predict, store" "$(secs "$T" predict "$M" "$w/k80.pack" --head K80 -j "$t" -q)" "$net"
    row "eval, JSON" "$(secs "$T" eval "$M" "$K80" -j "$t" -q)" "$net"
    row "eval, store" "$(secs "$T" eval "$M" "$w/k80.pack" -j "$t" -q)" "$net"
done
X="Xeon=$data/crazydemo-tlcbench" XM="$top/assets/xeon-cpu.tlpx"
"$T" pack "$X" --out "$w/xeon.pack" -q
printf '\n%-28s %8s %8s %8s\n' "predict, $t threads" padded once speedup
for rep in 1 2; do
    for pair in "K80 store|$M|$w/k80.pack|--head K80" "Xeon store|$XM|$w/xeon.pack|"; do
        name=${pair%%|*} rest=${pair#*|}; model=${rest%%|*}; rest=${rest#*|}; store=${rest%%|*}; extra=${rest#*|}
        a=$(secs "$T" predict "$model" "$store" $extra --exact-padding -j "$t" -q)
        b=$(secs "$T" predict "$model" "$store" $extra -j "$t" -q)
        awk -v w="$name" -v a="$a" -v b="$b" 'BEGIN { printf "%-28s %8.2f %8.2f %7.2fx\n", w, a, b, a / b }'
    done
done
# training: one epoch of one network (log tokens, recipe tlpx's batch) on two of three folds of
# each store, every padding row computed (--padding exact, TLP's) and once (--padding once)
printf '\n%-28s %8s %8s %8s\n' "train 1 epoch, $t threads" padded once speedup
for rep in 1 2; do
    for name in K80 Xeon; do
        store=$w/k80.pack; [ $name = Xeon ] && store=$w/xeon.pack
        a=$(secs "$T" train "$store" --except-fold 1/3 --encode log --epochs 1 --padding exact -j "$t" -q --out "$w/t.tlpx")
        b=$(secs "$T" train "$store" --except-fold 1/3 --encode log --epochs 1 --padding once -j "$t" -q --out "$w/t.tlpx")
        awk -v w="$name store" -v a="$a" -v b="$b" 'BEGIN { printf "%-28s %8.2f %8.2f %7.2fx\n", w, a, b, a / b }'
    done
done
echo "goals (issue 24): the padding once at least 1.2x on the K80 records, 1.35x on the Xeon's"

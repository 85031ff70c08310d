#!/bin/sh
# net.sh: the network benchmark.  PyTorch (../shared/peers/tlp_torch.py --bench,
# Debian's python3-torch) and tlpx (bench/bench_net) in the same run, same
# thread counts (1 and 2), then a table of samples/s with the ratios: full
# rows, and schedules of real lengths with TLP's padded computation and with
# the padding computed once.
# usage: bench/net.sh [SECONDS]
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
secs=${1:-3}
peer=${TLPX_PEERS:-$top/../shared/peers}/tlp_torch.py
[ -f "$peer" ] || { echo "net.sh: no peer at $peer"; exit 77; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "net.sh: the peer needs Debian's python3-torch (apt-get install python3-torch)"; exit 77; }
[ -x "$build/bench/bench_net" ] || make -C "$build" bench/bench_net >/dev/null
out=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_net.XXXXXX")
trap 'rm -rf "$out"' EXIT
# the shared records' features too, when ../shared/data is here: the Xeon's for 25x22, K80's for 40x20
data=${TLPX_DATA:-$top/../shared/data}
if [ -d "$data/nnfusion-roller" ]; then
    "$build/tlpx" pack "Xeon=$data/crazydemo-tlcbench" --out "$out/cpu.pack" -q &&
        "$build/tlpx" pack "K80=$data/nnfusion-roller/artifacts/Table3" --out "$out/gpu.pack" -q &&
        export TLPX_BENCH_CPU="$out/cpu.pack" TLPX_BENCH_GPU="$out/gpu.pack"
fi
for t in 1 2; do
    echo "== threads $t"
    OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$peer" --bench --threads $t --seconds "$secs" | tee "$out/torch$t"
    OPENBLAS_NUM_THREADS=$t "$build/bench/bench_net" $t "$secs" | tee "$out/tlpx$t"
done
echo
printf '%-32s %8s %12s %12s %8s %10s\n' figure threads pytorch tlpx ratio peak-frac
for t in 1 2; do
    for f in infer_cpu_25x22_b512 infer_cpu_40x20_b512 train_cpu_25x22_b1024 train_cpu_40x20_b1024; do
        for v in "" _real _real_once _records _records_once; do
            p=$(sed -n "s/^$f samples_per_s=\([0-9.]*\).*/\1/p" "$out/torch$t") # the peer computes every row whatever they hold
            c=$(sed -n "s/^$f$v samples_per_s=\([0-9.]*\).*/\1/p" "$out/tlpx$t")
            [ -n "$c" ] || continue
            pf=$(sed -n "s/^$f$v .*peak_fraction=\([0-9.]*\).*/\1/p" "$out/tlpx$t")
            awk -v f="$f$v" -v t="$t" -v p="$p" -v c="$c" -v pf="${pf:--}" \
                'BEGIN { printf "%-32s %8s %12.0f %12.0f %7.2fx %10s\n", f, t, p, c, (p > 0 ? c / p : 0), pf }'
        done
        for v in real records; do
            a=$(sed -n "s/^${f}_$v samples_per_s=\([0-9.]*\).*/\1/p" "$out/tlpx$t")
            b=$(sed -n "s/^${f}_${v}_once samples_per_s=\([0-9.]*\).*/\1/p" "$out/tlpx$t")
            [ -n "$a" ] && awk -v v="$v" -v a="$a" -v b="$b" \
                'BEGIN { printf "%-32s %8s %38.2fx the padding once over padded (%s)\n", "", "", (a > 0 ? b / a : 0), v }'
        done
    done
done
grep sgemm "$out/tlpx1" "$out/tlpx2" | sed 's/.*://'
echo "_real: samples of real lengths (K80 22-40 steps, mean 31; Xeon 11-25, mean 18), the rest zero padding;"
echo "  tlpx computes every padding row (TLP), _real_once once; the peer computes every row either way"
echo "_records: the shared records' features (Xeon 25x22, K80 40x20; inference on 512 in order, training on"
echo "  1024 at random); _records_once: the padding once, the layers before attention on the distinct rows"
echo "goals: inference >= 2x PyTorch, training >= 1.5x PyTorch; the padding once >= 1.2x (40x20), 1.35x (25x22)"

#!/bin/sh
# net.sh: the network benchmark.  PyTorch (../shared/peers/tlp_torch.py --bench,
# Debian's python3-torch) and tlpx (bench/bench_net) in the same run, same
# thread counts (1 and 2), then a table of samples/s with the ratios.
# usage: bench/net.sh [SECONDS]
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
secs=${1:-3}
peer=${TLPX_PEERS:-$top/../shared/peers}/tlp_torch.py
[ -f "$peer" ] || { echo "net.sh: no peer at $peer"; exit 77; }
[ -x "$build/bench/bench_net" ] || make -C "$build" bench/bench_net >/dev/null
out=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_net.XXXXXX")
trap 'rm -rf "$out"' EXIT
for t in 1 2; do
    echo "== threads $t"
    OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$peer" --bench --threads $t --seconds "$secs" | tee "$out/torch$t"
    OPENBLAS_NUM_THREADS=$t "$build/bench/bench_net" $t "$secs" | tee "$out/tlpx$t"
done
echo
printf '%-24s %8s %12s %12s %8s %10s\n' figure threads pytorch tlpx ratio peak-frac
for t in 1 2; do
    for f in infer_cpu_25x22_b512 infer_cpu_40x20_b512 train_cpu_25x22_b1024 train_cpu_40x20_b1024; do
        p=$(sed -n "s/^$f samples_per_s=\([0-9.]*\).*/\1/p" "$out/torch$t")
        c=$(sed -n "s/^$f samples_per_s=\([0-9.]*\).*/\1/p" "$out/tlpx$t")
        pf=$(sed -n "s/^$f .*peak_fraction=\([0-9.]*\).*/\1/p" "$out/tlpx$t")
        awk -v f="$f" -v t="$t" -v p="$p" -v c="$c" -v pf="$pf" \
            'BEGIN { printf "%-24s %8s %12.0f %12.0f %7.2fx %10s\n", f, t, p, c, (p > 0 ? c / p : 0), pf }'
    done
done
grep sgemm "$out/tlpx1" "$out/tlpx2" | sed 's/.*://'
echo "goals: inference >= 2x PyTorch, training >= 1.5x PyTorch"

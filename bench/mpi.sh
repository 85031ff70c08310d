#!/bin/sh
# mpi.sh: training samples/s in one process and over MPI ranks (a build
# --with-mpi), on the same store, batch and seed, in the same run: 1 process
# x 1 thread, 1 process x 2 threads, 2 ranks x 1 thread (oversubscribed on
# a 2-core machine); and whether the models are the same bytes.
# usage: bench/mpi.sh [EPOCHS]   (needs the committed assets/roller records)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
T="$build/tlpx" ep=${1:-1}
"$T" --version | grep -q "with MPI" || { echo "mpi.sh: tlpx built without MPI (./bootstrap --with-mpi)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
w=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_mpi.XXXXXX")
trap 'rm -rf "$w"' EXIT
"$T" pack "K80=$top/assets/roller/K80" "V100=$top/assets/roller/V100" --out "$w/d.pack" -q
args="$w/d.pack --heads K80,V100 --epochs $ep --batch 512 --seed 1"
rate() { sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p' "$1" | tail -1; }
"$T" train $args -j 1 --out "$w/a.tlpx" 2>"$w/a.log"
"$T" train $args -j 2 --out "$w/b.tlpx" 2>"$w/b.log"
mpirun -np 2 "$T" train $args -j 1 --out "$w/c.tlpx" 2>"$w/c.log"
printf '%-28s %10s\n' "training, K80+V100 (MTL)" "samples/s"
printf '%-28s %10s\n' "1 process x 1 thread" "$(rate "$w/a.log")"
printf '%-28s %10s\n' "1 process x 2 threads" "$(rate "$w/b.log")"
printf '%-28s %10s\n' "2 ranks x 1 thread (MPI)" "$(rate "$w/c.log")"
cmp -s "$w/a.tlpx" "$w/c.tlpx" && cmp -s "$w/b.tlpx" "$w/c.tlpx" && echo "the three models: the same bytes" ||
    echo "the models DIFFER"

#!/bin/sh
# mpi.sh: data-parallel training (a build --with-mpi) on localhost, ranks
# oversubscribed: `mpirun -np N tlpx train` writes the same model bytes as
# one process with the same batch and seed, rank 0 alone reports and writes,
# and a rank that fails ends the job with a message, the last model whole.
# Skips when tlpx was built without MPI or mpirun is missing, unless
# TLPX_REQUIRE_MPI is set (CI's MPI build): then that is an error.
. "${top_srcdir:-.}/tests/lib.sh"
skip() {
    [ -z "${TLPX_REQUIRE_MPI:-}" ] || { echo "Bail out! $1, and TLPX_REQUIRE_MPI is set"; exit 1; }
    echo "1..0 # SKIP $1"
    exit 0
}
"$TLPX" --version | grep -q "with MPI" || skip "tlpx built without MPI (./bootstrap --with-mpi)"
command -v mpirun >/dev/null || skip "no mpirun"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
F="$top_srcdir/tests/fixtures/train"
D="$F/hw-a $F/hw-b $F/cpu-c" # each folder names its hardware (paths without blanks)
args="$D --mode gpu --epochs 2 --batch 128 --seed 5 -j 1"
mpi() { timeout 300 mpirun -np "$@"; }

check "one process trains" status 0 "$TLPX" train $args --out "$T/one.tlpx"
for np in 2 3; do
    check "mpirun -np $np trains" status 0 mpi $np "$TLPX" train $args --out "$T/np$np.tlpx"
    check "the same model bytes on $np ranks as in one process" cmp "$T/one.tlpx" "$T/np$np.tlpx"
    check "rank 0 alone reports" test "$(grep -c '^network 1/2 (log) epoch 1/2' "$T/err")" = 1
done
"$TLPX" eval "$T/one.tlpx" $D >"$T/e1" 2>&1
"$TLPX" eval "$T/np2.tlpx" $D 2>&1 | sed "s|np2.tlpx|one.tlpx|" >"$T/e2"
check "eval prints the same lines for both" cmp -s "$T/e1" "$T/e2"
check "and scored tasks" grep -q "top-1" "$T/e1"
# resuming over ranks continues as one process does (one network: an
# ensemble's resume keeps its epochs)
check "one process trains a network" status 0 "$TLPX" train $args --encode log --out "$T/log.tlpx"
check "mpirun -np 2 trains one epoch" status 0 mpi 2 "$TLPX" train $args --encode log --epochs 1 --out "$T/half.tlpx"
check "mpirun -np 2 resumes it to two" status 0 mpi 2 "$TLPX" train $args --resume "$T/half.tlpx" --epochs 2 --out "$T/res.tlpx"
"$TLPX" predict "$T/log.tlpx" $D --head hw-a >"$T/p1" 2>/dev/null
"$TLPX" predict "$T/res.tlpx" $D --head hw-a >"$T/p2" 2>/dev/null
check "its predictions are those of the uninterrupted run" cmp -s "$T/p1" "$T/p2"
check "which predicted records" test "$(wc -l <"$T/p1")" -gt 100
# a rank that cannot read its data: the job ends (no hang) with a message
check "a failing rank ends the job" sh -c "! timeout 120 mpirun -np 2 sh -c 'if [ \"\$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec \"$TLPX\" train $T/none --out $T/np2.tlpx; else exec \"$TLPX\" train $args --epochs 50 --out $T/np2.tlpx; fi' >$T/out 2>$T/err"
check "saying which rank failed" grep -q "rank 1 of 2 failed" "$T/err"
check "the model written before is whole" sh -c "\"$TLPX\" eval '$T/np2.tlpx' $D >/dev/null 2>&1"
tap_end

#!/bin/sh
# accuracy.sh: TLP vs MTL-TLP on the shared GPU data with held-out tasks.
# Every 5th task (by file name, the same file on K80, V100 and MI50) is held
# out; the rest trains.  Then: K80 alone (pairs over the batch), K80 alone
# (pairs within a task), and MTL with K80 as the target and V100 and MI50 as
# auxiliary heads; each scored on the held-out K80 tasks (top-1, top-5).
# usage: bench/accuracy.sh [EPOCHS] [THREADS]    (needs ../shared/data)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}/nnfusion-roller/artifacts
epochs=${1:-10}
threads=${2:-2}
[ -d "$data" ] || { echo "accuracy.sh: no data at $data"; exit 77; }
w=${ACC_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/tlpx_acc.XXXXXX")}
mkdir -p "$w"
# the split: held out = every 5th K80 file name, normalised for the MI50 padding spelling
for hw in K80:Table3 V100:microbenchmark MI50:Table4; do
    name=${hw%%:*}; dir=$data/${hw#*:}/tvm/ansor
    mkdir -p "$w/train/$name" "$w/test/$name"
    find "$dir" -name '*.log' | sort | while read -r f; do
        key=$(basename "$f" .log | sed -e 's/_SAME$//' -e 's/_VALID$//' -e 's/_[01]$//')
        echo "$key $f"
    done > "$w/$name.files"
done
cut -d' ' -f1 "$w/K80.files" | sort -u | awk 'NR % 5 == 0' > "$w/heldout.keys"
for name in K80 V100 MI50; do
    while read -r key f; do
        if grep -qx "$key" "$w/heldout.keys"; then ln -sf "$f" "$w/test/$name/"; else ln -sf "$f" "$w/train/$name/"; fi
    done < "$w/$name.files"
done
echo "held-out tasks: $(wc -l < "$w/heldout.keys"); train files: $(ls "$w/train/K80" | wc -l) K80, $(ls "$w/train/V100" | wc -l) V100, $(ls "$w/train/MI50" | wc -l) MI50"
T="$build/tlpx"
run() { # name, train args...
    n=$1; shift
    start=$(date +%s)
    "$T" train -q "$@" --epochs "$epochs" --threads "$threads" --seed 0 --out "$w/$n.tlpx"
    end=$(date +%s)
    printf '%-22s ' "$n"
    "$T" eval -q "$w/$n.tlpx" "K80=$w/test/K80" --head K80 | grep '^head' | sed 's/^head K80: //' | tr '\n' ' '
    echo "($((end - start)) s)"
}
echo "epochs $epochs, threads $threads; scores on the held-out K80 tasks:"
run k80-batch-pairs "K80=$w/train/K80" --pairs batch
run k80-task-pairs "K80=$w/train/K80" --pairs task
run mtl-k80+v100+mi50 "K80=$w/train/K80" "V100=$w/train/V100" "MI50=$w/train/MI50" --heads K80,V100,MI50

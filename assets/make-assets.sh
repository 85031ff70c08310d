#!/bin/sh
# make-assets.sh: rebuild the embedded default (`make assets`) from
# ../shared/data: a curated slice of the MIT-licensed Roller records (K80,
# V100, MI50), gzip'd byte for byte, and the models tlpx trains on all of the
# shared data.  The same data gives the same bytes: the selection is a fixed
# rule, gzip runs with -n (no name, no time), and training is deterministic
# for a seed on any number of threads.
#
# usage: assets/make-assets.sh [--data-only] [--epochs N] [--out DIR]
#   --data-only  the records only (seconds), not the models (about an hour on 2 cores)
#   --out DIR    write there instead of assets/ (tests rebuild into a scratch dir)
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
T=${TLPX:-${top_builddir:-$top}/tlpx}
data=${TLPX_DATA:-$top/../shared/data}
out=$here data_only=0 epochs=10 seed=0 only=""
while [ $# -gt 0 ]; do
    case $1 in
    --data-only) data_only=1 ;;
    --epochs) epochs=$2; shift ;;
    --out) out=$2; shift ;;
    --only) only=$2; shift ;; # tests: a few tasks per op
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    esac
    shift
done
R=$data/nnfusion-roller/artifacts
[ -d "$R" ] || { echo "make-assets.sh: no Roller records at $R"; exit 77; }

# ---------------------------------------------------------------- the records
# A task is one file per GPU; the three GPUs name a file alike but for the
# padding suffix (_SAME/_VALID/_0/_1), so the key is the name without it.
# Kept: the tasks measured on all three GPUs, per operator the given count
# spread evenly over the sorted keys.
list() { # list GPUDIR: "op/key file" lines; conv, depthwise and pooling names end in the padding
    (cd "$R/$1/tvm/ansor" && find . -name '*.log' | sed 's|^\./||' | sort) |
        sed -E 's#^((conv|depthwise|pooling)/(.*)_(SAME|VALID|[0-9])\.log)$#\2/\3 \1#; t; s#^(([a-z]+)/(.*)\.log)$#\2/\3 \1#'
}
w=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_assets.XXXXXX")
trap 'rm -rf "$w"' EXIT
list Table3 >"$w/K80"
list microbenchmark >"$w/V100"
list Table4 >"$w/MI50"
cut -d' ' -f1 "$w/K80" | sort >"$w/k1"
cut -d' ' -f1 "$w/V100" | sort >"$w/k2"
cut -d' ' -f1 "$w/MI50" | sort >"$w/k3"
comm -12 "$w/k1" "$w/k2" | comm -12 - "$w/k3" >"$w/common"
: >"$w/chosen"
for spec in ${only:-conv:8 depthwise:6 pooling:4 matmul:4 elementwise:3 reduction:1}; do
    op=${spec%%:*} k=${spec#*:}
    grep "^$op/" "$w/common" >"$w/op" || true
    n=$(wc -l <"$w/op")
    [ "$n" -gt 0 ] || continue
    [ "$k" -gt "$n" ] && k=$n
    # indices 0, n/k, 2n/k, ... (integer): evenly spread, the same every time
    awk -v n="$n" -v k="$k" 'BEGIN { for (i = 0; i < k; i++) want[int(i * n / k) + 1] = 1 } NR in want' "$w/op" >>"$w/chosen"
done
rm -rf "$out/roller"
for gpu in K80 V100 MI50; do
    case $gpu in K80) dir=Table3 ;; V100) dir=microbenchmark ;; MI50) dir=Table4 ;; esac
    while read -r key; do
        f=$(awk -v k="$key" '$1 == k { print $2 }' "$w/$gpu")
        mkdir -p "$out/roller/$gpu/$(dirname "$f")"
        gzip -n -9 -c "$R/$dir/tvm/ansor/$f" >"$out/roller/$gpu/$f.gz"
    done <"$w/chosen"
done
cp "$data/nnfusion-roller/LICENSE" "$out/roller/LICENSE"
tasks=$(wc -l <"$w/chosen")
records=$(for gpu in K80 V100 MI50; do zcat "$out/roller/$gpu"/*/*.gz; done | grep -c '^{')
echo "make-assets.sh: $tasks tasks on K80, V100 and MI50, $records records, $(du -sk "$out/roller" | cut -f1) KB"
cut -d' ' -f1 "$w/chosen" >"$out/roller/TASKS"
[ "$data_only" = 1 ] && exit 0

# ---------------------------------------------------------------- the models
# Trained with the default recipe, weights only, on all of ../shared/data but
# the tasks chosen above: so what the explorer shows on its default data is
# how the model ranks tasks it has not seen.  (--only, for tests: on the
# slice itself, and no CPU model.)  The training tree is a tree of symlinks
# with fixed relative names, so the note each model keeps (its command line)
# is the same wherever the sources are.
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
if [ -n "$only" ]; then
    ln -s "$out/roller" "$w/roller"
    G="K80=roller/K80 V100=roller/V100 MI50=roller/MI50"
else
    for gpu in K80 V100 MI50; do
        case $gpu in K80) dir=Table3 ;; V100) dir=microbenchmark ;; MI50) dir=Table4 ;; esac
        cut -d' ' -f2 "$w/$gpu" | while read -r f; do
            [ -e "$out/roller/$gpu/$f.gz" ] && continue # shown by default: held out
            mkdir -p "$w/roller-unshown/$gpu/$(dirname "$f")"
            ln -s "$R/$dir/tvm/ansor/$f" "$w/roller-unshown/$gpu/$f"
        done
    done
    ln -s "$data/crazydemo-tlcbench" "$w/crazydemo-tlcbench"
    G="K80=roller-unshown/K80 V100=roller-unshown/V100 MI50=roller-unshown/MI50"
fi
case $T in /*) ;; *) T=$(pwd)/$T ;; esac
cd "$w"
t0=$(date +%s)
# --padding exact: the shipped models were trained with every padding row computed (recipe tlpx's
# default before 2026-12-07); the same bytes need the same computation
# shellcheck disable=SC2086
"$T" train $G --heads K80,V100,MI50 --epochs "$epochs" --seed "$seed" --padding exact --weights-only \
    --out "$out/mtl-gpu.tlpx" -q
[ -n "$only" ] || "$T" train Xeon=crazydemo-tlcbench --epochs "$epochs" --seed "$seed" --padding exact --weights-only \
    --out "$out/xeon-cpu.tlpx" -q
echo "make-assets.sh: models $(cd "$out" && ls -s ./*.tlpx | awk '{ printf "%s ", $0 }')in $(($(date +%s) - t0)) s"

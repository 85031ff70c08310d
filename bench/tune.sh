#!/bin/sh
# tune.sh: tune real tasks on this machine's CPU with Ansor (TVM v0.18.0), three
# cost models side by side: TVM's XGBModel, RandomModel, and tlpx (the
# embedded CPU model as the prior, its head for this machine learning online
# from the search's own measurements through `tlpx serve`).  Prints per task
# the best latency after 64, 128, 256, ... trials, the trials tlpx needs to
# reach XGBoost's final best (and the reverse), their geometric mean, and the
# share of wall time spent in the cost model; keeps TVM's tuning logs in DIR.
# Then trains a head for this CPU from those logs (few-shot MTL beside the
# shipped Xeon records when ../shared/data has them), reports its
# cross-validated top-1 on them against the shipped model's and a model of
# the local records alone, and leaves the head trained on all of them in
# DIR/head/local.tlpx, the next tuning's prior (--model).
#
# usage: bench/tune.sh [--quick] [--tasks T,T] [--models xgb,random,tlpx]
#            [--seeds 0,1] [--trials N] [--dir DIR] [--target "llvm -mcpu=..."]
#            [--model M.tlpx [--head HW]] [--score softplus|exp] [--report]
#   (default)  6 tasks (ResNet-18 conv2d layers 2-5, a MobileNet depthwise
#              conv2d, ResNet-50's dense), 256 trials, 2 seeds, 3 models:
#              hours on 2 cores (a trial builds and runs a program)
#   --quick    one task (ResNet-18 layer3 conv2d), 64 trials, seed 0, XGBoost
#              and tlpx: about 10 minutes once TVM is built
#   --model    tlpx's prior (default: the embedded CPU model, assets/xeon-cpu.tlpx;
#              a head for this machine that an earlier run made: DIR/head/local.tlpx
#              with --head local); --head: the head that scores first
#   --score    how tlpx's scores become Ansor's (TlpxModel score=; softplus)
#   --report   the report of DIR's finished searches only
# A search already finished in DIR is kept (run again to go on after a stop).
# Needs TVM built by bench/tvm/setup.sh (exit 77 without it).
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}
tasks=r18_c2,r18_c3,r18_c4,r18_c5,mb_dw,r50_fc models=xgb,random,tlpx seeds=0,1 trials=256
dir=${TMPDIR:-/tmp}/tlpx-tune target="llvm -mcpu=native" only_report=0
model=$top/assets/xeon-cpu.tlpx head="" score=softplus
while [ $# -gt 0 ]; do
    case $1 in
    --quick) tasks=r18_c4 models=xgb,tlpx seeds=0 trials=64 ;;
    --tasks) tasks=$2; shift ;;
    --models) models=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --trials) trials=$2; shift ;;
    --dir) dir=$2; shift ;;
    --target) target=$2; shift ;;
    --model) model=$2; shift ;;
    --head) head=$2; shift ;;
    --score) score=$2; shift ;;
    --report) only_report=1 ;;
    -h|--help) sed -n '2,/^top=/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "tune.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done
cache=$("$top/bench/tvm/setup.sh" --check 2>/dev/null) || {
    echo "tune.sh: no TVM build (run bench/tvm/setup.sh once: it builds TVM v0.18.0 into a cache)"; exit 77; }
. "$cache/env.sh"
T="$build/tlpx"
[ -x "$T" ] || { echo "tune.sh: no tlpx at $T (make first)"; exit 1; }
export TLPX="$T" TVM_NUM_THREADS=${TVM_NUM_THREADS:-$(nproc)}
py=/usr/bin/python3
if [ $only_report = 0 ]; then
    $py "$top/bench/tvm/tune.py" run --dir "$dir" --tasks "$tasks" --models "$models" --seeds "$seeds" \
        --trials "$trials" --target "$target" --tlpx "$T" --model "$model" ${head:+--head "$head"} \
        --score "$score" || exit 1
fi
$py "$top/bench/tvm/tune.py" report --dir "$dir" || exit 1

# A head for this machine from its own measurements: cross-validated top-1
# (3 folds by task where there are 3 tasks or more) of the shipped model, of a
# model of the local records alone, and of MTL with the shipped CPU records.
logs=$(ls "$dir"/*.s[0-9]*.json 2>/dev/null | grep -v '\.serve\.json$')
ntask=$(ls $logs 2>/dev/null | sed 's|.*/||; s|\..*||' | sort -u | wc -l)
if [ "$ntask" -lt 3 ]; then
    printf "\n%s\n" "(a head for this machine needs the logs of 3 tasks or more for 3-fold cross-validation; $ntask here)"
    exit 0
fi
w="$dir/head"
mkdir -p "$w"
# the models are made again only when the logs have changed
cat $logs >"$w/local.new"
fresh=1
if cmp -s "$w/local.new" "$w/local.json" && [ -f "$w/local.tlpx" ]; then fresh=0; else mv "$w/local.new" "$w/local.json"; fi
rm -f "$w/local.new" "$w/alone.body" "$w/mtl.body"
printf "\na head for this machine: 3-fold cross-validation by task on the %s local records\n" "$(wc -l <"$w/local.json")"
printf '%-50s %8s %8s\n' model top-1 top-5
fig() { # fig LABEL SCORES...: mean top-1 and top-5 of the folds' predictions together
    "$T" eval --scores "$w/$2.tsv" "local=$w/local.json" --tsv -q |
        awk -F '\t' -v l="$1" '$4 == "top-1" { t1 = $5; r1 = $8 } $4 == "top-5" { t5 = $5 }
            END { printf "%-50s %8.3f %8.3f   (random order: top-1 %.3f)\n", l, t1, t5, r1 }'
}
"$T" predict "$top/assets/xeon-cpu.tlpx" "local=$w/local.json" --head Xeon -q >"$w/shipped.tsv"
fig "the shipped CPU model (head Xeon)" shipped
aux=""
[ -d "$data/crazydemo-tlcbench" ] && aux="Xeon=$data/crazydemo-tlcbench"
for k in 1 2 3; do
    if [ $fresh = 1 ]; then
        "$T" train "local=$w/local.json" --except-fold $k/3 --out "$w/alone-$k.tlpx" -q -j 2 || exit 1
        "$T" train "local=$w/local.json" $aux --except-fold $k/3 --init "$top/assets/xeon-cpu.tlpx" \
            --out "$w/mtl-$k.tlpx" -q -j 2 || exit 1
    fi
    "$T" predict "$w/alone-$k.tlpx" "local=$w/local.json" --fold $k/3 -q | sed 1d >>"$w/alone.body"
    "$T" predict "$w/mtl-$k.tlpx" "local=$w/local.json" --fold $k/3 --head local -q | sed 1d >>"$w/mtl.body"
done
for m in alone mtl; do { printf 'task\thardware\trecord\tmeasured_cost\tpredicted_score\tpredicted_rank\n'; cat "$w/$m.body"; } >"$w/$m.tsv"; rm -f "$w/$m.body"; done
fig "local records alone (recipe tlpx)" alone
fig "from the shipped model, MTL${aux:+ with the Xeon records}" mtl
# the head from every local record, as the next tuning's prior
if [ $fresh = 1 ]; then
    "$T" train "local=$w/local.json" $aux --init "$top/assets/xeon-cpu.tlpx" --out "$w/local.tlpx" -q -j 2 || exit 1
fi
printf "\nthe head for this machine, from all the local records: %s\n" "$w/local.tlpx"
printf "(the next tuning's prior: TlpxModel(\"%s\", head=\"local\"), or tune.sh --model %s --head local)\n" \
    "$w/local.tlpx" "$w/local.tlpx"

#!/bin/sh
# fewshot.sh: a head for new hardware from a few hundred measurements.
#
# V100 and MI50 play the new hardware, with 250, 500 and 1,000 of their
# records (--budget: random samples of the training folds keep their labels),
# and K80 (all of it) is the well-measured hardware.  Four ways to rank the new
# hardware's programs, each cross-validated by task (3 folds: every model is
# scored on the new hardware's tasks it has not seen):
#   alone     the new hardware's few records alone (recipe tlpx)
#   mtl       MTL-TLP: the few records as the target head, K80 as an auxiliary head
#   finetune  a K80 model, fine-tuned on the few records (--init, a new head)
#   k80       the K80 model as it is (its K80 head ranks the new hardware)
# Figures: mean top-1 and top-5 over tasks per seed, mean [min-max] over seeds.
#
# usage: bench/fewshot.sh [--seeds N] [--first-seed S] [--epochs N] [--budgets "250 500 1000"] [--new "V100 MI50"]
#            [--dir DIR]
# A model file already in DIR (an interrupted run with the same options) is
# kept instead of trained again; --first-seed S runs seeds S.. (to share the
# seeds of one measure among runs: the summary is over every run's rows in
# DIR/fewshot.tsv).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
T="$build/tlpx"
data=${TLPX_DATA:-$top/../shared/data}
R=$data/nnfusion-roller/artifacts
seeds=1 epochs=10 budgets="250 500 1000" news="V100 MI50" dir="" folds=3 seed0=0
while [ $# -gt 0 ]; do
    case $1 in
    --seeds) seeds=$2; shift ;;
    --first-seed) seed0=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --budgets) budgets=$2; shift ;;
    --new) news=$2; shift ;;
    --dir) dir=$2; shift ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    esac
    shift
done
[ -d "$R" ] || { echo "fewshot.sh: no data at $R"; exit 77; }
dir=${dir:-$(mktemp -d "${TMPDIR:-/tmp}/tlpx_fewshot.XXXXXX")}
mkdir -p "$dir"
path_of() { case $1 in K80) echo "K80=$R/Table3" ;; V100) echo "V100=$R/microbenchmark" ;; MI50) echo "MI50=$R/Table4" ;; esac; }
K=$(path_of K80)
res="$dir/fewshot.tsv" # every run in DIR adds its rows (one per seed): the summary is over all of them
[ -s "$res" ] || printf 'new\tbudget\tconfig\tseed\ttop1\ttop5\n' >"$res"
score() { # score NEW BUDGET CONFIG SEED PRED: the figures of PRED on NEW's data
    row=$("$T" eval --scores "$5" "$(path_of "$1")" --tsv -q |
        awk -F '\t' -v n="$1" -v b="$2" -v c="$3" -v s="$4" '$4 == "top-1" { t1 = $5 } $4 == "top-5" { t5 = $5 }
            END { printf "%s\t%s\t%s\t%s\t%s\t%s\n", n, b, c, s, t1, t5 }')
    # a seed scored again (a run gone on in DIR) replaces its row, so no seed counts twice
    awk -F '\t' -v n="$1" -v b="$2" -v c="$3" -v s="$4" '!($1 == n && $2 == b && $3 == c && $4 == s)' "$res" >"$res.part"
    printf '%s\n' "$row" >>"$res.part"
    mv "$res.part" "$res"
    tail -n 1 "$res" | awk -F '\t' '{ printf "  %-5s %5s %-9s seed %s: top-1 %.4f  top-5 %.4f\n", $1, $2, $3, $4, $5, $6 }'
}
s=$seed0
while [ "$s" -lt $((seed0 + seeds)) ]; do
    # one K80 model per fold and seed, for finetune and k80
    for k in $(seq 1 "$folds"); do
        [ -f "$dir/k80-f$k-s$s.tlpx" ] || "$T" train "$K" --except-fold "$k/$folds" --epochs "$epochs" --seed "$s" \
            --weights-only --out "$dir/k80-f$k-s$s.tlpx" -q
    done
    for new in $news; do
        N=$(path_of "$new")
        : >"$dir/$new-k80-s$s.tsv"
        for k in $(seq 1 "$folds"); do
            "$T" predict "$dir/k80-f$k-s$s.tlpx" "$N" --fold "$k/$folds" --head K80 -q | tail -n +2 >>"$dir/$new-k80-s$s.tsv"
        done
        score "$new" all k80 "$s" "$dir/$new-k80-s$s.tsv"
        for b in $budgets; do
            for c in alone mtl finetune; do
                pred="$dir/$new-$b-$c-s$s.tsv"
                : >"$pred"
                for k in $(seq 1 "$folds"); do
                    m="$dir/$new-$b-$c-f$k-s$s.tlpx"
                    case $c in
                    alone) set -- "$N" ;;
                    mtl) set -- "$N" "$K" --heads "$new,K80" ;;
                    finetune) set -- "$N" --init "$dir/k80-f$k-s$s.tlpx" ;;
                    esac
                    [ -f "$m" ] || "$T" train "$@" --budget "$b" --except-fold "$k/$folds" --epochs "$epochs" \
                        --seed "$s" --weights-only --out "$m" -q
                    "$T" predict "$m" "$N" --fold "$k/$folds" --head "$new" -q | tail -n +2 >>"$pred"
                done
                score "$new" "$b" "$c" "$s" "$pred"
            done
        done
    done
    s=$((s + 1))
done
echo
echo "new hardware: mean top-1 / top-5 over its tasks the models did not see, $folds folds, every seed in $res [min-max]"
awk -F '\t' 'NR > 1 {
    k = $1 SUBSEP $2 SUBSEP $3
    if (!(k in n)) order[++m] = k
    n[k]++; s1[k] += $5; s5[k] += $6
    if (!(k in lo) || $5 < lo[k]) lo[k] = $5
    if (!(k in hi) || $5 > hi[k]) hi[k] = $5
}
END {
    printf "%-5s %6s %-9s %-22s %s\n", "new", "budget", "how", "top-1", "top-5"
    for (i = 1; i <= m; i++) {
        k = order[i]; split(k, p, SUBSEP)
        printf "%-5s %6s %-9s %.3f [%.3f-%.3f]   %.3f\n", p[1], p[2], p[3], s1[k] / n[k], lo[k], hi[k], s5[k] / n[k]
    }
}' "$res"
echo "figures in $res"

#!/bin/sh
# quality.sh: how well models rank programs of tasks they have not seen.
#
# Cross-validation by task on ../shared/data: the tasks of one hardware are cut
# into N folds by their canonical workload key (tlpx --fold K/N), a model is
# trained on all folds but K and predicts fold K, for every K; the predictions
# of the N models together score every task once (tlpx eval --scores), so each
# seed gives one figure over all the tasks.  Repeated over seeds: mean and
# spread (min-max).  Beside tlpx's recipes: the random order (exact), and the
# PyTorch peer (../shared/peers/tlp_torch_train.py, TLP's training loop) on the
# same folds and seeds: "raw" is TLP's recipe (raw tokens, 10% of the records
# for validation, the epoch of least validation loss), "log" the one-line fix
# of log-scaled tokens (keeping the last epoch, the peer's default), "prog"
# the peer given tlpx's program row too (tlpx features --encode prog).
#
# usage: bench/quality.sh [--quick | --full] [--hw K80,Xeon] [--folds N] [--seeds N]
#            [--first-seed S] [--epochs N] [--threads N] [--configs tlpx,tlp,mtl] [--peer log,raw,prog | --peer none]
#            [--train-args "..."] [--dir DIR] [--resume] [--fresh-peer]
#   (default)  K80 and Xeon, 3 folds x 1 seed, 10 epochs: recipe tlpx, the
#              random order and the peer --log where it is cached (see below):
#              about 50 minutes on 2 cores (recipe tlpx trains two networks;
#              its one-network recipe took 70 minutes for 3 seeds).  A figure
#              of one seed moves by up to 0.03: --seeds 3 (or --full) for the
#              mean and spread of docs/quality.md.  The peer takes about 3 times as
#              long as tlpx to train (an hour a seed on K80), so the default
#              run uses its cached predictions only; --peer log (or --full)
#              computes and caches the missing ones.
#   --quick    K80, 3 folds x 1 seed, recipe tlpx only: for iterating
#   --configs  tlpx (recipe tlpx: two networks, log and prog tokens, as one
#              ensemble), tlp (TLP's), mtl (recipe tlpx, the other GPUs as
#              auxiliary heads); --train-args "--encode prog" measures one
#              network of the ensemble alone
#   --full     K80, V100, MI50 and Xeon, 3 folds x 3 seeds: recipes tlpx and
#              tlp, MTL (the other GPUs as auxiliary heads), the peer raw and --log
# --first-seed S runs seeds S.. (to share the seeds of one measure among runs:
# copy their model files into one DIR and --resume there for the table).
# --resume keeps the model files already in DIR (from an interrupted run with
# the same options) instead of training them again, and the peer's folds.
# The peer's predictions do not depend on tlpx, so they are cached (by data,
# fold, seed, epochs, variant and the peer script's checksum) under
# ${XDG_CACHE_HOME:-~/.cache}/tlpx/quality; --fresh-peer recomputes them.
# Beside the top-k figures, each set of predictions is replayed (tlpx replay
# --scores): the trials a tuner would spend to come within 5% of the best in
# the model's order instead of the log's.  Figures and wall times are printed
# as a table and kept in DIR/quality.tsv.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
T="$build/tlpx"
data=${TLPX_DATA:-$top/../shared/data}
peer=${TLPX_PEERS:-$top/../shared/peers}/tlp_torch_train.py
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tlpx/quality

hw=K80,Xeon folds=3 seeds=1 epochs=10 threads=2 configs=tlpx peers=log extra="" dir="" fresh=0 resume=0 cached_only=1 seed0=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) hw=K80 seeds=1 configs=tlpx peers=none ;;
    --full) hw=K80,V100,MI50,Xeon seeds=3 configs=tlpx,tlp,mtl peers=log,raw cached_only=0 ;;
    --hw) hw=$2; shift ;;
    --folds) folds=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --first-seed) seed0=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --threads) threads=$2; shift ;;
    --configs) configs=$2; shift ;;
    --peer) peers=$2 cached_only=0; shift ;;
    --train-args) extra=$2; shift ;;
    --dir) dir=$2; shift ;;
    --fresh-peer) fresh=1 ;;
    --resume) resume=1 ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    esac
    shift
done
[ -d "$data/nnfusion-roller" ] || { echo "quality.sh: no data at $data"; exit 77; }
[ -x "$T" ] || { echo "quality.sh: build tlpx first"; exit 1; }
[ "$peers" = none ] && peers=""
if [ -n "$peers" ] && ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    echo "quality.sh: the peer needs Debian's python3-torch and python3-numpy; running without it"
    peers=""
fi
dir=${dir:-$(mktemp -d "${TMPDIR:-/tmp}/tlpx_quality.XXXXXX")}
mkdir -p "$dir" "$cache"
R=$data/nnfusion-roller/artifacts
path_of() { # the DATA argument of a hardware
    case $1 in
    K80) echo "K80=$R/Table3" ;;
    V100) echo "V100=$R/microbenchmark" ;;
    MI50) echo "MI50=$R/Table4" ;;
    Xeon) echo "Xeon=$data/crazydemo-tlcbench" ;;
    *) echo "quality.sh: unknown hardware $1 (K80, V100, MI50, Xeon)" >&2; exit 2 ;;
    esac
}
is_gpu() { [ "$1" != Xeon ]; }
seq_to() { i=$seed0; while [ "$i" -lt $((seed0 + $1)) ]; do echo "$i"; i=$((i + 1)); done; }
now() { date +%s; }

res="$dir/quality.tsv"
printf 'hardware\tmodel\tseed\tmetric\tmean\tpooled\tfailed_picks\trandom_mean\trandom_pooled\trandom_failed_picks\tseconds\n' >"$res"
ops="$dir/operators.tsv"
printf 'hardware\tmodel\tseed\toperator\ttasks\ttop1\trandom_top1\n' >"$ops"
# add the figures of eval --tsv --by-op (file $3) as rows for hardware $1, model $2,
# seed $4, seconds $5; its rows per operator (head HW:OP) go to $ops
collect() {
    awk -F '\t' -v hw="$1" -v model="$2" -v seed="$4" -v secs="$5" -v ops="$ops" '
        NR == 1 { next }
        $1 ~ /:/ { if ($4 == "top-1") { sub(/^[^:]*:/, "", $1); printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", hw, model, seed, $1, $2, $5, $8 >>ops }; next }
        { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", hw, model, seed, $4, $5, $6, $7, $8, $9, $10, secs }' \
        "$3" >>"$res"
}
# the replay of predictions $3 on $1's data (tlpx replay --scores): rows "gain" (the
# geometric-mean gain in trials to within 5% of the best) and "trials" (the model's
# median trials; the log's in the random column) for hardware $1, model $2, seed $4
replay() {
    "$T" replay --scores "$3" "$(path_of "$1")" -q | awk -F '\t' -v hw="$1" -v model="$2" -v seed="$4" '
        /geometric mean gain/ {
            match($0, /median trials log [0-9.]+, model [0-9.]+/); split(substr($0, RSTART, RLENGTH), m, "[ ,]+")
            match($0, /gain [0-9.]+x/); g = substr($0, RSTART + 5, RLENGTH - 6)
            printf "%s\t%s\t%s\tgain\t%s\t\t\t1\t\t\t\n", hw, model, seed, g
            printf "%s\t%s\t%s\ttrials\t%s\t\t\t%s\t\t\t\n", hw, model, seed, m[6], m[4]
        }' >>"$res"
}

# the progress line of hardware $1, model $2, seed $3: the head's top-1 and top-5
# in eval file $4 (not its operators' rows), seconds $5
seed_line() {
    printf '  %-5s %-10s seed %s: %s  (%s s)\n' "$1" "$2" "$3" \
        "$(awk -F '\t' '$1 !~ /:/ && $4 == "top-1" { printf "top-1 %.4f", $5 } $1 !~ /:/ && $4 == "top-5" { printf "  top-5 %.4f", $5 }' "$4")" "$5"
}

# the peer's input for hardware $1: per fold, `tlpx features` of the training
# folds and of the held-out fold into $dir/$1-fK$2-{train,test} (skipped when
# there), with the options after $2 (an encoding)
export_folds() {
    _h=$1 _fx=$2
    shift 2
    for _k in $(seq 1 "$folds"); do
        [ -f "$dir/$_h-f$_k$_fx-test.index.tsv" ] && continue
        "$T" features "$(path_of "$_h")" --except-fold "$_k/$folds" --out "$dir/$_h-f$_k$_fx-train" "$@" -q >/dev/null
        "$T" features "$(path_of "$_h")" --fold "$_k/$folds" --out "$dir/$_h-f$_k$_fx-test" "$@" -q >/dev/null
    done
}

start_all=$(now)
echo "quality: $hw; $folds folds x $seeds seeds, $epochs epochs, $threads threads; work in $dir"
for h in $(echo "$hw" | tr , ' '); do
    target=$(path_of "$h")
    first_eval="" # this run's first evaluation of this hardware: the random order's figures come with it
    # tlpx: each config, each seed: N models, one per held-out fold
    for c in $(echo "$configs" | tr , ' '); do
        args="--recipe tlpx" datas="$target"
        case $c in
        tlpx) ;;
        tlp) args="--recipe tlp" ;;
        mtl)
            is_gpu "$h" || continue
            heads=$h
            for o in K80 V100 MI50; do [ "$o" = "$h" ] || { heads="$heads,$o"; datas="$datas $(path_of "$o")"; }; done
            args="--recipe tlpx --heads $heads" ;;
        *) echo "quality.sh: unknown config $c (tlpx, tlp, mtl)"; exit 2 ;;
        esac
        for s in $(seq_to "$seeds"); do
            t0=$(now)
            pred="$dir/$h-$c-s$s.tsv"
            : >"$pred"
            for k in $(seq 1 "$folds"); do
                m="$dir/$h-$c-f$k-s$s.tlpx"
                # shellcheck disable=SC2086
                [ "$resume" = 1 ] && [ -s "$m" ] ||
                    "$T" train $datas --except-fold "$k/$folds" $args $extra --epochs "$epochs" --seed "$s" \
                        --threads "$threads" --out "$m" -q
                "$T" predict "$m" "$target" --fold "$k/$folds" -q | tail -n +2 >>"$pred"
            done
            t1=$(now)
            "$T" eval --scores "$pred" "$target" --tsv --by-op -q >"$pred.eval"
            first_eval=${first_eval:-$pred.eval}
            collect "$h" "tlpx-$c" "$pred.eval" "$s" $((t1 - t0))
            replay "$h" "tlpx-$c" "$pred" "$s"
            seed_line "$h" "tlpx-$c" "$s" "$pred.eval" $((t1 - t0))
        done
    done
    # the random order: exact expectations, the same for every seed
    ev=$first_eval
    if [ -n "$ev" ]; then
        awk -F '\t' -v OFS='\t' 'NR > 1 { print $1, $2, $3, $4, $8, $9, $10, $8, $9, $10 }' "$ev" |
            sed '1i head\ttasks\trecords\tmetric\tmean\tpooled\tfailed_picks\trandom_mean\trandom_pooled\trandom_failed_picks' \
                >"$dir/$h-random.eval"
        collect "$h" random "$dir/$h-random.eval" - 0
    fi
    # the peer: features once per fold, then each variant and seed (cached)
    [ -n "$peers" ] || continue
    psum=$(md5sum "$peer" | cut -c1-8)
    export_folds "$h" ""
    dsum=$(cat "$dir/$h"-f*-test.index.tsv | md5sum | cut -c1-8)
    for v in $(echo "$peers" | tr , ' '); do
        # raw: TLP's recipe (raw tokens, the epoch of least validation loss),
        # to compare with --recipe tlp; log: the peer's one-line fix as the
        # issue tried it (log-scaled tokens, the last epoch)
        # prog: the peer fed what a tlpx network of encoding prog sees
        # (tlpx features --encode prog: log-scaled tokens and the program
        # row), to tell the row's share of tlpx's lead from the recipe's
        fx=""
        case $v in
        raw) flag="--pick val" ;;
        log) flag="--log" ;;
        prog)
            flag="" fx="-prog"
            export_folds "$h" "$fx" --encode prog ;;
        *) echo "quality.sh: unknown peer variant $v (raw, log, prog)"; exit 2 ;;
        esac
        for s in $(seq_to "$seeds"); do
            pred="$dir/$h-peer-$v-s$s.tsv"
            key="$h-$v-${folds}f-s$s-e$epochs-$psum-$dsum"
            if [ "$cached_only" = 1 ] && { [ "$fresh" = 1 ] || [ ! -s "$cache/$key.tsv" ]; }; then
                printf '  %-5s %-10s seed %s: not cached; left out (about 6x the training time of tlpx: --peer %s runs it)\n' \
                    "$h" "peer-$v" "$s" "$v"
                continue
            fi
            if [ "$fresh" = 1 ] || [ ! -s "$cache/$key.tsv" ]; then
                : >"$pred"
                secs=0
                for k in $(seq 1 "$folds"); do
                    # a fold of a run interrupted in DIR is kept with --resume
                    # (a seed of the peer is an hour or more)
                    fp="$dir/$h-peer-$v-f$k-s$s"
                    if [ "$resume" = 0 ] || [ ! -s "$fp.tsv" ] || [ ! -s "$fp.seconds" ]; then
                        rm -f "$fp.tsv" "$fp.seconds"
                        tf=$(now)
                        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 "$peer" "$dir/$h-f$k$fx-train" "$dir/$h-f$k$fx-test" \
                            "$fp.tsv.part" --epochs "$epochs" --seed "$s" --threads "$threads" $flag 2>/dev/null
                        mv "$fp.tsv.part" "$fp.tsv"
                        echo $(($(now) - tf)) >"$fp.seconds"
                    fi
                    secs=$((secs + $(cat "$fp.seconds")))
                    tail -n +2 "$fp.tsv" >>"$pred"
                done
                echo "$secs" >"$cache/$key.seconds"
                cp "$pred" "$cache/$key.tsv"
            else
                cp "$cache/$key.tsv" "$pred"
            fi
            "$T" eval --scores "$pred" "$target" --tsv --by-op -q >"$pred.eval"
            collect "$h" "peer-$v" "$pred.eval" "$s" "$(cat "$cache/$key.seconds")"
            replay "$h" "peer-$v" "$pred" "$s"
            seed_line "$h" "peer-$v" "$s" "$pred.eval" "$(cat "$cache/$key.seconds")"
        done
    done
done
end_all=$(now)

# the table: per hardware and model, mean over seeds [min-max]
echo
echo "Cross-validated by task ($folds folds; each task scored by the model that did not see it), $epochs epochs,"
echo "mean over $seeds seed(s) [min-max]; failed = tasks whose top-1 pick failed (random: expected); s = seconds per seed"
awk -F '\t' '
NR == 1 { next }
{
    k = $1 SUBSEP $2
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    v = $5 + 0
    key = k SUBSEP $4
    sum[key] += v; cnt[key]++
    if (!(key in lo) || v < lo[key]) lo[key] = v
    if (!(key in hi) || v > hi[key]) hi[key] = v
    if ($4 == "top-1") { psum[k] += $6; fsum[k] += $7; secs[k] += $11; runs[k]++ }
    if ($4 == "trials") log_trials[$1] = $8
}
function fig(k, m,   key) {
    key = k SUBSEP m
    if (!(key in cnt)) return sprintf("%-21s", "-")
    if (cnt[key] == 1 || lo[key] == hi[key]) return sprintf("%.3f%-16s", sum[key] / cnt[key], "")
    return sprintf("%.3f [%.3f-%.3f]", sum[key] / cnt[key], lo[key], hi[key])
}
END {
    printf "%-5s %-11s %-21s %-21s %-21s %7s %6s %-17s %6s %6s\n", "hw", "model", "top-1 (mean)", "top-5 (mean)", "pair-acc", "pooled",
        "failed", "replay gain", "trials", "s"
    for (i = 1; i <= n; i++) {
        k = order[i]; split(k, p, SUBSEP)
        g = (k SUBSEP "gain") in cnt ? sprintf("%.2f [%.2f-%.2f]", sum[k SUBSEP "gain"] / cnt[k SUBSEP "gain"], lo[k SUBSEP "gain"], hi[k SUBSEP "gain"]) : "-"
        tr = (k SUBSEP "trials") in cnt ? sprintf("%.1f", sum[k SUBSEP "trials"] / cnt[k SUBSEP "trials"]) : (p[2] == "random" ? log_trials[p[1]] : "-")
        printf "%-5s %-11s %s %s %s %7.3f %6.1f %-17s %6s %6.0f\n", p[1], p[2], fig(k, "top-1"), fig(k, "top-5"), fig(k, "pair-acc"),
            psum[k] / runs[k], fsum[k] / runs[k], g, tr, secs[k] / runs[k]
    }
    printf "(trials: the median trials to within 5%% of the best; in the random row, the log'"'"'s own order)\n"
}' "$res"
# per operator: the mean top-1 over seeds of each model (a mean over tasks is
# carried by the operators with many easy tasks; this shows where it is not)
echo
echo "Mean top-1 by operator (the workload's name, or its DAG hash), mean over seeds:"
awk -F '\t' '
NR == 1 { next }
{
    r = $1 SUBSEP $4; m = $2
    if (!(r in rs)) { rs[r] = 1; rows[++nr] = r; tasks[r] = $5 }
    if (!(m in ms)) { ms[m] = 1; models[++nm] = m }
    sum[r SUBSEP m] += $6; cnt[r SUBSEP m]++
}
END {
    printf "%-5s %-26s %5s", "hw", "operator", "tasks"
    for (j = 1; j <= nm; j++) printf " %11s", models[j]
    printf "\n"
    for (i = 1; i <= nr; i++) {
        split(rows[i], p, SUBSEP)
        printf "%-5s %-26s %5d", p[1], p[2], tasks[rows[i]]
        for (j = 1; j <= nm; j++) { k = rows[i] SUBSEP models[j]; if (k in cnt) printf " %11.3f", sum[k] / cnt[k]; else printf " %11s", "-" }
        printf "\n"
    }
}' "$ops"
echo "wall time $((end_all - start_all)) s; figures in $res and $ops"

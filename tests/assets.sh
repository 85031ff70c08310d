#!/bin/sh
# assets.sh: the embedded default (assets/): its records load with no skipped
# line, its models load and predict, `tlpx --assets` finds it; and, when
# ../shared/data is there, assets/make-assets.sh on a small subset gives the
# same bytes twice and the same record files as the committed ones.
. "${top_srcdir:-.}/tests/lib.sh"
A="$top_srcdir/assets"
R="K80=$A/roller/K80 V100=$A/roller/V100 MI50=$A/roller/MI50"

# shellcheck disable=SC2086
check "the default records load" status 0 "$TLPX" stats $R
check "no line skipped" grep -q "^skipped lines: 0$" "$T/out"
check "no warning" test ! -s "$T/err"
check "26 tasks on each GPU" test "$(grep -c '^  tasks 26 ' "$T/out")" = 3
n_rec=$(sed -n 's/^[0-9]* files, [0-9]* tasks, \([0-9]*\) records.*/\1/p' "$T/out")
check "10,000 records or more ($n_rec)" test "${n_rec:-0}" -ge 10000
check "the tasks listed in roller/TASKS" test "$(wc -l <"$A/roller/TASKS")" = 26
check "the licence is beside them" grep -q "Copyright (c) Microsoft Corporation" "$A/roller/LICENSE"
check "every record file is gzip'd" test "$(find "$A/roller" -name '*.log' | wc -l)" = 0
check "the gzip streams are sound" sh -c "find '$A/roller' -name '*.gz' -exec gzip -t {} +"
for hw in K80 V100 MI50; do
    check "the MTL model has a $hw head" sh -c "'$TLPX' --heads '$A/mtl-gpu.tlpx' | grep -qx $hw"
done
# shellcheck disable=SC2086
check "it predicts the default records" status 0 "$TLPX" eval "$A/mtl-gpu.tlpx" $R --tsv -q
check "a figure per head" test "$(grep -c "top-1" "$T/out")" -ge 3
check "better than the random order on K80 (mean top-1)" awk -F '\t' \
    '$1 == "K80" && $4 == "top-1" { found = 1; better = $5 > $8 } END { exit !(found && better) }' "$T/out"
check "the CPU model loads" sh -c "'$TLPX' --heads '$A/xeon-cpu.tlpx' | grep -qx Xeon"
check "it predicts CPU records" status 0 "$TLPX" predict "$A/xeon-cpu.tlpx" "$top_srcdir/tests/fixtures/records/cpu-y" -q
check "the models state their recipe" sh -c "'$TLPX' eval '$A/mtl-gpu.tlpx' K80='$A/roller/K80' -q 2>&1 | grep -q 'recipe tlpx'"
check "and the command that made them" sh -c "'$TLPX' eval '$A/mtl-gpu.tlpx' K80='$A/roller/K80' -q | grep -q '^made by: tlpx .* train K80=roller-unshown/K80 .*--seed 0'"
check "tlpx --assets finds them" status 0 env TLPX_ASSETS="$A" "$TLPX" --assets

# make-assets.sh on one conv and one matmul task, twice (models: 1 epoch)
data=${TLPX_DATA:-$top_srcdir/../shared/data}
if [ -d "$data/nnfusion-roller" ]; then
    for i in 1 2; do
        check "make-assets.sh --only, run $i" status 0 env TLPX="$TLPX" TLPX_DATA="$data" \
            sh "$A/make-assets.sh" --only "conv:1 matmul:1" --epochs 1 --out "$T/a$i"
    done
    check "the same bytes twice" diff -r "$T/a1" "$T/a2"
    check "and a model" test -s "$T/a1/mtl-gpu.tlpx"
    f=$(cd "$T/a1/roller" && find . -name '*.gz' | sort | head -1)
    check "the same record files as the committed ones ($f)" cmp "$T/a1/roller/$f" "$A/roller/$f"
else
    n=$((n + 1))
    echo "ok $n # SKIP make-assets.sh: no ../shared/data (TLPX_DATA)"
fi
tap_end

#!/bin/sh
# tui.sh: screen tests of the real explorer.  Each tests/tui/NAME.script is
# run with `tlpx explore --script` in a scratch directory where the fixtures
# are reachable as fx/, and its screen dumps are compared with
# tests/screens/NAME.txt.  TLPX_UPDATE_SCREENS=1 rewrites the goldens.
# A script's first line "# args: ..." gives the explorer's arguments, and
# "# size: WxH" (default 80x24) the terminal size.  The embedded default
# (assets/) is there for a script without args or with "# assets: embedded";
# for the others there is none, so DATA without --model opens without a
# model as on an install without assets.
# Numbers with a decimal point are compared as "#.#": a model's scores differ
# in their last digits between -O0 and -O3 builds (summation order), while
# layout, ranks, names and messages must match exactly.
: "${top_srcdir:=.}" "${TLPX:=./tlpx}"
src=$(cd "$top_srcdir" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_tui.XXXXXX")
trap 'rm -rf "$T"' EXIT
ln -s "$src/tests/fixtures" "$T/fx"
ln -s "$src/assets" "$T/assets"
norm() { sed -E 's/[0-9]+\.[0-9]+/#.#/g' "$1"; }
# gen/ens.tlpx: an ensemble of the demo model (raw tokens) and one network
# trained here for an epoch (prog tokens), for ensemble.script
mkdir "$T/gen"
(cd "$T" && "$TLPX" train fx/train/hw-a fx/train/hw-b --epochs 1 --encode prog --out gen/one.tlpx -q -j 1 &&
    "$TLPX" ensemble fx/demo-gpu.tlpx gen/one.tlpx --out gen/ens.tlpx -q) || echo "# could not make gen/ens.tlpx"
# gen/s48.tlpx: a model of a crop of 48 steps, for tokens_steps.script
(cd "$T" && "$TLPX" train fx/records/gpu-x --epochs 1 --batch 4 --steps 48 --out gen/s48.tlpx -q -j 1) ||
    echo "# could not make gen/s48.tlpx"

n=0 failed=0
for script in "$src"/tests/tui/*.script; do
    name=$(basename "$script" .script)
    n=$((n + 1))
    args=$(sed -n 's/^# args: //p' "$script" | head -1)
    size=$(sed -n 's/^# size: //p' "$script" | head -1)
    assets=$(sed -n 's/^# assets: //p' "$script" | head -1)
    A=assets
    [ -n "$args" ] && [ "$assets" != embedded ] && A=no-assets
    golden="$src/tests/screens/$name.txt"
    (cd "$T" && rm -f ./*.tlpx ./*.json && TLPX_ASSETS=$A XDG_STATE_HOME="$T/state" XDG_CACHE_HOME="$T/cache-$name" "$TLPX" explore $args --script "$script" --size "${size:-80x24}") \
        > "$T/$name.out" 2> "$T/$name.err"
    rc=$?
    if [ -n "$TLPX_UPDATE_SCREENS" ]; then cp "$T/$name.out" "$golden"; fi
    if [ $rc -eq 0 ] && [ -f "$golden" ] && norm "$golden" > "$T/$name.want" && norm "$T/$name.out" > "$T/$name.got" &&
        cmp -s "$T/$name.want" "$T/$name.got"; then
        echo "ok $n - screens of $name"
    else
        echo "not ok $n - screens of $name (exit $rc)"
        sed 's/^/# /' "$T/$name.err" | head -10
        [ -f "$golden" ] && diff "$T/$name.want" "$T/$name.got" | head -40 | sed 's/^/# /'
        failed=$((failed + 1))
    fi
done
# the score cache: the same data and model opened again rank at once (no
# wait for a job), the same ranks as scored; without the cache, none yet
printf 'wait\ndump\n' >"$T/scored.script"
printf 'nowait\ndump\n' >"$T/at-once.script"
cached() { # cached CACHE-DIR SCRIPT: the explorer on the demo model, its screen
    (cd "$T" && TLPX_ASSETS=no-assets XDG_CACHE_HOME="$T/$1" "$TLPX" explore fx/train/hw-a fx/train/hw-b \
        --model fx/demo-gpu.tlpx --script "$2" --size 100x14 2>/dev/null) | sed 1d
}
mkdir -p "$T/c1/tlpx" # 20 old files: the cache keeps its 16 newest
for i in $(seq 1 20); do touch -d 2020-01-01 "$T/c1/tlpx/scores-old$i.bin"; done
cached c1 "$T/scored.script" >"$T/scored"
cached c1 "$T/at-once.script" >"$T/again"
cached c2 "$T/at-once.script" >"$T/cold"
n=$((n + 1))
if grep -q '0\.[0-9][0-9][0-9]' "$T/scored" && cmp -s "$T/scored" "$T/again" && ! grep -q '0\.[0-9][0-9][0-9]  ' "$T/cold" &&
    [ "$(ls "$T/c1/tlpx" | wc -l)" = 16 ] && [ "$(find "$T/c1/tlpx" -name "scores-*" -newer "$T/scored.script" | wc -l)" = 1 ]; then
    echo "ok $n - a second opening ranks at once from the score cache, as scored; the cache keeps 16 files"
else
    echo "not ok $n - a second opening ranks at once from the score cache, as scored; the cache keeps 16 files"
    diff "$T/scored" "$T/again" | sed 's/^/# /' | head -20
    failed=$((failed + 1))
fi
# a damaged cache file is a miss, never wrong scores
for f in "$T"/c1/tlpx/*; do printf 'x' | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null; done
cached c1 "$T/at-once.script" >"$T/damaged"
n=$((n + 1))
if cmp -s "$T/damaged" "$T/cold"; then echo "ok $n - a damaged cache file is not used"
else
    echo "not ok $n - a damaged cache file is not used"
    failed=$((failed + 1))
fi
echo "1..$n"
[ "$failed" = 0 ]

#!/bin/sh
# fuzz.sh build|run [SECONDS] [HARNESS...]: build the libFuzzer harnesses
# with clang (ASan + UBSan) and run each for a bounded time on its corpus.
# Exit 0 when no harness found a crash.
#   record  the record parser (tests/fuzz_record.c); seeds: one per fixture line
#   store   the packed-store reader (tests/fuzz_store.c); seeds: stores packed from the fixtures
#   model   the model reader (tests/fuzz_model.c); seeds: models trained on the fixtures, weights taken out
# Inputs that once failed are kept in tests/fixtures/fuzz/HARNESS-* and join the corpus.
# The store and model seeds are made with ./tlpx (build it first).  The store and
# model harnesses take checksums as right (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION),
# so mutations reach the checks behind them.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${top_builddir:-$top}
out=${FUZZ_OUT:-$top/tests/fuzz-out}
CC_FUZZ=${CC_FUZZ:-clang}
FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$top/engine"
build() {
    mkdir -p "$out"
    $CC_FUZZ $FLAGS "$top/tests/fuzz_record.c" "$top/engine/data/record.c" "$top/engine/data/features.c" \
        "$top/engine/core/status.c" "$top/engine/core/hash.c" "$top/engine/core/escape.c" \
        $(pkg-config --cflags --libs libcjson) -lm -o "$out/fuzz_record"
    # the whole engine, checksums taken as right: compiled once, linked into both
    mkdir -p "$out/engine"
    for c in "$top"/engine/*/*.c; do
        o=$out/engine/$(basename "$(dirname "$c")")-$(basename "$c" .c).o
        $CC_FUZZ $FLAGS -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $(pkg-config --cflags libcjson openblas) -c "$c" -o "$o"
    done
    for h in store model; do
        $CC_FUZZ $FLAGS "$top/tests/fuzz_$h.c" "$out"/engine/*.o \
            $(pkg-config --cflags --libs libcjson openblas) -lz -lm -pthread -o "$out/fuzz_$h"
    done
}
seed_record() {
    i=0
    for f in "$top"/tests/fixtures/records/*/* "$top"/tests/fixtures/malformed/*; do
        while IFS= read -r line || [ -n "$line" ]; do
            i=$((i + 1))
            printf '%s' "$line" > "$1/seed$i"
        done < "$f"
    done
}
fail_seeds() { echo "fuzz: cannot make the $1 seeds with $X (see above)" >&2; exit 1; }
seed_store() { # a store of one GPU, of two hardware and a CPU, one appended to (two segments)
    F=$top/tests/fixtures/train
    "$X" pack "$F/hw-a/op64.json" --out "$1/gpu.pack" -q &&
        "$X" pack "a=$F/hw-a/op64.json" "c=$F/cpu-c" --out "$1/two.pack" -q &&
        cp "$1/gpu.pack" "$1/seg.pack" &&
        "$X" pack --append "b=$F/hw-b/op64.json" --out "$1/seg.pack" -q &&
        "$X" pack "$top/tests/fixtures/records" --out "$1/diag.pack" -q 2>/dev/null || fail_seeds store
}
models() { # trained for one epoch by this tlpx, weights only, one network (recipe tlp): a GPU model of two heads, a CPU one
    F=$top/tests/fixtures/train
    "$X" train "a=$F/hw-a" "b=$F/hw-b" --recipe tlp --epochs 1 -q --weights-only -j 1 --out "$out/gpu.tlpx" &&
        "$X" train "$F/cpu-c" --recipe tlp --epochs 1 -q --weights-only -j 1 --out "$out/cpu.tlpx" || fail_seeds model
    FUZZ_MODELS="$out/gpu.tlpx:$out/cpu.tlpx"
    export FUZZ_MODELS
}
case "${1:-run}" in
build) build ;;
run)
    secs=${2:-60}
    shift $(($# < 2 ? $# : 2))
    harnesses=${*:-record store model}
    X=$build_dir/tlpx
    case " $harnesses " in *" store "* | *" model "*) [ -x "$X" ] || { echo "fuzz: build tlpx first (make)" >&2; exit 1; } ;; esac
    build
    rc=0
    for h in $harnesses; do
        corpus=$out/corpus-$h
        mkdir -p "$corpus"
        case $h in
        record) seed_record "$corpus" ;;
        store) seed_store "$corpus" ;;
        model)
            models
            FUZZ_SEEDS=$corpus "$out/fuzz_model" -runs=0 "$corpus" >"$out/seeds.log" 2>&1 || { tail -20 "$out/seeds.log" >&2; fail_seeds model; }
            ;;
        *) echo "fuzz: no harness $h" >&2; exit 2 ;;
        esac
        for f in "$top"/tests/fixtures/fuzz/$h-*; do [ -f "$f" ] && cp "$f" "$corpus/"; done # inputs that once failed
        echo "fuzz $h: $(ls "$corpus" | wc -l) inputs in the corpus, $secs s"
        hrc=0
        (cd "$out" && FUZZ_PRIOR=$top/tests/fixtures/records/gpu-x/dense.json "./fuzz_$h" -max_total_time="$secs" \
            -max_len=1048576 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$h-" "$corpus" \
            >"fuzz-$h.log" 2>&1) || hrc=$?
        grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added)|ERROR|SUMMARY" "$out/fuzz-$h.log" | sed "s/^/  /" | head -20
        if [ "$hrc" != 0 ]; then
            echo "fuzz $h: the harness failed (exit $hrc); see $out/fuzz-$h.log and $h-crash-* files" >&2
            tail -40 "$out/fuzz-$h.log" >&2
            rc=$hrc
        fi
    done
    exit "$rc"
    ;;
*) echo "usage: $0 build|run [SECONDS] [record|store|model...]" >&2; exit 2 ;;
esac

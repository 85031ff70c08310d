#!/bin/sh
# fuzz.sh build|run [SECONDS]: build the libFuzzer harness for the record
# parser with clang (ASan + UBSan) and run it for a bounded time on a corpus
# seeded from the hand-written fixtures.  Exit 0 when no crash was found.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$top/tests/fuzz-out}
bin=$out/fuzz_record
CC_FUZZ=${CC_FUZZ:-clang}
build() {
    mkdir -p "$out"
    $CC_FUZZ -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$top/engine" "$top/tests/fuzz_record.c" "$top/engine/data/record.c" "$top/engine/data/features.c" \
        "$top/engine/core/status.c" "$top/engine/core/hash.c" "$top/engine/core/escape.c" $(pkg-config --cflags --libs libcjson) -lm -o "$bin"
}
case "${1:-run}" in
build) build ;;
run)
    secs=${2:-60}
    build
    corpus=$out/corpus
    mkdir -p "$corpus"
    # one seed per fixture line (records and malformed ones)
    i=0
    for f in "$top"/tests/fixtures/records/*/* "$top"/tests/fixtures/malformed/*; do
        while IFS= read -r line || [ -n "$line" ]; do
            i=$((i + 1))
            printf '%s' "$line" > "$corpus/seed$i"
        done < "$f"
    done
    echo "fuzz: $i seeds, $secs s"
    cd "$out"
    rc=0
    "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 "$corpus" >fuzz.log 2>&1 || rc=$?
    grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added)|ERROR|SUMMARY" fuzz.log | head -20
    [ "$rc" = 0 ] || { echo "fuzz: the harness failed (exit $rc); see $out/fuzz.log and crash-* files" >&2; tail -40 fuzz.log >&2; }
    exit "$rc"
    ;;
*) echo "usage: $0 build|run [SECONDS]" >&2; exit 2 ;;
esac

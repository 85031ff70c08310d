#!/bin/sh
# store.sh: `tlpx pack` and packed stores, through the binary, on the
# committed Roller records (assets/roller): a store gives every command the
# same figures as the JSON it was packed from, appends without rewriting,
# and a damaged, truncated, foreign or interrupted store is refused (or
# read as it was) with the file and the reason, never a crash.
. "${top_srcdir:-.}/tests/lib.sh"
# the small operators of each GPU (pooling, reduction, relu: 8 tasks, 4,261 records in all), copied so
# the paths a store keeps (absolute, real) are the ones given: quick enough under the sanitizers
for g in K80 V100 MI50; do
    mkdir -p "$T/roller/$g"
    cp -r "$top_srcdir/assets/roller/$g/pooling" "$top_srcdir/assets/roller/$g/reduction" \
        "$top_srcdir/assets/roller/$g/elementwise" "$T/roller/$g/"
done
A=$(cd "$T/roller" && pwd -P) M="$top_srcdir/assets/mtl-gpu.tlpx"
GPUS="K80=$A/K80 V100=$A/V100 MI50=$A/MI50"
S="$T/all.pack"

check "pack three GPUs into a store" status 0 "$TLPX" pack $GPUS --out "$S"
check "it says what it wrote" grep -q "the store holds 4261 records of 24 tasks on 3 hardware in 1 segment" "$T/err"
check "the store is smaller than 256 bytes a record" sh -c "[ \$(stat -c %s '$S') -lt \$((4261 * 256)) ]"

# the same figures from the store as from the JSON
"$TLPX" stats $GPUS >"$T/stats.json" 2>/dev/null
"$TLPX" stats "$S" >"$T/stats.pack" 2>/dev/null
check "stats of the store name it" grep -q "^store $S: 4261 of the records from it, in 1 segment" "$T/stats.pack"
check "stats of the store equal stats of the JSON" sh -c "grep -v '^store ' '$T/stats.pack' | cmp -s - '$T/stats.json'"
"$TLPX" eval "$M" $GPUS >"$T/eval.json" 2>&1
"$TLPX" eval "$M" "$S" >"$T/eval.pack" 2>&1
check "eval of the store equals eval of the JSON" cmp -s "$T/eval.json" "$T/eval.pack"
check "and it scored something" grep -q "top-1" "$T/eval.pack"
"$TLPX" predict "$M" $GPUS --head MI50 >"$T/pred.json" 2>/dev/null
"$TLPX" predict "$M" "$S" --head MI50 >"$T/pred.pack" 2>/dev/null
check "predict of the store equals predict of the JSON (given by absolute path, as a store keeps it)" cmp -s "$T/pred.json" "$T/pred.pack"
check "predict printed every record" sh -c "[ \$(wc -l <'$T/pred.pack') -eq 4262 ]"
for f in 1/3 3/3; do
    "$TLPX" eval "$M" $GPUS --except-fold $f >"$T/fj" 2>&1
    "$TLPX" eval "$M" "$S" --except-fold $f >"$T/fp" 2>&1
    check "a fold of the store ($f) is the same fold of the JSON" cmp -s "$T/fj" "$T/fp"
done
"$TLPX" stats "$S" --fold 2/3 >"$T/out" 2>&1
check "stats of a fold of a store say what they do not count" grep -q "not counted for" "$T/out"
check "the token view re-reads a record of the store from its file" status 0 "$TLPX" tokens "$S" --task 3 --record 5
check "and shows its primitives" grep -q "split" "$T/out"

# training reads a store as it reads the JSON: the same model
F="$top_srcdir/tests/fixtures/train"
"$TLPX" pack "$F" --out "$T/train.pack" -q
"$TLPX" train "$F" --mode gpu --epochs 2 --seed 3 -j 1 -q --out "$T/m1.tlpx"
"$TLPX" train "$T/train.pack" --mode gpu --epochs 2 --seed 3 -j 1 -q --out "$T/m2.tlpx"
"$TLPX" eval "$T/m1.tlpx" "$F" 2>&1 | grep -v '^model \|^made by' >"$T/t1"
"$TLPX" eval "$T/m2.tlpx" "$F" 2>&1 | grep -v '^model \|^made by' >"$T/t2"
check "a model trained on the store scores as the one trained on the JSON" cmp -s "$T/t1" "$T/t2"
check "which scored tasks" grep -q "top-1" "$T/t1"

# renaming: one hardware maps whole, several become one
"$TLPX" pack "K80=$A/K80" --out "$T/k80.pack" -q
check "NAME=STORE renames a one-hardware store" status 0 "$TLPX" stats "gpu0=$T/k80.pack"
check "as the JSON would be" sh -c "grep -q '^hardware gpu0 ' '$T/out' && ! grep -q '^hardware K80' '$T/out'"
"$TLPX" stats "GPU=$S" 2>/dev/null | grep -v '^store ' | sed 1d >"$T/ren.pack"
"$TLPX" stats "GPU=$A/K80" "GPU=$A/V100" "GPU=$A/MI50" 2>/dev/null | sed 1d >"$T/ren.json"
check "NAME=STORE of three hardware merges them as NAME=DIR does" cmp -s "$T/ren.json" "$T/ren.pack"

# appending
check "append V100 to the K80 store" status 0 "$TLPX" pack "V100=$A/V100" --out "$T/k80.pack" --append
check "it says the store holds both" grep -q "the store holds 2840 records of 16 tasks on 2 hardware in 2 segments" "$T/err"
check "append MI50 and K80 again" status 0 "$TLPX" pack "MI50=$A/MI50" "K80=$A/K80" --out "$T/k80.pack" --append
check "the files already in it are skipped" grep -q "8 files of DATA already in" "$T/err"
"$TLPX" eval "$M" "$T/k80.pack" >"$T/eval.app" 2>&1
check "eval of the store of three segments equals eval of the JSON" cmp -s "$T/eval.json" "$T/eval.app"
check "appending nothing new says so and succeeds" status 0 "$TLPX" pack "K80=$A/K80" --out "$T/k80.pack" --append
check "in words" grep -q "nothing to append" "$T/err"
check "--append to a missing store is an error" status 1 "$TLPX" pack "K80=$A/K80" --out "$T/none.pack" --append
check "that says how to make one" grep -q "pack without --append makes one" "$T/err"
check "--append to a record file is refused" status 1 "$TLPX" pack "K80=$A/K80" --out "$T/pred.json" --append
check "--weights is refused (a store keeps none)" status 2 "$TLPX" pack "$A/K80" --out "$T/w.pack" --weights "$T/x"
check "--out a directory is refused before loading" status 1 "$TLPX" pack "$A/K80" --out "$T"

# an interrupted append: bytes past the committed end are ignored, then overwritten
cp "$S" "$T/tail.pack"
head -c 5000 "$S" >>"$T/tail.pack"
"$TLPX" eval "$M" "$T/tail.pack" >"$T/eval.tail" 2>&1
check "a store with an interrupted append's tail reads as it was" cmp -s "$T/eval.json" "$T/eval.tail"
"$TLPX" pack "K80=$A/K80" --out "$T/t2.pack" -q
head -c 3000 "$S" >>"$T/t2.pack"
check "and takes the next append" status 0 "$TLPX" pack "V100=$A/V100" --out "$T/t2.pack" --append
check "which replaces the tail" sh -c "[ \$(stat -c %s '$T/t2.pack') -lt \$(stat -c %s '$S') ]"
check "and reads back" status 0 "$TLPX" stats "$T/t2.pack"

# damage: each refused with the file and the reason
size=$(stat -c %s "$S")
flip() { # flip the byte at $2 of a copy of the store into $1
    cp "$S" "$1" && printf '\377' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
flip "$T/d.pack" 1000
check "a damaged record is refused" status 1 "$TLPX" eval "$M" "$T/d.pack"
check "naming the file and the checksum" grep -q "d.pack: a damaged store: the records' checksum is wrong" "$T/err"
flip "$T/d.pack" $((size - 300))
check "damaged tables are refused" status 1 "$TLPX" stats "$T/d.pack"
check "naming them" grep -q "a damaged store: the tables' checksum is wrong" "$T/err"
flip "$T/d.pack" 0
check "a store with a damaged magic is still known as a store" status 1 "$TLPX" stats "$T/d.pack"
check "and refused as damaged" grep -q "d.pack: a damaged store: its first bytes" "$T/err"
head -c $((size - 100)) "$S" >"$T/trunc.pack"
check "a truncated store is refused" status 1 "$TLPX" stats "$T/trunc.pack"
check "as truncated" grep -q "truncated" "$T/err"
head -c 20 "$S" >"$T/short.pack"
check "a store cut inside its header is refused" status 1 "$TLPX" stats "$T/short.pack"
check "as cut short" grep -q "header is cut short" "$T/err"
cp "$S" "$T/v.pack"
printf '\003' | dd of="$T/v.pack" bs=1 seek=8 conv=notrunc 2>/dev/null
check "a flipped version byte is refused" status 1 "$TLPX" stats "$T/v.pack"
check "as damage (the header's checksum), not as another format version" \
    grep -q "a damaged store (or one written by a newer tlpx): the header's checksum is wrong and its version field reads 3" "$T/err"
# the header's CRC-32 (of its first 60 bytes, at byte 60) made right: gzip's trailer holds it
head -c 60 "$T/v.pack" | gzip -c | tail -c 8 | head -c 4 | dd of="$T/v.pack" bs=1 seek=60 conv=notrunc 2>/dev/null
check "a store of another format version is refused" status 1 "$TLPX" stats "$T/v.pack"
check "saying which version and what to do" grep -q "format version 3; this tlpx reads versions 1 to 2 (pack the records again)" "$T/err"
# version 1 (packed before --steps) kept TLP's crop of each record only: tests/fixtures/store-v1/gpu-x.pack
# holds records/gpu-x, whose dense.json:1 has 45 steps, 40 of them kept
FX="$top_srcdir/tests/fixtures"
V1="$FX/store-v1/gpu-x.pack"
check "a store of version 1 reads" status 0 "$TLPX" stats "$V1"
check "all 5 records" grep -q "records 5 " "$T/out"
check "predict on it with TLP's crop" status 0 "$TLPX" predict "$TLPX_ASSETS/mtl-gpu.tlpx" "$V1" --head K80
cut -f5,6 "$T/out" >"$T/v1.scores"
check "scoring as the JSON it was packed from" sh -c "'$TLPX' predict '$TLPX_ASSETS/mtl-gpu.tlpx' '$FX/records/gpu-x' --head K80 2>/dev/null | cut -f5,6 | cmp -s - '$T/v1.scores'"
"$TLPX" train -q "$FX/records/gpu-x" --epochs 1 --batch 4 --steps 48 --out "$T/s48.tlpx" 2>/dev/null
check "a model of crop 48 on it is refused" status 1 "$TLPX" predict "$T/s48.tlpx" "$V1"
check "naming the record, what the store kept and what to do" \
    grep -q "records/gpu-x/dense.json:1: 45 steps, of which the store keeps 40 .*pack the records again" "$T/err"
check "as is a training of crop 48 on it" status 1 "$TLPX" train -q "$V1" --epochs 1 --steps 48 --out "$T/t48.tlpx"
check "saying the same" grep -q "dense.json:1: 45 steps, of which the store keeps 40" "$T/err"
cp "$V1" "$T/v1.pack"
check "a version 1 store appended to" status 0 "$TLPX" pack --append "$FX/records/cpu-y" --out "$T/v1.pack"
check "becomes version 2" sh -c "od -An -tu1 -j8 -N1 '$T/v1.pack' | grep -qw 2"
check "and keeps the old records' crop: still refused to crop 48" status 1 "$TLPX" predict "$T/s48.tlpx" "$T/v1.pack"
check "a store packed now keeps every step" status 0 "$TLPX" pack "$FX/records/gpu-x" --out "$T/v2.pack"
check "and a model of crop 48 scores it" status 0 "$TLPX" predict "$T/s48.tlpx" "$T/v2.pack"
cp "$S" "$T/o.pack"
printf '\005' | dd of="$T/o.pack" bs=1 seek=12 conv=notrunc 2>/dev/null
check "a flipped byte-order byte is refused as damage, not as another byte order" status 1 "$TLPX" stats "$T/o.pack"
check "in words" sh -c "grep -q 'checksum is wrong' '$T/err' && ! grep -q 'byte order' '$T/err'"
crashed=0
i=0
while [ $i -lt 40 ]; do # flips anywhere: refused or read, never a crash
    off=$(( (i * 7919 + 13) % size ))
    flip "$T/r.pack" $off
    "$TLPX" stats "$T/r.pack" >/dev/null 2>&1
    [ $? -ge 2 ] && { echo "# flip at $off: exit $?"; crashed=$((crashed + 1)); }
    i=$((i + 1))
done
check "40 single-byte flips across the store: no crash" test "$crashed" = 0

# standard input packs; its records cannot be re-read
check "records from standard input pack" status 0 sh -c "zcat '$A/K80/pooling/'*.log.gz | '$TLPX' pack - --out '$T/stdin.pack'"
check "the token view says the text was not kept" status 1 "$TLPX" tokens "$T/stdin.pack" --task 0 --record 0
check "in words" grep -q "not kept" "$T/err"
# two appends at once and a reader, 20 rounds: writers take turns (a lock on the store), so every
# round ends with the records of both appends and a store that opens cleanly
recs() { "$TLPX" stats "$1" 2>/dev/null | sed -n 's/^[0-9]* files, [0-9]* tasks, \([0-9]*\) records.*/\1/p'; }
"$TLPX" pack "a=$F/hw-a" --out "$T/base.pack" -q
want=$(($(recs "$T/base.pack") + $(recs "$F/hw-b") + $(recs "$F/cpu-c")))
lost=0 broken=0
for round in $(seq 1 20); do
    cp "$T/base.pack" "$T/c.pack"
    "$TLPX" pack --append "b=$F/hw-b" --out "$T/c.pack" -q 2>/dev/null &
    "$TLPX" pack --append "c=$F/cpu-c" --out "$T/c.pack" -q 2>/dev/null &
    "$TLPX" stats "$T/c.pack" -q >/dev/null 2>&1 &
    wait
    "$TLPX" stats "$T/c.pack" -q >/dev/null 2>&1 || broken=$((broken + 1))
    [ "$(recs "$T/c.pack")" = "$want" ] || lost=$((lost + 1))
done
check "20 rounds of two concurrent appends: none lost ($lost rounds short of $want records)" test "$lost" = 0
check "and the store opens cleanly after each ($broken did not)" test "$broken" = 0
# the same file twice is read once: a store appended to itself does not double
cp "$T/base.pack" "$T/self.pack"
before=$(recs "$T/self.pack")
check "pack --append STORE --out STORE" status 0 "$TLPX" pack --append "$T/self.pack" --out "$T/self.pack"
check "adds nothing: the store holds what it held" test "$(recs "$T/self.pack")" = "$before"
check "saying the file was met twice" grep -q "the same file as one read already" "$T/err"
# a record's text is read again from its source file (best, tokens, the explorer's token view, :export):
# by the loading's rules (a FIFO or a device in its place is refused at once, not waited on or read
# forever), and checked against what was packed (each record keeps a checksum of its line)
mkdir -p "$T/moved" && cp "$F"/hw-a/*.json "$T/moved/"
"$TLPX" pack "$T/moved" --out "$T/moved.pack" -q
mv "$T/moved/op64.json" "$T/op64.json"
mkfifo "$T/moved/op64.json"
check "best over a store whose source is now a FIFO fails at once" status 1 timeout 20 "$TLPX" best "$T/moved.pack" --out "$T/b.json"
check "naming the source file, the line and the reason" grep -q "moved/op64.json:[0-9]*: cannot read the record again: not a regular file" "$T/err"
check "and nothing is written" test ! -e "$T/b.json"
rm "$T/moved/op64.json" && ln -s /dev/zero "$T/moved/op64.json"
check "a source that is now /dev/zero is refused too" status 1 timeout 20 "$TLPX" best "$T/moved.pack" --out "$T/b.json"
check "as not a regular file" grep -q "not a regular file" "$T/err"
check "the token view refuses it the same way" status 1 timeout 20 "$TLPX" tokens "$T/moved.pack" --task "op(64, 64)"
check "in words" grep -q "op64.json:[0-9]*: cannot read the record again: not a regular file" "$T/err"
rm "$T/moved/op64.json"
check "a source gone is refused" status 1 "$TLPX" best "$T/moved.pack" --out "$T/b.json"
check "naming the source and its line, not the output" sh -c "grep -q 'moved/op64.json:[0-9]*: cannot read the record again: No such file' '$T/err' && ! grep -q 'b.json' '$T/err'"
mv "$T/op64.json" "$T/moved/op64.json"
check "put back, best reads it again" status 0 "$TLPX" best "$T/moved.pack" --out "$T/b.json"
sed -i 's/conv2d_layer/conv2d_layeR/' "$T/moved/conv.json" # every line changed, each the same length
check "a source changed since packing is caught" status 1 "$TLPX" best "$T/moved.pack" --out "$T/b2.json"
check "naming the record's line and the change" grep -q "conv.json:[0-9]*: the file changed since the record was read" "$T/err"
# a store read by a running command is its own copy: cut short under it (truncate, a copy over it),
# the command goes on to the end instead of dying of SIGBUS
cp "$S" "$T/cut.pack"
"$TLPX" predict "$M" "$T/cut.pack" --head MI50 -j 1 >"$T/cut.tsv" 2>"$T/cut.err" &
pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q "scoring" "$T/cut.err"; do sleep 0.1; i=$((i + 1)); done # the store is read
kill -STOP $pid # held while the store is cut, so it cannot end first
truncate -s 100000 "$T/cut.pack"
kill -CONT $pid
wait $pid
rc=$?
check "predict over a store truncated while it runs ends well (exit $rc)" test "$rc" = 0
check "printing every record" cmp -s "$T/cut.tsv" "$T/pred.pack"
check "the truncated store is refused when opened again" status 1 "$TLPX" stats "$T/cut.pack"
check "saying it is shorter than its header says" grep -q "shorter than its header says" "$T/err"
# a write that fails (here a file-size limit: a full disk fails the same way) says why, not a later errno
check "pack past a file-size limit fails" status 1 sh -c "trap '' XFSZ; ulimit -f 8; exec '$TLPX' pack '$F' --out '$T/lim.pack' -q"
check "saying the write failed and why" grep -q "lim.pack: write failed: File too large (nothing written)" "$T/err"
cp "$T/base.pack" "$T/lim2.pack"
# the limit just past the store's end (ulimit -f counts 512-byte blocks in POSIX sh): the append fails midway
check "an append past it fails" status 1 sh -c "trap '' XFSZ; ulimit -f $(( ($(stat -c %s "$T/base.pack") + 1023) / 512 )); exec '$TLPX' pack --append 'b=$F/hw-b' --out '$T/lim2.pack' -q"
check "saying why, and that the store is unchanged" grep -q "write failed: File too large (the store is unchanged)" "$T/err"
check "as it is" cmp -s "$T/base.pack" "$T/lim2.pack"
tap_end

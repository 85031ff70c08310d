#!/bin/sh
# serve.sh: `tlpx serve` as a tuner drives it: predict (the same scores as
# tlpx predict, comparable across calls), update (a round of training in the
# background that never holds up a predict), wait, status, save; malformed
# requests and records answered with errors, never a crash; the Unix socket
# with several clients; a stop mid-training keeps the model.  On the embedded
# K80 records (real Ansor logs) and GPU model.
. "${top_srcdir:-.}/tests/lib.sh"
A=${TLPX_ASSETS:-$top_srcdir/assets}
M="$A/mtl-gpu.tlpx"
gzip -dc "$A/roller/K80/conv/ansor_conv2d_128_128_28_28_512_1_1_1_0.log.gz" >"$T/k80.json"
gzip -dc "$A/roller/K80/matmul/"*.log.gz | head -n 40 >"$T/k80mm.json"
N=$(wc -l <"$T/k80.json")
CPU="$top_srcdir/tests/fixtures/train/cpu-c/op32.json"

# --- predict: the scores of tlpx predict, then the same reference ---
{ echo "predict $N K80"; cat "$T/k80.json"; echo "predict 5 K80"; head -n 5 "$T/k80.json"; } >"$T/req"
check "predict: the server answers and exits 0 at the end of its input" status 0 "$TLPX" serve "$M" -q <"$T/req"
cp "$T/out" "$T/ans"
check "predict N: ok N, then N scores" sh -c "head -n 1 '$T/ans' | grep -qx 'ok $N' && sed -n '2,$((N + 1))p' '$T/ans' | grep -cE '^-?[0-9.]+(e[-+][0-9]+)?$' | grep -qx $N"
"$TLPX" predict "$M" "K80=$T/k80.json" --head K80 -q | sed 1d | cut -f5 >"$T/want"
close() { # close A B: the same numbers line by line within 1e-5 (relative to the larger, 1e-5 absolute near 0)
    paste "$1" "$2" | awk -F'\t' '{ d = $1 - $2; if (d < 0) d = -d; m = ($1 < 0 ? -$1 : $1); if (m < 1) m = 1
        if (d > 1e-5 * m) { print "# line " NR ": " $1 " vs " $2; bad++ } } END { exit bad || NR == 0 }'
}
sed -n "2,$((N + 1))p" "$T/ans" >"$T/got"
check "the task's first batch scores as tlpx predict scores it (an ensemble's networks standardised within the task)" close "$T/got" "$T/want"
tail -n 5 "$T/ans" >"$T/again"
head -n 5 "$T/got" >"$T/first"
check "a later batch of the task is scored against the first batch's reference: the same records, the same scores" \
    close "$T/again" "$T/first"

# --- malformed requests and records: an error line each, the server goes on ---
{
    echo "predict 4 K80"; echo '{"i": broken'; head -n 1 "$T/k80.json"; echo '{}'; head -n 1 "$CPU"
    echo "frobnicate"; echo "predict"; echo "predict x"; echo "predict 1 NoSuchHead"; head -n 1 "$T/k80.json"
    printf 'predict 1 K80\n%s' "$(head -n 1 "$T/k80.json")" # no newline: not a whole line
} >"$T/req"
check "malformed records and requests: still exit 0" status 0 "$TLPX" serve "$M" -q <"$T/req"
check "a broken line: error 1 naming why" sed -n 2p "$T/out" | grep -q "^error 1: broken JSON"
check "a good line among them still scored" sh -c "sed -n 3p '$T/out' | grep -qE '^-?[0-9.]+(e[-+][0-9]+)?$'"
check "a record without its input: error 3" grep -q '^error 3: no "i"' "$T/out"
check "a CPU record for a GPU model: error 4 naming the modes" grep -q "^error 4: a cpu record (target llvm.*the model scores gpu records" "$T/out"
check "an unknown request: named, and help pointed to" grep -q '^error unknown request "frobnicate" (help lists them)' "$T/out"
check "predict without N, or a bad N: its usage" sh -c "grep -c '^error usage: predict N \[HEAD\]' '$T/out' | grep -qx 2"
check "an unknown head: named" grep -q '^error no head "NoSuchHead"' "$T/out"
check "input ending inside a request: said" grep -q "^error the input ended inside a request" "$T/out"
head -c 5000 /dev/zero | tr '\0' x >"$T/long"
check "a request line too long: an error, not a hang" sh -c "{ cat '$T/long'; echo; echo status; } | '$TLPX' serve '$M' -q | head -n 1 | grep -q 'over 4096 bytes'"

# --- update: a round in the background, then the model in use is the trained one ---
{
    echo "update 3"; head -n 2 "$T/k80mm.json"; echo 'not json'
    echo "wait"; echo "status"; echo "save $T/saved.tlpx"
    echo "update $(wc -l <"$T/k80mm.json")"; cat "$T/k80mm.json"; echo wait; echo status
} >"$T/req"
check "update, wait, status, save: exit 0" status 0 "$TLPX" serve "$M" --log "$T/log.json" --out "$T/out.tlpx" \
    --epochs 2 <"$T/req"
cp "$T/out" "$T/upd"
check "update: 2 accepted, 1 refused, which and why" sh -c "sed -n 1,2p '$T/upd' | tr '\n' '|' | grep -q '^ok 2 1|error 3: '"
check "wait: answered when the round ends, with the rounds so far" sed -n 3p "$T/upd" | grep -qx "ok 1"
check "status: the hardware's own head scores now, beside the model's" \
    sed -n 4p "$T/upd" | grep -q "heads=local,K80,V100,MI50 scoring=local hardware=local round=1 records=2 training=idle"
check "save: written, a model eval reads" sh -c "sed -n 5p '$T/upd' | grep -q '^ok $T/saved.tlpx round=1' && '$TLPX' eval '$T/saved.tlpx' 'local=$T/k80mm.json' -q"
check "a second update: a second round on every record so far" sh -c "tail -n 1 '$T/upd' | grep -q 'round=2 records=42 '"
check "--out: the last round's model, saved" sh -c "'$TLPX' eval '$T/out.tlpx' 'local=$T/k80mm.json' >/dev/null 2>&1 && '$TLPX' eval '$T/out.tlpx' 'local=$T/k80mm.json' 2>&1 | grep -q 'heads: local K80 V100 MI50'"
check "the log keeps every accepted record, as sent" sh -c "head -n 2 '$T/k80mm.json' | cat - '$T/k80mm.json' | cmp -s - '$T/log.json'"
check "the stderr says each round" sh -c "grep -c 'round [12]: the model in use has been trained' '$T/err' | grep -qx 2"
check "a server on the same log trains on it at once" sh -c "echo status | '$TLPX' serve '$M' --log '$T/log.json' --epochs 1 -q | grep -q 'records=42 training=running'"

# --- a predict is never held up by a training ---
{ echo "update 40"; cat "$T/k80mm.json"; echo "predict 1 K80"; head -n 1 "$T/k80.json"; echo status; } >"$T/req"
cp "$T/out.tlpx" "$T/before.tlpx"
check "predict during a long training: answered at once, the training still running" \
    sh -c "'$TLPX' serve '$M' --epochs 100000 --out '$T/out.tlpx' -q <'$T/req' >'$T/busy'; sed -n 2p '$T/busy' | grep -qx 'ok 1' && tail -n 1 '$T/busy' | grep -q 'round=0 .*training=running'"
check "the end of the input cancels the training: --out as it was" cmp -s "$T/before.tlpx" "$T/out.tlpx"

# --- a Unix socket, several clients; --connect is a client ---
S="$T/s.sock"
"$TLPX" serve "$M" --socket "$S" -q 2>"$T/serr" &
pid=$!
i=0; while [ ! -S "$S" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
{ echo "predict $N K80"; cat "$T/k80.json"; } >"$T/req1"
"$TLPX" serve --connect "$S" <"$T/req1" >"$T/c1" &
c1=$!
echo status | "$TLPX" serve --connect "$S" >"$T/c2"
wait $c1
check "socket: a client's predict answered in full" sh -c "head -n 1 '$T/c1' | grep -qx 'ok $N' && test \$(wc -l <'$T/c1') = $((N + 1))"
check "socket: another client's status answered beside it" grep -q "^ok model=" "$T/c2"
sed 1d "$T/c1" >"$T/got1"
check "socket: the scores a client gets are the same" close "$T/got1" "$T/want"
kill -TERM $pid; wait $pid; st=$?
check "SIGTERM ends the server (128 + 15)" test "$st" = 143
check "and removes its socket" test ! -e "$S"
check "--connect to no server: a clear error" status 1 "$TLPX" serve --connect "$T/none.sock"
check "and says so" grep -q "none.sock: cannot connect" "$T/err"

# --- bad command lines and files ---
check "no MODEL: a usage error" status 2 "$TLPX" serve
head -c 1000 "$M" >"$T/trunc.tlpx"
check "a truncated model: exit 1" status 1 "$TLPX" serve "$T/trunc.tlpx"
check "naming the file" grep -q "trunc.tlpx" "$T/err"
check "an unknown --head: exit 1, the heads listed" status 1 "$TLPX" serve "$M" --head X
check "and says so" grep -q 'no head "X" (heads: K80 V100 MI50)' "$T/err"
check "a log that cannot be opened: exit 1" status 1 "$TLPX" serve "$M" --log "$T/no/such/dir/log.json"
check "and says so" grep -q "cannot open the log" "$T/err"
check "a bad training setting: a usage error" status 2 "$TLPX" serve "$M" --epochs 0
tap_end

#!/bin/sh
# train_cli.sh: drive `tlpx train`, `tlpx eval` and `tlpx predict` on the
# hand-made fixtures of tests/fixtures/train (see make.py there): help, exit
# statuses, messages, the model file, the eval lines, the predict TSV, corrupt
# and missing models, --resume, mixed cpu/gpu data.  Trainings are 1-3 epochs
# of batch 32, so the whole script takes seconds.
. "${top_srcdir:-.}/tests/lib.sh"
D="$top_srcdir/tests/fixtures/train"
has_string() { # has_string FILE S: a checkpoint holds the string S (u32-length-prefixed, no NUL)
    LC_ALL=C tr -c '[:print:]' '\n' <"$1" | grep -qx "$2"
}
FAST="--epochs 1 --batch 32 --quiet"
wait_line() { # wait_line RE FILE PID: until a line of FILE matches RE or the process PID has ended
    i=0 # 10 minutes: a hang guard, not a timing (a loaded machine is slow, not wrong)
    while [ $i -lt 6000 ] && kill -0 "$3" 2>/dev/null && ! grep -q "$1" "$2"; do sleep 0.1; i=$((i + 1)); done
}

# help and usage errors
for c in train eval predict replay; do
    check "$c --help exits 0" status 0 "$TLPX" $c --help
    check "$c --help shows usage" grep -q "^usage: tlpx $c" "$T/out"
done
check "train without --out is a usage error" status 2 "$TLPX" train "$D/hw-a"
check "and says --out is required" grep -q -- "--out MODEL is required" "$T/err"
check "train without DATA is a usage error" status 2 "$TLPX" train --out "$T/x.tlpx"
check "train: unknown option is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --bogus
check "and names it" grep -q -- "unknown option --bogus" "$T/err"
check "train: bad --loss is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --loss hinge
check "and names the value" grep -q '"hinge"' "$T/err"
check "train: bad --pairs is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --pairs all
check "train: bad --split is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --split file
check "train: --epochs 0 is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --epochs 0
check "train: --batch 1 is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --batch 1
check "train: --lr 0 is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --lr 0
check "train: --mode tpu is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --mode tpu
check "train: --epochs without a value is a usage error" status 2 "$TLPX" train "$D/hw-a" --out "$T/x.tlpx" --epochs
check "train: --heads naming a missing hardware fails" status 1 "$TLPX" train "$D/hw-a" "$D/hw-b" --out "$T/x.tlpx" --heads hw-a,nope
check "and names it" grep -q 'no gpu records of hardware "nope"' "$T/err"
check "and lists the hardware present" grep -q "have: hw-a hw-b" "$T/err"
check "nothing written after a usage error" test ! -e "$T/x.tlpx"
check "eval without DATA is a usage error" status 2 "$TLPX" eval "$T/x.tlpx"
check "eval: unknown option is a usage error" status 2 "$TLPX" eval "$T/x.tlpx" "$D/hw-a" "$D/hw-b" "$D/cpu-c" --bogus
check "predict without DATA is a usage error" status 2 "$TLPX" predict "$T/x.tlpx"
check "predict: --per-task is not a predict option" status 2 "$TLPX" predict "$T/x.tlpx" "$D/hw-a" "$D/hw-b" "$D/cpu-c" --per-task

# mixed cpu and gpu data
check "train on cpu and gpu data without --mode is a usage error" status 2 "$TLPX" train "$D/hw-a" "$D/hw-b" "$D/cpu-c" --out "$T/x.tlpx" $FAST
check "and says to pick a mode" grep -q -- "--mode" "$T/err"

# the model the rest uses: both gpu hardware, from the mixed directory with --mode gpu
check "train --mode gpu on the mixed data" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" "$D/cpu-c" --mode gpu --out "$T/m.tlpx" --epochs 3 --batch 32 --seed 1
check "train says what it trains on" grep -q "^training gpu model (recipe custom, an ensemble of networks of log,prog tokens) on 211 samples (110 with several labels), heads: hw-a (161 labels) hw-b (160 labels)" "$T/err"
check "one progress line per epoch of each network" test "$(grep -c '^network [12]/2 ([a-z]*) epoch [1-3]/3: loss ' "$T/err")" -eq 6
check "naming the network: log, then prog" sh -c "sed -n 's/^network \\([12]\\/2 ([a-z]*)\\) epoch.*/\\1/p' '$T/err' | uniq | tr '\n' ' ' | grep -qx '1/2 (log) 2/2 (prog) '"
check "train says wrote" grep -q "^wrote $T/m.tlpx: an ensemble of 2 networks (log,prog tokens), each 3 epochs (the last kept by last: epoch 3)" "$T/err"
check "the model file is there" test -s "$T/m.tlpx"
check "no temporary file left behind" test "$(ls -A "$T" | grep -c 'm\.tlpx\.tlpx-tmp')" -eq 0

# eval
check "eval the model" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b"
cp "$T/out" "$T/eval"
check "eval says what it is scoring, every head in one pass (no silent seconds)" grep -qx "tlpx: scoring 321 records with heads hw-a, hw-b" "$T/err"
check "eval on 1 and 3 threads prints the same" sh -c "'$TLPX' eval '$T/m.tlpx' '$D/hw-a' '$D/hw-b' -j 1 -q >'$T/e1' && '$TLPX' eval '$T/m.tlpx' '$D/hw-a' '$D/hw-b' -j 3 -q >'$T/e3' && cmp '$T/e1' '$T/e3'"
check "-j1 is -j 1 (a short option's value attached, as getopt takes it)" sh -c "'$TLPX' eval '$T/m.tlpx' '$D/hw-a' '$D/hw-b' -j1 -q >'$T/e1b' && cmp '$T/e1' '$T/e1b'"
check "an unknown short option stays an error" status 2 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" -x1
check "eval names the model, its mode, heads and recipe" grep -q "^model $T/m.tlpx: gpu, heads: hw-a hw-b (recipe custom, log,prog tokens, one network each, epoch 3 of 3 kept, weights averaged over up to 3 epochs)$" "$T/eval"
check "eval: head hw-a: 4 tasks and their records" grep -q "^head hw-a: 4 tasks, 161 records (0 failed)$" "$T/eval"
check "eval: head hw-b: 4 tasks" grep -q "^head hw-b: 4 tasks, 160 records " "$T/eval"
# top-k rows: mean, pooled in (0,1], failed picks a count, the random order's
# mean in (0,1] and pooled in [0,1] (hw-b has a failed record: at 1e10 s it
# drags the random order's pooled latency to ~0)
row='$1 == "top-1" || $1 == "top-5" { if ($2 > 0 && $2 <= 1 && $3 > 0 && $3 <= 1 && $4 ~ /^[0-9]+$/ && $6 > 0 && $6 <= 1 && $7 >= 0 && $7 <= 1) good++; n++ } END { exit !(n == 4 && good == 4) }'
check "eval: top-1 and top-5 rows for both heads, model and random in range" awk "$row" "$T/eval"
check "eval: the failed record drags the random pooled top-1 of hw-b below 1e-3" awk '/^head hw-b/ { b = 1 } b && $1 == "top-1" { exit !($7 < 0.001); }' "$T/eval"
check "eval: the random order's top-5 beats its top-1" awk '$1 == "top-1" { r1 = $6 } $1 == "top-5" { if ($6 > r1) good++ } END { exit good != 2 }' "$T/eval"
check "eval: the model learnt to rank (pair-acc > 0.6 on both heads)" \
    awk '$1 == "pair-acc" { n++; if ($2 > 0.6) good++ } END { exit !(n == 2 && good == 2) }' "$T/eval"
check "eval --tsv" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --tsv
check "eval --tsv: the header" test "$(head -n 1 "$T/out")" = "$(printf 'head\ttasks\trecords\tmetric\tmean\tpooled\tfailed_picks\trandom_mean\trandom_pooled\trandom_failed_picks')"
check "eval --tsv: 4 rows per head, 10 columns (and in-sample)" awk -F '\t' 'NR > 1 && $4 != "in-sample" { n[$1]++ } NR > 1 { if (NF != 10) bad++ } END { exit !(n["hw-a"] == 4 && n["hw-b"] == 4 && !bad) }' "$T/out"
# the model was trained on these tasks but those held out for validation: said
check "eval --tsv: the tasks the model was trained on are counted" awk -F '\t' '$4 == "in-sample" { n++; if ($5 < 1 || $5 > $2) bad++ } END { exit !(n >= 1 && !bad) }' "$T/out"
check "and the table says so" grep -q "^  in-sample: [0-9]* of these 4 tasks are the model's training tasks" "$T/eval"
check "eval --tsv: the same top-1 mean as the table" sh -c "test \"\$(awk -F '\t' '\$1 == \"hw-a\" && \$4 == \"top-1\" { printf \"%.4f\", \$5 }' '$T/out')\" = \"\$(awk '\$1 == \"top-1\" { print \$2; exit }' '$T/eval')\""
check "eval --per-task" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --per-task
check "eval --per-task: a header" grep -q "^task *hardware *head *n *failed *top-1 *top-5 *rand-1 *pair-acc *tau *workload" "$T/out"
check "eval --per-task: one row per task" test "$(grep -c -E '^[0-9]+ +hw-[ab] +hw-[ab] +[0-9]+ ' "$T/out")" -eq 8
check "eval --per-task: each task once" test "$(grep -E '^[0-9]+ +hw-[ab] ' "$T/out" | awk '{ print $1 }' | sort -u | wc -l)" -eq 8
check "eval --per-task: SAME conv on hw-a" grep -q -E '^[0-9]+ +hw-a +hw-a +40 .*conv2d_layer\(1, 16, 14, 14, 32, 3, 3, 1, "SAME"\)' "$T/out"
check "eval --by-op" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --by-op
check "eval --by-op: a table under each head" test "$(grep -c '^  by operator: .*tasks *top-1 *top-5 *rand-1 *failed *pair-acc$' "$T/out")" -eq 2
check "eval --by-op: each head's tasks by operator (1 conv, 3 of the other)" \
    awk '$1 == "conv2d_layer" && $2 == 1 { c++ } $1 == "tlpx_train_op" && $2 == 3 { o++ } END { exit !(c == 2 && o == 2) }' "$T/out"
check "eval --by-op --tsv" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --by-op --tsv
# the operators' means, weighted by their tasks, are the head's mean (model and random)
ops='$1 !~ /:/ && NR > 1 { all[$1 SUBSEP $4] = $5; rall[$1 SUBSEP $4] = $8; next }
     NR > 1 { split($1, p, ":"); k = p[1] SUBSEP $4; s[k] += $2 * $5; r[k] += $2 * $8; n[k] += $2 }
     END { for (k in all) if (k in n) { m++; if ((s[k] / n[k] - all[k])^2 > 1e-10 || (r[k] / n[k] - rall[k])^2 > 1e-10) bad++ }
           exit !(m == 8 && !bad) }'
check "eval --by-op --tsv: the operators' task-weighted means are the head's" awk -F '\t' "$ops" "$T/out"
check "eval --k 1,2,3" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-b" --k 1,2,3
check "eval --k: one row per k" test "$(grep -c -E '^  top-[123] ' "$T/out")" -eq 3
check "eval --k 0 is a usage error" status 2 "$TLPX" eval "$T/m.tlpx" "$D/hw-b" --k 0
check "eval --head hw-b scores every task with that head" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --head hw-b
check "eval --head: one head line, all 8 tasks" test "$(grep -c '^head hw-b: 8 tasks, ' "$T/out")" -eq 1 -a "$(grep -c '^head ' "$T/out")" -eq 1
check "eval --head with an unknown head fails" status 1 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" --head nope
check "and lists the heads" grep -q 'no head "nope" (heads: hw-a hw-b)' "$T/err"
check "eval on mixed data scores the gpu tasks" status 0 "$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" "$D/cpu-c"
check "eval on mixed data: both heads" test "$(grep -c '^head hw-[ab]: 4 tasks, ' "$T/out")" -eq 2
check "eval a gpu model on cpu data fails" status 1 "$TLPX" eval "$T/m.tlpx" "$D/cpu-c"
check "and says why" grep -q "no gpu tasks" "$T/err"

# predict
check "predict" status 0 "$TLPX" predict "$T/m.tlpx" "$D/hw-a" "$D/hw-b"
cp "$T/out" "$T/pred"
check "predict: the header" test "$(head -n 1 "$T/pred")" = "$(printf 'task\thardware\trecord\tmeasured_cost\tpredicted_score\tpredicted_rank')"
check "predict: one row per record" test "$(tail -n +2 "$T/pred" | wc -l)" -eq 321
check "predict: six columns everywhere" awk -F '\t' 'NF != 6 { bad++ } END { exit bad > 0 }' "$T/pred"
check "predict: record is file:line" awk -F '\t' 'NR > 1 && $3 !~ /\/hw-[ab]\/[a-z0-9]+\.json:[0-9]+$/ { bad++ } END { exit bad > 0 }' "$T/pred"
# ranks within each (task, hardware) are a permutation of 1..n
perm='NR > 1 { k = $1 SUBSEP $2; n[k]++; if (seen[k, $6]++) dup++; if ($6 > max[k]) max[k] = $6; if ($6 < 1) dup++ }
      END { for (k in n) { tasks++; if (max[k] != n[k]) dup++ }; exit !(dup == 0 && tasks == want) }'
check "predict: ranks within each task are a permutation of 1..n" awk -F '\t' -v want=8 "$perm" "$T/pred"
check "predict: rank 1 has the task's highest score" awk -F '\t' 'NR > 1 { k = $1 SUBSEP $2; if (!(k in top) || $5 > top[k]) top[k] = $5; if ($6 == 1) r1[k] = $5 }
      END { for (k in top) if (r1[k] != top[k]) bad++; exit bad > 0 }' "$T/pred"
check "predict --head hw-a" status 0 "$TLPX" predict "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --head hw-a
check "predict --head: every record" test "$(tail -n +2 "$T/out" | wc -l)" -eq 321
check "predict --head with an unknown head fails" status 1 "$TLPX" predict "$T/m.tlpx" "$D/hw-a" --head nope
check "predict on mixed data: only the gpu records" status 0 "$TLPX" predict "$T/m.tlpx" "$D/hw-a" "$D/hw-b" "$D/cpu-c"
check "predict on mixed data: 321 rows" test "$(tail -n +2 "$T/out" | wc -l)" -eq 321
check "predict a gpu model on cpu data fails" status 1 "$TLPX" predict "$T/m.tlpx" "$D/cpu-c"

# replay: trials to come near the best in the log's order and the model's
check "replay" status 0 "$TLPX" replay "$T/m.tlpx" "$D/hw-a" "$D/hw-b" -q
check "replay: the header" test "$(head -n 1 "$T/out")" = "$(printf 'task\thardware\tcandidates\tlog_trials\tmodel_trials\tgain\tlog_trials_best\tmodel_trials_best\tworkload')"
check "replay: a row per task, trials within 1..candidates" awk -F '\t' 'NR > 1 && !/^#/ { n++; if ($4 < 1 || $4 > $3 || $5 < 1 || $5 > $3 || $7 < $4 || $8 < $5) bad++ } END { exit !(n == 8 && !bad) }' "$T/out"
check "replay: gain = log / model trials" awk -F '\t' 'NR > 1 && !/^#/ { g = $4 / $5; if ((g - $6) ^ 2 > 1e-4 * g * g) bad++ } END { exit bad > 0 }' "$T/out"
check "replay: the summary" grep -q "^# 8 tasks; to within 5% of the best: median trials log [0-9.]*, model [0-9.]*; geometric mean gain [0-9.]*x$" "$T/out"
check "replay: the trained model finds near-best programs sooner than the log" awk '/geometric mean gain/ { g = $NF; sub(/x/, "", g); exit !(g > 1) }' "$T/out"
check "replay --within 0: the best itself" status 0 "$TLPX" replay "$T/m.tlpx" "$D/hw-a" --within 0 -q
check "replay --within 0: trials = trials to the best" awk -F '\t' 'NR > 1 && !/^#/ && ($4 != $7 || $5 != $8) { bad++ } END { exit bad > 0 }' "$T/out"
check "replay --within -1 is a usage error" status 2 "$TLPX" replay "$T/m.tlpx" "$D/hw-a" --within -1
"$TLPX" predict "$T/m.tlpx" "$D/hw-a" "$D/hw-b" -q >"$T/pred-r"
"$TLPX" replay "$T/m.tlpx" "$D/hw-a" "$D/hw-b" -q >"$T/rep-m"
check "replay --scores the predictions" status 0 "$TLPX" replay --scores "$T/pred-r" "$D/hw-a" "$D/hw-b" -q
check "the same replay as with the model" cmp "$T/out" "$T/rep-m"

# eval --scores: predictions from a file, scored by the same code
check "eval --scores the predict output" status 0 "$TLPX" eval --scores "$T/pred" "$D/hw-a" "$D/hw-b" --tsv
tail -n +2 "$T/out" >"$T/s1"
"$TLPX" eval "$T/m.tlpx" "$D/hw-a" "$D/hw-b" --tsv -q | tail -n +2 | grep -v "	in-sample	" >"$T/s2"
check "the same figures as eval with the model" cmp "$T/s1" "$T/s2"
check "(a scores file does not know what a model was trained on)" sh -c "! grep -q in-sample '$T/s1'"
check "eval --scores --head hw-b: one hardware" status 0 "$TLPX" eval --scores "$T/pred" "$D/hw-a" "$D/hw-b" --head hw-b --tsv
check "only hw-b rows" test "$(tail -n +2 "$T/out" | cut -f1 | sort -u)" = hw-b
grep -v 'op64' "$T/pred" >"$T/pred-part"
check "eval --scores with records missing" status 0 "$TLPX" eval --scores "$T/pred-part" "$D/hw-a" "$D/hw-b"
check "says which tasks are left out" grep -q "records of DATA have no score; their [0-9]* tasks\{0,1\} .* left out" "$T/err"
printf 'task\thw\trecord\tcost\tscore\nk\thw-a\t%s/hw-a/op64.json:999\t1\t0.5\n' "$D" >"$T/pred-bad"
check "a record that is not in DATA is an error" status 1 "$TLPX" eval --scores "$T/pred-bad" "$D/hw-a"
check "naming the file and line" grep -q "pred-bad:2: .*op64.json:999 is not a record of the DATA given" "$T/err"
printf 'just one column\n\nx\ty\n' >"$T/pred-bad"
check "a malformed line is an error" status 1 "$TLPX" eval --scores "$T/pred-bad" "$D/hw-a"
check "naming the line" grep -q "pred-bad:3: expected task, hardware, file:line, cost, score" "$T/err"
check "a missing scores file is an error" status 1 "$TLPX" eval --scores "$T/none.tsv" "$D/hw-a"

# corrupt and missing models
head -c 2000 "$T/m.tlpx" >"$T/short.tlpx"
check "eval of a truncated model fails" status 1 "$TLPX" eval "$T/short.tlpx" "$D/hw-a"
check "and names the file" grep -q "$T/short.tlpx" "$T/err"
check "predict of a truncated model fails" status 1 "$TLPX" predict "$T/short.tlpx" "$D/hw-a"
check "and names the file" grep -q "$T/short.tlpx" "$T/err"
check "and prints no rows" test ! -s "$T/out"
cp "$T/m.tlpx" "$T/flip.tlpx"
size=$(wc -c <"$T/m.tlpx")
printf 'X' | dd of="$T/flip.tlpx" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
check "eval of a model with a changed byte fails" status 1 "$TLPX" eval "$T/flip.tlpx" "$D/hw-a"
check "and names the file" grep -q "$T/flip.tlpx" "$T/err"
check "eval of a record file as a model fails" status 1 "$TLPX" eval "$D/hw-a/op64.json" "$D/hw-a"
check "eval of a missing model fails" status 1 "$TLPX" eval "$T/none.tlpx" "$D/hw-a"
check "and names it" grep -q "$T/none.tlpx" "$T/err"
check "predict of a missing model fails" status 1 "$TLPX" predict "$T/none.tlpx" "$D/hw-a"
check "and names it" grep -q "$T/none.tlpx" "$T/err"
check "train --resume of a missing model fails" status 1 "$TLPX" train "$D/hw-a" --resume "$T/none.tlpx" --out "$T/x.tlpx" $FAST
check "train to an unwritable place fails" status 1 "$TLPX" train "$D/hw-a" --out /nonexistent/tlpx/m.tlpx $FAST
check "and names it" grep -q "/nonexistent/tlpx/m.tlpx" "$T/err"

# --resume
check "train 1 epoch (mse, seed 5)" status 0 "$TLPX" train "$D/hw-a" --out "$T/r1.tlpx" --epochs 1 --batch 32 --loss mse --seed 5 --encode log
check "the first model records --loss mse" has_string "$T/r1.tlpx" mse
check "--resume to 2 epochs (one network)" status 0 "$TLPX" train "$D/hw-a" --resume "$T/r1.tlpx" --epochs 2 --out "$T/r2.tlpx"
check "resumed: says wrote" grep -q "^wrote $T/r2.tlpx: epoch [12] of 2 kept" "$T/err"
check "resumed: one more epoch, the second" grep -q "^epoch 2/2: loss " "$T/err"
check "resumed: not the first epoch again" test "$(grep -c '^epoch 1/2' "$T/err")" -eq 0
check "the resumed model loads" status 0 "$TLPX" eval "$T/r2.tlpx" "$D/hw-a"
check "--resume keeps the model's --loss (mse), not the default" has_string "$T/r2.tlpx" mse
# other data under the same head's name: refused, not resumed silently on another split
check "--resume with other data is refused" status 1 "$TLPX" train "hw-a=$D/hw-b" --resume "$T/r1.tlpx" --epochs 2 --out "$T/rx.tlpx"
check "saying the training tasks are not the resumed training's, with the counts" \
    grep -q "the training tasks are not those of the resumed training: head hw-a had [0-9]*; [0-9]* of them are missing here and [1-9][0-9]* are new" "$T/err"
check "and writing nothing" test ! -e "$T/rx.tlpx"
check "--resume with part of the data is refused too" status 1 "$TLPX" train "$D/hw-a/conv.json" "$D/hw-a/op64.json" --resume "$T/r1.tlpx" --epochs 2 --out "$T/rx.tlpx"
check "saying tasks are missing" grep -q "[1-9] of them are missing here" "$T/err"
# recipe tlpx on gpu records keeps the mean of the last 3 epochs: a resumed
# run goes on from the last epoch's own weights and ends where one run ends
check "recipe tlpx's prog network, 3 epochs in one run" status 0 "$TLPX" train "$D/hw-a" --out "$T/u3.tlpx" --epochs 3 --batch 32 --seed 9 --encode prog --quiet
check "1 epoch" status 0 "$TLPX" train "$D/hw-a" --out "$T/h1.tlpx" --epochs 1 --batch 32 --seed 9 --encode prog --quiet
check "resumed to 3" status 0 "$TLPX" train "$D/hw-a" --resume "$T/h1.tlpx" --epochs 3 --out "$T/r3.tlpx" --quiet
"$TLPX" predict "$T/u3.tlpx" "$D/hw-a" >"$T/pu" 2>/dev/null
"$TLPX" predict "$T/r3.tlpx" "$D/hw-a" >"$T/pr" 2>/dev/null
check "the resumed model predicts what the one run's does" cmp -s "$T/pu" "$T/pr"
check "(over every record)" test "$(wc -l <"$T/pu")" -gt 100

# heads: order, names, cpu
check "--heads hw-b,hw-a" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" --heads hw-b,hw-a --out "$T/ba.tlpx" $FAST
check "eval shows the heads in that order" status 0 "$TLPX" eval "$T/ba.tlpx" "$D/hw-a" "$D/hw-b"
check "heads: hw-b hw-a" grep -q "^model $T/ba.tlpx: gpu, heads: hw-b hw-a (" "$T/out"
check "--heads hw-a,hw-a (a head twice) is refused" sh -c "! '$TLPX' train '$D/hw-a' --heads hw-a,hw-a --out '$T/aa.tlpx' $FAST"
check "NAME=PATH names the head" status 0 "$TLPX" train "K80=$D/hw-a" --out "$T/k.tlpx" $FAST
check "eval shows the head K80" status 0 "$TLPX" eval "$T/k.tlpx" "K80=$D/hw-a"
check "K80 scored" grep -q "^head K80: 4 tasks, " "$T/out"
check "train --mode cpu on the mixed data" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" "$D/cpu-c" --mode cpu --out "$T/c.tlpx" $FAST
check "predict with the cpu model: only the cpu records" status 0 "$TLPX" predict "$T/c.tlpx" "$D/hw-a" "$D/hw-b" "$D/cpu-c"
check "20 cpu rows, ranks 1..20" awk -F '\t' -v want=1 "$perm" "$T/out"
check "cpu rows are cpu-c" test "$(grep -c "	cpu-c	" "$T/out")" -eq 20
# heads for hardware named otherwise: by the target the head was trained on, else said
check "hardware of another name, measured with the head's target (-mcpu=)" status 0 "$TLPX" eval "$T/c.tlpx" "mine=$D/cpu-c"
check "is scored by that head" grep -q "^head cpu-c: 1 tasks" "$T/out"
check "without a word on stderr" sh -c "! grep -q 'no head' '$T/err'"
check "hardware no head matches" status 0 "$TLPX" eval "$T/m.tlpx" "K80=$D/hw-a" -q
check "is scored by the first head, and stderr says so" grep -q "^tlpx: $T/m.tlpx: no head for K80: scored by head hw-a (--head HW to choose)" "$T/err"

# cross-validation by task: folds are disjoint, cover every task, agree across commands
for k in 1 2 3; do
    "$TLPX" tokens "$D/hw-a" "$D/hw-b" --fold $k/3 -q 2>/dev/null | tail -n +2 | awk '{ $1 = ""; print }' >"$T/fold$k"
done
check "folds 1-3 of 3 together hold the 8 tasks once each" test "$(cat "$T/fold1" "$T/fold2" "$T/fold3" | sort | uniq | wc -l)" -eq 8 -a "$(cat "$T/fold1" "$T/fold2" "$T/fold3" | wc -l)" -eq 8
check "a task is in the same fold on both hardware" sh -c "for k in 1 2 3; do test \"\$(grep -c hw-a '$T/fold'\$k)\" -eq \"\$(grep -c hw-b '$T/fold'\$k)\" || exit 1; done"
"$TLPX" tokens "$D/hw-a" "$D/hw-b" --except-fold 2/3 -q | tail -n +2 | awk '{ $1 = ""; print }' >"$T/notfold2"
check "--except-fold 2/3 is folds 1 and 3" test "$(sort "$T/notfold2")" = "$(cat "$T/fold1" "$T/fold3" | sort)"
check "--fold 4/3 is a usage error" status 2 "$TLPX" stats "$D/hw-a" --fold 4/3
check "and says K/N" grep -q "K/N" "$T/err"
check "--fold 0/3 is a usage error" status 2 "$TLPX" stats "$D/hw-a" --fold 0/3
check "--fold with --except-fold is a usage error" status 2 "$TLPX" stats "$D/hw-a" --fold 1/2 --except-fold 2/2
# the fold with the most tasks is held out
big=1
for k in 2 3; do [ "$(wc -l <"$T/fold$k")" -gt "$(wc -l <"$T/fold$big")" ] && big=$k; done
nb=$(wc -l <"$T/fold$big")
check "train on all but fold $big/3" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" --except-fold $big/3 --out "$T/f.tlpx" $FAST
check "eval on fold $big/3 scores its $nb tasks only" status 0 "$TLPX" eval "$T/f.tlpx" "$D/hw-a" "$D/hw-b" --fold $big/3 --tsv
check "as many tasks as the fold holds" test "$(awk -F '\t' 'NR > 1 && $4 == "top-1" { n += $2 } END { print n }' "$T/out")" -eq "$nb"
check "the model file notes its command line, fold included" sh -c "LC_ALL=C tr -c '[:print:]' '\n' <'$T/f.tlpx' | grep -q -- '^tlpx [0-9.]* train .*--except-fold $big/3'"
check "an empty fold says so" sh -c "for k in 1 2 3; do test -s '$T/fold'\$k || { '$TLPX' stats '$D/hw-a' '$D/hw-b' --fold \$k/3 2>&1 | grep -q 'no records in fold '\$k'/3 of the DATA given'; exit; }; done"

# writing the model: never over a device, a directory or through a dangling link;
# a symbolic link is followed; the mode is kept; stale temporaries go
check "--out /dev/null is refused before training" status 1 "$TLPX" train "$D/hw-a" --out /dev/null --epochs 50
check "saying why" grep -q "/dev/null: a character device, not a regular file: refusing to replace it" "$T/err"
check "and no epoch ran" sh -c "! grep -q '^epoch' '$T/err'"
check "/dev/null is still a device" test -c /dev/null
mkdir "$T/adir"
check "--out a directory is refused" status 1 "$TLPX" train "$D/hw-a" --out "$T/adir" $FAST
check "--out in a missing directory is refused before training" status 1 "$TLPX" train "$D/hw-a" --out "$T/nodir/m.tlpx" --epochs 50
check "saying why" grep -q "cannot write in $T/nodir" "$T/err"
cp "$T/m.tlpx" "$T/target.tlpx"
chmod 640 "$T/target.tlpx"
ln -s target.tlpx "$T/link.tlpx"
touch -d '2 hours ago' "$T/.target.tlpx.tlpx-tmp.AbCdEf"
echo mine >"$T/target.tlpx.tmp.backup" && touch -d '2 hours ago' "$T/target.tlpx.tmp.backup"
check "--out through a symbolic link" status 0 "$TLPX" train "$D/hw-a" --out "$T/link.tlpx" $FAST
check "the link is still a link" test -L "$T/link.tlpx"
check "to the file it led to, now the new model" sh -c "! cmp -s '$T/m.tlpx' '$T/target.tlpx'"
check "which kept its mode (640)" test "$(stat -c %a "$T/target.tlpx")" = 640
check "a stale temporary of an earlier save is gone" test ! -e "$T/.target.tlpx.tlpx-tmp.AbCdEf"
check "a user's file of a like name stays" test "$(cat "$T/target.tlpx.tmp.backup")" = mine
ln -s nowhere.tlpx "$T/dangling.tlpx"
check "--out a dangling link is refused" status 1 "$TLPX" train "$D/hw-a" --out "$T/dangling.tlpx" $FAST

# a diverged training: its non-finite weights are never kept, the last finite model is, and it says so
check "a training whose weights turn non-finite fails" status 1 "$TLPX" train "$D/hw-a" --encode raw --loss mse --lr 9.9 --epochs 2 --out "$T/div.tlpx" -q
check "saying when, keeping the previous model" grep -q "the weights became non-finite in epoch 2 .*the previous model is kept" "$T/err"
check "whose scores are all numbers" status 0 "$TLPX" eval "$T/div.tlpx" "$D/hw-a" -q
check "(eval has nothing to warn of)" sh -c "! grep -q 'NaN or infinite' '$T/err'"

# an interrupted training keeps its model and says how to go on
for sig in INT TERM; do
    rm -f "$T/sig.tlpx"
    : >"$T/sig.err" # emptied here: the loop below must not read the last round's before the child truncates it
    "$TLPX" train "$D/hw-a" "$D/hw-b" --out "$T/sig.tlpx" --epochs 100000 --batch 32 --encode log >"$T/sig.out" 2>"$T/sig.err" &
    pid=$!
    wait_line '^epoch 2/' "$T/sig.err" $pid
    check "SIG$sig: the model was saved after the first epochs" test -s "$T/sig.tlpx"
    kill -$sig $pid
    wait $pid
    rc=$?
    want=130; [ $sig = TERM ] && want=143
    check "SIG$sig: exit $want" test "$rc" = $want
    check "SIG$sig: says where the model is and how to go on" grep -q "the model of epoch [0-9]* is in $T/sig.tlpx; .*--resume $T/sig.tlpx" "$T/sig.err"
    check "SIG$sig: the file loads" status 0 "$TLPX" eval "$T/sig.tlpx" "$D/hw-a"
done
# on from the epoch the file holds, however many the run made before the signal
N=$(sed -n "s|.*the model of epoch \([0-9]*\) is in $T/sig.tlpx;.*|\1|p" "$T/sig.err" | tail -1)
N=${N:-0}
check "--resume continues the interrupted run" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" --resume "$T/sig.tlpx" --epochs $((N + 4)) --out "$T/sig2.tlpx"
check "from the epoch after the one saved" sh -c "test \$(grep -c '^epoch [0-9]*/$((N + 4))' '$T/err') = 4 && grep -q '^epoch $((N + 1))/$((N + 4)):' '$T/err'"
check "no temporary file left behind" test "$(ls -A "$T" | grep -c 'tlpx-tmp')" -eq 0

# an ensemble (the default recipe's two networks) interrupted in its second
# network: --resume goes on there and ends where one run ends
E4="--epochs 4 --batch 32 --seed 4"
rm -f "$T/esig.tlpx"
: >"$T/esig.err"
"$TLPX" train "$D/hw-a" --out "$T/esig.tlpx" $E4 >"$T/esig.out" 2>"$T/esig.err" &
pid=$!
wait_line '^network 2/2 (prog) epoch 1/4' "$T/esig.err" $pid
kill -INT $pid
wait $pid
check "SIGINT in network 2: exit 130" test $? = 130
check "says which network and what the file holds" grep -q "^tlpx train: interrupted in network 2 of 2: 1 finished network and the kept epoch of the one in training are in $T/esig.tlpx" "$T/esig.err"
check "eval of it: one of two finished" sh -c "'$TLPX' eval '$T/esig.tlpx' '$D/hw-a' -q | grep -q 'log,prog tokens, one network each, 1 of 2 finished (2 in the model)'"
check "--resume goes on in network 2" status 0 "$TLPX" train "$D/hw-a" --resume "$T/esig.tlpx" --out "$T/esig2.tlpx"
check "not network 1 again" test "$(grep -c '^network 1/2' "$T/err")" -eq 0
check "an --epochs that differs is refused" status 1 "$TLPX" train "$D/hw-a" --resume "$T/esig.tlpx" --epochs 6 --out "$T/x.tlpx"
check "saying why" grep -q "the networks of an ensemble train for the same epochs: 4" "$T/err"
check "the same training in one run" status 0 "$TLPX" train "$D/hw-a" --out "$T/eone.tlpx" $E4 -q
"$TLPX" predict "$T/eone.tlpx" "$D/hw-a" >"$T/pe1" 2>/dev/null
"$TLPX" predict "$T/esig2.tlpx" "$D/hw-a" >"$T/pe2" 2>/dev/null
check "the resumed ensemble predicts what the one run's does" cmp -s "$T/pe1" "$T/pe2"
check "(over every record)" test "$(wc -l <"$T/pe1")" -gt 100
check "a finished ensemble's --resume is refused" status 1 "$TLPX" train "$D/hw-a" --resume "$T/eone.tlpx" --out "$T/x.tlpx"
check "saying it is trained" grep -q "the model's 2 networks are trained already (4 epochs each)" "$T/err"
# each network as a training of its encoding alone: what bench/quality.sh measured apart
check "--encode log alone" status 0 "$TLPX" train "$D/hw-a" --out "$T/elog.tlpx" $E4 --encode log -q
check "--encode prog alone" status 0 "$TLPX" train "$D/hw-a" --out "$T/eprog.tlpx" $E4 --encode prog -q
check "tlpx ensemble of the two" status 0 "$TLPX" ensemble "$T/elog.tlpx" "$T/eprog.tlpx" --out "$T/eapart.tlpx" -q
"$TLPX" predict "$T/eapart.tlpx" "$D/hw-a" >"$T/pe3" 2>/dev/null
check "predicts what the one run's ensemble does, bit for bit" cmp -s "$T/pe1" "$T/pe3"

# the same training on 1 and 2 threads writes the same file
check "train on 1 thread" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" --out "$T/j1.tlpx" --epochs 2 --batch 150 --threads 1 -q
check "train on 2 threads" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" --out "$T/j2.tlpx" --epochs 2 --batch 150 -j 2
check "the two model files are byte for byte the same" cmp "$T/j1.tlpx" "$T/j2.tlpx"

# recipes
check "--recipe tlp" status 0 "$TLPX" train "$D/hw-a" --recipe tlp --out "$T/tlp.tlpx" --epochs 1 --seed 3
check "the file records recipe tlp" has_string "$T/tlp.tlpx" tlp
check "the seed and the epochs do not make a recipe custom" grep -q "recipe tlp, raw tokens" "$T/err"
check "eval shows recipe tlp, raw tokens" status 0 "$TLPX" eval "$T/tlp.tlpx" "$D/hw-a"
check "(recipe tlp, raw tokens, ...)" grep -q "(recipe tlp, raw tokens, epoch 1 of 1 kept)" "$T/out"
check "--recipe tlp --encode log is a custom recipe" status 0 "$TLPX" train "$D/hw-a" --recipe tlp --encode log --out "$T/c2.tlpx" $FAST
check "eval shows custom, log tokens" status 0 "$TLPX" eval "$T/c2.tlpx" "$D/hw-a"
check "(recipe custom, log tokens ...)" grep -q "(recipe custom, log tokens" "$T/out"
check "--recipe nope is a usage error" status 2 "$TLPX" train "$D/hw-a" --recipe nope --out "$T/x.tlpx" $FAST
check "and names the recipes" grep -q "tlp, tlpx" "$T/err"
check "--encode prog: tokens and a program row" status 0 "$TLPX" train "$D/hw-a" --encode prog --out "$T/prog.tlpx" $FAST
check "eval shows prog tokens" status 0 "$TLPX" eval "$T/prog.tlpx" "$D/hw-a"
check "(recipe custom, prog tokens ...)" grep -q "(recipe custom, prog tokens" "$T/out"
check "a prog model predicts" status 0 "$TLPX" predict "$T/prog.tlpx" "$D/hw-a"
check "a score a program" sh -c "test \$(grep -c . '$T/out') -gt 10"
check "--init from a log model on gpu records" status 0 "$TLPX" train "$D/hw-a" --init "$T/c2.tlpx" --out "$T/init-log.tlpx" --epochs 1 --batch 32
check "says it trains log tokens (the model's), not the recipe's prog" grep -q "^training gpu model (recipe [a-z]*, log tokens)" "$T/err"
check "--init from a prog model" status 0 "$TLPX" train "$D/hw-a" --init "$T/prog.tlpx" --out "$T/prog2.tlpx" $FAST
check "fine-tunes it with its program row" status 0 "$TLPX" eval "$T/prog2.tlpx" "$D/hw-a"
check "(prog tokens)" grep -q "prog tokens" "$T/out"
# ensembles: networks of one mode and heads as one model
check "ensemble of a log and a prog model" status 0 "$TLPX" ensemble "$T/c2.tlpx" "$T/prog.tlpx" --out "$T/ens.tlpx"
check "says what it combined" grep -q "an ensemble of 2 networks: $T/c2.tlpx (log), $T/prog.tlpx (prog)" "$T/err"
check "eval of the ensemble" status 0 "$TLPX" eval "$T/ens.tlpx" "$D/hw-a"
check "names its networks" grep -q "(an ensemble of 2 networks: log, prog tokens;" "$T/out"
check "predict of the ensemble" status 0 "$TLPX" predict "$T/ens.tlpx" "$D/hw-a"
check "scores standardised per task: each task's scores sum to about 0" sh -c "awk -F '\t' 'NR > 1 { s[\$1] += \$5; n[\$1]++; q += \$5 * \$5; c++ } END { if (c < 10 || q < c / 10) exit 1; for (t in s) if (s[t] > 1e-3 * n[t] || s[t] < -1e-3 * n[t]) exit 1 }' '$T/out'"
check "an ensemble of an ensemble and a model flattens" status 0 "$TLPX" ensemble "$T/ens.tlpx" "$T/c2.tlpx" --out "$T/ens3.tlpx" -q
check "three networks" sh -c "'$TLPX' eval '$T/ens3.tlpx' '$D/hw-a' -q | grep -q 'an ensemble of 3 networks: log, prog, log'"
check "one model is a usage error" status 2 "$TLPX" ensemble "$T/c2.tlpx" --out "$T/x.tlpx"
check "and says two are needed" grep -q "give two or more models (1 given)" "$T/err"
check "models with other heads are refused" status 1 "$TLPX" ensemble "$T/c2.tlpx" "$T/j1.tlpx" --out "$T/x.tlpx"
check "naming the file and why" grep -q "$T/j1.tlpx: the members of an ensemble need one mode, one crop and the same heads" "$T/err"
check "nothing written" test ! -e "$T/x.tlpx"
check "a missing model is named" status 1 "$TLPX" ensemble "$T/c2.tlpx" "$T/none.tlpx" --out "$T/x.tlpx"
check "by its path" grep -q "$T/none.tlpx" "$T/err"
check "an ensemble is fine-tuned network by network" status 0 "$TLPX" train "$D/hw-a" --init "$T/ens.tlpx" --out "$T/ensft.tlpx" --epochs 1 --batch 32
check "with its networks' tokens, not the recipe's" grep -q "^training gpu model (recipe custom, an ensemble of networks of log,prog tokens)" "$T/err"
check "the fine-tuned ensemble scores" status 0 "$TLPX" eval "$T/ensft.tlpx" "$D/hw-a"
check "--encode nope is a usage error" status 2 "$TLPX" train "$D/hw-a" --encode nope --out "$T/x.tlpx" $FAST
check "--encode log,,prog is a usage error" status 2 "$TLPX" train "$D/hw-a" --encode log,,prog --out "$T/x.tlpx" $FAST
check "--encode with 9 networks is a usage error" status 2 "$TLPX" train "$D/hw-a" --encode log,log,log,log,log,log,log,log,log --out "$T/x.tlpx" $FAST
check "saying how many at most" grep -q "at most 8" "$T/err"
check "--select topk --sched cosine --average 2" status 0 "$TLPX" train "$D/hw-a" --select topk --sched cosine --average 2 --epochs 3 --batch 32 --out "$T/s.tlpx" --quiet
check "the file records topk and cosine" sh -c "LC_ALL=C tr -c '[:print:]' '\n' <'$T/s.tlpx' | grep -qx topk && LC_ALL=C tr -c '[:print:]' '\n' <'$T/s.tlpx' | grep -qx cosine"
check "--resume with --recipe is a usage error" status 2 "$TLPX" train "$D/hw-a" --resume "$T/s.tlpx" --recipe tlp --epochs 4 --out "$T/x.tlpx"
check "--resume with another --encode is a usage error" status 2 "$TLPX" train "$D/hw-a" --resume "$T/tlp.tlpx" --encode log --epochs 2 --out "$T/x.tlpx"

# fine-tuning: --init, a new head, --freeze-trunk, --budget
check "a model of hw-a" status 0 "$TLPX" train "$D/hw-a" --out "$T/a.tlpx" --weights-only $FAST
check "--init it with a new head for hw-b" status 0 "$TLPX" train "$D/hw-a" "$D/hw-b" --heads hw-b,hw-a --init "$T/a.tlpx" --freeze-trunk --budget 30 --out "$T/ab.tlpx" --epochs 2 --batch 32
check "says which heads are its own and which are new" grep -q "^starting from $T/a.tlpx: hw-b (new) hw-a (its head); the trunk frozen$" "$T/err"
check "the budget leaves hw-b 30 labels" grep -q "heads: hw-b (30 labels) hw-a (161 labels)" "$T/err"
check "the fine-tuned model has both heads" status 0 "$TLPX" eval "$T/ab.tlpx" "$D/hw-a" "$D/hw-b"
check "heads hw-b hw-a" grep -q "heads: hw-b hw-a" "$T/out"
check "--init with --resume is a usage error" status 2 "$TLPX" train "$D/hw-a" --init "$T/a.tlpx" --resume "$T/a.tlpx" --out "$T/x.tlpx"
check "--init of a missing model fails" status 1 "$TLPX" train "$D/hw-a" --init "$T/none.tlpx" --out "$T/x.tlpx" $FAST
check "--budget 0 is a usage error" status 2 "$TLPX" train "$D/hw-a" --budget 0 --out "$T/x.tlpx" $FAST

# --weights-only: a smaller file that loads, but no resume
check "--weights-only" status 0 "$TLPX" train "$D/hw-a" --out "$T/w.tlpx" --weights-only --encode log $FAST
check "a third of the size of one with Adam state" test "$(wc -c <"$T/w.tlpx")" -lt "$(( $(wc -c <"$T/c2.tlpx") / 2 ))"
check "it scores" status 0 "$TLPX" eval "$T/w.tlpx" "$D/hw-a"
check "--resume of it is refused" status 1 "$TLPX" train "$D/hw-a" --resume "$T/w.tlpx" --epochs 3 --out "$T/x.tlpx"
check "saying why" grep -q "has no Adam state (saved with --weights-only)" "$T/err"

tap_end

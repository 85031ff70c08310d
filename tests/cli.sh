#!/bin/sh
# cli.sh: drive the real tlpx binary: help, exit statuses, and the output of
# stats, tokens and features on the hand-written fixtures.
. "${top_srcdir:-.}/tests/lib.sh"
FX="$top_srcdir/tests/fixtures"

check "--help exits 0" status 0 "$TLPX" --help
check "no arguments without a terminal: the demo explorer says it needs one" status 1 "$TLPX"
check "and says so" grep -q "needs a terminal" "$T/err"
check "explore without DATA opens the embedded default (and needs a terminal)" status 1 "$TLPX" explore
check "and says so" grep -q "needs a terminal" "$T/err"
check "explore without DATA nor an embedded default says how to give records" status 2 env TLPX_ASSETS="$T/none" "$TLPX" explore
check "and says so" grep -q "no record files given" "$T/err"
check "unknown subcommand is a usage error" status 2 "$TLPX" frobnicate
for c in stats tokens features best; do
    check "$c --help exits 0" status 0 "$TLPX" $c --help
    check "$c --help shows usage" grep -q "usage: tlpx $c" "$T/out"
    check "$c with no DATA is a usage error" status 2 "$TLPX" $c
    check "$c with an unknown option is a usage error" status 2 "$TLPX" $c --bogus "$FX/records"
done

# the man page and the bash completion come from the option tables
check "--man prints a man page" status 0 "$TLPX" --man
check "with every subcommand" sh -c "for c in explore stats tokens features train eval predict replay ensemble pack best serve; do grep -q \"^.SS \\\"tlpx \$c \" '$T/out' || exit 1; done"
man_has_help_opts() { # every --option train --help lists is in the man page
    "$TLPX" train --help | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^--[a-z-]+,?$/) { sub(/,$/, "", $i); print $i } }' |
        grep -vx -- --help | sort -u >"$T/opts"
    test -s "$T/opts" || return 1
    while read -r o; do grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$T/man" || { echo "# missing $o"; return 1; }; done <"$T/opts"
}
cp "$T/out" "$T/man"
check "and train's options, as --help lists them" man_has_help_opts
if command -v bash >/dev/null 2>&1 && command -v man >/dev/null 2>&1; then
    check "man renders it without warnings" sh -c "'$TLPX' --man | MANWIDTH=80 man -l -Tutf8 - 2>&1 >/dev/null | grep -c . | grep -qx 0"
fi
if command -v bash >/dev/null 2>&1; then
    "$TLPX" --completion bash >"$T/comp.bash"
    comp() { # comp WORD...: what Tab offers after the words (the last is completed)
        PATH="$(dirname "$TLPX"):$PATH" bash -c ". '$T/comp.bash'; COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\$# - 1)); _tlpx; printf '%s\n' \"\${COMPREPLY[@]}\"" comp "$@"
    }
    comp tlpx tr >"$T/c1"
    check "completion: subcommands (tr -> train)" grep -qx train "$T/c1"
    comp tlpx train --rec >"$T/c2"
    check "completion: options of train (--rec -> --recipe)" grep -qx -- --recipe "$T/c2"
    comp tlpx train --recipe "" >"$T/c3"
    check "completion: recipes" sh -c "grep -qx tlp '$T/c3' && grep -qx tlpx '$T/c3'"
    comp tlpx eval --fo >"$T/c4"
    check "completion: the data options too (--fo -> --fold)" grep -qx -- --fold "$T/c4"
    "$TLPX" train "K80=$FX/train/hw-a" --out "$T/k.tlpx" --epochs 1 --batch 32 -q 2>/dev/null
    comp tlpx eval "$T/k.tlpx" "$FX/train/hw-a" "$FX/train/hw-b" "$FX/train/cpu-c" --head "" >"$T/c5"
    check "completion: heads read from the model" grep -qx K80 "$T/c5"
    # no tlpx on PATH here: the one being completed answers
    env PATH=/usr/bin:/bin bash -c ". '$T/comp.bash'; COMP_WORDS=('$TLPX' eval '$T/k.tlpx' --head ''); COMP_CWORD=4; _tlpx; printf '%s\n' \"\${COMPREPLY[@]}\"" >"$T/c6"
    check "completion: heads asked of the tlpx being completed (./tlpx in a build tree)" grep -qx K80 "$T/c6"
    check "completion is registered for ./tlpx too" bash -c ". '$T/comp.bash'; complete -p ./tlpx"
fi

# stats
check "stats on the fixtures" status 0 "$TLPX" stats "$FX/records/cpu-y" "$FX/records/gpu-x"
cp "$T/out" "$T/stats"
check "stats: totals" grep -q "^3 files, 3 tasks, 9 records" "$T/stats"
check "stats: hardware from -model=" grep -q "^hardware testcpu (cpu features: 25 steps x 22 slots)" "$T/stats"
check "stats: hardware from the directory" grep -q "^hardware gpu-x (gpu features: 40 steps x 20 slots)" "$T/stats"
check "stats: failures by name" grep -q "failures: BUILD_TIMEOUT 1" "$T/stats"
check "stats: crop" grep -q "1 records lose steps (more than 40; 5 steps dropped)" "$T/stats"
check "stats: dictionary misses" grep -q "3 steps of kinds the gpu dictionary lacks, 3 unknown" "$T/stats"
check "stats: NAME=PATH" status 0 "$TLPX" stats "K80=$FX/records/gpu-x"
check "stats: NAME=PATH names the hardware" grep -q "^hardware K80 " "$T/out"

# bad input
check "missing path fails" status 1 "$TLPX" stats /nonexistent/tlpx
check "missing path is named" grep -q "/nonexistent/tlpx" "$T/err"
check "bad lines are skipped, good ones load" status 0 "$TLPX" stats "$FX/malformed"
check "bad line diagnostic names file:line: reason" grep -q "bad.json:4: step 0: unknown step kind \"ZZ\"" "$T/err"
check "skip summary" grep -q "10 lines skipped" "$T/err"
mkdir "$T/empty"
check "a directory with no records fails" status 1 "$TLPX" stats "$T/empty"
check "and says so" grep -q "no records found" "$T/err"
check "missing weights file fails" status 1 "$TLPX" stats --weights /nonexistent/w.tsv "$FX/records"

# reading data: only regular files; a directory's bad paths are skipped with a reason
mkdir -p "$T/d/sub" "$T/d/deep/er"
cp "$FX/train/hw-a/op64.json" "$T/d/sub/"
cp "$FX/train/hw-a/op128.json" "$T/d/deep/er/"
mkfifo "$T/d/sub/pipe.json"
ln -s .. "$T/d/sub/loop"
ln -s nowhere.json "$T/d/sub/dangling.json"
# a FIFO opened for reading waits for a writer forever: the timeout is a hang
# guard (these commands take milliseconds, more on a loaded machine), not a timing
HANG=60
check "a FIFO inside a directory does not block" status 0 timeout $HANG "$TLPX" stats "$T/d"
check "it is skipped with a reason" grep -q "pipe.json: a FIFO, not a regular file: skipped" "$T/err"
check "a symbolic link loop is read once, with a warning" grep -q "loop: a directory already read (a symbolic link loop?): skipped" "$T/err"
check "so every record counts once" grep -q "^2 files, 2 tasks, 80 records" "$T/out"
check "a dangling link is skipped with its reason" grep -q "dangling.json: No such file or directory: skipped" "$T/err"
check "and the paths skipped are counted" grep -q "^3 paths in DATA skipped" "$T/err"
check "a FIFO named on the command line is an error at once" status 1 timeout $HANG "$TLPX" stats "$T/d/sub/pipe.json"
check "saying what it is" grep -q "pipe.json: a FIFO, not a record file or a directory (- reads standard input)" "$T/err"
# a FIFO where a model, weights or scores are read: refused at once, never waited on
P="$T/d/sub/pipe.json"
check "a FIFO as the model of eval is refused at once" status 1 timeout $HANG "$TLPX" eval "$P" "$FX/train/hw-a" -q
check "as not a regular file" grep -q "pipe.json: not a regular file" "$T/err"
check "a FIFO as --init of train is refused at once" status 1 timeout $HANG "$TLPX" train "$FX/train/hw-a" --init "$P" --out "$T/m.tlpx" -q
check "a FIFO as --weights is refused at once" status 1 timeout $HANG "$TLPX" stats "$FX/train/hw-a" --weights "$P" -q
check "naming it without a line 0" grep -q "pipe.json: cannot open: not a regular file$" "$T/err"
check "a FIFO as eval --scores is refused at once" status 1 timeout $HANG "$TLPX" eval --scores "$P" "$FX/train/hw-a" -q
check "with the reason" grep -q "pipe.json: cannot open: not a regular file" "$T/err"
if [ "$(id -u)" != 0 ]; then
    cp "$FX/train/hw-a/op256.json" "$T/d/sub/secret.json" && chmod 000 "$T/d/sub/secret.json"
    check "an unreadable file inside a directory is skipped" status 0 "$TLPX" stats "$T/d"
    check "with its reason" grep -q "secret.json: cannot open: Permission denied: skipped" "$T/err"
    check "an unreadable file named on the command line is an error" status 1 "$TLPX" stats "$T/d/sub/secret.json"
    chmod 600 "$T/d/sub/secret.json"
fi
check "- reads standard input" status 0 sh -c "'$TLPX' tokens - < '$FX/train/hw-a/op64.json'"
check "its records are named stdin" grep -q "stdin *gpu *40 *40" "$T/out"
check "and the token view reads a record of it again" status 0 sh -c "'$TLPX' tokens - --task 0 --record 3 < '$FX/train/hw-a/op64.json'"
check "record 3 of stdin" grep -q "^record 3 of 40 (-:4)" "$T/out"
# hardware named after paths: never "." or "..", said on stderr
check "a file in the current directory" status 0 sh -c "cd '$FX/train/hw-a' && '$TLPX' stats op64.json"
check "is named after the real directory, not ." grep -q "^hardware hw-a " "$T/out"
check "which stats says" grep -q 'hardware "hw-a" named after the path (no -model= in the targets): 1 file of op64.json' "$T/err"
check "a directory names all the records below it" status 0 "$TLPX" stats "$T/d"
check "d" grep -q "^hardware d " "$T/out"
check "not its subdirectories" sh -c "! grep -q '^hardware \(sub\|deep\) ' '$T/out'"
check "which is said" grep -q 'hardware "d" named after the path' "$T/err"
check "NAME= names all, and nothing is inferred" status 0 "$TLPX" stats "X=$T/d"
check "no note then" sh -c "! grep -q 'named after the path' '$T/err'"
check "many directories under one name are pointed out" status 0 "$TLPX" stats "$FX"
check "with how to name them" grep -q 'in [0-9]* directories (.*); if they are different hardware, name each with NAME=PATH' "$T/err"

# text from record files never reaches a terminal or a TSV raw
mkdir -p "$T/esc"
sed -e 's/"\[\\"tlpx_train_op\\", 64/"[\\"evil\\u001b[2J\\t\\", 64/' \
    -e 's/"cuda -keys=cuda,gpu/"cuda \\u001b]0;pwned\\u0007 -keys=cuda,gpu/' \
    -e 's/"CHW", 2, "local"/"CHW", 2, "lo\\u009bcal"/' "$FX/train/hw-a/op64.json" >"$T/esc/evil.json"
check "the crafted file loads" status 0 "$TLPX" tokens "E=$T/esc" --task 0 --record 0
esc=$(printf '\033')
check "no ESC byte reaches the terminal from tokens" sh -c "! grep -q '$esc' '$T/out'"
check "the key shows its control characters escaped" grep -q 'evil\\x1b\[2J\\t' "$T/out"
check "and the target" grep -q 'cuda \\x1b\]0;pwned\\x07 -keys' "$T/out"
check "a C1 control (U+009B, a CSI) in a step string is escaped too" grep -q 'lo\\xc2\\x9bcal' "$T/out"
check "stats on it" status 0 "$TLPX" stats "E=$T/esc"
check "no ESC byte from stats" sh -c "! grep -q '$esc' '$T/out'"
"$TLPX" train "E=$T/esc" --out "$T/esc.tlpx" --epochs 1 -q 2>/dev/null
check "predict on it" status 0 "$TLPX" predict "$T/esc.tlpx" "E=$T/esc"
check "every predict row keeps its 6 columns" awk -F '\t' 'NF != 6 { bad++ } END { exit bad > 0 || NR != 41 }' "$T/out"
check "no ESC byte in the TSV" sh -c "! grep -q '$esc' '$T/out'"
cp "$T/out" "$T/esc.tsv"
check "eval --scores reads the escaped TSV back" status 0 "$TLPX" eval --scores "$T/esc.tsv" "E=$T/esc"
check "features on it" status 0 "$TLPX" features "E=$T/esc" --out "$T/escf"
check "index.tsv keeps 4 columns" awk -F '\t' 'NF != 4 { bad++ } END { exit bad > 0 || NR != 41 }' "$T/escf.index.tsv"

# compressed logs: .json.gz / .log.gz read like plain files, with the same diagnostics
mkdir -p "$T/gz/hw-a" "$T/gz/hw-b"
for f in "$FX"/train/hw-a/*.json; do gzip -c "$f" >"$T/gz/hw-a/$(basename "$f").gz"; done
cp "$FX"/train/hw-b/*.json "$T/gz/hw-b/"
gzip "$T/gz/hw-b/op512.json"
check "a directory of .json.gz and .json files" status 0 "$TLPX" stats "$T/gz/hw-a" "$T/gz/hw-b"
sed 1d "$T/out" >"$T/gzstats"
"$TLPX" stats "$FX/train/hw-a" "$FX/train/hw-b" -q 2>/dev/null | sed 1d >"$T/plainstats"
check "the same figures as the plain files" cmp "$T/gzstats" "$T/plainstats"
check "a gzip record is read again for the token view" status 0 "$TLPX" tokens "$T/gz/hw-a/op64.json.gz" --task 0 --record 7
check "the record of line 8" grep -q "^record 7 of 40 (.*op64.json.gz:8)" "$T/out"
check "gzip data on standard input" status 0 sh -c "'$TLPX' stats - < '$T/gz/hw-a/op64.json.gz'"
check "reads its 40 records" grep -q "^1 files, 1 tasks, 40 records" "$T/out"
cat "$FX"/train/hw-a/*.json | gzip -c >"$T/gzall"
head -c 2500 "$T/gzall" >"$T/gz/hw-a/cut.json.gz"
check "a truncated .gz: loading goes on" status 0 "$TLPX" stats "$T/gz/hw-a" "$T/gz/hw-b"
check "and it is reported with file and line" grep -q "cut.json.gz:[0-9]*: corrupt or truncated gzip data (.*unexpected end of file)" "$T/err"
check "the other files all load (hw-b untouched)" grep -q "records 160 " "$T/out"

# best: the best valid record of every task, as TVM records, one hardware a
# file where two would meet under one TVM key (hw-a and hw-b: one target string)
check "best over two hardware of one target, to one file: refused" status 1 "$TLPX" best "$FX/train/hw-a" "$FX/train/hw-b" "$FX/train/cpu-c" "$FX/allfailed" --out "$T/best.json"
check "it names the two hardware, the key and the way out" sh -c "tr '\\n' ' ' <'$T/err' | grep -q 'hw-a and hw-b measured 2 workloads under the same TVM target key (cuda).*--hw NAME.*directory'"
check "and writes nothing" test ! -e "$T/best.json"
check "best --out DIR/: one file a hardware" status 0 "$TLPX" best "$FX/train/hw-a" "$FX/train/hw-b" "$FX/train/cpu-c" "$FX/allfailed" --out "$T/best/"
check "hw-a.json, hw-b.json, cpu-c.json" sh -c "cd '$T/best' && ls | tr '\n' ' ' | grep -qx 'cpu-c.json hw-a.json hw-b.json '"
check "the hardware whose every run failed is said, not written" grep -q "^allfailed: nothing to write (every measurement failed)" "$T/err"
check "one line per task: hw-a's 4" test "$(wc -l <"$T/best/hw-a.json")" -eq 4
check "each file clashes in nothing by TVM's rule" sh -c ". '$top_srcdir/tests/lib.sh'; for f in '$T'/best/*.json; do test \"\$(tvm_clashes \"\$f\")\" = 0 || exit 1; done"
cat "$T"/best/hw-a.json "$T"/best/hw-b.json >"$T/ab.json"
check "while the two GPU files together would clash on 2 (the check sees it)" test "$(tvm_clashes "$T/ab.json")" = 2
check "best --hw hw-b to one file" status 0 "$TLPX" best "$FX/train/hw-a" "$FX/train/hw-b" "$FX/train/cpu-c" "$FX/allfailed" --hw hw-b --out "$T/best.json"
check "says whose" grep -q "the best of 4 tasks of hw-b" "$T/err"
check "holds hw-b's records only" cmp -s "$T/best.json" "$T/best/hw-b.json"
check "the lines are records tlpx reads back" status 0 "$TLPX" stats "$T/best.json"
check "4 records of 4 tasks" grep -q "^1 files, 4 tasks, 4 records" "$T/out"
check "best --hw of hardware DATA lacks: refused" status 1 "$TLPX" best "$FX/train/cpu-c" "$FX/train/hw-a" "$FX/train/hw-b" --hw nope --out "$T/none.json"
check "naming those it has" grep -q "no such hardware in DATA (it holds: cpu-c hw-a hw-b)" "$T/err"
check "best of hardware that meet under no key (cpu-c, hw-a): one file" status 0 "$TLPX" best "$FX/train/cpu-c" "$FX/train/hw-a" "$FX/allfailed" --out "$T/ca.json"
check "the all-failed task is left out, and said" grep -q "1 task left out (every measurement failed)" "$T/err"
check "5 lines" test "$(wc -l <"$T/ca.json")" -eq 5
# each line is the least-cost valid record of its task: compare with tokens' default (the best measured)
"$TLPX" tokens "$FX/train/hw-a" --task 'tlpx_train_op(64, 64)' -q >"$T/tok"
check "the best of a task is the record tokens shows first" sh -c "grep -qF \"\$(sed -n 's/^record [0-9]* of [0-9]* ([^:]*:\\([0-9]*\\)).*/\\1/p' '$T/tok' | xargs -I{} sed -n '{}p' '$FX/train/hw-a/op64.json')\" '$T/ca.json'"
# an output that is also an input is refused, the input whole
cp "$FX/train/hw-a/op64.json" "$T/own.json"
check "best over its own input is refused" status 1 "$TLPX" best "$T/own.json" --out "$T/own.json"
check "saying so" grep -q "own.json is also read as DATA" "$T/err"
check "pack of a JSON file onto itself is refused" status 1 "$TLPX" pack "$T/own.json" --out "$T/own.json"
check "and the JSON is whole" cmp -s "$FX/train/hw-a/op64.json" "$T/own.json"
# a stream as the output is written as one: appended to as the shell asked, no file named -
echo kept >"$T/log.txt"
FXA=$(cd "$FX" && pwd) TA=$(cd "$(dirname "$TLPX")" && pwd)/$(basename "$TLPX")
check "best --out /dev/stdout >> log" sh -c "'$TLPX' best '$FX/train/hw-a' --out /dev/stdout -q >>'$T/log.txt'"
check "keeps what log held and appends the records" sh -c "head -n 1 '$T/log.txt' | grep -qx kept && test \$(grep -c '^{' '$T/log.txt') = 4"
check "best --out - writes to standard output" sh -c "cd '$T' && '$TA' best '$FXA/train/hw-a' --out - -q | grep -c '^{' | grep -qx 4"
check "and makes no file named -" test ! -e "$T/-"
check "best without --out is a usage error" status 2 "$TLPX" best "$FX/train/hw-a" "$FX/train/hw-b" "$FX/train/cpu-c"
check "best --out /dev/null is refused" status 1 "$TLPX" best "$FX/train/hw-a" "$FX/train/hw-b" "$FX/train/cpu-c" --out /dev/null
check "/dev/null is still a device" test -c /dev/null

# tokens
check "tokens lists tasks" status 0 "$TLPX" tokens "$FX/records"
check "task list has the summary" grep -q "matmul_tlpx_test(256, 256, 256)" "$T/out"
check "tokens of a task by substring" status 0 "$TLPX" tokens "$FX/records" --task dense_layer --record 0
check "readable primitive" grep -q "split stage 3 iter 0: 64 -> \[2,2,2,2\]" "$T/out"
check "labelled slots" grep -q "kind SP=onehot\[6\] 11:stage=3 12:iter=0 13:extent=64 14:lengths\[0\]=2" "$T/out"
check "steps beyond the crop are marked" grep -q "beyond the 40-step crop" "$T/out"
check "the program row of --encode prog" grep -q "^program row (models with --encode prog see it as row 40)" "$T/out"
check "threads per block over the 20 splits of the crop: 2^20" grep -q " threads=20 (1.049e+06) .* spatial_splits=20 " "$T/out"
check "tokens of a task by number, default best record" status 0 "$TLPX" tokens "$FX/records" --task 1
check "the best record is shown by default" grep -q "^record 0 of 3 " "$T/out"
check "cropped slots are marked" grep -q "| cropped: 20:order\[8\]=2 " "$T/out"
check "absent kind is shown" status 0 "$TLPX" tokens "$FX/records" --task 1 --record 1
check "absent kind is labelled" grep -q "kind SA=absent(11 zeros) 11:stage=2" "$T/out"
check "unknown string is flagged" grep -q "(unknown string -> 0)" "$T/out"
check "--matrix prints the matrix" status 0 "$TLPX" tokens "$FX/records" --task 0 --matrix
check "matrix header" grep -q "^matrix \[25 x 22\]:" "$T/out"
check "no such task fails" status 1 "$TLPX" tokens "$FX/records" --task 99
check "no such record fails" status 1 "$TLPX" tokens "$FX/records" --task 0 --record 99
check "a bad --record is a usage error" status 2 "$TLPX" tokens "$FX/records" --task 0 --record x

# features
check "features writes npy" status 0 "$TLPX" features "$FX/records" --out "$T/f"
for m in cpu gpu; do
    for s in features.npy labels.npy costs.npy index.tsv; do check "mixed modes: $m.$s" test -s "$T/f.$m.$s"; done
done
check "features on one mode uses PREFIX.*" status 0 "$TLPX" features "$FX/records/gpu-x" --out "$T/g"
check "one mode: features.npy" test -s "$T/g.features.npy"
check "one mode: index rows" test "$(wc -l < "$T/g.index.tsv")" -eq 6
check "features needs --out" status 2 "$TLPX" features "$FX/records"
check "features --encode prog" status 0 "$TLPX" features "$FX/records/gpu-x" --out "$T/gp" --encode prog
check "says the shape with the program row" grep -q "gpu \[5, 41, 20\], tokens prog" "$T/out"
check "prog tokens are another matrix than raw" sh -c "! cmp -s '$T/g.features.npy' '$T/gp.features.npy'"
check "the same labels" cmp "$T/g.labels.npy" "$T/gp.labels.npy"
check "an unknown --encode is a usage error" status 2 "$TLPX" features "$FX/records" --out "$T/f" --encode sqrt
check "naming the choices" grep -q "\-\-encode is one of raw, log, prog" "$T/err"
# a full disk (a file-size limit of 8 KiB): the command fails, nothing is left half-written
check "features past a file-size limit fails" status 1 sh -c "trap '' XFSZ; ulimit -f 8; exec '$TLPX' features '$FX/train' --out '$T/full'"
check "saying the write failed" grep -q "write failed\|File too large" "$T/err"
check "and leaves no partial file and no temporary" test "$(ls "$T" | grep -c '^full')" -eq 0
check "features to an unwritable place fails" status 1 "$TLPX" features "$FX/records/gpu-x" --out /nonexistent/dir/x
check "and names it" grep -q "/nonexistent/dir/x" "$T/err"

# a hardware name from NAME=, a target or a path is cleaned where it enters: controls (C0, C1), tabs
# and bytes that are not UTF-8 become _, so no escape reaches a terminal and a TSV row keeps its columns
bad=$(printf 'E\033]0;X\007\tY\302\233\377')
check "a NAME= with escapes packs" status 0 "$TLPX" pack "$bad=$FX/train/hw-a" --out "$T/esc.pack" -q
check "stats of the store print the name cleaned" status 0 "$TLPX" stats "$T/esc.pack"
check "as E_]0;X__Y___" grep -q "^hardware E_\]0;X__Y___ " "$T/out"
check "with no control byte in the output" sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/out'"
check "predict on it" status 0 "$TLPX" predict "$TLPX_ASSETS/mtl-gpu.tlpx" "$T/esc.pack" --head K80
check "writes rows of 6 columns, every one" sh -c "awk -F'\t' 'NF != 6 { bad++ } END { exit bad > 0 }' '$T/out'"
check "and names the hardware cleaned there too" grep -q "	E_]0;X__Y___	" "$T/out"

# padding computed once by default; --exact-padding computes every padding row (TLP's computation):
# the same scores to rounding (tests/test_padding compares them on every record of the default data)
check "predict --exact-padding" status 0 "$TLPX" predict "$TLPX_ASSETS/mtl-gpu.tlpx" "K80=$FX/train/hw-a" --head K80 --exact-padding
cp "$T/out" "$T/exact.tsv"
check "predict with the padding once" status 0 "$TLPX" predict "$TLPX_ASSETS/mtl-gpu.tlpx" "K80=$FX/train/hw-a" --head K80
check "the same rows, every score within 1e-5 of the padded one" sh -c "paste '$T/exact.tsv' '$T/out' | awk -F'\t' '
    NR > 1 { d = \$5 - \$11; if (d < 0) d = -d; if (d > 1e-5 || \$3 != \$9) bad++; n++ } END { exit !(n > 100 && !bad) }'"

# the crop: --steps N feeds a network a schedule's first N steps (TLP's: 25 CPU, 40 GPU); dense.json's first
# record has 45 steps, so TLP's crop drops 5 that a crop of 48 keeps
check "tokens --steps 48 shows every step of a 45-step record kept" status 0 "$TLPX" tokens "$FX/records/gpu-x" --task 1 --record 0 --steps 48
check "with no step beyond the crop" sh -c "! grep -q 'beyond the' '$T/out' && grep -q '48 steps x 20 slots' '$T/out'"
check "tokens with TLP's crop marks steps 40 to 44 beyond it" status 0 "$TLPX" tokens "$FX/records/gpu-x" --task 1 --record 0
check "five of them" sh -c "test \$(grep -c 'beyond the 40-step crop' '$T/out') -eq 5"
check "tokens --steps 129 is a usage error" status 2 "$TLPX" tokens "$FX/records/gpu-x" --task 1 --steps 129
check "features --steps 48 writes [N, 48, 20]" status 0 "$TLPX" features "$FX/records/gpu-x" --steps 48 --out "$T/f48"
check "says the shape" grep -q "\[5, 48, 20\]" "$T/out"
check "and the file has it" sh -c "head -c 128 '$T/f48.features.npy' | grep -q \"'shape': (5, 48, 20)\""
check "train --steps 48" status 0 "$TLPX" train -q "$FX/train/hw-a" --epochs 1 --batch 32 --steps 48 --padding once --out "$T/s48.tlpx"
check "predict with it: the model's crop" status 0 "$TLPX" predict "$T/s48.tlpx" "$FX/train/hw-a"
check "train --init keeps the model's crop: a model of 48" status 0 "$TLPX" train -q "$FX/train/hw-a" --epochs 1 --batch 32 --init "$T/s48.tlpx" --out "$T/s48b.tlpx"
check "eval says the crop" status 0 "$TLPX" eval "$T/s48b.tlpx" "$FX/train/hw-a"
check "a crop of 48 steps" grep -q "gpu, a crop of 48 steps (--steps), heads: hw-a" "$T/out"
check "--init with --steps 40: fine-tuned at TLP's crop" status 0 "$TLPX" train -q "$FX/train/hw-a" --epochs 1 --batch 32 --init "$T/s48b.tlpx" --steps 40 --out "$T/s40.tlpx"
check "eval says no crop of its own" sh -c "'$TLPX' eval '$T/s40.tlpx' '$FX/train/hw-a' | grep -q 'model .*: gpu, heads: hw-a'"
check "train --steps 0 is TLP's crop" status 0 "$TLPX" train -q "$FX/train/hw-a" --epochs 1 --batch 32 --steps 0 --out "$T/s0.tlpx"
check "train --steps 129 is refused" status 2 "$TLPX" train -q "$FX/train/hw-a" --epochs 1 --steps 129 --out "$T/s129.tlpx"

tap_end

#!/bin/sh
# tui_tmux.sh: the explorer in a real terminal: tmux runs it, send-keys
# types, capture-pane reads the screen.  Skipped when tmux is missing.
: "${top_srcdir:=.}" "${TLPX:=./tlpx}"
if ! command -v tmux >/dev/null 2>&1; then echo "1..0 # SKIP tmux not installed"; exit 0; fi
src=$(cd "$top_srcdir" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_tmux.XXXXXX")
S="tlpx$$"
export XDG_CACHE_HOME="$T/cache" # the score cache here, not the user's
trap 'tmux -L "$S" kill-server 2>/dev/null; rm -rf "$T"' EXIT
n=0 failed=0
check() { n=$((n + 1)); if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; failed=$((failed + 1)); fi; }
screen() { tmux -L "$S" capture-pane -p -t tlpx > "$T/screen" 2>/dev/null; }
wait_for() { # wait_for TEXT [SECONDS]: up to 60 s (or SECONDS) for TEXT to appear on the screen
    i=0 # a hang guard, not a timing: a loaded machine (or the sanitizers) is slow, not wrong
    while [ $i -lt $((${2:-60} * 10)) ]; do
        screen
        grep -qF -- "$1" "$T/screen" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    sed 's/^/#   /' "$T/screen"
    return 1
}
keys() { tmux -L "$S" send-keys -t tlpx "$@"; }
session() { # session W H COMMAND: a fresh server with one pane running COMMAND
    # The last session's end stops the server; a new-session that meets a server still stopping
    # fails ("server exited unexpectedly"), so wait for it to be gone and try again if it was not.
    tmux -L "$S" kill-server 2>/dev/null
    i=0
    while [ $i -lt 50 ]; do
        while tmux -L "$S" has-session 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        tmux -L "$S" new-session -d -s tlpx -x "$1" -y "$2" "$3" && return 0
        sleep 0.2; i=$((i + 1))
    done
    echo "# tmux would not start a session"
    return 1
}

FX="$src/tests/fixtures/train"
"$TLPX" train -q "$FX/hw-a" "$FX/hw-b" --mode gpu --epochs 1 --batch 32 --out "$T/m.tlpx" || exit 1
session 100 30 \
    "env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME=$T/state $TLPX explore $FX/hw-a $FX/hw-b --model $T/m.tlpx; sleep 2"
what="the explorer opens on the task list"; check wait_for "task hardware"
what="predictions arrive in the background, for every task"; check wait_for "all 8 tasks"
keys j Enter
what="Enter opens the candidates"; check wait_for "meas  pred"
keys p
what="the plot draws braille in a UTF-8 terminal"; check wait_for "predicted score (up)"
check grep -q "$(printf '\342\240')" "$T/screen"
keys q
keys :
keys 'head hw-b' Enter
what="a :command through the readline prompt"; check wait_for "head hw-b"
keys :
keys 'hea' Tab
what="Tab completes the command name"; check wait_for ":head"
keys Escape
what="Esc leaves the prompt"; check wait_for "(the prompt closed)" || true
keys : 'train rec' Tab
what="Tab completes a :train setting from train's option table"; check wait_for ":train recipe="
keys Escape
tmux -L "$S" resize-window -t tlpx -x 60 -y 15 2>/dev/null
sleep 0.3
keys k
what="resizing redraws"; check wait_for "tlpx candidates"
keys : 'train epochs=5000 batch=32' Enter
what="training shows progress in the status line"; check wait_for "train "
keys j k
what="keys still answer while training"; check wait_for "tlpx candidates"
keys : 'cancel' Enter
what="cancel keeps the model"; check wait_for "training cancelled"
keys : 'train epochs=5000 batch=32' Enter
what="a second training runs"; check wait_for "train "
keys C-c
what="Ctrl-C with a training running asks first, as q does"; check wait_for "quit anyway?"
keys n
what="any other key stays"; check wait_for "not quitting"
keys C-c
sleep 0.3
keys C-c
i=0 # the history is written as the explorer quits: wait for it (a hang guard of 60 s)
while [ $i -lt 600 ] && ! grep -q "head hw-b" "$T/state/tlpx/history" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
pane=$(tmux -L "$S" display -p -t tlpx '#{pane_pid}' 2>/dev/null)
i=0 # it ends after stopping its training: wait for that (a hang guard of 60 s)
while [ $i -lt 600 ] && [ -n "$pane" ] && pgrep -x -P "$pane" tlpx >/dev/null; do sleep 0.1; i=$((i + 1)); done
what="a second Ctrl-C while asked quits"; check sh -c "[ -n '$pane' ] && ! pgrep -x -P '$pane' tlpx >/dev/null"
what="history is kept in the XDG state folder"; check grep -q "head hw-b" "$T/state/tlpx/history"
# conventions: NO_COLOR, and a terminal that cannot place the cursor
session 100 30 \
    "env LANG=C.UTF-8 NO_COLOR=1 XDG_STATE_HOME=$T/state $TLPX explore $FX/hw-a $FX/hw-b; sleep 2"
what="NO_COLOR: the explorer opens"; check wait_for "task hardware"
tmux -L "$S" capture-pane -e -p -t tlpx >"$T/colors"
what="NO_COLOR: no colour, the selection in reverse video"; check sh -c "! grep -q '\[4[0-7]m' '$T/colors' && grep -q '\[7m' '$T/colors'"
keys Q
# (the pane outlives the explorer by its sleep, so the sentence stays to be read)
session 100 30 "env TERM=dumb $TLPX explore $FX/hw-a; sleep 600"
what="TERM=dumb: a sentence, not garbage"; check wait_for "needs a terminal that can move the cursor; TERM=dumb cannot"
# --follow: a log a running search appends to (its first lines, then a new task's records)
head -n 5 "$FX/hw-a/op64.json" >"$T/flog.json"
session 100 30 "$TLPX explore --follow $T/flog.json --model $T/m.tlpx; sleep 2"
what="--follow opens on the log's first records, ranked"; check wait_for "all 1 tasks"
cat "$FX/hw-a/conv.json" >>"$T/flog.json"
what="records appended come in while the explorer runs"; check wait_for "flog.json: 40 new records (45 in all)"
what="the new task is listed, with its top-1 under the model"; check wait_for "conv2d_layer(1, ..."
what="and the status line's figures take it in"; check wait_for "all 2 tasks"
keys Enter
what="its candidates open with their measured and predicted ranks"; check wait_for "meas  pred"
printf '%s' "$(head -n 1 "$FX/hw-a/op64.json")" >>"$T/flog.json" # a line being written: no newline yet
sleep 1
screen
what="a line without its newline waits (nothing said of it)"; check sh -c "! grep -q 'broken JSON' '$T/screen'"
echo >>"$T/flog.json"
what="and comes in whole once it ends"; check wait_for "1 new records (46 in all)"
keys Q
rm -f "$T/none.json"
session 100 30 "$TLPX explore --follow $T/none.json --model $T/m.tlpx; sleep 3"
what="--follow of a log not yet made waits for its first record"; check wait_for "waiting for the first record of"
head -n 3 "$FX/hw-a/op64.json" >"$T/none.json"
what="and opens when it comes"; check wait_for "all 1 tasks"
keys Q

# the README's first command: tlpx alone, in a real terminal, on the embedded default
session 120 30 \
    "env LANG=C.UTF-8 TLPX_ASSETS=$top_srcdir/assets XDG_STATE_HOME=$T/state $TLPX; sleep 2"
what="tlpx alone opens the default: real GPU tasks"; check wait_for "conv2d_layer(128"
# (scoring the default data for three heads takes seconds to minutes, docs/benchmarks.md; the wait
# guards against a hang, it times nothing)
what="with the MTL model, each task by its hardware's head, over all 76 that have a best"; check wait_for "head own | all 76 tasks" 900
keys h
what="h: the K80 head for every task, scored on the K80 tasks"; check wait_for "head K80 | K80 26 tasks"
keys h
what="h again: the V100 head"; check wait_for "head V100 | V100 26 tasks"
keys Q
tmux -L "$S" kill-session -t tlpx 2>/dev/null
echo "1..$n"
[ "$failed" = 0 ]

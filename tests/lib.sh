# lib.sh: the TAP helpers the shell tests share.  Source it after setting
# nothing; it sets T (a scratch directory removed on exit), n and failed.
#   check "what" command...   ok when the command succeeds (its output hidden)
#   status WANT command...    ok when the exit status is WANT; keeps stdout and
#                             stderr in $T/out and $T/err for later checks
#   tap_end                   the plan, and the script's exit status
: "${top_srcdir:=.}" "${TLPX:=./tlpx}"
T=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_test.XXXXXX")
export XDG_CACHE_HOME="$T/cache" # the explorer's score cache here, not the user's
trap 'rm -rf "$T"' EXIT
n=0 failed=0
check() {
    what=$1; shift
    n=$((n + 1))
    if "$@" >/dev/null 2>&1; then echo "ok $n - $what"; else echo "not ok $n - $what"; failed=$((failed + 1)); fi
}
status() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"; got=$?
    [ "$got" = "$want" ] || { echo "# exit $got, want $want: $*"; sed 's/^/# /' "$T/err" | head -5; return 1; }
}
tap_end() {
    echo "1..$n"
    [ "$failed" = 0 ]
}
# tvm_clashes FILE: how many lines of a TVM log TVM's ApplyHistoryBest would
# file under a (workload key, dispatch key) another line already holds
# (python/tvm/auto_scheduler/dispatcher.py, load: each of the target's keys,
# -keys= else the kind's own, and its -model=).  Written apart from tlpx's
# own rule (engine/data/best.c) on purpose: 0 is a log true to one hardware.
tvm_clashes() {
    sed -E 's/^\{"i": *\[\["((\\.|[^"\\])*)", *"((\\.|[^"\\])*)".*/\1	\3/' "$1" | awk -F'\t' '
    { wk = $1; n = split($2, w, " "); keys = ""; model = ""
      for (i = 2; i <= n; i++) {
          if (w[i] ~ /^-keys=/) keys = substr(w[i], 7)
          if (w[i] ~ /^-model=/) model = substr(w[i], 8)
      }
      if (keys == "") keys = w[1] == "llvm" || w[1] == "c" ? "cpu" : w[1] == "nvptx" ? "cuda,gpu" : w[1] ",gpu"
      k = split(keys, kk, ",")
      if (model != "" && model != "unknown") kk[++k] = "model=" model
      for (i = 1; i <= k; i++) if (seen[wk SUBSEP kk[i]]++) { clash++; break }
    }
    END { print clash + 0 }'
}

# lib.sh: the TAP helpers the shell tests share.  Source it after setting
# nothing; it sets T (a scratch directory removed on exit), n and failed.
#   check "what" command...   ok when the command succeeds (its output hidden)
#   status WANT command...    ok when the exit status is WANT; keeps stdout and
#                             stderr in $T/out and $T/err for later checks
#   tap_end                   the plan, and the script's exit status
: "${top_srcdir:=.}" "${TLPX:=./tlpx}"
T=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_test.XXXXXX")
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

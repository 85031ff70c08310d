#!/bin/sh
# layers.sh: the shape of the code, checked so it stays true.
#
# The engine is four layers, each using only those below it:
#   core <- data <- nn <- train
# From the #include lines: a file of engine/LAYER/ includes headers of its
# own layer and the ones below, each named by its layer ("core/core.h");
# a layer's public header (core/core.h, ...) includes only public headers;
# nothing in the engine includes the umbrella tlp.h, tui/, curses or
# readline; the program (tui/) includes the engine's tlp.h and its public
# tables (*.def) only, never a layer's inside (*_int.h, dataset_impl.h).
# From the objects (nm): no engine object calls another that calls it back,
# and the explorer's files call each other in no circle but through the
# event loop (tui/explore/explore.c, which also owns the jobs).
. "${top_srcdir:-.}/tests/lib.sh"
src=$top_srcdir
bld=${top_builddir:-.}

# ---------------------------------------------------------------- includes
# every quoted or angled #include of the engine, as "file included"
( cd "$src" && grep -H '^[[:space:]]*#[[:space:]]*include' engine/tlp.h engine/*/*.c engine/*/*.h engine/*/*.def ) |
    sed -E 's/:[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*)[>"].*/ \1/' >"$T/engine"
awk '
function rank(l) { return l == "core" ? 0 : l == "data" ? 1 : l == "nn" ? 2 : l == "train" ? 3 : 9 }
{
    split($1, f, "/"); layer = f[2]; inc = $2
    if (f[3] == "" || $1 == "engine/tlp.h") next          # the umbrella includes every layer
    if (inc ~ /^(curses|ncurses|readline|term)/ || inc ~ /^tui\//) print "lowlevel: " $1 " includes " inc
    if (inc ~ /\.(h|def)$/ && index(inc, "/") == 0 && system("test -f \"" src "/engine/" layer "/" inc "\"") == 0)
        print "unnamed: " $1 " includes " inc " without its layer"
    if (inc == "tlp.h") print "umbrella: " $1 " includes tlp.h"
    n = split(inc, p, "/")
    if (n == 2 && rank(p[1]) != 9 && rank(p[1]) > rank(layer)) print "upward: " $1 " (" layer ") includes " inc
    if (f[3] == layer ".h" && (inc ~ /_int\.h$/ || inc ~ /_impl\.h$/)) print "public: " $1 " includes " inc
}' src="$src" "$T/engine" >"$T/bad"
for kind in upward unnamed umbrella public lowlevel; do
    grep "^$kind: " "$T/bad" >"$T/bad.$kind" 2>/dev/null
    case $kind in
    upward) what="no engine file includes a header of a higher layer" ;;
    unnamed) what="every engine include names its layer (core/core.h, not core.h)" ;;
    umbrella) what="no engine file includes the umbrella tlp.h" ;;
    public) what="a layer's public header includes no layer's inside" ;;
    lowlevel) what="the engine includes nothing of tui/, curses or readline" ;;
    esac
    check "$what" test ! -s "$T/bad.$kind"
    sed 's/^/# /' "$T/bad.$kind"
done
# the rule is checked on something: every layer has files, and the file
# that defines the layers includes the four
check "the four layers exist, each with its public and internal header" sh -c "
    for l in core data nn train; do test -f '$src/engine/'\$l/\$l.h && test -f '$src/engine/'\$l/\${l}_int.h || exit 1; done"
check "tlp.h is the umbrella over the four public headers" test "$(grep -c '^#include "\(core/core\|data/data\|nn/nn\|train/train\)\.h"' "$src/engine/tlp.h")" = 4

( cd "$src" && find tui -name '*.[ch]' -exec grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' {} + ) |
    sed -E 's/:[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/ \1/' |
    awk '$2 ~ /^(core|data|nn|train)\// && $2 !~ /\.def$/ { print }' >"$T/tui"
check "the program includes the engine's tlp.h and public tables only" test ! -s "$T/tui"
sed 's/^/# /' "$T/tui"

# ---------------------------------------------------------------- objects
# circles OBJECTS...: "a b" for each pair of objects that reach each other
# through the calls between them (symbols one defines and the other uses)
circles() {
    for o in "$@"; do nm -A "$o" 2>/dev/null; done | awk '
    {   split($1, w, ":"); obj = w[1]; sub(/.*\//, "", obj); sub(/^[a-z]*_a-|^tlpx-/, "", obj)
        kind = $(NF - 1); sym = $NF
        if (kind ~ /^[TDBRC]$/) owner[sym] = obj
        else if (kind == "U") use[obj, sym] = 1
        objs[obj] = 1 }
    END {
        for (k in use) { split(k, a, SUBSEP); if ((a[2] in owner) && owner[a[2]] != a[1]) r[a[1], owner[a[2]]] = 1 }
        for (m in objs) for (i in objs) if ((i, m) in r) for (j in objs) if ((m, j) in r) r[i, j] = 1
        for (i in objs) for (j in objs) if (i < j && ((i, j) in r) && ((j, i) in r)) print i, j }'
}
objs=$(find "$bld/engine" -name '*.o' 2>/dev/null)
if [ -z "$objs" ] || ! command -v nm >/dev/null; then
    echo "# no engine objects or no nm: the link-level checks are skipped"
else
    circles $objs >"$T/circles"
    check "no two engine objects call each other, even through others" test ! -s "$T/circles"
    sed 's/^/# circle: /' "$T/circles"
    check "the engine's objects are its 4 layers' (more than 20 files)" test "$(echo "$objs" | wc -l)" -gt 20
    ex=$(find "$bld/tui/explore" -name '*.o' ! -name '*explore.o' 2>/dev/null)
    if [ -n "$ex" ]; then
        circles $ex >"$T/ex"
        check "the explorer's files call each other in no circle but through the loop" test ! -s "$T/ex"
        sed 's/^/# circle: /' "$T/ex"
    fi
fi
tap_end

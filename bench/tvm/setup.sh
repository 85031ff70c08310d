#!/bin/sh
# setup.sh: build TVM v0.18.0 (the last release line with tvm.auto_scheduler)
# for this CPU, LLVM backend only, into a cache outside the checkout, once.
# bench/tune.sh and contrib/tvm need it; nothing else in tlpx does.
#
# usage: bench/tvm/setup.sh [--tvm GITDIR|SRCDIR] [--dmlc-core GITDIR]
#            [--dlpack GITDIR] [--rang GITDIR] [--jobs N] [--check]
#   --tvm        a git mirror of apache/tvm holding the tag v0.18.0, or a
#                source tree of it with its 3rdparty/ submodules filled
#   --dmlc-core, --dlpack, --rang
#                git mirrors of dmlc/dmlc-core, dmlc/dlpack and agauniyal/rang
#                holding the commits the tag records (the only submodules an
#                LLVM-only build reads; headers only)
#   --check      say whether the cache holds a working build, and exit
#                (0 yes, 77 no): what bench/tune.sh asks first
# Without options the mirrors are looked for under $TLPX_MIRRORS (default
# /work/.mirror, where the search tool's fetch puts apache+tvm/repo, ...).
#
# The cache: ${XDG_CACHE_HOME:-~/.cache}/tlpx/tvm-0.18 with src/ (the tag's
# tree), build/libtvm.so and env.sh (PYTHONPATH and TVM_LIBRARY_PATH for
# Debian's /usr/bin/python3).  A finished build is marked by build/tlpx-ok
# and reused; a failed one is continued on the next run (cmake's build
# directory is kept).  Debian packages: the "tvm" line of debian-packages
# (cmake, LLVM 14 linked dynamically, so no libpolly; the Python packages
# TVM imports), installed when missing (as root).  The build compiles about
# 106 CPU-minutes of C++ (40-60 minutes on 2 cores).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tlpx/tvm-0.18
mirrors=${TLPX_MIRRORS:-/work/.mirror}
tvm=$mirrors/apache+tvm/repo dmlc=$mirrors/dmlc+dmlc-core/repo
dlpack=$mirrors/dmlc+dlpack/repo rang=$mirrors/agauniyal+rang/repo
jobs=$(nproc 2>/dev/null || echo 2) check=0
TAG=refs/tags/v0.18.0 TAG_COMMIT=22a9d388d441dbfd917d032564e2a1bccacd5f8c
while [ $# -gt 0 ]; do
    case $1 in
    --tvm) tvm=$2; shift ;;
    --dmlc-core) dmlc=$2; shift ;;
    --dlpack) dlpack=$2; shift ;;
    --rang) rang=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done
say() { echo "setup.sh: $*" >&2; }

works() { # the cached build imports and has auto_scheduler
    [ -f "$cache/build/tlpx-ok" ] && [ -f "$cache/env.sh" ] &&
        (. "$cache/env.sh" && /usr/bin/python3 -c \
            'import tvm, tvm.auto_scheduler; from tvm.auto_scheduler.cost_model.cost_model import PythonBasedModel' \
            >/dev/null 2>&1)
}
if [ $check = 1 ]; then
    if works; then echo "$cache"; exit 0; fi
    say "no TVM build in $cache (run bench/tvm/setup.sh)"; exit 77
fi
if works; then say "TVM v0.18.0 is built in $cache (reused)"; echo "$cache"; exit 0; fi

# Debian packages, one list for the project (debian-packages, line "tvm").
missing=""
for p in $(sed -n 's/^tvm  *//p' "$top/debian-packages"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        say "missing Debian packages:$missing (run as root or: sudo apt-get install$missing)"; exit 1
    fi
fi

# The source: the tag's tree and its three submodules at the recorded commits.
mkdir -p "$cache"
if [ ! -f "$cache/src/CMakeLists.txt" ]; then
    rm -rf "$cache/src.part"
    if [ -f "$tvm/CMakeLists.txt" ]; then # a source tree
        for m in dmlc-core dlpack rang; do
            [ -n "$(ls -A "$tvm/3rdparty/$m" 2>/dev/null)" ] ||
                { say "$tvm/3rdparty/$m is empty: the tree needs its submodules (git submodule update --init 3rdparty/$m)"; exit 1; }
        done
        cp -a "$tvm" "$cache/src.part"
    else
        git -C "$tvm" rev-parse -q --verify "$TAG^{commit}" >/dev/null 2>&1 || {
            say "no apache/tvm mirror with tag v0.18.0 at $tvm"
            say "bring one (the search tool: fetch github:apache/tvm) and pass --tvm GITDIR, or --tvm SRCDIR"
            exit 1
        }
        c=$(git -C "$tvm" rev-parse "$TAG^{commit}")
        [ "$c" = "$TAG_COMMIT" ] || say "note: $TAG is $c here, not $TAG_COMMIT"
        mkdir -p "$cache/src.part"
        git -C "$tvm" archive "$c" | tar -x -C "$cache/src.part"
        for pair in "dmlc-core:$dmlc" "dlpack:$dlpack" "rang:$rang"; do
            m=${pair%%:*} g=${pair#*:}
            want=$(git -C "$tvm" rev-parse "$c:3rdparty/$m")
            git -C "$g" cat-file -e "$want^{commit}" 2>/dev/null || {
                say "3rdparty/$m needs commit $want of its repository; none at $g"
                say "bring it (fetch github:$(git -C "$tvm" show "$c:.gitmodules" | sed -n "/3rdparty\/$m\"/,/url/s|.*url = https://github.com/||p" | sed 's/\.git$//')) and pass --$m GITDIR"
                exit 1
            }
            mkdir -p "$cache/src.part/3rdparty/$m"
            git -C "$g" archive "$want" | tar -x -C "$cache/src.part/3rdparty/$m"
        done
    fi
    rm -rf "$cache/src"
    mv "$cache/src.part" "$cache/src"
fi

# Configure: LLVM 14 linked as Debian's shared libLLVM, no backtrace library,
# no tests; everything else TVM's defaults (CPU only, RPC and graph executor on).
mkdir -p "$cache/build"
cd "$cache/build"
llvm=$(command -v llvm-config-14 || echo /usr/lib/llvm-14/bin/llvm-config)
cp "$cache/src/cmake/config.cmake" config.cmake
cat >>config.cmake <<EOF
set(USE_LLVM "$llvm --link-shared")
set(USE_LIBBACKTRACE OFF)
set(USE_GTEST OFF)
set(HIDE_PRIVATE_SYMBOLS ON)
set(CMAKE_BUILD_TYPE Release)
EOF
[ -f CMakeCache.txt ] || cmake "$cache/src" >cmake.log 2>&1 || { tail -30 cmake.log; say "cmake failed (log: $cache/build/cmake.log)"; exit 1; }
say "building TVM v0.18.0 in $cache/build with $jobs jobs (tens of minutes; log: $cache/build/make.log)"
make -j"$jobs" tvm tvm_runtime >make.log 2>&1 || { tail -30 make.log; say "the build failed (log: $cache/build/make.log)"; exit 1; }

cat >"$cache/env.sh" <<EOF
# source this for Debian's /usr/bin/python3 to import TVM v0.18.0 (bench/tvm/setup.sh)
export TVM_LIBRARY_PATH="$cache/build"
export PYTHONPATH="$cache/src/python\${PYTHONPATH:+:\$PYTHONPATH}"
EOF
touch "$cache/build/tlpx-ok"
works || { say "built, but /usr/bin/python3 cannot import tvm.auto_scheduler with $cache/env.sh"; rm -f "$cache/build/tlpx-ok"; exit 1; }
say "TVM v0.18.0 built in $cache"
echo "$cache"

#!/bin/sh
# adapter.sh: contrib/tvm/tlpx_cost_model.py against the real TVM (a short
# real search on this CPU, bench/tvm/adapter.py); TAP on stdout.  Needs TVM
# built by bench/tvm/setup.sh (exit 77 without it); about a minute.
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${top_builddir:-$top}
cache=$("$top/bench/tvm/setup.sh" --check 2>/dev/null) || {
    echo "adapter.sh: no TVM build (run bench/tvm/setup.sh once)"; exit 77; }
. "$cache/env.sh"
[ -x "$build/tlpx" ] || { echo "adapter.sh: no tlpx at $build/tlpx (make first)"; exit 1; }
exec /usr/bin/python3 "$top/bench/tvm/adapter.py" --tlpx "$build/tlpx" --model "$top/assets/xeon-cpu.tlpx" "$@"

#!/bin/sh
# run.sh: the record/feature benchmark.  tlpx's engine (bench/bench_load) and
# the Python peer (Python json + TLP's extraction loop) on the same files in
# the same run, one core each, then a bit-for-bit comparison of their feature
# matrices and labels.  Needs ../shared/data (or TLPX_DATA) and python3-numpy.
# usage: bench/run.sh [NAME=]PATH...   (default: all of the shared data)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top}
data=${TLPX_DATA:-$top/../shared/data}
[ -x "$build/bench/bench_load" ] || make -C "$build" bench/bench_load >/dev/null
if [ $# = 0 ]; then
    [ -d "$data" ] || { echo "run.sh: no data at $data (set TLPX_DATA)"; exit 77; }
    R=$data/nnfusion-roller/artifacts
    set -- "K80=$R/Table3" "MI50=$R/Table4" "V100=$R/microbenchmark" "$data/crazydemo-tlcbench" "$data/tenset-ci-logs"
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/tlpx_bench.XXXXXX")
trap 'rm -rf "$out"' EXIT
py=/usr/bin/python3

echo "tlpx engine (1 core):"
taskset -c 0 "$build/bench/bench_load" "$@" | tee "$out/c.json"
echo "Python peer: json + TLP's extraction loop (1 core):"
taskset -c 0 $py "$top/bench/peer_features.py" --out "$out/py" "$@" | tee "$out/py.json"
"$build/tlpx" features -q "$@" --out "$out/c" >/dev/null

$py - "$out" <<'PY'
import json, sys, os
import numpy as np
out = sys.argv[1]
c = json.load(open(out + '/c.json')); p = json.load(open(out + '/py.json'))
c_rps = c['records'] / (c['load_s'] + c['matrices_s'])
print()
print('%-34s %12s %12s %8s' % ('figure', 'tlpx', 'python', 'ratio'))
print('%-34s %12.0f %12.0f %7.1fx' % ('records parsed+featurised per s', c_rps, p['records_per_s'], c_rps / p['records_per_s']))
print('%-34s %12.1f %12.1f %7.1fx' % ('MB of JSON per s', c['mb_per_s'], p['mb_per_s'], c['mb_per_s'] / p['mb_per_s']))
print('%-34s %12.1f %12s' % ('bytes held per record (engine)', c['bytes_per_record'], '-'))
print('%-34s %12.1f %12s' % ('resident set growth per record', c['rss_per_record'], '-'))
print('goals: >= 30x the peer, >= 50 MB/s')
same = True
for mode in ('cpu', 'gpu'):
    pf = out + '/py.%s.features.npy' % mode
    cf = out + '/c.%s.features.npy' % mode
    if not os.path.exists(pf):
        continue
    a, b = np.load(pf), np.load(cf)
    la, lb = np.load(out + '/py.%s.labels.npy' % mode), np.load(out + '/c.%s.labels.npy' % mode)
    fe = a.shape == b.shape and np.array_equal(a, b)
    le = la.shape == lb.shape and np.array_equal(la, lb)
    same &= fe and le
    print('%s: %d records; features identical: %s; labels identical: %s' % (mode, len(a), fe, le))
sys.exit(0 if same else 1)
PY

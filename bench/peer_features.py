#!/usr/bin/python3
"""The Python peer for bench/run.sh: Python's json plus the spec's extraction
loop (tests/tlp_reference.py, TLP's own loop) over the same files, one core.
Prints one JSON object of timings; with --out PREFIX also writes the features
and labels (grouped as tlpx groups them) so run.sh can compare bit for bit.

usage: peer_features.py [--out PREFIX] [NAME=]PATH..."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests'))
import tlp_reference as ref  # noqa: E402
import numpy as np  # noqa: E402  (np.mean, as TLP's loop)


def files_under(path):
    """Depth-first, entries sorted, as tlpx reads a directory."""
    if not os.path.isdir(path):
        return [path]
    out = []
    for e in sorted(os.path.join(path, x) for x in os.listdir(path) if not x.startswith('.')):
        if os.path.isdir(e):
            out += files_under(e)
        elif e.endswith('.json') or e.endswith('.log'):
            out.append(e)
    return out


def main():
    args = sys.argv[1:]
    out = None
    if args[:1] == ['--out']:
        out, args = args[1], args[2:]
    t0 = time.perf_counter()
    nbytes = 0
    recs = []  # (platform, task key, steps matrix, cost)
    for arg in args:
        name, path = (arg.split('=', 1) if re.match(r'^[^/=]+=', arg) and not os.path.exists(arg) else (None, arg))
        for fn in files_under(path):
            with open(fn, 'rb') as f:
                data = f.read()
            nbytes += len(data)
            for line in data.split(b'\n'):
                s = line.rstrip(b'\r')
                if not s.strip() or s[:1] in b'# ':
                    continue
                r = json.loads(s)
                task = r['i'][0]
                platform = ref.platform_of(task[1])
                m = re.search(r'-model=(\S+)', task[1])
                hw = name or (m.group(1) if m else os.path.basename(os.path.dirname(fn)))
                cost = float(np.mean(r['r'][0]))
                recs.append((platform, (task[0], hw, platform), ref.step_vectors(r['i'][1][1], platform), cost))
    min_cost = {}
    for platform, key, _, cost in recs:
        min_cost[key] = min(min_cost.get(key, 1000000), cost)
    labels = [min_cost[key] / cost for _, key, _, cost in recs]
    t1 = time.perf_counter()
    print(json.dumps({'records': len(recs), 'mb': nbytes / 1e6, 'seconds': t1 - t0,
                      'records_per_s': len(recs) / (t1 - t0), 'mb_per_s': nbytes / 1e6 / (t1 - t0)}))
    if out:
        for platform in ('llvm', 'cuda'):
            idx = [i for i, r in enumerate(recs) if r[0] == platform]
            if not idx:
                continue
            mode = 'cpu' if platform == 'llvm' else 'gpu'
            np.save('%s.%s.features.npy' % (out, mode), np.array([recs[i][2] for i in idx], dtype=np.float32))
            np.save('%s.%s.labels.npy' % (out, mode), np.array([labels[i] for i in idx], dtype=np.float32))


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Make tests/fixtures/golden.txt from the hand-written records in
tests/fixtures/records with the Python reference (tlp_reference.py) and
numpy's mean.  Run from the repository root:  /usr/bin/python3 tests/make_golden.py

golden.txt lines:
  record PATH LINE MODE MEAN_HEX LABEL_F32_HEX   then L lines of F integers
  mean N V1_HEX ... VN_HEX EXPECTED_HEX          (numpy's np.mean, pairwise sum)
"""
import json
import os
import random
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import tlp_reference as ref  # noqa: E402

ROOT = 'tests/fixtures/records'


def hardware_of(path, target):
    m = re.search(r'-model=(\S+)', target)
    return m.group(1) if m else os.path.basename(os.path.dirname(path))


def main():
    files = []
    for d, _, fs in os.walk(ROOT):
        for f in fs:
            if f.endswith('.json') or f.endswith('.log'):
                files.append(os.path.join(d, f))
    files.sort()
    recs = []
    for path in files:
        with open(path, 'rb') as fh:
            for lineno, line in enumerate(fh.read().split(b'\n'), 1):
                s = line.decode().rstrip('\r')
                if not s.strip() or s[0] in '# ':
                    continue
                r = json.loads(s)
                task = r['i'][0]
                platform = ref.platform_of(task[1])
                cost = np.mean([float(c) for c in r['r'][0]])
                recs.append((path, lineno, task[0], hardware_of(path, task[1]), platform, cost,
                             ref.step_vectors(r['i'][1][1], platform)))
    min_cost = {}
    for path, lineno, key, hw, platform, cost, _ in recs:
        k = (key, hw, platform)
        min_cost[k] = min(min_cost.get(k, 1000000), cost)
    out = []
    for path, lineno, key, hw, platform, cost, vecs in recs:
        label = np.float32(min_cost[(key, hw, platform)] / cost)
        mode = 'cpu' if platform == 'llvm' else 'gpu'
        out.append('record %s %d %s %s %s' % (os.path.relpath(path, ROOT), lineno, mode, float(cost).hex(),
                                              float(label).hex()))
        for v in vecs:
            out.append(' '.join(str(x) for x in v))
    rng = random.Random(7)
    for n in [1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 100, 128, 129, 200, 255]:
        xs = [rng.uniform(1e-6, 1e-2) * (10 ** rng.randint(-2, 2)) for _ in range(n)]
        out.append('mean %d %s %s' % (n, ' '.join(x.hex() for x in xs), float(np.mean(xs)).hex()))
    with open('tests/fixtures/golden.txt', 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('wrote tests/fixtures/golden.txt: %d records' % len(recs))


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""failures.py: where the failed measurements of a log come from (a dev-only study, stdlib only).

usage: bench/failures.py [DIR] [--round N]

DIR (default: ../shared/data/crazydemo-tlcbench, the Xeon logs) is read for
Ansor record files (*.json, one record a line).  For each task the records are
taken in the log's order, which is the order Ansor measured them in: rounds of
N candidates (default 32, what these logs show), each built and run as a batch.
Printed:
  - the failures by TVM error number;
  - the failure rate by position in the round, for each auto-unroll limit
    (the largest auto_unroll_max_step pragma of the program): if failing were
    a property of the program alone, the position would not matter once the
    program's unroll limit is fixed;
  - per task, how well the position alone separates failed from valid records
    (AUC: the chance that a failed record sits earlier in its round than a
    valid one), the mean over tasks with both.
A model ranks programs from their schedule; whatever the position explains
beyond the schedule, no ranking can learn.  docs/quality.md ("Why Xeon's failed
picks stay") has the figures and what a failure classifier on the tokens reached beside them.
"""
import bisect
import collections
import glob
import json
import os
import sys

ERRORS = ['NO_ERROR', 'INSTANTIATION_ERROR', 'COMPILE_HOST', 'COMPILE_DEVICE', 'RUNTIME_DEVICE',
          'WRONG_ANSWER', 'BUILD_TIMEOUT', 'RUN_TIMEOUT', 'UNKNOWN_ERROR']


def unroll_limit(steps):
    v = [int(s[3].split('$')[1]) for s in steps
         if s[0] == 'PR' and isinstance(s[3], str) and s[3].startswith('auto_unroll_max_step$')]
    return max(v) if v else 0


def main():
    args = sys.argv[1:]
    rnd = 32
    if '--round' in args:
        i = args.index('--round')
        rnd = int(args[i + 1])
        del args[i:i + 2]
    if args and args[0].startswith('-'):
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = args[0] if args else os.path.join(os.environ.get('TLPX_DATA', os.path.join(top, '..', 'shared', 'data')),
                                          'crazydemo-tlcbench')
    files = sorted(f for ext in ('json', 'log') for f in glob.glob(os.path.join(d, '**', '*.' + ext), recursive=True))
    if not files:
        print(f'failures.py: no *.json record files under {d}', file=sys.stderr)
        return 77
    tasks = collections.defaultdict(list)  # (file, workload) -> [(failed, error, unroll)]
    for f in files:
        with open(f) as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip() or line.lstrip().startswith('#'):
                    continue
                try:
                    r = json.loads(line)
                    key, steps, err = r['i'][0][0], r['i'][1][1], int(r['r'][1])
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    print(f'failures.py: {f}:{n}: not a record ({e})', file=sys.stderr)
                    continue
                tasks[(f, key)].append((err != 0, err, unroll_limit(steps)))
    total = sum(len(v) for v in tasks.values())
    errs = collections.Counter(e for v in tasks.values() for _, e, _ in v if e)
    print(f'{d}: {len(files)} files, {len(tasks)} task logs (a task in one file), {total} records, '
          f'{sum(errs.values())} failed ({100.0 * sum(errs.values()) / max(1, total):.1f}%)')
    print('failures by error: ' + ', '.join(f'{ERRORS[e] if 0 <= e < len(ERRORS) else e} {c}'
                                             for e, c in errs.most_common()))
    quarters = 4
    cell = collections.defaultdict(lambda: [0, 0])
    aucs = []
    for recs in tasks.values():
        fail_pos, ok_pos = [], []
        for i, (failed, _, unroll) in enumerate(recs):
            p = i % rnd
            c = cell[(unroll, p * quarters // rnd)]
            c[0] += 1
            c[1] += failed
            (fail_pos if failed else ok_pos).append(p)
        if fail_pos and ok_pos:
            earlier = ties = 0
            ok_sorted = sorted(ok_pos)
            for p in fail_pos:
                lo = bisect.bisect_left(ok_sorted, p)
                hi = bisect.bisect_right(ok_sorted, p)
                earlier += len(ok_sorted) - hi
                ties += hi - lo
            aucs.append((earlier + 0.5 * ties) / (len(fail_pos) * len(ok_pos)))
    print(f'\nfailure rate by position in a round of {rnd} (quarters of the round), by auto-unroll limit:')
    print('unroll   ' + ''.join(f'  {q * rnd // quarters:>2}-{(q + 1) * rnd // quarters - 1:<2} (n)     '
                                for q in range(quarters)))
    for u in sorted({u for u, _ in cell}):
        row = ''
        for q in range(quarters):
            n, f = cell[(u, q)]
            row += f'  {f / n if n else 0:5.3f} ({n:>5})  ' if n else f'  {"-":>5} ({0:>5})  '
        print(f'{u:<8} {row}')
    if aucs:
        print(f'\nposition alone against failure, per task log: AUC {sum(aucs) / len(aucs):.3f} '
              f'(mean over the {len(aucs)} task logs with failed and valid records; 0.5 = no information)')
    return 0


if __name__ == '__main__':
    sys.exit(main())

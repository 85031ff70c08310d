#!/usr/bin/python3
"""failure_classifier.py: can the schedule tell a failed measurement from a valid one? (dev-only study)

usage: bench/failure_classifier.py PREDICTIONS.tsv [--hw Xeon] [--folds 3] [--epochs 5] [--seed 0] [--threads 2]

Trains TLP's network (the peer's TLPNet, log-scaled tokens) as a classifier of
failure (binary cross-entropy; failed = cost 1e10) on all folds by task but
one, and predicts the held-out fold, for every fold (tlpx features --fold, as
bench/quality.sh cuts them).  Prints the mean per-task AUC of the predicted
failure probability p, then what demoting the programs it flags does to a
ranking: PREDICTIONS.tsv is tlpx predict's output for the same tasks (from
quality.sh's work directory: HW-tlpx-sS.tsv), re-ranked (a) with programs of
p > t last, (b) by z-scored score + beta * log(1 - p).  Needs Debian's
python3-torch and python3-numpy.  docs/quality.md ("Why Xeon's failed picks stay") has
the figures; bench/failures.py the failures' relation to the measurement round.
"""
import argparse, collections, os, subprocess, sys, tempfile
import numpy as np
import torch

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.environ.get('TLPX_PEERS', os.path.join(top, '..', 'shared', 'peers')))
from tlp_torch import TLPNet  # noqa: E402

PATHS = {'K80': 'nnfusion-roller/artifacts/Table3', 'Xeon': 'crazydemo-tlcbench'}


def enc(v):
    return (np.sign(v) * np.log2(1 + np.abs(v))).astype(np.float32)


def load(p):
    rows = [l.rstrip('\n').split('\t') for l in open(p + '.index.tsv')][1:]
    return enc(np.load(p + '.features.npy')), np.load(p + '.costs.npy'), rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('pred'); ap.add_argument('--hw', default='Xeon'); ap.add_argument('--folds', type=int, default=3)
    ap.add_argument('--epochs', type=int, default=5); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    data = os.environ.get('TLPX_DATA', os.path.join(top, '..', 'shared', 'data'))
    target = f'{a.hw}={os.path.join(data, PATHS[a.hw])}'
    tlpx = os.path.join(os.environ.get('top_builddir', top), 'tlpx')
    scores = {}
    for l in open(a.pred):
        t = l.rstrip('\n').split('\t')
        if len(t) >= 5 and t[0] != 'task':
            scores[t[2]] = float(t[4])
    out = []
    with tempfile.TemporaryDirectory() as d:
        for k in range(1, a.folds + 1):
            for flag, name in (('--except-fold', 'train'), ('--fold', 'test')):
                subprocess.run([tlpx, 'features', target, flag, f'{k}/{a.folds}', '--out', f'{d}/{name}', '-q'],
                               check=True, stdout=subprocess.DEVNULL)
            torch.manual_seed(a.seed); np.random.seed(a.seed)
            x, c, _ = load(f'{d}/train')
            X, Y = torch.from_numpy(x), torch.from_numpy((c >= 1e9).astype(np.float32))
            net = TLPNet(fea_size=x.shape[2], step_size=x.shape[1])
            opt = torch.optim.Adam(net.parameters(), lr=7e-4, weight_decay=1e-6)
            for ep in range(a.epochs):
                perm = np.random.permutation(len(x)); tot = 0.0
                for s in range(0, len(x), 256):
                    idx = torch.from_numpy(perm[s:s + 256])
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(net(X[idx]).squeeze(-1), Y[idx])
                    opt.zero_grad(); loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5); opt.step(); tot += float(loss) * len(idx)
                print(f'fold {k} epoch {ep}: cross-entropy {tot / len(x):.4f}', file=sys.stderr)
            xt, ct, rows = load(f'{d}/test')
            with torch.no_grad():
                p = torch.sigmoid(net(torch.from_numpy(xt)).squeeze(-1)).numpy()
            for i, r in enumerate(rows):
                key = f'{r[2]}:{r[3]}'
                if key not in scores:
                    sys.exit(f'failure_classifier.py: {a.pred}: no score for {key}')
                out.append((r[0], ct[i], float(p[i]), scores[key]))
    tasks = collections.defaultdict(list)
    for t, c, p, s in out:
        tasks[t].append((c, p, s))
    aucs = []
    for v in tasks.values():
        f = np.array([p for c, p, s in v if c >= 1e9]); o = np.array([p for c, p, s in v if c < 1e9])
        if len(f) and len(o):
            aucs.append(np.mean(f[:, None] > o[None, :]) + 0.5 * np.mean(f[:, None] == o[None, :]))
    print(f'{a.hw}, {a.folds} folds by task, seed {a.seed}: per-task AUC of p(failed) {np.mean(aucs):.3f} '
          f'over {len(aucs)} tasks with failed and valid records')

    def report(name, key):
        t1, t5, fp = [], [], 0
        for v in tasks.values():
            valid = [c for c, p, s in v if c < 1e9]
            if not valid:
                continue
            best = min(valid)
            order = sorted(v, key=key(v))
            c1 = order[0][0]; c5 = min(o[0] for o in order[:5])
            t1.append(best / c1 if c1 < 1e9 else 0.0); t5.append(best / c5 if c5 < 1e9 else 0.0); fp += c1 >= 1e9
        print(f'  {name:<30} top-1 {np.mean(t1):.3f}  top-5 {np.mean(t5):.3f}  failed top-1 picks {fp} of {len(t1)}')

    report('the predictions as they are', lambda v: lambda o: -o[2])
    for th in (0.3, 0.5, 0.7, 0.9):
        report(f'p > {th} last', lambda v, th=th: lambda o: (o[1] > th, -o[2]))

    def zkey(beta):
        def k(v):
            s = np.array([o[2] for o in v]); m, sd = s.mean(), s.std() + 1e-9
            return lambda o: -((o[2] - m) / sd + beta * np.log(1 - o[1] + 1e-6))
        return k
    for beta in (0.5, 1.0, 2.0, 4.0):
        report(f'z(score) + {beta} log(1-p)', zkey(beta))


if __name__ == '__main__':
    main()

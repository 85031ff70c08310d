"""online.py: how well a cost model that learns online ranks the next round,
replayed on tuning logs without measuring anything.

    online.py LOG [LOG...] [--models xgb,tlpx] [--serve-args "..."] [--round 64]
              [--model M.tlpx [--head HW]]

A log of Ansor's (bench/tune.sh's) is in the order the search measured its
candidates, 64 a round.  For each round k >= 2 of each log, a fresh model of
each kind is given the rounds before k through its `update` (the measured
records, as the search gave them) and then scores round k's candidates
through its `predict`.  Printed per log and model: the mean over rounds of
best/cost of the model's top-1 and top-8 among the round's candidates (1 =
the round's best; a failed pick costs 0), and the pair accuracy.  The same
candidates and labels for every model and recipe: a noise-free stand-in for
the searches of bench/tune.sh, whose measurements take minutes each, to
compare `tlpx serve` recipes (--serve-args "--epochs 30 --freeze-trunk").
It is not the search: the model's choices do not change which candidates
come next.  Needs TVM (bench/tvm/setup.sh; run through bench/tune.sh's env).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import tune  # noqa: E402  (the workloads must be registered before the records load)


def load(log):
    from tvm import auto_scheduler
    from tvm.auto_scheduler.measure import recover_measure_input

    inputs, results = [], []
    for inp, res in auto_scheduler.load_records(log):
        inputs.append(recover_measure_input(inp, rebuild_state=True))  # the task and the full state
        results.append(res)
    return inputs, results


def ranks(scores, costs, ks=(1, 8)):
    best = min(costs)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    out = []
    for k in ks:
        c = min(costs[i] for i in order[:k])
        out.append(best / c if c < math.inf else 0.0)
    n = ok = 0
    for i in range(len(costs)):
        for j in range(i + 1, len(costs)):
            if costs[i] == costs[j] or (costs[i] == math.inf and costs[j] == math.inf):
                continue
            n += 1
            ok += (scores[i] > scores[j]) == (costs[i] < costs[j])
    out.append(ok / n if n else float("nan"))
    return out


def make(kind, args, tmp):
    if kind == "xgb":
        from tvm.auto_scheduler.cost_model import XGBModel

        return XGBModel()
    if kind == "random":
        from tvm.auto_scheduler.cost_model import RandomModel

        return RandomModel()
    sys.path.insert(0, args.contrib)
    from tlpx_cost_model import TlpxModel

    # prior: the model as it is, never trained on the search's measurements
    return TlpxModel(args.model, tlpx=args.tlpx, head=args.head, log=os.path.join(tmp, "serve.json"),
                     learn=kind != "prior", args=args.serve_args.split(),
                     stderr=open(os.path.join(tmp, "serve.err"), "a"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("logs", nargs="+")
    p.add_argument("--models", default="xgb,tlpx", help="of xgb, random, tlpx, prior (tlpx never trained)")
    p.add_argument("--round", type=int, default=64)
    p.add_argument("--serve-args", default="")
    p.add_argument("--tlpx", default=os.environ.get("TLPX", "tlpx"))
    p.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "..", "assets", "xeon-cpu.tlpx"))
    p.add_argument("--head", default=None, help="the model's head that scores first (default: its first)")
    p.add_argument("--contrib", default=os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "tvm"))
    args = p.parse_args()
    import tempfile

    import numpy as np

    tune.workloads()
    sums = {}
    for log in args.logs:
        inputs, results = load(log)
        costs = tune.costs(log)  # the log's measured costs in order, a failed trial inf
        R = args.round
        for kind in args.models.split(","):
            rows = []
            for k in range(1, (len(inputs) + R - 1) // R):
                np.random.seed(k)
                with tempfile.TemporaryDirectory() as tmp:
                    m = make(kind, args, tmp)
                    m.update(inputs[: k * R], results[: k * R])
                    nxt = inputs[k * R:(k + 1) * R]
                    sc = list(m.predict(nxt[0].task, [i.state for i in nxt]))
                    if hasattr(m, "close"):
                        m.close()
                rows.append(ranks(sc, costs[k * R:(k + 1) * R]))
            mean = [sum(r[i] for r in rows) / len(rows) for i in range(3)]
            sums.setdefault(kind, []).append(mean)
            print("%-32s %-7s rounds %d  top-1 %.3f  top-8 %.3f  pair %.3f  (per round top-1: %s)" % (
                os.path.basename(log), kind, len(rows), mean[0], mean[1], mean[2],
                " ".join("%.2f" % r[0] for r in rows)), flush=True)
    for kind, ms in sums.items():
        print("mean over %d logs  %-7s top-1 %.3f  top-8 %.3f  pair %.3f" % (
            len(ms), kind, *[sum(m[i] for m in ms) / len(ms) for i in range(3)]))


if __name__ == "__main__":
    main()

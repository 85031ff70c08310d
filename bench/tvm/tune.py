"""tune.py: Ansor searches on this machine's CPU with three cost models side
by side (TVM's XGBModel, RandomModel, tlpx through `tlpx serve`), and the
report of what they found.  Run by bench/tune.sh with TVM v0.18.0
(bench/tvm/setup.sh) on Debian's /usr/bin/python3.

    tune.py run --dir DIR --tasks r18_c2,... --models xgb,random,tlpx --seeds 0,1 --trials 256
    tune.py report --dir DIR

Each (task, model, seed) is one search of its own (task.tune with a
SketchPolicy of that model and seed): a fresh XGBModel as task.tune makes
it, RandomModel, or a fresh `tlpx serve` of the CPU model whose head for this
machine learns from the search's measurements (wait=True: every round's
model scores the next round, as XGBModel retrains in update).  The logs are
TVM's own (RecordToFile): DIR/TASK.MODEL.sSEED.json; the time each model
spent predicting and updating goes to DIR/TASK.MODEL.sSEED.time.
"""
import argparse
import json
import math
import os
import sys
import time

TASKS = {
    # name: (kind, args, what)
    "r18_c1": ("conv2d", (1, 224, 224, 3, 64, 7, 7, 2, 3), "ResNet-18 conv1 7x7/2, 3->64, 224x224"),
    "r18_c2": ("conv2d", (1, 56, 56, 64, 64, 3, 3, 1, 1), "ResNet-18 layer1 3x3, 64->64, 56x56"),
    "r18_c3": ("conv2d", (1, 28, 28, 128, 128, 3, 3, 1, 1), "ResNet-18 layer2 3x3, 128->128, 28x28"),
    "r18_c4": ("conv2d", (1, 14, 14, 256, 256, 3, 3, 1, 1), "ResNet-18 layer3 3x3, 256->256, 14x14"),
    "r18_c5": ("conv2d", (1, 7, 7, 512, 512, 3, 3, 1, 1), "ResNet-18 layer4 3x3, 512->512, 7x7"),
    "mb_dw": ("depthwise", (1, 112, 112, 32, 3, 1, 1), "MobileNet depthwise 3x3, 32 channels, 112x112"),
    "r50_fc": ("dense", (1, 2048, 1000), "ResNet-50 fc, dense 1x2048 -> 1000"),
}
QUICK = ["r18_c4"]
DEFAULT = ["r18_c2", "r18_c3", "r18_c4", "r18_c5", "mb_dw", "r50_fc"]


def workloads():
    from tvm import auto_scheduler, te, topi

    @auto_scheduler.register_workload
    def tlpx_conv2d(N, H, W, CI, CO, KH, KW, stride, pad):
        data = te.placeholder((N, CI, H, W), name="data")
        kernel = te.placeholder((CO, CI, KH, KW), name="kernel")
        out = topi.nn.conv2d_nchw(data, kernel, stride, pad, dilation=1, out_dtype="float32")
        return [data, kernel, out]

    @auto_scheduler.register_workload
    def tlpx_depthwise(N, H, W, C, K, stride, pad):
        data = te.placeholder((N, C, H, W), name="data")
        kernel = te.placeholder((C, 1, K, K), name="kernel")
        out = topi.nn.depthwise_conv2d_nchw(data, kernel, stride, pad, 1, out_dtype="float32")
        return [data, kernel, out]

    @auto_scheduler.register_workload
    def tlpx_dense(N, K, M):
        # written out, not topi.nn.dense: its weight is marked layout-free, and
        # Ansor's layout rewrite of it fails to build at batch 1 in v0.18
        # (compute_dag.cc: the batch axis of extent 1 has no name to map)
        data = te.placeholder((N, K), name="data")
        weight = te.placeholder((M, K), name="weight")
        k = te.reduce_axis((0, K), name="k")
        out = te.compute((N, M), lambda i, j: te.sum(data[i, k] * weight[j, k], axis=k), name="dense")
        return [data, weight, out]

    return {"conv2d": tlpx_conv2d, "depthwise": tlpx_depthwise, "dense": tlpx_dense}


def local_target(spec):
    """The TVM target of spec, e.g. "llvm -mcpu=native": native becomes this
    CPU's name (TVM's LLVM targets take no "native"), and -model=local is
    added when no -model= is given (tlpx names the records' hardware after it)."""
    import tvm

    if "-mcpu=native" in spec:
        from tvm.target.codegen import llvm_get_system_cpu
        spec = spec.replace("-mcpu=native", "-mcpu=" + llvm_get_system_cpu())
    if "-model=" not in spec:
        spec += " -model=local"
    return tvm.target.Target(spec)


def timed(base):
    """base (a TVM cost model class) with the seconds its predict and update take."""

    class Timed(base):
        predict_s = update_s = 0.0

        def predict(self, task, states):
            t = time.perf_counter()
            r = super().predict(task, states)
            self.predict_s += time.perf_counter() - t
            return r

        def update(self, inputs, results):
            t = time.perf_counter()
            super().update(inputs, results)
            self.update_s += time.perf_counter() - t

    return Timed


def timed_xgb():
    from tvm.auto_scheduler.cost_model import XGBModel

    return timed(XGBModel)()


def timed_tlpx(args, log_dir, name):
    sys.path.insert(0, args.contrib)
    from tlpx_cost_model import TlpxModel

    serve_log = os.path.join(log_dir, name + ".serve.json")
    if os.path.exists(serve_log):
        os.unlink(serve_log)
    return timed(TlpxModel)(args.model, tlpx=args.tlpx, hardware="local", head=args.head, log=serve_log,
                     out=os.path.join(log_dir, name + ".tlpx"), score=args.score, args=args.serve_args.split(),
                     stderr=open(os.path.join(log_dir, name + ".serve.err"), "w"))


def run(args):
    import numpy as np
    import tvm
    from tvm import auto_scheduler
    from tvm.auto_scheduler.cost_model import RandomModel

    fns = workloads()
    target = local_target(args.target)
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "target.txt"), "w") as f:
        f.write(str(target) + "\n")
    for name in args.tasks.split(","):
        kind, targs, what = TASKS[name]
        for seed in (int(s) for s in args.seeds.split(",")):
            for model_name in args.models.split(","):
                tag = "%s.%s.s%d" % (name, model_name, seed)
                log = os.path.join(args.dir, tag + ".json")
                if os.path.exists(log + ".done"):
                    print("tune: %s done already" % tag, flush=True)
                    continue
                if os.path.exists(log):
                    os.unlink(log)
                np.random.seed(seed)
                task = auto_scheduler.SearchTask(func=fns[kind], args=targs, target=target)
                if model_name == "xgb":
                    model = timed_xgb()
                elif model_name == "random":
                    model = RandomModel()
                elif model_name == "tlpx":
                    model = timed_tlpx(args, args.dir, tag)
                else:
                    raise SystemExit("tune.py: unknown model %s" % model_name)
                policy = auto_scheduler.SketchPolicy(task, program_cost_model=model, seed=seed, verbose=0)
                opt = auto_scheduler.TuningOptions(
                    num_measure_trials=args.trials, num_measures_per_round=64, verbose=0,
                    builder=auto_scheduler.LocalBuilder(n_parallel=args.builders),
                    runner=auto_scheduler.LocalRunner(number=args.number, repeat=args.repeat,
                                                      min_repeat_ms=args.min_repeat_ms,
                                                      enable_cpu_cache_flush=True),
                    measure_callbacks=[auto_scheduler.RecordToFile(log)])
                t0 = time.perf_counter()
                task.tune(opt, search_policy=policy)
                wall = time.perf_counter() - t0
                pred = getattr(model, "predict_s", 0.0)
                upd = getattr(model, "update_s", 0.0)
                if model_name == "tlpx":
                    model.close()
                with open(os.path.join(args.dir, tag + ".time"), "w") as f:
                    json.dump({"wall_s": wall, "predict_s": pred, "update_s": upd}, f)
                open(log + ".done", "w").close()
                print("tune: %s (%s): %.0f s, cost model %.0f s" % (tag, what, wall, pred + upd), flush=True)


# ---------------------------------------------------------------- the report

def costs(log):
    """The measured costs in the log's order (a failed trial: inf)."""
    out = []
    with open(log) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            r = json.loads(line)["r"]
            c = r[0]
            out.append(sum(c) / len(c) if r[1] == 0 and c else math.inf)
    return out


def best_after(cs, n):
    return min(cs[:n]) if cs[:n] else math.inf


def trials_to(cs, goal):
    """Trials until a cost within 0.01% of goal is held (None: never)."""
    for i, c in enumerate(cs):
        if c <= goal * (1 + 1e-4):
            return i + 1
    return None


def against_xgb(logs, tasks, seeds, m):
    """Model m against XGBoost per task and seed: trials to XGBoost's final best
    (and the reverse), the final bests' ratio, and their geometric mean."""
    print("\n%s against XGBoost, per task and seed: trials to reach the other's final best, "
          "and the final bests' ratio" % m)
    print("%-8s %-4s %8s %16s %14s %14s" % ("task", "seed", "trials", "%s->xgb best" % m, "xgb->own best",
                                            "%s/xgb end" % m))
    ratios, worst = [], 0.0
    for t in tasks:
        for s in seeds:
            x, p = logs.get((t, "xgb", s)), logs.get((t, m, s))
            if not x or not p:
                continue
            xb, pb = min(x), min(p)
            n_p, n_x, n_px = trials_to(p, xb), trials_to(x, xb), trials_to(x, pb)
            ratios.append((n_p if n_p else len(p) + 1) / n_x)
            worst = max(worst, pb / xb)
            print("%-8s %-4s %8d %16s %14d %14.3f   (xgb reaches %s's best in %s)" % (
                t, s, len(p), n_p if n_p else "never (>%d)" % len(p), n_x, pb / xb, m,
                n_px if n_px else "never"))
    if ratios:
        g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        goal = (" (goal <= 0.5)", " (goal <= 1.05)") if m == "tlpx" else ("", "")
        print("geometric mean of (%s's trials to XGBoost's final best) / (XGBoost's own) over %d searches: %.3f%s;"
              "\n  never counts as trials + 1, a bound in %s's favour; worst final best %s/xgb: %.3f%s" % (
                  m, len(ratios), g, goal[0], m, m, worst, goal[1]))


def report(args):
    logs = {}
    for fn in sorted(os.listdir(args.dir)):
        if fn.endswith(".json.done"):
            task, model, seed = fn[: -len(".json.done")].split(".")
            logs[(task, model, seed)] = costs(os.path.join(args.dir, fn[: -len(".done")]))
    if not logs:
        raise SystemExit("tune.py: no finished searches in %s" % args.dir)
    tasks = sorted({k[0] for k in logs}, key=lambda t: list(TASKS).index(t) if t in TASKS else 99)
    models = [m for m in ("xgb", "random", "tlpx") if any(k[1] == m for k in logs)]
    seeds = sorted({k[2] for k in logs})
    target = open(os.path.join(args.dir, "target.txt")).read().strip() if os.path.exists(
        os.path.join(args.dir, "target.txt")) else "?"
    print("target %s; best latency (us) after N trials, per task and seed" % target)
    marks = [m for m in (64, 128, 256, 512, 1024, 2048) if any(len(c) >= m for c in logs.values())]
    print("%-8s %-4s %-7s" % ("task", "seed", "model") + "".join("%10d" % m for m in marks))
    for t in tasks:
        for s in seeds:
            for m in models:
                cs = logs.get((t, m, s))
                if cs is None:
                    continue
                print("%-8s %-4s %-7s" % (t, s, m) + "".join(
                    "%10.1f" % (best_after(cs, n) * 1e6) if len(cs) >= n else "%10s" % "-" for n in marks))
    for m in ("tlpx", "random"):
        if "xgb" in models and m in models:
            against_xgb(logs, tasks, seeds, m)
    print("\nshare of wall time in the cost model (predict + update), over all searches")
    for m in models:
        wall = cm = 0.0
        for (t, mm, s) in logs:
            if mm != m:
                continue
            p = os.path.join(args.dir, "%s.%s.%s.time" % (t, m, s))
            if os.path.exists(p):
                d = json.load(open(p))
                wall += d["wall_s"]
                cm += d["predict_s"] + d["update_s"]
        print("%-7s wall %7.0f s, cost model %6.0f s (%s)" % (m, wall, cm,
                                                          "%.1f%%" % (100 * cm / wall) if wall and m != "random"
                                                          else "not measured: a C++ model"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["run", "report"])
    p.add_argument("--dir", required=True)
    p.add_argument("--tasks", default=",".join(DEFAULT))
    p.add_argument("--models", default="xgb,random,tlpx")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--trials", type=int, default=256)
    p.add_argument("--target", default="llvm -mcpu=native", help="(native: this CPU's name, as LLVM says it)")
    p.add_argument("--tlpx", default=os.environ.get("TLPX", "tlpx"))
    p.add_argument("--model", help="the tlpx model (the embedded CPU model)")
    p.add_argument("--head", default=None, help="the model's head that scores first (default: its first)")
    p.add_argument("--serve-args", default="", help="more tlpx serve options")
    p.add_argument("--score", default="softplus", help="TlpxModel's score: softplus or exp")
    p.add_argument("--contrib", default=os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "tvm"))
    p.add_argument("--builders", type=int, default=os.cpu_count())
    p.add_argument("--number", type=int, default=3)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--min-repeat-ms", type=int, default=100)
    args = p.parse_args()
    if args.what == "run":
        run(args)
    else:
        report(args)


if __name__ == "__main__":
    main()

"""adapter.py: contrib/tvm/tlpx_cost_model.py (TlpxModel) against the real TVM.

    adapter.py --tlpx TLPX --model assets/xeon-cpu.tlpx [--dir DIR]

Drives TlpxModel as Ansor drives it, on a ResNet-18 conv2d task of this
machine's CPU, and prints one TAP line per check:
- predict scores Ansor's own sampled states: one finite, positive score each
  (softplus), not all the same, and the same scores when asked again;
- a short real search (task.tune: 16 trials, 8 a round) with TlpxModel as the
  SketchPolicy's cost model: TVM's log holds the 16 measurements, the
  server's the first round's 8 (Ansor sends a round's measurements at the
  start of the next), and that round's training ended before the second
  round's search (the server's round count);
- save writes a model that `tlpx eval` reads, with a `local` head;
- close ends the server while a round still trains (exit status 0), the
  saved model whole.
Run it through bench/tvm/adapter.sh (exit 77 without TVM).
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import tune  # noqa: E402  (the workloads)

n_checks = failed = 0


def check(ok, what):
    global n_checks, failed
    n_checks += 1
    failed += not ok
    print("%s %d - %s" % ("ok" if ok else "not ok", n_checks, what), flush=True)
    return ok


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tlpx", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--dir", default=None)
    p.add_argument("--contrib", default=os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "tvm"))
    args = p.parse_args()
    sys.path.insert(0, args.contrib)
    import numpy as np
    from tlpx_cost_model import TlpxModel
    from tvm import auto_scheduler

    fns = tune.workloads()
    kind, targs, _ = tune.TASKS["r18_c4"]
    task = auto_scheduler.SearchTask(func=fns[kind], args=targs, target=tune.local_target("llvm -mcpu=native"))
    work = args.dir or tempfile.mkdtemp(prefix="tlpx-adapter.")
    os.makedirs(work, exist_ok=True)
    log, serve_log, out = (os.path.join(work, n) for n in ("tune.json", "serve.json", "model.tlpx"))
    for f in (log, serve_log, out):
        if os.path.exists(f):
            os.unlink(f)
    np.random.seed(0)

    # predict: Ansor's sampled states, scored
    model = TlpxModel(args.model, tlpx=args.tlpx, log=serve_log, out=out)
    states = auto_scheduler.SketchPolicy(task, program_cost_model=model, seed=0,
                                         verbose=0).sample_initial_population()
    scores = model.predict(task, states)
    check(len(scores) == len(states) and len(states) > 0, "predict: %d scores for %d states" % (len(scores), len(states)))
    check(all(math.isfinite(s) and s > 0 for s in scores), "predict: every score finite and positive")
    check(len(set(scores)) > 1, "predict: the scores differ (%d distinct)" % len(set(scores)))
    check(model.predict(task, states) == scores, "predict: the same states, the same scores")

    # a real search with it
    policy = auto_scheduler.SketchPolicy(task, program_cost_model=model, seed=0, verbose=0)
    opt = auto_scheduler.TuningOptions(num_measure_trials=16, num_measures_per_round=8, verbose=0,
                                       builder=auto_scheduler.LocalBuilder(),
                                       runner=auto_scheduler.LocalRunner(number=2, repeat=1, min_repeat_ms=20),
                                       measure_callbacks=[auto_scheduler.RecordToFile(log)])
    task.tune(opt, search_policy=policy)
    lines = lambda f: sum(1 for ln in open(f) if ln.strip()) if os.path.exists(f) else 0  # noqa: E731
    reads = lambda: subprocess.run([args.tlpx, "eval", out, "local=" + log, "--head", "local", "-q"],  # noqa: E731
                                   capture_output=True, text=True)
    check(lines(log) == 16, "search: TVM's log holds 16 measurements (%d)" % lines(log))
    # SketchPolicy sends a round's measurements at the start of the next round: the last round's never
    check(lines(serve_log) == 8, "search: the server's log holds the first round's 8 measurements (%d)" % lines(
        serve_log))
    check(model.updates == 8, "search: update sent the first round's 8 records (%d)" % model.updates)
    st = model.status()
    check(int(st.get("round", 0)) >= 1, "search: a round of training ended before the second round's predict "
          "(round=%s)" % st.get("round"))

    # save: a model tlpx reads, with this machine's head
    model.save()
    r = reads()
    check(r.returncode == 0, "save: `tlpx eval` reads the saved model with a local head (%s)" % r.stderr.strip()[:200])

    # close while a round trains
    inputs, results = zip(*auto_scheduler.load_records(log))
    model.update(list(inputs), list(results))
    proc = model._proc
    model.close()
    check(proc.returncode == 0, "close: the server ended with status 0 while a round trained (%s)" % proc.returncode)
    r = reads()
    check(r.returncode == 0, "close: the saved model is whole after the cancelled round (%s)" % r.stderr.strip()[:200])
    print("1..%d" % n_checks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

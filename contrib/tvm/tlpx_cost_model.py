"""tlpx as the cost model of TVM's Ansor (tvm.auto_scheduler, TVM <= 0.18).

    from tlpx_cost_model import TlpxModel
    model = TlpxModel("xeon-cpu.tlpx")          # starts `tlpx serve` beside the search
    policies = [auto_scheduler.SketchPolicy(t, program_cost_model=model) for t in tasks]
    auto_scheduler.TaskScheduler(tasks).tune(tune_option, search_policy=policies)
    model.close()

`predict` sends the candidates' states to the server as Ansor record lines
(auto_scheduler's own writer, with a placeholder result) and returns one
score each; `update` sends what was measured, and the server fine-tunes the
head of this hardware (a new head started from the model's, --head) on every
measurement so far.  The protocol is docs/serve.md of tlpx.  No dependency
beyond TVM and the standard library.
"""
import math
import os
import shutil
import socket as _socketlib
import subprocess

from tvm.auto_scheduler.cost_model.cost_model import PythonBasedModel
from tvm.auto_scheduler.measure import MeasureInput, MeasureResult
from tvm.auto_scheduler.measure_record import dump_record_to_string

__all__ = ["TlpxModel", "TlpxError"]


class TlpxError(RuntimeError):
    """The server refused a request, or went away."""


# Ansor's evolutionary search draws parents in proportion to their scores
# and drops non-positive ones (search_policy/utils.h ComputePrefixSumProb);
# tlpx's scores z are standardised within the task (mean 0, spread 1), so
# they are made positive, in the same order, by one of these.
def _softplus(z):
    return z if z > 30 else math.log1p(math.exp(z))


def _exp(z):
    return math.exp(min(z, 30.0))  # 2048 of them still sum in a float


SCORES = {"softplus": _softplus, "exp": _exp}


class TlpxModel(PythonBasedModel):
    """A cost model answered by `tlpx serve`.

    model:     the tlpx model file (a server is started for it), or None with
               socket= to use a server already listening
    socket:    the Unix socket of a running `tlpx serve --socket PATH`
    tlpx:      the tlpx binary (default: $TLPX, else tlpx on PATH)
    hardware:  the name of this machine's head (serve --hardware)
    head:      the model's head that scores until this machine's own has learnt
    log:       keep the measured records there (serve --log)
    out:       save the model there after every round of training (serve --out)
    wait:      wait for each round of training to end in `update` (True:
               each round's model scores the next round's search, as XGBModel
               does; False: predictions go on with the model in use)
    learn:     send measurements at all (False: the model as it is, a prior only)
    score:     how a standardised score z becomes Ansor's positive one:
               "softplus" (log(1 + e^z)) or "exp" (e^z: parents drawn far
               more often from the top of the population)
    args:      more `tlpx serve` options, e.g. ["--epochs", "5", "-j", "2"]
    """

    def __init__(self, model=None, socket=None, tlpx=None, hardware="local", head=None, log=None, out=None,
                 wait=True, learn=True, score="softplus", args=(), stderr=None):
        super().__init__()
        self.wait, self.learn = wait, learn
        if score not in SCORES:
            raise ValueError("TlpxModel: score is one of %s, not %r" % (", ".join(SCORES), score))
        self._positive = SCORES[score]
        self.predict_calls = self.predicted = self.updates = 0
        self._proc = self._sock = None
        if socket is not None:
            s = _socketlib.socket(_socketlib.AF_UNIX, _socketlib.SOCK_STREAM)
            s.connect(socket)
            self._sock = s
            self._w = s.makefile("wb")
            self._r = s.makefile("rb")
            return
        if model is None:
            raise ValueError("TlpxModel needs a model file or socket=")
        exe = tlpx or os.environ.get("TLPX") or shutil.which("tlpx")
        if not exe:
            raise TlpxError("no tlpx binary: pass tlpx= or set $TLPX")
        cmd = [exe, "serve", model, "--hardware", hardware, "-q"]
        if head:
            cmd += ["--head", head]
        if log:
            cmd += ["--log", log]
        if out:
            cmd += ["--out", out]
        cmd += list(args)
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self._w, self._r = self._proc.stdin, self._proc.stdout

    # ---------------------------------------------------------------- protocol

    def _send(self, head, lines=()):
        try:
            self._w.write(head.encode() + b"\n")
            for line in lines:
                self._w.write(line if line.endswith(b"\n") else line + b"\n")
            self._w.flush()
        except (BrokenPipeError, OSError) as e:
            raise TlpxError("tlpx serve went away: %s" % e) from e

    def _line(self):
        line = self._r.readline()
        if not line:
            raise TlpxError("tlpx serve went away (exit status %s)" % (self._proc.poll() if self._proc else "?"))
        return line.decode(errors="replace").rstrip("\n")

    def _ok(self):
        line = self._line()
        if not line.startswith("ok"):
            raise TlpxError(line)
        return line[2:].strip()

    def request(self, head, lines=()):
        """One request; its status line after `ok` (raises TlpxError on `error`)."""
        self._send(head, lines)
        return self._ok()

    # ---------------------------------------------------------------- the cost model

    @staticmethod
    def _record(task, state, result):
        return dump_record_to_string(MeasureInput(task, state), result).encode()

    def predict(self, task, states):
        placeholder = MeasureResult([1.0], 0, "", 0.0, 0)
        lines, where = [], []
        for i, st in enumerate(states):
            try:
                lines.append(self._record(task, st, placeholder))
                where.append(i)
            except Exception:  # a state the writer refuses (an undefined split): no score
                pass
        scores = [float("-inf")] * len(states)
        if lines:
            self._send("predict %d" % len(lines), lines)
            n = int(self._ok().split()[0])
            for k in range(n):
                ans = self._line()
                if not ans.startswith("error"):
                    scores[where[k]] = self._positive(float(ans))
        self.predict_calls += 1
        self.predicted += len(states)
        return scores

    def update(self, inputs, results):
        if not self.learn or len(inputs) == 0:
            return
        lines = [dump_record_to_string(i, r).encode() for i, r in zip(inputs, results)]
        self._send("update %d" % len(lines), lines)
        accepted, refused = (int(x) for x in self._ok().split()[:2])
        for _ in range(refused):  # the refused lines' reasons
            self._line()
        self.updates += accepted
        if self.wait:
            self.request("wait")

    def predict_stages(self, task, states):
        raise NotImplementedError("tlpx scores whole programs, not stages")

    def status(self):
        """The server's status as a dict (round, records, heads, scoring, ...)."""
        out = {}
        for kv in self.request("status").split(" "):
            if "=" in kv:
                k, v = kv.split("=", 1)
                out[k] = v
        return out

    def save(self, path=None):
        return self.request("save" + (" " + path if path else ""))

    def close(self):
        """End the server (a round of training still running is cancelled)."""
        try:
            if getattr(self, "_w", None):
                self._w.close()
        except OSError:
            pass
        if self._proc:
            self._proc.wait()
            self._proc.stdout.close()
            self._proc = None
        if self._sock:
            self._sock.close()
            self._sock = None


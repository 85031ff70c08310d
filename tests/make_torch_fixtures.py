#!/usr/bin/python3
"""Make the PyTorch parity fixtures tests/fixtures/torch/*.txt that tests/test_torch_parity.c
reads.  Dev-only: run once from the repository root with Debian's torch,
    /usr/bin/python3 tests/make_torch_fixtures.py [--peer DIR]
and commit the output.  The C test needs neither Python nor ../shared.

The network and the LambdaRank loss come from our team's PyTorch reference
(../shared/peers/tlp_torch.py, found through --peer; default: ../shared/peers next to the
repository).  Everything is computed in float64 from float32 parameters and inputs, so the
fixtures hold the exact answer and the C test measures only its own float32 error.

Weights are not stored: every parameter is set from a formula that C reproduces bit for bit
(integer hash, IEEE double arithmetic without libm, one rounding to float32):
    tensor t (0-based, PyTorch state_dict order == tlp_model_tensor order), element i (row-major),
    cols = the tensor's input width (weights [rows, cols]; biases count as cols = 1):
        h = (i * 2654435761 + t * 40503 + 12345) mod 2^32
        h ^= h >> 16;  h = (h * 0x45d9f3b) mod 2^32;  h ^= h >> 16
        u = h / 2^32                                      (double, exact)
        amp = 0.1 for biases, 0.5 for tensor 0 (encoder.0.weight, sees raw features up to 64),
              1.5 for every other weight
        w = float32(((u * 2.0 - 1.0) * amp) / sqrt(cols))  (double, then rounded once)
A formula such as sin(a*i + b) would make every weight matrix rank 2; the hash is full rank.

Cases (batch B = 6): cpu (L 25, F 22, one head: decoder.*), gpu (L 40, F 20, one head),
mtl_gpu (L 40, F 20, two heads: mtl_heads.0.*, mtl_heads.1.*).  Inputs are TLP-like: per real
step an 11-slot one-hot then small integers 0..64 followed by zeros, and 2..8 trailing all-zero
padding steps per sample.  Labels are in (0, 1], each head its own, with one tie.

File format: text, whitespace separated tokens; '#' starts a comment running to the end of the
line.  Numbers are decimal (Python repr: float64 values round-trip exactly; float32 values are
written as the double equal to them).  Keywords come in exactly this order:
    tlpx-torch-fixture 1
    case NAME
    mode cpu|gpu
    heads H
    batch B
    steps L
    features F
    x        B*L*F numbers      input [B][L][F]
    label    H*B numbers        labels [H][B] (float32)
    out      H*B numbers        model outputs [H][B], float64 forward of the float32 weights
    loss_rank V                 sum over heads of LambdaRank (spec 4.3) of float32(out[h]) vs label[h]
    dpred    H*B numbers        d loss_rank / d pred [H][B] at those float32 predictions
    loss_mse V                  mean squared error of float32(out[0]) vs label[0] (heads 1 only; nan for H > 1)
    dmse     B numbers          its gradient (zeros when H > 1)
    tensors  T
    then T lines:
    tensor NAME ROWS COLS PARAM_SUM GRAD_SUM GRAD_SUMSQ NFIRST G_0 .. G_{NFIRST-1}
        PARAM_SUM: float64 sum of the float32 parameters (checks the formula and the order);
        GRAD_*: d loss_rank / d parameter, obtained by back-propagating exactly dpred (as
        float32) through the float64 network; NFIRST = min(64, ROWS*COLS) first values.
    end
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

OUT_DIR = 'tests/fixtures/torch'
B = 6
NFIRST = 64
CASES = [('cpu', 'cpu', 25, 22, 1, 101), ('gpu', 'gpu', 40, 20, 1, 202), ('mtl_gpu', 'gpu', 40, 20, 2, 303)]


def param_values(t, n, cols, is_bias):
    i = np.arange(n, dtype=np.uint64)
    m32 = np.uint64(0xffffffff)
    h = (i * np.uint64(2654435761) + np.uint64(t * 40503 + 12345)) & m32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x45d9f3b)) & m32
    h ^= h >> np.uint64(16)
    u = h.astype(np.float64) * (1.0 / 4294967296.0)
    amp = 0.1 if is_bias else (0.5 if t == 0 else 1.5)
    return (((u * 2.0 - 1.0) * amp) / math.sqrt(cols)).astype(np.float32)


def fill_params(model):
    with torch.no_grad():
        for t, (name, p) in enumerate(model.state_dict().items()):
            is_bias = p.dim() == 1
            cols = 1 if is_bias else p.shape[1]
            v = param_values(t, p.numel(), cols, is_bias)
            p.copy_(torch.from_numpy(v.astype(np.float64)).reshape(p.shape).to(p.dtype))


def make_x(rng, L, F):
    x = np.zeros((B, L, F), np.float32)
    for b in range(B):
        n_real = L - rng.randint(2, 9)                      # 2..8 padding steps
        for l in range(n_real):
            x[b, l, rng.randint(0, 11)] = 1.0
            na = rng.randint(1, F - 11 + 1)
            x[b, l, 11:11 + na] = rng.randint(0, 65, size=na)
    return x


def make_labels(rng, H):
    y = rng.uniform(0.05, 1.0, size=(H, B)).astype(np.float32)
    y[:, 0] = 1.0                                           # the best program of its task
    y[:, 4] = y[:, 2]                                       # a tie: no pair between them
    return y


def num(v):
    v = float(v)
    if math.isnan(v):
        return 'nan'
    if v == int(v) and abs(v) < 1e15:
        return '%d' % int(v)
    return repr(v)


def nums(a, per_line=16):
    a = np.asarray(a).ravel()
    return '\n'.join(' '.join(num(v) for v in a[i:i + per_line]) for i in range(0, len(a), per_line))


def run_case(T, name, mode, L, F, H, seed):
    rng = np.random.RandomState(seed)
    x = make_x(rng, L, F)
    y = make_labels(rng, H)
    model = T.TLPNet(fea_size=F, step_size=L, n_heads=H).double()
    fill_params(model)
    names = list(model.state_dict().keys())
    params = dict(model.named_parameters())
    assert set(params) == set(names), 'every state_dict entry must be a parameter'

    xt = torch.from_numpy(x.astype(np.float64))
    out = model(xt)
    outs = [out] if H == 1 else list(out)
    out64 = torch.stack([o.detach() for o in outs])        # [H, B]

    # the loss and dloss/dpred at the float32-rounded predictions (what C feeds its loss)
    pf = out64.float().double().clone().requires_grad_(True)
    yt = torch.from_numpy(y.astype(np.float64))
    loss = sum(T.lambdarank_loss(pf[h], yt[h]) for h in range(H))
    loss.backward()
    dpred = pf.grad.detach().float()                       # what C back-propagates
    if H == 1:
        pm = out64[0].float().double().clone().requires_grad_(True)
        mse = torch.nn.functional.mse_loss(pm, yt[0])
        mse.backward()
        mse_v, dmse = mse.item(), pm.grad.detach().numpy()
    else:
        mse_v, dmse = float('nan'), np.zeros(B)

    grads = torch.autograd.grad(outs, [params[n] for n in names],
                                grad_outputs=[dpred[h].double() for h in range(H)])

    # float32 PyTorch for comparison (not stored): how far float32 itself is from the reference
    m32 = T.TLPNet(fea_size=F, step_size=L, n_heads=H)
    fill_params(m32)
    with torch.no_grad():
        o32 = m32(torch.from_numpy(x))
        o32 = torch.stack([o32] if H == 1 else list(o32)).double()
    spread = out64.max(dim=1).values - out64.min(dim=1).values
    print('%s: out %s\n    spread per head %s, float32 torch vs float64 max|diff| %.3g, loss_rank %.6g, mse %.6g'
          % (name, np.array2string(out64.numpy(), precision=4), spread.numpy(), (o32 - out64).abs().max().item(),
             loss.item(), mse_v))
    assert (spread > 0.1).all(), 'outputs must vary across samples'
    for n, g in zip(names, grads):
        # LambdaRank's dpred sums to zero over the batch (each pair adds +g and -g), so the last
        # decoder bias, whose gradient is L * sum(dpred), is zero up to rounding
        if not n.endswith('.6.bias'):
            assert g.abs().max().item() > 0, 'zero gradient for ' + n

    lines = ['# made by tests/make_torch_fixtures.py (see its docstring for the format); do not edit',
             'tlpx-torch-fixture 1', 'case ' + name, 'mode ' + mode, 'heads %d' % H, 'batch %d' % B,
             'steps %d' % L, 'features %d' % F,
             'x', nums(x), 'label', nums(y), 'out', nums(out64.numpy()),
             'loss_rank ' + num(loss.item()), 'dpred', nums(dpred.numpy()),
             'loss_mse ' + num(mse_v), 'dmse', nums(dmse), 'tensors %d' % len(names)]
    for t, (n, g) in enumerate(zip(names, grads)):
        p = params[n].detach()
        rows, cols = (p.shape[0], p.shape[1]) if p.dim() == 2 else (p.shape[0], 1)
        gv = g.detach().numpy().ravel()
        k = min(NFIRST, gv.size)
        lines.append('tensor %s %d %d %s %s %s %d %s' % (
            n, rows, cols, num(p.numpy().astype(np.float64).sum()), num(gv.sum()), num((gv * gv).sum()), k,
            ' '.join(num(v) for v in gv[:k])))
    lines.append('end')
    path = os.path.join(OUT_DIR, name + '.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('    wrote %s (%d bytes, %d tensors)' % (path, os.path.getsize(path), len(names)))


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--peer', default=os.path.join(here, '..', '..', 'shared', 'peers'),
                    help='directory holding tlp_torch.py')
    a = ap.parse_args()
    sys.path.insert(0, a.peer)
    import tlp_torch as T                                  # noqa: E402
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for c in CASES:
        run_case(T, *c)


if __name__ == '__main__':
    main()

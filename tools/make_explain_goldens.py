"""Golden files for dnacl's explainers (tests/test_explain.c), from a PyTorch reference.

Usage (Debian's interpreter: torch 1.13, numpy):
    /usr/bin/python3 tools/make_explain_goldens.py           # write tests/golden/explain_*.safetensors
    /usr/bin/python3 tools/make_explain_goldens.py --check   # recompute and compare with the files

Two models, each on 3 random one-hot sequences of length 200, everything in float64:

  explain_baseline   the chapter's ConvModelV2 (yaml/models/baseline.yaml) in eval mode.
                     Its weights come from dnacl_model_init(seed) -- splitmix64, PyTorch's
                     default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) -- which this script
                     reproduces bit for bit (init_params below) instead of storing the 1.6 MB
                     dense1 matrix; a strided sample of every generated tensor
                     (fp.<param>, every FP_STRIDE-th element) is stored so the C test proves it
                     built the same weights. Batch-norm parameters and running statistics are
                     random and stored in full (the init's 1/0 would make BN trivial).
  explain_exp_cnn    tests/data/explain_exp_cnn.yaml: conv(4->16, k19) -> exponential ->
                     maxpool 4 -> flatten -> dense 2; all weights stored; target 1.

Tensors per file (all (3, 4, 200) unless said):
  x                  the sequences
  saliency           d logit[target] / dx
  saliency_prob      d sigmoid(logit[target]) / dx
  gradxinput         saliency * x
  ig                 integrated gradients, zeros baseline, 50 steps, midpoint Riemann
                     (alpha_k = (k + 1/2)/50, weights 1/50), as dnacl's DNACL_QUAD_RIEMANN
  ig_gauss           the same with 16-point Gauss-Legendre on [0, 1]
  ig_delta (3)       sum(ig) - (f(x) - f(0)) of the 50-step rule, float64
  ref_shuf           one dinucleotide shuffle of each sequence (a fixed reference)
  deeplift_zero      DeepLIFT rescale contributions m * (x - 0) against the all-zero reference
  deeplift_shuf      the same against ref_shuf
  deeplift_prob      against ref_shuf, explaining the sigmoid (its own rescale multiplier)
  hyp_shuf           hypothetical contributions against ref_shuf:
                     hyp[c, p] = m[c, p] - sum_c' ref[c', p] m[c', p]
  delta_zero, delta_shuf, delta_prob (3)   sum(contributions) - (f(x) - f(ref)), float64
  logits (3, T)      the model's outputs on x

The DeepLIFT reference is computed layer by layer, not with hooks: both passes are run
keeping every layer's input and output; the backward walk uses the layer's vector-Jacobian
product for linear layers (exact: they are affine in eval mode), the rescale multiplier
(y - y_ref) / (x - x_ref) for activations, falling back to the derivative at the midpoint
where |x - x_ref| < 1e-6 (as cl/activation.cl's act_rescale), and for maxpool the rule of
SHAP's DeepExplainer and captum's DeepLift (src/nn/maxpool.c, maxpool_rescale below): per
window, with y and y_ref the maxima of input and reference and cross = max(y, y_ref), the
share g * (cross - y_ref) goes to the argmax of the input and g * (y - cross) to the argmax
of the reference (first maximum on ties; summed over the windows that cover an element);
an element's multiplier is its shares over x - x_ref, 0 where |x - x_ref| < 1e-7. The shares
of a window add up to g * (y - y_ref), and a share routed to an element with a tiny
|x - x_ref| is itself at most that small (|share| <= g |x - x_ref|), so contributions sum to
f(x) - f(ref) through every layer of these models, maxpool included: the delta_* tensors are
float64 rounding (~1e-15), which the C test checks it matches to float32 accuracy.
"""

import argparse
import os
import sys
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnacl_ref  # noqa: E402
import reference_model as R  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden")
torch.set_num_threads(1)
DT = torch.float64

N_SEQ, L = 3, 200
IG_STEPS, GAUSS_STEPS = 50, 16
INIT_SEED = 20240611
FP_STRIDE = 97
EPS_RESCALE = 1e-6
EPS_MAXPOOL = 1e-7  # SHAP's threshold: a multiplier of 0 below it


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode("utf-8")))


# ---------------------------------------------------------------------------
# dnacl_model_init (src/nn/model.c), reproduced: splitmix64 stream over the parameters in
# layer order; "w*" tensors U(-b, b) with b = 1/sqrt(numel / shape[0]); a following bias
# uses the same b; gamma/rvar 1; beta/rmean 0. u = (next >> 11) * 2^-53, value
# float32((2u - 1) * b) with the product in double.
# ---------------------------------------------------------------------------

M64 = (1 << 64) - 1


def splitmix_block(state, n):
    """n outputs of splitmix64 from `state`; returns (values uint64 array, new state)."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(state) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z, (state + n * 0x9E3779B97F4A7C15) & M64


def init_params(layout, seed):
    """layout: [(layer, [(param, shape), ...]), ...] in model order -> {qualified: float32}."""
    state = seed
    out = OrderedDict()
    for layer, params in layout:
        bound = 0.0
        for name, shape in params:
            n = int(np.prod(shape))
            if name in ("gamma", "rvar"):
                out[layer + "." + name] = np.ones(shape, np.float32)
                continue
            if name in ("beta", "rmean"):
                out[layer + "." + name] = np.zeros(shape, np.float32)
                continue
            if name.startswith("w"):
                bound = 1.0 / np.sqrt(float(n // shape[0]))
            elif bound <= 0:
                out[layer + "." + name] = np.zeros(shape, np.float32)
                continue
            z, state = splitmix_block(state, n)
            u = (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
            out[layer + "." + name] = ((2.0 * u - 1.0) * bound).astype(np.float32).reshape(shape)
    return out


BASELINE_LAYOUT = [
    ("conv1", [("w", (64, 4, 10)), ("b", (64,))]),
    ("bn1", [("gamma", (64,)), ("beta", (64,)), ("rmean", (64,)), ("rvar", (64,))]),
    ("conv2", [("w", (64, 64, 10)), ("b", (64,))]),
    ("bn2", [("gamma", (64,)), ("beta", (64,)), ("rmean", (64,)), ("rvar", (64,))]),
    ("dense1", [("w", (128, 3200)), ("b", (128,))]),
    ("dense2", [("w", (64, 128)), ("b", (64,))]),
    ("dense3", [("w", (1, 64)), ("b", (1,))]),
]


# ---------------------------------------------------------------------------
# Models as lists of (kind, function): kind "linear" (affine in eval mode), "act"
# (elementwise nonlinearity), "maxpool".
# ---------------------------------------------------------------------------


def maxpool(W, S):
    """F.max_pool1d(h, W, S) with its window and stride attached for the DeepLIFT rule."""
    fn = lambda h: F.max_pool1d(h, W, S)  # noqa: E731
    fn.W, fn.S = W, S
    return fn


def T(a):
    return torch.as_tensor(np.asarray(a), dtype=DT)


def bn_eval(P, name, eps=1e-5):
    g, b, m, v = (T(P[name + "." + k]) for k in ("gamma", "beta", "rmean", "rvar"))
    return lambda h: (h - m[:, None]) / torch.sqrt(v[:, None] + eps) * g[:, None] + b[:, None]


def baseline_layers(P):
    g = R.gelu_tanh
    return [
        ("linear", lambda h: R.conv1d(h, T(P["conv1.w"]), T(P["conv1.b"]))),
        ("linear", bn_eval(P, "bn1")),
        ("act", g),
        ("maxpool", maxpool(2, 2)),
        ("linear", lambda h: R.conv1d(h, T(P["conv2.w"]), T(P["conv2.b"]))),
        ("act", g),
        ("linear", bn_eval(P, "bn2")),
        ("maxpool", maxpool(2, 2)),
        ("linear", lambda h: h.reshape(h.shape[0], -1)),
        ("linear", lambda h: F.linear(h, T(P["dense1.w"]), T(P["dense1.b"]))),
        ("act", g),
        ("linear", lambda h: F.linear(h, T(P["dense2.w"]), T(P["dense2.b"]))),
        ("act", g),
        ("linear", lambda h: F.linear(h, T(P["dense3.w"]), T(P["dense3.b"]))),
    ]


def exp_layers(P):
    return [
        ("linear", lambda h: R.conv1d(h, T(P["conv1.w"]), T(P["conv1.b"]))),
        ("act", torch.exp),
        ("maxpool", maxpool(4, 4)),
        ("linear", lambda h: h.reshape(h.shape[0], -1)),
        ("linear", lambda h: F.linear(h, T(P["dense1.w"]), T(P["dense1.b"]))),
    ]


def forward(layers, x):
    h = x
    for _, fn in layers:
        h = fn(h)
    return h


def grad_of(layers, x, target, prob=False):
    x = x.clone().requires_grad_(True)
    y = forward(layers, x)[:, target]
    if prob:
        y = torch.sigmoid(y)
    (g,) = torch.autograd.grad(y.sum(), x)
    return g.detach()


def vjp(fn, h, g):
    h = h.detach().clone().requires_grad_(True)
    (d,) = torch.autograd.grad(fn(h), h, g)
    return d


def maxpool_rescale(fn, x, ref, g):
    """The maxpool rule of the module docstring: input multipliers from the upstream ones g.
    PyTorch's max_pool1d indices are the first maximum of each window, as dnacl's."""
    y, ix = F.max_pool1d(x, fn.W, fn.S, return_indices=True)
    yr, ir = F.max_pool1d(ref, fn.W, fn.S, return_indices=True)
    cross = torch.max(y, yr)
    shares = torch.zeros_like(x)
    shares.scatter_add_(2, ix, g * (cross - yr))  # scatter_add: overlapping windows sum
    shares.scatter_add_(2, ir, g * (y - cross))
    d = x - ref
    small = d.abs() < EPS_MAXPOOL
    return torch.where(small, torch.zeros_like(d), shares / torch.where(small, torch.ones_like(d), d))


def deeplift(layers, x, ref, target, prob=False):
    """Input multipliers of the rescale rule; see the module docstring."""
    xs, rs = [x], [ref]
    for _, fn in layers:
        xs.append(fn(xs[-1]))
        rs.append(fn(rs[-1]))
    zx, zr = xs[-1][:, target], rs[-1][:, target]
    g = torch.zeros_like(xs[-1])
    if prob:
        d = zx - zr
        mid = torch.sigmoid(0.5 * (zx + zr))
        g[:, target] = torch.where(d.abs() < EPS_RESCALE, mid * (1 - mid), (torch.sigmoid(zx) - torch.sigmoid(zr)) / d)
    else:
        g[:, target] = 1.0
    for i in range(len(layers) - 1, -1, -1):
        kind, fn = layers[i]
        if kind == "linear":
            g = vjp(fn, xs[i], g)
        elif kind == "maxpool":
            g = maxpool_rescale(fn, xs[i], rs[i], g)
        else:
            dx = xs[i] - rs[i]
            mid = (0.5 * (xs[i] + rs[i])).detach().requires_grad_(True)
            (dmid,) = torch.autograd.grad(fn(mid).sum(), mid)
            small = dx.abs() < EPS_RESCALE
            m = torch.where(small, dmid, (xs[i + 1] - rs[i + 1]) / torch.where(small, torch.ones_like(dx), dx))
            g = g * m
    fx, fr = (torch.sigmoid(zx), torch.sigmoid(zr)) if prob else (zx, zr)
    return g.detach(), (fx - fr).detach()


def ig(layers, x, base, target, alphas, weights):
    acc = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        acc += w * grad_of(layers, base + a * (x - base), target)
    return (x - base) * acc


def gauss01(n):
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (t + 1.0), 0.5 * w


# ---------------------------------------------------------------------------
# Sequences and references
# ---------------------------------------------------------------------------


def random_onehot(rng, n, length):
    idx = rng.randint(0, 4, size=(n, length))
    x = np.zeros((n, 4, length), np.float32)
    for i in range(n):
        x[i, idx[i], np.arange(length)] = 1.0
    return x


def dinuc_shuffle(idx, rng):
    """Altschul-Erickson with a random arborescence of last exits (any valid dinucleotide
    shuffle would do here: the reference is stored, not regenerated by the C side)."""
    n = len(idx)
    succ = {}
    for a, b in zip(idx[:-1], idx[1:]):
        succ.setdefault(a, []).append(b)
    last = idx[-1]
    while True:
        exits = {v: int(rng.randint(len(s))) for v, s in succ.items() if v != last}
        ok = True
        for v in exits:
            seen = set()
            while v != last and ok:
                if v in seen:
                    ok = False
                seen.add(v)
                v = succ[v][exits[v]]
        if ok:
            break
    order = {}
    for v, s in succ.items():
        s = list(s)
        tail = s.pop(exits[v]) if v in exits else None
        rng.shuffle(s)
        if tail is not None:
            s.append(tail)
        order[v] = s
    out, v = [idx[0]], idx[0]
    for _ in range(n - 1):
        v = order[v].pop(0)
        out.append(v)
    return np.array(out)


def shuffled_refs(x, rng):
    refs = np.zeros_like(x)
    for i in range(x.shape[0]):
        idx = x[i].argmax(axis=0)
        s = dinuc_shuffle(list(idx), rng)
        refs[i, s, np.arange(x.shape[2])] = 1.0
    return refs


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def case_tensors(layers, x, target):
    xt = T(x)
    out = OrderedDict()
    out["logits"] = forward(layers, xt).detach()
    sal = grad_of(layers, xt, target)
    out["saliency"] = sal
    out["saliency_prob"] = grad_of(layers, xt, target, prob=True)
    out["gradxinput"] = sal * xt
    zero = torch.zeros_like(xt)
    a = (np.arange(IG_STEPS) + 0.5) / IG_STEPS
    out["ig"] = ig(layers, xt, zero, target, a, np.full(IG_STEPS, 1.0 / IG_STEPS))
    f = forward(layers, xt)[:, target] - forward(layers, zero)[:, target]
    out["ig_delta"] = (out["ig"].sum(dim=(1, 2)) - f).detach()
    ga, gw = gauss01(GAUSS_STEPS)
    out["ig_gauss"] = ig(layers, xt, zero, target, ga, gw)
    ref = T(shuffled_refs(x, rng_for("ref_shuf")))
    out["ref_shuf"] = ref
    m0, d0 = deeplift(layers, xt, zero, target)
    out["deeplift_zero"] = m0 * xt
    out["delta_zero"] = out["deeplift_zero"].sum(dim=(1, 2)) - d0
    ms, ds = deeplift(layers, xt, ref, target)
    out["deeplift_shuf"] = ms * (xt - ref)
    out["delta_shuf"] = out["deeplift_shuf"].sum(dim=(1, 2)) - ds
    out["hyp_shuf"] = ms - (ref * ms).sum(dim=1, keepdim=True)
    mp, dp = deeplift(layers, xt, ref, target, prob=True)
    out["deeplift_prob"] = mp * (xt - ref)
    out["delta_prob"] = out["deeplift_prob"].sum(dim=(1, 2)) - dp
    return out


def baseline_case():
    rng = rng_for("explain_baseline")
    P = init_params(BASELINE_LAYOUT, INIT_SEED)
    fps = OrderedDict(("fp." + k, v.reshape(-1)[::FP_STRIDE].copy()) for k, v in P.items()
                      if not k.split(".")[1] in ("gamma", "beta", "rmean", "rvar"))
    bn = OrderedDict()
    for layer in ("bn1", "bn2"):
        bn[layer + ".gamma"] = f32(rng.uniform(0.5, 1.5, 64))
        bn[layer + ".beta"] = f32(rng.standard_normal(64) * 0.2)
        bn[layer + ".rmean"] = f32(rng.standard_normal(64) * 0.1)
        bn[layer + ".rvar"] = f32(rng.uniform(0.2, 1.0, 64))
    P.update(bn)
    x = random_onehot(rng, N_SEQ, L)
    out = case_tensors(baseline_layers(P), x, 0)
    tensors = OrderedDict(x=x)
    tensors.update(bn)
    tensors.update(fps)
    tensors.update((k, f32(v.numpy() if torch.is_tensor(v) else v)) for k, v in out.items())
    meta = OrderedDict(model="yaml/models/baseline.yaml", target=0, init_seed=INIT_SEED, fp_stride=FP_STRIDE,
                       ig_steps=IG_STEPS, gauss_steps=GAUSS_STEPS)
    return "explain_baseline", tensors, meta


def exp_case():
    rng = rng_for("explain_exp_cnn")
    P = OrderedDict()
    # Filters of a few strong bases, like learned motifs, and a negative bias so exp()
    # ranges over a decade or two rather than sitting near 1.
    P["conv1.w"] = f32(rng.standard_normal((16, 4, 19)) * 0.25)
    P["conv1.b"] = f32(rng.uniform(-1.0, 0.0, 16))
    P["dense1.w"] = f32(rng.uniform(-1, 1, (2, 800)) / np.sqrt(800.0))
    P["dense1.b"] = f32(rng.uniform(-0.1, 0.1, 2))
    x = random_onehot(rng, N_SEQ, L)
    out = case_tensors(exp_layers(P), x, 1)
    tensors = OrderedDict(x=x)
    tensors.update(P)
    tensors.update((k, f32(v.numpy())) for k, v in out.items())
    meta = OrderedDict(model="tests/data/explain_exp_cnn.yaml", target=1, ig_steps=IG_STEPS, gauss_steps=GAUSS_STEPS)
    return "explain_exp_cnn", tensors, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="recompute and compare with the committed files")
    args = ap.parse_args()
    total = 0
    for make in (baseline_case, exp_case):
        name, tensors, meta = make()
        meta = OrderedDict([("generator", "tools/make_explain_goldens.py"),
                            ("reference", "torch %s float64, stored float32" % torch.__version__.split("a")[0])]
                           + list(meta.items()))
        path = os.path.join(OUT, name + ".safetensors")
        if args.check:
            old, _ = dnacl_ref.load_safetensors(path)
            for k, v in tensors.items():
                d = float(np.abs(old[k].astype(np.float64) - v).max()) if v.size else 0.0
                assert d == 0.0, (name, k, d)
            print("%s: identical" % path)
            continue
        dnacl_ref.save_safetensors(path, tensors, meta)
        size = os.path.getsize(path)
        total += size
        print("%-45s %8d bytes" % (os.path.relpath(path, ROOT), size))
        for k in ("delta_zero", "delta_shuf", "delta_prob", "ig_delta"):
            print("   %-12s %s" % (k, np.array2string(tensors[k], precision=3)))
    if not args.check:
        print("total %d bytes" % total)


if __name__ == "__main__":
    main()

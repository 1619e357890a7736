"""dnacl's explainers beside PyTorch implementations of the same methods, same model, same
CPU, in one run: ms per sequence for saliency, integrated gradients (50 midpoint steps,
zeros baseline) and DeepSHAP (20 dinucleotide-shuffled references) on the chapter's
ConvModelV2 at L = 200.

Usage (Debian's interpreter, which has torch 1.13):
    /usr/bin/python3 tools/bench_explain.py --dnacl build/dnacl [--run RUN/] [--threads 2]

Without --run a baseline run is trained for a few steps into a temporary directory (the
weights only need to be the same on both sides, not good). The PyTorch side loads the
same checkpoint (RUN/best.safetensors), so the script also checks that saliency and IG
agree between the two (DeepSHAP's references are random on each side, so only its
completeness is compared).

What is timed
  dnacl    `dnacl explain ... --method M --select 0..N-1`, the seconds it reports for its
           explain loop (upload, forward/backward passes, host work, NPY writing; not
           process start, model or data loading), best of 3 after a warm-up, for N/4 and N
           sequences; ms/sequence is the slope between the two, which leaves out what a
           process pays once in that loop (OpenCL programs built at their first use, from
           PoCL's disk cache), printed separately.
  PyTorch  the same work on tensors already in memory: saliency in batches of 64 sequences
           (one forward/backward); IG with the 50 interpolants of 5 sequences per batch;
           DeepSHAP the usual PyTorch way (captum's DeepLiftShap / tangermeme): the inputs
           and their references as one batch [x; refs], one forward, one backward with
           every GELU's gradient replaced by its rescale multiplier (a custom autograd
           Function) and maxpool's ordinary gradient (the argmax of each row's own input;
           dnacl's src/nn/maxpool.c uses SHAP's complete split rule, which costs one more
           pass over the pooled layers, so this peer does slightly less work). References are
           generated before the clock starts. torch.set_num_threads(--threads).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnacl_ref  # noqa: E402
from reference_model import conv1d, gelu_tanh  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RescaleGelu(torch.autograd.Function):
    """GELU (tanh) on a batch [inputs; references] whose backward is DeepLIFT's rescale
    multiplier (y - y_ref) / (x - x_ref) (the derivative at the midpoint where the two are
    within 1e-6), applied to both halves, as captum and tangermeme do."""

    @staticmethod
    def forward(ctx, h):
        y = gelu_tanh(h)
        ctx.save_for_backward(h, y)
        return y

    @staticmethod
    def backward(ctx, g):
        h, y = ctx.saved_tensors
        b = h.shape[0] // 2
        dx = h[:b] - h[b:]
        dy = y[:b] - y[b:]
        with torch.enable_grad():
            mid = (0.5 * (h[:b] + h[b:])).detach().requires_grad_(True)
            (dmid,) = torch.autograd.grad(gelu_tanh(mid).sum(), mid)
        small = dx.abs() < 1e-6
        m = torch.where(small, dmid, dy / torch.where(small, torch.ones_like(dx), dx))
        return g * torch.cat([m, m])


def model_fn(P, act):
    def bn(h, k):
        return F.batch_norm(h, P[k + ".rmean"], P[k + ".rvar"], P[k + ".gamma"], P[k + ".beta"], False, 0.0, 1e-5)

    def f(x):
        h = F.max_pool1d(act(bn(conv1d(x, P["conv1.w"], P["conv1.b"]), "bn1")), 2, 2)
        h = F.max_pool1d(bn(act(conv1d(h, P["conv2.w"], P["conv2.b"])), "bn2"), 2, 2)
        h = h.reshape(h.shape[0], -1)
        h = act(F.linear(h, P["dense1.w"], P["dense1.b"]))
        h = act(F.linear(h, P["dense2.w"], P["dense2.b"]))
        return F.linear(h, P["dense3.w"], P["dense3.b"])

    return f


def torch_saliency(f, x, batch=64):
    out = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xb)[:, 0].sum(), xb)
        out.append(g)
    return torch.cat(out)


def torch_ig(f, x, steps=50, per_batch=5):
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps
    out = []
    for i in range(0, len(x), per_batch):
        xb = x[i:i + per_batch]
        rows = (alphas[None, :, None, None] * xb[:, None]).reshape(-1, *xb.shape[1:]).requires_grad_(True)
        (g,) = torch.autograd.grad(f(rows)[:, 0].sum(), rows)
        out.append(xb * g.reshape(len(xb), steps, *xb.shape[1:]).mean(dim=1))
    return torch.cat(out)


def torch_deepshap(f_rescale, x, refs):
    """x (n, 4, L), refs (n, R, 4, L): contributions averaged over references, and the
    completeness gaps sum(m * (x - ref)) - (f(x) - f(ref)) per pair."""
    n, R = refs.shape[:2]
    xr = x[:, None].expand_as(refs).reshape(-1, *x.shape[1:])
    rr = refs.reshape(-1, *x.shape[1:])
    inp = torch.cat([xr, rr]).requires_grad_(True)
    y = f_rescale(inp)[:, 0]
    (g,) = torch.autograd.grad(y[: n * R].sum(), inp)
    m = g[: n * R]
    contrib = m * (xr - rr)
    delta = contrib.sum(dim=(1, 2)) - (y[: n * R] - y[n * R:]).detach()
    return contrib.reshape(n, R, *x.shape[1:]).mean(dim=1), delta


def dinuc_shuffle(idx, rng):
    """Altschul-Erickson with a random arborescence of last exits (as src/explain/shuffle.c)."""
    succ = {}
    for a, b in zip(idx[:-1], idx[1:]):
        succ.setdefault(a, []).append(b)
    last = idx[-1]
    while True:
        exits = {v: rng.randint(len(s)) for v, s in succ.items() if v != last}
        ok = True
        for v in exits:
            seen = set()
            while v != last and ok:
                ok = v not in seen
                seen.add(v)
                v = succ[v][exits[v]]
        if ok:
            break
    order = {}
    for v, s in succ.items():
        s = list(s)
        tail = s.pop(exits[v]) if v in exits else None
        rng.shuffle(s)
        order[v] = s + ([tail] if tail is not None else [])
    out, v = [idx[0]], idx[0]
    for _ in range(len(idx) - 1):
        v = order[v].pop(0)
        out.append(v)
    return out


def accuracy(dnacl_out, torch32, torch64):
    """Largest error of each float32 implementation against float64, relative to the map's
    largest magnitude."""
    ref = torch64.numpy()
    scale = np.abs(ref).max()
    return "max err / max |map| vs float64: dnacl %.1e, torch %.1e" % (
        np.abs(dnacl_out - ref).max() / scale, np.abs(torch32.numpy() - ref).max() / scale)


def timed(fn, repeats):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = fn()
        best = min(best, time.perf_counter() - t0)
    return best, r


def dnacl_seconds(dnacl, run, data, method, n, out, extra):
    """Best of 3 (after a warm-up) of the explain loop's seconds for sequences 0..n-1."""
    cmd = [dnacl, "explain", "--run", run, "--data", data, "--method", method, "--select", "0..%d" % (n - 1),
           "--out", out] + list(extra)
    best = float("inf")
    for _ in range(4):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode:
            sys.exit("dnacl explain failed: %s\n%s" % (" ".join(cmd), p.stderr))
        best = min(best, float(re.search(r" in ([0-9.]+) s \(", p.stderr).group(1)))
    worst = re.search(r"completeness: worst .* = ([0-9.eE+-]+)", p.stderr)
    return best, float(worst.group(1)) if worst else None


def dnacl_ms(dnacl, run, data, method, n, out, extra=()):
    """Steady-state ms per sequence: the slope between n/4 and n sequences, so that what a
    process pays once (OpenCL programs built, from PoCL's cache, at their first use; the
    model's buffers planned) is not spread over the sequences. Also that fixed cost."""
    n1 = max(1, n // 4)
    t1, _ = dnacl_seconds(dnacl, run, data, method, n1, out, extra)
    t2, worst = dnacl_seconds(dnacl, run, data, method, n, out, extra)
    slope = (t2 - t1) / (n - n1)
    return 1e3 * slope, np.load(out), worst, t1 - slope * n1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dnacl", default=os.path.join(ROOT, "build", "dnacl"))
    ap.add_argument("--run", help="a trained baseline run (default: train one briefly)")
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "ZBED2_400_h3k27ac.h5"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-saliency", type=int, default=256)
    ap.add_argument("--n-ig", type=int, default=16)
    ap.add_argument("--n-shap", type=int, default=16)
    ap.add_argument("--refs", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tmp = tempfile.mkdtemp()
    run = a.run
    if not run:
        run = os.path.join(tmp, "run")
        subprocess.run([a.dnacl, "train", "--model", os.path.join(ROOT, "yaml/models/baseline.yaml"), "--data", a.data,
                        "--crop", "200", "--steps", "20", "--eval-every", "20", "--seed", "1", "--out", run],
                       check=True, capture_output=True)
    tens, _ = dnacl_ref.load_safetensors(os.path.join(run, "best.safetensors"))
    P = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in tens.items() if "." in k and not k.startswith("adam")}
    with h5py.File(a.data, "r") as h:
        X = h["X_test"][:]
    c = (X.shape[2] - 200) // 2  # dnacl's --crop: the centre, extra base dropped on the right
    X = torch.as_tensor(np.ascontiguousarray(X[:, :, c:c + 200]), dtype=torch.float32)
    f = model_fn(P, gelu_tanh)
    f_rescale = model_fn(P, RescaleGelu.apply)
    # A float64 copy of the model: the accuracy yardstick for both float32 implementations.
    f64 = model_fn({k: v.double() for k, v in P.items()}, gelu_tanh)
    npy = os.path.join(tmp, "a.npy")
    print("ConvModelV2, L = 200, torch %s with %d threads, dnacl %s" % (torch.__version__, a.threads, a.dnacl))
    rows = []

    n = a.n_saliency
    t, g = timed(lambda: torch_saliency(f, X[:n]), 3)
    d_ms, d_out, _, fixed = dnacl_ms(a.dnacl, run, a.data, "saliency", n, npy)
    rows.append(("saliency", n, d_ms, 1e3 * t / n, accuracy(d_out, g, torch_saliency(f64, X[:n].double()))))
    fixed_costs = [fixed]

    n = a.n_ig
    t, ig = timed(lambda: torch_ig(f, X[:n]), 2)
    d_ms, d_out, d_worst, fixed = dnacl_ms(a.dnacl, run, a.data, "ig", n, npy, ["--steps", "50"])
    fixed_costs.append(fixed)
    rows.append(("ig, 50 steps", n, d_ms, 1e3 * t / n,
                 accuracy(d_out, ig, torch_ig(f64, X[:n].double())) + "; dnacl completeness %.2g" % d_worst))

    n, R = a.n_shap, a.refs
    rng = np.random.RandomState(0)
    idx = X[:n].argmax(dim=1).numpy()
    refs = np.zeros((n, R, 4, 200), np.float32)
    for i in range(n):
        for r in range(R):
            refs[i, r, dinuc_shuffle(list(idx[i]), rng), np.arange(200)] = 1.0
    refs = torch.as_tensor(refs)
    t, (shap, delta) = timed(lambda: torch_deepshap(f_rescale, X[:n], refs), 2)
    d_ms, d_out, d_worst, fixed = dnacl_ms(a.dnacl, run, a.data, "deepshap", n, npy, ["--refs", str(R)])
    fixed_costs.append(fixed)
    rows.append(("deepshap, %d refs" % R, n, d_ms, 1e3 * t / n,
                 "worst completeness gap: dnacl %.2g (SHAP maxpool rule), torch %.2g (argmax gradient)" %
                 (d_worst, float(delta.abs().max()))))

    print("%-18s %5s %14s %14s %8s" % ("method", "n", "dnacl ms/seq", "torch ms/seq", "speedup"))
    for name, n, d, tt, note in rows:
        print("%-18s %5d %14.2f %14.2f %7.1fx   %s" % (name, n, d, tt, tt / d, note))
    print("dnacl's once-per-process cost inside the explain loop (programs built at first use): %s s" %
          ", ".join("%.2f" % c for c in fixed_costs))


if __name__ == "__main__":
    main()

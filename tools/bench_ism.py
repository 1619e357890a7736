"""Naive in silico saturation mutagenesis in PyTorch, the peer of dnacl's ISM benchmark.

The chapter's ConvModelV2 at L=200 (tools/reference_model.py, random weights, eval mode:
batch norm with running statistics, no dropout), and for each sequence every alternative
base at every position (3L variants) plus the reference through the model in batches of
--batch rows under torch.no_grad(), on --threads threads. The variants are built by
tensor ops (a repeat and two scatters per batch) inside the timed region, as dnacl builds
its rows on the device inside its own. Output as dnacl: out[b, p] = f(variant) - f(x) of
the logit, 0 at the reference base.

With --dnacl PATH (the test_ism executable of a build: `test_ism --bench N L` times
dnacl's naive and incremental ISM of the same model on N random sequences of length L),
dnacl runs in the same session, right after PyTorch, and the figures are printed side by
side. Both report wall time and process CPU time: on a shared machine the CPU time is the
steadier measure of the work done. --dnacl may be given more than once (say a build of the
previous commit and one of the working tree) and --repeat R runs each build R times,
interleaved (A B A B ...), so that whatever else the machine is doing falls on both alike;
the summary gives the median and the minimum of each figure. --sequences may list several
counts (1,8,32,128): each is run (interleaved) and summarised in turn, PyTorch with the first.
--no-torch leaves PyTorch out.

Run with /usr/bin/python3 (Debian's python3-torch 1.13):
    /usr/bin/python3 tools/bench_ism.py --threads 2 --dnacl build-ism/test_ism
    /usr/bin/python3 tools/bench_ism.py --no-torch --repeat 6 --dnacl /tmp/base/build/test_ism \
        --dnacl build-ism/test_ism
    /usr/bin/python3 tools/bench_ism.py --no-torch --repeat 5 --sequences 1,8,32,128 --dnacl build-ism/test_ism
Prints one JSON object per line, then a summary.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import ConvModelV2, conv1d, gelu_tanh  # noqa: E402


class EvalModel(ConvModelV2):
    """ConvModelV2's eval-mode forward without the reference's dropout hashing."""

    def forward(self, x, step=None):
        h = F.max_pool1d(gelu_tanh(self.bn1(conv1d(x, self.conv1.weight, self.conv1.bias))), 2, 2)
        h = F.max_pool1d(self.bn2(gelu_tanh(conv1d(h, self.conv2.weight, self.conv2.bias))), 2, 2)
        h = h.reshape(h.shape[0], -1)
        h = gelu_tanh(self.dense1(h))
        h = gelu_tanh(self.dense2(h))
        return self.dense3(h)


def ism_naive(model, x, batch):
    """x: (4, L) one-hot. Returns (4, L): f(variant) - f(x), 0 at the reference base."""
    C, L = x.shape
    ref = x.argmax(0)
    pos = torch.arange(L).repeat_interleave(C - 1)
    # The C-1 alternatives at each position: ref + 1, ref + 2, ... modulo C.
    base = (ref[pos] + torch.arange(1, C).repeat(L)) % C
    n = pos.numel()
    f = torch.empty(n + 1)
    with torch.no_grad():
        for k0 in range(0, n + 1, batch):
            # Row 0 of the first batch is the reference itself.
            idx = torch.arange(k0, min(k0 + batch, n + 1)) - 1
            rows = x.unsqueeze(0).repeat(idx.numel(), 1, 1)
            v = idx >= 0
            r = torch.nonzero(v).squeeze(1)
            p, b = pos[idx[v]], base[idx[v]]
            rows[r, :, p] = 0.0
            rows[r, b, p] = 1.0
            f[k0:k0 + idx.numel()] = model(rows)[:, 0]
    out = torch.zeros(C, L)
    out[base, pos] = f[1:] - f[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--sequences", default="8",
                    help="sequences timed (after one warm-up); a comma-separated list runs each count in turn")
    ap.add_argument("--batch", type=int, default=256, help="rows per forward")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dnacl", action="append", default=[],
                    help="path of test_ism from a dnacl build, to time dnacl in the same session (repeatable)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each dnacl build, interleaved")
    ap.add_argument("--no-torch", action="store_true", help="time dnacl only")
    a = ap.parse_args()
    counts = [int(c) for c in a.sequences.split(",")]
    torch.set_num_threads(a.threads)
    wall = cpu = None
    a.sequences = counts[0]
    if not a.no_torch:
        wall, cpu = time_torch(a)
    for n in counts if a.dnacl else []:
        a.sequences = n
        time_dnacl(a, wall, cpu)


def time_torch(a):
    torch.manual_seed(0)
    model = EvalModel(L=a.length).eval()
    xs = F.one_hot(torch.randint(0, 4, (a.sequences + 1, a.length)), 4).permute(0, 2, 1).float().contiguous()
    ism_naive(model, xs[0], a.batch)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(1, a.sequences + 1):
        out = ism_naive(model, xs[i], a.batch)
    wall = (time.perf_counter() - t0) * 1e3 / a.sequences
    cpu = (time.process_time() - c0) * 1e3 / a.sequences
    # Sanity: 0 exactly at every reference base, something elsewhere.
    assert float(out[xs[-1] == 1].abs().max()) == 0.0 and float(out.abs().max()) > 0.0
    torch_row = {"peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                 "model": "baseline", "length": a.length, "sequences": a.sequences, "batch": a.batch,
                 "forwards_per_seq": 3 * a.length + 1, "naive_ms_per_seq": round(wall, 2),
                 "naive_cpu_ms_per_seq": round(cpu, 2)}
    print(json.dumps(torch_row), flush=True)
    return wall, cpu


KEYS = ("naive_ms_per_seq", "naive_cpu_ms_per_seq", "incremental_ms_per_seq", "incremental_cpu_ms_per_seq")


def time_dnacl(a, wall, cpu):
    env = dict(os.environ)
    env.setdefault("POCL_MAX_PTHREAD_COUNT", str(a.threads))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = {path: [] for path in a.dnacl}
    for _ in range(a.repeat):
        for path in a.dnacl:
            res = subprocess.run([path, "--bench", str(a.sequences), str(a.length)], cwd=root, env=env,
                                 capture_output=True, text=True)
            if res.returncode != 0:
                sys.exit(f"dnacl benchmark {path} failed:\n" + res.stdout + res.stderr)
            d = json.loads(res.stdout.strip().splitlines()[-1])
            d["build"] = path
            print(json.dumps(d), flush=True)
            runs[path].append(d)
    print(f"\nISM of the baseline, L={a.length}, {a.sequences} sequences, ms per sequence (wall / CPU"
          + (f"; median and minimum of {a.repeat} runs" if a.repeat > 1 else "") + "):")
    if wall is not None:
        print(f"  PyTorch {torch.__version__} naive ({a.threads} threads) {wall:8.1f} / {cpu:7.1f}")
    for path, ds in runs.items():
        med = {k: statistics.median(d[k] for d in ds) for k in KEYS}
        low = {k: min(d[k] for d in ds) for k in KEYS}
        print(f"  {path} ({ds[0]['device'][:24]}):")
        for kind, w, c in (("naive", "naive_ms_per_seq", "naive_cpu_ms_per_seq"),
                           ("incremental", "incremental_ms_per_seq", "incremental_cpu_ms_per_seq")):
            line = f"    {kind:12s} {med[w]:8.2f} / {med[c]:7.2f}"
            if a.repeat > 1:
                line += f"   (min {low[w]:.2f} / {low[c]:.2f})"
            print(line)
        line = (f"    incremental vs dnacl naive {med['naive_ms_per_seq'] / med['incremental_ms_per_seq']:.1f}x "
                f"(CPU {med['naive_cpu_ms_per_seq'] / med['incremental_cpu_ms_per_seq']:.1f}x)")
        if wall is not None:
            line += f", vs PyTorch naive {wall / med['incremental_ms_per_seq']:.1f}x"
        print(line)


if __name__ == "__main__":
    main()

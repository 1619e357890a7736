"""PyTorch peer for dnacl's benchmark: the chapter's ConvModelV2 (L=200) on this CPU.

Run with /usr/bin/python3 (Debian's python3-torch). Prints one JSON object per line:
{"peer": "pytorch", "version": ..., "threads": ..., "batch": B, "mode": "infer"|"train",
 "seq_per_s": ..., "ms_per_batch": ...}. Training is forward + backward + Adam step, the
same work `dnacl bench` times; dropout uses torch's own RNG here (idiomatic PyTorch), not
dnacl's hash masks, which only matter for bit-for-bit reference runs.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import ConvModelV2, conv1d, gelu_tanh  # noqa: E402


class BenchModel(ConvModelV2):
    def forward(self, x, step=None):
        h = F.max_pool1d(gelu_tanh(self.bn1(conv1d(x, self.conv1.weight, self.conv1.bias))), 2, 2)
        h = F.max_pool1d(self.bn2(gelu_tanh(conv1d(h, self.conv2.weight, self.conv2.bias))), 2, 2)
        h = h.reshape(h.shape[0], -1)
        h = F.dropout(gelu_tanh(self.dense1(h)), self.p, self.training)
        h = F.dropout(gelu_tanh(self.dense2(h)), self.p, self.training)
        return self.dense3(h)


def timed(fn, min_seconds):
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds and n >= 3:
            return dt / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", default="32,256")
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = BenchModel(L=a.length)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for B in [int(b) for b in a.batch.split(",")]:
        idx = torch.randint(0, 4, (B, a.length))
        x = F.one_hot(idx, 4).permute(0, 2, 1).float().contiguous()
        y = torch.randint(0, 2, (B, 1)).float()

        def infer():
            with torch.no_grad():
                model(x)

        def train():
            opt.zero_grad(set_to_none=True)
            loss = F.binary_cross_entropy_with_logits(model(x, step=0), y)
            loss.backward()
            opt.step()

        model.eval()
        t_inf = timed(infer, a.seconds)
        model.train()
        t_train = timed(train, a.seconds)
        for mode, t in (("infer", t_inf), ("train", t_train)):
            print(json.dumps({"peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                              "batch": B, "mode": mode, "seq_per_s": B / t, "ms_per_batch": 1e3 * t}), flush=True)


if __name__ == "__main__":
    main()

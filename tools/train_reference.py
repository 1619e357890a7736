"""PyTorch reference training for dnacl's acceptance check on real data.

Trains tools/reference_model.ConvModelV2 on an HDF5 dataset in Koo's layout with the same
architecture and schedule `dnacl train` uses (Adam, constant lr, fixed batch size,
shuffled epochs dropping the last incomplete batch, evaluation on the valid split after
every epoch, the best-valid-AUROC weights kept) and prints the test AUROC/AUPR of the best
weights as one JSON line. Sequences longer than the model are cropped to their centre the
way dnacl's loader does (extra base dropped on the right).

Run with /usr/bin/python3 (Debian's python3-torch, python3-h5py, python3-sklearn):
  /usr/bin/python3 tools/train_reference.py --data data/ZBED2_400_h3k27ac.h5 --epochs 20 --seed 1
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import BenchModel  # noqa: E402  ConvModelV2 with torch's own dropout


def load(path, split, length):
    with h5py.File(path, "r") as f:
        x = np.asarray(f[f"X_{split}"], dtype=np.float32)
        y = np.asarray(f[f"Y_{split}"], dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] != 4:
        x = x.transpose(0, 2, 1)
    L = x.shape[2]
    if L > length:  # centre crop, the extra base dropped on the right
        left = (L - length) // 2
        x = x[:, :, left:left + length]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def scores(model, x, batch=256):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xt, yt = load(a.data, "train", a.length)
    xv, yv = load(a.data, "valid", a.length)
    xs, ys = load(a.data, "test", a.length)
    model = BenchModel(L=a.length)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    g = torch.Generator().manual_seed(a.seed)
    best, best_state, t0 = -1.0, None, time.time()
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=g)
        for i in range(len(xt) // a.batch):
            idx = order[i * a.batch:(i + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            loss = F.binary_cross_entropy_with_logits(model(xt[idx], step=0), yt[idx])
            loss.backward()
            opt.step()
        auroc = roc_auc_score(yv.numpy()[:, 0], scores(model, xv)[:, 0])
        print(f"epoch {epoch + 1}: valid auroc {auroc:.4f}", file=sys.stderr)
        if auroc > best:
            best, best_state = auroc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    s = scores(model, xs)[:, 0]
    print(json.dumps({"peer": "pytorch", "version": torch.__version__, "epochs": a.epochs, "batch": a.batch,
                      "lr": a.lr, "seed": a.seed, "best_valid_auroc": best,
                      "test_auroc": roc_auc_score(ys.numpy()[:, 0], s),
                      "test_aupr": average_precision_score(ys.numpy()[:, 0], s),
                      "seconds": time.time() - t0}))


if __name__ == "__main__":
    main()

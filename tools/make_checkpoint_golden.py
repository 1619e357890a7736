"""Golden files for tests/test_checkpoint.c: a checkpoint written by `dnacl train` and the
PyTorch reference's predictions from it.

Run from the repository root with Debian's interpreter (it has torch, numpy, h5py):

    /usr/bin/python3 tools/make_checkpoint_golden.py --dnacl build/dnacl
    /usr/bin/python3 tools/make_checkpoint_golden.py --checkpoint RUN/best.safetensors

With --dnacl the script trains the model itself:
    dnacl train --model yaml/models/fewer_conv_channels.yaml --data data/ZBED2_400_h3k27ac.h5
                --crop 200 --out TMP --steps 30 --batch 32 --seed 3
and takes TMP/best.safetensors. 30 steps are enough to move every parameter (and the
batchnorm running statistics) away from its initial value, which is all the test needs.

The model is fewer_conv_channels (ConvModelV2 with 8 filters, ~61k parameters, 243 kB)
rather than the 64-filter baseline (462k parameters, 1.8 MB) to keep the committed files
small; the reference class and the tensor names are the same, only the width differs.

Steps
  1. load the checkpoint (tools/dnacl_ref.load_safetensors) and check its tensor names
     are exactly those of tools/reference_model.PARAM_MAP;
  2. build ConvModelV2(L=200, filters=F) with F from conv1.w, load_dnacl, eval mode
     (batchnorm running statistics, no dropout), float64 so that the reference error is
     negligible next to dnacl's float32;
  3. take the first 64 sequences of X_test, cropped to the central 200 bp exactly as
     dnacl's loader does (src/io/seqdata.c seq_fit: first base (len - 200) // 2, the extra
     base dropped on the right), and predict probabilities = sigmoid(logits);
  4. write
       tests/golden/checkpoint_fewer_conv_channels.safetensors  the checkpoint's tensors,
           unchanged, with its metadata (dnacl.model_yaml, dnacl.step): a dnacl checkpoint
       tests/golden/checkpoint_predictions.safetensors  x (64, 4, 200) float32, probs (64, 1)
           and logits (64, 1) (float32 roundings of the float64 reference)
  5. with --dnacl, also run `dnacl predict` on the same run and print the largest
     difference from the reference (a sanity check; the test is tests/test_checkpoint.c).
"""

import argparse
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnacl_ref  # noqa: E402
import reference_model  # noqa: E402

MODEL = "yaml/models/fewer_conv_channels.yaml"
DATA = "data/ZBED2_400_h3k27ac.h5"
L = 200
N = 64
TRAIN_ARGS = ["--crop", str(L), "--steps", "30", "--batch", "32", "--seed", "3"]


def central_crop(x, length):
    """x (N, 4, len) -> (N, 4, length): dnacl's crop (seq_fit), extra base dropped on the right."""
    start = (x.shape[2] - length) // 2
    return x[:, :, start:start + length]


def train(dnacl, out_dir):
    cmd = [dnacl, "train", "--model", MODEL, "--data", DATA, "--out", out_dir] + TRAIN_ARGS
    print("running:", " ".join(cmd))
    subprocess.run(cmd, check=True)
    return os.path.join(out_dir, "best.safetensors")


def reference_probs(state, x):
    names = {n for n, _ in reference_model.PARAM_MAP}
    if set(state) != names:
        raise SystemExit("checkpoint tensors %s differ from ConvModelV2's %s"
                         % (sorted(set(state) ^ names), sorted(names)))
    filters = state["conv1.w"].shape[0]
    model = reference_model.ConvModelV2(L=L, filters=filters).double()
    model.load_dnacl(state)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x.astype(np.float64))).numpy()
    return logits, 1.0 / (1.0 + np.exp(-logits))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--dnacl", help="the dnacl program: train a fresh checkpoint with it")
    g.add_argument("--checkpoint", help="an existing checkpoint trained as above")
    ap.add_argument("--out-dir", default="tests/golden")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        ckpt = train(a.dnacl, run) if a.dnacl else a.checkpoint
        state, meta = dnacl_ref.load_safetensors(ckpt)
        if "dnacl.model_yaml" not in meta:
            raise SystemExit("%s: no dnacl.model_yaml metadata: not a dnacl checkpoint" % ckpt)

        with h5py.File(DATA, "r") as f:
            x = central_crop(np.asarray(f["X_test"][:N], dtype=np.float32), L)
        logits, probs = reference_probs(state, x)

        ck_path = os.path.join(a.out_dir, "checkpoint_fewer_conv_channels.safetensors")
        # The tensors keep their order and float32 bits; only the dnacl metadata is kept
        # (no Adam moments are in a best checkpoint).
        dnacl_ref.save_safetensors(ck_path, state, {k: v for k, v in meta.items() if k.startswith("dnacl.")})
        pr_path = os.path.join(a.out_dir, "checkpoint_predictions.safetensors")
        dnacl_ref.save_safetensors(pr_path, {"x": x, "probs": probs, "logits": logits},
                                   {"data": DATA, "split": "test", "first": str(N), "crop": str(L),
                                    "checkpoint": os.path.basename(ck_path),
                                    "train": "dnacl train --model %s --data %s %s" % (MODEL, DATA, " ".join(TRAIN_ARGS)),
                                    "reference": "tools/reference_model.ConvModelV2, eval mode, float64"})
        print("wrote %s (%d bytes), %s (%d bytes)" % (ck_path, os.path.getsize(ck_path), pr_path, os.path.getsize(pr_path)))
        print("reference probabilities: min %.4f max %.4f mean %.4f" % (probs.min(), probs.max(), probs.mean()))

        if a.dnacl:
            out = subprocess.run([a.dnacl, "predict", "--run", run, "--data", DATA, "--split", "test"],
                                 check=True, capture_output=True, text=True).stdout.splitlines()
            got = np.array([float(r.split("\t")[1]) for r in out[1:N + 1]])
            print("dnacl predict vs reference: max abs diff %.3g (TSV rounds to 6 digits)"
                  % np.abs(got - probs[:, 0]).max())


if __name__ == "__main__":
    main()

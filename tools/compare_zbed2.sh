#!/usr/bin/env bash
# Acceptance check of issue "train on real data": the baseline (ConvModelV2) trained by
# dnacl and by the PyTorch reference (tools/train_reference.py) with the same architecture
# and schedule on data/ZBED2_400_h3k27ac.h5 (central 200 bp, Adam 1e-3, batch 64, 15
# epochs, best valid AUROC kept), for several seeds; prints each test AUROC/AUPR and the
# means with their standard deviations. Usage: tools/compare_zbed2.sh [SEEDS...] (default 1 2 3 4 5 6)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/dnacl ] || tools/setup.sh
seeds=${*:-1 2 3 4 5 6}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
data=data/ZBED2_400_h3k27ac.h5
for s in $seeds; do
  build/dnacl train --model yaml/models/baseline.yaml --data $data --crop 200 --out "$out/run$s" \
    --epochs 15 --batch 64 --seed "$s" > /dev/null 2>&1
  build/dnacl eval --run "$out/run$s" --data $data --split test --json > "$out/dnacl$s.json"
  /usr/bin/python3 tools/train_reference.py --data $data --epochs 15 --batch 64 --seed "$s" > "$out/torch$s.json" 2>/dev/null
done
/usr/bin/python3 - "$out" $seeds <<'PY'
import json, statistics as st, sys
d, seeds = sys.argv[1], sys.argv[2:]
rows = []
print(f"{'seed':>4} | {'dnacl AUROC':>11} {'AUPR':>6} | {'PyTorch AUROC':>13} {'AUPR':>6}")
for s in seeds:
    a = json.load(open(f"{d}/dnacl{s}.json"))["mean"]
    b = json.load(open(f"{d}/torch{s}.json"))
    rows.append((a["auroc"], a["aupr"], b["test_auroc"], b["test_aupr"]))
    print(f"{s:>4} | {a['auroc']:>11.4f} {a['aupr']:>6.4f} | {b['test_auroc']:>13.4f} {b['test_aupr']:>6.4f}")
cols = list(zip(*rows))
sd = lambda c: st.stdev(c) if len(c) > 1 else 0.0
print(f"mean | {st.mean(cols[0]):>6.4f}±{sd(cols[0]):.4f} {st.mean(cols[1]):>6.4f} | "
      f"{st.mean(cols[2]):>8.4f}±{sd(cols[2]):.4f} {st.mean(cols[3]):>6.4f}")
print(f"difference of mean test AUROC (dnacl - PyTorch): {st.mean(cols[0]) - st.mean(cols[2]):+.4f}")
PY

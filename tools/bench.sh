#!/usr/bin/env bash
# The benchmark table of the chapter's model (ConvModelV2, L=200) at batch 32 and 256:
# dnacl on the chosen OpenCL device beside PyTorch on this machine's CPU, run in the same
# session, plus OpenBLAS SGEMM on the model's GEMM shapes as a reference point (Debian's build;
# register-only FMAs reach ~525 GFLOP/s on the 2-core development EPYC, see DESIGN.md).
# Needs: tools/setup.sh done, python3-torch and libopenblas-dev (installed here if missing).
# Usage: tools/bench.sh [seconds-per-measurement]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
need=()
for p in python3-torch libopenblas-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x build/dnacl ] || tools/setup.sh
out=$(mktemp -d)
gcc -O2 -o "$out/bench_sgemm" tools/bench_sgemm.c -lopenblas
echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
build/dnacl bench --json --seconds "$secs" > "$out/dnacl.jsonl"
/usr/bin/python3 tools/bench_torch.py --seconds "$secs" > "$out/torch.jsonl"
"$out/bench_sgemm" > "$out/sgemm.tsv"
/usr/bin/python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
dn = [json.loads(l) for l in open(os.path.join(d, "dnacl.jsonl"))]
pt = {(r["batch"], r["mode"]): r for r in map(json.loads, open(os.path.join(d, "torch.jsonl")))}
print(f"dnacl device: {dn[0]['device']}; peer: PyTorch {next(iter(pt.values()))['version']} "
      f"(Debian python3-torch, {next(iter(pt.values()))['threads']} threads)")
print(f"{'mode':6} {'batch':>5} | {'dnacl seq/s':>11} {'GFLOP/s':>8} | {'PyTorch seq/s':>13} {'GFLOP/s':>8} | {'dnacl/PyTorch':>13}")
for r in dn:
    p = pt[(r["batch"], r["mode"])]
    pg = r["gflops"] * p["seq_per_s"] / r["seq_per_s"]
    print(f"{r['mode']:6} {r['batch']:>5} | {r['seq_per_s']:>11.0f} {r['gflops']:>8.1f} | {p['seq_per_s']:>13.0f} {pg:>8.1f} | {r['seq_per_s']/p['seq_per_s']:>13.2f}")
print("\nOpenBLAS SGEMM (Debian's build, a reference point; not the cores' FMA limit):")
for l in open(os.path.join(d, "sgemm.tsv")):
    _, label, M, N, K, g = l.rstrip("\n").split("\t")
    print(f"  {label:16} M={M:>5} N={N:>6} K={K:>5}: {float(g):6.1f} GFLOP/s")
PY
rm -rf "$out"

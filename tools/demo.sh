#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, show the devices, train
# the chapter's baseline (ConvModelV2) on the ZBED2 ChIP-seq set shipped in data/ (its
# 400 bp sequences cropped to the central 200 bp the model takes), evaluate it on the test
# split, explain the top-scoring test sequences, and write the HTML report.
# Usage: tools/demo.sh [RUN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/zbed2_baseline}
data=data/ZBED2_400_h3k27ac.h5
tools/setup.sh
build/dnacl devices
mkdir -p "$(dirname "$run")"
build/dnacl train --model yaml/models/baseline.yaml --data $data --crop 200 \
  --out "$run" --epochs 15 --batch 64 --early-stop 5 --seed 1
build/dnacl eval --run "$run" --data $data --split test
build/dnacl explain --run "$run" --data $data --split test --top 5 --method deepshap \
  --out "$run/deepshap_top5.npy" --tsv "$run/deepshap_top5.tsv" --svg "$run/logos"
build/dnacl filters --run "$run" --data $data --split test --out "$run/filters.meme" \
  --compare data/JASPAR_CORE_2016_vertebrates.meme > "$run/filter_matches.tsv"
build/dnacl report "$run"
echo
echo "outputs in $run/:"
echo "  report.html        everything below on one page (open it in a browser)"
echo "  metrics.tsv, curves.svg, best.safetensors, config.tsv"
echo "  deepshap_top5.npy/.tsv, logos/   DeepSHAP attributions of the 5 top-scoring test sequences"
echo "  filters.meme, filter_matches.tsv first-layer filters as motifs, best JASPAR match each"

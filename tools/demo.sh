#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, show the devices, train
# the chapter's baseline (ConvModelV2) on the ZBED2 ChIP-seq set shipped in data/ (its
# 400 bp sequences cropped to the central 200 bp the model takes), evaluate it on the test
# split and say where everything is. Usage: tools/demo.sh [RUN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/zbed2_baseline}
tools/setup.sh
build/dnacl devices
mkdir -p "$(dirname "$run")"
build/dnacl train --model yaml/models/baseline.yaml --data data/ZBED2_400_h3k27ac.h5 --crop 200 \
  --out "$run" --epochs 15 --batch 64 --early-stop 5 --seed 1
build/dnacl eval --run "$run" --data data/ZBED2_400_h3k27ac.h5 --split test
echo
echo "outputs in $run/: metrics.tsv, curves.svg (learning curves), best.safetensors (model),"
echo "config.tsv; predictions: build/dnacl predict --run $run --data data/ZBED2_400_h3k27ac.h5 --split test"

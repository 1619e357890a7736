#!/usr/bin/env bash
# dnacl sweep end to end: --dry-run cell listing; a whole sweep; re-running skips finished
# cells; --shard 1/2 + --shard 2/2 + collect equal the unsplit table; a sweep killed with
# kill -9 during its second cell and run again has every cell exactly once (and the same
# numbers); mixed sweeps refused; a diverging cell recorded as failed; the small versions
# of the shipped sweeps (tests/data/sweeps/*_small.yaml) as far as their evaluations exist
# in this build. About a minute on two CPU cores (PoCL).
# Run by ctest from the repository root: bash tests/cli_sweep.sh /path/to/dnacl
set -u
DNACL=${1:?usage: bash tests/cli_sweep.sh /path/to/dnacl}
TMP=$(mktemp -d)
bg=
trap '[ -n "$bg" ] && kill -9 $bg 2>/dev/null; rm -rf "$TMP"' EXIT
failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
run() { "$DNACL" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }
has() { grep -Eq -- "$1" "$2"; }
rows() { [ -f "$1" ] && tail -n +2 "$1" | wc -l || echo 0; }
# The columns that must agree between two runs of the same cells: all but wall_s and
# device (the last two).
metrics() { awk -F'\t' -v OFS='\t' '{ NF -= 2; print }' "$1"; }

SW=tests/data/sweeps
TINY=$SW/tiny.yaml   # 2 models x 2 activations x 2 trials

# ---- usage and listing ---------------------------------------------------------------
run sweep --help
[ $rc -eq 0 ] && has 'dnacl sweep collect' "$TMP/out" && pass "sweep --help" || fail "sweep --help: exit $rc"
run sweep "$TINY"
[ $rc -eq 2 ] && has '\-\-out DIR is required' "$TMP/err" && pass "no --out: usage error" || fail "no --out: exit $rc"
run sweep "$TINY" --dry-run
[ $rc -eq 0 ] && pass "dry-run exit 0" || { fail "dry-run exit $rc"; cat "$TMP/err"; }
has '^# sweep tiny .*id [0-9a-f]{16}: 8 cells = 2 models x 2 activation x 2 trial' "$TMP/out" && pass "dry-run header" || fail "dry-run header: $(head -1 "$TMP/out")"
[ "$(grep -c 'pending$' "$TMP/out")" -eq 8 ] && pass "dry-run lists 8 cells to do" || fail "dry-run cells: $(grep -c 'pending$' "$TMP/out")"
has '^0	model=conv_model,activation=relu,trial=1	conv_model	relu	1	1	pending$' "$TMP/out" && \
  has '^7	model=cnn_local,activation=exponential,trial=2	cnn_local	exponential	2	2	pending$' "$TMP/out" && \
  pass "dry-run: first and last cell, trials fastest, seed per trial" || { fail "dry-run cells"; cat "$TMP/out"; }
run sweep "$TINY" --dry-run --shard 2/3
[ "$(grep -v '^#' "$TMP/out" | tail -n +2 | cut -f1 | tr '\n' ' ')" = "1 4 7 " ] && pass "dry-run --shard 2/3: cells 1 4 7" || fail "shard 2/3 cells: $(grep -v '^#' "$TMP/out" | cut -f1 | tr '\n' ' ')"
run sweep "$TINY" --dry-run --shard 3/2
[ $rc -eq 2 ] && has 'I/N with 1 <= I <= N' "$TMP/err" && pass "--shard 3/2 refused" || fail "--shard 3/2: exit $rc"

# ---- errors point into the file -------------------------------------------------------
printf 'data: %s/data/ZBED2_400_h3k27ac.h5\nmodels: [%s/yaml/models/cnn_local.yaml]\ngrid:\n  activaton: [relu]\n' "$PWD" "$PWD" >"$TMP/bad.yaml"
run sweep "$TMP/bad.yaml" --dry-run
[ $rc -eq 1 ] && has "bad.yaml:4:3: unknown grid key 'activaton' \(did you mean 'activation'\?\)" "$TMP/err" && has '^  \^' "$TMP/err" \
  && pass "bad grid key: file:line:col and caret" || { fail "bad grid key: exit $rc"; cat "$TMP/err"; }

# ---- the whole sweep, then again ---------------------------------------------------------
FULL=$TMP/full
run sweep "$TINY" --out "$FULL"
[ $rc -eq 0 ] && pass "tiny sweep exit 0" || { fail "tiny sweep exit $rc"; tail -5 "$TMP/err"; }
[ "$(rows "$FULL/results.tsv")" -eq 8 ] && pass "results.tsv: 8 rows" || fail "results.tsv rows: $(rows "$FULL/results.tsv")"
has '^cell	id	model	activation	trial	run_seed	status	test_loss	test_accuracy	test_auroc	test_aupr	best_step	wall_s	device$' "$FULL/results.tsv" \
  && pass "results.tsv header" || fail "header: $(head -1 "$FULL/results.tsv")"
[ "$(cut -f1 "$FULL/results.tsv" | tail -n +2 | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 " ] && pass "rows in cell order" || fail "row order"
awk -F'\t' 'NR > 1 && !($7 == "ok" && $10 > 0 && $10 <= 1 && $11 > 0 && $11 <= 1) { bad = 1 } END { exit bad }' "$FULL/results.tsv" \
  && pass "every cell ok, AUROC and AUPR in (0,1]" || { fail "bad rows"; cat "$FULL/results.tsv"; }
for f in sweep.id sweep.yaml cells.tsv summary.svg; do [ -s "$FULL/$f" ] && pass "DIR/$f" || fail "DIR/$f missing"; done
R="$FULL/runs/model=cnn_local,activation=exponential,trial=2"
for f in model.yaml eval.tsv metrics.tsv best.safetensors; do [ -s "$R/$f" ] && pass "run dir has $f" || fail "run dir lacks $f"; done
has 'fn: exponential, ablate: true' "$R/model.yaml" && pass "the cell's model has its activation" || fail "cell model.yaml"
has '^seed	2$' "$R/config.tsv" && pass "trial 2 trained with seed 2" || fail "trial seed: $(grep seed "$R/config.tsv")"
has '</svg>' "$FULL/summary.svg" && has 'test_auroc' "$FULL/summary.svg" && has 'cnn_local' "$FULL/summary.svg" && pass "summary.svg" || fail "summary.svg content"
[ -z "$(find "$FULL" -name '*.tmp')" ] && pass "no .tmp files" || fail "tmp files: $(find "$FULL" -name '*.tmp')"
run eval --run "$R" --data data/ZBED2_400_h3k27ac.h5 --json
auc=$(grep -o '"auroc": [0-9.]*' "$TMP/out" | tail -1 | sed 's/.*: //')
want=$(awk -F'\t' '$1 == 7 { print $10 }' "$FULL/results.tsv")
awk -v a="$auc" -v b="$want" 'BEGIN { d = a - b; exit !(a != "" && d < 1e-5 && d > -1e-5) }' \
  && pass "dnacl eval of a cell's run gives its table AUROC ($want)" || fail "eval auroc '$auc' vs table '$want'"

cp "$FULL/results.tsv" "$TMP/before.tsv"
run sweep "$TINY" --out "$FULL"
[ $rc -eq 0 ] && has '^0 cell\(s\) run, 8 already finished' "$TMP/out" && cmp -s "$TMP/before.tsv" "$FULL/results.tsv" \
  && pass "re-run: nothing to do, table unchanged" || { fail "re-run: exit $rc"; cat "$TMP/out"; }
run sweep "$TINY" --dry-run --out "$FULL"
[ "$(grep -c 'done$' "$TMP/out")" -eq 8 ] && pass "dry-run --out: 8 done" || fail "dry-run --out states"

# ---- shards and collect ---------------------------------------------------------------------
# Shard 1/2 directly; shard 2/2 through the Slurm job script as array task 2 of 2.
run sweep "$TINY" --out "$TMP/s1" --shard 1/2
r1=$rc
# (All cores and the usual kernel cache, as the other runs here have.)
DNACL="$DNACL" SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=2 SLURM_CPUS_PER_TASK=$(nproc) \
  POCL_CACHE_DIR="${POCL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pocl/kcache}" \
  bash tools/slurm_sweep.sh "$TINY" "$TMP/slurm" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $r1 -eq 0 ] && [ $rc -eq 0 ] && pass "shard 1/2, and 2/2 by tools/slurm_sweep.sh: exit 0" || { fail "shards: exit $r1 $rc"; cat "$TMP/err"; }
[ "$(cut -f1 "$TMP/s1/results.tsv" | tail -n +2 | tr '\n' ' ')" = "0 2 4 6 " ] && [ "$(cut -f1 "$TMP/slurm/shard_2/results.tsv" | tail -n +2 | tr '\n' ' ')" = "1 3 5 7 " ] \
  && pass "shard 1/2 ran cells 0 2 4 6, shard 2/2 (OUT/shard_2) 1 3 5 7" || fail "shard rows"
run sweep collect "$TMP/slurm/shard_2" "$TMP/s1" --out "$TMP/merged"
[ $rc -eq 0 ] && has 'collected 8 of 8 cells' "$TMP/out" && pass "collect: 8 of 8" || { fail "collect exit $rc"; cat "$TMP/out" "$TMP/err"; }
if cmp -s <(metrics "$FULL/results.tsv") <(metrics "$TMP/merged/results.tsv"); then
  pass "shards collected = unsplit table (all columns but wall_s, device)"
else
  fail "collected table differs"; diff <(metrics "$FULL/results.tsv") <(metrics "$TMP/merged/results.tsv")
fi
[ -s "$TMP/merged/summary.svg" ] && cmp -s "$FULL/sweep.id" "$TMP/merged/sweep.id" && pass "collect: summary.svg, same sweep.id" || fail "collect outputs"
run sweep collect "$TMP/s1" --out "$TMP/half"
[ $rc -eq 0 ] && has 'collected 4 of 8' "$TMP/out" && has 'missing: 1 \(model=conv_model,activation=relu,trial=2\)' "$TMP/out" \
  && pass "collect of one shard names the missing cells" || { fail "partial collect"; cat "$TMP/out"; }

# ---- the chapter's ablation, small -----------------------------------------------------------
run sweep $SW/chapter_ablation_small.yaml --out "$TMP/chapter"
[ $rc -eq 0 ] && [ "$(rows "$TMP/chapter/results.tsv")" -eq 6 ] && pass "chapter_ablation_small: 6 cells" || { fail "chapter small: exit $rc"; tail -5 "$TMP/err"; }
for m in baseline single_conv_only fewer_conv_channels remove_MLP add_one_transformer_block add_two_transformer_block; do
  has "	$m	1	ok	" "$TMP/chapter/results.tsv" || fail "chapter small: no ok row for $m"
done

# ---- mixed sweeps are refused ----------------------------------------------------------------
run sweep collect "$TMP/s1" "$TMP/chapter" --out "$TMP/mixed"
[ $rc -eq 1 ] && has 'hold different sweeps' "$TMP/err" && [ ! -e "$TMP/mixed" ] && pass "collect refuses mixed sweeps" || { fail "mixed collect: exit $rc"; cat "$TMP/err"; }
run sweep $SW/chapter_ablation_small.yaml --out "$FULL"
[ $rc -eq 1 ] && has 'holds another sweep' "$TMP/err" && pass "another sweep into a used DIR refused" || fail "DIR reuse: exit $rc"
run sweep collect "$TMP/nowhere" --out "$TMP/x"
[ $rc -eq 1 ] && has 'not a sweep output directory' "$TMP/err" && pass "collect of a non-sweep dir refused" || fail "collect nowhere: exit $rc"

# ---- kill -9 during the second cell, run again ---------------------------------------------
K=$TMP/killed
second="$K/runs/model=conv_model,activation=relu,trial=2"
"$DNACL" sweep "$TINY" --out "$K" >"$TMP/kout" 2>"$TMP/kerr" &
bg=$!
for _ in $(seq 1 600); do [ -d "$second" ] && break; sleep 0.05; done
sleep 0.2
kill -9 $bg 2>/dev/null
wait $bg 2>/dev/null
bg=
if [ "$(rows "$K/results.tsv")" -eq 1 ]; then
  pass "killed during cell 1: results.tsv has cell 0 only"
else
  fail "after kill -9: $(rows "$K/results.tsv") rows (the second cell finished before the kill?)"
fi
run sweep "$TINY" --out "$K"
[ $rc -eq 0 ] && has '7 cell\(s\) run, 1 already finished' "$TMP/out" && pass "re-run after kill -9 runs the 7 others" || { fail "re-run after kill: exit $rc"; cat "$TMP/out"; tail -3 "$TMP/err"; }
[ "$(cut -f1 "$K/results.tsv" | tail -n +2 | sort -n | uniq | wc -l)" -eq 8 ] && [ "$(rows "$K/results.tsv")" -eq 8 ] \
  && pass "every cell exactly once" || fail "cells after resume: $(cut -f1 "$K/results.tsv" | tr '\n' ' ')"
cmp -s <(metrics "$FULL/results.tsv") <(metrics "$K/results.tsv") && pass "killed + resumed = uninterrupted (metrics)" || { fail "killed+resumed differs"; diff <(metrics "$FULL/results.tsv") <(metrics "$K/results.tsv"); }
[ -z "$(find "$K" -name '*.tmp')" ] && pass "no .tmp left after the kill" || fail "tmp after kill: $(find "$K" -name '*.tmp')"

# ---- a cell that diverges is recorded as failed; the others still run ------------------------
printf 'data: {file: %s/data/ZBED2_400_h3k27ac.h5, crop: 200}\nmodels: [%s/yaml/models/fewer_conv_channels.yaml]\ngrid: {activation: [exponential], lr: [0.001, 50]}\ntrain: {steps: 5, batch: 32}\n' "$PWD" "$PWD" >"$TMP/div.yaml"
run sweep "$TMP/div.yaml" --out "$TMP/div"
[ $rc -eq 1 ] && has '1 failed' "$TMP/out" && has 'lr=50	.*	failed	nan' "$TMP/div/results.tsv" && has '	ok	' "$TMP/div/results.tsv" \
  && has 'diverged' "$TMP/div/runs/model=fewer_conv_channels,activation=exponential,lr=50/error.txt" \
  && pass "diverging cell: failed row, error.txt, exit 1, the other cell ok" || { fail "diverging cell: exit $rc"; cat "$TMP/out" "$TMP/div/results.tsv"; }
run sweep "$TMP/div.yaml" --out "$TMP/div"
[ $rc -eq 0 ] && has '0 cell\(s\) run, 2 already finished' "$TMP/out" && pass "failed cells count as finished" || fail "re-run of failed: exit $rc"
run sweep "$TMP/div.yaml" --out "$TMP/div" --retry-failed
[ $rc -eq 1 ] && has '^1 cell\(s\) run' "$TMP/out" && pass "--retry-failed runs it again" || fail "--retry-failed: exit $rc"

# ---- Koo's tasks, small, with their interpretability evaluations -----------------------------
# col NAME FILE: the 1-based column of NAME in a TSV header
col() { head -1 "$2" | tr '\t' '\n' | grep -nx -- "$1" | cut -d: -f1; }
# in01 FILE COLUMN...: every row's value of each column is a number in [0, 1]
in01() { f=$1; shift; for c in "$@"; do k=$(col "$c" "$f"); [ -n "$k" ] || return 1
  awk -F'\t' -v k="$k" 'NR > 1 && !($k >= 0 && $k <= 1 && $k != "nan") { bad = 1 } END { exit bad }' "$f" || return 1; done; }
for t in koo_task1_small koo_task3_small; do
  f=$SW/$t.yaml
  run sweep "$f" --dry-run
  if [ $rc -eq 0 ]; then
    run sweep "$f" --out "$TMP/$t"
    [ $rc -eq 0 ] && pass "$t: exit 0" || { fail "$t: exit $rc"; tail -5 "$TMP/err"; }
  else
    # An evaluation not in this build is refused by name; run the rest from a copy without it.
    has "evaluation '(filter_match|attribution)' is not available in this build" "$TMP/err" && \
      pass "$t: the missing evaluation named: $(grep -o "evaluation '[a-z_]*'" "$TMP/err")" || { fail "$t: $(head -1 "$TMP/err")"; continue; }
    sed -e "s#\.\./\.\./\.\./#$PWD/#g" -e '/- filter_match/d' -e '/- attribution/d' "$f" >"$TMP/$t.yaml"
    run sweep "$TMP/$t.yaml" --out "$TMP/$t"
    [ $rc -eq 0 ] && pass "$t without it: exit 0" || { fail "$t without it: exit $rc"; tail -5 "$TMP/err"; }
  fi
  R=$TMP/$t/results.tsv
  [ -s "$TMP/$t/data.h5" ] && pass "$t: data simulated into DIR/data.h5" || fail "$t: no data.h5"
  n=$(awk -F'\t' -v c="$(col status "$R")" 'NR > 1 && $c == "ok"' "$R" | wc -l)
  [ "$n" -ge 4 ] && pass "$t: $n cells ok" || fail "$t: $n ok cells"
  in01 "$R" test_auroc test_aupr && pass "$t: test AUROC/AUPR in [0,1]" || fail "$t: test metrics"
done
R=$TMP/koo_task1_small/results.tsv
if [ -n "$(col filter_match_truth "$R")" ]; then
  in01 "$R" filter_match_truth filter_match_planted filter_match_truth_any filter_match_db \
    && pass "koo_task1_small: four filter-match fractions in [0,1]" || fail "filter match columns"
  fm="$TMP/koo_task1_small/runs/model=cnn_deep,activation=exponential/filter_match.tsv"
  [ "$(grep -c '^[0-9]' "$fm")" -eq 32 ] && has 'ground-truth motifs in the database: 12 of 12' "$fm" \
    && pass "filter_match.tsv: 32 filters, the 12 task motifs in JASPAR" || fail "filter_match.tsv"
fi
R=$TMP/koo_task3_small/results.tsv
if [ -n "$(col attr_saliency_auroc "$R")" ]; then
  in01 "$R" attr_saliency_auroc attr_saliency_aupr attr_ism_auroc attr_ism_aupr attr_ig_auroc attr_ig_aupr \
    attr_deepshap_auroc attr_deepshap_aupr && pass "koo_task3_small: attribution AUROC/AUPR of 4 methods in [0,1]" || fail "attribution columns"
  at="$TMP/koo_task3_small/runs/model=cnn_dist,activation=exponential/attribution.tsv"
  has '^# 20 positive test sequences considered' "$at" && [ "$(grep -cE '^(saliency|ism|ig|deepshap)	20	' "$at")" -eq 4 ] \
    && pass "attribution.tsv: 4 methods on 20 sequences" || { fail "attribution.tsv"; cat "$at"; }
  # Attribution needs ground truth: the ZBED2 file has none.
  printf 'data: %s/data/ZBED2_400_h3k27ac.h5\nmodels: [%s/yaml/models/cnn_local.yaml]\ntrain: {steps: 2}\nevaluate:\n  - attribution: {methods: [saliency], n: 5}\n' "$PWD" "$PWD" >"$TMP/notruth.yaml"
  run sweep "$TMP/notruth.yaml" --out "$TMP/notruth"
  [ $rc -eq 1 ] && has "notruth.yaml:5:5: evaluation 'attribution' needs the ground truth of simulated data" "$TMP/err" \
    && [ ! -e "$TMP/notruth/results.tsv" ] && pass "attribution on data without ground truth: refused before training" || { fail "no truth: exit $rc"; cat "$TMP/err"; }
fi

echo "$failures failure(s)"
[ $failures -eq 0 ]

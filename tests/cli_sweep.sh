#!/usr/bin/env bash
# dnacl sweep end to end: --dry-run cell listing; a whole sweep; re-running skips finished
# cells; --shard 1/2 + --shard 2/2 + collect equal the unsplit table, and the collected
# directory links every cell's run (dnacl eval/report work there); a data file regenerated
# at the same path, or a model file's layers changed, is refused; a sweep grown in place
# (more trials, another activation) runs only its new cells; a sweep killed with
# kill -9 during its second cell (tests/data/sweeps/kill.yaml) and run again has every cell
# exactly once (and the same numbers); mixed sweeps refused; a diverging cell recorded as
# failed; the small versions of the shipped sweeps (tests/data/sweeps/*_small.yaml) as far as their evaluations exist
# in this build. About a minute on two CPU cores (PoCL).
# Run by ctest from the repository root: bash tests/cli_sweep.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"
# A sweep left running in the background by the kill -9 check is stopped on exit too.
bg=
trap '[ -n "$bg" ] && kill -9 $bg 2>/dev/null; rm -rf "$TMP"' EXIT
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
cp "$TMP/out" "$TMP/merged_out"
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
# The collected directory works like an unsplit one: runs/<id> of every row is a relative
# link into its shard (nothing moved), and dnacl eval/report run from there.
n=0; for d in "$TMP/merged/runs/"*; do [ -L "$d" ] && [ -d "$d" ] && case $(readlink "$d") in /*) ;; *) n=$((n + 1)) ;; esac; done
[ $n -eq 8 ] && [ -d "$TMP/s1/runs/model=conv_model,activation=relu,trial=1" ] && [ ! -L "$TMP/s1/runs/model=conv_model,activation=relu,trial=1" ] \
  && has 'run directories: 8 linked' "$TMP/merged_out" && pass "collect: 8 relative links to the shards' run directories, shards untouched" \
  || { fail "collect links: $n"; ls -l "$TMP/merged/runs"; }
R="$TMP/merged/runs/model=cnn_local,activation=exponential,trial=2"
run eval --run "$R" --data data/ZBED2_400_h3k27ac.h5 --json
auc=$(grep -o '"auroc": [0-9.]*' "$TMP/out" | tail -1 | sed 's/.*: //')
want=$(awk -F'\t' '$1 == 7 { print $10 }' "$TMP/merged/results.tsv")
awk -v a="$auc" -v b="$want" 'BEGIN { d = a - b; exit !(a != "" && d < 1e-5 && d > -1e-5) }' \
  && pass "dnacl eval of a collected cell gives its table AUROC ($want)" || fail "collected eval auroc '$auc' vs table '$want'"
run report "$R" --db none
[ $rc -eq 0 ] && [ -s "$R/report.html" ] && pass "dnacl report on a collected cell" || { fail "report on collected cell: exit $rc"; tail -3 "$TMP/err"; }
# Collecting again from one shard keeps the rows the directory already holds.
cp "$TMP/merged/results.tsv" "$TMP/merged_before.tsv"
run sweep collect "$TMP/s1" --out "$TMP/merged"
[ $rc -eq 0 ] && has 'collected 8 of 8 cells .*with the rows it held' "$TMP/out" && cmp -s "$TMP/merged_before.tsv" "$TMP/merged/results.tsv" \
  && pass "collect into a collected directory keeps its rows" || { fail "re-collect: exit $rc"; cat "$TMP/out" "$TMP/err"; }

# ---- a data file regenerated at the same path is another sweep ------------------------------
G=$TMP/regen
mkdir -p "$G"
"$DNACL" simulate --task koo-task3 --n 300 --seed 1 --out "$G/data.h5" >/dev/null 2>&1
cp yaml/models/cnn_local.yaml "$G/model.yaml"
printf 'data: data.h5\nmodels: [model.yaml]\ntrain: {steps: 3, batch: 32}\n' >"$G/s.yaml"
printf 'data: ./data.h5\nmodels: [./model.yaml]\ntrain: {steps: 3, batch: 32}\n' >"$G/s_dot.yaml"
run sweep "$G/s.yaml" --out "$G/out"
[ $rc -eq 0 ] && [ "$(rows "$G/out/results.tsv")" -eq 1 ] && pass "sweep on simulated data: 1 cell" || { fail "regen sweep: exit $rc"; tail -3 "$TMP/err"; }
run sweep "$G/s_dot.yaml" --out "$G/out"
[ $rc -eq 0 ] && has '^0 cell\(s\) run, 1 already finished' "$TMP/out" && pass "./data.h5 and data.h5: the same sweep" || { fail "path spelling: exit $rc"; cat "$TMP/err"; }
snapshot() { (cd "$1" && find . -type f ! -name .lock -exec md5sum {} + | sort); }
snapshot "$G/out" >"$TMP/snap_before"
"$DNACL" simulate --task koo-task3 --n 300 --seed 2 --out "$G/data.h5" >/dev/null 2>&1
run sweep "$G/s.yaml" --out "$G/out"
[ $rc -eq 1 ] && has "data.file: the content of .*regen/data.h5 changed" "$TMP/err" && has 'Give another --out' "$TMP/err" \
  && cmp -s "$TMP/snap_before" <(snapshot "$G/out") && pass "regenerated data file: refused, naming it; nothing written" \
  || { fail "regenerated data: exit $rc"; cat "$TMP/err"; }
run sweep "$G/s.yaml" --dry-run --out "$G/out"
[ $rc -eq 1 ] && has "data.file: the content of" "$TMP/err" && pass "dry-run --out: refused too" || fail "regen dry-run: exit $rc"
"$DNACL" simulate --task koo-task3 --n 300 --seed 1 --out "$G/data.h5" >/dev/null 2>&1
run sweep "$G/s.yaml" --out "$G/out"
[ $rc -eq 0 ] && has '^0 cell\(s\) run, 1 already finished' "$TMP/out" && pass "the original data back: the sweep continues" || { fail "data restored: exit $rc"; cat "$TMP/err"; }
sed -i 's/^# /# a comment changed: /' "$G/model.yaml"
run sweep "$G/s.yaml" --dry-run --out "$G/out"
[ $rc -eq 0 ] && pass "a model file's comments do not matter" || { fail "model comment: exit $rc"; cat "$TMP/err"; }
snapshot "$G/out" >"$TMP/snap_before"
sed -i 's/filters: \([0-9]*\)/filters: 1\1/' "$G/model.yaml"
run sweep "$G/s.yaml" --dry-run --out "$G/out"
[ $rc -eq 1 ] && has 'model cnn_local \(.*regen/model.yaml\): its layers differ' "$TMP/err" && cmp -s "$TMP/snap_before" <(snapshot "$G/out") \
  && pass "a model file's layers changed: refused, naming it" || { fail "model change: exit $rc"; cat "$TMP/err"; }

# A directory made before contents were hashed cannot be checked: refused.
mkdir -p "$TMP/v1" && sed 's/^dnacl sweep v2$/dnacl sweep v1/' "$FULL/sweep.id" >"$TMP/v1/sweep.id"
run sweep "$TINY" --dry-run --out "$TMP/v1"
[ $rc -eq 1 ] && has 'made by an older dnacl' "$TMP/err" && pass "a version-1 sweep directory: refused" || { fail "v1 dir: exit $rc"; cat "$TMP/err"; }

# ---- a sweep grows in place ---------------------------------------------------------------------
# The cnn_local cells of tiny.yaml, first one of them, then all four: only the new cells run,
# the old row (cell 0, now cell 2) and run directory stay as they were, and the numbers
# equal the unsplit sweep's.
E=$TMP/grow
grow() { printf 'data: {file: %s/data/ZBED2_400_h3k27ac.h5, crop: 200}\nmodels: [%s/yaml/models/cnn_local.yaml]\ngrid: {activation: [%s], trials: %s}\ntrain: {steps: %s, batch: 32, eval_every: 10}\n' \
  "$PWD" "$PWD" "$1" "$2" "$3" >"$TMP/grow.yaml"; }
grow exponential 1 20
run sweep "$TMP/grow.yaml" --out "$E"
[ $rc -eq 0 ] && [ "$(rows "$E/results.tsv")" -eq 1 ] && pass "grow: 1 cell" || { fail "grow 1: exit $rc"; tail -3 "$TMP/err"; }
first=$(tail -n +2 "$E/results.tsv" | cut -f2-)
ck="$E/runs/model=cnn_local,activation=exponential,trial=1/best.safetensors"
cp "$ck" "$TMP/ck_before"
grow 'relu, exponential' 2 20
run sweep "$TMP/grow.yaml" --out "$E"
[ $rc -eq 0 ] && has '^3 cell\(s\) run, 1 already finished' "$TMP/out" && pass "more trials and another activation: only the 3 new cells run" \
  || { fail "grow: exit $rc"; cat "$TMP/out"; tail -3 "$TMP/err"; }
[ "$(cut -f1 "$E/results.tsv" | tail -n +2 | tr '\n' ' ')" = "0 1 2 3 " ] && [ "$(grep -c . "$E/cells.tsv")" -eq 5 ] \
  && [ "$(awk -F'\t' '$1 == 2 { print $2 }' "$E/results.tsv")" = "model=cnn_local,activation=exponential,trial=1" ] \
  && pass "results.tsv: 4 rows in the grown grid's order, the old one renumbered" || fail "grown rows: $(cut -f1,2 "$E/results.tsv" | tr '\n' ' ')"
tail -n +2 "$E/results.tsv" | cut -f2- | grep -qxF "$first" && cmp -s "$ck" "$TMP/ck_before" \
  && pass "the old row (all but its index) and its checkpoint unchanged" || fail "old row changed: '$first'"
cmp -s <(grep cnn_local "$FULL/results.tsv" | cut -f2- | metrics /dev/stdin) <(tail -n +2 "$E/results.tsv" | cut -f2- | metrics /dev/stdin) \
  && pass "grown in place = the same cells of the unsplit tiny sweep (metrics)" || { fail "grown metrics differ"; cat "$E/results.tsv"; }
snapshot "$E" >"$TMP/snap_before"
grow 'relu, exponential' 2 21
run sweep "$TMP/grow.yaml" --out "$E"
[ $rc -eq 1 ] && has "train.steps: was '20', now '21'" "$TMP/err" && cmp -s "$TMP/snap_before" <(snapshot "$E") \
  && pass "a training setting of every cell changed: refused, nothing written" || { fail "steps change: exit $rc"; cat "$TMP/err"; }
grow 'relu, exponential' 1 20
run sweep "$TMP/grow.yaml" --out "$E"
[ $rc -eq 1 ] && has 'does not have \(model=cnn_local,activation=relu,trial=2' "$TMP/err" && cmp -s "$TMP/snap_before" <(snapshot "$E") \
  && pass "fewer trials: refused (finished cells would be dropped), nothing written" || { fail "shrink: exit $rc"; cat "$TMP/err"; }
# Directories of one sweep grown differently: collected into the larger grid.
run sweep collect "$E" "$TMP/s1" --out "$TMP/grown_merged"
[ $rc -eq 0 ] && has 'collected 6 of 8 cells' "$TMP/out" && has '2 cell\(s\) found twice, the first kept$' "$TMP/out" \
  && [ "$(cut -f1 "$TMP/grown_merged/results.tsv" | tail -n +2 | tr '\n' ' ')" = "0 2 4 5 6 7 " ] \
  && pass "collect of a grown and a tiny shard: rows placed in tiny's grid, equal duplicates" || { fail "grown collect: exit $rc"; cat "$TMP/out" "$TMP/err"; }
# ... and the whole sweep run into the collected directory trains only the 2 cells missing.
run sweep "$TINY" --out "$TMP/grown_merged"
[ $rc -eq 0 ] && has '^2 cell\(s\) run, 6 already finished' "$TMP/out" && cmp -s <(metrics "$FULL/results.tsv") <(metrics "$TMP/grown_merged/results.tsv") \
  && pass "a sweep run into a collected directory: only the missing cells, = the unsplit table" || { fail "run into collected: exit $rc"; cat "$TMP/out"; tail -3 "$TMP/err"; }

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
[ $rc -eq 1 ] && has 'was made from other inputs' "$TMP/err" && has "grid: was 'model,activation,trial', now 'model'" "$TMP/err" \
  && pass "another sweep into a used DIR refused, naming what differs" || { fail "DIR reuse: exit $rc"; cat "$TMP/err"; }
run sweep collect "$TMP/nowhere" --out "$TMP/x"
[ $rc -eq 1 ] && has 'not a sweep output directory' "$TMP/err" && pass "collect of a non-sweep dir refused" || fail "collect nowhere: exit $rc"

# ---- kill -9 during the second cell, run again ---------------------------------------------
# kill.yaml's two cells train for ~2 s each, so half a second after the second one's run
# directory appears it is surely still training, on a fast machine or a loaded one.
KSW=$SW/kill.yaml
KFULL=$TMP/kill_full
run sweep "$KSW" --out "$KFULL"
[ $rc -eq 0 ] && [ "$(rows "$KFULL/results.tsv")" -eq 2 ] && pass "kill.yaml uninterrupted: 2 cells" || { fail "kill.yaml: exit $rc"; tail -3 "$TMP/err"; }
K=$TMP/killed
second="$K/runs/model=conv_model,activation=relu,trial=2"
"$DNACL" sweep "$KSW" --out "$K" >"$TMP/kout" 2>"$TMP/kerr" &
bg=$!
for _ in $(seq 1 6000); do [ -d "$second" ] && break; sleep 0.01; done
sleep 0.5
kill -9 $bg 2>/dev/null
wait $bg 2>/dev/null
bg=
if [ -d "$second" ] && [ "$(rows "$K/results.tsv")" -eq 1 ]; then
  pass "killed during cell 1: results.tsv has cell 0 only"
else
  fail "after kill -9: $(rows "$K/results.tsv") rows, second cell started: $([ -d "$second" ] && echo yes || echo no)"
fi
run sweep "$KSW" --out "$K"
[ $rc -eq 0 ] && has '1 cell\(s\) run, 1 already finished' "$TMP/out" && pass "re-run after kill -9 runs the other" || { fail "re-run after kill: exit $rc"; cat "$TMP/out"; tail -3 "$TMP/err"; }
[ "$(cut -f1 "$K/results.tsv" | tail -n +2 | sort -n | uniq | wc -l)" -eq 2 ] && [ "$(rows "$K/results.tsv")" -eq 2 ] \
  && pass "every cell exactly once" || fail "cells after resume: $(cut -f1 "$K/results.tsv" | tr '\n' ' ')"
cmp -s <(metrics "$KFULL/results.tsv") <(metrics "$K/results.tsv") && pass "killed + resumed = uninterrupted (metrics)" || { fail "killed+resumed differs"; diff <(metrics "$KFULL/results.tsv") <(metrics "$K/results.tsv"); }
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

finish

#!/usr/bin/env bash
# train -> eval -> predict on the shipped ZBED2 data, the same seed twice, and an
# interrupted run resumed. A few seconds on two CPU cores (PoCL).
# Run by ctest from the repository root: bash tests/cli_train.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"
in01() { awk -v v="$1" 'BEGIN { exit !(v != "" && v >= 0 && v <= 1) }'; }

DATA=data/ZBED2_400_h3k27ac.h5
RUN=$TMP/run
TRAIN=(train --model yaml/models/baseline.yaml --data "$DATA" --crop 200 --steps 40 --eval-every 20 --batch 32 --seed 3)

# ---- train ---------------------------------------------------------------------------
run "${TRAIN[@]}" --out "$RUN"
[ $rc -eq 0 ] && pass "train exit 0" || { fail "train exit $rc"; cat "$TMP/err"; }
for f in model.yaml config.tsv metrics.tsv best.safetensors last.safetensors curves.svg; do
  [ -s "$RUN/$f" ] && pass "RUN/$f written" || fail "RUN/$f missing"
done
[ -z "$(ls "$RUN" | grep tmp)" ] && pass "no temporary files in RUN/" || fail "temporary files left: $(ls "$RUN")"
[ "$(wc -l <"$RUN/metrics.tsv")" -eq 3 ] && pass "metrics.tsv: header + 2 evaluations" || fail "metrics.tsv has $(wc -l <"$RUN/metrics.tsv") lines"
has '^crop_to	200$' "$RUN/config.tsv" && pass "config.tsv records the crop" || fail "config.tsv lacks crop_to 200"

# ---- the same seed twice gives the identical metrics log ------------------------------
run "${TRAIN[@]}" --out "$TMP/run2"
cmp -s "$RUN/metrics.tsv" "$TMP/run2/metrics.tsv" && pass "same seed: identical metrics.tsv" || { fail "same seed: metrics.tsv differ"; diff "$RUN/metrics.tsv" "$TMP/run2/metrics.tsv"; }

# ---- eval ----------------------------------------------------------------------------
# No --crop: eval takes it from RUN/config.tsv, seeing the data as training did.
run eval --run "$RUN" --data "$DATA" --json
cp "$TMP/out" "$TMP/eval.json"
[ $rc -eq 0 ] && pass "eval --json exit 0" || { fail "eval --json exit $rc"; cat "$TMP/err"; }
for k in loss accuracy auroc aupr n positives; do
  has "\"$k\": " "$TMP/eval.json" && pass "eval json has \"$k\"" || fail "eval json lacks \"$k\""
done
has '"split": "test"' "$TMP/eval.json" && pass "default split is test" || fail "default split not test"
[ "$(json_num n "$TMP/eval.json")" = 981 ] && pass "981 test sequences" || fail "n = $(json_num n "$TMP/eval.json")"
for k in accuracy auroc aupr; do
  v=$(grep -o "\"mean\": {.*" "$TMP/eval.json" | grep -o "\"$k\": [-0-9.e]*" | sed 's/.*: //')
  in01 "$v" && pass "mean $k $v in [0,1]" || fail "mean $k '$v'"
done

# eval of the best checkpoint on the valid split reproduces the training log's best row.
run eval --run "$RUN" --data "$DATA" --split valid --which best --json
best=$(awk -F'\t' 'NR > 1 && (b == "" || $7 > b) { b = $7 } END { print b }' "$RUN/metrics.tsv")
got=$(json_num auroc "$TMP/out")
[ $rc -eq 0 ] && [ "$got" = "$best" ] && pass "eval valid auroc $got = metrics.tsv best $best" || fail "eval valid auroc '$got' vs metrics.tsv best '$best'"

run eval --run "$RUN" --data "$DATA" --which last --batch 7
[ $rc -eq 0 ] && has '^mean ' "$TMP/out" && has '^label ' "$TMP/out" && pass "eval table (last checkpoint, batch 7)" || fail "eval table exit $rc"

run eval --run "$RUN" --data "$DATA" --crop 0
[ $rc -eq 1 ] && has 'length 400 .*length 200' "$TMP/err" && pass "eval with the wrong length: clear error" || fail "eval --crop 0: exit $rc"
run eval --run "$TMP/nowhere" --data "$DATA"
[ $rc -eq 1 ] && has 'nowhere/best\.safetensors' "$TMP/err" && pass "eval of a missing run names the checkpoint" || fail "missing run: exit $rc"

# ---- predict ---------------------------------------------------------------------------
run predict --run "$RUN" --data "$DATA" --split test
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 982 ] && pass "predict --split test: 981 rows + header" || fail "predict: exit $rc, $(wc -l <"$TMP/out") lines"
[ "$(head -1 "$TMP/out")" = "$(printf 'id\tlabel')" ] && pass "predict header" || fail "predict header '$(head -1 "$TMP/out")'"
awk -F'\t' 'NR > 1 && !($2 >= 0 && $2 <= 1) { bad = 1 } END { exit bad }' "$TMP/out" && pass "probabilities in [0,1]" || fail "probabilities out of range"

run predict --run "$RUN" --data "$DATA" --out "$TMP/all.tsv"
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/all.tsv")" -eq 4903 ] && [ ! -e "$TMP/all.tsv.tmp" ] && pass "predict --out: all 4902 sequences, no .tmp" || fail "predict --out: exit $rc"

# ---- interrupt and resume ---------------------------------------------------------------
# Interrupt a run as soon as its first checkpoint exists, resume it, and compare with the
# same run uninterrupted: every column but train_loss must agree (see below).
R=$TMP/resumed
LONG=(train --model yaml/models/fewer_conv_channels.yaml --data "$DATA" --crop 200 --steps 400 --eval-every 20 --batch 32 --seed 5)
"$DNACL" "${LONG[@]}" --out "$R" >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 1 600); do [ -f "$R/last.safetensors" ] && break; sleep 0.05; done
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -eq 0 ]; then
  echo "SKIP interrupt: training finished before the signal (a fast device)"
else
  [ $rc -eq 130 ] && has 'interrupted at step [0-9]+.*--resume' "$TMP/err" && pass "Ctrl-C: exit 130, says how to resume" || { fail "interrupt: exit $rc"; cat "$TMP/err"; }
  [ -z "$(ls "$R" | grep tmp)" ] && pass "interrupted run left no temporary files" || fail "temporary files after interrupt: $(ls "$R")"
  run eval --run "$R" --data "$DATA" --which last
  [ $rc -eq 0 ] && pass "interrupted run's last checkpoint is readable" || fail "eval of the interrupted checkpoint: exit $rc"
  run "${LONG[@]}" --out "$R" --resume
  [ $rc -eq 0 ] && has 'resuming .* at step' "$TMP/err" && pass "--resume finishes" || { fail "--resume exit $rc"; cat "$TMP/err"; }
  [ "$(tail -1 "$R/metrics.tsv" | cut -f1)" = 400 ] && pass "resumed run reached step 400" || fail "last step $(tail -1 "$R/metrics.tsv" | cut -f1)"
  steps=$(cut -f1 "$R/metrics.tsv" | tail -n +2)
  [ "$steps" = "$(seq 20 20 400)" ] && pass "metrics.tsv steps 20..400, each once" || fail "metrics.tsv steps: $(echo $steps)"
  run "${LONG[@]}" --out "$TMP/uninterrupted"
  # The checkpoint carries the running train-loss sum too, so the whole log must agree.
  if cmp -s "$R/metrics.tsv" "$TMP/uninterrupted/metrics.tsv"; then
    pass "resumed run's metrics.tsv equals the uninterrupted run's"
  else
    fail "resumed vs uninterrupted metrics differ"; diff "$R/metrics.tsv" "$TMP/uninterrupted/metrics.tsv"
  fi
  run "${LONG[@]}" --out "$R" --resume --lr 0.01
  [ $rc -eq 1 ] && has "setting 'lr' differs" "$TMP/err" && pass "--resume with another --lr: refused by name" || { fail "resume with changed lr: exit $rc"; cat "$TMP/err"; }
fi
run train --model yaml/models/baseline.yaml --data "$DATA" --crop 200 --out "$TMP/never" --resume
[ $rc -eq 1 ] && [ ! -e "$TMP/never" ] && pass "--resume without a run: error, nothing created" || fail "--resume of nothing: exit $rc"

finish

#!/usr/bin/env bash
# The bad inputs of the issue, each through `dnacl train` (and the data ones through eval
# and predict): a clear message naming the file (and line/record/position where there is
# one), a non-zero exit, and nothing written: RUN/ is not created, predict --out leaves
# neither the file nor its .tmp.
# Run by ctest from the repository root: bash tests/cli_bad_inputs.sh /path/to/dnacl
#
# tests/data/no_y_train.h5 (X_train without Y_train; complete valid/test splits) was
# written with /usr/bin/python3 and h5py:
#   eye = np.eye(4, dtype=np.float32); oh = lambda s: eye[['ACGT'.index(c) for c in s]].T
#   f['X_train'] = np.stack([oh('ACGTACGTAC'), oh('GGGGCCCCAA')])
#   f['X_valid'] = np.stack([oh('TTTTACGTAC')]); f['Y_valid'] = [[1]] (float32)
#   f['X_test'] = np.stack([oh('CCCCACGTAC')]);  f['Y_test'] = [[0]] (float32)
set -u
source "$(dirname "$0")/harness.sh"

MODEL=yaml/models/baseline.yaml
DATA=data/ZBED2_400_h3k27ac.h5

# A FASTA of 200 bp records with an IUPAC 'R' at position 57 of record 2 (line 5).
awk 'BEGIN { srand(7); for (r = 1; r <= 3; r++) { printf ">r%d %d\n", r, r % 2; s = "";
       for (i = 1; i <= 200; i++) { c = substr("ACGT", int(rand() * 4) + 1, 1); if (r == 2 && i == 57) c = "R"; s = s c }
       print substr(s, 1, 100); print substr(s, 101) } }' >"$TMP/stray.fa"
: >"$TMP/empty.fa"

# bad_train NAME PATTERN ARGS...: dnacl train ARGS --out RUN fails with PATTERN in its
# message, exit 1, and RUN does not exist afterwards.
bad_train() {
  local name=$1 pat=$2
  shift 2
  local out="$TMP/run_$name"
  run train "$@" --out "$out" --steps 2
  if [ $rc -eq 1 ] && has "$pat" "$TMP/err" && [ ! -e "$out" ]; then
    pass "train: $name -> exit 1, no RUN/: $(head -1 "$TMP/err")"
  else
    fail "train: $name: exit $rc, RUN/ $([ -e "$out" ] && echo exists || echo absent), message:"; cat "$TMP/err"
  fi
}

bad_train "malformed YAML" '^dnacl train: tests/data/yaml/bad_syntax\.yaml:7:10: YAML syntax error' \
  --model tests/data/yaml/bad_syntax.yaml --data "$DATA" --crop 200
has '^ +\^$' "$TMP/err" && pass "malformed YAML: caret under the column" || fail "malformed YAML: no caret line"
bad_train "unknown layer" "tests/data/yaml/bad_unknown_layer\.yaml:6:5: unknown layer kind 'conv2d'" \
  --model tests/data/yaml/bad_unknown_layer.yaml --data "$DATA" --crop 200
bad_train "empty YAML" 'tests/data/yaml/bad_empty\.yaml:1:1: the file is empty' \
  --model tests/data/yaml/bad_empty.yaml --data "$DATA" --crop 200
bad_train "FASTA stray character" "stray\.fa:5: record 2 \(r2\), position 57: invalid character 'R'" \
  --model "$MODEL" --data "$TMP/stray.fa" --valid "$TMP/stray.fa"
bad_train "HDF5 without Y_train" "tests/data/no_y_train\.h5: no dataset 'Y_train'" \
  --model "$MODEL" --data tests/data/no_y_train.h5
bad_train "empty CSV" 'tests/data/empty\.csv: the file is empty' --model "$MODEL" --data tests/data/empty.csv
bad_train "empty FASTA" 'empty\.fa: the file is empty' --model "$MODEL" --data "$TMP/empty.fa" --valid "$TMP/empty.fa"
bad_train "missing data file" 'nowhere\.h5' --model "$MODEL" --data "$TMP/nowhere.h5"
bad_train "wrong length" 'length 400 .*length 200.*--crop' --model "$MODEL" --data "$DATA"

# The same data through eval and predict, with the golden checkpoint as the run (no
# config.tsv there: the loader's defaults apply).
RUNARGS=(--run tests/golden --which checkpoint_fewer_conv_channels)
for spec in "stray.fa|$TMP/stray.fa|position 57: invalid character 'R'" \
            "empty.fa|$TMP/empty.fa|the file is empty" \
            "empty.csv|tests/data/empty.csv|the file is empty"; do
  IFS='|' read -r name path pat <<<"$spec"
  run eval "${RUNARGS[@]}" --data "$path"
  [ $rc -eq 1 ] && has "$pat" "$TMP/err" && pass "eval: $name -> exit 1" || { fail "eval: $name: exit $rc"; cat "$TMP/err"; }
  run predict "${RUNARGS[@]}" --data "$path" --out "$TMP/p.tsv"
  if [ $rc -eq 1 ] && has "$pat" "$TMP/err" && [ ! -e "$TMP/p.tsv" ] && [ ! -e "$TMP/p.tsv.tmp" ]; then
    pass "predict: $name -> exit 1, no output file"
  else fail "predict: $name: exit $rc"; cat "$TMP/err"; fi
done
run eval "${RUNARGS[@]}" --data tests/data/no_y_train.h5 --split train
[ $rc -eq 1 ] && has "no dataset 'Y_train'" "$TMP/err" && pass "eval: HDF5 without Y_train -> exit 1" || { fail "eval no Y_train: exit $rc"; cat "$TMP/err"; }
run eval "${RUNARGS[@]}" --data "$TMP/stray.fa" --split test
[ $rc -eq 1 ] && has "has no 'test' split" "$TMP/err" && pass "eval: --split of a file without splits -> exit 1" || fail "eval --split test on FASTA: exit $rc"
run eval "${RUNARGS[@]}" --data "$DATA" --which ../../etc/passwd
[ $rc -eq 2 ] && pass "--which with a path refused" || fail "--which ../..: exit $rc"
run eval --run tests/golden --data "$DATA"
[ $rc -eq 1 ] && has 'best\.safetensors' "$TMP/err" && pass "eval of a directory without best.safetensors names it" || fail "no best: exit $rc"

# Usage errors exit 2.
run eval --data "$DATA"
[ $rc -eq 2 ] && pass "eval without --run: exit 2" || fail "eval without --run: exit $rc"
run predict "${RUNARGS[@]}" --data "$DATA" --batch 0
[ $rc -eq 2 ] && pass "predict --batch 0: exit 2" || fail "predict --batch 0: exit $rc"
run eval "${RUNARGS[@]}" --data "$DATA" --frobnicate
[ $rc -eq 2 ] && pass "eval unknown option: exit 2" || fail "eval unknown option: exit $rc"

finish

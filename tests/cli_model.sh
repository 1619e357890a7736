#!/usr/bin/env bash
# dnacl model show: every shipped model file builds; the chapter's baseline has the layer
# shapes and the PyTorch/Flax parameter shapes of the issue; --length rebuilds for another
# input length; model file errors are file:line:col with the line and a caret, exit 1.
# Run by ctest from the repository root: bash tests/cli_model.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"

# Every shipped model builds and prints a total.
for f in yaml/models/*.yaml; do
  run model show "$f"
  if [ $rc -eq 0 ] && has '^total [0-9,]+ parameters' "$TMP/out"; then pass "model show $f"
  else fail "model show $f (exit $rc)"; cat "$TMP/err"; fi
done

# The chapter's model: output shapes (channels, length) without the batch, and each
# weight as dnacl/PyTorch store it next to Flax's (K, Cin, Cout) / (In, Out).
run model show yaml/models/baseline.yaml
cp "$TMP/out" "$TMP/baseline.txt"
[ $rc -eq 0 ] && pass "baseline exit 0" || fail "baseline exit $rc"
for pat in \
  'conv1\.w +\(64,4,10\) +\(10,4,64\)' \
  'conv2\.w +\(64,64,10\) +\(10,64,64\)' \
  'dense1\.w +\(128,3200\) +\(3200,128\)' \
  'dense2\.w +\(64,128\) +\(128,64\)' \
  'dense3\.w +\(1,64\) +\(64,1\)' \
  '^1 +conv1 +conv1d +\(64,200\) +2,624 ' \
  ' pool1 +maxpool +\(64,100\) ' \
  ' pool2 +maxpool +\(64,50\) ' \
  ' flatten1 +flatten +\(3200\) ' \
  ' dense1 +dense +\(128\) +409,728 ' \
  'bn1\.rmean \*' \
  '^total 462,209 parameters: 461,953 trainable, 256 non-trainable'; do
  has "$pat" "$TMP/baseline.txt" && pass "baseline: /$pat/" || fail "baseline lacks /$pat/"
done

# --length changes every downstream shape, the dense input width included.
run model show yaml/models/baseline.yaml --length 400
if [ $rc -eq 0 ] && has 'flatten1 +flatten +\(6400\)' "$TMP/out" && has 'dense1\.w +\(128,6400\) +\(6400,128\)' "$TMP/out"
then pass "--length 400"; else fail "--length 400 (exit $rc)"; fi

# A length too short for a valid convolution: the builder's error at the layer's line.
run model show yaml/models/cnn_deep.yaml --length 20
if [ $rc -eq 1 ] && has '^yaml/models/cnn_deep\.yaml:[0-9]+:[0-9]+: ' "$TMP/err" && has '^ *\^$' "$TMP/err"
then pass "impossible shape -> file:line:col + caret, exit 1"; else fail "impossible shape (exit $rc)"; cat "$TMP/err"; fi

# Bad model files: the parser's message as is.
for f in bad_unknown_layer bad_syntax bad_unknown_key bad_wrong_type bad_missing_length; do
  run model show "tests/data/yaml/$f.yaml"
  if [ $rc -eq 1 ] && has "^tests/data/yaml/$f\.yaml:[0-9]+:[0-9]+: " "$TMP/err" && has '^ *\^$' "$TMP/err"
  then pass "$f -> file:line:col + caret, exit 1"; else fail "$f (exit $rc)"; cat "$TMP/err"; fi
done
run model show tests/data/yaml/bad_unknown_layer.yaml
has ":6:5: unknown layer kind 'conv2d'" "$TMP/err" && pass "unknown layer named at 6:5" || fail "unknown layer message"

run model show "$TMP/missing.yaml"
[ $rc -eq 1 ] && has 'missing\.yaml' "$TMP/err" && pass "missing file, exit 1" || fail "missing file (exit $rc)"
run model show
[ $rc -eq 2 ] && pass "no file: usage, exit 2" || fail "no file: exit $rc"
run model frobnicate yaml/models/baseline.yaml
[ $rc -eq 2 ] && has "unknown subcommand" "$TMP/err" && pass "unknown subcommand, exit 2" || fail "unknown subcommand: exit $rc"
run model show yaml/models/baseline.yaml --length 0
[ $rc -eq 2 ] && pass "--length 0 refused" || fail "--length 0: exit $rc"

finish

#!/usr/bin/env bash
# dnacl explain end to end on a briefly trained baseline (ZBED2, 200 bp): every method
# writes an (N, 4, L) float32 NPY, a per-position TSV and SVG logos; --top picks the
# highest predictions; seeds make shuffles reproducible; a transformer model is refused
# by name for DeepLIFT/SHAP and leaves no output; bad options fail cleanly.
# Run by ctest from the repository root: bash tests/cli_explain.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"

DATA=data/ZBED2_400_h3k27ac.h5
RUN=$TMP/run
need "train a baseline run" train --model yaml/models/baseline.yaml --data "$DATA" --crop 200 --steps 30 --eval-every 30 --batch 32 --seed 5 --out "$RUN"

# npy_check FILE N L: magic, version 1.0, '<f4', C order, shape (N, 4, L), header padded
# to 64 bytes, and exactly N*4*L*4 data bytes after it.
npy_check() {
  local f=$1 n=$2 l=$3
  [ -f "$f" ] || { fail "$f missing"; return; }
  local magic hlen header size want
  magic=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
  hlen=$(od -An -tu2 -j8 -N2 --endian=little "$f" | tr -d ' ')
  header=$(head -c $((10 + hlen)) "$f" | tail -c "$hlen")
  size=$(stat -c %s "$f")
  want=$((10 + hlen + n * 4 * l * 4))
  [ "$magic" = "934e554d50590100" ] && pass "$(basename "$f"): NPY 1.0 magic" || fail "$(basename "$f"): magic $magic"
  [ $(((10 + hlen) % 64)) -eq 0 ] && pass "$(basename "$f"): header padded to 64 bytes" || fail "$(basename "$f"): header length $hlen"
  case "$header" in
    *"'descr': '<f4', 'fortran_order': False, 'shape': ($n, 4, $l), }"*) pass "$(basename "$f"): <f4, C order, shape ($n, 4, $l)" ;;
    *) fail "$(basename "$f"): header '$header'" ;;
  esac
  [ "$size" -eq "$want" ] && pass "$(basename "$f"): $size bytes = header + data" || fail "$(basename "$f"): $size bytes, want $want"
}

# ---- gradient x input of the 3 best-predicted test sequences, with TSV and logos --------
run explain --run "$RUN" --data "$DATA" --method gradxinput --top 3 --out "$TMP/gxi.npy" --tsv "$TMP/gxi.tsv" --svg "$TMP/svg"
[ $rc -eq 0 ] && pass "gradxinput --top 3 exit 0" || { fail "gradxinput exit $rc"; cat "$TMP/err"; }
npy_check "$TMP/gxi.npy" 3 200
[ "$(wc -l <"$TMP/gxi.tsv")" -eq 601 ] && pass "TSV: header + 3 x 200 rows" || fail "TSV has $(wc -l <"$TMP/gxi.tsv") lines"
[ "$(head -1 "$TMP/gxi.tsv")" = "$(printf 'id\tposition\tbase\tscore')" ] && pass "TSV header" || fail "TSV header '$(head -1 "$TMP/gxi.tsv")'"
awk -F'\t' 'NR > 1 && !($2 >= 0 && $2 < 200 && $3 ~ /^[ACGTN]$/ && $4 + 0 == $4) { bad++ } END { exit bad > 0 }' "$TMP/gxi.tsv" &&
  pass "TSV rows: position 0..199, a base, a number" || fail "malformed TSV rows"
# --top: the ids are the 3 highest test predictions, in decreasing order.
"$DNACL" predict --run "$RUN" --data "$DATA" --split test >"$TMP/pred.tsv" 2>/dev/null
want=$(tail -n +2 "$TMP/pred.tsv" | sort -t$'\t' -k2,2gr | head -3 | cut -f1 | tr '\n' ' ')
got=$(tail -n +2 "$TMP/gxi.tsv" | cut -f1 | uniq | tr '\n' ' ')
[ "$got" = "$want" ] && pass "--top 3 = the 3 highest predictions ($got)" || fail "--top 3 gave '$got', predict says '$want'"
[ "$(ls "$TMP/svg" | grep -c '\.svg$')" -eq 3 ] && pass "3 SVG logos" || fail "SVGs: $(ls "$TMP/svg")"
for f in "$TMP"/svg/*.svg; do
  tail -c 10 "$f" | grep -q '</svg>' || fail "$(basename "$f") not closed"
done
[ -z "$(ls "$TMP" "$TMP/svg" | grep '\.tmp')" ] && pass "no temporary files left" || fail "temporary files left"

# ---- target by name equals target by index ---------------------------------------------
run explain --run "$RUN" --data "$DATA" --method saliency --select 4..6 --target label --out "$TMP/s_name.npy"
run explain --run "$RUN" --data "$DATA" --method saliency --select 4..6 --target 0 --out "$TMP/s_index.npy"
cmp -s "$TMP/s_name.npy" "$TMP/s_index.npy" && pass "--target label = --target 0" || fail "--target by name differs"
npy_check "$TMP/s_index.npy" 3 200

# ---- integrated gradients: completeness reported ---------------------------------------
run explain --run "$RUN" --data "$DATA" --method ig --steps 16 --quadrature gauss --baseline dinuc --select 0..4 --out "$TMP/ig.npy" --tsv "$TMP/ig.tsv"
[ $rc -eq 0 ] && pass "ig exit 0" || { fail "ig exit $rc"; cat "$TMP/err"; }
npy_check "$TMP/ig.npy" 5 200
has 'completeness: worst \|sum\(attribution\) - \(f\(x\) - f\(baseline\)\)\| = ' "$TMP/err" && pass "ig reports completeness" || fail "ig: no completeness line"

# ---- DeepSHAP: seeded, hypothetical contributions --------------------------------------
DS=(explain --run "$RUN" --data "$DATA" --method deepshap --refs 4 --select 10..12)
run "${DS[@]}" --seed 9 --out "$TMP/ds1.npy"
[ $rc -eq 0 ] && pass "deepshap exit 0" || { fail "deepshap exit $rc"; cat "$TMP/err"; }
has 'completeness: worst' "$TMP/err" && pass "deepshap reports completeness" || fail "deepshap: no completeness line"
run "${DS[@]}" --seed 9 --out "$TMP/ds2.npy"
cmp -s "$TMP/ds1.npy" "$TMP/ds2.npy" && pass "deepshap: same seed, same bytes" || fail "deepshap not reproducible"
run "${DS[@]}" --seed 10 --out "$TMP/ds3.npy"
cmp -s "$TMP/ds1.npy" "$TMP/ds3.npy" && fail "deepshap: another seed gave the same references" || pass "deepshap: another seed, other references"
# A sequence's references do not depend on what else is explained with it.
run explain --run "$RUN" --data "$DATA" --method deepshap --refs 4 --select 12 --seed 9 --out "$TMP/ds12.npy"
cmp -s <(tail -c 3200 "$TMP/ds1.npy") <(tail -c 3200 "$TMP/ds12.npy") && pass "deepshap of sequence 12 alone = within 10..12" ||
  fail "deepshap of a sequence depends on the selection"
run "${DS[@]}" --hypothetical --out "$TMP/hyp.npy" --tsv "$TMP/hyp.tsv"
[ $rc -eq 0 ] && pass "deepshap --hypothetical exit 0" || { fail "hypothetical exit $rc"; cat "$TMP/err"; }
npy_check "$TMP/hyp.npy" 3 200

# ---- ISM: NPY and heatmaps -----------------------------------------------------------------
run explain --run "$RUN" --data "$DATA" --method ism --select 0 --out "$TMP/ism.npy" --svg "$TMP/ism"
[ $rc -eq 0 ] && pass "ism exit 0" || { fail "ism exit $rc"; cat "$TMP/err"; }
npy_check "$TMP/ism.npy" 1 200
ls "$TMP/ism" | grep -q 'heatmap\.svg$' && pass "ism heatmap written" || fail "no ISM heatmap: $(ls "$TMP/ism")"

# ---- a transformer model: DeepLIFT and DeepSHAP refused by name, nothing written ---------
TRUN=$TMP/trun
run train --model yaml/models/add_one_transformer_block.yaml --data "$DATA" --crop 200 --steps 2 --eval-every 2 --batch 8 --seed 1 --out "$TRUN"
[ $rc -eq 0 ] && pass "train a transformer run" || { fail "transformer train exit $rc"; cat "$TMP/err"; }
for meth in deeplift deepshap; do
  run explain --run "$TRUN" --data "$DATA" --method $meth --select 0..1 --out "$TMP/t_$meth.npy" --tsv "$TMP/t_$meth.tsv"
  [ $rc -eq 1 ] && pass "$meth on a transformer model: exit 1" || fail "$meth on a transformer model: exit $rc"
  has 'layer tf1 \(transformer\)' "$TMP/err" && has 'no DeepLIFT rule' "$TMP/err" && pass "$meth refusal names layer tf1 (transformer)" ||
    fail "$meth refusal: $(cat "$TMP/err")"
  [ ! -e "$TMP/t_$meth.npy" ] && [ ! -e "$TMP/t_$meth.npy.tmp" ] && [ ! -e "$TMP/t_$meth.tsv" ] && pass "$meth refused: no output files" ||
    fail "$meth refused but left files"
done
run explain --run "$TRUN" --data "$DATA" --method saliency --select 0..1 --out "$TMP/t_sal.npy"
[ $rc -eq 0 ] && pass "saliency on the transformer model works" || { fail "transformer saliency exit $rc"; cat "$TMP/err"; }

# ---- usage errors --------------------------------------------------------------------------
run explain --run "$RUN" --data "$DATA" --method bogus --out "$TMP/x.npy"
[ $rc -eq 2 ] && has "unknown method 'bogus'" "$TMP/err" && pass "unknown method: exit 2" || fail "unknown method: exit $rc"
run explain --run "$RUN" --data "$DATA" --method saliency
[ $rc -eq 2 ] && has 'out F.npy is required' "$TMP/err" && pass "missing --out: exit 2" || fail "missing --out: exit $rc"
run explain --run "$RUN" --data "$DATA" --method saliency --select 5..2 --out "$TMP/x.npy"
[ $rc -ne 0 ] && has 'select' "$TMP/err" && [ ! -e "$TMP/x.npy" ] && pass "--select 5..2 refused" || fail "--select 5..2: exit $rc"
run explain --run "$RUN" --data "$DATA" --method saliency --select 0..5000 --out "$TMP/x.npy"
[ $rc -ne 0 ] && has 'has 981 sequences' "$TMP/err" && pass "--select past the end refused" || fail "--select past the end: exit $rc $(cat "$TMP/err")"
run explain --run "$RUN" --data "$DATA" --method ism --correct --out "$TMP/x.npy"
[ $rc -eq 2 ] && pass "--correct with ism refused" || fail "--correct with ism: exit $rc"
run explain --run "$RUN" --data "$DATA" --method saliency --target 3 --out "$TMP/x.npy"
[ $rc -ne 0 ] && has 'has 1 output' "$TMP/err" && pass "--target out of range refused" || fail "--target 3: exit $rc"

finish

#!/usr/bin/env bash
# dnacl score end to end: a small koo-task3 file (600 sequences), CNN-dist trained 40 steps,
# then the JSON (keys, value ranges, all four methods ran, the counts add up), the TSV (the
# same numbers: every seed is fixed), method selection by list, a transformer model whose
# DeepSHAP is refused by name while saliency runs, and usage errors (unknown method, a
# method twice, --split all, a missing database) that stop before any model runs.
# About 30 s on 2 cores. Run by ctest from the repository root: bash tests/cli_score.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"
# in_range V LO HI: V is a number with LO <= V <= HI
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v + 0 == v && v >= lo && v <= hi) }'; }
# method_num METHOD KEY FILE: KEY's number inside the JSON object of METHOD (one line each)
method_num() { grep -o "\"$1\": {[^}]*}" "$3" | grep -o "\"$2\": [-0-9.e]*" | head -1 | sed 's/.*: //'; }
# section_num SECTION KEY FILE: the first KEY number after "SECTION": in FILE
section_num() { sed -n "/\"$1\": {/,\$p" "$3" | grep -o "\"$2\": [-0-9.e]*" | head -1 | sed 's/.*: //'; }

need "simulate a small koo-task3 file" simulate --task koo-task3 --n 600 --seed 2 --out "$TMP/t3.h5"
need "train CNN-dist on it" train --model yaml/models/cnn_dist.yaml --data "$TMP/t3.h5" --out "$TMP/run" --steps 40 --batch 32 --seed 1

# ---- JSON ------------------------------------------------------------------------------------
run score --run "$TMP/run" --data "$TMP/t3.h5" --n 12 --json
cp "$TMP/out" "$TMP/score.json"
cp "$TMP/err" "$TMP/score.err"
[ $rc -eq 0 ] && pass "score --json: exit 0" || { fail "score --json: exit $rc"; cat "$TMP/err"; }
if command -v python3 >/dev/null 2>&1; then
  python3 -m json.tool "$TMP/score.json" >/dev/null 2>&1 && pass "valid JSON" || fail "invalid JSON: $(cat "$TMP/score.json")"
fi
for k in run model data split classification tasks mean filter_match database evalue_threshold filters with_sites \
  truth planted truth_any_hit any per_filter attribution target considered scored skipped_no_mask skipped_all_mask methods; do
  has "\"$k\": " "$TMP/score.json" || fail "JSON lacks \"$k\""
done
pass "JSON keys present"
has '"split": "test"' "$TMP/score.json" && pass "default split test" || fail "split not test"
has '"model": "cnn_dist"' "$TMP/score.json" && pass "model named" || fail "model not named"
# Classification: mean AUROC/AUPR of the one task.
for k in auroc aupr; do
  v=$(grep -o "\"mean\": {[^}]*}" "$TMP/score.json" | grep -o "\"$k\": [-0-9.e]*" | sed 's/.*: //')
  in_range "$v" 0 1 && pass "classification mean $k = $v in [0, 1]" || fail "classification mean $k = '$v'"
done
# Filter match: 24 first-layer filters of CNN-dist, fractions in [0, 1], truth <= any.
[ "$(section_num filter_match filters "$TMP/score.json")" = 24 ] && pass "24 filters" || fail "filters: $(section_num filter_match filters "$TMP/score.json")"
ft=$(section_num filter_match truth "$TMP/score.json")
fa=$(section_num filter_match any "$TMP/score.json")
in_range "$ft" 0 1 && in_range "$fa" 0 1 && awk -v a="$ft" -v b="$fa" 'BEGIN { exit !(a <= b) }' \
  && pass "filter match truth $ft <= any $fa, both in [0, 1]" || fail "filter match truth '$ft' any '$fa'"
[ "$(section_num filter_match truth_in_db "$TMP/score.json")" = 5 ] && pass "the 5 pool motifs are in the database" || fail "truth_in_db"
n_rows=$(grep -o '"filter": [0-9]*' "$TMP/score.json" | wc -l)
[ "$n_rows" -eq 24 ] && pass "per_filter: 24 rows" || fail "per_filter rows: $n_rows"
# Attribution: 12 positives considered; scored + skipped = considered; every method ran.
cons=$(section_num attribution considered "$TMP/score.json")
sc=$(section_num attribution scored "$TMP/score.json")
s1=$(section_num attribution skipped_no_mask "$TMP/score.json")
s2=$(section_num attribution skipped_all_mask "$TMP/score.json")
[ "$cons" = 12 ] && [ $((sc + s1 + s2)) -eq "$cons" ] && [ "$sc" -gt 0 ] \
  && pass "attribution: $sc scored of $cons considered" || fail "attribution counts: $cons $sc $s1 $s2"
for m in saliency ism ig deepshap; do
  obj=$(grep -o "\"$m\": {[^}]*}" "$TMP/score.json")
  echo "$obj" | grep -q '"status": "ok"' || { fail "$m did not run: $obj"; continue; }
  a=$(method_num "$m" auroc "$TMP/score.json")
  p=$(method_num "$m" aupr "$TMP/score.json")
  n=$(method_num "$m" n "$TMP/score.json")
  in_range "$a" 0 1 && in_range "$p" 0 1 && [ "$n" = "$sc" ] && pass "$m ran: AUROC $a, AUPR $p on $n sequences" \
    || fail "$m: auroc '$a' aupr '$p' n '$n'"
done
for m in ig deepshap; do
  d=$(method_num "$m" worst_delta "$TMP/score.json")
  in_range "$d" 0 1e9 && pass "$m reports its completeness error ($d)" || fail "$m worst_delta '$d'"
done
has 'score: saliency +AUROC' "$TMP/score.err" && pass "progress on standard error" || fail "no progress lines: $(cat "$TMP/score.err")"

# ---- TSV: the same numbers (every seed is fixed) -------------------------------------------
run score --run "$TMP/run" --data "$TMP/t3.h5" --n 12 --method saliency,deepshap
[ $rc -eq 0 ] && pass "score (TSV) exit 0" || { fail "score TSV: exit $rc"; cat "$TMP/err"; }
head -1 "$TMP/out" | grep -q $'^section\tname\tmetric\tvalue$' && pass "TSV header" || fail "TSV header: $(head -1 "$TMP/out")"
for m in saliency deepshap; do
  t=$(awk -F'\t' -v m="$m" '$1 == "attribution" && $2 == m && $3 == "auroc" { print $4 }' "$TMP/out")
  j=$(method_num "$m" auroc "$TMP/score.json")
  [ -n "$t" ] && [ "$t" = "$j" ] && pass "$m AUROC identical in TSV and JSON ($t)" || fail "$m AUROC TSV '$t' JSON '$j'"
done
awk -F'\t' '$1 == "attribution" && ($2 == "ism" || $2 == "ig")' "$TMP/out" | grep -q . \
  && fail "--method saliency,deepshap also printed ism/ig" || pass "only the methods asked for"
awk -F'\t' '$1 == "filter_match" && $3 == "truth"' "$TMP/out" | grep -q . && pass "TSV has the filter match" || fail "TSV lacks filter_match truth"

# ---- a transformer: DeepSHAP refused by name, saliency runs ---------------------------------
run train --model yaml/models/add_one_transformer_block.yaml --data "$TMP/t3.h5" --out "$TMP/tf" --steps 3 --batch 16 --seed 1
[ $rc -eq 0 ] || { fail "train transformer: exit $rc"; cat "$TMP/err"; }
run score --run "$TMP/tf" --data "$TMP/t3.h5" --n 4 --method deepshap --method saliency --json
[ $rc -eq 0 ] && pass "transformer: exit 0 with a refused method" || { fail "transformer: exit $rc"; cat "$TMP/err"; }
obj=$(grep -o '"deepshap": {[^}]*}' "$TMP/out")
echo "$obj" | grep -q '"status": "refused"' && echo "$obj" | grep -q 'transformer' \
  && pass "deepshap refused, naming the transformer layer" || fail "deepshap not refused by name: $obj"
grep -o '"saliency": {[^}]*}' "$TMP/out" | grep -q '"status": "ok"' && pass "saliency ran on the transformer" || fail "saliency on the transformer"
has 'deepshap refused' "$TMP/err" && pass "the refusal is on standard error too" || fail "refusal not reported on stderr"

# ---- usage errors: before any model runs ------------------------------------------------------
run score --run "$TMP/run" --data "$TMP/t3.h5" --method shap
[ $rc -eq 2 ] && has "unknown attribution method 'shap'.*deepshap" "$TMP/err" && pass "unknown method: exit 2, names listed" || { fail "unknown method: exit $rc"; cat "$TMP/err"; }
run score --run "$TMP/run" --data "$TMP/t3.h5" --method ism,ig --method ism
[ $rc -eq 2 ] && has "'ism' is given twice" "$TMP/err" && pass "a method twice: exit 2" || { fail "method twice: exit $rc"; cat "$TMP/err"; }
run score --run "$TMP/run" --data "$TMP/t3.h5" --split all
[ $rc -eq 2 ] && has 'one split' "$TMP/err" && pass "--split all: exit 2" || { fail "--split all: exit $rc"; cat "$TMP/err"; }
run score --run "$TMP/run" --data "$TMP/t3.h5" --db "$TMP/none.meme"
[ $rc -eq 1 ] && has 'none\.meme' "$TMP/err" && pass "missing database named" || { fail "missing db: exit $rc"; cat "$TMP/err"; }
run score --run "$TMP/run" --data "$TMP/t3.h5" --n 0
[ $rc -eq 2 ] && pass "--n 0: exit 2" || fail "--n 0: exit $rc"

finish

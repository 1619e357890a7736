#!/usr/bin/env bash
# The text formats end to end with a tiny model: train on a CSV made here (a planted
# GATA motif decides the label; train/valid/test in a subset column), eval, predict on
# the CSV and on an unlabelled FASTA, and the N encoding taken from RUN/config.tsv.
# About a second. Run by ctest from the repository root: bash tests/cli_small.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"

# 400 random 24-mers; half get GATA at a random place (label 1). Rows 1-280 train,
# 281-340 valid, 341-400 test; every 7th row has an N.
awk 'BEGIN { srand(11); print "sequence,label,subset";
  for (r = 1; r <= 400; r++) { s = "";
    for (i = 1; i <= 24; i++) s = s substr("ACGT", int(rand() * 4) + 1, 1);
    gsub(/GATA/, "GAAA", s);
    y = r % 2; if (y) { p = int(rand() * 21); s = substr(s, 1, p) "GATA" substr(s, p + 5) }
    if (r % 7 == 0) s = substr(s, 1, 10) "N" substr(s, 12);
    print s "," y "," (r <= 280 ? "train" : r <= 340 ? "valid" : "test") } }' >"$TMP/motif.csv"
cat >"$TMP/tiny.yaml" <<'EOF'
name: tiny
length: 24
tasks: 1
layers:
  - conv1d: {filters: 8, kernel: 5}
  - activation: relu
  - maxpool: 4
  - flatten
  - dense: 1
EOF
# Unlabelled FASTA (predict does not need labels); r2 and r4 have Ns.
cat >"$TMP/new.fa" <<'EOF'
>r1 first
ACGTGATAACGTACGTACGTACGT
>r2
NNNNACGTACGTACGTACGTACGT
>r3 third one
TTTTTTTTTTGATATTTTTTTTTT
>r4
ACGTACGTACNNACGTACGTACGT
>r5
CCCCCCCCCCCCCCCCCCCCCCCC
EOF

RUN=$TMP/run
run train --model "$TMP/tiny.yaml" --data "$TMP/motif.csv" --out "$RUN" --steps 120 --batch 16 --eval-every 40 \
  --lr 0.01 --n-value 1 --seed 2
[ $rc -eq 0 ] && pass "train on CSV" || { fail "train on CSV: exit $rc"; cat "$TMP/err"; }
[ "$(wc -l <"$RUN/metrics.tsv")" -eq 4 ] && pass "3 evaluations logged" || fail "metrics.tsv: $(wc -l <"$RUN/metrics.tsv") lines"
has '^n_value	1$' "$RUN/config.tsv" && pass "config.tsv records n_value 1" || fail "config.tsv n_value"

run eval --run "$RUN" --data "$TMP/motif.csv" --json
auroc=$(grep -o '"mean": {.*' "$TMP/out" | grep -o '"auroc": [0-9.]*' | sed 's/.*: //')
[ $rc -eq 0 ] && [ "$(json_num n "$TMP/out")" = 60 ] && has '"split": "test"' "$TMP/out" && pass "eval: the CSV's 60 test rows" || { fail "eval CSV: exit $rc"; cat "$TMP/out" "$TMP/err"; }
# The motif decides the label, so even 120 small steps find it (test AUROC 0.83-0.93 over
# eight awk seeds; 0.7 leaves room for another awk's random numbers).
awk -v v="$auroc" 'BEGIN { exit !(v > 0.7) }' && pass "test AUROC $auroc > 0.7 (the motif is learnt)" || fail "test AUROC '$auroc'"
run eval --run "$RUN" --data "$TMP/motif.csv" --split all
[ $rc -eq 0 ] && has '^label +400 +200 ' "$TMP/out" && pass "eval --split all: 400 rows, 200 positive" || { fail "eval --split all: exit $rc"; cat "$TMP/out"; }

run predict --run "$RUN" --data "$TMP/motif.csv" --split test
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 61 ] && [ "$(sed -n 2p "$TMP/out" | cut -f1)" = row341 ] && pass "predict CSV test split: 60 rows + header, ids rowN" || fail "predict CSV: exit $rc, $(wc -l <"$TMP/out") lines"

run predict --run "$RUN" --data "$TMP/new.fa" --out "$TMP/new.tsv"
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/new.tsv")" -eq 6 ] && pass "predict unlabelled FASTA: 5 rows + header" || { fail "predict FASTA: exit $rc"; cat "$TMP/err"; }
[ "$(head -1 "$TMP/new.tsv")" = "$(printf 'id\tprob')" ] && pass "unlabelled header id<TAB>prob" || fail "header '$(head -1 "$TMP/new.tsv")'"
[ "$(cut -f1 "$TMP/new.tsv" | tail -n +2 | tr '\n' ' ')" = "r1 r2 r3 r4 r5 " ] && pass "FASTA ids in order" || fail "ids: $(cut -f1 "$TMP/new.tsv" | tr '\n' ' ')"
# GATA sequences (r1, r3) above the plain ones (r5).
awk -F'\t' '{ p[$1] = $2 } END { exit !(p["r1"] > p["r5"] && p["r3"] > p["r5"]) }' "$TMP/new.tsv" && pass "GATA sequences score higher" || { fail "GATA not ranked higher"; cat "$TMP/new.tsv"; }

# N is encoded as training encoded it (n_value 1 from config.tsv) unless told otherwise.
run predict --run "$RUN" --data "$TMP/new.fa" --n-value 1
cmp -s "$TMP/out" "$TMP/new.tsv" && pass "default N encoding = config.tsv's (--n-value 1)" || fail "default differs from --n-value 1"
run predict --run "$RUN" --data "$TMP/new.fa" --n-value 0.25
cmp -s <(sed -n 3p "$TMP/out") <(sed -n 3p "$TMP/new.tsv") && fail "--n-value 0.25 did not change r2" || pass "--n-value 0.25 changes the record with Ns"
cmp -s <(sed -n 2p "$TMP/out") <(sed -n 2p "$TMP/new.tsv") && pass "... and not the records without" || fail "--n-value changed r1"

# eval needs labels: the unlabelled FASTA is refused with a message naming it.
run eval --run "$RUN" --data "$TMP/new.fa"
[ $rc -eq 1 ] && has 'new\.fa' "$TMP/err" && pass "eval of unlabelled data: exit 1 naming the file" || { fail "eval unlabelled: exit $rc"; cat "$TMP/err"; }

finish

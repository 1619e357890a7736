#!/usr/bin/env bash
# dnacl simulate end to end: small (300-sequence) task-1 and task-3 files, the same seed
# twice, another seed, training the Koo models on them (20 steps of CNN-dist on task 3, 5 of
# CNN-2 on task 1: the files load as they are), and the errors: unknown task or motif name
# (close names listed), a length too short, a missing motif file; a failed run leaves no
# file and no temporary behind and does not touch an existing output.
# A few seconds. Run by ctest from the repository root: bash tests/cli_simulate.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"

run simulate --task koo-task3 --n 300 --seed 5 --out "$TMP/t3.h5"
[ $rc -eq 0 ] && [ -s "$TMP/t3.h5" ] && pass "task 3: 300 sequences" || { fail "task 3: exit $rc"; cat "$TMP/err"; }
has 'train 210, valid 30, test 60; 150 positive' "$TMP/out" && pass "task 3 splits 0.7/0.1/0.2, half positive" || { fail "task 3 summary"; cat "$TMP/out"; }
has 'positive pool: SP1 \(MA0079.3\) Gabpa \(MA0062.2\) CEBPB \(MA0466.2\) MAX \(MA0058.3\) YY1 \(MA0095.2\)' "$TMP/out" \
  && pass "task 3 positive pool" || fail "task 3 pool: $(cat "$TMP/out")"

run simulate --task koo-task1 --n 300 --seed 5 --out "$TMP/t1.h5"
[ $rc -eq 0 ] && has 'train 210, valid 30, test 60' "$TMP/out" && pass "task 1: 300 sequences" || { fail "task 1: exit $rc"; cat "$TMP/out" "$TMP/err"; }
has 'Arid3a \(MA0151.1\).*YY1 \(MA0095.2\)' "$TMP/out" && pass "task 1: the 12 motifs" || fail "task 1 motifs: $(cat "$TMP/out")"
ls "$TMP" | grep -q 'tmp' && fail "temporary files left: $(ls "$TMP")" || pass "no temporary files left"

# Same seed, same data: no writer stamps modification times, so the files are byte-identical.
run simulate --task koo-task3 --n 300 --seed 5 --out "$TMP/t3b.h5"
ndiff=$(cmp -l "$TMP/t3.h5" "$TMP/t3b.h5" 2>/dev/null | wc -l)
[ "$ndiff" -eq 0 ] && pass "same seed: byte-identical files" || fail "same seed: $ndiff bytes differ"
run simulate --task koo-task3 --n 300 --seed 6 --out "$TMP/t3c.h5"
ndiff=$(cmp -l "$TMP/t3.h5" "$TMP/t3c.h5" 2>/dev/null | wc -l)
[ "$ndiff" -gt 1000 ] && pass "another seed, another dataset" || fail "seed 6 vs 5: only $ndiff bytes differ"

run train --model yaml/models/cnn_dist.yaml --data "$TMP/t3.h5" --out "$TMP/run3" --steps 20 --batch 32 --seed 1
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/run3/metrics.tsv")" -ge 2 ] && pass "CNN-dist trains 20 steps on task 3" || { fail "train task 3: exit $rc"; cat "$TMP/err"; }
run train --model yaml/models/cnn_2.yaml --data "$TMP/t1.h5" --out "$TMP/run1" --steps 5 --batch 32 --seed 1
[ $rc -eq 0 ] && pass "CNN-2 trains on task 1's 12 tasks" || { fail "train task 1: exit $rc"; cat "$TMP/err"; }

# Errors: a clear message, a non-zero exit, no file.
run simulate --task koo-task2 --out "$TMP/x.h5"
[ $rc -eq 2 ] && has "unknown task 'koo-task2'" "$TMP/err" && pass "unknown task: exit 2" || { fail "unknown task: exit $rc"; cat "$TMP/err"; }
run simulate --task koo-task1 --n 100 --names SP1,CEBP --out "$TMP/x.h5"
[ $rc -eq 1 ] && has "JASPAR_CORE_2016_vertebrates.meme: no motif named 'CEBP'; close names: CEBPA \(MA0102.3\), CEBPB" "$TMP/err" \
  && pass "unknown motif name: the file and close names" || { fail "unknown name: exit $rc"; cat "$TMP/err"; }
run simulate --task koo-task3 --n 100 --length 25 --out "$TMP/x.h5"
[ $rc -eq 1 ] && has 'length 25 is too short for koo-task3' "$TMP/err" && pass "length too short" || { fail "short: exit $rc"; cat "$TMP/err"; }
run simulate --task koo-task3 --n 100 --motifs "$TMP/none.meme" --out "$TMP/x.h5"
[ $rc -eq 1 ] && has 'none\.meme' "$TMP/err" && pass "missing motif file named" || { fail "missing motifs: exit $rc"; cat "$TMP/err"; }
run simulate --task koo-task3 --n 5 --out "$TMP/x.h5"
[ $rc -eq 2 ] && pass "--n 5: usage error" || fail "--n 5: exit $rc"
run simulate --task koo-task1 --background 10 --out "$TMP/x.h5"
[ $rc -eq 2 ] && has 'koo-task3' "$TMP/err" && pass "--background is task 3's" || fail "--background on task 1: exit $rc"
[ ! -e "$TMP/x.h5" ] && pass "no output after the errors" || fail "x.h5 written"
cp "$TMP/t1.h5" "$TMP/keep.h5"
run simulate --task koo-task1 --n 100 --length 3 --out "$TMP/t1.h5"
[ $rc -eq 1 ] && cmp -s "$TMP/t1.h5" "$TMP/keep.h5" && pass "a failed run leaves the existing file as it was" || fail "existing file changed (exit $rc)"
run simulate --task koo-task1 --n 100 --out "$TMP/no_dir/x.h5"
[ $rc -eq 1 ] && has 'no_dir/x\.h5' "$TMP/err" && pass "unwritable output named" || { fail "no_dir: exit $rc"; cat "$TMP/err"; }
ls "$TMP" | grep -q 'tmp' && fail "temporary files left: $(ls "$TMP")" || pass "no temporary files left after errors"

finish

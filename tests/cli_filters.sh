#!/usr/bin/env bash
# dnacl filters and dnacl gia end to end on a tiny trained run (the baseline, 40 steps on
# ZBED2 cropped to 200 bp): the MEME file, the table, logos, database matches; GIA with
# every background, motifs by consensus, id and name, sampled, a spacing curve, occlusion;
# determinism; bad input refused with a clear message and no output file.
# About 30 seconds on two CPU cores (PoCL).
# Run by ctest from the repository root: bash tests/cli_filters.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"

DATA=data/ZBED2_400_h3k27ac.h5
DB=data/JASPAR_CORE_2016_vertebrates.meme
RUN=$TMP/run
need "train a tiny run" train --model yaml/models/baseline.yaml --data "$DATA" --crop 200 --steps 40 --eval-every 20 --batch 32 --seed 3 --out "$RUN"

# ---- filters -----------------------------------------------------------------------------
run filters --run "$RUN" --data "$DATA" --out "$TMP/f.meme" --compare "$DB" --svg "$TMP/logos"
cp "$TMP/out" "$TMP/f.tsv"
[ $rc -eq 0 ] && pass "filters --compare --svg: exit 0" || { fail "filters exit $rc"; cat "$TMP/err"; }
has 'activation map: output of act1' "$TMP/err" && pass "says which node's output is the map" || fail "no map node named"
has '981 sequences \(split test\)' "$TMP/err" && pass "default split test, all 981 sequences" || fail "split/count: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/f.tsv")" -eq 65 ] && pass "table: header + 64 filters" || fail "table has $(wc -l <"$TMP/f.tsv") lines"
[ "$(head -1 "$TMP/f.tsv")" = "$(printf 'filter\tnsites\tmax_activation\tconsensus\tinformation_bits\tmatch_id\tmatch_name\toffset\tstrand\toverlap\tp_value\tE_value\tq_value')" ] &&
  pass "table header" || fail "header '$(head -1 "$TMP/f.tsv")'"
head -1 "$TMP/f.meme" | grep -q '^MEME version 4$' && has '^ALPHABET= ACGT$' "$TMP/f.meme" && pass "MEME header" || fail "MEME header"
with=$(awk -F'\t' 'NR > 1 && $2 > 0' "$TMP/f.tsv" | wc -l)
motifs=$(grep -c '^MOTIF filter' "$TMP/f.meme")
[ "$with" -eq "$motifs" ] && [ "$motifs" -gt 0 ] && pass "$motifs filters with sites, one MOTIF each" || fail "$with filters with sites, $motifs MOTIFs"
# nsites in the MEME file equal the table's
awk -F'\t' 'NR > 1 && $2 > 0 { print $1, $2 }' "$TMP/f.tsv" >"$TMP/t_sites"
awk '/^MOTIF/ { id = $2 } /letter-probability/ { for (i = 1; i <= NF; i++) if ($i == "nsites=") print id, $(i + 1) }' "$TMP/f.meme" >"$TMP/m_sites"
cmp -s "$TMP/t_sites" "$TMP/m_sites" && pass "nsites agree between table and MEME file" || fail "nsites differ"
# Every matrix row sums to 1 and every filter has the kernel's 10 columns.
awk '/letter-probability/ { w = $6; rows = 0; next } NF == 4 && $1 ~ /^[0-9.]+$/ { s = $1 + $2 + $3 + $4; if (s < 0.9999 || s > 1.0001) bad = 1; rows++ }
     END { exit bad }' "$TMP/f.meme" && pass "matrix rows sum to 1" || fail "a matrix row does not sum to 1"
grep 'letter-probability' "$TMP/f.meme" | grep -vq 'w= 10 ' && fail "a filter motif is not 10 wide" || pass "filter motifs are 10 wide (the kernel)"
awk -F'\t' 'NR > 1 && $2 > 0 && !($11 >= 0 && $11 <= 1 && $12 >= 0 && ($9 == "+" || $9 == "-") && $6 ~ /^MA[0-9]+\.[0-9]+$/) { bad = 1 }
            END { exit bad }' "$TMP/f.tsv" && pass "each filter's best match: JASPAR id, strand, p in [0,1], E >= 0" || fail "bad match columns"
n_svg=$(ls "$TMP/logos" | grep -c '^filter[0-9]*\.svg$')
[ "$n_svg" -eq "$motifs" ] && pass "a logo per written filter ($n_svg)" || fail "$n_svg logos for $motifs filters"
f0=$(ls "$TMP/logos" | head -1)
tail -c 10 "$TMP/logos/$f0" | grep -q '</svg>' && has 'best match MA' "$TMP/logos/$f0" && has 'fill-rule="evenodd"' "$TMP/logos/$f0" &&
  pass "logo: a complete SVG with letter glyphs and its match" || fail "logo $f0 incomplete"
if command -v xmllint >/dev/null; then
  xmllint --noout "$TMP"/logos/*.svg 2>/dev/null && pass "logos are well-formed XML" || fail "xmllint rejects a logo"
fi
ls "$TMP/logos" "$TMP" | grep -q 'tmp$' && fail "temporary files left" || pass "no temporary files"

# Deterministic: the same command twice gives the same files.
run filters --run "$RUN" --data "$DATA" --out "$TMP/f2.meme" --compare "$DB"
cmp -s "$TMP/f.meme" "$TMP/f2.meme" && cmp -s "$TMP/f.tsv" "$TMP/out" && pass "same MEME file and table again" || fail "filters not deterministic"

# Fewer sequences and a higher threshold: fewer sites; no --compare: 5 columns.
run filters --run "$RUN" --data "$DATA" --split valid --n 100 --threshold 0.8 --out "$TMP/f3.meme"
s_all=$(awk -F'\t' 'NR > 1 { s += $2 } END { print s }' "$TMP/f.tsv")
s_few=$(awk -F'\t' 'NR > 1 { s += $2 } END { print s }' "$TMP/out")
[ $rc -eq 0 ] && [ "$s_few" -lt "$s_all" ] && has '100 sequences \(split valid\), threshold 0.8' "$TMP/err" &&
  [ "$(head -1 "$TMP/out" | awk -F'\t' '{ print NF }')" -eq 5 ] && pass "--split valid --n 100 --threshold 0.8: $s_few sites < $s_all" ||
  fail "--n/--threshold: exit $rc, $s_few vs $s_all sites"

# Bad input: clear message, no output file.
printf 'MEME version 4\n\nMOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n0.5 0.5 0.5\n' >"$TMP/bad.meme"
run filters --run "$RUN" --data "$DATA" --out "$TMP/never.meme" --compare "$TMP/bad.meme"
[ $rc -eq 1 ] && has 'bad.meme:6: motif a: row 2' "$TMP/err" && [ ! -e "$TMP/never.meme" ] &&
  pass "a bad database: file:line, exit 1, nothing written" || { fail "bad database: exit $rc"; cat "$TMP/err"; }
run filters --run "$RUN" --data "$DATA"
[ $rc -eq 2 ] && has 'FILE.meme is required' "$TMP/err" && pass "missing --out: usage error" || fail "missing --out: exit $rc"
run filters --run "$RUN" --data "$DATA" --out "$TMP/never.meme" --threshold 1.5
[ $rc -eq 2 ] && has 'threshold' "$TMP/err" && pass "--threshold 1.5 refused" || fail "--threshold 1.5: exit $rc"
run filters --run "$RUN" --data "$DATA" --out "$TMP/never.meme" --bogus
[ $rc -eq 2 ] && has "unknown option.*--bogus" "$TMP/err" && pass "unknown option refused" || fail "--bogus: exit $rc"

# ---- gia -----------------------------------------------------------------------------------
run gia --run "$RUN" --embed GGGCGGG --n 200 --out "$TMP/g.tsv"
[ $rc -eq 0 ] && pass "gia consensus, shuffled without data: exit 0" || { fail "gia exit $rc"; cat "$TMP/err"; }
[ "$(head -1 "$TMP/out")" = "$(printf 'pattern\tstart\tn\tmean_background\tmean_embedded\teffect\tstderr')" ] &&
  pass "gia table header" || fail "gia header '$(head -1 "$TMP/out")'"
cmp -s "$TMP/out" "$TMP/g.tsv" && pass "--out TSV equals the printed table" || fail "--out differs from stdout"
has 'uniform random bases' "$TMP/err" && pass "says the background is uniform without --data" || fail "background not described"
awk -F'\t' 'NR == 2 { d = $5 - $4 - $6; exit !($2 == 96 && $3 == 200 && d < 1e-5 && d > -1e-5 && $7 > 0) }' "$TMP/out" &&
  pass "centred at 96 (200 bp, 7-mer), effect = embedded - background, s.e. > 0" || fail "gia row: $(tail -1 "$TMP/out")"
run gia --run "$RUN" --embed GGGCGGG --n 200
cmp -s "$TMP/out" "$TMP/g.tsv" && pass "same seed: same numbers" || fail "gia not deterministic"
run gia --run "$RUN" --embed GGGCGGG --n 200 --seed 2
cmp -s "$TMP/out" "$TMP/g.tsv" && fail "another seed gave the same numbers" || pass "another seed: other backgrounds"

# An all-N pattern keeps every background: effect exactly 0.
run gia --run "$RUN" --data "$DATA" --background data --embed NNNNNN@10 --n 100
awk -F'\t' 'NR == 2 { exit !($6 == 0 && $7 == 0 && $2 == 10) }' "$TMP/out" && pass "NNNNNN@10 on real sequences: effect 0" ||
  fail "all-N pattern: $(tail -1 "$TMP/out")"

for bg in shuffled profile data; do
  run gia --run "$RUN" --data "$DATA" --background $bg --embed MA0139.1 --meme "$DB" --n 150
  [ $rc -eq 0 ] && has '^MA0139.1 CTCF	90	150	' "$TMP/out" && pass "background $bg, motif by id (CTCF consensus at 90)" ||
    { fail "background $bg: exit $rc"; cat "$TMP/err"; }
done
run gia --run "$RUN" --data "$DATA" --embed CTCF --meme "$DB" --sample --n 150
[ $rc -eq 0 ] && has '^MA0139.1 CTCF \(sampled\)	' "$TMP/out" && pass "motif by name, sampled from its matrix" || fail "--sample: exit $rc"

run gia --run "$RUN" --data "$DATA" --embed GATA@50 --embed2 MA0139.1 --meme "$DB" --spacing 0:4 --n 100 --svg "$TMP/sp.svg" --out "$TMP/sp.tsv"
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/sp.tsv")" -eq 6 ] && pass "pair: 5 spacings + header" || { fail "pair: exit $rc"; cat "$TMP/err"; }
awk -F'\t' 'NR > 1 { if ($3 != NR - 2 || $4 != 50 || $5 != 54 + NR - 2) bad = 1 } END { exit bad }' "$TMP/sp.tsv" &&
  pass "pair rows: spacing 0..4, second start = 50 + 4 + spacing" || fail "pair rows: $(cat "$TMP/sp.tsv")"
has 'alone: GATA at 50' "$TMP/err" && pass "each pattern alone reported" || fail "no single effects"
tail -c 10 "$TMP/sp.svg" | grep -q '</svg>' && has 'spacing' "$TMP/sp.svg" && pass "spacing curve SVG" || fail "spacing SVG"

run gia --run "$RUN" --data "$DATA" --occlude 90:110 --n 200 --out "$TMP/oc.tsv"
[ $rc -eq 0 ] && has '^region	n	mean_original	mean_occluded	drop	stderr$' "$TMP/out" && has '^90:110	200	' "$TMP/out" &&
  pass "occlusion 90:110" || { fail "occlude: exit $rc"; cat "$TMP/err"; }
awk -F'\t' 'NR == 2 { d = $3 - $4 - $5; exit !(d < 1e-5 && d > -1e-5) }' "$TMP/out" && pass "drop = original - occluded" || fail "drop column"

# Bad input.
bad() { # bad EXIT PATTERN ARGS...: the command must fail with that exit code and message
  local want=$1 pat=$2; shift 2
  run "$@"
  [ $rc -eq "$want" ] && has "$pat" "$TMP/err" && pass "refused: ${*:2}" || { fail "not refused ($rc): ${*:2}"; cat "$TMP/err"; }
}
bad 2 'neither a consensus' gia --run "$RUN" --embed NOT_A_TF --meme "$DB" --n 10
bad 2 'not a consensus' gia --run "$RUN" --embed CTCF --n 10
bad 2 'needs --data' gia --run "$RUN" --background profile --embed ACGT --n 10
bad 2 'needs --data' gia --run "$RUN" --occlude 1:5 --n 10
bad 2 'does not fit' gia --run "$RUN" --embed ACGTACGTAC@195 --n 10
bad 2 'either --embed' gia --run "$RUN" --data "$DATA" --embed ACGT --occlude 1:5 --n 10
bad 2 'go together' gia --run "$RUN" --embed ACGT --embed2 ACGT --n 10
bad 2 'not fit' gia --run "$RUN" --embed ACGT --embed2 ACGT --spacing 0:300 --n 10
bad 2 'target 3' gia --run "$RUN" --embed ACGT --target 3 --n 10
bad 2 'not a non-empty region' gia --run "$RUN" --data "$DATA" --occlude 150:250 --n 10
bad 2 'shuffled, profile or data' gia --run "$RUN" --background markov --embed ACGT
bad 1 'bad.meme:6:' gia --run "$RUN" --embed ACGT --meme "$TMP/bad.meme"
bad 1 'nowhere/best.safetensors' gia --run "$TMP/nowhere" --embed ACGT --n 10
[ ! -e "$TMP/never.tsv" ] && pass "no output file after errors" || fail "an output file was left"

finish

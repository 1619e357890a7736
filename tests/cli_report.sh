#!/usr/bin/env bash
# dnacl report on tiny ZBED2 runs: one self-contained HTML page with every section, inline
# SVG and nothing fetched from elsewhere; the same bytes twice; sections that cannot be made
# say why (no data, DeepSHAP on a transformer block); bad input leaves no page behind.
# About 25 s on two CPU cores (PoCL).
# Run by ctest from the repository root: bash tests/cli_report.sh /path/to/dnacl
set -u
source "$(dirname "$0")/harness.sh"
count() { grep -o -- "$1" "$2" | wc -l; }

DATA=data/ZBED2_400_h3k27ac.h5
RUN=$TMP/run
need "train a tiny baseline run" train --model yaml/models/baseline.yaml --data "$DATA" --crop 200 --steps 40 --eval-every 20 --batch 32 --seed 3 --out "$RUN"

# ---- the page -----------------------------------------------------------------------------
# No --data: the data config.tsv names; no --db: the repository's JASPAR file.
run report "$RUN" --top 3
P=$RUN/report.html
[ $rc -eq 0 ] && [ -s "$P" ] && pass "report exit 0, RUN/report.html written" || { fail "report exit $rc"; cat "$TMP/err"; }
[ ! -e "$P.tmp" ] && [ -z "$(ls "$RUN" | grep tmp)" ] && pass "nothing left at .tmp" || fail "temporary file left: $(ls "$RUN")"
has 'report: .*report\.html' "$TMP/err" && pass "the command says where the page is" || fail "no summary line: $(cat "$TMP/err")"

# One HTML document.
[ "$(head -1 "$P")" = "<!DOCTYPE html>" ] && pass "starts with <!DOCTYPE html>" || fail "first line '$(head -1 "$P")'"
[ "$(count '<html' "$P")" -eq 1 ] && [ "$(count '</html>' "$P")" -eq 1 ] && [ "$(tail -1 "$P")" = "</html>" ] &&
  pass "a single <html> element, closed at the end" || fail "html elements: $(count '<html' "$P") open, $(count '</html>' "$P") closed"
[ "$(count '<body' "$P")" -eq 1 ] && [ "$(count '<head>' "$P")" -eq 1 ] && pass "one head, one body" || fail "head/body count"

# Every section, by its heading.
for h in '<h2>1\. Run summary' '<h2>2\. Learning curves' '<h2>3\. Test metrics' '<h2>4\. First-layer filters' \
         '<h2>5\. Attributions of the top-scoring sequences' '<h3>Layers</h3>' '<h3>Training settings</h3>'; do
  has "$h" "$P" && pass "heading $h" || fail "heading $h missing"
done

# Figures are inline SVG, opened and closed in equal numbers, scaled by their viewBox.
nsvg=$(count '<svg' "$P")
[ "$nsvg" -ge 6 ] && [ "$nsvg" -eq "$(count '</svg>' "$P")" ] && pass "$nsvg inline <svg> elements, all closed" || fail "svg: $nsvg open, $(count '</svg>' "$P") closed"
[ "$(count '<svg[^>]*viewBox=' "$P")" -eq "$nsvg" ] && ! has '<svg[^>]* width="[0-9]' "$P" && pass "every SVG has a viewBox and no fixed width" || fail "an SVG without viewBox or with a fixed width"
! has '<\?xml' "$P" && pass "no XML declarations inside the page" || fail "an XML declaration was inlined"
# Clip-path ids are unique across the inlined figures.
dup=$(grep -o 'clipPath id="[^"]*"' "$P" | sort | uniq -d | head -1)
[ -z "$dup" ] && pass "element ids unique across figures" || fail "duplicate id: $dup"

# Self-contained: nothing from the network or from other files, no scripts at all.
for pat in 'src="http' "src='http" 'href="http' "href='http" '<script' '<link' '<iframe' '<img' '@import' 'url\(http'; do
  ! has "$pat" "$P" && pass "no $pat" || fail "external or active content: $pat"
done
! grep -o 'href="[^"]*"' "$P" | grep -vq 'href="#' && pass "links only within the page" || fail "a link out of the page"

# Content.
has 'baseline' "$P" && has 'conv1d' "$P" && has 'dense3' "$P" && pass "layers table names the model's layers" || fail "layers table"
has '>crop_to<' "$P" && has '>200<' "$P" && pass "config.tsv settings shown" || fail "settings table"
has 'Trained on' "$P" && has 'Report computed on' "$P" && pass "devices shown" || fail "devices"
has '981 sequences' "$P" && has 'split test' "$P" && pass "metrics on the test split (981 sequences) by default" || fail "test split not used"
has '>AUROC<' "$P" && has '>AUPR<' "$P" && has 'class="num">0\.[0-9]{4}<' "$P" && pass "metrics table with AUROC, AUPR and numbers" || fail "metrics table"
has 'best match' "$P" && has 'JASPAR_CORE_2016_vertebrates' "$P" && has 'E = ' "$P" && pass "filters matched against JASPAR with p/E" || fail "filter matches"
[ "$(count '<h3 class="seq">' "$P")" -eq 3 ] && pass "--top 3: three explained sequences" || fail "explained: $(count '<h3 class="seq">' "$P")"
has 'explained by <strong>DeepSHAP' "$P" && has 'predicted probability 0\.[0-9]{3}' "$P" && pass "DeepSHAP logos by default, with probabilities" || fail "attribution method/probabilities"
has 'Completeness' "$P" && pass "completeness of DeepSHAP reported" || fail "no completeness line"

# The same run, data and device give the same bytes.
run report "$RUN" --top 3 --out "$TMP/again.html"
[ $rc -eq 0 ] && cmp -s "$P" "$TMP/again.html" && pass "--out: identical page twice" || fail "pages differ (exit $rc)"

# ---- sections that cannot be made say so ---------------------------------------------------
# A transformer block has no DeepLIFT rule: the refusal is in the page, with saliency instead.
TR=$TMP/transformer
run train --model yaml/models/add_one_transformer_block.yaml --data "$DATA" --crop 200 --steps 8 --eval-every 8 --batch 32 --seed 3 --out "$TR"
[ $rc -eq 0 ] && pass "train a tiny transformer run" || { fail "transformer train exit $rc"; cat "$TMP/err"; }
run report "$TR" --method deepshap --top 1 --db none
[ $rc -eq 0 ] && pass "report of a transformer with --method deepshap exits 0" || { fail "exit $rc"; cat "$TMP/err"; }
has 'DeepSHAP is not available for this model' "$TR/report.html" && has 'layer tf1 \(transformer\)' "$TR/report.html" &&
  pass "DeepSHAP refusal in the page, naming the layer" || fail "no refusal text"
has 'Showing saliency' "$TR/report.html" && has 'explained by <strong>Saliency' "$TR/report.html" && pass "saliency shown instead" || fail "no fallback"
has 'switched off \(--db none\)' "$TR/report.html" && pass "--db none said in the page" || fail "--db none not said"
has 'could not be made' "$TMP/err" && pass "the command counts the missing parts" || fail "stderr: $(cat "$TMP/err")"

# No data given and none in config.tsv: the sections that need data say so; the rest is there.
ND=$TMP/nodata
mkdir "$ND" && cp "$RUN/best.safetensors" "$RUN/metrics.tsv" "$ND/" && grep -v '^data	' "$RUN/config.tsv" >"$ND/config.tsv"
run report "$ND"
[ $rc -eq 0 ] && [ "$(count 'No data: none was given' "$ND/report.html")" -eq 3 ] && pass "no data: metrics, filters, attributions say why" || fail "no-data page (exit $rc)"
has '2\. Learning curves' "$ND/report.html" && has 'Redrawn from <code>metrics.tsv' "$ND/report.html" && pass "curves redrawn from metrics.tsv without curves.svg" || fail "curves not redrawn"

# ---- errors leave nothing ----------------------------------------------------------------------
run report "$ND" --data "$TMP/missing.h5"
[ $rc -eq 1 ] && has 'missing\.h5' "$TMP/err" && [ ! -e "$ND/report.html.tmp" ] && pass "explicit missing --data: exit 1 naming it" || fail "missing data: exit $rc"
run report "$RUN" --data "$DATA" --split nosuch --out "$TMP/x.html"
[ $rc -eq 1 ] && has "no 'nosuch' split" "$TMP/err" && [ ! -e "$TMP/x.html" ] && [ ! -e "$TMP/x.html.tmp" ] && pass "unknown split: exit 1, no page" || fail "unknown split: exit $rc"
run report "$RUN" --db "$TMP/nosuch.meme" --out "$TMP/x.html"
[ $rc -eq 1 ] && has 'nosuch\.meme' "$TMP/err" && [ ! -e "$TMP/x.html" ] && pass "missing --db: exit 1, no page" || fail "missing db: exit $rc"
run report "$RUN" --method shap
[ $rc -eq 2 ] && has "unknown method 'shap'" "$TMP/err" && pass "unknown method: usage error" || fail "unknown method: exit $rc"
run report "$TMP/nowhere"
[ $rc -eq 1 ] && has 'nowhere/best\.safetensors' "$TMP/err" && [ ! -e "$TMP/nowhere/report.html" ] && pass "missing run names the checkpoint" || fail "missing run: exit $rc"
run report
[ $rc -eq 2 ] && pass "no run directory: usage error" || fail "no run: exit $rc"

finish

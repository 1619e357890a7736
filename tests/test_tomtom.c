/* TomTom-style motif comparison (src/explain/tomtom.h) against the shipped JASPAR CORE 2016
 * vertebrates database: every motif finds itself (or an exact tie) as its best hit, and its
 * reverse complement on the - strand; a few motifs checked in detail; random matrices get
 * no significant hit; values against tools/tomtom_reference.py, an independent plain-Python
 * implementation. Needs no OpenCL device and no Python. */
#include "harness.h"
#include "explain/tomtom.h"
#include "io/meme.h"

#define JASPAR "data/JASPAR_CORE_2016_vertebrates.meme"

static uint64_t rng_state = 12345;
static double uniform(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return ((z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static int is_palindrome(const dnacl_motif *m) {
  double rc[256];
  dnacl_motif_revcomp(m->p, m->width, rc);
  double d = 0;
  for (int i = 0; i < m->width * 4; i++) d += fabs(rc[i] - m->p[i]);
  return d < 1e-9;
}

/* Values printed by tools/tomtom_reference.py for the two queries below (see there). */
static const double random8[32] = {0.10, 0.40, 0.30, 0.20, 0.35, 0.15, 0.25, 0.25, 0.05, 0.20, 0.45,
                                   0.30, 0.30, 0.30, 0.10, 0.30, 0.25, 0.05, 0.40, 0.30, 0.60, 0.10,
                                   0.10, 0.20, 0.20, 0.20, 0.35, 0.25, 0.15, 0.50, 0.15, 0.20};

static void check_hit(const char *label, const dnacl_motif_set *db, const dnacl_tomtom_hit *h, const char *id, int offset,
                      int strand, int overlap, double p_align, double p, double e, double q) {
  printf("  %-10s %s (%s) offset %d strand %c overlap %d score %.4f p_align %.6e p %.6e E %.6e q %.6e\n", label,
         db->motifs[h->target].id, db->motifs[h->target].name, h->offset, h->strand > 0 ? '+' : '-', h->overlap, h->score,
         h->p_align, h->pvalue, h->evalue, h->qvalue);
  CHECK(!strcmp(db->motifs[h->target].id, id), "%s: best target %s, reference %s", label, db->motifs[h->target].id, id);
  CHECK(h->offset == offset && h->strand == strand && h->overlap == overlap, "%s: alignment %d/%d/%d, reference %d/%d/%d",
        label, h->offset, h->strand, h->overlap, offset, strand, overlap);
  /* The reference prints 7 significant digits. */
  CHECK(fabs(h->p_align - p_align) <= 1e-6 * p_align, "%s: p_align %.7e vs %.7e", label, h->p_align, p_align);
  CHECK(fabs(h->pvalue - p) <= 1e-6 * p, "%s: p %.7e vs %.7e", label, h->pvalue, p);
  CHECK(fabs(h->evalue - e) <= 1e-6 * e, "%s: E %.7e vs %.7e", label, h->evalue, e);
  CHECK(fabs(h->qvalue - q) <= 1e-6 * q, "%s: q %.7e vs %.7e", label, h->qvalue, q);
}

int main(void) {
  dnacl_motif_set db;
  OK(dnacl_meme_load(JASPAR, &db));
  dnacl_tomtom_db *d;
  OK(dnacl_tomtom_db_new(&db, NULL, &d));
  dnacl_tomtom_hit *h = malloc((size_t)db.n * sizeof *h);
  int best;

  /* ---- column score ---------------------------------------------------------------------- */
  const double a[4] = {0.7, 0.1, 0.1, 0.1}, t[4] = {0.1, 0.1, 0.1, 0.7}, u[4] = {0.25, 0.25, 0.25, 0.25};
  CHECK(dnacl_tomtom_column_score(a, a, 100) == 100, "a column against itself: PCC 1 -> 100");
  CHECK(dnacl_tomtom_column_score(a, t, 100) == 33, "A vs T column: PCC -1/3 -> 33, got %d", dnacl_tomtom_column_score(a, t, 100));
  CHECK(dnacl_tomtom_column_score(a, u, 100) == 50, "against a uniform column: PCC 0 -> 50");

  /* ---- a few motifs in detail -------------------------------------------------------------- */
  printf("self matches:\n");
  const char *named[] = {"CTCF", "RUNX1", "SPI1", "Gata1", "FOXA1", "REST", "MAX", NULL};
  for (int k = 0; named[k]; k++) {
    int i = dnacl_motif_find(&db, named[k]);
    CHECK(i >= 0, "%s is in JASPAR", named[k]);
    if (i < 0) continue;
    const dnacl_motif *m = &db.motifs[i];
    OK(dnacl_tomtom_query(d, m->p, m->width, h, &best));
    printf("  %-6s %s w %2d: best %s %s offset %d strand %c p %.3g E %.3g\n", named[k], m->id, m->width,
           db.motifs[best].id, db.motifs[best].name, h[best].offset, h[best].strand > 0 ? '+' : '-', h[best].pvalue,
           h[best].evalue);
    CHECK(best == i, "%s finds itself as best hit, got %s", named[k], db.motifs[best].id);
    CHECK(h[i].offset == 0 && h[i].strand == 1 && h[i].overlap == m->width && fabs(h[i].score - 1) < 1e-12,
          "%s aligns to itself at offset 0, +, full overlap, score 1", named[k]);
    CHECK(h[i].evalue < 1e-6, "%s self-match E-value %.3g is tiny", named[k], h[i].evalue);
    double rc[256];
    dnacl_motif_revcomp(m->p, m->width, rc);
    OK(dnacl_tomtom_query(d, rc, m->width, h, &best));
    if (!is_palindrome(m)) {
      CHECK(best == i && h[i].strand == -1 && h[i].offset == 0,
            "%s reverse complement: best %s strand %d offset %d; want itself on the - strand at 0", named[k],
            db.motifs[best].id, h[best].strand, h[best].offset);
      CHECK(h[i].evalue < 1e-6, "%s reverse complement E-value %.3g", named[k], h[i].evalue);
    }
  }

  /* ---- every motif of the database -------------------------------------------------------- */
  /* Near-identical JASPAR motifs (paralogues: TBX4/TBX5, CEBPB/CEBPE, ...) tie exactly after
   * the score rounding; then the earlier one is reported. So: the motif's own p-value equals
   * the best one, and its reverse complement matches it on the - strand unless it is a
   * palindrome (both strands tie and + is reported). */
  int self_best = 0, self_first = 0, rc_best = 0, rc_minus = 0, palindromes = 0, rc_plus = 0;
  double worst_self_e = 0;
  for (int i = 0; i < db.n; i++) {
    const dnacl_motif *m = &db.motifs[i];
    OK(dnacl_tomtom_query(d, m->p, m->width, h, &best));
    self_best += h[i].pvalue == h[best].pvalue && h[i].offset == 0 && h[i].overlap == m->width;
    self_first += best == i;
    double self_p_align = h[i].p_align;
    if (h[i].evalue > worst_self_e) worst_self_e = h[i].evalue;
    double rc[256];
    dnacl_motif_revcomp(m->p, m->width, rc);
    OK(dnacl_tomtom_query(d, rc, m->width, h, &best));
    rc_best += h[i].pvalue == h[best].pvalue;
    palindromes += is_palindrome(m);
    rc_plus += h[i].strand == 1;
    /* A near-palindrome's + alignment can tie the - one after rounding; + is then reported.
     * (The two queries' null tables are summed in another order: equal to rounding.) */
    rc_minus += h[i].strand == -1 || (h[i].strand == 1 && fabs(h[i].p_align - self_p_align) <= 1e-9 * self_p_align);
  }
  printf("all %d motifs: own p-value is the best for %d (reported first for %d; the rest tie with an earlier "
         "near-copy), worst self E-value %.3g; reverse complements: best %d, on the - strand or tied with it %d "
         "(+ reported for %d, %d of them exact palindromes)\n",
         db.n, self_best, self_first, worst_self_e, rc_best, rc_minus, rc_plus, palindromes);
  CHECK(self_best == db.n, "every motif's own p-value is the best");
  CHECK(self_first >= db.n - 15, "at most 15 motifs tie with an earlier one (%d do)", db.n - self_first);
  /* Short motifs are weakly identifiable: FOXI1 (7 columns) matches itself with E 0.005. */
  CHECK(worst_self_e < 0.01, "every self-match is significant (worst E %.3g)", worst_self_e);
  CHECK(rc_best == db.n && rc_minus == db.n, "reverse complements find their motif on the - strand");
  CHECK(rc_plus <= 10, "+ strand reported for %d reverse complements (palindromes and near-palindromes only)", rc_plus);

  /* ---- random matrices ---------------------------------------------------------------------- */
  /* Columns from a flat Dirichlet (normalised exponentials), widths 6..15: nothing in JASPAR
   * should match significantly. 200 queries; with calibrated E-values about 10 would have
   * E < 0.05 by chance, and none should have E < 1e-3. */
  int n_rand = 200, below_05 = 0, below_1e3 = 0;
  double min_e = INFINITY;
  for (int r = 0; r < n_rand; r++) {
    int w = 6 + r % 10;
    double p[64];
    for (int i = 0; i < w; i++) {
      double s = 0;
      for (int c = 0; c < 4; c++) s += p[i * 4 + c] = -log(uniform());
      for (int c = 0; c < 4; c++) p[i * 4 + c] /= s;
    }
    OK(dnacl_tomtom_query(d, p, w, h, &best));
    below_05 += h[best].evalue < 0.05;
    below_1e3 += h[best].evalue < 1e-3;
    if (h[best].evalue < min_e) min_e = h[best].evalue;
  }
  printf("%d random matrices: best-hit E < 0.05 for %d, E < 1e-3 for %d, smallest E %.3g\n", n_rand, below_05, below_1e3,
         min_e);
  CHECK(below_1e3 == 0, "no random matrix has a hit with E < 1e-3");
  CHECK(below_05 <= 20, "random matrices: %d of %d with E < 0.05 (about 10 expected)", below_05, n_rand);

  /* ---- against tools/tomtom_reference.py -------------------------------------------------- */
  /* python3 tools/tomtom_reference.py Q.meme data/JASPAR_CORE_2016_vertebrates.meme --top 1
   * with Q.meme holding random8 (above) and CTCF MA0139.1 and its reverse complement
   * (--top 2 for CTCF's second hit). */
  printf("against tools/tomtom_reference.py:\n");
  OK(dnacl_tomtom_query(d, random8, 8, h, &best));
  check_hit("random8", &db, &h[best], "MA0164.1", 3, 1, 5, 2.828352e-03, 3.341720e-02, 1.731011e+01, 9.983539e-01);
  int ctcf = dnacl_motif_find(&db, "MA0139.1");
  OK(dnacl_tomtom_query(d, db.motifs[ctcf].p, 19, h, &best));
  check_hit("CTCF", &db, &h[best], "MA0139.1", 0, 1, 19, 1.630262e-33, 9.455517e-32, 4.897958e-29, 4.897958e-29);
  double rc[19 * 4];
  dnacl_motif_revcomp(db.motifs[ctcf].p, 19, rc);
  OK(dnacl_tomtom_query(d, rc, 19, h, &best));
  check_hit("CTCF rc", &db, &h[best], "MA0139.1", 0, -1, 19, 1.630262e-33, 9.455517e-32, 4.897958e-29, 4.897958e-29);
  /* The second-best hit of CTCF too: Hoxc9's reverse complement, 5 columns hanging off the
   * query's left end. */
  int hox = dnacl_motif_find(&db, "MA0485.1");
  OK(dnacl_tomtom_query(d, db.motifs[ctcf].p, 19, h, &best));
  check_hit("CTCF/Hoxc9", &db, &h[hox], "MA0485.1", -8, -1, 5, 9.545977e-05, 4.381731e-03, 2.269737e+00, 7.738511e-01);

  /* Single strand and another minimum overlap change the counts as documented. */
  dnacl_tomtom_opts o = dnacl_tomtom_defaults();
  o.both_strands = 0;
  dnacl_tomtom_db *d1;
  OK(dnacl_tomtom_db_new(&db, &o, &d1));
  OK(dnacl_tomtom_query(d1, rc, 19, h, &best));
  CHECK(h[ctcf].strand == 1, "single strand: only + alignments");
  CHECK(h[ctcf].evalue > 1e-3, "single strand: CTCF's reverse complement no longer matches CTCF (E %.3g)", h[ctcf].evalue);
  dnacl_tomtom_db_free(d1);
  o = dnacl_tomtom_defaults();
  o.min_overlap = 0;
  CHECK(dnacl_tomtom_db_new(&db, &o, &d1) == DNACL_ERR_ARG, "min_overlap 0 is refused");
  dnacl_motif_set empty;
  dnacl_motif_set_init(&empty);
  CHECK(dnacl_tomtom_db_new(&empty, NULL, &d1) == DNACL_ERR_ARG, "an empty database is refused");

  free(h);
  dnacl_tomtom_db_free(d);
  dnacl_motif_set_free(&db);
  return harness_summary();
}

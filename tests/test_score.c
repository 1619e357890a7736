/* Interpretability metrics (src/explain/score.h) on inputs whose answers are known:
 *   - position scores: attribution x input summed over bases; the L2 norm for ISM;
 *   - per-sequence AUROC/AUPR against a mask: a map equal to the mask gives 1, the inverted
 *     map AUROC 0, a hand-computed sequence its scikit-learn values, and the mean is over
 *     the sequences with both classes (the others counted, not averaged in);
 *   - selection: the first n positives in file order, sequences without a marked position
 *     skipped and counted, the multi-task mask restricted to the target's motif;
 *   - filter match on a hand-made model: filter 0 an exact detector of a planted motif's
 *     consensus, filter 1 of a motif that is in the database but not planted, the others
 *     never firing: truth 1/F, database 2/F; a model without a first-layer conv refused;
 *   - attribution on the same model: every method ranks the planted site first, runs are
 *     reproducible, and DeepSHAP on a model with a layer norm is refused by name.
 * Runs on the default OpenCL device; the database is data/JASPAR_CORE_2016_vertebrates.meme. */
#include "model_fixtures.h"
#include "explain/score.h"
#include "nn/model.h"

static uint64_t rng = 77;
static double uniform(void) { return splitmix_unit(&rng); }
static void random_seq(float *x, int L) { random_onehot(x, 1, L, &rng); }

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* ---- host pieces --------------------------------------------------------------------------- */

static void test_position_scores(void) {
  printf("position scores:\n");
  const int L = 3;
  /* x = A C T; attr rows A, C, G, T. */
  float x[12] = {1, 0, 0, /* A */ 0, 1, 0, /* C */ 0, 0, 0, /* G */ 0, 0, 1 /* T */};
  float a[12] = {2, 5, -1, /* A */ 7, -3, 4, /* C */ 1, 1, 1, /* G */ -2, 0, 0.5f /* T */};
  float s[3];
  dnacl_attr_position_scores(a, x, 1, L, 0, s);
  CHECK(s[0] == 2 && s[1] == -3 && s[2] == 0.5f, "attribution x input: got %g %g %g, want 2 -3 0.5", s[0], s[1], s[2]);
  dnacl_attr_position_scores(a, x, 1, L, 1, s);
  CHECK(near(s[0], sqrt(4 + 49 + 1 + 4), 1e-5) && near(s[1], sqrt(25 + 9 + 1), 1e-5) &&
            near(s[2], sqrt(1 + 16 + 1 + 0.25), 1e-5),
        "L2 norm: got %g %g %g", s[0], s[1], s[2]);
}

static void test_mask_auc(void) {
  printf("per-sequence AUROC / AUPR:\n");
  const int L = 8, n = 5;
  uint8_t mask[5 * 8] = {
      0, 0, 1, 1, 1, 0, 0, 0, /* 0: scores equal to the mask */
      0, 0, 1, 1, 1, 0, 0, 0, /* 1: the inverted mask */
      0, 0, 0, 0, 0, 0, 0, 0, /* 2: no marked position: skipped */
      1, 1, 1, 1, 1, 1, 1, 1, /* 3: all marked: skipped */
      0, 0, 1, 1, 0, 0, 0, 0, /* 4: hand-computed */
  };
  float sc[5 * 8];
  for (int p = 0; p < L; p++) {
    sc[p] = mask[p];
    sc[L + p] = 1.0f - mask[L + p];
    sc[2 * L + p] = (float)p;
    sc[3 * L + p] = (float)p;
  }
  /* Sequence 4: positives score 0.35 and 0.8, negatives 0.1 0.4 0.2 0.9 0.05 0.3. Ranks:
   * 0.8 beats 5 of 6 negatives, 0.35 beats 4 -> AUROC 9/12 = 0.75. Descending: 0.9 (neg),
   * 0.8 (pos: precision 1/2), 0.4 (neg), 0.35 (pos: 2/4) -> AP = (1/2 + 2/4) / 2 = 0.5. */
  float s4[8] = {0.1f, 0.4f, 0.35f, 0.8f, 0.2f, 0.9f, 0.05f, 0.3f};
  memcpy(sc + 4 * L, s4, sizeof s4);
  double ro[5], pr[5];
  dnacl_mask_auc a;
  OK(dnacl_mask_auc_compute(sc, mask, n, L, ro, pr, &a));
  printf("  each AUROC %g %g %g %g %g, AUPR %g %g %g %g %g\n", ro[0], ro[1], ro[2], ro[3], ro[4], pr[0], pr[1], pr[2],
         pr[3], pr[4]);
  CHECK(ro[0] == 1 && pr[0] == 1, "a map equal to the mask: AUROC %g AUPR %g, want 1 1", ro[0], pr[0]);
  CHECK(ro[1] == 0, "the inverted map: AUROC %g, want 0", ro[1]);
  /* Inverted: all positives tie below all negatives, one PR step: AP = precision 3/8. */
  CHECK(near(pr[1], 3.0 / 8, 1e-12), "the inverted map: AUPR %g, want 0.375", pr[1]);
  CHECK(isnan(ro[2]) && isnan(ro[3]) && isnan(pr[2]) && isnan(pr[3]), "skipped sequences must read NaN");
  CHECK(near(ro[4], 0.75, 1e-12) && near(pr[4], 0.5, 1e-12), "hand-computed: AUROC %g AUPR %g, want 0.75 0.5", ro[4],
        pr[4]);
  CHECK(a.n == 3 && a.no_pos == 1 && a.no_neg == 1, "counts: n %d no_pos %d no_neg %d, want 3 1 1", a.n, a.no_pos,
        a.no_neg);
  CHECK(near(a.auroc, (1 + 0 + 0.75) / 3, 1e-12), "mean AUROC %g, want the mean of the 3 scored", a.auroc);
  CHECK(near(a.aupr, (1 + 0.375 + 0.5) / 3, 1e-12), "mean AUPR %g", a.aupr);
  double m = (1 + 0 + 0.75) / 3, sd = sqrt(((1 - m) * (1 - m) + m * m + (0.75 - m) * (0.75 - m)) / 2);
  CHECK(near(a.auroc_sd, sd, 1e-12), "AUROC sd %g, want %g (sample)", a.auroc_sd, sd);
  /* Nothing scorable: NaN means, not an error. */
  OK(dnacl_mask_auc_compute(sc + 2 * L, mask + 2 * L, 2, L, NULL, NULL, &a));
  CHECK(a.n == 0 && isnan(a.auroc) && isnan(a.aupr), "no scorable sequence: n %d auroc %g", a.n, a.auroc);
}

/* A split of 6 records of length 10 with 2 tasks, and its truth: motif 0 (task 0) and
 * motif 1 (task 1) of width 3. */
static void test_select(void) {
  printf("selection:\n");
  const int n = 6, L = 10, T = 2;
  dnacl_seqset set;
  memset(&set, 0, sizeof set);
  set.n = n, set.length = L, set.n_tasks = T;
  set.x = calloc((size_t)n * 4 * L, sizeof *set.x);
  float y[12] = {1, 0, /* 0 */ 0, 1, /* 1 */ 1, 1, /* 2 */ 1, 0, /* 3: no mask */ 1, 0, /* 4 */ 1, 1 /* 5 */};
  set.y = y;
  for (int i = 0; i < n; i++) random_seq(set.x + (size_t)i * 4 * L, L);
  dnacl_truth t;
  memset(&t, 0, sizeof t);
  t.n = n, t.length = L;
  /* Planted: rec 0 motif 0 at 1; rec 1 motif 1 at 5; rec 2 motif 0 at 0 and motif 1 at 6;
   * rec 3 nothing; rec 4 motif 0 at 7; rec 5 motif 1 at 2 (no motif 0: task-0 label noise). */
  int seq[6] = {0, 1, 2, 2, 4, 5}, mot[6] = {0, 1, 0, 1, 0, 1}, pos[6] = {1, 5, 0, 6, 7, 2};
  int first[7] = {0, 1, 2, 4, 4, 5, 6};
  int8_t strand[6] = {1, 1, 1, 1, 1, 1};
  t.k = 6, t.seq = seq, t.motif = mot, t.pos = pos, t.strand = strand, t.first = first;
  uint8_t mask[60];
  memset(mask, 0, sizeof mask);
  for (int r = 0; r < 6; r++)
    for (int p = pos[r]; p < pos[r] + 3; p++) mask[seq[r] * L + p] = 1;
  t.mask = mask;
  char *names[2] = {"M0", "M1"}, *ids[2] = {"X0.1", "X1.1"};
  int width[2] = {3, 3}, offset[2] = {0, 3};
  uint8_t role[2] = {1, 1};
  dnacl_sim_motifs mo = {2, names, ids, width, offset, NULL, role};

  dnacl_attr_score_opts o = dnacl_attr_score_defaults();
  o.n = 4;
  dnacl_attr_selection s;
  OK(dnacl_attr_select(&set, &t, &mo, &o, &s));
  printf("  task 0, n 4: kept %d of %d considered, %d without mask, restricted %d\n", s.n, s.considered,
         s.skipped_no_mask, s.restricted);
  /* Positives of task 0: 0, 2, 3, 4 (the first 4); 3 has no mask. */
  CHECK(s.considered == 4 && s.n == 3 && s.skipped_no_mask == 1 && s.restricted == 1,
        "considered %d kept %d skipped %d restricted %d, want 4 3 1 1", s.considered, s.n, s.skipped_no_mask,
        s.restricted);
  CHECK(s.n == 3 && s.index[0] == 0 && s.index[1] == 2 && s.index[2] == 4, "indices %d %d %d, want 0 2 4", s.index[0],
        s.index[1], s.index[2]);
  /* Record 2 under task 0: only motif 0's positions 0..2, not motif 1's 6..8. */
  int ok = 1;
  for (int p = 0; p < L; p++) ok &= s.mask[1 * L + p] == (p < 3);
  CHECK(ok, "record 2's task-0 mask keeps only motif 0");
  CHECK(!memcmp(s.x + 1 * 4 * L, set.x + 2 * 4 * L, (size_t)4 * L * sizeof *s.x), "record 2's sequence copied");
  dnacl_attr_selection_free(&s);
  /* Task 1, all: positives 1, 2, 5. */
  o.n = 500, o.target = 1;
  OK(dnacl_attr_select(&set, &t, &mo, &o, &s));
  CHECK(s.considered == 3 && s.n == 3 && s.index[1] == 2, "task 1: considered %d kept %d", s.considered, s.n);
  ok = 1;
  for (int p = 0; p < L; p++) ok &= s.mask[1 * L + p] == (p >= 6 && p < 9);
  CHECK(ok, "record 2's task-1 mask keeps only motif 1");
  dnacl_attr_selection_free(&s);
  /* Without a motif list the mask is used as stored. */
  o.target = 0;
  OK(dnacl_attr_select(&set, &t, NULL, &o, &s));
  ok = 1;
  for (int p = 0; p < L; p++) ok &= s.mask[1 * L + p] == mask[2 * L + p];
  CHECK(s.restricted == 0 && ok, "no motif list: the stored mask");
  dnacl_attr_selection_free(&s);
  /* A truth of another shape is refused with both shapes named. */
  t.length = 11;
  dnacl_status st = dnacl_attr_select(&set, &t, &mo, &o, &s);
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "length 11"), "mismatched truth: %s", dnacl_last_error());
  free(set.x);
}

/* ---- device: a hand-made detector model --------------------------------------------------- */

static dnacl_model *yaml_model(dnacl_ctx *ctx, const char *text) {
  dnacl_model_spec spec;
  OK(dnacl_model_spec_parse("score.yaml", text, &spec));
  return build_model(ctx, &spec, 3);
}

enum { LEN = 100, F = 4, K = 19, NSEQ = 120 };

/* conv (F filters of width K, valid) -> relu -> global max-pool -> dense 1. Filter f < 2
 * detects cons[f] exactly: +1 for its base, -1 for the others over its columns (zero
 * beyond them), bias -(w - 1), so it is 1 on the consensus and <= 0 anywhere else. Filters
 * 2 and 3 are zero with bias -1: they never fire. The output is filter 0 alone. */
static dnacl_model *detector(dnacl_ctx *ctx, const char *cons[2]) {
  char y[512];
  snprintf(y, sizeof y,
           "name: det\nlength: %d\ntasks: 1\nlayers:\n  - conv1d: {filters: %d, kernel: %d, padding: valid}\n"
           "  - activation: relu\n  - maxpool: %d\n  - flatten\n  - dense: 1\n",
           LEN, F, K, LEN - K + 1);
  dnacl_model *m = yaml_model(ctx, y);
  float w[F * 4 * K], b[F] = {0, 0, -1, -1};
  memset(w, 0, sizeof w);
  for (int f = 0; f < 2; f++) {
    int wd = (int)strlen(cons[f]);
    for (int k = 0; k < wd; k++)
      for (int c = 0; c < 4; c++) w[(f * 4 + c) * K + k] = "ACGT"[c] == cons[f][k] ? 1.0f : -1.0f;
    b[f] = -(float)(wd - 1);
  }
  set_node_param(ctx, m, 0, "w", w);
  set_node_param(ctx, m, 0, "b", b);
  float dw[F] = {1, 0, 0, 0}, db[1] = {0};
  set_node_param(ctx, m, 4, "w", dw);
  set_node_param(ctx, m, 4, "b", db);
  return m;
}

/* A consensus of a database motif by id. */
static void consensus_of(const dnacl_motif_set *db, const char *id, char *out) {
  int k = dnacl_motif_find(db, id);
  if (k < 0) {
    printf("FAIL %s not in the database\n", id);
    exit(1);
  }
  dnacl_motif_consensus(db->motifs[k].p, db->motifs[k].width, out);
}

static void test_filter_match(dnacl_ctx *ctx, const dnacl_motif_set *db, float *x, uint8_t *mask, char cons[2][32]) {
  printf("filter match (filter 0 = YY1's consensus %s, filter 1 = CTCF's %s):\n", cons[0], cons[1]);
  const char *c2[2] = {cons[0], cons[1]};
  dnacl_model *m = detector(ctx, c2);
  /* Truth list: YY1 planted as a task motif (role 1; the database holds MA0095.2, the list
   * an older version id, which must still count), SP1 as a task motif no filter detects, and
   * a motif absent from the database. CTCF is in the database but not in the list. */
  char *names[3] = {"YY1", "SP1", "Nothing"}, *ids[3] = {"MA0095.1", "MA0079.3", "XX0000.1"};
  int width[3] = {12, 11, 5}, offset[3] = {0, 12, 23};
  uint8_t role[3] = {1, 1, 0};
  dnacl_sim_motifs truth = {3, names, ids, width, offset, NULL, role};
  dnacl_filter_match_opts o = dnacl_filter_match_defaults();
  dnacl_filter_match fm;
  OK(dnacl_filter_match_compute(ctx, m, x, NSEQ, &truth, db, &o, &fm));
  for (int f = 0; f < fm.n_filters; f++) {
    const dnacl_filter_match_row *r = &fm.rows[f];
    printf("  filter%d: %ld sites, best %s %s E %.3g, class %d any %d\n", f, r->sites,
           r->best >= 0 ? db->motifs[r->best].id : "-", r->best >= 0 && db->motifs[r->best].name ? db->motifs[r->best].name : "-",
           r->evalue, r->truth, r->truth_any);
  }
  printf("  truth %g planted %g truth_any %g database %g; truth motifs %d, in db %d\n", fm.frac_truth, fm.frac_planted,
         fm.frac_truth_any, fm.frac_db, fm.truth_motifs, fm.truth_in_db);
  CHECK(fm.n_filters == F && fm.n_with_sites == 2, "filters %d with sites %d, want %d 2", fm.n_filters, fm.n_with_sites, F);
  CHECK(fm.rows[0].best >= 0 && !strcmp(db->motifs[fm.rows[0].best].id, "MA0095.2") && fm.rows[0].truth == 2,
        "filter 0's best match is not YY1 as ground truth");
  CHECK(fm.rows[1].best >= 0 && !strcmp(db->motifs[fm.rows[1].best].id, "MA0139.1") && fm.rows[1].significant &&
            fm.rows[1].truth == 0,
        "filter 1's best match is not CTCF as a database-only motif");
  CHECK(fm.frac_truth == 1.0 / F, "truth fraction %g, want 1/%d", fm.frac_truth, F);
  CHECK(fm.frac_planted == 1.0 / F && fm.frac_truth_any == 1.0 / F, "planted %g truth_any %g, want 1/%d",
        fm.frac_planted, fm.frac_truth_any, F);
  CHECK(fm.frac_db == 2.0 / F, "database fraction %g, want 2/%d", fm.frac_db, F);
  CHECK(fm.truth_motifs == 2 && fm.truth_in_db == 2, "truth motifs %d in db %d, want 2 2", fm.truth_motifs, fm.truth_in_db);
  CHECK(fm.rows[2].sites == 0 && fm.rows[2].best == -1 && isnan(fm.rows[2].evalue), "a silent filter has no match");
  dnacl_filter_match_free(&fm);
  /* CTCF listed as a negatives-only planted motif (role 0): planted, not truth. */
  char *n2[2] = {"YY1", "CTCF"}, *i2[2] = {"MA0095.2", "MA0139.1"};
  uint8_t r2[2] = {1, 0};
  dnacl_sim_motifs t2 = {2, n2, i2, width, offset, NULL, r2};
  OK(dnacl_filter_match_compute(ctx, m, x, NSEQ, &t2, db, &o, &fm));
  CHECK(fm.frac_truth == 1.0 / F && fm.frac_planted == 2.0 / F, "role 0: truth %g planted %g, want 1/%d 2/%d",
        fm.frac_truth, fm.frac_planted, F, F);
  dnacl_filter_match_free(&fm);
  /* Without a motif list: the database fraction only. */
  OK(dnacl_filter_match_compute(ctx, m, x, NSEQ, NULL, db, &o, &fm));
  CHECK(isnan(fm.frac_truth) && isnan(fm.frac_planted) && fm.frac_db == 2.0 / F, "no truth: truth %g db %g",
        fm.frac_truth, fm.frac_db);
  dnacl_filter_match_free(&fm);
  /* A threshold so strict no E-value passes: nothing matches. */
  o.evalue = 1e-300;
  OK(dnacl_filter_match_compute(ctx, m, x, NSEQ, &truth, db, &o, &fm));
  CHECK(fm.frac_db == 0 && fm.frac_truth == 0, "E < 1e-300: db %g truth %g, want 0", fm.frac_db, fm.frac_truth);
  dnacl_filter_match_free(&fm);

  /* ---- attribution on the same model: the YY1 site is what the output depends on ---- */
  printf("attribution (the output is filter 0: YY1's consensus):\n");
  dnacl_attr_selection sel;
  memset(&sel, 0, sizeof sel);
  sel.n = NSEQ / 2, sel.length = LEN, sel.considered = sel.n;
  sel.index = malloc((size_t)sel.n * sizeof *sel.index);
  sel.x = malloc((size_t)sel.n * 4 * LEN * sizeof *sel.x);
  sel.mask = malloc((size_t)sel.n * LEN);
  for (int i = 0; i < sel.n; i++) {
    sel.index[i] = 2 * i;
    memcpy(sel.x + (size_t)i * 4 * LEN, x + (size_t)2 * i * 4 * LEN, (size_t)4 * LEN * sizeof *x);
    memcpy(sel.mask + (size_t)i * LEN, mask + (size_t)2 * i * LEN, LEN);
  }
  dnacl_attr_score_opts ao = dnacl_attr_score_defaults();
  ao.ig_refs = 3, ao.ig_steps = 16, ao.shap_refs = 4;
  /* Saliency: gradient x input is +1 on the site's bases and 0 elsewhere; ISM: the site's
   * bases change the output by 1 for each alternative, nothing else changes it. IG and
   * DeepSHAP give 0 where a reference has the observed base (a tie with the background), so
   * they rank the site high but not perfectly. */
  const double want_min[4] = {0.999, 0.999, 0.95, 0.95};
  for (int k = 0; k < DNACL_SCORE_N_METHODS; k++) {
    dnacl_attr_score a, b;
    OK(dnacl_attr_score_method(ctx, m, &sel, (dnacl_score_method)k, &ao, &a));
    printf("  %-8s AUROC %.4f (sd %.3g) AUPR %.4f on %d sequences, worst delta %.3g, %.2f s\n",
           dnacl_score_method_names[k], a.auroc, a.auroc_sd, a.aupr, a.n, a.worst_delta, a.seconds);
    CHECK(!a.refused && a.n == sel.n, "%s: refused %d, n %d", dnacl_score_method_names[k], a.refused, a.n);
    CHECK(a.auroc >= want_min[k] && a.auroc <= 1, "%s: AUROC %g below %g", dnacl_score_method_names[k], a.auroc,
          want_min[k]);
    CHECK(a.aupr > 0.5 && a.aupr <= 1, "%s: AUPR %g", dnacl_score_method_names[k], a.aupr);
    if (k == DNACL_SCORE_IG || k == DNACL_SCORE_DEEPSHAP)
      CHECK(isfinite(a.worst_delta), "%s: no completeness error reported", dnacl_score_method_names[k]);
    else
      CHECK(isnan(a.worst_delta), "%s: a completeness error where none applies", dnacl_score_method_names[k]);
    /* Seeds per record: the same call gives the same bits. */
    OK(dnacl_attr_score_method(ctx, m, &sel, (dnacl_score_method)k, &ao, &b));
    CHECK(a.auroc == b.auroc && a.aupr == b.aupr, "%s: a second run differs (%.17g vs %.17g)",
          dnacl_score_method_names[k], a.auroc, b.auroc);
  }
  /* Another target than the model has is an argument error. */
  ao.target = 1;
  dnacl_attr_score a;
  CHECK(dnacl_attr_score_method(ctx, m, &sel, DNACL_SCORE_SALIENCY, &ao, &a) == DNACL_ERR_ARG, "target 1 accepted");
  dnacl_attr_selection_free(&sel);
  dnacl_model_free(m);
}

/* DeepSHAP on a model with a layer norm: refused by name, as a result; the gradient
 * methods still run. A model without a first-layer conv: filter match refused. */
static void test_refusals(dnacl_ctx *ctx, const dnacl_motif_set *db, const float *x, const uint8_t *mask) {
  printf("refusals:\n");
  char y[512];
  snprintf(y, sizeof y,
           "name: ln\nlength: %d\ntasks: 1\nlayers:\n  - conv1d: {filters: 4, kernel: 5, padding: same}\n"
           "  - layernorm\n  - flatten\n  - dense: 1\n",
           LEN);
  dnacl_model *m = yaml_model(ctx, y);
  dnacl_attr_selection sel;
  memset(&sel, 0, sizeof sel);
  sel.n = 4, sel.length = LEN, sel.considered = 4;
  int idx[4] = {0, 2, 4, 6};
  sel.index = idx;
  sel.x = (float *)x;
  sel.mask = (uint8_t *)mask;
  dnacl_attr_score_opts ao = dnacl_attr_score_defaults();
  ao.ig_refs = 2, ao.ig_steps = 4, ao.shap_refs = 2;
  dnacl_attr_score a;
  OK(dnacl_attr_score_method(ctx, m, &sel, DNACL_SCORE_DEEPSHAP, &ao, &a));
  printf("  deepshap: refused %d: %s\n", a.refused, a.reason);
  CHECK(a.refused && strstr(a.reason, "layernorm") && isnan(a.auroc), "deepshap on a layernorm model is not refused by name");
  OK(dnacl_attr_score_method(ctx, m, &sel, DNACL_SCORE_SALIENCY, &ao, &a));
  CHECK(!a.refused && a.n == 2 && isfinite(a.auroc), "saliency on the layernorm model: refused %d n %d (rows 1 and 3 have no mask)", a.refused, a.n);
  dnacl_model_free(m);

  snprintf(y, sizeof y, "name: flat\nlength: %d\ntasks: 1\nlayers:\n  - flatten\n  - dense: 1\n", LEN);
  m = yaml_model(ctx, y);
  dnacl_filter_match fm;
  dnacl_status st = dnacl_filter_match_compute(ctx, m, x, 4, NULL, db, NULL, &fm);
  printf("  filter match without a conv: %s: %s\n", dnacl_status_name(st), dnacl_last_error());
  CHECK(st == DNACL_ERR_UNSUPPORTED, "filter match on a model without a first conv returned %s", dnacl_status_name(st));
  dnacl_model_free(m);
}

/* The file-level calls the sweep uses, on dnacl simulate files and a random model: counts
 * add up, values are in range, task 1's mask is restricted to the target's motif, and a set
 * from another split than the truth is refused naming the file. */
static void test_files(dnacl_ctx *ctx) {
  printf("from files (dnacl_score_attribution, dnacl_score_filter_match):\n");
  const char *task_name[2] = {"koo-task3", "koo-task1"};
  for (int t = 0; t < 2; t++) {
    char path[512], y[512];
    snprintf(path, sizeof path, "%s/score_%s.h5", DNACL_TEST_TMPDIR, task_name[t]);
    dnacl_sim_cfg cfg = dnacl_sim_defaults(t == 0 ? DNACL_SIM_KOO_TASK3 : DNACL_SIM_KOO_TASK1);
    cfg.n = 150;
    cfg.seed = 4;
    OK(dnacl_simulate(&cfg, path));
    dnacl_load_opts lo = dnacl_load_opts_default();
    lo.split = "test";
    dnacl_seqset set;
    OK(dnacl_seqset_load(path, &lo, &set));
    snprintf(y, sizeof y,
             "name: rnd\nlength: 200\ntasks: %d\nlayers:\n  - conv1d: {filters: 6, kernel: 11, padding: same}\n"
             "  - activation: exponential\n  - maxpool: 25\n  - flatten\n  - dense: %d\n",
             set.n_tasks, set.n_tasks);
    dnacl_model *m = yaml_model(ctx, y);
    dnacl_attr_score_opts ao = dnacl_attr_score_defaults();
    ao.n = 8, ao.ig_refs = 2, ao.ig_steps = 8, ao.shap_refs = 2;
    int positives = 0;
    for (int i = 0; i < set.n; i++) positives += set.y[(size_t)i * set.n_tasks] == 1.0f;
    dnacl_attr_scores as;
    OK(dnacl_score_attribution(ctx, m, &set, path, "test", DNACL_SCORE_ALL_METHODS, &ao, &as));
    printf("  %s: %d test sequences, %d positives of task 0: considered %d, scored %d, skipped %d + %d, restricted %d\n",
           task_name[t], set.n, positives, as.considered, as.scored, as.skipped_no_mask, as.skipped_all_mask,
           as.restricted);
    CHECK(as.considered == (positives < 8 ? positives : 8), "%s: considered %d", task_name[t], as.considered);
    CHECK(as.scored + as.skipped_no_mask + as.skipped_all_mask == as.considered, "%s: counts do not add up",
          task_name[t]);
    CHECK(as.restricted == (t == 1), "%s: restricted %d", task_name[t], as.restricted);
    for (int k = 0; k < DNACL_SCORE_N_METHODS; k++) {
      const dnacl_attr_score *a = &as.method[k];
      printf("    %-8s AUROC %.4f AUPR %.4f n %d\n", dnacl_score_method_names[k], a->auroc, a->aupr, a->n);
      CHECK(!a->refused && a->n == as.scored && a->auroc >= 0 && a->auroc <= 1 && a->aupr >= 0 && a->aupr <= 1,
            "%s %s: refused %d n %d auroc %g aupr %g", task_name[t], dnacl_score_method_names[k], a->refused, a->n,
            a->auroc, a->aupr);
    }
    dnacl_filter_match fm;
    dnacl_filter_match_opts fo = dnacl_filter_match_defaults();
    OK(dnacl_score_filter_match(ctx, m, &set, path, NULL, &fo, &fm));
    printf("    filter match: %d filters, truth %g, database %g, truth motifs %d in db %d\n", fm.n_filters, fm.frac_truth,
           fm.frac_db, fm.truth_motifs, fm.truth_in_db);
    CHECK(fm.n_filters == 6 && fm.frac_truth >= 0 && fm.frac_truth <= fm.frac_db + 1e-12 && fm.frac_db <= 1,
          "%s: filter match out of range", task_name[t]);
    CHECK(fm.truth_motifs == (t == 0 ? 5 : 12) && fm.truth_in_db == fm.truth_motifs, "%s: truth motifs %d in db %d",
          task_name[t], fm.truth_motifs, fm.truth_in_db);
    dnacl_filter_match_free(&fm);
    /* The valid split's truth against the test sequences: refused, naming the file. */
    dnacl_status st = dnacl_score_attribution(ctx, m, &set, path, "valid", 1u, &ao, &as);
    CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), path), "another split's truth: %s: %s",
          dnacl_status_name(st), dnacl_last_error());
    dnacl_model_free(m);
    dnacl_seqset_free(&set);
    remove(path);
  }
}

int main(void) {
  test_position_scores();
  test_mask_auc();
  test_select();

  dnacl_ctx *ctx = harness_ctx();
  dnacl_motif_set db;
  dnacl_motif_set_init(&db);
  OK(dnacl_meme_load(DNACL_SCORE_DEFAULT_DB, &db));
  char cons[2][32];
  consensus_of(&db, "MA0095.2", cons[0]);
  consensus_of(&db, "MA0139.1", cons[1]);
  /* Even records carry YY1's consensus (their mask), odd ones CTCF's; random background. */
  float *x = malloc((size_t)NSEQ * 4 * LEN * sizeof *x);
  uint8_t *mask = calloc((size_t)NSEQ * LEN, 1);
  for (int i = 0; i < NSEQ; i++) {
    float *xi = x + (size_t)i * 4 * LEN;
    random_seq(xi, LEN);
    const char *c = cons[i % 2];
    /* Within the first LEN - K + 1 starts, so every site lies inside a valid window. */
    int w = (int)strlen(c), p = (int)(uniform() * (LEN - K + 1));
    put_seq(xi, LEN, p, c);
    if (i % 2 == 0) memset(mask + (size_t)i * LEN + p, 1, (size_t)w);
  }
  test_filter_match(ctx, &db, x, mask, cons);
  test_refusals(ctx, &db, x, mask);
  test_files(ctx);
  free(x);
  free(mask);
  dnacl_motif_set_free(&db);
  dnacl_ctx_release(ctx);
  return harness_summary();
}

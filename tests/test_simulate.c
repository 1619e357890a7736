/* Synthetic tasks (src/sim): the count distribution, layout, planted bases, labels and
 * mask against the truth table, the negative pool of task 3, determinism, the file round
 * trip through dnacl_seqset_load / dnacl_truth_load, and the errors. Host-only: no device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"
#include "sim/simulate.h"

#define JASPAR "data/JASPAR_CORE_2016_vertebrates.meme"

static const double P[5] = {0.50, 0.25, 0.17, 0.05, 0.03};

/* Base of column p of a one-hot record (4, L). */
static int base_at(const float *x, int L, int p) {
  for (int b = 0; b < 4; b++)
    if (x[(size_t)b * L + p] == 1.0f) return b;
  return -1;
}

/* Probability of base b at column c of motif m on a strand (the - strand's column c is
 * the complement of forward column w-1-c). */
static double col_prob(const dnacl_sim_motifs *mo, int m, int strand, int c, int b) {
  int w = mo->width[m];
  const float *f = &mo->pwm[(size_t)(mo->offset[m] + (strand > 0 ? c : w - 1 - c)) * 4];
  return strand > 0 ? f[b] : f[3 - b];
}
static void strand_col(const dnacl_sim_motifs *mo, int m, int strand, int c, float out[4]) {
  for (int b = 0; b < 4; b++) out[b] = (float)col_prob(mo, m, strand, c, b);
}

/* A task's defaults for n records, the motifs read from the shipped JASPAR file by name
 * (the error messages checked below quote it). */
static dnacl_sim_cfg task_cfg(dnacl_sim_task task, int n) {
  dnacl_sim_cfg c = dnacl_sim_defaults(task);
  c.motifs_path = JASPAR;
  c.n = n;
  return c;
}

/* Two truth tables hold the same records, planted sites and mask. */
static int same_truth(const dnacl_truth *t, const dnacl_truth *u) {
  return t->n == u->n && t->length == u->length && t->k == u->k &&
         !memcmp(t->mask, u->mask, (size_t)u->n * u->length) &&
         !memcmp(t->first, u->first, (size_t)(u->n + 1) * sizeof(int)) &&
         !memcmp(t->seq, u->seq, (size_t)u->k * sizeof(int)) && !memcmp(t->pos, u->pos, (size_t)u->k * sizeof(int)) &&
         !memcmp(t->motif, u->motif, (size_t)u->k * sizeof(int)) && !memcmp(t->strand, u->strand, (size_t)u->k);
}

/* Every check that holds for each record of a dataset; fills the count histogram. */
static void check_records(const char *label, const dnacl_sim_data *d, int kmin, long *hist) {
  const dnacl_sim_motifs *mo = &d->motifs;
  long sites = 0, positive_lo = 0, bad_base = 0, bad_layout = 0, bad_label = 0, bad_mask = 0, bad_first = 0;
  double lo_min = 1e9;
  int L = d->length;
  uint8_t *inside = malloc((size_t)L);
  for (int s = 0; s < 3; s++) {
    const dnacl_seqset *set = &d->sets[s];
    const dnacl_truth *t = &d->truth[s];
    CHECK(set->n == t->n && t->length == L && set->length == L, "%s %s: sizes", label, dnacl_sim_splits[s]);
    for (int i = 0; i < t->n; i++) {
      const float *x = set->x + (size_t)i * 4 * L;
      int k = t->first[i + 1] - t->first[i];
      if (k < kmin || k > kmin + 4) bad_first++;
      else hist[k - kmin]++;
      memset(inside, 0, (size_t)L);
      int prev_end = 0;
      for (int r = t->first[i]; r < t->first[i + 1]; r++) {
        if (t->seq[r] != i) bad_first++;
        int m = t->motif[r], st = t->strand[r], p0 = t->pos[r], w = mo->width[m];
        /* no overlap, in bounds, left to right */
        if (p0 < prev_end || p0 + w > L || (st != 1 && st != -1)) {
          bad_layout++;
          continue;
        }
        prev_end = p0 + w;
        double lo = 0;
        for (int c = 0; c < w; c++) {
          int b = base_at(x, L, p0 + c);
          double pr = b < 0 ? 0 : col_prob(mo, m, st, c, b);
          if (pr <= 0) bad_base++; /* a base the PWM forbids on this strand */
          else lo += log2(pr / 0.25);
          float col[4];
          strand_col(mo, m, st, c, col);
          int want = dnacl_sim_column_info(col) > d->info_threshold;
          if (t->mask[(size_t)i * L + p0 + c] != want) bad_mask++;
          inside[p0 + c] = 1;
        }
        sites++;
        positive_lo += lo > 0;
        if (lo < lo_min) lo_min = lo;
      }
      for (int p = 0; p < L; p++)
        if (!inside[p] && t->mask[(size_t)i * L + p]) bad_mask++;
      /* labels from the truth: task 1 one per motif, task 3 the record's class */
      if (d->task == DNACL_SIM_KOO_TASK1) {
        for (int m = 0; m < set->n_tasks; m++) {
          int has = 0;
          for (int r = t->first[i]; r < t->first[i + 1]; r++) has |= t->motif[r] == m;
          if (set->y[(size_t)i * set->n_tasks + m] != (float)has) bad_label++;
        }
      } else {
        int all_pool = 1;
        for (int r = t->first[i]; r < t->first[i + 1]; r++) all_pool &= mo->role[t->motif[r]];
        /* a positive holds only pool motifs; a negative may too, rarely (see simulate.h) */
        if (set->y[i] == 1.0f && !all_pool) bad_label++;
      }
    }
  }
  free(inside);
  printf("  %s: %ld planted motifs; log-odds > 0 on the recorded strand for %.2f%% (lowest %.2f bits)\n",
         label, sites, 100.0 * positive_lo / sites, lo_min);
  CHECK(bad_first == 0, "%s: %ld records with a count outside %d-%d or a truth row out of order", label,
        bad_first, kmin, kmin + 4);
  CHECK(bad_layout == 0, "%s: %ld planted motifs overlap or leave the sequence", label, bad_layout);
  CHECK(bad_base == 0, "%s: %ld planted bases have probability 0 under the recorded strand's PWM", label, bad_base);
  /* A sample of a PWM scores above background on average, not always: low-information
   * motifs can draw a below-background window now and then. */
  CHECK(positive_lo >= 0.97 * sites, "%s: only %ld of %ld planted windows score above background", label,
        positive_lo, sites);
  CHECK(bad_label == 0, "%s: %ld labels disagree with the truth table", label, bad_label);
  CHECK(bad_mask == 0, "%s: %ld mask positions disagree with the planted windows' information", label, bad_mask);
}

static void check_count_distribution(const char *label, const long *hist, long n) {
  printf("  %s counts:", label);
  for (int i = 0; i < 5; i++) {
    double f = (double)hist[i] / n, se = sqrt(P[i] * (1 - P[i]) / n);
    printf(" %.3f (P %.2f)", f, P[i]);
    CHECK(fabs(f - P[i]) <= 4 * se, "%s: fraction with count index %d is %.4f, expected %.2f +- %.4f", label, i,
          f, P[i], 4 * se);
  }
  printf("\n");
}

static void test_task1(void) {
  printf("koo-task1, 5000 x 200\n");
  dnacl_sim_cfg c = task_cfg(DNACL_SIM_KOO_TASK1, 5000);
  c.seed = 7;
  dnacl_sim_data d;
  OK(dnacl_sim_generate(&c, &d));
  CHECK(d.sets[0].n == 3500 && d.sets[1].n == 500 && d.sets[2].n == 1000, "splits %d/%d/%d", d.sets[0].n,
        d.sets[1].n, d.sets[2].n);
  CHECK(d.motifs.n == 12 && d.sets[0].n_tasks == 12, "12 motifs and tasks, got %d/%d", d.motifs.n, d.sets[0].n_tasks);
  static const char *const ids[12] = {"MA0151.1", "MA0466.2", "MA0477.1", "MA0062.2", "MA0496.1", "MA0058.3",
                                      "MA0052.3", "MA0502.1", "MA0079.3", "MA0083.3", "MA0137.3", "MA0095.2"};
  for (int m = 0; m < d.motifs.n && m < 12; m++)
    CHECK(!strcmp(d.motifs.ids[m], ids[m]) && d.motifs.role[m] == 1, "motif %d is %s, expected %s", m,
          d.motifs.ids[m], ids[m]);
  CHECK(d.redrawn == 0, "no redraws at 200 bp, got %ld", d.redrawn);
  long hist[5] = {0};
  check_records("task1", &d, 1, hist);
  check_count_distribution("task1", hist, 5000);
  /* both strands are planted, about equally */
  long fwd = 0, all = 0;
  for (int s = 0; s < 3; s++)
    for (int r = 0; r < d.truth[s].k; r++, all++) fwd += d.truth[s].strand[r] > 0;
  CHECK(fabs((double)fwd / all - 0.5) < 0.03, "forward strand fraction %.3f", (double)fwd / all);
  dnacl_sim_data_free(&d);
}

static void test_task3(void) {
  printf("koo-task3, 4000 x 200\n");
  dnacl_sim_cfg c = task_cfg(DNACL_SIM_KOO_TASK3, 4000);
  c.seed = 3;
  dnacl_sim_data d;
  OK(dnacl_sim_generate(&c, &d));
  CHECK(d.motifs.n == 55, "5 pool + 50 other motifs, got %d", d.motifs.n);
  int pool = 0;
  for (int m = 0; m < d.motifs.n; m++) {
    pool += d.motifs.role[m];
    for (int q = 0; q < 5 && !d.motifs.role[m]; q++)
      CHECK(strcasecmp(d.motifs.names[m], d.motifs.names[q]) != 0, "negative-pool motif %s shares a pool name",
            d.motifs.names[m]);
  }
  CHECK(pool == 5 && !strcmp(d.motifs.names[0], "SP1") && !strcmp(d.motifs.names[4], "YY1"), "pool");
  long hist_pos[5] = {0}, hist_neg[5] = {0};
  long npos = 0, neg_sites = 0, neg_pool_sites = 0, neg_other = 0;
  for (int s = 0; s < 3; s++) {
    const dnacl_truth *t = &d.truth[s];
    for (int i = 0; i < t->n; i++) {
      int y = d.sets[s].y[i] == 1.0f, k = t->first[i + 1] - t->first[i];
      npos += y;
      if (k >= 3 && k <= 7) (y ? hist_pos : hist_neg)[k - 3]++;
      for (int r = t->first[i]; r < t->first[i + 1]; r++) {
        int role = d.motifs.role[t->motif[r]];
        if (y) CHECK(role == 1, "positive %s:%d holds negatives-only motif %s", dnacl_sim_splits[s], i,
                     d.motifs.names[t->motif[r]]);
        else {
          neg_sites++;
          neg_pool_sites += role;
          neg_other += !role;
        }
      }
    }
  }
  CHECK(npos == 2000, "half positive: %ld of 4000", npos);
  long hist[5] = {0};
  check_records("task3", &d, 3, hist);
  check_count_distribution("task3 positives", hist_pos, 2000);
  check_count_distribution("task3 negatives", hist_neg, 2000);
  /* Negatives draw uniformly over 110 (motif, strand) entries, 10 of them the pool's. */
  double f = (double)neg_pool_sites / neg_sites;
  printf("  negatives: %.3f of planted motifs from the positive pool (expected 10/110 = %.3f)\n", f, 10.0 / 110);
  CHECK(fabs(f - 10.0 / 110) < 0.02 && neg_other > 0, "negative pool fraction %.3f", f);
  /* Positive masks mark only pool motifs, and every positive has some marked positions. */
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < d.truth[s].n; i++) {
      if (d.sets[s].y[i] != 1.0f) continue;
      long marked = 0;
      for (int p = 0; p < d.length; p++) marked += d.truth[s].mask[(size_t)i * d.length + p];
      if (marked == 0) CHECK(0, "positive %s:%d has an empty mask", dnacl_sim_splits[s], i);
    }
  dnacl_sim_data_free(&d);
}

static int same_data(const dnacl_sim_data *a, const dnacl_sim_data *b) {
  if (a->motifs.n != b->motifs.n) return 0;
  for (int m = 0; m < a->motifs.n; m++)
    if (strcmp(a->motifs.ids[m], b->motifs.ids[m])) return 0;
  for (int s = 0; s < 3; s++) {
    const dnacl_seqset *x = &a->sets[s], *y = &b->sets[s];
    if (x->n != y->n || !same_truth(&a->truth[s], &b->truth[s])) return 0;
    if (memcmp(x->x, y->x, (size_t)x->n * 4 * x->length * sizeof(float)) ||
        memcmp(x->y, y->y, (size_t)x->n * x->n_tasks * sizeof(float)))
      return 0;
  }
  return 1;
}

static void test_determinism_and_file(void) {
  printf("determinism and the file\n");
  dnacl_sim_cfg c = task_cfg(DNACL_SIM_KOO_TASK3, 500);
  c.seed = 11;
  dnacl_sim_data a, b, other;
  OK(dnacl_sim_generate(&c, &a));
  OK(dnacl_sim_generate(&c, &b));
  CHECK(same_data(&a, &b), "same seed, different data");
  c.seed = 12;
  OK(dnacl_sim_generate(&c, &other));
  CHECK(!same_data(&a, &other), "another seed gave the same data");
  int same_bg = 1;
  for (int m = 5; m < 55; m++) same_bg &= !strcmp(a.motifs.ids[m], other.motifs.ids[m]);
  CHECK(!same_bg, "the negative pool should follow the seed");
  dnacl_sim_data_free(&other);
  dnacl_sim_data_free(&b);

  const char *path = DNACL_TEST_TMPDIR "/sim_task3.h5";
  remove(path);
  OK(dnacl_sim_save(&a, path));
  for (int s = 0; s < 3; s++) {
    dnacl_load_opts o = dnacl_load_opts_default();
    o.split = dnacl_sim_splits[s];
    dnacl_seqset set;
    OK(dnacl_seqset_load(path, &o, &set));
    const dnacl_seqset *w = &a.sets[s];
    CHECK(set.n == w->n && set.length == w->length && set.n_tasks == 1, "%s: shape", o.split);
    CHECK(set.n == w->n && !memcmp(set.x, w->x, (size_t)w->n * 4 * w->length * sizeof(float)) &&
              !memcmp(set.y, w->y, (size_t)w->n * sizeof(float)),
          "%s: X/Y differ after the round trip", o.split);
    dnacl_seqset_free(&set);
    dnacl_truth t;
    OK(dnacl_truth_load(path, dnacl_sim_splits[s], &t));
    CHECK(same_truth(&t, &a.truth[s]), "%s: truth differs after the round trip", dnacl_sim_splits[s]);
    dnacl_truth_free(&t);
  }
  dnacl_truth t;
  OK(dnacl_truth_load(path, "validation", &t)); /* the loader's other names for valid */
  CHECK(t.n == a.sets[1].n, "validation = valid");
  dnacl_truth_free(&t);
  dnacl_sim_motifs m;
  OK(dnacl_sim_motifs_load(path, &m));
  int ok = m.n == a.motifs.n;
  for (int i = 0; ok && i < m.n; i++)
    ok = !strcmp(m.names[i], a.motifs.names[i]) && !strcmp(m.ids[i], a.motifs.ids[i]) &&
         m.width[i] == a.motifs.width[i] && m.offset[i] == a.motifs.offset[i] && m.role[i] == a.motifs.role[i] &&
         !memcmp(&m.pwm[(size_t)m.offset[i] * 4], &a.motifs.pwm[(size_t)m.offset[i] * 4], (size_t)m.width[i] * 4 * sizeof(float));
  CHECK(ok, "motif list differs after the round trip");
  dnacl_sim_motifs_free(&m);

  /* No temporary file is left beside the output. */
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s.sim%ld.tmp", path, (long)getpid());
  CHECK(access(tmp, F_OK) != 0, "temporary file %s left behind", tmp);
  /* Saving into a missing directory fails, naming the path, and writes nothing. */
  const char *bad = DNACL_TEST_TMPDIR "/no_such_dir/x.h5";
  dnacl_status s = dnacl_sim_save(&a, bad);
  CHECK(s != DNACL_OK && strstr(dnacl_last_error(), bad), "save into a missing directory: %s", dnacl_last_error());
  CHECK(access(bad, F_OK) != 0, "nothing written");
  s = dnacl_truth_load(DNACL_TEST_TMPDIR "/nope.h5", "train", &t);
  CHECK(s != DNACL_OK && strstr(dnacl_last_error(), "nope.h5"), "missing file: %s", dnacl_last_error());
  s = dnacl_truth_load(path, "dev", &t);
  CHECK(s == DNACL_ERR_ARG, "unknown split");
  s = dnacl_truth_load("data/ZBED2_400_h3k27ac.h5", "train", &t);
  CHECK(s != DNACL_OK && strstr(dnacl_last_error(), "M_train"), "not a simulated file: %s", dnacl_last_error());
  dnacl_sim_data_free(&a);
}

static void test_options_and_errors(void) {
  printf("options and errors\n");
  dnacl_sim_cfg c = task_cfg(DNACL_SIM_KOO_TASK1, 200);
  /* names by id and in another case */
  const char *names[2] = {"MA0079.3", "yy1"};
  c.names = names;
  c.n_names = 2;
  dnacl_sim_data d;
  OK(dnacl_sim_generate(&c, &d));
  CHECK(d.motifs.n == 2 && d.sets[0].n_tasks == 2 && !strcmp(d.motifs.names[0], "SP1") &&
            !strcmp(d.motifs.names[1], "YY1"),
        "names by id and ignoring case");
  dnacl_sim_data_free(&d);
  /* an unknown name lists close ones and names the file */
  const char *bad[2] = {"SP1", "CEBP"};
  c.names = bad;
  dnacl_status s = dnacl_sim_generate(&c, &d);
  printf("  %s\n", dnacl_last_error());
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), JASPAR) && strstr(dnacl_last_error(), "'CEBP'") &&
            strstr(dnacl_last_error(), "CEBPB"),
        "unknown name: %s", dnacl_last_error());
  const char *typo[1] = {"Gapba"};
  c.names = typo;
  c.n_names = 1;
  s = dnacl_sim_generate(&c, &d);
  printf("  %s\n", dnacl_last_error());
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "Gabpa"), "typo: %s", dnacl_last_error());
  c.names = NULL;
  /* short sequences: task 1 at 30 bp fits after redraws; 5 bp cannot hold any motif */
  c.length = 30;
  OK(dnacl_sim_generate(&c, &d));
  printf("  30 bp: %ld draws redrawn\n", d.redrawn);
  CHECK(d.redrawn > 0, "some draws should not fit in 30 bp");
  long hist[5] = {0};
  check_records("task1 30 bp", &d, 1, hist);
  dnacl_sim_data_free(&d);
  c.length = 5;
  s = dnacl_sim_generate(&c, &d);
  printf("  %s\n", dnacl_last_error());
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "too short") && strstr(dnacl_last_error(), JASPAR),
        "length 5: %s", dnacl_last_error());
  dnacl_sim_cfg c3 = task_cfg(DNACL_SIM_KOO_TASK3, 100);
  c3.length = 20;
  s = dnacl_sim_generate(&c3, &d);
  printf("  %s\n", dnacl_last_error());
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "too short"), "task 3 at 20 bp: %s", dnacl_last_error());
  c3.length = 200;
  c3.n_background = 100000;
  s = dnacl_sim_generate(&c3, &d);
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "negative pool"), "too many others: %s", dnacl_last_error());
  c3.n_background = 50;
  c3.n = 5;
  CHECK(dnacl_sim_generate(&c3, &d) == DNACL_ERR_ARG, "n = 5 is too few for the splits");
  c3.n = 100;
  c3.motifs_path = "data/no_such.meme";
  s = dnacl_sim_generate(&c3, &d);
  CHECK(s != DNACL_OK && strstr(dnacl_last_error(), "data/no_such.meme"), "missing motif file: %s", dnacl_last_error());
  dnacl_sim_task t;
  CHECK(dnacl_sim_task_parse("koo-task2", &t) == DNACL_ERR_ARG, "task 2 is not simulated");
  CHECK(dnacl_sim_task_parse("koo-task3", &t) == DNACL_OK && t == DNACL_SIM_KOO_TASK3, "task parse");
}

int main(void) {
  test_task1();
  test_task3();
  test_determinism_and_file();
  test_options_and_errors();
  return harness_summary();
}

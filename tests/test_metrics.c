/* Metrics: hand-checkable cases (perfect, inverted, all ties, one class) and reference
 * values from scikit-learn 1.2.1 on generated data. The generator below is a plain LCG that
 * the Python snippet in the comments reproduces exactly (scores are float32 values that are
 * exact in both languages), so the expected numbers are sklearn's, computed once and pasted
 * here; CI needs no Python. */
#include "harness.h"
#include "train/metrics.h"

#define NEAR(got, want, tol, ...) CHECK(fabs((got) - (want)) <= (tol), __VA_ARGS__)

static double auroc(const float *y, const float *s, size_t n) {
  double v;
  OK(dnacl_auroc(y, s, n, 1, &v));
  return v;
}
static double ap(const float *y, const float *s, size_t n) {
  double v;
  OK(dnacl_average_precision(y, s, n, 1, &v));
  return v;
}

static void test_hand_cases(void) {
  float y[6] = {0, 0, 0, 1, 1, 1};
  float up[6] = {0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.9f};
  float down[6] = {0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f};
  float tie[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  NEAR(auroc(y, up, 6), 1.0, 0, "perfect ranking AUROC 1");
  NEAR(ap(y, up, 6), 1.0, 0, "perfect ranking AP 1");
  NEAR(auroc(y, down, 6), 0.0, 0, "inverted ranking AUROC 0");
  /* Inverted: positives are found at ranks 4, 5, 6: AP = (1/4 + 2/5 + 3/6) / 3. */
  NEAR(ap(y, down, 6), (0.25 + 0.4 + 0.5) / 3, 1e-15, "inverted AP");
  NEAR(auroc(y, tie, 6), 0.5, 0, "all ties AUROC 0.5");
  /* One threshold: recall 0 -> 1 at precision 3/6. */
  NEAR(ap(y, tie, 6), 0.5, 0, "all ties AP = prevalence");

  /* One tie across classes: pairs (pos, neg) = 9, one of them tied counts 1/2. */
  float half[6] = {0.1f, 0.2f, 0.5f, 0.5f, 0.8f, 0.9f};
  NEAR(auroc(y, half, 6), 8.5 / 9, 1e-15, "one tied pair");

  float one_class[3] = {1, 1, 1}, s3[3] = {0.1f, 0.2f, 0.3f};
  CHECK(isnan(auroc(one_class, s3, 3)), "one class: AUROC NaN");
  CHECK(isnan(ap(one_class, s3, 3)), "one class: AP NaN");
  CHECK(isnan(auroc(NULL, NULL, 0)), "no rows: NaN");

  /* A strided column of an (N,2) array. */
  float y2[8] = {0, 9, 1, 9, 0, 9, 1, 9}, s2[8] = {0.2f, 0, 0.4f, 0, 0.1f, 0, 0.3f, 0};
  double v;
  OK(dnacl_auroc(y2, s2, 4, 2, &v));
  NEAR(v, 1.0, 0, "strided column");

  double acc;
  float probs[6] = {0.2f, 0.5f, 0.6f, 0.5001f, 0.9f, 0.4f};
  OK(dnacl_accuracy(y, probs, 6, 1, &acc));
  /* 0.5 exactly predicts negative: correct at 0, 1, 3, 4 -> 4/6. */
  NEAR(acc, 4.0 / 6, 1e-15, "accuracy at 0.5 (got %g)", acc);

  double bce;
  float lg[2] = {0.0f, 100.0f}, yy[2] = {1, 0};
  OK(dnacl_bce_mean(yy, lg, 2, 1, &bce));
  NEAR(bce, (log(2.0) + 100.0) / 2, 1e-12, "stable BCE at a large logit (got %g)", bce);
}

static void test_errors(void) {
  float y[3] = {0, 0.5f, 1}, s[3] = {0, 1, 2};
  double v;
  dnacl_status st = dnacl_auroc(y, s, 3, 1, &v);
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "row 1"), "soft label: %s",
        dnacl_last_error());
  float y2[3] = {0, 1, 1}, s2[3] = {0, NAN, 2};
  st = dnacl_average_precision(y2, s2, 3, 1, &v);
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "row 1"), "NaN score: %s",
        dnacl_last_error());
  float yt[4] = {0, 1, 1, 1}, xt[4] = {0, 1, 2, INFINITY};
  st = dnacl_metrics_tasks(yt, xt, 2, 2, NULL, NULL);
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "task 1, row 1"),
        "error names task and row: %s", dnacl_last_error());
  CHECK(dnacl_metrics_tasks(yt, xt, 2, 0, NULL, NULL) == DNACL_ERR_ARG, "zero tasks");
}

static uint32_t lcg(uint32_t *st) { return *st = *st * 1664525u + 1013904223u; }

/* The (N,T) = (257,3) set; Python:
 *   def lcg(st): while True: st = (st*1664525 + 1013904223) & 0xffffffff; yield st
 *   g = lcg(12345); for i in range(N): for t in range(T):
 *     r1 = next(g) >> 16; r2 = next(g) >> 16; q = r1 % 41; X[i,t] = q/8 - 2.5
 *     Y[i,t] = t == 0: (r2%100) < 20 + 3*q//2;  t == 1: (r2%100) < 40 + q//4;  t == 2: 0 */
static void test_sklearn_tasks(void) {
  enum { N = 257, T = 3 };
  static float Y[N * T], X[N * T];
  uint32_t st = 12345;
  for (int i = 0; i < N; i++)
    for (int t = 0; t < T; t++) {
      uint32_t r1 = lcg(&st) >> 16, r2 = lcg(&st) >> 16, q = r1 % 41;
      X[i * T + t] = (float)(q / 8.0 - 2.5);
      int pos = t == 0 ? (r2 % 100) < 20 + 3 * q / 2 : t == 1 ? (r2 % 100) < 40 + q / 4 : 0;
      Y[i * T + t] = (float)pos;
    }
  dnacl_task_metrics m[T], sum;
  OK(dnacl_metrics_tasks(Y, X, N, T, m, &sum));
  /* sklearn.metrics.roc_auc_score(Y[:,t], X[:,t]) and
   * sklearn.metrics.average_precision_score(Y[:,t], X[:,t]), sklearn 1.2.1. */
  const double want_auroc[2] = {0.68641706046286199, 0.48506060606060608};
  const double want_ap[2] = {0.71171090123692726, 0.4635538714950509};
  /* numpy float64: mean(maximum(x,0) - x*y + log1p(exp(-abs(x)))) and
   * mean((1/(1+exp(-x)) > 0.5) == (y == 1)). */
  const double want_bce[3] = {0.68852086765003273, 0.94148563953372522, 0.86263629745506798};
  const double want_acc[3] = {0.63035019455252916, 0.46692607003891051, 0.54863813229571989};
  const size_t want_pos[3] = {126, 125, 0};
  for (int t = 0; t < T; t++) {
    if (t < 2) {
      NEAR(m[t].auroc, want_auroc[t], 1e-12, "task %d AUROC %.17g vs sklearn %.17g", t,
           m[t].auroc, want_auroc[t]);
      NEAR(m[t].aupr, want_ap[t], 1e-12, "task %d AP %.17g vs sklearn %.17g", t, m[t].aupr,
           want_ap[t]);
    }
    NEAR(m[t].loss, want_bce[t], 1e-12, "task %d BCE %.17g", t, m[t].loss);
    NEAR(m[t].accuracy, want_acc[t], 1e-15, "task %d accuracy %.17g", t, m[t].accuracy);
    CHECK(m[t].n_pos == want_pos[t] && m[t].n == N, "task %d counts %zu %zu", t, m[t].n_pos,
          m[t].n);
  }
  CHECK(isnan(m[2].auroc) && isnan(m[2].aupr), "single-class task gets NaN");
  NEAR(sum.auroc, (want_auroc[0] + want_auroc[1]) / 2, 1e-12, "macro AUROC skips NaN");
  NEAR(sum.aupr, (want_ap[0] + want_ap[1]) / 2, 1e-12, "macro AP skips NaN");
  NEAR(sum.loss, (want_bce[0] + want_bce[1] + want_bce[2]) / 3, 1e-12, "overall BCE");
  NEAR(sum.accuracy, (want_acc[0] + want_acc[1] + want_acc[2]) / 3, 1e-12, "overall accuracy");
  printf("  (257,3) set: AUROC %.6f %.6f, AP %.6f %.6f\n", m[0].auroc, m[1].auroc, m[0].aupr,
         m[1].aupr);
}

/* 5000 distinct-ish continuous scores; Python:
 *   g = lcg(777); r1 = next(g); r2 = next(g) >> 16; x = float32(r1 / 2**32)
 *   y = (r2 % 1000) < 300 + int(400 * float(x)) */
static void test_sklearn_big(void) {
  enum { N = 5000 };
  static float y[N], x[N];
  uint32_t st = 777;
  for (int i = 0; i < N; i++) {
    uint32_t r1 = lcg(&st), r2 = lcg(&st) >> 16;
    x[i] = (float)(r1 / 4294967296.0);
    y[i] = (float)((r2 % 1000) < 300u + (unsigned)(int)(400.0 * (double)x[i]));
  }
  /* sklearn.metrics.roc_auc_score(y, x), average_precision_score(y, x), sklearn 1.2.1 */
  NEAR(auroc(y, x, N), 0.61842841369157153, 1e-12, "5000 rows AUROC %.17g", auroc(y, x, N));
  NEAR(ap(y, x, N), 0.59931055819417267, 1e-12, "5000 rows AP %.17g", ap(y, x, N));
}

/* The small example with ties:
 * roc_auc_score([0,0,1,1,0,1,0,1,1,0], [.1,.4,.35,.8,.4,.8,.2,.35,.9,.8]) = 0.72,
 * average_precision_score(same) = 0.75 (sklearn 1.2.1; also by hand: thresholds .9 (P 1/1),
 * .8 (P 3/4, +2 pos), .4, .35 (P 5/8, +2 pos) -> (1 + 2*.75 + 2*.625)/5 = 0.75). */
static void test_small_ties(void) {
  float y[10] = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
  float s[10] = {0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.8f, 0.2f, 0.35f, 0.9f, 0.8f};
  NEAR(auroc(y, s, 10), 0.72, 1e-15, "small ties AUROC %.17g", auroc(y, s, 10));
  NEAR(ap(y, s, 10), 0.75, 1e-15, "small ties AP %.17g", ap(y, s, 10));
}

int main(void) {
  test_hand_cases();
  test_errors();
  test_small_ties();
  test_sklearn_tasks();
  test_sklearn_big();
  return harness_summary();
}

/* Sequence loading (src/io/seqdata.h): exact one-hot values and labels from small CSV,
 * TSV, FASTA and HDF5 files in tests/data/, padding and cropping, the shipped ZBED2 set,
 * and every kind of bad input with the file, record and position in its message. Needs
 * no OpenCL device. tests/data/make_h5.py wrote the committed .h5 inputs; files this test
 * writes go to build/test_seqdata/. */
#include <sys/stat.h>

#include "harness.h"
#include "dnacl.h"
#include "io/seqdata.h"

#define TMPDIR DNACL_TEST_TMPDIR "/seqdata"

/* The expected row of a sequence, built here independently of the library's encoder:
 * 'N' is n_value in all four channels, '0' marks a padding column (all zeros). */
static void expect_row(const char *label, const dnacl_seqset *s, int i, const char *want, float n_value) {
  int L = s->length;
  CHECK((int)strlen(want) == L, "%s: expected string has length %d, set has %d", label, (int)strlen(want), L);
  if ((int)strlen(want) != L || i >= s->n) return;
  const float *x = s->x + (size_t)i * 4 * L;
  int bad = 0;
  for (int p = 0; p < L && !bad; p++)
    for (int c = 0; c < 4; c++) {
      char b = want[p];
      float e = b == '0' ? 0.0f
              : (b == 'N' || b == 'n') ? n_value
              : (strchr("Aa", b) && c == 0) || (strchr("Cc", b) && c == 1) ||
                        (strchr("Gg", b) && c == 2) || (strchr("Tt", b) && c == 3) ? 1.0f : 0.0f;
      if (x[(size_t)c * L + p] != e) {
        CHECK(0, "%s: record %d position %d channel %d is %g, want %g (sequence %s)", label, i, p + 1,
              c, (double)x[(size_t)c * L + p], (double)e, want);
        bad = 1;
        break;
      }
    }
  h_checks++;
}

/* Load that must fail with status want and a message containing every needle. */
static void expect_fail(const char *path, const dnacl_load_opts *o, dnacl_status want, const char *const *needles) {
  dnacl_seqset s;
  dnacl_status st = dnacl_seqset_load(path, o, &s);
  const char *e = dnacl_last_error();
  CHECK(st == want, "%s: status %s, want %s (%s)", path, dnacl_status_name(st), dnacl_status_name(want), e);
  for (const char *const *n = needles; *n; n++)
    CHECK(strstr(e, *n), "%s: message lacks \"%s\": %s", path, *n, e);
  CHECK(s.n == 0 && !s.x && !s.y && !s.ids, "%s: a failed load leaves the set empty", path);
  printf("  expected error: %s\n", e);
  dnacl_seqset_free(&s);
}
#define FAILS(path, o, want, ...) expect_fail(path, o, want, (const char *const[]){__VA_ARGS__, NULL})

static void test_encoder(void) {
  float out[4 * 12];
  for (int i = 0; i < 48; i++) out[i] = -7;
  CHECK(dnacl_onehot_encode("ACGTNacgtn", 10, 0.25f, out, 12) == 0, "clean sequence");
  const char *want = "ACGTNacgtn";
  for (int p = 0; p < 10; p++)
    for (int c = 0; c < 4; c++) {
      float e = (want[p] == 'N' || want[p] == 'n') ? 0.25f : ("ACGT"[c] == (want[p] & ~32)) ? 1.0f : 0.0f;
      CHECK(out[c * 12 + p] == e, "encode position %d channel %d: %g want %g", p, c, (double)out[c * 12 + p], (double)e);
    }
  CHECK(out[10] == -7 && out[11] == -7 && out[3 * 12 + 11] == -7, "columns past len are not written");
  CHECK(dnacl_onehot_encode("ACGRT", 5, 1.0f, out, 12) == 4, "bad character position is 1-based");
  CHECK(dnacl_onehot_encode("acgt-", 5, 1.0f, out, 12) == 5, "a dash is not a base");
  char back[11] = {0};
  dnacl_onehot_encode("ACGTNacgtn", 10, 1.0f, out, 12);
  dnacl_onehot_decode(out, 10, 12, back);
  CHECK(!strcmp(back, "ACGTNACGTN"), "decode: %s", back);
}

static void test_csv(void) {
  dnacl_load_opts o = dnacl_load_opts_default();
  dnacl_seqset s;
  OK(dnacl_seqset_load("tests/data/good.csv", &o, &s));
  CHECK(s.n == 5 && s.length == 10 && s.n_tasks == 1, "good.csv: n %d length %d tasks %d", s.n, s.length, s.n_tasks);
  CHECK(s.n_tasks == 1 && !strcmp(s.task_names[0], "CTCF"), "a one-TF file names its task after the TF");
  const char *seqs[5] = {"ACGTACGTAC", "acgtNNcgta", "TTTTGGGGCC", "GGGGCCCCAA", "CAGTnaGTCA"};
  const float labels[5] = {1, 0, 1, 0, 1};
  for (int i = 0; i < 5 && i < s.n; i++) {
    char id[16];
    snprintf(id, sizeof id, "row%d", i + 1);
    expect_row("good.csv", &s, i, seqs[i], 0.25f);
    CHECK(s.y[i] == labels[i] && !strcmp(s.ids[i], id), "good.csv row %d: label %g id %s", i + 1, (double)s.y[i], s.ids[i]);
  }
  dnacl_seqset_free(&s);

  /* Splits from the subset column; "validation" is the valid split too. */
  o.split = "valid";
  o.n_value = 1.0f;
  OK(dnacl_seqset_load("tests/data/good.csv", &o, &s));
  CHECK(s.n == 2 && !strcmp(s.ids[0], "row3") && !strcmp(s.ids[1], "row5"), "valid split: rows 3 and 5");
  expect_row("good.csv valid N=1", &s, 1, "CAGTnaGTCA", 1.0f);
  dnacl_seqset_free(&s);
  o.split = "train";
  OK(dnacl_seqset_load("tests/data/good.csv", &o, &s));
  CHECK(s.n == 2 && s.y[0] == 1 && s.y[1] == 0, "train split: 2 rows");
  expect_row("good.csv train N=1", &s, 1, "acgtNNcgta", 1.0f);
  dnacl_seqset_free(&s);
  o.split = "test";
  OK(dnacl_seqset_load("tests/data/good.csv", &o, &s));
  CHECK(s.n == 1 && !strcmp(s.ids[0], "row4"), "test split: row 4");
  dnacl_seqset_free(&s);
  o.split = "holdout";
  FAILS("tests/data/good.csv", &o, DNACL_ERR_PARSE, "good.csv", "no records with subset 'holdout'");

  int has = -1;
  OK(dnacl_seqset_has_split("tests/data/good.csv", "validation", &has));
  CHECK(has == 1, "good.csv has a valid split");
  OK(dnacl_seqset_has_split("tests/data/good.csv", "holdout", &has));
  CHECK(has == 0, "good.csv has no holdout split");
  OK(dnacl_seqset_has_split("tests/data/good.fa", "train", &has));
  CHECK(has == 0, "FASTA has no splits");
  OK(dnacl_seqset_has_split("data/ZBED2_400_h3k27ac.h5", "valid", &has));
  CHECK(has == 1, "ZBED2 has X_valid");

  /* Tab-separated, CRLF, a byte order mark, a blank line, an id column, two label
   * columns around an ignored one. */
  OK(dnacl_seqset_load("tests/data/multi.tsv", NULL, &s));
  CHECK(s.n == 3 && s.length == 4 && s.n_tasks == 2, "multi.tsv: n %d length %d tasks %d", s.n, s.length, s.n_tasks);
  if (s.n == 3 && s.n_tasks == 2) {
    CHECK(!strcmp(s.task_names[0], "label_a") && !strcmp(s.task_names[1], "label_b"), "task names from the header");
    CHECK(!strcmp(s.ids[0], "first") && !strcmp(s.ids[1], "second") && !strcmp(s.ids[2], "third"), "ids from the id column");
    const float y[6] = {1, 0, 0, 0.5f, -1, 2};
    for (int i = 0; i < 6; i++) CHECK(s.y[i] == y[i], "multi.tsv y[%d] = %g, want %g", i, (double)s.y[i], (double)y[i]);
    expect_row("multi.tsv", &s, 1, "NNGG", 0.25f);
    expect_row("multi.tsv", &s, 2, "tgca", 0.25f);
  }
  dnacl_seqset_free(&s);

  OK(dnacl_seqset_load("tests/data/quoted.csv", NULL, &s));
  CHECK(s.n == 2 && !strcmp(s.ids[0], "a, quoted") && !strcmp(s.ids[1], "say \"hi\""), "quoted fields");
  expect_row("quoted.csv", &s, 1, "GGCC", 0.25f);
  dnacl_seqset_free(&s);

  /* Several TFs in one file: refused unless one is chosen. */
  FAILS("tests/data/mixed_tf.csv", NULL, DNACL_ERR_ARG, "mixed_tf.csv", "CTCF", "YY1", "line 4");
  o = dnacl_load_opts_default();
  o.tf = "YY1";
  OK(dnacl_seqset_load("tests/data/mixed_tf.csv", &o, &s));
  CHECK(s.n == 1 && !strcmp(s.task_names[0], "YY1") && !strcmp(s.ids[0], "row3"), "tf filter");
  expect_row("mixed_tf.csv YY1", &s, 0, "GGGG", 0.25f);
  dnacl_seqset_free(&s);
}

static void test_fasta(void) {
  dnacl_seqset s;
  OK(dnacl_seqset_load("tests/data/good.fa", NULL, &s));
  CHECK(s.n == 3 && s.length == 10 && s.n_tasks == 1, "good.fa: n %d length %d tasks %d", s.n, s.length, s.n_tasks);
  if (s.n == 3) {
    CHECK(!strcmp(s.ids[0], "seq1") && !strcmp(s.ids[2], "seq3"), "FASTA ids");
    CHECK(s.y[0] == 1 && s.y[1] == 0 && s.y[2] == 1, "labels from the header");
    CHECK(!strcmp(s.task_names[0], "label"), "one unnamed task is 'label'");
    expect_row("good.fa", &s, 0, "ACGTACGTAC", 0.25f);
    expect_row("good.fa", &s, 1, "acgtNNcgta", 0.25f);
    expect_row("good.fa", &s, 2, "TTTTGGGGCC", 0.25f); /* blanks and CR in the lines skipped */
  }
  dnacl_seqset_free(&s);

  OK(dnacl_seqset_load("tests/data/keys.fa", NULL, &s));
  CHECK(s.n == 2 && s.n_tasks == 2, "keys.fa: n %d tasks %d", s.n, s.n_tasks);
  if (s.n == 2 && s.n_tasks == 2) {
    CHECK(!strcmp(s.task_names[0], "label_CTCF") && !strcmp(s.task_names[1], "label_YY1"), "tasks named by keys");
    CHECK(s.y[0] == 1 && s.y[1] == 0 && s.y[2] == 0.5f && s.y[3] == 1, "labels by key, in any order");
    expect_row("keys.fa", &s, 1, "NNNNACGT", 0.25f);
  }
  dnacl_seqset_free(&s);

  dnacl_load_opts o = dnacl_load_opts_default();
  o.labels_tsv = "tests/data/nolabel_labels.tsv";
  OK(dnacl_seqset_load("tests/data/nolabel.fa", &o, &s));
  CHECK(s.n == 3 && s.n_tasks == 2, "side table: n %d tasks %d", s.n, s.n_tasks);
  if (s.n == 3 && s.n_tasks == 2) {
    CHECK(!strcmp(s.task_names[0], "bound") && !strcmp(s.task_names[1], "open"), "tasks named by the table header");
    const float y[6] = {0, 1, 1, 1, 1, 0};
    for (int i = 0; i < 6; i++) CHECK(s.y[i] == y[i], "side table y[%d] = %g, want %g", i, (double)s.y[i], (double)y[i]);
    expect_row("nolabel.fa", &s, 2, "TTTTAA", 0.25f);
  }
  dnacl_seqset_free(&s);

  /* Without the table the description is not a label... unless labels are optional. */
  FAILS("tests/data/nolabel.fa", NULL, DNACL_ERR_PARSE, "nolabel.fa", "record 1 (r1)", "'some'");
  o = dnacl_load_opts_default();
  o.allow_unlabelled = 1;
  OK(dnacl_seqset_load("tests/data/nolabel.fa", &o, &s));
  CHECK(s.n == 3 && s.n_tasks == 0 && !s.y, "unlabelled FASTA: n %d tasks %d", s.n, s.n_tasks);
  dnacl_seqset_free(&s);
  o.labels_tsv = "tests/data/nolabel_labels.tsv";
  FAILS("tests/data/good.fa", &o, DNACL_ERR_PARSE, "good.fa", "record 1 (seq1)", "missing label", "nolabel_labels.tsv");
}

static void test_lengths(void) {
  const char *f = "tests/data/ragged.fa"; /* a: 8, b: 6, c: 10, d: 11 bases */
  FAILS(f, NULL, DNACL_ERR_PARSE, "ragged.fa", ":3:", "record 2 (b)", "length 6", "record 1 (a)");
  dnacl_load_opts o = dnacl_load_opts_default();
  dnacl_seqset s;
  o.pad_to = 12; /* zeros split evenly, the odd one on the right */
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.n == 4 && s.length == 12, "pad to 12: n %d length %d", s.n, s.length);
  expect_row("pad 12", &s, 0, "00ACGTACGT00", 0.25f);
  expect_row("pad 12", &s, 1, "000ACGTAC000", 0.25f);
  expect_row("pad 12", &s, 3, "AACCGGTTAAC0", 0.25f);
  dnacl_seqset_free(&s);
  o.pad_to = 0;
  o.crop_to = 6; /* the centre, the odd extra base dropped on the right */
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.n == 4 && s.length == 6, "crop to 6");
  expect_row("crop 6", &s, 0, "CGTACG", 0.25f);
  expect_row("crop 6", &s, 1, "ACGTAC", 0.25f);
  expect_row("crop 6", &s, 3, "CCGGTT", 0.25f);
  dnacl_seqset_free(&s);
  o.crop_to = -1;
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.length == 6, "crop to the shortest: %d", s.length);
  dnacl_seqset_free(&s);
  o.crop_to = 0;
  o.pad_to = -1;
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.length == 11, "pad to the longest: %d", s.length);
  expect_row("pad longest", &s, 0, "0ACGTACGT00", 0.25f);
  dnacl_seqset_free(&s);
  o.pad_to = o.crop_to = 9;
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.length == 9, "fit to 9");
  expect_row("fit 9", &s, 1, "0ACGTAC00", 0.25f);
  expect_row("fit 9", &s, 3, "ACCGGTTAA", 0.25f);
  dnacl_seqset_free(&s);
  o.pad_to = 8;
  o.crop_to = 0;
  FAILS(f, &o, DNACL_ERR_PARSE, "ragged.fa", "record 3 (c)", "length 10");
  o.crop_to = 10;
  FAILS(f, &o, DNACL_ERR_ARG, "ragged.fa", "padding to 8 and cropping to 10");
  o.pad_to = 0;
  o.crop_to = 7;
  FAILS(f, &o, DNACL_ERR_PARSE, "ragged.fa", "record 2 (b)", "shorter");
  FAILS("tests/data/ragged.csv", NULL, DNACL_ERR_PARSE, "ragged.csv", ":4:", "record 3 (row3)", "length 7", "length 8");
}

static void test_bad_inputs(void) {
  FAILS("tests/data/bad_char.fa", NULL, DNACL_ERR_PARSE, "bad_char.fa:6:", "record 2 (bad2)", "position 12", "'X'");
  FAILS("tests/data/bad_char.csv", NULL, DNACL_ERR_PARSE, "bad_char.csv:4:", "record 3 (row3)", "position 7", "'-'");
  FAILS("tests/data/missing_label.csv", NULL, DNACL_ERR_PARSE, "missing_label.csv:3:", "record 2 (row2)", "missing label 'label'");
  FAILS("tests/data/missing_label.fa", NULL, DNACL_ERR_PARSE, "missing_label.fa:3:", "record 2 (x2)", "missing label");
  FAILS("tests/data/nonnumeric_label.csv", NULL, DNACL_ERR_PARSE, "nonnumeric_label.csv:3:", "record 2 (row2)", "'yes'");
  FAILS("tests/data/empty.fa", NULL, DNACL_ERR_PARSE, "empty.fa", "empty");
  FAILS("tests/data/empty.csv", NULL, DNACL_ERR_PARSE, "empty.csv", "empty");
  FAILS("tests/data/header_only.csv", NULL, DNACL_ERR_PARSE, "header_only.csv", "no sequence records");
  FAILS("tests/data/no_such_file.fa", NULL, DNACL_ERR_IO, "no_such_file.fa", "cannot open");
  FAILS("tests/data/good.fa.gz", NULL, DNACL_ERR_UNSUPPORTED, "good.fa.gz", "decompress");
  /* A row of another split is not read, so the bad row does not stop the test split. */
  dnacl_load_opts o = dnacl_load_opts_default();
  o.split = "test";
  dnacl_seqset s;
  OK(dnacl_seqset_load("tests/data/missing_label.csv", &o, &s));
  CHECK(s.n == 1 && !strcmp(s.ids[0], "row3") && s.y[0] == 0, "test split of missing_label.csv");
  dnacl_seqset_free(&s);
  FAILS("tests/data/good.fa", &o, DNACL_ERR_ARG, "good.fa", "no splits");
  FAILS("tests/data/bad_char.csv", &o, DNACL_ERR_ARG, "bad_char.csv", "no 'subset' column");
}

static void test_zbed2(void) {
  const char *f = "data/ZBED2_400_h3k27ac.h5";
  dnacl_load_opts o = dnacl_load_opts_default();
  o.split = "train";
  dnacl_seqset s;
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.n == 3431 && s.length == 400 && s.n_tasks == 1, "ZBED2 train: %d x 4 x %d, %d tasks", s.n, s.length, s.n_tasks);
  int bad_label = 0, bad_col = 0;
  double ones = 0;
  for (int i = 0; i < s.n; i++) {
    bad_label += s.y[i] != 0 && s.y[i] != 1;
    ones += s.y[i];
    for (int p = 0; p < s.length; p++) {
      const float *x = s.x + (size_t)i * 4 * s.length + p;
      float sum = x[0] + x[s.length] + x[2 * s.length] + x[3 * s.length];
      bad_col += sum != 1.0f;
    }
  }
  CHECK(bad_label == 0, "%d labels not 0/1", bad_label);
  CHECK(ones == 1729, "ZBED2 train has 1729 positives, got %g", ones);
  CHECK(bad_col == 0, "%d positions do not sum to 1", bad_col);
  char head[13] = {0};
  dnacl_onehot_decode(s.x, 12, s.length, head);
  CHECK(!strcmp(head, "GGGGAACGTCCC") && s.y[0] == 0 && !strcmp(s.ids[0], "train:0"), "train:0 starts %s", head);
  dnacl_seqset_free(&s);

  o.split = "validation"; /* finds X_valid */
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.n == 490 && !strcmp(s.ids[0], "valid:0"), "ZBED2 valid: %d", s.n);
  dnacl_seqset_free(&s);

  OK(dnacl_seqset_load(f, NULL, &s)); /* every split, train then valid then test */
  CHECK(s.n == 3431 + 490 + 981, "ZBED2 all splits: %d", s.n);
  if (s.n == 4902) {
    CHECK(!strcmp(s.ids[3431], "valid:0") && !strcmp(s.ids[4901], "test:980"), "ids across splits");
    dnacl_onehot_decode(s.x + (size_t)4901 * 4 * 400, 12, 400, head);
    CHECK(!strcmp(head, "GATTGCATTCCA") && s.y[4901] == 0, "test:980 starts %s", head);
  }
  dnacl_seqset_free(&s);

  o.split = "holdout";
  FAILS(f, &o, DNACL_ERR_PARSE, "ZBED2_400_h3k27ac.h5", "X_holdout", "X_train");
  o.split = "train";
  o.crop_to = 200;
  OK(dnacl_seqset_load(f, &o, &s));
  CHECK(s.n == 3431 && s.length == 200, "ZBED2 cropped to 200");
  dnacl_onehot_decode(s.x, 12, s.length, head);
  dnacl_seqset full;
  dnacl_load_opts o2 = dnacl_load_opts_default();
  o2.split = "train";
  OK(dnacl_seqset_load(f, &o2, &full));
  char mid[13] = {0};
  dnacl_onehot_decode(full.x + 100, 12, 400, mid);
  CHECK(!strcmp(head, mid), "crop keeps the centre: %s vs %s", head, mid);
  dnacl_seqset_free(&full);
  dnacl_seqset_free(&s);
}

static void test_h5_layouts(void) {
  dnacl_load_opts o = dnacl_load_opts_default();
  o.split = "train";
  o.n_value = 1.0f; /* the file's 0.25 N comes back as the caller's choice */
  dnacl_seqset s;
  OK(dnacl_seqset_load("tests/data/channels_last.h5", &o, &s));
  CHECK(s.n == 3 && s.length == 6 && s.n_tasks == 1, "(N, L, 4) float64: n %d length %d tasks %d", s.n, s.length, s.n_tasks);
  if (s.n == 3) {
    expect_row("channels_last", &s, 0, "ACGTNA", 1.0f);
    expect_row("channels_last", &s, 1, "GGCC0T", 1.0f);
    expect_row("channels_last", &s, 2, "TTTTTT", 1.0f);
    CHECK(s.y[0] == 1 && s.y[1] == 0 && s.y[2] == 1, "1-D uint8 labels");
  }
  dnacl_seqset_free(&s);
  o.split = "valid";
  OK(dnacl_seqset_load("tests/data/channels_last.h5", &o, &s));
  CHECK(s.n == 2 && s.n_tasks == 2 && s.y[1] == 0 && s.y[3] == 1 && !strcmp(s.task_names[1], "task1"), "int16 (N, 2) labels");
  expect_row("channels_first", &s, 1, "CCCCCC", 1.0f);
  dnacl_seqset_free(&s);
  FAILS("tests/data/channels_last.h5", NULL, DNACL_ERR_SHAPE, "channels_last.h5", "Y_valid", "2 tasks");
  FAILS("tests/data/not_onehot.h5", NULL, DNACL_ERR_PARSE, "not_onehot.h5", "record 2 (train:1)", "position 4", "X_train", "0.5");
}

static void test_h5_write(void) {
  mkdir("build", 0755);
  mkdir(TMPDIR, 0755);
  dnacl_seqset a, b;
  OK(dnacl_seqset_load("tests/data/good.csv", NULL, &a));
  dnacl_load_opts o = dnacl_load_opts_default();
  o.split = "valid";
  OK(dnacl_seqset_load("tests/data/good.csv", &o, &b));
  const dnacl_seqset *sets[2] = {&a, &b};
  const char *splits[2] = {"train", "valid"};
  OK(dnacl_seqset_save_h5(TMPDIR "/roundtrip.h5", sets, splits, 2));
  dnacl_seqset r;
  OK(dnacl_seqset_load(TMPDIR "/roundtrip.h5", NULL, &r));
  CHECK(r.n == 7 && r.length == 10 && r.n_tasks == 1, "round trip: n %d", r.n);
  if (r.n == 7) {
    CHECK(!memcmp(r.x, a.x, (size_t)5 * 40 * sizeof(float)) && !memcmp(r.x + 200, b.x, (size_t)2 * 40 * sizeof(float)),
          "one-hot (with N) survives the round trip");
    CHECK(!memcmp(r.y, a.y, 5 * sizeof(float)) && r.y[5] == b.y[0] && r.y[6] == b.y[1], "labels survive");
    CHECK(!strcmp(r.ids[5], "valid:0"), "ids of the written file");
  }
  dnacl_seqset_free(&r);

  /* A file without Y_train: written from an unlabelled set. */
  dnacl_seqset u = a;
  u.n_tasks = 0;
  u.y = NULL;
  const dnacl_seqset *one[1] = {&u};
  OK(dnacl_seqset_save_h5(TMPDIR "/no_y.h5", one, splits, 1));
  FAILS(TMPDIR "/no_y.h5", NULL, DNACL_ERR_PARSE, "no_y.h5", "no dataset 'Y_train'", "X_train");
  o = dnacl_load_opts_default();
  o.split = "train";
  FAILS(TMPDIR "/no_y.h5", &o, DNACL_ERR_PARSE, "no_y.h5", "'Y_train'");
  o.allow_unlabelled = 1;
  OK(dnacl_seqset_load(TMPDIR "/no_y.h5", &o, &r));
  CHECK(r.n == 5 && r.n_tasks == 0 && !r.y, "unlabelled HDF5 for prediction");
  dnacl_seqset_free(&r);
  dnacl_seqset_free(&a);
  dnacl_seqset_free(&b);

  /* A text file named .h5, and format sniffing of files without an extension. */
  FILE *fp = fopen(TMPDIR "/fake.h5", "w");
  fputs(">a 1\nACGT\n", fp);
  fclose(fp);
  FAILS(TMPDIR "/fake.h5", NULL, DNACL_ERR_PARSE, "fake.h5", "not an HDF5 file");
  fp = fopen(TMPDIR "/sniff_fasta", "w");
  fputs("\n>a 1\nACGT\n", fp);
  fclose(fp);
  OK(dnacl_seqset_load(TMPDIR "/sniff_fasta", NULL, &r));
  CHECK(r.n == 1 && r.length == 4, "sniffed FASTA");
  dnacl_seqset_free(&r);
  fp = fopen(TMPDIR "/sniff_tsv", "w");
  fputs("sequence\tlabel\nACGT\t1\n", fp);
  fclose(fp);
  OK(dnacl_seqset_load(TMPDIR "/sniff_tsv", NULL, &r));
  CHECK(r.n == 1 && r.y[0] == 1, "sniffed TSV");
  dnacl_seqset_free(&r);
  fp = fopen(TMPDIR "/sniff_unknown", "w");
  fputs("hello world\n", fp);
  fclose(fp);
  FAILS(TMPDIR "/sniff_unknown", NULL, DNACL_ERR_PARSE, "sniff_unknown", "cannot tell the format");
}

int main(void) {
  test_encoder();
  test_csv();
  test_fasta();
  test_lengths();
  test_bad_inputs();
  test_zbed2();
  test_h5_layouts();
  test_h5_write();
  return harness_summary();
}

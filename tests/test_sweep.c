/* Sweeps without a device: model overrides and the YAML round trip on every shipped model;
 * sweep files (every shipped one and tests/data/sweeps), the grid's cells, ids, seeds and
 * shards; errors with file:line:col and a caret; the sweep id ignoring layout but not
 * content (XXH64 of the data files, checked against the reference); results.tsv (sorted rows, a cut-off last line ignored, atomic writes); the
 * summary figure from a table alone. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/model_spec.h"
#include "sweep/content_hash.h"
#include "sweep/evals.h"
#include "sweep/override.h"
#include "sweep/sweep.h"

/* ---- overrides ------------------------------------------------------------------------- */

static void test_roundtrip_shipped(void) {
  DIR *dir = opendir("yaml/models");
  CHECK(dir != NULL, "cannot open yaml/models");
  if (!dir) return;
  struct dirent *e;
  int seen = 0;
  while ((e = readdir(dir))) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
    char path[512];
    snprintf(path, sizeof path, "yaml/models/%s", e->d_name);
    dnacl_model_spec s, c, back;
    OK(dnacl_model_spec_load(path, &s));
    OK(dnacl_spec_copy(&s, &c));
    OK(dnacl_spec_refresh_text(&c, "a comment\nover two lines"));
    CHECK(!strncmp(c.text, "# a comment\n# over two lines\n", 29), "%s: comment first", path);
    OK(dnacl_model_spec_parse(path, c.text, &back));
    CHECK(dnacl_spec_same_layers(&s, &back), "%s: written back as YAML, it reads the same layers", path);
    CHECK((s.description == NULL) == (back.description == NULL) &&
              (!s.description || !strcmp(s.description, back.description)),
          "%s: description kept", path);
    dnacl_model_spec_free(&s);
    dnacl_model_spec_free(&c);
    dnacl_model_spec_free(&back);
    seen++;
  }
  closedir(dir);
  CHECK(seen >= 10, "round trip on %d shipped models", seen);
}

static void test_overrides(void) {
  dnacl_model_spec s, back;
  OK(dnacl_model_spec_load("yaml/models/cnn_dist.yaml", &s));
  OK(dnacl_spec_override(&s, "conv1.filters", "48"));
  OK(dnacl_spec_override(&s, "activation", "exponential"));
  OK(dnacl_spec_override(&s, "conv3.padding", "same"));
  OK(dnacl_spec_override(&s, "drop1.p", "0.25"));
  OK(dnacl_spec_override(&s, "conv1.bias", "true"));
  OK(dnacl_spec_override(&s, "pool1.window", "2"));
  OK(dnacl_spec_refresh_text(&s, NULL));
  OK(dnacl_model_spec_parse("x.yaml", s.text, &back));
  CHECK(back.layers[0].filters == 48 && back.layers[0].bias == 1, "conv1 filters 48, bias");
  CHECK(back.layers[2].act == DNACL_ACT_EXP && back.ablation_layer == 2, "ablated activation now exponential");
  CHECK(back.layers[9].same_padding == 1, "conv3 same padding");
  CHECK(back.layers[3].p == 0.25f, "dropout 0.25");
  CHECK(back.layers[8].window == 2 && back.layers[8].stride == 2, "pool window 2 and its stride with it, got %d/%d",
        back.layers[8].window, back.layers[8].stride);
  CHECK(strstr(s.text, "fn: exponential, ablate: true") != NULL, "text shows the override");
  dnacl_model_spec_free(&back);

  dnacl_status st = dnacl_spec_override(&s, "conv9.filters", "3");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "has no layer 'conv9'; its layers: conv1, bn1, act1"),
        "missing layer: %s", dnacl_last_error());
  st = dnacl_spec_override(&s, "conv1.filter", "3");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "whose options are filters, kernel, padding, dilation, bias; "
                                                          "got 'filter' (did you mean 'filters'?)"),
        "misspelt key: %s", dnacl_last_error());
  st = dnacl_spec_override(&s, "conv1.filters", "0");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "conv1.filters must be between 1 and"), "range: %s",
        dnacl_last_error());
  st = dnacl_spec_override(&s, "drop1.p", "1");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "drop1.p must be in [0, 1), got 1"), "open range: %s",
        dnacl_last_error());
  st = dnacl_spec_override(&s, "conv1.filters", "4x");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "expects an integer, got '4x'"), "type: %s",
        dnacl_last_error());
  st = dnacl_spec_override(&s, "activation", "swish");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "unknown activation 'swish'; known:"), "act name: %s",
        dnacl_last_error());
  st = dnacl_spec_override(&s, "flatten1.x", "1");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "is a flatten, which has no options"), "flatten: %s",
        dnacl_last_error());
  st = dnacl_spec_override(&s, "lr", "1");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "neither 'activation' nor '<layer>.<option>'"),
        "no dot: %s", dnacl_last_error());
  dnacl_model_spec_free(&s);

  /* A model without `ablate: true` cannot take an activation sweep; a residual block and a
   * named layer survive the round trip. */
  OK(dnacl_model_spec_parse("m.yaml",
                            "length: 20\ntasks: 2\nlayers:\n  - conv1d: {filters: 4, kernel: 3, name: first}\n"
                            "  - residual:\n      layers:\n        - conv1d: {filters: 4, kernel: 3}\n"
                            "        - activation: relu\n  - flatten\n  - dense: 2\n",
                            &s));
  st = dnacl_spec_override(&s, "activation", "relu");
  CHECK(st == DNACL_ERR_ARG && strstr(dnacl_last_error(), "no activation marked 'ablate: true'"), "no ablate: %s",
        dnacl_last_error());
  OK(dnacl_spec_override(&s, "first.kernel", "5"));
  OK(dnacl_spec_refresh_text(&s, NULL));
  OK(dnacl_model_spec_parse("m2.yaml", s.text, &back));
  CHECK(dnacl_spec_same_layers(&s, &back) && back.layers[0].kernel == 5 && back.layers[1].kind == DNACL_L_RESIDUAL_BEGIN &&
            back.layers[4].kind == DNACL_L_RESIDUAL_END,
        "residual round trip:\n%s", s.text);
  dnacl_model_spec_free(&back);
  dnacl_model_spec_free(&s);
}

/* ---- sweep files -------------------------------------------------------------------------- */

static const char *TINY =
    "name: t\n"
    "data: {file: ../../../data/ZBED2_400_h3k27ac.h5, crop: 200}\n"
    "models:\n"
    "  - ../../../yaml/models/cnn_local.yaml\n"
    "  - ../../../yaml/models/cnn_dist.yaml\n"
    "grid:\n"
    "  activation: [relu, exponential, tanh]\n"
    "  conv1.filters: [24, 32]\n"
    "  lr: [0.01, 0.001]\n"
    "  trials: 3\n"
    "train: {steps: 10, batch: 16, seed: 7}\n"
    "evaluate:\n"
    "  - classification\n";

static dnacl_status parse(const char *text, dnacl_sweep *sw) {
  return dnacl_sweep_parse("tests/data/sweeps/mem.yaml", text, sw);
}

static void test_cells(void) {
  dnacl_sweep sw;
  OK(parse(TINY, &sw));
  CHECK(sw.n_cells == 2 * 3 * 2 * 2 * 3, "72 cells, got %d", sw.n_cells);
  CHECK(sw.n_axes == 5 && sw.axes[0].kind == DNACL_AX_MODEL && sw.axes[1].kind == DNACL_AX_ACT &&
            sw.axes[2].kind == DNACL_AX_LAYER && sw.axes[3].kind == DNACL_AX_TRAIN && sw.axes[4].kind == DNACL_AX_TRIAL,
        "axes: model, activation, conv1.filters, lr, trial");
  CHECK(!strcmp(sw.data.file, "data/ZBED2_400_h3k27ac.h5"), "data path relative to the sweep file, normalised: %s",
        sw.data.file);
  dnacl_sweep_cell c;
  OK(dnacl_sweep_cell_at(&sw, 0, &c));
  CHECK(!strcmp(c.id, "model=cnn_local,activation=relu,conv1.filters=24,lr=0.01,trial=1"), "cell 0 id %s", c.id);
  CHECK(c.seed == 7, "cell 0 seed %u", c.seed);
  OK(dnacl_sweep_cell_at(&sw, 2, &c));
  CHECK(!strcmp(c.id, "model=cnn_local,activation=relu,conv1.filters=24,lr=0.01,trial=3") && c.seed == 9,
        "trials vary fastest, seed + trial - 1: %s %u", c.id, c.seed);
  OK(dnacl_sweep_cell_at(&sw, 71, &c));
  CHECK(!strcmp(c.id, "model=cnn_dist,activation=tanh,conv1.filters=32,lr=0.001,trial=3"), "last cell %s", c.id);
  CHECK(dnacl_sweep_cell_at(&sw, 72, &c) == DNACL_ERR_ARG, "cell 72 is outside");

  /* Ids unique; every cell in exactly one of 5 shards. */
  int ok = 1;
  for (int i = 0; i < sw.n_cells && ok; i++) {
    dnacl_sweep_cell a, b;
    OK(dnacl_sweep_cell_at(&sw, i, &a));
    for (int j = 0; j < i && ok; j++) {
      OK(dnacl_sweep_cell_at(&sw, j, &b));
      ok = strcmp(a.id, b.id) != 0;
    }
    int in = 0;
    for (int k = 1; k <= 5; k++) in += dnacl_sweep_in_shard(i, k, 5);
    ok = ok && in == 1 && dnacl_sweep_in_shard(i, 1, 1);
  }
  CHECK(ok, "ids unique, shards partition the cells");

  /* The cell's model and settings. */
  OK(dnacl_sweep_cell_at(&sw, 3 * 2 * 2 * 3 + 1 * 2 * 2 * 3 + 1 * 2 * 3 + 1 * 3 + 1, &c)); /* cnn_dist, exp, 32, 0.001, 2 */
  CHECK(!strcmp(c.id, "model=cnn_dist,activation=exponential,conv1.filters=32,lr=0.001,trial=2"), "picked %s", c.id);
  dnacl_model_spec m;
  OK(dnacl_sweep_cell_spec(&sw, &c, &m));
  CHECK(!strcmp(m.name, "cnn_dist") && m.layers[0].filters == 32 && m.layers[2].act == DNACL_ACT_EXP,
        "cell model has its overrides");
  CHECK(strstr(m.text, "cell 58: model=cnn_dist,activation=exponential") && strstr(m.text, "fn: exponential"),
        "cell model text says where it came from:\n%.300s", m.text);
  dnacl_model_spec_free(&m);
  dnacl_train_cfg cfg;
  OK(dnacl_sweep_cell_cfg(&sw, &c, "M.yaml", "RUN", &cfg));
  CHECK(cfg.lr == 0.001f && cfg.steps == 10 && cfg.batch == 16 && cfg.seed == 8 && cfg.load.crop_to == 200 &&
            !strcmp(cfg.model_path, "M.yaml") && !strcmp(cfg.out_dir, "RUN") && !cfg.resume,
        "cell training settings");
  char params[1024], shape[256];
  dnacl_sweep_cell_params(&sw, &c, params, sizeof params);
  CHECK(!strcmp(params, "58\tmodel=cnn_dist,activation=exponential,conv1.filters=32,lr=0.001,trial=2\tcnn_dist\t"
                        "exponential\t32\t0.001\t2\t8"),
        "row prefix '%s'", params);
  dnacl_sweep_shape(&sw, shape, sizeof shape);
  CHECK(!strcmp(shape, "2 models x 3 activation x 2 conv1.filters x 2 lr x 3 trial"), "shape '%s'", shape);
  CHECK(sw.n_columns == 7 + 2 + 4 + 3 && !strcmp(sw.columns[sw.first_metric], "test_loss") && sw.n_metrics == 4,
        "columns");
  dnacl_sweep_free(&sw);
}

static void test_identity(void) {
  dnacl_sweep a, b;
  OK(parse(TINY, &a));
  /* Layout, comments, flow vs block style and key order do not change the id. */
  OK(parse("# a comment\n"
           "evaluate: [classification]\n"
           "train:\n  seed: 7   # the base seed\n  batch: 16\n  steps: 10\n"
           "grid:\n  activation:\n    - relu\n    - exponential\n    - tanh\n  conv1.filters: [24, 32]\n"
           "  lr: [0.01, 0.001]\n  trials: 3\n"
           "models: [../../../yaml/models/cnn_local.yaml, ../../../yaml/models/cnn_dist.yaml]\n"
           "data:\n  crop: 200\n  file: ../../../data/ZBED2_400_h3k27ac.h5\n"
           "name: t\n",
           &b));
  CHECK(!strcmp(a.id, b.id), "same content, same id: %s vs %s", a.id, b.id);
  dnacl_sweep_free(&b);
  char *t = strdup(TINY);
  *strstr(t, "steps: 10") = 'S'; /* unknown key: an error */
  CHECK(parse(t, &b) == DNACL_ERR_PARSE, "Steps is not a key");
  strcpy(t, TINY);
  memcpy(strstr(t, "steps: 10"), "steps: 11", 9);
  OK(parse(t, &b));
  CHECK(strcmp(a.id, b.id) != 0, "another step count, another id");
  dnacl_sweep_free(&b);
  /* A grid's values are not in the id (a sweep grows in place: out_dir.h), its keys are. */
  strcpy(t, TINY);
  memcpy(strstr(t, "tanh"), "elu ", 4);
  OK(parse(t, &b));
  CHECK(!strcmp(a.id, b.id) && strcmp(a.record, b.record) && strstr(b.record, "values\tactivation\trelu,exponential,elu\n"),
        "another grid value: the same id, another record");
  dnacl_sweep_free(&b);
  strcpy(t, TINY);
  memcpy(strstr(t, "trials: 3"), "seed: [3]", 9);
  OK(parse(t, &b));
  CHECK(strcmp(a.id, b.id) != 0, "another grid key, another id");
  dnacl_sweep_free(&b);
  free(t);
  dnacl_sweep_free(&a);

  /* The id does not depend on where the file is seen from (shards run from other working
   * directories): the same file through another path gives the same id. */
  const char *sim = "data:\n  simulate: {task: koo-task3, n: 100, motifs: ../../../data/JASPAR_CORE_2016_vertebrates.meme}\n"
                    "models: [../../../yaml/models/cnn_local.yaml]\n";
  OK(dnacl_sweep_parse("tests/data/sweeps/s.yaml", sim, &a));
  OK(dnacl_sweep_parse("./tests/../tests/data/sweeps/s.yaml", sim, &b));
  CHECK(!strcmp(a.id, b.id), "same file by two paths, same id");
  CHECK(a.data.simulate && !strcmp(a.data.sim.task, "koo-task3") && a.data.sim.n == 100 && a.data.sim.length == 200 &&
            a.data.sim.seed == 1 && !strcmp(a.data.sim.motifs, "data/JASPAR_CORE_2016_vertebrates.meme"),
        "simulate block with defaults; motifs %s", a.data.sim.motifs);
  dnacl_sweep_free(&a);
  dnacl_sweep_free(&b);
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(p, 1, n, f);
    fclose(f);
  }
}

/* XXH64 against the reference implementation (python xxhash 3.x), in one piece and read
 * from a file in blocks; the id follows a data file's content, not how its path is
 * written. */
static void test_content_identity(void) {
  unsigned char buf[771];
  for (int i = 0; i < 768; i++) buf[i] = (unsigned char)i;
  memcpy(buf + 768, "xyz", 3);
  const char *spam = "Nobody inspects the spammish repetition";
  CHECK(dnacl_xxh64("", 0) == 0xef46db3751d8e999ull, "xxh64 of nothing");
  CHECK(dnacl_xxh64("a", 1) == 0xd24ec4f1a98c6e5bull, "xxh64 a");
  CHECK(dnacl_xxh64("abc", 3) == 0x44bc2cf5ad770999ull, "xxh64 abc");
  CHECK(dnacl_xxh64(spam, strlen(spam)) == 0xfbcea83c8a378bf1ull, "xxh64 of 39 bytes (a stripe and a tail)");
  CHECK(dnacl_xxh64(buf, sizeof buf) == 0xe921a1b45bd779f8ull, "xxh64 of 771 bytes");
  char path[512], dot[520];
  snprintf(path, sizeof path, "%s/sweep_data.bin", DNACL_TEST_TMPDIR);
  uint64_t h = 0, n = 0;
  write_bytes(path, buf, sizeof buf);
  OK(dnacl_xxh64_file(path, &h, &n));
  CHECK(h == 0xe921a1b45bd779f8ull && n == 771, "xxh64 of a file");
  /* Across the 1 MiB read blocks, with a tail that is no whole stripe. */
  size_t big = (3u << 20) + 13;
  unsigned char *b = malloc(big);
  for (size_t i = 0; b && i < big; i++) b[i] = (unsigned char)(i * 2654435761u >> 13);
  if (b) write_bytes(path, b, big);
  OK(dnacl_xxh64_file(path, &h, &n));
  CHECK(b && h == dnacl_xxh64(b, big) && n == big, "a 3 MB file hashes as the same bytes in one piece");

  char text[2048];
  const char *fmt = "data: {file: %s, crop: 200}\nmodels: [../../../yaml/models/cnn_local.yaml]\n";
  dnacl_sweep a, c;
  snprintf(text, sizeof text, fmt, path);
  OK(parse(text, &a));
  CHECK(strstr(a.record, path) && a.input_bytes == (double)big, "the record names the data file, %.0f bytes hashed",
        a.input_bytes);
  snprintf(dot, sizeof dot, "%s/./sweep_data.bin", DNACL_TEST_TMPDIR);
  snprintf(text, sizeof text, fmt, dot);
  OK(parse(text, &c));
  CHECK(!strcmp(a.id, c.id), "./x and x: the same id");
  dnacl_sweep_free(&c);
  if (b) {
    b[big / 2] ^= 1; /* one bit, the size unchanged */
    write_bytes(path, b, big);
  }
  snprintf(text, sizeof text, fmt, path);
  OK(parse(text, &c));
  CHECK(strcmp(a.id, c.id) != 0, "the same path, the same size, one bit of other content: another id");
  dnacl_sweep_free(&c);
  free(b);
  dnacl_sweep_free(&a);
  unlink(path);
  dnacl_status st = parse(text, &c);
  CHECK(st == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "tests/data/sweeps/mem.yaml:1:14: cannot read data.file:"),
        "a data file that cannot be read: %s", dnacl_last_error());
}

/* A bad sweep: DNACL_ERR_PARSE whose message starts with want and shows a caret. */
static void bad(const char *text, const char *want) {
  dnacl_sweep sw;
  dnacl_status st = parse(text, &sw);
  const char *e = dnacl_last_error();
  CHECK(st != DNACL_OK && strstr(e, want) == e, "want '%s'\n     got '%s'", want, e);
  CHECK(st != DNACL_OK && strchr(e, '^'), "caret in '%s'", e);
  if (st == DNACL_OK) dnacl_sweep_free(&sw);
}

#define HEAD "data: ../../../data/ZBED2_400_h3k27ac.h5\nmodels: [../../../yaml/models/cnn_local.yaml]\n"
static void test_errors(void) {
  bad(HEAD "grid: {activaton: [relu]}\n",
      "tests/data/sweeps/mem.yaml:3:8: unknown grid key 'activaton' (did you mean 'activation'?)");
  bad(HEAD "grid: {activation: [relu, swish]}\n",
      "tests/data/sweeps/mem.yaml:3:27: unknown activation 'swish'; known: gelu, linear, relu");
  bad(HEAD "grid:\n  conv9.filters: [8]\n", "tests/data/sweeps/mem.yaml:4:19: model cnn_local");
  bad(HEAD "grid:\n  conv1.filters: [8, 0]\n", "tests/data/sweeps/mem.yaml:4:22: conv1.filters must be between 1");
  bad(HEAD "grid:\n  lr: [0.1, -1]\n", "tests/data/sweeps/mem.yaml:4:13: 'lr' must be in (0, 100], got -1");
  bad(HEAD "grid:\n  activation: [relu, relu]\n", "tests/data/sweeps/mem.yaml:4:22: grid 'activation' lists 'relu' twice");
  bad(HEAD "grid:\n  trials: 0\n", "tests/data/sweeps/mem.yaml:4:11: 'trials' must be between 1");
  bad(HEAD "grid:\n  model: [a]\n", "tests/data/sweeps/mem.yaml:4:3: models are listed under the top-level");
  bad(HEAD "grid:\n  activation: []\n", "tests/data/sweeps/mem.yaml:4:3: grid 'activation' takes a list");
  bad(HEAD "evaluate: [clasification]\n",
      "tests/data/sweeps/mem.yaml:3:12: unknown evaluation 'clasification' (did you mean 'classification'?)");
  bad(HEAD "evaluate: [classification, classification]\n", "tests/data/sweeps/mem.yaml:3:28: evaluation 'classification' is listed twice");
  bad(HEAD "evaluate:\n  - attribution: {methods: [saliency, shap]}\n",
      "tests/data/sweeps/mem.yaml:4:39: 'methods' must be one of saliency, ism, ig, deepshap, got 'shap'");
  bad(HEAD "evaluate:\n  - classification: {x: 1}\n", "tests/data/sweeps/mem.yaml:4:21: evaluation 'classification' takes no options");
  bad(HEAD "train: {optimizer: sgd}\n", "tests/data/sweeps/mem.yaml:3:20: 'optimizer' must be one of adam, adamw");
  bad(HEAD "trian: {}\n", "tests/data/sweeps/mem.yaml:3:1: unknown key 'trian' in the sweep (did you mean 'train'?)");
  bad("models: [../../../yaml/models/cnn_local.yaml]\n", "tests/data/sweeps/mem.yaml:1:1: the sweep is missing 'data'");
  bad("data: {crop: 200}\nmodels: [../../../yaml/models/cnn_local.yaml]\n",
      "tests/data/sweeps/mem.yaml:1:1: data needs 'file:'");
  bad("data: {file: x.h5, simulate: {task: koo-task3}}\nmodels: [../../../yaml/models/cnn_local.yaml]\n",
      "tests/data/sweeps/mem.yaml:1:20: data has both");
  bad("data: {simulate: {task: koo-task2}}\nmodels: [../../../yaml/models/cnn_local.yaml]\n",
      "tests/data/sweeps/mem.yaml:1:25: 'task' must be one of koo-task1, koo-task3");
  bad("data: x.h5\nmodels: [nowhere.yaml]\n", "tests/data/sweeps/mem.yaml:2:10: cannot read model file");
  bad("data: x.h5\nmodels: [../../../yaml/models/cnn_local.yaml, ../../../yaml/models/cnn_local.yaml]\n",
      "tests/data/sweeps/mem.yaml:2:47: models yaml/models/cnn_local.yaml and yaml/models/cnn_local.yaml are both named");
  bad("- a\n", "tests/data/sweeps/mem.yaml:1:1: a sweep file is a mapping");
  bad("", "tests/data/sweeps/mem.yaml:1:1: the file is empty");

  bad(HEAD "evaluate:\n  - attribution: {methods: [ism], output: prob}\n",
      "tests/data/sweeps/mem.yaml:4:43: 'output' must be one of logit, probability, got 'prob'");
  bad(HEAD "evaluate:\n  - attribution: {methods: [ism], n: 0}\n",
      "tests/data/sweeps/mem.yaml:4:38: 'n' must be between 1 and 10000000, got 0");
  bad(HEAD "evaluate:\n  - attribution\n", "tests/data/sweeps/mem.yaml:4:5: attribution needs its methods");
  bad("data: {file: x.h5, crop: 100}\nmodels: [../../../yaml/models/cnn_local.yaml]\n"
      "evaluate:\n  - attribution: {methods: [saliency]}\n",
      "tests/data/sweeps/mem.yaml:4:5: attribution scores against the simulated data's mask position by position");
  bad(HEAD "evaluate:\n  - filter_match: {evalue: 0}\n", "tests/data/sweeps/mem.yaml:4:28: 'evalue' must be > 0, got 0");
  bad(HEAD "evaluate:\n  - filter_match: {treshold: 0.5}\n",
      "tests/data/sweeps/mem.yaml:4:20: unknown key 'treshold' in filter_match (did you mean 'threshold'?)");
  bad(HEAD "evaluate:\n  - filter_match: [a]\n", "tests/data/sweeps/mem.yaml:4:19: filter_match takes a mapping of options");

  /* Every registered evaluation can run in this build: one that could not would be refused
   * by name when a sweep names it (evals.h). */
  for (const char *const *n = dnacl_eval_names(); *n; n++) {
    const dnacl_eval_def *d = dnacl_eval_find(*n);
    CHECK(d && (d->run || d->waiting), "%s: runs, or says what it waits for", *n);
    if (d && !d->run) printf("note: evaluation %s is not available in this build: %s\n", *n, d->waiting);
  }

  /* Options reach the evaluation, defaults from explain/score.h. */
  dnacl_sweep sw;
  OK(parse(HEAD "evaluate:\n  - filter_match\n  - attribution: {methods: [deepshap, saliency], n: 50, output: probability, "
                "shap_refs: 20}\n",
           &sw));
  CHECK(sw.n_evals == 2 && sw.evals[0].evalue == 0.1 && sw.evals[0].threshold == 0.5 && sw.evals[1].methods == 0x9u &&
            sw.evals[1].n == 50 && sw.evals[1].output == 1 && sw.evals[1].shap_refs == 20 && sw.evals[1].ig_steps == 20,
        "evaluation options");
  CHECK(sw.n_metrics == 4 + 4 && !strcmp(sw.columns[sw.first_metric], "filter_match_truth") &&
            !strcmp(sw.columns[sw.first_metric + 4], "attr_saliency_auroc") &&
            !strcmp(sw.columns[sw.first_metric + 7], "attr_deepshap_aupr"),
        "metric columns in method order: %s ... %s", sw.columns[sw.first_metric], sw.columns[sw.first_metric + 7]);
  dnacl_sweep_free(&sw);
}

/* Every shipped sweep and every test sweep parses, or is refused only for an evaluation
 * this build lacks (named). */
static void test_shipped_sweeps(void) {
  const char *dirs[] = {"yaml/sweeps", "tests/data/sweeps"};
  int seen = 0;
  for (int k = 0; k < 2; k++) {
    DIR *dir = opendir(dirs[k]);
    CHECK(dir != NULL, "cannot open %s", dirs[k]);
    if (!dir) continue;
    struct dirent *e;
    while ((e = readdir(dir))) {
      size_t len = strlen(e->d_name);
      if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
      char path[512];
      snprintf(path, sizeof path, "%s/%s", dirs[k], e->d_name);
      dnacl_sweep sw;
      dnacl_status st = dnacl_sweep_load(path, &sw);
      if (st == DNACL_OK) {
        CHECK(sw.n_cells >= 1, "%s has cells", path);
        if (k == 0) CHECK(sw.expected_time != NULL, "%s states its expected time", path);
        dnacl_sweep_free(&sw);
      } else {
        CHECK(strstr(dnacl_last_error(), "is not available in this build"), "%s: %s", path, dnacl_last_error());
        printf("note %s: waits for an evaluation: %.160s\n", path, dnacl_last_error());
      }
      seen++;
    }
    closedir(dir);
  }
  CHECK(seen >= 4, "%d sweep files checked", seen);
}

/* ---- results.tsv ------------------------------------------------------------------------------ */

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void test_results(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/sweep_results.tsv", DNACL_TEST_TMPDIR);
  const char *H = "cell\tid\tmodel\tactivation\ttrial\trun_seed\tstatus\ttest_auroc\tbest_step\twall_s\tdevice";
  char text[2048];
  snprintf(text, sizeof text,
           "%s\n2\tc2\tm1\trelu\t1\t1\tok\t0.7\t10\t1.0\tcpu\n0\tc0\tm0\trelu\t1\t1\tok\t0.6\t10\t1.0\tcpu\n"
           "1\tc1\tm0\texponential\t1\t1\tfailed\tnan\t-1\t1.0\tcpu\n3\tc3\tm1\texpon",
           H);
  write_text(path, text);
  dnacl_results r;
  OK(dnacl_results_load(path, &r));
  CHECK(r.header && !strcmp(r.header, H), "header");
  CHECK(r.n == 3 && r.rows[0].cell == 0 && r.rows[1].cell == 1 && r.rows[2].cell == 2,
        "rows sorted by cell, the cut-off last line ignored (n %d)", r.n);
  CHECK(dnacl_results_find(&r, 2) == 2 && dnacl_results_find(&r, 3) == -1, "find");
  char f[64];
  CHECK(dnacl_tsv_field(r.rows[1].line, 6, f, sizeof f) && !strcmp(f, "failed"), "field 6 of row 1: %s", f);
  CHECK(!dnacl_tsv_field(r.rows[1].line, 11, f, sizeof f), "no field 11");
  OK(dnacl_results_put(&r, 1, "1\tc1\tm0\texponential\t1\t1\tok\t0.65\t20\t1.0\tcpu"));
  CHECK(r.n == 3 && strstr(r.rows[1].line, "0.65"), "put replaces a cell's row");
  OK(dnacl_results_save(path, &r));
  struct stat st;
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(stat(tmp, &st) != 0, "no .tmp left");

  /* The summary is drawn from the table alone. */
  char svg[512];
  snprintf(svg, sizeof svg, "%s/sweep_summary.svg", DNACL_TEST_TMPDIR);
  OK(dnacl_sweep_summary_svg(svg, "test", &r));
  FILE *fs = fopen(svg, "r");
  char buf[65536];
  size_t n = fs ? fread(buf, 1, sizeof buf - 1, fs) : 0;
  buf[n] = 0;
  if (fs) fclose(fs);
  CHECK(strstr(buf, "test_auroc") && strstr(buf, "m0") && strstr(buf, "m1") && strstr(buf, "exponential") &&
            strstr(buf, "</svg>"),
        "summary names the metric, the architectures and the activations");
  dnacl_results_free(&r);

  dnacl_results back;
  OK(dnacl_results_load(path, &back));
  CHECK(back.n == 3 && strstr(back.rows[1].line, "0.65"), "saved and loaded");
  dnacl_results_free(&back);

  write_text(path, "cell\tid\tx\nzero\tc\t1\n");
  dnacl_status s = dnacl_results_load(path, &back);
  CHECK(s == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "sweep_results.tsv:2: a row must begin with its cell index"),
        "malformed row: %s", dnacl_last_error());
  write_text(path, "a\tb\n");
  s = dnacl_results_load(path, &back);
  CHECK(s == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "not a dnacl sweep results table"), "bad header: %s",
        dnacl_last_error());
  snprintf(tmp, sizeof tmp, "%s/no_such_results.tsv", DNACL_TEST_TMPDIR);
  OK(dnacl_results_load(tmp, &back));
  CHECK(back.n == 0 && !back.header, "a missing table is empty");
}

int main(void) {
  test_roundtrip_shipped();
  test_overrides();
  test_cells();
  test_identity();
  test_content_identity();
  test_errors();
  test_shipped_sweeps();
  test_results();
  return harness_summary();
}

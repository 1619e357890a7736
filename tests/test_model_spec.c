/* Model files: every model file shipped in yaml/models parses to the expected layers; the
 * schema's forms and defaults; and every kind of bad file is DNACL_ERR_PARSE with the
 * exact file:line:col, the offending line and a caret under the column. No device. */
#include <dirent.h>

#include "harness.h"
#include "io/model_spec.h"
#include "io/yaml_util.h"

/* ---- shipped models ------------------------------------------------------------------ */

typedef struct shipped {
  const char *file;
  int n_layers, tasks, length;
} shipped;

static const shipped SHIPPED[] = {
    {"conv_model.yaml", 12, 1, 200},
    {"baseline.yaml", 16, 1, 200},
    {"single_conv_only.yaml", 6, 1, 200},
    {"fewer_conv_channels.yaml", 16, 1, 200},
    {"remove_MLP.yaml", 10, 1, 200},
    {"add_one_transformer_block.yaml", 17, 1, 200},
    {"add_two_transformer_block.yaml", 18, 1, 200},
    {"cnn_2.yaml", 16, 12, 200},
    {"cnn_50.yaml", 16, 12, 200},
    {"cnn_deep.yaml", 25, 12, 200},
    {"cnn_local.yaml", 16, 1, 200},
    {"cnn_dist.yaml", 25, 1, 200},
    {"residualbind.yaml", 34, 1, 200},
};
#define N_SHIPPED (int)(sizeof SHIPPED / sizeof SHIPPED[0])

static dnacl_model_spec load(const char *path) {
  dnacl_model_spec s;
  OK(dnacl_model_spec_load(path, &s));
  return s;
}

static void check_names(const dnacl_model_spec *s, const char *const *want, int n) {
  CHECK(s->n_layers == n, "%s: %d layers, want %d", s->path, s->n_layers, n);
  for (int i = 0; i < n && i < s->n_layers; i++)
    CHECK(strcmp(s->layers[i].name, want[i]) == 0, "%s: layer %d is '%s', want '%s'", s->path, i,
          s->layers[i].name, want[i]);
}

/* Every file in yaml/models parses, is listed above (so a new file gets its expectations
 * written down), has one ablated activation, unique names and a dense output of `tasks`. */
static void test_all_shipped(void) {
  DIR *dir = opendir("yaml/models");
  CHECK(dir != NULL, "cannot open yaml/models");
  if (!dir) return;
  int seen = 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0) continue;
    char path[512];
    snprintf(path, sizeof path, "yaml/models/%s", e->d_name);
    dnacl_model_spec s;
    dnacl_status st = dnacl_model_spec_load(path, &s);
    CHECK(st == DNACL_OK, "%s: %s", path, dnacl_last_error());
    if (st) continue;
    seen++;
    const shipped *w = NULL;
    for (int i = 0; i < N_SHIPPED; i++)
      if (strcmp(SHIPPED[i].file, e->d_name) == 0) w = &SHIPPED[i];
    CHECK(w != NULL, "%s is not listed in test_model_spec.c's SHIPPED table", path);
    if (w) {
      CHECK(s.n_layers == w->n_layers, "%s: %d layers, want %d", path, s.n_layers, w->n_layers);
      CHECK(s.tasks == w->tasks, "%s: tasks %d, want %d", path, s.tasks, w->tasks);
      CHECK(s.length == w->length, "%s: length %d, want %d", path, s.length, w->length);
    }
    CHECK(s.alphabet == 4, "%s: alphabet %d", path, s.alphabet);
    CHECK(s.ablation_layer >= 0 && s.layers[s.ablation_layer].kind == DNACL_L_ACTIVATION &&
              s.layers[s.ablation_layer].ablation,
          "%s: the first activation should be marked for ablation", path);
    int n_ablate = 0;
    for (int i = 0; i < s.n_layers; i++) n_ablate += s.layers[i].ablation;
    CHECK(n_ablate == 1, "%s: %d ablated activations", path, n_ablate);
    const dnacl_layer_spec *last = &s.layers[s.n_layers - 1];
    CHECK(last->kind == DNACL_L_DENSE && last->units == s.tasks && last->bias,
          "%s: the output layer should be a dense of %d units with bias", path, s.tasks);
    CHECK(strstr(s.text, "layers:") != NULL, "%s: spec keeps the YAML text", path);
    printf("  %-34s %2d layers, %2d task(s), ablated: %s (%s)\n", e->d_name, s.n_layers, s.tasks,
           s.layers[s.ablation_layer].name, dnacl_act_name(s.layers[s.ablation_layer].act));
    dnacl_model_spec_free(&s);
  }
  closedir(dir);
  CHECK(seen == N_SHIPPED, "parsed %d model files, the table lists %d", seen, N_SHIPPED);
}

/* The baseline (ConvModelV2): generated names match tools/reference_model.py's checkpoint
 * names (conv1, bn1, conv2, bn2, dense1..3) and every option is what the chapter uses. */
static void test_baseline(void) {
  dnacl_model_spec s = load("yaml/models/baseline.yaml");
  static const char *const names[] = {"conv1", "bn1",    "act1",   "pool1", "conv2",  "act2",
                                      "bn2",   "pool2",  "flatten1", "dense1", "act3", "drop1",
                                      "dense2", "act4",  "drop2",  "dense3"};
  check_names(&s, names, 16);
  CHECK(strcmp(s.name, "baseline") == 0, "name '%s'", s.name);
  CHECK(s.ablation_layer == 2, "ablated layer %d, want 2 (act1)", s.ablation_layer);
  if (s.n_layers == 16) {
    const dnacl_layer_spec *L = s.layers;
    for (int i = 0; i < 2; i++) {
      const dnacl_layer_spec *c = &L[i ? 4 : 0];
      CHECK(c->kind == DNACL_L_CONV1D && c->filters == 64 && c->kernel == 10 && c->same_padding &&
                c->dilation == 1 && c->bias,
            "%s: conv 64 k10 same with bias", c->name);
    }
    CHECK(L[1].kind == DNACL_L_BATCHNORM && fabsf(L[1].eps - 1e-5f) < 1e-9f &&
              fabsf(L[1].momentum - 0.1f) < 1e-7f,
          "bn1: PyTorch defaults eps 1e-5 momentum 0.1 (got %g %g)", L[1].eps, L[1].momentum);
    CHECK(L[2].kind == DNACL_L_ACTIVATION && L[2].act == DNACL_ACT_GELU_TANH && L[2].ablation,
          "act1: gelu (tanh), ablated");
    CHECK(L[5].act == DNACL_ACT_GELU_TANH && !L[5].ablation, "act2: gelu, not ablated");
    CHECK(L[6].kind == DNACL_L_BATCHNORM, "bn2 after act2, as in ConvModelV2");
    CHECK(L[3].kind == DNACL_L_MAXPOOL && L[3].window == 2 && L[3].stride == 2, "pool1 2/2");
    CHECK(L[8].kind == DNACL_L_FLATTEN, "flatten");
    CHECK(L[9].units == 128 && L[12].units == 64 && L[15].units == 1, "dense 128, 64, 1");
    CHECK(L[11].kind == DNACL_L_DROPOUT && fabsf(L[11].p - 0.2f) < 1e-7f && fabsf(L[14].p - 0.2f) < 1e-7f,
          "dropout 0.2 twice");
    CHECK(L[0].line == 21 && L[0].col == 5, "conv1 at 21:5, got %d:%d", L[0].line, L[0].col);
  }
  dnacl_model_spec_free(&s);
}

static void test_variants(void) {
  dnacl_model_spec s = load("yaml/models/add_two_transformer_block.yaml");
  static const char *const names[] = {"conv1", "bn1", "act1", "pool1", "conv2", "act2",
                                      "bn2", "pool2", "tf1", "tf2", "flatten1", "dense1",
                                      "act3", "drop1", "dense2", "act4", "drop2", "dense3"};
  check_names(&s, names, 18);
  if (s.n_layers == 18)
    for (int i = 8; i < 10; i++)
      CHECK(s.layers[i].kind == DNACL_L_TRANSFORMER && s.layers[i].heads == 8 && s.layers[i].mlp == 64 &&
                fabsf(s.layers[i].p - 0.2f) < 1e-7f,
            "%s: transformer heads 8, mlp 64, dropout 0.2", s.layers[i].name);
  dnacl_model_spec_free(&s);

  s = load("yaml/models/cnn_deep.yaml");
  static const char *const deep[] = {"conv1", "bn1", "act1", "drop1", "conv2", "bn2", "act2",
                                     "drop2", "pool1", "conv3", "bn3", "act3", "drop3", "pool2",
                                     "conv4", "bn4", "act4", "drop4", "pool3", "flatten1",
                                     "dense1", "bn5", "act5", "drop5", "dense2"};
  check_names(&s, deep, 25);
  if (s.n_layers == 25) {
    int filters[4] = {32, 48, 96, 128}, kernels[4] = {19, 7, 7, 3}, same[4] = {1, 1, 0, 0};
    int conv = 0;
    float drops[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    int drop = 0;
    for (int i = 0; i < s.n_layers; i++) {
      const dnacl_layer_spec *l = &s.layers[i];
      if (l->kind == DNACL_L_CONV1D && conv < 4) {
        CHECK(l->filters == filters[conv] && l->kernel == kernels[conv] &&
                  l->same_padding == same[conv] && !l->bias,
              "%s: conv %d k%d %s without bias", l->name, filters[conv], kernels[conv],
              same[conv] ? "same" : "valid");
        conv++;
      }
      if (l->kind == DNACL_L_DROPOUT && drop < 5) {
        CHECK(fabsf(l->p - drops[drop]) < 1e-7f, "%s: p %g want %g", l->name, l->p, drops[drop]);
        drop++;
      }
      if (l->kind == DNACL_L_BATCHNORM)
        CHECK(fabsf(l->eps - 1e-3f) < 1e-9f && fabsf(l->momentum - 0.01f) < 1e-9f,
              "%s: Keras defaults eps 1e-3, momentum 0.99 (0.01 here)", l->name);
      if (l->kind == DNACL_L_ACTIVATION)
        CHECK(l->act == DNACL_ACT_RELU, "%s: relu", l->name);
    }
    CHECK(conv == 4 && drop == 5, "4 convs and 5 dropouts, got %d and %d", conv, drop);
    CHECK(s.layers[8].window == 4 && s.layers[13].window == 4 && s.layers[18].window == 3,
          "pools 4, 4, 3");
    CHECK(s.layers[20].units == 512 && !s.layers[20].bias, "dense 512 without bias");
  }
  dnacl_model_spec_free(&s);

  /* The residual block expands to BEGIN, the branch, END, matched both ways. */
  s = load("yaml/models/residualbind.yaml");
  int begin = -1, end = -1;
  for (int i = 0; i < s.n_layers; i++) {
    if (s.layers[i].kind == DNACL_L_RESIDUAL_BEGIN) begin = i;
    if (s.layers[i].kind == DNACL_L_RESIDUAL_END) end = i;
  }
  CHECK(begin == 4 && end == 15, "residual at 4..15, got %d..%d", begin, end);
  if (begin >= 0 && end >= 0) {
    CHECK(s.layers[begin].match == end && s.layers[end].match == begin, "residual match indices");
    CHECK(strcmp(s.layers[begin].name, "res1") == 0 && strcmp(s.layers[end].name, "res1_end") == 0,
          "residual names '%s' '%s'", s.layers[begin].name, s.layers[end].name);
    int dil[3] = {1, 2, 4}, k = 0;
    for (int i = begin + 1; i < end; i++)
      if (s.layers[i].kind == DNACL_L_CONV1D && k < 3) {
        CHECK(s.layers[i].dilation == dil[k] && s.layers[i].same_padding && s.layers[i].filters == 24,
              "%s: dilation %d same", s.layers[i].name, dil[k]);
        k++;
      }
    CHECK(k == 3, "three convs in the branch, got %d", k);
  }
  dnacl_model_spec_free(&s);
}

/* Every form the schema allows: shorthand values, bare kinds, named layers, anchors,
 * nested repeat/residual, defaults. */
static void test_forms(void) {
  dnacl_model_spec s = load("tests/data/yaml/good_features.yaml");
  static const char *const names[] = {
      "stem",  "bn1",   "act1",  "pool1",  "block",    "conv2",  "ln1",   "act2",
      "conv3", "block_end", "conv4", "act3", "conv5",  "act4",   "conv6", "act5",
      "tf1",   "flatten1", "dense1", "drop1", "ln2",   "dense2"};
  check_names(&s, names, 22);
  CHECK(strcmp(s.name, "good_features") == 0 && s.length == 101 && s.tasks == 3, "header");
  CHECK(s.description && strcmp(s.description, "every layer kind and shorthand") == 0, "description");
  if (s.n_layers == 22) {
    const dnacl_layer_spec *L = s.layers;
    CHECK(L[0].filters == 16 && L[0].kernel == 5 && !L[0].same_padding && L[0].dilation == 2 && !L[0].bias,
          "stem options");
    CHECK(L[2].act == DNACL_ACT_EXP && L[2].ablation && s.ablation_layer == 2, "exponential ablated");
    CHECK(L[3].window == 3 && L[3].stride == 2, "pool window 3 stride 2");
    CHECK(L[4].match == 9 && L[9].match == 4, "residual matches");
    CHECK(fabsf(L[6].eps - 1e-6f) < 1e-12f, "layernorm eps 1e-6");
    CHECK(L[7].act == DNACL_ACT_GELU_TANH, "gelu is the tanh approximation");
    CHECK(L[8].filters == 16 && L[8].kernel == 3 && L[8].same_padding && L[8].bias, "alias *c");
    CHECK(L[16].heads == 2 && L[16].mlp == 32 && L[16].p == 0.0f, "transformer default dropout 0");
    CHECK(L[19].kind == DNACL_L_DROPOUT && L[19].p == 0.0f, "dropout {p: 0}");
    CHECK(fabsf(L[20].eps - 1e-5f) < 1e-9f, "bare layernorm default eps");
    /* The repeat's copies share the position of the block's lines. */
    CHECK(L[10].line == L[12].line && L[10].line == L[14].line, "repeat copies keep their line");
  }
  dnacl_model_spec_free(&s);

  /* From a string: the model name defaults to the file's stem; shorthand values. */
  OK(dnacl_model_spec_parse("some/dir/tiny.model.yaml",
                            "length: 10\ntasks: 2\nlayers: [{dense: 2}, flatten, {maxpool: 3}, "
                            "{dropout: 0.5}, {activation: sigmoid}]\n",
                            &s));
  CHECK(strcmp(s.name, "tiny") == 0, "name from path stem, got '%s'", s.name);
  CHECK(s.n_layers == 5 && s.layers[0].units == 2 && s.layers[0].bias && s.layers[2].window == 3 &&
            s.layers[2].stride == 3 && fabsf(s.layers[3].p - 0.5f) < 1e-7f &&
            s.layers[4].act == DNACL_ACT_SIGMOID && s.ablation_layer == -1,
        "shorthand forms");
  CHECK(strcmp(s.path, "some/dir/tiny.model.yaml") == 0, "path kept");
  CHECK(s.alphabet == 4, "alphabet defaults to 4");

  /* Shape errors found later are reported through the spec at the layer's position. */
  dnacl_status st = dnacl_model_spec_fail(&s, DNACL_ERR_SHAPE, 3, 28, "maxpool %s: window %d is longer "
                                          "than its input (2)", s.layers[2].name, s.layers[2].window);
  CHECK(st == DNACL_ERR_SHAPE, "dnacl_model_spec_fail keeps the status");
  const char *e = dnacl_last_error();
  CHECK(strncmp(e, "some/dir/tiny.model.yaml:3:28: maxpool pool1: window 3 is longer", 63) == 0,
        "shape error text: %s", e);
  CHECK(strstr(e, "\nlayers: [{dense: 2}, flatten, {maxpool: 3}, {dropout: 0.5}, {activation: sigmoid}]\n") &&
            strstr(e, "\n                           ^"),
        "shape error excerpt and caret: %s", e);
  st = dnacl_model_spec_error(&s, 1, 1, "x");
  CHECK(st == DNACL_ERR_PARSE, "dnacl_model_spec_error is a parse error");
  dnacl_model_spec_free(&s);

  /* A comment-only file is as empty as an empty one. */
  st = dnacl_model_spec_parse("c.yaml", "# nothing here\n", &s);
  CHECK(st == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "c.yaml:1:1: the file is empty"),
        "comment-only file: %s", dnacl_last_error());
  dnacl_model_spec_free(&s);

  st = dnacl_model_spec_load("tests/data/yaml/no_such_file.yaml", &s);
  CHECK(st == DNACL_ERR_IO && strstr(dnacl_last_error(), "no_such_file.yaml"),
        "missing file is an I/O error naming it: %s", dnacl_last_error());
  dnacl_model_spec_free(&s); /* safe on a failed load */
}

/* ---- bad files ------------------------------------------------------------------------ */

typedef struct bad {
  const char *file;
  int line, col;
  const char *msg; /* a part of the message after "file:line:col: " */
} bad;

static const bad BAD[] = {
    {"bad_unknown_key", 6, 27, "unknown key 'kernal' in conv1d (did you mean 'kernel'?); allowed: filters, kernel, padding, dilation, bias, name"},
    {"bad_unknown_layer", 6, 5, "unknown layer kind 'conv2d' (did you mean 'conv1d'?); known kinds: conv1d, dense,"},
    {"bad_wrong_type", 6, 16, "expected an integer for 'filters', got 'abc'"},
    {"bad_quoted_number", 5, 23, "expected an integer for 'filters', got the quoted string \"64\""},
    {"bad_missing_field", 7, 5, "dense is missing 'units' (the number of outputs)"},
    {"bad_missing_length", 2, 1, "the model is missing 'length'"},
    {"bad_dropout_value", 7, 14, "'dropout' must be in [0, 1), got 1.5"},
    {"bad_kernel_zero", 5, 35, "'kernel' must be >= 1, got 0"},
    {"bad_heads", 6, 26, "'heads' must be >= 1, got 0"},
    {"bad_window", 6, 23, "'window' must be >= 1, got 0"},
    {"bad_length", 2, 9, "'length' must be >= 1, got 0"},
    {"bad_activation", 6, 17, "unknown activation 'swish'; known: gelu, linear, relu, exponential"},
    {"bad_two_ablate", 8, 28, "a second 'ablate: true' (the first is at line 6)"},
    {"bad_ablate_in_repeat", 9, 41, "'ablate: true' inside a repeat block with times > 1"},
    {"bad_not_mapping", 2, 1, "a model file is a mapping with keys name, length, tasks, alphabet, layers; got a list"},
    {"bad_empty", 1, 1, "the file is empty"},
    {"bad_syntax", 7, 10, "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 5, column 13)"},
    {"bad_tab", 5, 1, "YAML syntax error: found character that cannot start any token"},
    {"bad_layer_two_keys", 6, 5, "a layer is a mapping with one key naming its kind, but 'name' follows 'conv1d'"},
    {"bad_duplicate_key", 5, 39, "duplicate key 'filters' (first given at line 5)"},
    {"bad_duplicate_name", 6, 5, "layer name 'conv2' is used twice: by the conv1d at line 5 and by this conv1d"},
    {"bad_residual_empty", 7, 7, "'layers' is empty"},
    {"bad_layers_not_list", 5, 3, "'layers' must be a list of layers"},
};
#define N_BAD (int)(sizeof BAD / sizeof BAD[0])

/* Line `line` (1-based) of a file, without its newline. */
static void file_line(const char *path, int line, char *out, size_t size) {
  out[0] = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return;
  char buf[1024];
  for (int l = 1; fgets(buf, sizeof buf, f); l++)
    if (l == line) {
      buf[strcspn(buf, "\r\n")] = 0;
      snprintf(out, size, "%s", buf);
      break;
    }
  fclose(f);
}

static void test_bad_files(void) {
  for (int i = 0; i < N_BAD; i++) {
    const bad *b = &BAD[i];
    char path[256];
    snprintf(path, sizeof path, "tests/data/yaml/%s.yaml", b->file);
    dnacl_model_spec s;
    dnacl_status st = dnacl_model_spec_load(path, &s);
    CHECK(st == DNACL_ERR_PARSE, "%s: got %s, want parse error", path, dnacl_status_name(st));
    if (st != DNACL_ERR_PARSE) {
      dnacl_model_spec_free(&s);
      continue;
    }
    CHECK(s.layers == NULL && s.n_layers == 0 && s.path == NULL, "%s: failed parse leaves an empty spec", path);
    const char *e = dnacl_last_error();
    /* Line 1: "file:line:col: message" */
    char head[512];
    snprintf(head, sizeof head, "%s:%d:%d: %s", path, b->line, b->col, b->msg);
    const char *nl = strchr(e, '\n');
    size_t first = nl ? (size_t)(nl - e) : strlen(e);
    CHECK(strncmp(e, head, strlen(head)) == 0 && first >= strlen(head),
          "%s:\n  got:  %.*s\n  want: %s...", b->file, (int)first, e, head);
    /* Line 2: the offending line of the file; line 3: a caret under the column. */
    char want_line[1024], caret[512];
    file_line(path, b->line, want_line, sizeof want_line);
    int k = 0;
    for (int c = 1; c < b->col && k < 500; c++) caret[k++] = (c - 1 < (int)strlen(want_line) && want_line[c - 1] == '\t') ? '\t' : ' ';
    caret[k++] = '^';
    caret[k] = 0;
    char want_tail[2048];
    snprintf(want_tail, sizeof want_tail, "\n%s\n%s", want_line, caret);
    CHECK(nl && strcmp(nl, want_tail) == 0, "%s: excerpt and caret:\n%s\n  want:%s", b->file, e, want_tail);
    printf("  %-22s %s:%d:%d ok\n", b->file, b->file, b->line, b->col);
    dnacl_model_spec_free(&s);
  }
}

/* Errors written as text: the forms not worth a file each. */
static void test_bad_strings(void) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"length: 5\ntasks: 1\nlayers:\n  - conv1d\n", "t.yaml:4:5: conv1d is missing 'filters'"},
      {"length: 5\ntasks: 1\nlayers:\n  - conv1d: 64\n", "t.yaml:4:13: conv1d takes a mapping of options"},
      {"length: 5\ntasks: 1\nlayers:\n  -\n", "t.yaml:4:4: empty layer entry"},
      {"length: 5\ntasks: 1\nlayers: []\n", "t.yaml:3:1: 'layers' is empty"},
      {"length: 5\ntasks: 1\nlayers:\n  - [dense, 3]\n", "t.yaml:4:5: expected a layer such as"},
      {"length: 5\ntasks: 1\nlayers:\n  - dense: {units: 3, bias: yes}\n",
       "t.yaml:4:29: expected true or false for 'bias', got 'yes'"},
      {"length: 5\ntasks: 1\nlayers:\n  - conv1d: {filters: 4, kernel: 3, padding: sam}\n",
       "t.yaml:4:46: 'padding' must be one of valid, same, got 'sam' (did you mean 'same'?)"},
      {"length: 5\ntasks: 1\nlayers:\n  - batchnorm: {eps: 0}\n", "t.yaml:4:22: 'eps' must be in (0, 1], got 0"},
      {"length: 5\ntasks: 1\nlayers:\n  - dropout: {p: -0.1}\n", "t.yaml:4:18: 'p' must be in [0, 1), got -0.1"},
      {"length: 5\ntasks: 1\nlayers:\n  - dense: {units: 3, name: 'a.b'}\n", "t.yaml:4:29: layer name 'a.b' must be"},
      {"length: 5\ntasks: 1\nlayers:\n  - repeat: {times: 2, layers: [{dense: {units: 3, name: d}}]}\n",
       "t.yaml:4:58: layer name 'd' is inside a repeat block with times > 1"},
      {"length: 5\ntasks: 1\nlayers:\n  - repeat: {times: 0, layers: [flatten]}\n", "t.yaml:4:21: 'times' must be >= 1, got 0"},
      {"length: 5\ntasks: 1\nlayers:\n  - repeat: {layers: [flatten]}\n", "t.yaml:4:5: repeat is missing 'times'"},
      {"length: 5\ntasks: 1\nlayers:\n  - residual: {}\n", "t.yaml:4:5: residual is missing 'layers'"},
      {"length: 5\ntasks: 1\nlayers:\n  - repeat: {times: 100000, layers: [flatten]}\n", "t.yaml:4:21: 'times' must be <= 10000"},
      {"length: 5\ntasks: 1\nlayers:\n  - repeat: {times: 200, layers: [{repeat: {times: 200, layers: [flatten]}}]}\n",
       "the model expands to more than 10000 layers"},
      {"length: 5\ntasks: 1\nlayers:\n  - activation: *nope\n", "t.yaml:4:17: alias '*nope' refers to no anchor"},
      {"length: 5\ntasks: 1\nlayers: [flatten]\n---\nlength: 6\n", "t.yaml:4:1: a second YAML document starts here"},
      {"length: 5.5\ntasks: 1\nlayers: [flatten]\n", "t.yaml:1:9: expected an integer for 'length', got '5.5'"},
      {"length: 99999999999999999999\ntasks: 1\nlayers: [flatten]\n", "t.yaml:1:9: 'length' is out of range"},
      {"length: 5\ntasks: 1\nlayers: [flatten]\nlayer: []\n", "t.yaml:4:1: unknown key 'layer' in the model (did you mean 'layers'?)"},
      {"length: 5\ntasks: 1\nlayers:\n  - dense: {units: [3]}\n", "t.yaml:4:20: expected an integer for 'units', got a list"},
      {"length: 5\ntasks: 1\nlayers:\n  - dense: {units: }\n", "expected an integer for 'units', got nothing"},
      {"length: 5\ntasks: 1\nlayers:\n  - dense: {units: 3, bias: true}\n  - Dense: 3\n",
       "t.yaml:5:5: unknown layer kind 'Dense' (did you mean 'dense'?)"},
      {"length: 5\ntasks: 1\n[a]: 3\nlayers: [flatten]\n", "t.yaml:3:1: mapping keys must be plain strings"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dnacl_model_spec s;
    dnacl_status st = dnacl_model_spec_parse("t.yaml", cases[i].text, &s);
    const char *e = dnacl_last_error();
    CHECK(st == DNACL_ERR_PARSE && strstr(e, cases[i].want) && strchr(e, '^'),
          "case %zu: got %s:\n%s\n  want: %s", i, dnacl_status_name(st), e, cases[i].want);
    dnacl_model_spec_free(&s);
  }
}

/* The generic reader on a made-up table, as the sweep parser will use it. */
typedef struct opts {
  double lr;
  int steps, mode, flag;
  const char *label;
  const dnacl_ynode *grid;
} opts;

static void test_yaml_util(void) {
  static const char *const modes[] = {"adam", "adamw", NULL};
  const dnacl_yfield f[] = {
      {.key = "lr", .type = DNACL_YF_DOUBLE, .offset = offsetof(opts, lr), .required = 1,
       .range = DNACL_YF_MIN | DNACL_YF_MIN_OPEN, .min = 0, .help = "the learning rate"},
      {.key = "steps", .type = DNACL_YF_INT, .offset = offsetof(opts, steps)},
      {.key = "optimizer", .type = DNACL_YF_ENUM, .offset = offsetof(opts, mode), .choices = modes},
      {.key = "flag", .type = DNACL_YF_BOOL, .offset = offsetof(opts, flag)},
      {.key = "label", .type = DNACL_YF_STR, .offset = offsetof(opts, label)},
      {.key = "grid", .type = DNACL_YF_NODE, .offset = offsetof(opts, grid)},
  };
  const char *text = "lr: 1e-3\nsteps: -4\noptimizer: adamw\nflag: True\nlabel: 'x: y'\ngrid: [1, 2]\n";
  dnacl_ydoc d;
  OK(dnacl_ydoc_parse("s.yaml", text, strlen(text), &d));
  opts o = {0};
  OK(dnacl_yread(&d, d.root, NULL, f, 6, NULL, &o, "the sweep"));
  CHECK(o.lr == 1e-3 && o.steps == -4 && o.mode == 1 && o.flag == 1 && strcmp(o.label, "x: y") == 0,
        "typed values");
  CHECK(o.grid && o.grid->kind == DNACL_Y_SEQ && o.grid->n == 2 && o.grid->line == 6 && o.grid->col == 7,
        "node field with its position");
  CHECK(dnacl_ymap_key(d.root, "steps")->line == 2, "key positions");
  dnacl_ydoc_free(&d);

  text = "steps: 3\n";
  OK(dnacl_ydoc_parse("s.yaml", text, strlen(text), &d));
  dnacl_status st = dnacl_yread(&d, d.root, NULL, f, 6, NULL, &o, "the sweep");
  CHECK(st == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "s.yaml:1:1: the sweep is missing 'lr' (the learning rate)"),
        "missing: %s", dnacl_last_error());
  dnacl_ydoc_free(&d);

  /* A tab-indented excerpt keeps its tabs in the caret line. */
  text = "a:\n\t\"x\"\n";
  st = dnacl_yerr_at("t.yaml", "key:\n\tvalue oops\n", 2, 8, "bad");
  CHECK(strcmp(dnacl_last_error(), "t.yaml:2:8: bad\n\tvalue oops\n\t      ^") == 0, "tab caret: %s",
        dnacl_last_error());
  /* Columns count characters: the caret sits under 'x' after two 2-byte characters. */
  st = dnacl_yerr_at("u.yaml", "name: \xc3\xa9\xc3\xa9x\n", 1, 9, "here");
  CHECK(strcmp(dnacl_last_error(), "u.yaml:1:9: here\nname: \xc3\xa9\xc3\xa9x\n        ^") == 0,
        "utf-8 caret: %s", dnacl_last_error());
  (void)st;
}

int main(void) {
  test_all_shipped();
  test_baseline();
  test_variants();
  test_forms();
  test_bad_files();
  test_bad_strings();
  test_yaml_util();
  return harness_summary();
}

/* SVG helpers and the learning-curve figure: escaping, nice ticks, and that every picture
 * is well-formed XML (checked by a small structural parser here, and by xmllint as well
 * when it is installed — the test never needs it), names its series, writes no NaN
 * coordinates and leaves nothing at PATH.tmp. */
#include <ctype.h>
#include <unistd.h>

#include "harness.h"
#include "io/svg.h"
#include "train/curves.h"

/* ---- a tiny XML well-formedness check ------------------------------------------------ */

static int name_char(int c, int first) {
  return isalpha(c) || c == '_' || c == ':' || (!first && (isdigit(c) || c == '-' || c == '.'));
}

/* An entity reference at p (after '&'): a predefined one or a character reference. */
static int entity_ok(const char *p) {
  static const char *names[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
  for (int i = 0; i < 5; i++)
    if (!strncmp(p, names[i], strlen(names[i]))) return 1;
  if (*p++ != '#') return 0;
  int hex = *p == 'x' ? (p++, 1) : 0, digits = 0;
  while (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)) p++, digits++;
  return digits && *p == ';';
}

/* Returns NULL if doc is well-formed (one root, balanced tags, quoted attributes, no stray
 * '<' or '&'), else a message naming the offset. */
static const char *xml_check(const char *doc) {
  static char msg[256];
  char stack[64][64];
  int depth = 0, roots = 0;
  const char *p = doc;
#define BAD(...) do { snprintf(msg, sizeof msg, __VA_ARGS__); return msg; } while (0)
  if (!strncmp(p, "<?xml", 5)) {
    p = strstr(p, "?>");
    if (!p) BAD("unterminated XML declaration");
    p += 2;
  }
  while (*p) {
    long at = (long)(p - doc);
    if (*p == '&') {
      if (!entity_ok(p + 1)) BAD("bad entity at %ld", at);
      p++;
      continue;
    }
    if (*p != '<') {
      if (!depth && !isspace((unsigned char)*p)) BAD("text outside the root at %ld", at);
      p++;
      continue;
    }
    if (!strncmp(p, "<!--", 4)) {
      p = strstr(p + 4, "-->");
      if (!p) BAD("unterminated comment at %ld", at);
      p += 3;
      continue;
    }
    int closing = p[1] == '/';
    p += closing ? 2 : 1;
    char name[64];
    int n = 0;
    if (!name_char((unsigned char)*p, 1)) BAD("bad tag name at %ld", at);
    while (name_char((unsigned char)*p, 0) && n < 63) name[n++] = *p++;
    name[n] = 0;
    if (closing) {
      while (isspace((unsigned char)*p)) p++;
      if (*p != '>') BAD("junk in closing tag </%s> at %ld", name, at);
      p++;
      if (!depth || strcmp(stack[depth - 1], name)) BAD("</%s> at %ld closes %s", name, at, depth ? stack[depth - 1] : "nothing");
      depth--;
      continue;
    }
    for (;;) { /* attributes */
      int ws = 0;
      while (isspace((unsigned char)*p)) p++, ws = 1;
      if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
      if (!ws || !name_char((unsigned char)*p, 1)) BAD("bad attribute in <%s> at %ld", name, (long)(p - doc));
      while (name_char((unsigned char)*p, 0)) p++;
      if (*p++ != '=') BAD("attribute without '=' in <%s> at %ld", name, (long)(p - doc));
      char q = *p++;
      if (q != '"' && q != '\'') BAD("unquoted attribute in <%s> at %ld", name, (long)(p - doc));
      while (*p && *p != q) {
        if (*p == '<') BAD("'<' in an attribute of <%s> at %ld", name, (long)(p - doc));
        if (*p == '&' && !entity_ok(p + 1)) BAD("bad entity in <%s> at %ld", name, (long)(p - doc));
        p++;
      }
      if (!*p) BAD("unterminated attribute in <%s>", name);
      p++;
    }
    if (!depth && roots++) BAD("second root element <%s> at %ld", name, at);
    if (*p == '/') {
      p += 2;
      continue;
    }
    p++;
    if (depth == 64) BAD("nesting too deep");
    strcpy(stack[depth++], name);
  }
  if (depth) BAD("<%s> never closed", stack[depth - 1]);
  if (!roots) BAD("no root element");
  return NULL;
#undef BAD
}

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, fp);
  b[got] = 0;
  fclose(fp);
  return b;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* DNACL_TEST_KEEP=DIR writes the pictures there and keeps them, to look at. */
static const char *keep_dir(void) {
  const char *k = getenv("DNACL_TEST_KEEP");
  return k && *k ? k : NULL;
}
static void discard(const char *path) {
  if (!keep_dir()) remove(path);
}

/* The picture at path is well-formed, has no non-finite numbers, and nothing is at .tmp. */
static char *check_file(const char *label, const char *path) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(!exists(tmp), "%s: %s left behind", label, tmp);
  char *doc = slurp(path);
  CHECK(doc != NULL, "%s: %s not written", label, path);
  if (!doc) return NULL;
  const char *err = xml_check(doc);
  CHECK(!err, "%s: not well-formed: %s", label, err ? err : "");
  /* A number written from NaN or infinity reads "nan"/"inf"; no word in our pictures
   * contains those letters. */
  int bad_num = 0;
  for (const char *p = doc; p[0] && p[1] && p[2]; p++) {
    char w[4] = {(char)tolower((unsigned char)p[0]), (char)tolower((unsigned char)p[1]),
                 (char)tolower((unsigned char)p[2]), 0};
    bad_num |= !strcmp(w, "nan") || !strcmp(w, "inf");
  }
  CHECK(!bad_num, "%s: a NaN or infinite number was written", label);
  if (system("command -v xmllint >/dev/null 2>&1") == 0) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    CHECK(system(cmd) == 0, "%s: xmllint rejects %s", label, path);
  }
  return doc;
}

/* ---- tests ------------------------------------------------------------------------- */

/* The checker itself must catch what it is meant to catch. */
static void test_checker(void) {
  CHECK(!xml_check("<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t &amp; &#39;u&#x41;</a>\n"), "good doc");
  const char *bad[] = {"<a><b></a></b>", "<a x=1/>", "<a>&</a>", "<a>&foo;</a>", "<a>", "<a/><b/>",
                       "x<a/>", "<a x=\"<\"/>", "<a x=\"1\"y=\"2\"/>", ""};
  for (int i = 0; i < 10; i++) CHECK(xml_check(bad[i]) != NULL, "checker accepts bad doc [%s]", bad[i]);
}

static void test_escape(void) {
  dnacl_svg s;
  OK(dnacl_svg_begin(&s, 10, 10));
  size_t at = s.len;
  dnacl_svg_escaped(&s, "a<b & \"c\" 'd'>\x01\tz \xC3\xA9 \xFF \xE2\x82\xAC");
  const char *want = "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;  z \xC3\xA9 ? \xE2\x82\xAC";
  CHECK(!strcmp(s.buf + at, want), "escaped: [%s]", s.buf + at);
  dnacl_svg_free(&s);
  CHECK(dnacl_svg_begin(&s, 0, 10) == DNACL_ERR_ARG, "zero width refused");
  dnacl_svg_free(&s);
}

static void test_ticks(void) {
  double first, step;
  int n = dnacl_nice_ticks(0, 1, 6, &first, &step);
  CHECK(n == 6 && first == 0 && fabs(step - 0.2) < 1e-15, "[0,1]: %d ticks from %g by %g", n, first, step);
  n = dnacl_nice_ticks(3, 97, 6, &first, &step);
  CHECK(n == 4 && first == 20 && step == 20, "[3,97]: %d ticks from %g by %g", n, first, step);
  double lo = 0.613, hi = 0.934;
  dnacl_nice_range(&lo, &hi, 5);
  CHECK(fabs(lo - 0.6) < 1e-12 && fabs(hi - 1.0) < 1e-12, "AUROC range [%g, %g]", lo, hi);
  lo = 0;
  hi = 1.0;
  dnacl_nice_range(&lo, &hi, 11);
  CHECK(lo == 0 && fabs(hi - 1.0) < 1e-12, "data on a tick is not pushed out: [%g, %g]", lo, hi);
  lo = hi = 0.5;
  dnacl_nice_range(&lo, &hi, 5);
  CHECK(lo < 0.5 && hi > 0.5, "flat data widened: [%g, %g]", lo, hi);
  lo = NAN;
  hi = 1;
  dnacl_nice_range(&lo, &hi, 5);
  CHECK(lo == 0 && hi == 1, "no data: [0, 1]");
  char b[32];
  dnacl_svg_format_tick(0.75, 0.25, b, sizeof b);
  CHECK(!strcmp(b, "0.75"), "0.75 -> %s", b);
  dnacl_svg_format_tick(-1e-17, 0.1, b, sizeof b);
  CHECK(!strcmp(b, "0.0"), "rounding noise at 0 -> %s", b);
  dnacl_svg_format_tick(4000, 2000, b, sizeof b);
  CHECK(!strcmp(b, "4000"), "4000 -> %s", b);
  dnacl_svg_format_tick(0.6000000000000001, 0.1, b, sizeof b);
  CHECK(!strcmp(b, "0.6"), "0.6 -> %s", b);
}

static void test_chart_edge_cases(const char *dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/edge.svg", dir);
  double x[6] = {0, 1, 2, 3, 4, 5}, y[6] = {1, NAN, 3, INFINITY, 2, 4};
  double lone[6] = {NAN, NAN, 7, NAN, NAN, NAN}, none[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
  double flat[6] = {2, 2, 2, 2, 2, 2};
  dnacl_series sr[5] = {
      {"gaps & <odd> \"name\"", NULL, x, y, 6, 0, 0},
      {"lone point", "#123456", x, lone, 6, 1, 0},
      {"all missing", NULL, x, none, 6, 0, 2},
      {"flat", NULL, NULL, flat, 6, 0, 0},
      {NULL, NULL, x, y, 0, 0, 0},
  };
  dnacl_svg s;
  OK(dnacl_svg_begin(&s, 900, 300));
  dnacl_chart a = dnacl_chart_box(0, 0, 300, 300);
  a.title = "auto <range>";
  a.xlabel = "x";
  a.ylabel = "y";
  dnacl_svg_line_chart(&s, &a, sr, 5);
  dnacl_chart b = dnacl_chart_box(300, 0, 300, 300);
  b.ymin = 2.5; /* fixed bottom, automatic top; points below are clipped */
  b.legend = DNACL_LEGEND_BOTTOM_LEFT;
  dnacl_svg_line_chart(&s, &b, sr, 5);
  dnacl_chart c = dnacl_chart_box(600, 0, 300, 300);
  dnacl_svg_line_chart(&s, &c, NULL, 0); /* an empty chart still draws its axes */
  /* Extreme values: spans that overflow, and a span of one ulp. */
  double huge[3] = {-1e308, 1e308, 0}, ulp[3] = {1, 1 + 2.3e-16, 1};
  dnacl_series ext[2] = {{"huge", NULL, NULL, huge, 3, 0, 2}, {"ulp", NULL, ulp, ulp, 3, 0, 0}};
  dnacl_chart e1 = dnacl_chart_box(600, 0, 150, 150), e2 = dnacl_chart_box(750, 150, 150, 150);
  dnacl_svg_line_chart(&s, &e1, ext, 1);
  dnacl_svg_line_chart(&s, &e2, ext + 1, 1);
  dnacl_chart tiny = dnacl_chart_box(0, 0, 5, 5);
  dnacl_svg_line_chart(&s, &tiny, sr, 5); /* too small to draw: nothing, no garbage */
  OK(dnacl_svg_save(&s, path));
  dnacl_svg_free(&s);
  char *doc = check_file("edge cases", path);
  if (doc) {
    CHECK(strstr(doc, "gaps &amp; &lt;odd&gt; &quot;name&quot;") != NULL, "escaped series name");
    CHECK(strstr(doc, "lone point") && strstr(doc, "<circle"), "a lone point gets a dot");
    CHECK(strstr(doc, "dnacl-clip-0") && strstr(doc, "dnacl-clip-4") && !strstr(doc, "dnacl-clip-5"),
          "unique clip ids, one per drawn chart");
    free(doc);
  }
  discard(path);

  /* A directory that does not exist: an I/O error naming the path, nothing written. */
  OK(dnacl_svg_begin(&s, 10, 10));
  char bad[600];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.svg", dir);
  dnacl_status st = dnacl_svg_save(&s, bad);
  CHECK(st == DNACL_ERR_IO && strstr(dnacl_last_error(), "no/such/dir"), "bad path: %s",
        dnacl_last_error());
  dnacl_svg_free(&s);
}

static void test_learning_curves(const char *dir) {
  enum { NT = 300, NV = 15 };
  static double ts[NT], tl[NT], vs[NV], vl[NV], va[NV], vp[NV];
  /* A plausible run: the loss falls from 0.69 and flattens, validation overfits late. */
  for (int i = 0; i < NT; i++) {
    ts[i] = 10.0 * (i + 1);
    tl[i] = 0.35 + 0.34 * exp(-i / 60.0) + 0.02 * sin(i * 0.7);
  }
  for (int i = 0; i < NV; i++) {
    vs[i] = 200.0 * (i + 1);
    vl[i] = 0.42 + 0.27 * exp(-i / 3.0) + 0.004 * i;
    va[i] = 0.93 - 0.4 * exp(-i / 3.0);
    vp[i] = 0.90 - 0.45 * exp(-i / 3.0);
  }
  va[4] = NAN; /* an evaluation with one class: skipped, the line joins its neighbours */
  char path[600];
  snprintf(path, sizeof path, "%s/curves.svg", dir);
  dnacl_learning_curves c = {"ConvModelV2 on ZBED2 (seed 1)", ts, tl, NT, vs, vl, va, vp, NV};
  OK(dnacl_learning_curves_svg(path, &c));
  char *doc = check_file("learning curves", path);
  if (doc) {
    const char *names[] = {"train loss", "valid loss", "valid AUROC", "valid AUPR", "ConvModelV2",
                           "step", "Loss"};
    for (int i = 0; i < 7; i++) CHECK(strstr(doc, names[i]) != NULL, "figure names '%s'", names[i]);
    /* Two panels, each with a plot area clip and a legend. */
    CHECK(strstr(doc, "dnacl-clip-1") && !strstr(doc, "dnacl-clip-2"), "two panels");
    free(doc);
  }
  discard(path);

  /* Only some series, and values without steps refused. */
  snprintf(path, sizeof path, "%s/curves_train_only.svg", dir);
  dnacl_learning_curves only = {NULL, ts, tl, NT, NULL, NULL, NULL, NULL, 0};
  OK(dnacl_learning_curves_svg(path, &only));
  char *d2 = check_file("train loss only", path);
  if (d2) {
    CHECK(strstr(d2, "Learning curves") && !strstr(d2, "valid AUROC"), "default title, no valid series");
    free(d2);
  }
  discard(path);
  dnacl_learning_curves bad = {NULL, NULL, tl, NT, NULL, NULL, NULL, NULL, 0};
  snprintf(path, sizeof path, "%s/refused.svg", dir);
  CHECK(dnacl_learning_curves_svg(path, &bad) == DNACL_ERR_ARG, "values without steps refused");
  CHECK(!exists(path), "nothing written on error");
}

int main(void) {
  const char *base = getenv("TMPDIR");
  char dir[256];
  snprintf(dir, sizeof dir, "%s/dnacl_svg_XXXXXX", base && *base ? base : "/tmp");
  if (keep_dir()) snprintf(dir, sizeof dir, "%s", keep_dir());
  else if (!mkdtemp(dir)) {
    printf("FAIL cannot make a temporary directory %s\n", dir);
    return 1;
  }
  test_checker();
  test_escape();
  test_ticks();
  test_chart_edge_cases(dir);
  test_learning_curves(dir);
  if (!keep_dir()) rmdir(dir);
  return harness_summary();
}

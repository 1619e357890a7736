/* MEME motif files (src/io/meme.h): the shipped JASPAR CORE 2016 vertebrates file (518
 * motifs, checked against values read off the file by hand), a write/read round trip,
 * the odd corners of the format (full MEME output prose, no w=, log-odds matrices), and
 * bad files, each refused with the file and the line. Needs no OpenCL device. */
#include <sys/stat.h>

#include "harness.h"
#include "io/meme.h"

#define TMPDIR DNACL_TEST_TMPDIR "/meme"
#define JASPAR "data/JASPAR_CORE_2016_vertebrates.meme"

static const char *header = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
                            "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n";

/* Parse text that must fail, with a message containing every needle. */
static void expect_fail(const char *label, const char *text, const char *const *needles) {
  dnacl_motif_set s;
  dnacl_status st = dnacl_meme_parse("bad.meme", text, &s);
  CHECK(st == DNACL_ERR_PARSE, "%s: expected a parse error, got %s", label, dnacl_status_name(st));
  const char *msg = dnacl_last_error();
  for (int i = 0; needles[i]; i++) CHECK(strstr(msg, needles[i]) != NULL, "%s: message '%s' lacks '%s'", label, msg, needles[i]);
  CHECK(s.n == 0 && s.motifs == NULL, "%s: a failed parse leaves the set empty", label);
  printf("  %-28s %s\n", label, msg);
  dnacl_motif_set_free(&s);
}

static char *join(const char *a, const char *b) {
  char *r = malloc(strlen(a) + strlen(b) + 1);
  strcpy(r, a);
  strcat(r, b);
  return r;
}

int main(void) {
  mkdir(DNACL_TEST_TMPDIR, 0755);
  mkdir(TMPDIR, 0755);

  /* ---- the shipped database ------------------------------------------------------------ */
  dnacl_motif_set db;
  OK(dnacl_meme_load(JASPAR, &db));
  printf("%s: %d motifs\n", JASPAR, db.n);
  CHECK(db.n == 518, "JASPAR CORE 2016 vertebrates has 518 motifs, read %d", db.n);
  CHECK(db.strands == 2, "strands + -");
  for (int c = 0; c < 4; c++) CHECK(fabs(db.bg[c] - 0.25) < 1e-12, "uniform background");
  const dnacl_motif *m0 = &db.motifs[0];
  CHECK(!strcmp(m0->id, "MA0002.2") && m0->name && !strcmp(m0->name, "RUNX1"), "first motif MA0002.2 RUNX1, got %s %s",
        m0->id, m0->name ? m0->name : "(null)");
  CHECK(m0->width == 11 && m0->nsites == 2000 && m0->line == 10, "MA0002.2: w 11, nsites 2000, line 10; got %d %g %d",
        m0->width, m0->nsites, m0->line);
  /* Row 1 and row 11 of MA0002.2 as printed in the file. */
  const double r1[4] = {0.143500, 0.248000, 0.348000, 0.260500}, r11[4] = {0.250000, 0.079000, 0.144500, 0.526500};
  for (int c = 0; c < 4; c++) {
    CHECK(m0->p[c] == r1[c], "MA0002.2 row 1 base %d: %g", c, m0->p[c]);
    CHECK(m0->p[40 + c] == r11[c], "MA0002.2 row 11 base %d: %g", c, m0->p[40 + c]);
  }
  CHECK(m0->url && !strcmp(m0->url, "http://jaspar.genereg.net?ID=MA0002.2&rm=present&collection=CORE"), "URL kept: %s",
        m0->url ? m0->url : "(null)");
  int ctcf = dnacl_motif_find(&db, "CTCF");
  CHECK(ctcf >= 0 && !strcmp(db.motifs[ctcf].id, "MA0139.1"), "CTCF found by name");
  CHECK(dnacl_motif_find(&db, "MA0139.1") == ctcf, "CTCF found by id");
  CHECK(dnacl_motif_find(&db, "NO_SUCH_TF") == -1, "unknown name: -1");
  if (ctcf >= 0) {
    char cons[64];
    dnacl_motif_consensus(db.motifs[ctcf].p, db.motifs[ctcf].width, cons);
    printf("  CTCF consensus %s\n", cons);
    CHECK(db.motifs[ctcf].width == 19, "CTCF width 19");
    CHECK(strstr(cons, "CCAGCAGGGGGC") || strstr(cons, "CCACCAGGGGGC") || strstr(cons, "CAGGGGGCG"),
          "CTCF consensus has the core CCCTC-binding site: %s", cons);
  }
  int widths_ok = 1, sums_ok = 1;
  for (int i = 0; i < db.n; i++) {
    widths_ok &= db.motifs[i].width >= 5 && db.motifs[i].width <= 30;
    for (int j = 0; j < db.motifs[i].width; j++) {
      const double *p = db.motifs[i].p + j * 4;
      sums_ok &= fabs(p[0] + p[1] + p[2] + p[3] - 1) < 1e-5;
    }
  }
  CHECK(widths_ok, "every JASPAR width in 5..30");
  CHECK(sums_ok, "every JASPAR row sums to 1 within 1e-5");

  /* ---- round trip ---------------------------------------------------------------------- */
  OK(dnacl_meme_save(TMPDIR "/jaspar_copy.meme", &db));
  struct stat st;
  CHECK(stat(TMPDIR "/jaspar_copy.meme.tmp", &st) != 0, "no temporary file left");
  dnacl_motif_set back;
  OK(dnacl_meme_load(TMPDIR "/jaspar_copy.meme", &back));
  CHECK(back.n == db.n, "round trip keeps %d motifs, got %d", db.n, back.n);
  int same = back.n == db.n;
  for (int i = 0; same && i < db.n; i++) {
    const dnacl_motif *a = &db.motifs[i], *b = &back.motifs[i];
    same &= !strcmp(a->id, b->id) && !strcmp(a->name ? a->name : "", b->name ? b->name : "") && a->width == b->width &&
            a->nsites == b->nsites && !strcmp(a->url ? a->url : "", b->url ? b->url : "");
    for (int j = 0; same && j < a->width * 4; j++) same &= fabs(a->p[j] - b->p[j]) < 5e-7;
  }
  CHECK(same, "round trip: ids, names, widths, nsites, URLs and probabilities (6 decimals) agree");
  dnacl_motif_set_free(&back);

  /* Written by hand in memory: nsites, E, no name, strands +, a skewed background. */
  dnacl_motif_set mine;
  dnacl_motif_set_init(&mine);
  mine.strands = 1;
  mine.bg[0] = mine.bg[3] = 0.3, mine.bg[1] = mine.bg[2] = 0.2;
  const double acgt[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.1, 0.2, 0.3, 0.4};
  OK(dnacl_motif_set_add(&mine, "filter0", NULL, NULL, acgt, 4, 37, 0));
  OK(dnacl_motif_set_add(&mine, "filter1", "conv1.1", "https://example.org/x?a=1&b=2", acgt, 2, 0.5, 1.5e-10));
  OK(dnacl_meme_save(TMPDIR "/mine.meme", &mine));
  OK(dnacl_meme_load(TMPDIR "/mine.meme", &back));
  CHECK(back.n == 2 && back.strands == 1 && fabs(back.bg[0] - 0.3) < 1e-9 && fabs(back.bg[1] - 0.2) < 1e-9,
        "strands and background round-trip");
  if (back.n == 2) {
    CHECK(back.motifs[0].name == NULL && back.motifs[0].nsites == 37 && back.motifs[0].width == 4, "filter0 back");
    CHECK(!strcmp(back.motifs[1].name, "conv1.1") && back.motifs[1].nsites == 0.5 &&
              fabs(back.motifs[1].evalue - 1.5e-10) < 1e-20 && back.motifs[1].width == 2,
          "filter1 back: name, nsites, E");
    CHECK(back.motifs[0].p[14] == 0.3, "probabilities back");
  }
  dnacl_motif_set_free(&back);
  /* An id with a blank would not read back as written: refused. */
  OK(dnacl_motif_set_add(&mine, "two words", NULL, NULL, acgt, 1, 0, 0));
  CHECK(dnacl_meme_save(TMPDIR "/bad_id.meme", &mine) == DNACL_ERR_ARG, "an id with a blank is refused");
  CHECK(stat(TMPDIR "/bad_id.meme", &st) != 0, "and nothing is written");
  dnacl_motif_set_free(&mine);

  /* Reverse complement and information content. */
  double rc[16];
  dnacl_motif_revcomp(acgt, 4, rc);
  CHECK(rc[0] == 0.4 && rc[1] == 0.3 && rc[2] == 0.2 && rc[3] == 0.1 && rc[4 + 1] == 1 && rc[8 + 2] == 1 && rc[12 + 3] == 1,
        "reverse complement of A, C, G, (0.1 0.2 0.3 0.4)");
  CHECK(fabs(dnacl_motif_column_ic(acgt, 0) - 2) < 1e-12, "IC of a certain column is 2 bits");
  const double uni[4] = {0.25, 0.25, 0.25, 0.25};
  CHECK(fabs(dnacl_motif_column_ic(uni, 0)) < 1e-12, "IC of a uniform column is 0");

  /* ---- the odd corners of the format ------------------------------------------------------ */
  /* Full MEME output: prose and a version with a release date before the matrix, extra words
   * on the MOTIF line, a log-odds matrix, no w= (rows end at the first line that is not a
   * row), "w=3" without a blank, and CRLF line ends. */
  const char *full =
      "********************************************************************************\r\n"
      "MEME - Motif discovery tool\r\n"
      "MEME version 5.5.4 (Release date: Thu Sep 14 2023)\r\n"
      "command: meme seqs.fa -dna\r\n"
      "ALPHABET= ACGT\r\n"
      "MOTIF GATAAG MEME-1\twidth =   6  sites =  20  llr = 150  E-value = 1.2e-010\r\n"
      "Motif GATAAG MEME-1 sites sorted by position p-value\r\n"
      "sequence_name  Start  P-value  Site\r\n"
      "log-odds matrix: alength= 4 w= 2 n= 1000 bayes= 3 E= 1.2e-010\r\n"
      " -100 -100 200 -100\r\n"
      " 200 -100 -100 -100\r\n"
      "letter-probability matrix: alength= 4 nsites= 20 E= 1.2e-010\r\n"
      " 0.0 0.0 1.0 0.0\r\n"
      " 1.0 0.0 0.0 0.0\r\n"
      "--------------------------------------------------------------------------------\r\n"
      "MOTIF second\r\n"
      "letter-probability matrix: w=3 alength=4\r\n"
      "0.25 0.25 0.25 0.25\r\n"
      "\r\n"
      "0.5 0.5 0 0\r\n"
      "1 0 0 0\r\n";
  dnacl_motif_set f;
  OK(dnacl_meme_parse("full.txt", full, &f));
  CHECK(f.n == 2, "full MEME output: 2 motifs, got %d", f.n);
  if (f.n == 2) {
    CHECK(!strcmp(f.motifs[0].id, "GATAAG") && !strcmp(f.motifs[0].name, "MEME-1"), "id and name from a long MOTIF line");
    CHECK(f.motifs[0].width == 2 && f.motifs[0].p[2] == 1 && f.motifs[0].nsites == 20, "matrix without w=: 2 rows");
    CHECK(f.motifs[1].width == 3 && f.motifs[1].p[8] == 1 && f.motifs[1].name == NULL, "w=3 with a blank line inside");
  }
  dnacl_motif_set_free(&f);

  /* ---- bad files: file:line and what is wrong -------------------------------------------- */
  printf("bad files:\n");
  struct {
    const char *label, *body, *needles[5];
    int with_header;
  } bad[] = {
      {"no version line", "ALPHABET= ACGT\nMOTIF a\n", {"bad.meme:1:", "MEME version"}, 0},
      {"old version", "MEME version 3\n", {"bad.meme:1:", "version 3"}, 0},
      {"empty file", "", {"bad.meme:1:", "MEME version"}, 0},
      {"protein alphabet", "MEME version 4\n\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", {"bad.meme:3:", "only ACGT"}, 0},
      {"custom alphabet", "MEME version 5\nALPHABET \"DNA\" DNA-LIKE\n", {"bad.meme:2:", "ALPHABET= ACGT"}, 0},
      {"bad strands", "MEME version 4\nstrands: -\n", {"bad.meme:2:", "strands"}, 0},
      {"background sum", "MEME version 4\nBackground letter frequencies\nA 0.5 C 0.5 G 0.5 T 0.5\n", {"bad.meme:3:", "sum to 2"}, 0},
      {"background letter", "MEME version 4\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 U 0.25\n",
       {"bad.meme:3:", "'U'"}, 0},
      {"no motifs", "", {"bad.meme:9:", "no MOTIF"}, 1},
      {"matrix outside MOTIF", "letter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n",
       {"bad.meme:10:", "outside a MOTIF"}, 1},
      {"MOTIF without matrix", "MOTIF a A\n\nMOTIF b B\nletter-probability matrix: w= 1\n1 0 0 0\n",
       {"bad.meme:10:", "motif a has no letter-probability matrix"}, 1},
      {"last MOTIF without matrix", "MOTIF a A\nletter-probability matrix: w= 1\n1 0 0 0\nMOTIF b\n",
       {"bad.meme:13:", "motif b has no"}, 1},
      {"alength 20", "MOTIF a\nletter-probability matrix: alength= 20 w= 1\n", {"bad.meme:11:", "alength= 20"}, 1},
      {"w not a number", "MOTIF a\nletter-probability matrix: alength= 4 w= x\n", {"bad.meme:11:", "w= expects", "'x'"}, 1},
      {"w 0", "MOTIF a\nletter-probability matrix: alength= 4 w= 0\n", {"bad.meme:11:", "w= 0"}, 1},
      {"short row", "MOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n0.5 0.5 0\n",
       {"bad.meme:13:", "motif a", "row 2", "3 values"}, 1},
      {"not a number", "MOTIF a\nletter-probability matrix: w= 1\n0.25 0.25 abc 0.25\n", {"bad.meme:12:", "'abc'"}, 1},
      {"negative", "MOTIF a\nletter-probability matrix: w= 1\n0.5 0.5 0.5 -0.5\n", {"bad.meme:12:", "outside [0, 1]"}, 1},
      {"counts", "MOTIF a\nletter-probability matrix: w= 1\n0.5 0.5 0.5 0.5\n", {"bad.meme:12:", "sum to 2", "counts"}, 1},
      {"too few rows", "MOTIF a\nletter-probability matrix: w= 3\n1 0 0 0\n0 1 0 0\nMOTIF b\n",
       {"bad.meme:14:", "declares w= 3 but has 2 rows", "line 11"}, 1},
      {"too few rows at EOF", "MOTIF a\nletter-probability matrix: w= 3\n1 0 0 0\n", {"bad.meme:12:", "w= 3 but has 1 row"}, 1},
      {"duplicate id", "MOTIF a\nletter-probability matrix: w= 1\n1 0 0 0\nMOTIF a\n", {"bad.meme:13:", "repeats", "line 10"}, 1},
      {"no rows", "MOTIF a\nletter-probability matrix:\nURL x\n", {"bad.meme:11:", "no rows"}, 1},
      {"nan", "MOTIF a\nletter-probability matrix: w= 1\nnan 0 0 0\n", {"bad.meme:12:", "'nan'"}, 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *text = join(bad[i].with_header ? header : "", bad[i].body);
    expect_fail(bad[i].label, text, bad[i].needles);
    free(text);
  }
  /* Through the file reader: a missing file, a binary file. */
  dnacl_motif_set x;
  CHECK(dnacl_meme_load(TMPDIR "/does_not_exist.meme", &x) == DNACL_ERR_IO && strstr(dnacl_last_error(), "does_not_exist"),
        "a missing file is an I/O error naming it");
  FILE *bin = fopen(TMPDIR "/binary.meme", "wb");
  fwrite("MEME version 4\n\0\1\2", 1, 18, bin);
  fclose(bin);
  CHECK(dnacl_meme_load(TMPDIR "/binary.meme", &x) == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "binary.meme:2:"),
        "a NUL byte is refused with its line: %s", dnacl_last_error());
  dnacl_motif_set_free(&x);
  dnacl_motif_set_free(&db);
  return harness_summary();
}

/* dnacl simulate: Koo & Ploenzke's synthetic datasets with their ground truth (the
 * design, the file layout and every choice are in src/sim/simulate.h). No device is
 * needed: generation is host-only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sim/simulate.h"

static const char *usage =
    "usage: dnacl simulate --task koo-task1|koo-task3 --out D.h5 [options]\n"
    "  --motifs FILE.meme   PWMs to plant (default data/JASPAR_CORE_2016_vertebrates.meme)\n"
    "  --n N                sequences in all, split 0.7/0.1/0.2 (task1 30000, task3 20000)\n"
    "  --length L           bases per sequence (200)\n"
    "  --seed S             same seed, same dataset (1)\n"
    "  --names A,B,...      task-1 motifs / task-3 positive pool by name or JASPAR id\n"
    "                       (default: the paper's 12 / SP1,Gabpa,CEBPB,MAX,YY1)\n"
    "  --background N       task 3: other motifs in the negative pool (50)\n"
    "  --info-threshold B   mask positions whose generating column has > B bits (0.01)\n"
    "  The file holds X/Y_train|valid|test in Koo's layout, the mask M_<split> (N, L),\n"
    "  the planted motifs truth_<split>_seq|motif|pos|strand and the motif list.\n";

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long x = v ? strtol(v, &end, 10) : 0;
  if (!v || errno || *end || end == v || x < lo || x > hi) {
    fprintf(stderr, "dnacl simulate: %s expects an integer from %ld to %ld, got '%s'\n", opt, lo, hi, v ? v : "");
    return 0;
  }
  *out = x;
  return 1;
}

int cmd_simulate(int argc, char **argv) {
  cli_common cc = {0};
  const char *task = NULL, *out = NULL, *motifs = NULL, *names = NULL;
  long n = -1, length = -1, background = -1;
  unsigned long long seed = 1;
  double info = -1;
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "dnacl simulate: unknown option or missing value: '%s'\n%s", a, usage);
      return 2;
    }
    i++;
    if (!strcmp(a, "--task")) task = v;
    else if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--motifs")) motifs = v;
    else if (!strcmp(a, "--names")) names = v;
    else if (!strcmp(a, "--n")) { if (!parse_long(a, v, 10, 100000000, &n)) return 2; }
    else if (!strcmp(a, "--length")) { if (!parse_long(a, v, 1, 1000000, &length)) return 2; }
    else if (!strcmp(a, "--background")) { if (!parse_long(a, v, 0, 100000, &background)) return 2; }
    else if (!strcmp(a, "--seed")) {
      char *end;
      errno = 0;
      seed = strtoull(v, &end, 10);
      if (errno || *end || end == v || v[0] == '-') {
        fprintf(stderr, "dnacl simulate: --seed expects a non-negative integer, got '%s'\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--info-threshold")) {
      char *end;
      info = strtod(v, &end);
      if (*end || end == v || !(info >= 0 && info < 2)) {
        fprintf(stderr, "dnacl simulate: --info-threshold expects bits in [0, 2), got '%s'\n", v);
        return 2;
      }
    } else {
      fprintf(stderr, "dnacl simulate: unknown option '%s'\n%s", a, usage);
      return 2;
    }
  }
  if (!task || !out) {
    fprintf(stderr, "dnacl simulate: --task and --out are required\n%s", usage);
    return 2;
  }
  dnacl_sim_task t;
  if (dnacl_sim_task_parse(task, &t) != DNACL_OK) {
    fprintf(stderr, "dnacl simulate: %s\n", dnacl_last_error());
    return 2;
  }
  if (background >= 0 && t != DNACL_SIM_KOO_TASK3) {
    fprintf(stderr, "dnacl simulate: --background is for koo-task3 (task 1 has no negative pool)\n");
    return 2;
  }
  dnacl_sim_cfg c = dnacl_sim_defaults(t);
  if (motifs) c.motifs_path = motifs;
  else if (access(c.motifs_path, R_OK) != 0) {
    fprintf(stderr, "dnacl simulate: %s not found: the default motif file is relative to the dnacl "
            "source tree; run from there or give --motifs FILE.meme\n", c.motifs_path);
    return 1;
  }
  if (n >= 0) c.n = (int)n;
  if (length >= 0) c.length = (int)length;
  if (background >= 0) c.n_background = (int)background;
  if (info >= 0) c.info_threshold = info;
  c.seed = seed;
  /* --names A,B,C: split a copy in place; empty names are a usage error. */
  char *names_buf = NULL;
  const char *name_ptr[1000];
  if (names) {
    names_buf = malloc(strlen(names) + 1);
    if (!names_buf) return 1;
    strcpy(names_buf, names);
    int k = 0;
    for (char *p = names_buf;; p++) {
      char *comma = strchr(p, ',');
      if (comma) *comma = 0;
      if (!*p || k == 1000) {
        fprintf(stderr, "dnacl simulate: --names expects a comma-separated list of up to 1000 names, got '%s'\n", names);
        free(names_buf);
        return 2;
      }
      name_ptr[k++] = p;
      if (!comma) break;
      p = comma;
    }
    c.names = name_ptr;
    c.n_names = k;
  }
  dnacl_sim_data d;
  dnacl_status s = dnacl_sim_generate(&c, &d);
  if (s == DNACL_OK) s = dnacl_sim_save(&d, out);
  free(names_buf);
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl simulate: %s\n", dnacl_last_error());
    dnacl_sim_data_free(&d); /* generated but not saved; already empty if generation failed */
    return 1;
  }

  /* What was made, so a log shows the design without opening the file. */
  long k_all = 0, masked = 0, pos = 0, hist[8] = {0};
  for (int sp = 0; sp < 3; sp++) {
    const dnacl_truth *tr = &d.truth[sp];
    k_all += tr->k;
    for (size_t i = 0; i < (size_t)tr->n * tr->length; i++) masked += tr->mask[i];
    for (int i = 0; i < tr->n; i++) {
      int k = tr->first[i + 1] - tr->first[i];
      hist[k < 7 ? k : 7]++;
    }
    if (t == DNACL_SIM_KOO_TASK3)
      for (int i = 0; i < d.sets[sp].n; i++) pos += d.sets[sp].y[i] > 0.5f;
  }
  printf("%s: %d sequences of %d bp (seed %llu) -> %s\n", dnacl_sim_task_name(t), d.n, d.length,
         (unsigned long long)d.seed, out);
  printf("  splits: train %d, valid %d, test %d", d.sets[0].n, d.sets[1].n, d.sets[2].n);
  if (t == DNACL_SIM_KOO_TASK3) printf("; %ld positive", pos);
  printf("\n  %s:", t == DNACL_SIM_KOO_TASK1 ? "tasks, in order" : "positive pool");
  for (int m = 0; m < d.motifs.n; m++)
    if (d.motifs.role[m]) printf(" %s (%s)", d.motifs.names[m], d.motifs.ids[m]);
  printf("\n");
  if (t == DNACL_SIM_KOO_TASK3)
    printf("  negative pool: the positive pool and %d other motifs (motif_role 0 in the file)\n", d.n_background);
  printf("  planted %ld motifs (%.2f per sequence; by count:", k_all, (double)k_all / d.n);
  for (int k = 1; k < 8; k++)
    if (hist[k]) printf(" %d:%ld", k, hist[k]);
  printf(")\n  mask: %.1f%% of positions (generating column > %g bits)\n", 100.0 * masked / ((double)d.n * d.length),
         d.info_threshold);
  if (d.redrawn)
    printf("  note: %ld motif draws did not fit in %d bp and were drawn again, which favours fewer and "
           "narrower motifs than the paper's distribution\n", d.redrawn, d.length);
  dnacl_sim_data_free(&d);
  return 0;
}

/* dnacl filters: a trained run's first-layer filters as motifs (activation-based alignment,
 * src/explain/filters.h), written as MEME text, optionally drawn as logos and matched
 * against a motif database (src/explain/tomtom.h). A table of the filters goes to standard
 * output as TSV; a summary of what was done goes to standard error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "explain/filters.h"
#include "explain/motif_logo.h"
#include "explain/tomtom.h"

static const char *usage =
    "usage: dnacl filters --run RUN/ --data D --out filters.meme [options]\n"
    "First-layer filters as motifs (Koo & Ploenzke): where a filter's activation exceeds\n"
    "T x its largest activation over the sequences, the input window it saw is counted into\n"
    "its position frequency matrix.\n"
    "  --split S             train|valid|test|all (default: test if D has one, else all of D)\n"
    "  --n N                 the first N sequences of the split (default all)\n"
    "  --threshold T         in [0, 1), default 0.5\n"
    "  --pseudocount X       added to every base's count in every column (default 0.1)\n"
    "  --compare DB.meme     best database match per filter (TomTom-style: Pearson column\n"
    "                        scores, p-values from the database's columns; src/explain/tomtom.h)\n"
    "  --min-overlap K       columns a match must overlap (default 5, or the shorter width)\n"
    "  --svg DIR             DIR/filter<f>.svg: the filter's logo (above its best match with --compare)\n"
    "  --which best|last     the checkpoint (default best)\n"
    "  --batch N             sequences per forward pass (default 256)\n"
    "  --n-value X, --pad L, --crop L   default: as RUN/config.tsv says training used\n"
    "  --labels TSV          FASTA labels from a side table (labels are not needed)\n"
    "  --device INDEX|NAME   --verbose\n"
    "Filters without any window above the threshold are not written (the table says so).\n"
    "Output: the MEME file, and on standard output a TSV with a row per filter:\n"
    "  filter nsites max_activation consensus information_bits\n"
    "  and with --compare: match_id match_name offset strand overlap p_value E_value q_value\n"
    "  (offset: the filter column facing the match's first column in the given strand).\n";

typedef struct filters_opts {
  const char *compare, *svg;
  double threshold, pseudocount;
  long n;
  int min_overlap;
} filters_opts;

static int num_opt(const char *opt, const char *val, double lo, double hi, double *out) {
  char *end;
  if (!val) {
    fprintf(stderr, "dnacl filters: %s needs a value\n", opt);
    return 0;
  }
  double v = strtod(val, &end);
  if (end == val || *end || !(v >= lo && v <= hi)) {
    fprintf(stderr, "dnacl filters: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi, val);
    return 0;
  }
  *out = v;
  return 1;
}

/* Take this command's own options out of argv (the rest goes to cli_run_parse). Returns 0
 * to go on, else the exit code. */
static int own_options(int *argc, char **argv, filters_opts *f) {
  int k = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i], *val = i + 1 < *argc ? argv[i + 1] : NULL;
    double v;
    if (!strcmp(a, "--compare") || !strcmp(a, "--svg")) {
      if (!val) {
        fprintf(stderr, "dnacl filters: %s needs a value\n", a);
        return 2;
      }
      *(!strcmp(a, "--compare") ? &f->compare : &f->svg) = val;
      i++;
    } else if (!strcmp(a, "--threshold")) {
      if (!num_opt(a, val, 0, 0.999999, &v)) return 2;
      f->threshold = v, i++;
    } else if (!strcmp(a, "--pseudocount")) {
      if (!num_opt(a, val, 0, 1e6, &v)) return 2;
      f->pseudocount = v, i++;
    } else if (!strcmp(a, "--n")) {
      if (!num_opt(a, val, 1, 2e9, &v)) return 2;
      if (v != floor(v)) {
        fprintf(stderr, "dnacl filters: --n expects a whole number, got '%s'\n", val);
        return 2;
      }
      f->n = (long)v, i++;
    } else if (!strcmp(a, "--min-overlap")) {
      if (!num_opt(a, val, 1, 1000, &v)) return 2;
      f->min_overlap = (int)v, i++;
    } else {
      argv[k++] = argv[i];
    }
  }
  *argc = k;
  return 0;
}

static void put_field(const char *s) {
  for (; s && *s; s++) putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

int cmd_filters(int argc, char **argv) {
  filters_opts f = {NULL, NULL, 0.5, 0.1, 0, 5};
  int rc = own_options(&argc, argv, &f);
  if (rc) return rc;
  cli_run_opts o;
  rc = cli_run_parse("filters", usage, 0, 1, argc, argv, &o);
  if (rc >= 0) return rc;
  if (!o.out) {
    fprintf(stderr, "dnacl filters: --out FILE.meme is required\n%s", usage);
    return 2;
  }
  /* Read the database first: a bad file should fail before any model runs. */
  dnacl_motif_set db, motifs;
  dnacl_motif_set_init(&db);
  dnacl_motif_set_init(&motifs);
  dnacl_tomtom_db *tdb = NULL;
  if (f.compare) {
    dnacl_tomtom_opts to = dnacl_tomtom_defaults();
    to.min_overlap = f.min_overlap;
    dnacl_status s = dnacl_meme_load(f.compare, &db);
    if (s == DNACL_OK) {
      to.both_strands = db.strands == 2;
      s = dnacl_tomtom_db_new(&db, &to, &tdb);
    }
    if (s != DNACL_OK) {
      fprintf(stderr, "dnacl filters: %s\n", dnacl_last_error());
      dnacl_motif_set_free(&db);
      return 1;
    }
  }
  if (f.svg && mkdir(f.svg, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "dnacl filters: --svg %s: cannot create the directory: %s\n", f.svg, strerror(errno));
    dnacl_tomtom_db_free(tdb);
    dnacl_motif_set_free(&db);
    return 1;
  }
  dnacl_ctx *ctx;
  dnacl_model *m;
  dnacl_seqset set;
  if ((rc = cli_run_open("filters", &o, "test", 1, &ctx, &m, &set))) {
    dnacl_tomtom_db_free(tdb);
    dnacl_motif_set_free(&db);
    return rc;
  }
  int n = f.n > 0 && f.n < set.n ? (int)f.n : set.n;
  dnacl_filter_counts cnt;
  memset(&cnt, 0, sizeof cnt);
  dnacl_filter_layer fl;
  dnacl_tomtom_hit *hits = NULL, *best = NULL;
  dnacl_status s = dnacl_filter_layer_find(m, &fl);
  if (s == DNACL_OK) {
    const char *map_name = m->spec.layers[fl.map_node].name;
    fprintf(stderr, "filters: %d filters of %s (kernel %d, dilation %d, %s padding); activation map: output of %s (%s)\n",
            fl.n_filters, m->spec.layers[0].name, fl.kernel, fl.dilation, fl.left ? "same" : "valid/no", map_name,
            dnacl_layer_kind_name(m->nodes[fl.map_node].kind));
    if (m->nodes[fl.map_node].kind != DNACL_L_ACTIVATION)
      fprintf(stderr, "filters: warning: no activation follows %s directly; using the output of %s\n",
              m->spec.layers[0].name, map_name);
    s = dnacl_filter_align(ctx, m, set.x, n, f.threshold, o.batch, &cnt);
  }
  if (s == DNACL_OK) s = dnacl_filter_motifs(&cnt, f.pseudocount, &motifs);
  if (s == DNACL_OK && motifs.n == 0)
    s = dnacl_fail(DNACL_ERR_ARG, "no filter has an activation above %g x its maximum on these %d sequences; nothing written",
                   f.threshold, n);
  if (s == DNACL_OK) s = dnacl_meme_save(o.out, &motifs);
  if (s == DNACL_OK && tdb) {
    hits = malloc((size_t)db.n * sizeof *hits);
    best = malloc((size_t)motifs.n * sizeof *best);
    if (!hits || !best) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    for (int k = 0; s == DNACL_OK && k < motifs.n; k++) {
      int b;
      s = dnacl_tomtom_query(tdb, motifs.motifs[k].p, motifs.motifs[k].width, hits, &b);
      if (s == DNACL_OK) best[k] = hits[b];
    }
  }
  /* Logos: the filter alone, or above its best match in the orientation that matched. */
  for (int k = 0; s == DNACL_OK && f.svg && k < motifs.n; k++) {
    const dnacl_motif *q = &motifs.motifs[k];
    char path[4200], title[256], mtitle[512];
    snprintf(path, sizeof path, "%s/%s.svg", f.svg, q->id);
    snprintf(title, sizeof title, "%s (%s): %.0f sites", q->id, m->spec.layers[0].name, q->nsites);
    if (!best) {
      s = dnacl_motif_logo_svg(path, q->p, q->width, title);
      continue;
    }
    const dnacl_tomtom_hit *h = &best[k];
    const dnacl_motif *t = &db.motifs[h->target];
    double *tp = malloc((size_t)t->width * 4 * sizeof *tp);
    if (!tp) {
      s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      break;
    }
    if (h->strand > 0) memcpy(tp, t->p, (size_t)t->width * 4 * sizeof *tp);
    else dnacl_motif_revcomp(t->p, t->width, tp);
    snprintf(mtitle, sizeof mtitle, "best match %s %s (%c strand): p %.2g, E %.2g", t->id, t->name ? t->name : "",
             h->strand > 0 ? '+' : '-', h->pvalue, h->evalue);
    s = dnacl_motif_logo_pair_svg(path, q->p, q->width, title, tp, t->width, h->offset, mtitle);
    free(tp);
  }
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl filters: %s\n", dnacl_last_error());
    rc = 1;
  } else {
    int with = 0;
    printf("filter\tnsites\tmax_activation\tconsensus\tinformation_bits%s\n",
           tdb ? "\tmatch_id\tmatch_name\toffset\tstrand\toverlap\tp_value\tE_value\tq_value" : "");
    for (int ff = 0, k = 0; ff < fl.n_filters; ff++) {
      printf("filter%d\t%ld\t%.6g", ff, cnt.nsites[ff], (double)cnt.max_act[ff]);
      if (cnt.nsites[ff] == 0) {
        printf("\t-\t-%s\n", tdb ? "\t-\t-\t-\t-\t-\t-\t-\t-" : "");
        continue;
      }
      const dnacl_motif *q = &motifs.motifs[k];
      char cons[1024];
      double bits = 0;
      dnacl_motif_consensus(q->p, q->width < 1000 ? q->width : 1000, cons);
      for (int i = 0; i < q->width; i++) bits += dnacl_motif_column_ic(q->p, i);
      printf("\t%s\t%.3f", cons, bits);
      if (tdb) {
        const dnacl_tomtom_hit *h = &best[k];
        printf("\t");
        put_field(db.motifs[h->target].id);
        printf("\t");
        put_field(db.motifs[h->target].name ? db.motifs[h->target].name : "-");
        printf("\t%d\t%c\t%d\t%.3g\t%.3g\t%.3g", h->offset, h->strand > 0 ? '+' : '-', h->overlap, h->pvalue,
               h->evalue, h->qvalue);
      }
      printf("\n");
      with++;
      k++;
    }
    int sig = 0;
    for (int k = 0; best && k < motifs.n; k++) sig += best[k].evalue < 0.1;
    fprintf(stderr, "filters: %d sequences (split %s), threshold %g: %d of %d filters with windows written to %s",
            n, o.load.split ? o.load.split : "all", f.threshold, with, fl.n_filters, o.out);
    if (tdb) fprintf(stderr, "; %d match %s with E < 0.1", sig, f.compare);
    fprintf(stderr, "\n");
  }
  dnacl_filter_counts_free(&cnt);
  free(hits);
  free(best);
  dnacl_motif_set_free(&motifs);
  dnacl_tomtom_db_free(tdb);
  dnacl_motif_set_free(&db);
  dnacl_seqset_free(&set);
  dnacl_model_free(m);
  dnacl_ctx_release(ctx);
  return rc;
}

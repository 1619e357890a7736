/* dnacl score: the interpretability metrics of a trained run on data with ground truth (a
 * dnacl simulate file): classification AUROC/AUPR per task, first-layer filter match
 * against a motif database, and attribution AUROC/AUPR per method against the planted-motif
 * mask. The definitions and their sources are in src/explain/score.h; this file only reads
 * options, calls those functions and prints. Data without ground truth still gets the
 * classification metrics and the database match; the truth-based metrics are then null,
 * with the reason on standard error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "explain/score.h"

static const char *usage =
    "usage: dnacl score --run RUN/ --data D.h5 [options]\n"
    "Interpretability metrics against the ground truth of a dnacl simulate file\n"
    "(definitions: src/explain/score.h; Koo & Ploenzke 2021).\n"
    "  --split S             train|valid|test (default test)\n"
    "  --method M            saliency, ism, ig, deepshap; repeat or give a comma list\n"
    "                        (default all four)\n"
    "  --n N                 attribution: the first N positive sequences of the split (default 500)\n"
    "  --target T            task explained and whose positives are scored: index or name (default 0)\n"
    "  --prob                explain the sigmoid probability (Koo's choice) instead of the logit\n"
    "  --correct             gradient correction (Majdandzic et al. 2023) for saliency, ig, deepshap\n"
    "  --ig-steps N          integrated gradients: midpoint steps per path (default 20)\n"
    "  --ig-refs N           integrated gradients: dinucleotide-shuffled baselines (default 10)\n"
    "  --shap-refs N         deepshap: dinucleotide-shuffled references (default 10)\n"
    "  --seed S              seed of the shuffles (default 1)\n"
    "  --db FILE.meme        motif database for filter match (default " DNACL_SCORE_DEFAULT_DB ")\n"
    "  --evalue E            a filter's database hit is significant below E (default 0.1, as Koo's\n"
    "                        tomtom -evalue -thresh 0.1)\n"
    "  --threshold T         filter alignment: windows where the activation exceeds T x its maximum\n"
    "                        (default 0.5, as dnacl filters)\n"
    "  --pseudocount X       filter PFMs (default 0.1)\n"
    "  --json                print JSON instead of TSV\n"
    "  --which best|last     the checkpoint (default best)\n"
    "  --batch N             rows per pass (default 256 for predictions and filters, 64 for explainers)\n"
    "  --n-value X, --pad L, --crop L   default: as RUN/config.tsv says training used\n"
    "  --device INDEX|NAME   --verbose\n"
    "Output (TSV): section, name, metric, value, one row each:\n"
    "  classification <task>|mean auroc|aupr|positives\n"
    "  filter_match - filters|with_sites|truth|planted|truth_any_hit|database|truth_in_db|status\n"
    "  attribution - considered|scored|skipped_no_mask|skipped_all_mask\n"
    "  attribution <method> status|n|auroc|aupr|auroc_sd|aupr_sd|worst_delta\n"
    "A method the model does not support is reported with status refused and the reason.\n";

typedef struct score_opts {
  unsigned methods;
  int methods_given, batch_given;
  const char *target, *db;
  dnacl_attr_score_opts ao;
  dnacl_filter_match_opts fo;
} score_opts;

static int parse_num(const char *opt, const char *val, double lo, double hi, int integer, double *out) {
  char *end;
  errno = 0;
  double v = strtod(val, &end);
  if (*end || end == val || errno || !(v >= lo && v <= hi) || (integer && v != floor(v))) {
    fprintf(stderr, "dnacl score: %s expects %s in [%g, %g], got '%s'\n", opt, integer ? "an integer" : "a number", lo,
            hi, val);
    return 0;
  }
  *out = v;
  return 1;
}

/* --method values: one name or a comma list; each may be given once. */
static int add_methods(const char *val, unsigned *mask) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", val);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    dnacl_score_method k;
    if (dnacl_score_method_parse(tok, &k) != DNACL_OK) {
      fprintf(stderr, "dnacl score: %s\n", dnacl_last_error());
      return 0;
    }
    if (*mask & (1u << k)) {
      fprintf(stderr, "dnacl score: method '%s' is given twice\n", tok);
      return 0;
    }
    *mask |= 1u << k;
  }
  if (!*mask) {
    fprintf(stderr, "dnacl score: --method needs at least one of saliency, ism, ig, deepshap\n");
    return 0;
  }
  return 1;
}

/* Take score's own options out of argv; the rest go to the parser eval shares. Returns -1
 * to go on, else an exit code. */
static int parse(int argc, char **argv, score_opts *e, int *rest_argc, char **rest) {
  memset(e, 0, sizeof *e);
  e->ao = dnacl_attr_score_defaults();
  e->fo = dnacl_filter_match_defaults();
  int n = 0;
  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    double v;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--prob")) {
      e->ao.output = DNACL_EXPLAIN_PROB;
    } else if (!strcmp(a, "--correct")) {
      e->ao.correct = 1;
    } else if (!strcmp(a, "--method")) {
      if (!cli_need("score", a, val) || !add_methods(val, &e->methods)) return 2;
      e->methods_given = 1;
      i++;
    } else if (!strcmp(a, "--target") || !strcmp(a, "--db")) {
      if (!cli_need("score", a, val)) return 2;
      *(!strcmp(a, "--target") ? &e->target : &e->db) = val;
      i++;
    } else if (!strcmp(a, "--n") || !strcmp(a, "--ig-steps") || !strcmp(a, "--ig-refs") ||
               !strcmp(a, "--shap-refs") || !strcmp(a, "--seed")) {
      int seed = !strcmp(a, "--seed");
      if (!cli_need("score", a, val) || !parse_num(a, val, seed ? 0 : 1, seed ? 2147483647.0 : (!strcmp(a, "--n") ? 1e7 : 10000), 1, &v))
        return 2;
      if (!strcmp(a, "--n")) e->ao.n = (int)v;
      else if (!strcmp(a, "--ig-steps")) e->ao.ig_steps = (int)v;
      else if (!strcmp(a, "--ig-refs")) e->ao.ig_refs = (int)v;
      else if (!strcmp(a, "--shap-refs")) e->ao.shap_refs = (int)v;
      else e->ao.seed = (uint64_t)v;
      i++;
    } else if (!strcmp(a, "--evalue") || !strcmp(a, "--threshold") || !strcmp(a, "--pseudocount")) {
      int ev = !strcmp(a, "--evalue"), th = !strcmp(a, "--threshold");
      if (!cli_need("score", a, val) || !parse_num(a, val, ev ? 1e-300 : 0, th ? 0.999999 : 1e6, 0, &v)) return 2;
      if (ev) e->fo.evalue = v;
      else if (th) e->fo.threshold = v;
      else e->fo.pseudocount = v;
      i++;
    } else {
      e->batch_given |= !strcmp(a, "--batch");
      rest[n++] = argv[i];
    }
  }
  *rest_argc = n;
  if (!e->methods) e->methods = DNACL_SCORE_ALL_METHODS;
  return -1;
}

/* ---- printing ----------------------------------------------------------------------------- */

/* JSON has no NaN: a value that does not exist is null. */
static void json_num(double v) {
  if (isfinite(v)) printf("%.6g", v);
  else printf("null");
}

/* TSV fields must not hold tabs or newlines (a task name or a message could). */
static void tsv_field(const char *s) {
  for (; s && *s; s++) putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void tsv_num(const char *sec, const char *name, const char *metric, double v) {
  tsv_field(sec);
  putchar('\t');
  tsv_field(name);
  printf("\t%s\t", metric);
  if (isfinite(v)) printf("%.6g\n", v);
  else printf("nan\n");
}

static void tsv_str(const char *sec, const char *name, const char *metric, const char *v) {
  tsv_field(sec);
  putchar('\t');
  tsv_field(name);
  printf("\t%s\t", metric);
  tsv_field(v);
  putchar('\n');
}

typedef struct score_results {
  const char *split;
  int T;
  dnacl_task_metrics *per, mean;
  /* filter match */
  int fm_ok;                      /* computed */
  char fm_status[600];            /* "ok", "refused: ...", "failed: ..." */
  dnacl_filter_match fm;
  const dnacl_motif_set *db;
  const char *db_path;
  /* attribution */
  int attr_ok;                    /* truth available and selection made */
  char attr_status[600];
  dnacl_attr_scores as;
  int target;
} score_results;

static void print_tsv(const dnacl_seqset *set, const score_opts *e, const score_results *r) {
  printf("section\tname\tmetric\tvalue\n");
  for (int t = 0; t <= r->T; t++) {
    const dnacl_task_metrics *x = t < r->T ? &r->per[t] : &r->mean;
    const char *name = t < r->T ? set->task_names[t] : "mean";
    tsv_num("classification", name, "auroc", x->auroc);
    tsv_num("classification", name, "aupr", x->aupr);
    tsv_num("classification", name, "positives", (double)x->n_pos);
  }
  const dnacl_filter_match *f = &r->fm;
  tsv_str("filter_match", "-", "status", r->fm_status);
  if (r->fm_ok) {
    tsv_num("filter_match", "-", "filters", f->n_filters);
    tsv_num("filter_match", "-", "with_sites", f->n_with_sites);
    tsv_num("filter_match", "-", "truth", f->frac_truth);
    tsv_num("filter_match", "-", "planted", f->frac_planted);
    tsv_num("filter_match", "-", "truth_any_hit", f->frac_truth_any);
    tsv_num("filter_match", "-", "database", f->frac_db);
    tsv_num("filter_match", "-", "truth_in_db", f->truth_in_db);
  }
  tsv_str("attribution", "-", "status", r->attr_status);
  if (!r->attr_ok) return;
  const dnacl_attr_scores *a = &r->as;
  tsv_num("attribution", "-", "considered", a->considered);
  tsv_num("attribution", "-", "scored", a->scored);
  tsv_num("attribution", "-", "skipped_no_mask", a->skipped_no_mask);
  tsv_num("attribution", "-", "skipped_all_mask", a->skipped_all_mask);
  for (int k = 0; k < DNACL_SCORE_N_METHODS; k++) {
    if (!(e->methods & (1u << k))) continue;
    const dnacl_attr_score *s = &a->method[k];
    const char *name = dnacl_score_method_names[k];
    if (s->refused) {
      char msg[600];
      snprintf(msg, sizeof msg, "refused: %s", s->reason);
      tsv_str("attribution", name, "status", msg);
      continue;
    }
    tsv_str("attribution", name, "status", "ok");
    tsv_num("attribution", name, "n", s->n);
    tsv_num("attribution", name, "auroc", s->auroc);
    tsv_num("attribution", name, "aupr", s->aupr);
    tsv_num("attribution", name, "auroc_sd", s->auroc_sd);
    tsv_num("attribution", name, "aupr_sd", s->aupr_sd);
    if (isfinite(s->worst_delta)) tsv_num("attribution", name, "worst_delta", s->worst_delta);
  }
}

static void print_json(const cli_run_opts *o, const dnacl_model *m, const dnacl_seqset *set, const score_opts *e,
                       const score_results *r) {
  printf("{\"run\": ");
  cli_json_str(o->run);
  printf(", \"checkpoint\": ");
  cli_json_str(o->which);
  printf(", \"model\": ");
  cli_json_str(m->spec.name);
  printf(", \"data\": ");
  cli_json_str(o->data);
  printf(", \"split\": ");
  cli_json_str(r->split ? r->split : "all");
  printf(", \"sequences\": %d,\n \"classification\": {\"tasks\": [", set->n);
  for (int t = 0; t < r->T; t++) {
    printf("%s{\"name\": ", t ? ", " : "");
    cli_json_str(set->task_names[t]);
    printf(", \"positives\": %zu, \"auroc\": ", r->per[t].n_pos);
    json_num(r->per[t].auroc);
    printf(", \"aupr\": ");
    json_num(r->per[t].aupr);
    printf("}");
  }
  printf("], \"mean\": {\"auroc\": ");
  json_num(r->mean.auroc);
  printf(", \"aupr\": ");
  json_num(r->mean.aupr);
  printf("}},\n \"filter_match\": {\"status\": ");
  cli_json_str(r->fm_status);
  if (r->fm_ok) {
    const dnacl_filter_match *f = &r->fm;
    printf(", \"database\": ");
    cli_json_str(r->db_path);
    printf(", \"evalue_threshold\": ");
    json_num(e->fo.evalue);
    printf(", \"activation_threshold\": ");
    json_num(e->fo.threshold);
    printf(", \"sequences\": %d, \"filters\": %d, \"with_sites\": %d, \"truth_motifs\": %d, \"truth_in_db\": %d",
           f->n_seqs, f->n_filters, f->n_with_sites, f->truth_motifs, f->truth_in_db);
    printf(", \"truth\": ");
    json_num(f->frac_truth);
    printf(", \"planted\": ");
    json_num(f->frac_planted);
    printf(", \"truth_any_hit\": ");
    json_num(f->frac_truth_any);
    printf(", \"any\": ");
    json_num(f->frac_db);
    printf(",\n  \"per_filter\": [");
    for (int k = 0; k < f->n_filters; k++) {
      const dnacl_filter_match_row *row = &f->rows[k];
      printf("%s{\"filter\": %d, \"sites\": %ld, \"best\": ", k ? ", " : "", k, row->sites);
      if (row->best >= 0) cli_json_str(r->db->motifs[row->best].id);
      else printf("null");
      printf(", \"best_name\": ");
      if (row->best >= 0 && r->db->motifs[row->best].name) cli_json_str(r->db->motifs[row->best].name);
      else printf("null");
      printf(", \"evalue\": ");
      json_num(row->evalue);
      printf(", \"significant\": %s, \"match\": \"%s\"}", row->significant ? "true" : "false",
             row->truth == 2 ? "truth" : row->truth == 1 ? "planted" : row->significant ? "database" : "none");
    }
    printf("]");
  }
  printf("},\n \"attribution\": {\"status\": ");
  cli_json_str(r->attr_status);
  if (r->attr_ok) {
    const dnacl_attr_scores *a = &r->as;
    printf(", \"target\": %d, \"output\": \"%s\", \"correct\": %s, \"seed\": %llu", r->target,
           e->ao.output == DNACL_EXPLAIN_PROB ? "probability" : "logit", e->ao.correct ? "true" : "false",
           (unsigned long long)e->ao.seed);
    printf(", \"considered\": %d, \"scored\": %d, \"skipped_no_mask\": %d, \"skipped_all_mask\": %d, "
           "\"mask_restricted_to_target_motif\": %s,\n  \"methods\": {",
           a->considered, a->scored, a->skipped_no_mask, a->skipped_all_mask, a->restricted ? "true" : "false");
    int first = 1;
    for (int k = 0; k < DNACL_SCORE_N_METHODS; k++) {
      if (!(e->methods & (1u << k))) continue;
      const dnacl_attr_score *s = &a->method[k];
      printf("%s\n   ", first ? "" : ",");
      first = 0;
      cli_json_str(dnacl_score_method_names[k]);
      printf(": {\"status\": \"%s\"", s->refused ? "refused" : "ok");
      if (s->refused) {
        printf(", \"reason\": ");
        cli_json_str(s->reason);
        printf("}");
        continue;
      }
      printf(", \"n\": %d, \"auroc\": ", s->n);
      json_num(s->auroc);
      printf(", \"aupr\": ");
      json_num(s->aupr);
      printf(", \"auroc_sd\": ");
      json_num(s->auroc_sd);
      printf(", \"aupr_sd\": ");
      json_num(s->aupr_sd);
      printf(", \"worst_delta\": ");
      json_num(s->worst_delta);
      printf(", \"seconds\": %.3f", s->seconds);
      if (k == DNACL_SCORE_IG) printf(", \"steps\": %d, \"refs\": %d", e->ao.ig_steps, e->ao.ig_refs);
      if (k == DNACL_SCORE_DEEPSHAP) printf(", \"refs\": %d", e->ao.shap_refs);
      printf("}");
    }
    printf("}");
  }
  printf("}}\n");
}

/* ---- the command ------------------------------------------------------------------------- */

int cmd_score(int argc, char **argv) {
  score_opts e;
  char **rest = malloc((size_t)argc * sizeof *rest);
  if (!rest) return 1;
  int rest_argc, rc = parse(argc, argv, &e, &rest_argc, rest);
  cli_run_opts o;
  if (rc < 0) rc = cli_run_parse("score", usage, 1, 0, rest_argc, rest, &o);
  free(rest);
  if (rc >= 0) return rc;
  if (o.split && !strcmp(o.split, "all")) {
    fprintf(stderr, "dnacl score: the ground truth belongs to one split; give --split train, valid or test\n");
    return 2;
  }
  /* The database first: a bad file should fail before any model runs. */
  const char *db_path = e.db ? e.db : DNACL_SCORE_DEFAULT_DB;
  dnacl_motif_set db;
  dnacl_motif_set_init(&db);
  if (dnacl_meme_load(db_path, &db) != DNACL_OK) {
    fprintf(stderr, "dnacl score: %s\n", dnacl_last_error());
    return 1;
  }
  dnacl_ctx *ctx;
  dnacl_model *m;
  dnacl_seqset set;
  if ((rc = cli_run_open("score", &o, "test", 0, &ctx, &m, &set))) {
    dnacl_motif_set_free(&db);
    return rc;
  }
  score_results r;
  memset(&r, 0, sizeof r);
  r.split = o.load.split;
  r.T = set.n_tasks;
  r.db = &db;
  r.db_path = db_path;
  dnacl_sim_motifs motifs;
  dnacl_truth truth;
  memset(&motifs, 0, sizeof motifs);
  memset(&truth, 0, sizeof truth);
  dnacl_attr_selection sel;
  memset(&sel, 0, sizeof sel);
  int has_truth = 0;
  char why[600] = "";
  if (!r.split) {
    snprintf(why, sizeof why, "%s has no train/valid/test splits, so no ground truth", o.data);
  } else if (dnacl_sim_motifs_load(o.data, &motifs) != DNACL_OK || dnacl_truth_load(o.data, r.split, &truth) != DNACL_OK) {
    snprintf(why, sizeof why, "no ground truth (%s); make data with dnacl simulate", dnacl_last_error());
  } else {
    has_truth = 1;
  }
  if (!has_truth) fprintf(stderr, "score: %s: the truth-based metrics are null\n", why);
  if (!has_truth && e.methods_given) {
    fprintf(stderr, "dnacl score: --method needs ground truth\n");
    rc = 1;
    goto done;
  }
  if (!cli_resolve_target("score", e.target, m, &set, &r.target)) {
    rc = 2;
    goto done;
  }
  e.ao.target = r.target;
  if (e.batch_given) e.ao.batch = o.batch, e.fo.batch = o.batch;

  /* Classification. */
  r.per = calloc((size_t)r.T, sizeof *r.per);
  dnacl_status s = r.per ? dnacl_score_classification(ctx, m, &set, o.batch, r.per, &r.mean)
                         : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s != DNACL_OK) goto fail;

  /* Filter match: a model without a first-layer convolution is refused, not an error. */
  s = dnacl_filter_match_compute(ctx, m, set.x, set.n, has_truth ? &motifs : NULL, &db, &e.fo, &r.fm);
  if (s == DNACL_OK) {
    r.fm_ok = 1;
    snprintf(r.fm_status, sizeof r.fm_status, "ok");
    fprintf(stderr, "score: filter match: %d of %d filters match a ground-truth motif (E < %g against %s), %d any\n",
            r.fm.n_truth, r.fm.n_filters, e.fo.evalue, db_path, r.fm.n_db);
    if (has_truth && r.fm.truth_in_db < r.fm.truth_motifs)
      fprintf(stderr, "score: warning: %s holds only %d of the %d ground-truth motifs\n", db_path, r.fm.truth_in_db,
              r.fm.truth_motifs);
  } else if (s == DNACL_ERR_UNSUPPORTED) {
    snprintf(r.fm_status, sizeof r.fm_status, "refused: %s", dnacl_last_error());
    fprintf(stderr, "score: filter match %s\n", r.fm_status);
  } else {
    goto fail;
  }

  /* Attribution, one method at a time so that progress shows. */
  if (!has_truth) {
    snprintf(r.attr_status, sizeof r.attr_status, "unavailable: %s", why);
  } else {
    s = dnacl_attr_select(&set, &truth, &motifs, &e.ao, &sel);
    if (s != DNACL_OK) goto fail;
    r.attr_ok = 1;
    snprintf(r.attr_status, sizeof r.attr_status, "ok");
    r.as.methods = e.methods;
    r.as.considered = sel.considered;
    r.as.scored = sel.n;
    r.as.skipped_no_mask = sel.skipped_no_mask;
    r.as.skipped_all_mask = sel.skipped_all_mask;
    r.as.restricted = sel.restricted;
    fprintf(stderr, "score: attribution on %d of the first %d positive sequences of task %d (%d without a marked position, %d all marked)%s\n",
            sel.n, sel.considered, r.target, sel.skipped_no_mask, sel.skipped_all_mask,
            sel.restricted ? "; mask: the target's motif only" : "");
    for (int k = 0; k < DNACL_SCORE_N_METHODS; k++) {
      if (!(e.methods & (1u << k))) continue;
      dnacl_attr_score *a = &r.as.method[k];
      s = dnacl_attr_score_method(ctx, m, &sel, (dnacl_score_method)k, &e.ao, a);
      if (s != DNACL_OK) goto fail;
      if (a->refused)
        fprintf(stderr, "score: %s refused: %s\n", dnacl_score_method_names[k], a->reason);
      else
        fprintf(stderr, "score: %-8s AUROC %.4f AUPR %.4f on %d sequences (%.2f s)\n", dnacl_score_method_names[k],
                a->auroc, a->aupr, a->n, a->seconds);
    }
  }
  if (o.json) print_json(&o, m, &set, &e, &r);
  else print_tsv(&set, &e, &r);
  goto done;
fail:
  fprintf(stderr, "dnacl score: %s\n", dnacl_last_error());
  rc = 1;
done:
  dnacl_attr_selection_free(&sel);
  dnacl_filter_match_free(&r.fm);
  free(r.per);
  dnacl_truth_free(&truth);
  dnacl_sim_motifs_free(&motifs);
  dnacl_motif_set_free(&db);
  dnacl_seqset_free(&set);
  dnacl_model_free(m);
  dnacl_ctx_release(ctx);
  return rc;
}

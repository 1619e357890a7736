/* dnacl eval: loss, accuracy, AUROC and AUPR of a trained run on labelled data, per task
 * and their mean, as a table or JSON. Also the option handling and loading that
 * dnacl predict shares (cli_run_parse, cli_run_open). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "io/safetensors.h"
#include "train/loop.h"
#include "train/metrics.h"

static const char *usage =
    "usage: dnacl eval --run RUN/ --data D [options]\n"
    "  --split S             train|valid|test|all (default: test if D has one, else all of D)\n"
    "  --which best|last     the checkpoint (default best)\n"
    "  --json                print JSON instead of a table\n"
    "  --batch N             sequences per forward pass (default 256; it changes the speed, the results only by float rounding)\n"
    "  --n-value X, --pad L, --crop L   default: as RUN/config.tsv says training used\n"
    "  --labels TSV          FASTA labels from a side table\n"
    "  --device INDEX|NAME   --verbose\n";

/* ---- shared with dnacl predict ------------------------------------------------------- */

static int parse_num(const char *cmd, const char *opt, const char *val, double *out) {
  char *end;
  if (!val) {
    fprintf(stderr, "dnacl %s: %s needs a value\n", cmd, opt);
    return 0;
  }
  *out = strtod(val, &end);
  if (*end || end == val) {
    fprintf(stderr, "dnacl %s: %s expects a number, got '%s'\n", cmd, opt, val);
    return 0;
  }
  return 1;
}

int cli_run_parse(const char *cmd, const char *use, int json_ok, int out_ok, int argc, char **argv,
                  cli_run_opts *o) {
  memset(o, 0, sizeof *o);
  o->load = dnacl_load_opts_default();
  o->which = "best";
  o->batch = 256;
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &o->cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    double v;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(use, stdout);
      return 0;
    } else if (json_ok && !strcmp(a, "--json")) {
      o->json = 1;
      continue;
    }
    const char **str = !strcmp(a, "--run")      ? &o->run
                       : !strcmp(a, "--data")   ? &o->data
                       : !strcmp(a, "--split")  ? &o->split
                       : !strcmp(a, "--which")  ? &o->which
                       : !strcmp(a, "--labels") ? &o->load.labels_tsv
                       : (out_ok && !strcmp(a, "--out")) ? &o->out
                                                         : NULL;
    if (str) {
      if (!val) {
        fprintf(stderr, "dnacl %s: %s needs a value\n", cmd, a);
        return 2;
      }
      *str = val;
      i++;
    } else if (!strcmp(a, "--batch") || !strcmp(a, "--n-value") || !strcmp(a, "--pad") || !strcmp(a, "--crop")) {
      if (!parse_num(cmd, a, val, &v)) return 2;
      i++;
      if (!strcmp(a, "--batch")) {
        if (v < 1 || v > 1 << 20) {
          fprintf(stderr, "dnacl %s: --batch must be between 1 and %d\n", cmd, 1 << 20);
          return 2;
        }
        o->batch = (int)v;
      } else if (!strcmp(a, "--n-value")) {
        o->load.n_value = (float)v, o->n_value_given = 1;
      } else if (!strcmp(a, "--pad")) {
        o->load.pad_to = (int)v, o->pad_given = 1;
      } else {
        o->load.crop_to = (int)v, o->crop_given = 1;
      }
    } else {
      fprintf(stderr, "dnacl %s: unknown option or missing value: '%s'\n%s", cmd, a, use);
      return 2;
    }
  }
  if (!o->run || !o->data) {
    fprintf(stderr, "dnacl %s: --run and --data are required\n%s", cmd, use);
    return 2;
  }
  /* A checkpoint name is a file in RUN/, never a path: keep --which from reaching
   * elsewhere (best and last are what training writes). */
  if (!*o->which || strchr(o->which, '/') || strstr(o->which, "..")) {
    fprintf(stderr, "dnacl %s: --which is best or last, got '%s'\n", cmd, o->which);
    return 2;
  }
  return -1;
}

/* RUN/config.tsv is "key<TAB>value" lines written by dnacl train. A run without one (a
 * checkpoint copied on its own into a directory) keeps the loader's defaults. */
static int read_config(const char *cmd, cli_run_opts *o) {
  char path[4096], line[4352];
  snprintf(path, sizeof path, "%s/config.tsv", o->run);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return 0;
    fprintf(stderr, "dnacl %s: %s: %s\n", cmd, path, strerror(errno));
    return 1;
  }
  int lineno = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    char *val = tab + 1, *end;
    val[strcspn(val, "\r\n")] = 0;
    int is_n = !strcmp(line, "n_value"), is_pad = !strcmp(line, "pad_to"), is_crop = !strcmp(line, "crop_to");
    if (!is_n && !is_pad && !is_crop) continue;
    double v = strtod(val, &end);
    if (*end || end == val) {
      fprintf(stderr, "dnacl %s: %s:%d: %s is not a number: '%s'\n", cmd, path, lineno, line, val);
      rc = 1;
    } else if (is_n && !o->n_value_given) {
      o->load.n_value = (float)v;
    } else if (is_pad && !o->pad_given) {
      o->load.pad_to = (int)v;
    } else if (is_crop && !o->crop_given) {
      o->load.crop_to = (int)v;
    }
  }
  fclose(f);
  return rc;
}

int cli_run_open(const char *cmd, cli_run_opts *o, const char *default_split, int allow_unlabelled, dnacl_ctx **ctx,
                 dnacl_model **m, dnacl_seqset *set) {
  memset(set, 0, sizeof *set);
  *ctx = NULL;
  *m = NULL;
  if (read_config(cmd, o)) return 1;
  o->load.allow_unlabelled = allow_unlabelled;
  /* Which records: an explicit split must exist (a FASTA file has none, and silently
   * evaluating all of it instead would report the wrong numbers); "all" is the whole file. */
  int has = 0;
  if (o->split && !strcmp(o->split, "all")) {
    o->load.split = NULL;
  } else if (o->split) {
    if (dnacl_seqset_has_split(o->data, o->split, &has) != DNACL_OK) goto fail;
    if (!has) {
      fprintf(stderr, "dnacl %s: %s has no '%s' split (use --split all for the whole file)\n", cmd, o->data, o->split);
      return 1;
    }
    o->load.split = o->split;
  } else {
    if (default_split && dnacl_seqset_has_split(o->data, default_split, &has) != DNACL_OK) goto fail;
    o->load.split = has ? default_split : NULL;
  }
  if (dnacl_ctx_create(o->cc.device, o->cc.verbose, ctx) != DNACL_OK) goto fail;
  if (dnacl_run_load(*ctx, o->run, o->which, m) != DNACL_OK) goto fail;
  if (dnacl_seqset_load(o->data, &o->load, set) != DNACL_OK) goto fail;
  if (set->n == 0) {
    fprintf(stderr, "dnacl %s: %s%s%s%s has no sequences\n", cmd, o->data, o->load.split ? " (split " : "",
            o->load.split ? o->load.split : "", o->load.split ? ")" : "");
    goto fail_quiet;
  }
  if (set->length != (*m)->length) {
    fprintf(stderr, "dnacl %s: %s has sequences of length %d but the model takes length %d "
                    "(crop/pad from the run: %d/%d; give --crop L or --pad L)\n",
            cmd, o->data, set->length, (*m)->length, o->load.crop_to, o->load.pad_to);
    goto fail_quiet;
  }
  if (set->n_tasks && set->n_tasks != (*m)->spec.tasks && !allow_unlabelled) {
    fprintf(stderr, "dnacl %s: %s has %d label column(s) but the model predicts %d task(s)\n", cmd, o->data,
            set->n_tasks, (*m)->spec.tasks);
    goto fail_quiet;
  }
  return 0;
fail:
  fprintf(stderr, "dnacl %s: %s\n", cmd, dnacl_last_error());
fail_quiet:
  dnacl_seqset_free(set);
  dnacl_model_free(*m);
  *m = NULL;
  if (*ctx) dnacl_ctx_release(*ctx);
  *ctx = NULL;
  return 1;
}

/* ---- eval ------------------------------------------------------------------------------- */

/* JSON has no NaN: a task with one class has no AUROC/AUPR, written as null. */
static void json_num(double v) {
  if (isfinite(v)) printf("%.6f", v);
  else printf("null");
}

static void json_metrics(const dnacl_task_metrics *t) {
  printf("\"n\": %zu, \"positives\": %zu, \"loss\": ", t->n, t->n_pos);
  json_num(t->loss);
  printf(", \"accuracy\": ");
  json_num(t->accuracy);
  printf(", \"auroc\": ");
  json_num(t->auroc);
  printf(", \"aupr\": ");
  json_num(t->aupr);
}

/* The training step the checkpoint was saved at, from its metadata ("?" if absent). */
static void checkpoint_step(const cli_run_opts *o, char *out, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.safetensors", o->run, o->which);
  dnacl_safetensors f;
  snprintf(out, n, "?");
  if (dnacl_st_load(path, &f) != DNACL_OK) return;
  const char *s = dnacl_st_meta(&f, "dnacl.step");
  /* Only digits: the value goes into JSON unquoted. */
  if (s && *s && strlen(s) < n && s[strspn(s, "0123456789")] == 0) snprintf(out, n, "%s", s);
  dnacl_st_free(&f);
}

int cmd_eval(int argc, char **argv) {
  cli_run_opts o;
  int rc = cli_run_parse("eval", usage, 1, 0, argc, argv, &o);
  if (rc >= 0) return rc;
  dnacl_ctx *ctx;
  dnacl_model *m;
  dnacl_seqset set;
  if ((rc = cli_run_open("eval", &o, "test", 0, &ctx, &m, &set))) return rc;
  int T = set.n_tasks;
  float *logits = malloc((size_t)set.n * T * sizeof *logits);
  dnacl_task_metrics *per = calloc((size_t)T, sizeof *per), sum;
  dnacl_status s = (logits && per) ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK) s = dnacl_predict_logits(ctx, m, &set, o.batch, logits);
  if (s == DNACL_OK) s = dnacl_metrics_tasks(set.y, logits, (size_t)set.n, T, per, &sum);
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl eval: %s\n", dnacl_last_error());
    rc = 1;
  } else {
    char step[64];
    checkpoint_step(&o, step, sizeof step);
    const char *split = o.load.split ? o.load.split : "all";
    if (o.json) {
      printf("{\"run\": ");
      cli_json_str(o.run);
      printf(", \"checkpoint\": ");
      cli_json_str(o.which);
      /* The step is a number when the checkpoint says; null for one without it. */
      printf(", \"step\": %s", strcmp(step, "?") ? step : "null");
      printf(", \"model\": ");
      cli_json_str(m->spec.name);
      printf(", \"data\": ");
      cli_json_str(o.data);
      printf(", \"split\": ");
      cli_json_str(split);
      printf(", \"length\": %d,\n \"tasks\": [", set.length);
      for (int t = 0; t < T; t++) {
        printf("%s\n  {\"name\": ", t ? "," : "");
        cli_json_str(set.task_names[t]);
        printf(", ");
        json_metrics(&per[t]);
        printf("}");
      }
      printf("],\n \"mean\": {");
      json_metrics(&sum);
      printf("}}\n");
    } else {
      printf("run %s (%s checkpoint, step %s), model %s\n", o.run, o.which, step, m->spec.name);
      printf("data %s, split %s: %d sequences of length %d, %d task%s\n\n", o.data, split, set.n, set.length, T,
             T == 1 ? "" : "s");
      printf("%-20s %8s %8s %9s %9s %9s %9s\n", "task", "n", "pos", "loss", "accuracy", "auroc", "aupr");
      for (int t = 0; t < T + 1; t++) {
        const dnacl_task_metrics *x = t < T ? &per[t] : &sum;
        if (t == T) printf("%.*s\n", 75, "---------------------------------------------------------------------------");
        /* NaN (a single-class task) prints as "nan" on purpose: the table is for reading. */
        printf("%-20.20s %8zu %8zu %9.4f %9.4f %9.4f %9.4f\n", t < T ? set.task_names[t] : "mean", x->n, x->n_pos,
               x->loss, x->accuracy, x->auroc, x->aupr);
      }
    }
  }
  free(logits);
  free(per);
  dnacl_seqset_free(&set);
  dnacl_model_free(m);
  dnacl_ctx_release(ctx);
  return rc;
}

/* Runtime: device ranking on invented device descriptions, device matching, the program
 * cache, build-failure reporting, the embedded kernel sources' includes and safetensors
 * round trips. */
#include "harness.h"
#include "dnacl.h"
#include "runtime/cl_sources.h"

static dnacl_device_info dev(const char *platform, const char *name, const char *vendor,
                             unsigned vid, dnacl_device_type type) {
  dnacl_device_info d;
  memset(&d, 0, sizeof d);
  snprintf(d.platform, sizeof d.platform, "%s", platform);
  snprintf(d.name, sizeof d.name, "%s", name);
  snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
  d.vendor_id = vid;
  d.type = type;
  return d;
}

static void test_ranking(void) {
  dnacl_device_info devs[6] = {
      dev("Portable Computing Language", "pthread-skylake", "GenuineIntel", 0x8086, DNACL_DEVICE_CPU),
      dev("NVIDIA CUDA", "NVIDIA H100", "NVIDIA Corporation", 0x10DE, DNACL_DEVICE_GPU),
      dev("Apple", "Apple M2", "Apple", 0x1027f00, DNACL_DEVICE_GPU),
      dev("Intel(R) OpenCL Graphics", "Intel(R) Arc A770", "Intel(R) Corporation", 0x8086, DNACL_DEVICE_GPU),
      dev("AMD Accelerated Parallel Processing", "gfx1100", "Advanced Micro Devices, Inc.", 0x1002, DNACL_DEVICE_GPU),
      dev("Some FPGA", "fpga0", "Acme", 0x1234, DNACL_DEVICE_OTHER),
  };
  int order[6];
  dnacl_rank_devices(devs, 6, order);
  int want[6] = {4, 3, 2, 1, 0, 5};
  for (int i = 0; i < 6; i++)
    CHECK(order[i] == want[i], "rank %d: got device %d (%s), want %d", i, order[i],
          devs[order[i]].name, want[i]);

  /* Two CPUs and a GPU: the GPU first, the CPUs keep enumeration order. */
  dnacl_device_info mixed[3] = {
      dev("Portable Computing Language", "cpu-a", "AuthenticAMD", 0x1002, DNACL_DEVICE_CPU),
      dev("Portable Computing Language", "cpu-b", "AuthenticAMD", 0x1002, DNACL_DEVICE_CPU),
      dev("NVIDIA CUDA", "NVIDIA A100", "NVIDIA Corporation", 0x10DE, DNACL_DEVICE_GPU),
  };
  dnacl_rank_devices(mixed, 3, order);
  CHECK(order[0] == 2 && order[1] == 0 && order[2] == 1, "mixed order %d %d %d", order[0], order[1], order[2]);

  /* A GPU whose driver reports vendor id 0 is still recognised by its vendor string. */
  dnacl_device_info odd[2] = {
      dev("Other", "some gpu", "NVIDIA Corporation", 0x10DE, DNACL_DEVICE_GPU),
      dev("ROCm", "gfx90a", "Advanced Micro Devices, Inc.", 0, DNACL_DEVICE_GPU),
  };
  dnacl_rank_devices(odd, 2, order);
  CHECK(order[0] == 1, "AMD by vendor string should rank first, got %d", order[0]);

  CHECK(dnacl_match_device(devs, 6, "3") == 3, "index choice");
  CHECK(dnacl_match_device(devs, 6, "h100") == 1, "name substring, any case");
  CHECK(dnacl_match_device(devs, 6, "portable") == 0, "platform substring");
  CHECK(dnacl_match_device(devs, 6, "9") == -1, "index out of range");
  CHECK(dnacl_match_device(devs, 6, "tpu") == -1, "unknown name");
}

static void test_device_errors(void) {
  dnacl_ctx *ctx = NULL;
  dnacl_status s = dnacl_ctx_create("no-such-device-xyz", 0, &ctx);
  CHECK(s == DNACL_ERR_NO_DEVICE, "unknown device choice should fail, got %s", dnacl_status_name(s));
  CHECK(strstr(dnacl_last_error(), "no-such-device-xyz") && strstr(dnacl_last_error(), "[0]"),
        "error should name the choice and list devices: %s", dnacl_last_error());
}

static void test_build_failure(dnacl_ctx *ctx) {
  cl_program p;
  /* The smoke source with a macro that breaks it: the build must fail with a full log. */
  dnacl_status s = dnacl_program(ctx, "smoke", "-Dn=)", &p);
  CHECK(s == DNACL_ERR_BUILD, "broken build should be DNACL_ERR_BUILD, got %s", dnacl_status_name(s));
  const char *e = dnacl_last_error();
  CHECK(strstr(e, "cl/smoke.cl") && strstr(e, "-Dn=)") && strstr(e, "build log"),
        "build error should name file, options and log: %s", e);
  s = dnacl_program(ctx, "no_such_family", "", &p);
  CHECK(s == DNACL_ERR_ARG, "unknown family");
  cl_program a, b;
  OK(dnacl_program(ctx, "smoke", "-DX=1", &a));
  OK(dnacl_program(ctx, "smoke", "-DX=1", &b));
  CHECK(a == b, "programs are cached per family and options");
}

/* The text between `#line 1 "<shown>"` and the next #line in an embedded source (where
 * cmake/embed_cl.cmake put an included file), copied; NULL if it is not there. */
static char *included_text(const char *src, const char *shown) {
  char mark[256];
  snprintf(mark, sizeof mark, "\n#line 1 \"%s\"\n", shown);
  const char *a = strstr(src, mark);
  if (!a) return NULL;
  a += strlen(mark);
  const char *b = strstr(a, "\n#line ");
  if (!b) return NULL;
  char *t = malloc((size_t)(b - a) + 1);
  memcpy(t, a, (size_t)(b - a));
  t[b - a] = 0;
  return t;
}

/* Includes are resolved when the kernels are embedded: no family's source still has an
 * #include line (a device compiler could not resolve it), the activation formulas reach
 * both families that apply them as one text, framed by #line directives that give the
 * build log the included file's lines and then the includer's own again. */
static void test_embedded_includes(dnacl_ctx *ctx) {
  int families = 0;
  for (const dnacl_cl_source *s = dnacl_cl_sources; s->family; s++, families++)
    for (const char *l = s->text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
      const char *c = l + strspn(l, " \t");
      if (*c != '#') continue;
      c += 1 + strspn(c + 1, " \t");
      CHECK(strncmp(c, "include", 7) != 0, "cl/%s.cl still has an #include line: %.60s", s->family, l);
    }
  CHECK(families >= 10, "only %d kernel families embedded", families);
  CHECK(!dnacl_cl_source_text("act_formulas"), "cl/include/ files are not families of their own");

  const char *act = dnacl_cl_source_text("activation"), *ism = dnacl_cl_source_text("ism");
  char *fa = included_text(act, "cl/include/act_formulas.cl");
  char *fi = included_text(ism, "cl/include/act_formulas.cl");
  CHECK(fa && fi, "act_formulas.cl is included in cl/activation.cl (%d) and cl/ism.cl (%d)", !!fa, !!fi);
  if (fa && fi) {
    CHECK(!strcmp(fa, fi), "the two families got different formula texts");
    CHECK(strstr(fa, "static inline floatv act_f(floatv x)"), "the formulas define act_f");
  }
  free(fa);
  free(fi);
  /* The #line 1 directive stands on the #include's line; the includer's numbering resumes
   * on the next line (the text before the include is verbatim, so its lines count). */
  const char *d = strstr(act, "\n#line 1 \"cl/include/act_formulas.cl\"");
  const char *back = d ? strstr(d + 1, "\n#line ") : NULL;
  int directive = 2, line = 0;
  for (const char *c = act; d && c < d; c++) directive += *c == '\n';
  char shown[64] = "";
  CHECK(back && sscanf(back, "\n#line %d \"%63[^\"]\"", &line, shown) == 2 &&
            !strcmp(shown, "cl/activation.cl") && line == directive + 1,
        "the include on line %d of cl/activation.cl should end with #line %d \"cl/activation.cl\", "
        "got #line %d \"%s\"", directive, directive + 1, line, shown);

  /* A build error in included text: the log names the function's #error; on PoCL (clang)
   * also the included file, through the #line directives. */
  cl_program p;
  dnacl_status s = dnacl_program(ctx, "activation", "-DACT=99", &p);
  const char *e = dnacl_last_error();
  CHECK(s == DNACL_ERR_BUILD && strstr(e, "unknown ACT"), "ACT=99 should fail in act_f: %s", e);
  if (strstr(ctx->info.platform, "Portable Computing Language"))
    CHECK(strstr(e, "cl/include/act_formulas.cl"), "the log should name the included file: %s", e);
}

static void test_safetensors_roundtrip(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {-7.5f};
  dnacl_st_tensor t[2] = {{"conv1.w", 2, {2, 3}, 6, a}, {"loss \"q\"", 1, {1}, 1, b}};
  const char *k[1] = {"model"}, *v[1] = {"layers:\n  - conv1d"};
  const char *path = DNACL_TEST_TMPDIR "/roundtrip.safetensors";
  OK(dnacl_st_save(path, t, 2, k, v, 1));
  dnacl_safetensors f;
  OK(dnacl_st_load(path, &f));
  CHECK(f.n == 2, "two tensors back");
  const dnacl_st_tensor *w = dnacl_st_get(&f, "conv1.w");
  CHECK(w && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3 && w->data[5] == 6, "tensor back");
  CHECK(dnacl_st_get(&f, "loss \"q\"") && dnacl_st_get(&f, "loss \"q\"")->data[0] == -7.5f, "escaped name");
  CHECK(dnacl_st_meta(&f, "model") && !strcmp(dnacl_st_meta(&f, "model"), v[0]), "metadata back");
  dnacl_st_free(&f);
  FILE *fp = fopen(DNACL_TEST_TMPDIR "/bad.safetensors", "wb");
  fwrite("\x10\0\0\0\0\0\0\0{\"x\":{\"dtype\":", 1, 22, fp);
  fclose(fp);
  dnacl_status s = dnacl_st_load(DNACL_TEST_TMPDIR "/bad.safetensors", &f);
  CHECK(s == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "bad.safetensors"), "truncated file: %s", dnacl_last_error());
}

/* While a gate holds the queue back (incremental ISM), the runtime's blocking calls fail
 * with a message instead of waiting forever; once it opens they work again. */
static void test_gated_queue(dnacl_ctx *ctx) {
  dnacl_tensor t;
  float h[4] = {1, 2, 3, 4}, back[4] = {0};
  OK(dnacl_tensor_new(ctx, &t, 4, 0, 0));
  ctx->gated = 1;
  CHECK(dnacl_tensor_write(ctx, &t, h) == DNACL_ERR_UNSUPPORTED && strstr(dnacl_last_error(), "gated"),
        "blocking write while gated fails: %s", dnacl_last_error());
  CHECK(dnacl_tensor_read(ctx, &t, back) == DNACL_ERR_UNSUPPORTED, "blocking read while gated fails");
  CHECK(dnacl_finish(ctx) == DNACL_ERR_UNSUPPORTED, "finish while gated fails");
  ctx->gated = 0;
  OK(dnacl_tensor_write(ctx, &t, h));
  OK(dnacl_tensor_read(ctx, &t, back));
  CHECK(back[3] == 4.0f, "transfers work once the gate is open");
  dnacl_tensor_free(&t);
}

int main(void) {
  test_ranking();
  test_device_errors();
  dnacl_ctx *ctx = harness_ctx();
  test_build_failure(ctx);
  test_embedded_includes(ctx);
  test_gated_queue(ctx);
  test_safetensors_roundtrip();
  dnacl_ctx_release(ctx);
  return harness_summary();
}

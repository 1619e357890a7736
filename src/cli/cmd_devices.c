/* dnacl devices: every platform and device, with the one the dispatcher picks marked. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "dnacl.h"

static const char *type_name(dnacl_device_type t) {
  return t == DNACL_DEVICE_GPU ? "GPU" : t == DNACL_DEVICE_CPU ? "CPU" : "other";
}

int cmd_devices(int argc, char **argv) {
  cli_common c = {0};
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &c);
    if (r < 0) return 2;
    if (r == 0) {
      fprintf(stderr, "dnacl devices: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  dnacl_device_info *devs;
  int n;
  if (dnacl_list_devices(&devs, &n) != DNACL_OK) {
    fprintf(stderr, "dnacl devices: %s\n", dnacl_last_error());
    return 1;
  }
  dnacl_ctx *ctx = NULL;
  dnacl_status s = dnacl_ctx_create(c.device, c.verbose, &ctx);
  int chosen = s == DNACL_OK ? dnacl_ctx_device(ctx)->index : -1;
  printf("   %-3s %-28s %-40s %-5s %-28s %4s %10s\n", "idx", "platform", "device", "type", "vendor",
         "CUs", "memory");
  for (int i = 0; i < n; i++)
    printf("%s  %-3d %-28.28s %-40.40s %-5s %-28.28s %4u %7.1f GiB\n", i == chosen ? "*" : " ", i,
           devs[i].platform, devs[i].name, type_name(devs[i].type), devs[i].vendor,
           devs[i].compute_units, (double)devs[i].global_mem / (1024.0 * 1024 * 1024));
  free(devs);
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl devices: %s\n", dnacl_last_error());
    return 1;
  }
  printf("* chosen device (override with --device INDEX|NAME or DNACL_DEVICE)\n");
  dnacl_ctx_release(ctx);
  return 0;
}

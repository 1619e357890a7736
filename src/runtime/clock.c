/* The one monotonic clock of the library and the CLI (timing reports, sweep logs). */
#include <time.h>

#include "runtime/runtime.h"

double dnacl_now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

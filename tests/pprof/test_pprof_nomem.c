/* Every allocation the encoder (and the gzip path, zlib included) makes is
 * failed in turn: each run must return RMP_ERR_NOMEM, not crash, and leave
 * no block behind. */
#include <stdio.h>

#include "rmp_test_alloc.h"
#define RMP_IMPLEMENTATION
#include "rmp.h"
#define RMP_PPROF_IMPLEMENTATION
#include "rmp_pprof.h"

static void check(int ok, const char *what, long k) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s (allocation %ld failed)\n", what, k);
    exit(1);
  }
}

static int discard(void *ctx, const void *p, size_t n) {
  (void)ctx;
  (void)p;
  (void)n;
  return 0;
}

static void build(rmp_profiler *p, rmp_snapshot *snap) {
  rmp_config cfg;
  uint64_t keys[50];
  int lines[50], i;
  uint32_t name, file, k, st, f;
  rmp_config_default(&cfg);
  cfg.sample_rate = 0.5;
  check(rmp_profiler_init(p, &cfg) == RMP_OK, "init", -1);
  check(rmp_strtab_intern_cstr(&p->strings, "Klass", &k) == RMP_OK, "intern", -1);
  for (i = 0; i < 300; i++) {
    int d, depth = 1 + i % 50;
    for (d = 0; d < depth; d++) {
      keys[d] = (uint64_t)(d * 7 + i % 5 + 1);
      lines[d] = d;
    }
    check(rmp_stack_intern(&p->stacks, keys, lines, (size_t)depth, &st) == RMP_OK, "stack", -1);
    /* rmp_sample_confirm: as if the countdown had said yes each time. */
    check(rmp_track(p, (uintptr_t)(0x1000 + 64 * i), st, k, 40 + (uint64_t)i, (uint32_t)(i % 9),
                    rmp_sample_confirm(p)) == RMP_OK,
          "track", -1);
  }
  for (f = p->stacks.first_unresolved; f < p->stacks.nfuncs; f++) {
    char buf[32];
    snprintf(buf, sizeof buf, "f%u", f);
    check(rmp_strtab_intern_cstr(&p->strings, buf, &name) == RMP_OK, "intern", -1);
    check(rmp_strtab_intern_cstr(&p->strings, "x.rb", &file) == RMP_OK, "intern", -1);
    rmp_func_resolve(&p->stacks, f, name, 0, file, 1);
  }
  check(rmp_profiler_rotate(p, snap, NULL, 0, 10, 9) == RMP_OK, "rotate", -1);
}

int main(void) {
  rmp_profiler p;
  rmp_snapshot snap;
  long k;
  int pass;
  build(&p, &snap);
  for (pass = 0; pass < 2; pass++) {
    size_t base_bytes = ta_live_bytes, base_blocks = ta_live_blocks;
    for (k = 0;; k++) {
      rmp_status s;
      rmp_buf out = {NULL, 0, 0};
      ta_count = 0;
      ta_fail_at = k;
      if (pass == 0)
        s = rmp_pprof_encode(&snap, NULL, discard, NULL);
      else
        s = rmp_pprof_encode_gzip(&snap, NULL, &out);
      ta_fail_at = -1;
      rmp_buf_free(&out);
      check(ta_live_bytes == base_bytes && ta_live_blocks == base_blocks, "leak", k);
      if ((long)ta_count <= k) { /* nothing failed: the run is complete */
        check(s == RMP_OK, "a run without failures succeeds", k);
        printf("%s: every one of %ld allocations failed in turn -> RMP_ERR_NOMEM\n",
               pass ? "gzip" : "raw", k);
        break;
      }
      check(s == RMP_ERR_NOMEM, "failure reported as RMP_ERR_NOMEM", k);
    }
  }
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
  return 0;
}

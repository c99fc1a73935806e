/* The header compiled the other ways embedders use it: as C++ (this file is
 * also built as embed_variants.cpp), with RMP_STATIC, and (as C) without
 * zlib. Each variant encodes a small real profile and checks its framing. */
#define RMP_STATIC
#define RMP_IMPLEMENTATION
#include "rmp.h"
#define RMP_PPROF_IMPLEMENTATION
#include "rmp_pprof.h"

#include <stdio.h>

int main(void) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_snapshot snap;
  rmp_buf out = {NULL, 0, 0};
  uint64_t key = 1;
  int line = 7;
  uint32_t stack, name, klass;
  rmp_status st;
  rmp_config_default(&cfg);
  if (rmp_profiler_init(&p, &cfg) != RMP_OK) return 1;
  if (rmp_stack_intern(&p.stacks, &key, &line, 1, &stack) != RMP_OK) return 1;
  if (rmp_strtab_intern_cstr(&p.strings, "main", &name) != RMP_OK) return 1;
  if (rmp_strtab_intern_cstr(&p.strings, "Object", &klass) != RMP_OK) return 1;
  rmp_func_resolve(&p.stacks, 0, name, name, name, 1);
  /* Rate 1: the decision is to keep it in both sections. */
  if (rmp_track(&p, 0x1000, stack, klass, 40, 0, rmp_sample_tick(&p)) != RMP_OK) return 1;
  if (rmp_profiler_rotate(&p, &snap, NULL, 0, 10, 0) != RMP_OK) return 1;
#ifdef RMP_PPROF_NO_ZLIB
  st = rmp_pprof_encode(&snap, NULL, rmp_buf_sink, &out);
  /* a raw Profile starts with its first sample_type: field 1, wire type 2 */
  if (st != RMP_OK || out.len < 2 || out.data[0] != 0x0A) return 1;
#else
  st = rmp_pprof_encode_gzip(&snap, NULL, &out);
  if (st != RMP_OK || out.len < 18 || out.data[0] != 0x1f || out.data[1] != 0x8b) return 1;
#endif
  printf("encoded %zu bytes\n", out.len);
  rmp_buf_free(&out);
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
  return 0;
}

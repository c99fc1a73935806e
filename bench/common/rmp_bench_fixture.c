#include "rmp_bench_fixture.h"

#include <stdio.h>

#define RMPB_GROUP 100u
#define RMPB_LEAF_POOL 2000u
#define RMPB_CLASSES 40u

uint64_t rmpb_mix(uint64_t x) {
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

uintptr_t rmpb_addr(uint64_t k) {
  /* One object in 64 slots on average: k's own window of 64 slots keeps
   * addresses distinct without a set. */
  return (uintptr_t)(UINT64_C(0x560000000000) + 40u * (k * 64u + rmpb_mix(k) % 64u));
}

/* Function keys look like Ruby VALUEs (8-aligned, never 0). */
static uint64_t func_key(uint64_t n) { return UINT64_C(0x7f0000000000) + 40u * n; }

void rmpb_stack(uint32_t i, uint32_t depth, uint32_t variant, uint64_t *keys, int *lines) {
  uint32_t group = i / RMPB_GROUP;
  for (uint32_t j = 0; j < depth; j++) {
    uint32_t from_root = depth - 1 - j;
    uint64_t h;
    if (from_root < depth / 2) {
      /* Shared prefix: functions 0..99999 by (group, position). */
      h = rmpb_mix(((uint64_t)group << 16) | from_root);
      keys[j] = func_key(100000u + h % 100000u);
      lines[j] = (int)(h >> 40) % 400 + 1;
    } else {
      h = rmpb_mix(((uint64_t)i << 16) | from_root | (UINT64_C(1) << 62));
      keys[j] = func_key(h % RMPB_LEAF_POOL);
      lines[j] = (int)(h >> 40) % 300 + 1;
    }
  }
  if (variant) rmpb_set_root_variant(variant, depth, keys, lines);
}

void rmpb_set_root_variant(uint32_t variant, uint32_t depth, uint64_t *keys, int *lines) {
  if (!depth) return;
  keys[depth - 1] = func_key(300000u + variant % 1000u);
  lines[depth - 1] = (int)(variant / 1000u) + 1;
}

rmp_status rmpb_resolve_all(rmp_profiler *p) {
  rmp_stacks *st = &p->stacks;
  char buf[96];
  for (uint32_t f = st->first_unresolved; f < st->nfuncs; f++) {
    rmp_func *fn = rmp_func_get(st, f);
    if (fn->resolved) continue;
    uint64_t n = (fn->key - func_key(0)) / 40u;
    uint32_t name, sys, file;
    rmp_status s;
    snprintf(buf, sizeof buf, "App::Mod%u::Klass%u#method_%u", (unsigned)(n % 7), (unsigned)(n % 113),
             (unsigned)n);
    if ((s = rmp_strtab_intern_cstr(&p->strings, buf, &name)) != RMP_OK) return s;
    snprintf(buf, sizeof buf, "method_%u", (unsigned)n);
    if ((s = rmp_strtab_intern_cstr(&p->strings, buf, &sys)) != RMP_OK) return s;
    snprintf(buf, sizeof buf, "/srv/app/lib/app/mod%u/file_%u.rb", (unsigned)(n % 7), (unsigned)(n % 500));
    if ((s = rmp_strtab_intern_cstr(&p->strings, buf, &file)) != RMP_OK) return s;
    rmp_func_resolve(st, f, name, sys, file, (int32_t)(n % 300));
  }
  st->first_unresolved = st->nfuncs;
  return RMP_OK;
}

rmp_status rmpb_build(rmp_profiler *p, uint32_t nstacks, uint32_t depth, uint32_t nlive, uint32_t *ids) {
  rmp_config cfg;
  rmp_status s;
  uint64_t keys[RMP_MAX_DEPTH];
  int lines[RMP_MAX_DEPTH];
  uint32_t klass[RMPB_CLASSES];
  uint32_t *own = ids;
  char buf[32];

  rmp_config_default(&cfg);
  cfg.seed = 42;
  if (nlive > cfg.max_heap_samples) cfg.max_heap_samples = nlive;
  if ((s = rmp_profiler_init(p, &cfg)) != RMP_OK) return s;
  if (!own && !(own = (uint32_t *)malloc(sizeof(uint32_t) * (nstacks ? nstacks : 1)))) {
    s = RMP_ERR_NOMEM;
    goto fail;
  }
  for (uint32_t c = 0; c < RMPB_CLASSES; c++) {
    snprintf(buf, sizeof buf, "Klass%u", (unsigned)c);
    if ((s = rmp_strtab_intern_cstr(&p->strings, buf, &klass[c])) != RMP_OK) goto fail;
  }
  for (uint32_t i = 0; i < nstacks; i++) {
    rmpb_stack(i, depth, 0, keys, lines);
    if ((s = rmp_stack_intern(&p->stacks, keys, lines, depth, &own[i])) != RMP_OK) goto fail;
  }
  if ((s = rmpb_resolve_all(p)) != RMP_OK) goto fail;
  for (uint32_t k = 0; k < nlive && nstacks; k++) {
    uint64_t h = rmpb_mix(k);
    rmp_decision d = rmp_sample_tick(p); /* rate 1: kept in the live table (never full here) */
    s = rmp_track(p, rmpb_addr(k), own[k % nstacks], klass[h % RMPB_CLASSES], 40u + (uint32_t)(h >> 58) * 8u,
                  (uint32_t)(k / 1000u), d);
    if (s != RMP_OK && s != RMP_ERR_FULL) goto fail;
  }
  if (own != ids) free(own);
  return RMP_OK;
fail:
  if (own != ids) free(own);
  rmp_profiler_free(p);
  return s;
}

/* Profiles from the real producer: rmp.h's profiler and rmp_pprof.h's
 * encoder, driven by a simulated Ruby process, so that the leak finder is
 * tested on exactly what the gem writes.
 *
 *   gen_rmp OUTDIR
 *
 * Three processes (pids 301, 302, 303), 12 profiles each, a minute apart.
 * Every process has boot objects that live forever, a bounded LRU cache
 * that warms up over the first two minutes and then churns at a constant
 * size, and garbage that mostly dies before each profile. Only pid 302
 * leaks: Leaky#remember keeps 200 more Request objects every minute.
 */
#include "rmp.h"
#include "rmp_pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fn_def { const char *name, *file; int line; } fn_def;

/* function key = index + 1 */
static const fn_def FNS[] = {
    {"Leaky#remember", "app/leaky.rb", 12}, {"Handler#call", "app/handler.rb", 40}, {"<main>", "app/main.rb", 3},
    {"Cache#store", "app/cache.rb", 30},    {"Parser#parse", "app/parser.rb", 7},   {"Config#load", "app/config.rb", 5},
    {"Class#new", "<cfunc>", 0},
};

static uint32_t str(rmp_profiler *p, const char *s) {
  uint32_t id;
  if (rmp_strtab_intern_cstr(&p->strings, s, &id) != RMP_OK) abort();
  return id;
}

/* Interns a stack of function indices (leaf first) and names new functions. */
static uint32_t stack(rmp_profiler *p, const int *fns, size_t depth) {
  uint64_t keys[8];
  int lines[8];
  for (size_t i = 0; i < depth; i++) {
    keys[i] = (uint64_t)fns[i] + 1;
    lines[i] = FNS[fns[i]].line ? FNS[fns[i]].line + 2 : 0;
  }
  uint32_t id;
  if (rmp_stack_intern(&p->stacks, keys, lines, depth, &id) != RMP_OK) abort();
  for (uint32_t f = p->stacks.first_unresolved; f < p->stacks.nfuncs; f++) {
    rmp_func *fn = rmp_func_get(&p->stacks, f);
    if (fn->resolved) continue;
    const fn_def *d = &FNS[fn->key - 1];
    rmp_func_resolve(&p->stacks, f, str(p, d->name), str(p, d->name), str(p, d->file), d->line);
  }
  return id;
}

static uintptr_t next_addr = 0x10000;

static void track(rmp_profiler *p, uintptr_t addr, const int *fns, size_t depth, const char *cls, uint64_t size,
                  uint32_t epoch) {
  /* Rate 1, bounds above the live set: every allocation is kept. */
  rmp_decision d = rmp_sample_tick(p);
  if (!(d & RMP_KEEP_HEAP) || rmp_track(p, addr, stack(p, fns, depth), str(p, cls), size, epoch, d) != RMP_OK) abort();
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_rmp OUTDIR\n");
    return 2;
  }
  static const int LEAK[] = {6, 0, 1, 2}, CACHE[] = {3, 1, 2}, NOISE[] = {4, 1, 2}, BOOT[] = {5, 2};
  const uint64_t T0 = 1795600000ull * 1000000000ull, MIN = 60000000000ull;
  enum { CACHE_CAP = 1000, PER_STEP = 600, STEPS = 12 };
  for (int64_t pid = 301; pid <= 303; pid++) {
    rmp_profiler p;
    rmp_config cfg;
    rmp_config_default(&cfg);
    cfg.seed = (uint64_t)pid;
    cfg.max_heap_samples = 100000;
    if (rmp_profiler_init(&p, &cfg) != RMP_OK) return 1;
    uintptr_t cache[CACHE_CAP];
    uint32_t cache_n = 0, cache_head = 0;
    uintptr_t survivors[400];
    uint32_t nsurv = 0;
    uint64_t rng = 0x2545F4914F6CDD1Dull * (uint64_t)pid;
    for (int i = 0; i < 2000; i++) track(&p, next_addr += 40, BOOT, 2, "Hash", 160, 0);
    for (int step = 0; step < STEPS; step++) {
      uint32_t epoch = 20u * (uint32_t)(step + 1);
      /* garbage from the previous minute that survived is dead now */
      for (uint32_t i = 0; i < nsurv; i++) rmp_live_delete(&p.live, survivors[i]);
      nsurv = 0;
      if (pid == 302)
        for (int i = 0; i < 200; i++) track(&p, next_addr += 40, LEAK, 4, "Request", 96, epoch - 10);
      for (int i = 0; i < PER_STEP; i++) { /* LRU: evict the oldest when full */
        uintptr_t a = next_addr += 40;
        if (cache_n == CACHE_CAP) {
          rmp_live_delete(&p.live, cache[cache_head]);
          cache[cache_head] = a;
          cache_head = (cache_head + 1) % CACHE_CAP;
        } else {
          cache[cache_n++] = a;
        }
        track(&p, a, CACHE, 3, "CacheEntry", 512, epoch - 5);
      }
      for (int i = 0; i < 5000; i++) {
        uintptr_t a = next_addr += 40;
        track(&p, a, NOISE, 3, "String", 64, epoch);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (nsurv < 400 && rng % 16 == 0) survivors[nsurv++] = a;
        else rmp_live_delete(&p.live, a);
      }
      rmp_snapshot snap;
      if (rmp_profiler_rotate(&p, &snap, NULL, 0, T0 + (uint64_t)step * MIN + (uint64_t)(pid - 301) * 5000000000ull,
                              epoch) != RMP_OK)
        return 1;
      rmp_buf out = {0};
      rmp_pprof_opts opts;
      memset(&opts, 0, sizeof opts);
      opts.pid = pid;
      opts.program = "gen_rmp";
      rmp_status s = rmp_pprof_encode_gzip(&snap, &opts, &out);
      rmp_snapshot_free(&snap);
      if (s != RMP_OK) {
        fprintf(stderr, "gen_rmp: encode: %s\n", rmp_status_str(s));
        return 1;
      }
      char path[4096];
      snprintf(path, sizeof path, "%s/mem-%lld-2026-11-26T11:%02d:00Z.pprof", argv[1], (long long)pid, step);
      FILE *f = fopen(path, "wb");
      if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
        fprintf(stderr, "gen_rmp: cannot write %s\n", path);
        return 1;
      }
      rmp_buf_free(&out);
    }
    rmp_profiler_free(&p);
  }
  return 0;
}

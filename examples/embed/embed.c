/* A complete, minimal embedding of rmp.h + rmp_pprof.h, as the README walks
 * through it: a toy "runtime" allocates objects from a few call paths, some
 * of them die, and we write one gzipped pprof profile of what is still live.
 *
 *   usage: embed OUT.pb.gz
 */
#define RMP_IMPLEMENTATION
#include "rmp.h"
#define RMP_PPROF_IMPLEMENTATION
#include "rmp_pprof.h"

#include <stdio.h>
#include <stdlib.h>

/* The toy runtime: an object knows whether it is still reachable. */
typedef struct object {
  int alive;
  size_t size;
} object;

/* Our "frames": a function is identified by any stable 64-bit key. */
enum { FN_MAIN = 1, FN_LOAD_CONFIG = 2, FN_HANDLE_REQUEST = 3, FN_BUILD_CACHE = 4 };
static const char *fn_names[] = {"", "main", "load_config", "handle_request", "build_cache"};

static int keep_if_alive(void *ud, rmp_live_entry *e) {
  (void)ud;
  return ((const object *)e->addr)->alive;
}

static int fail(const char *what, rmp_status s) {
  fprintf(stderr, "embed: %s: %s\n", what, rmp_status_str(s));
  return 1;
}

int main(int argc, char **argv) {
  rmp_profiler prof;
  rmp_config cfg;
  rmp_snapshot snap;
  rmp_pprof_opts opts = {0, NULL, 0, "embed"};
  rmp_buf out = {NULL, 0, 0};
  object *objs[3000];
  uint32_t klass, i, f;
  rmp_status s;
  FILE *fp;

  if (argc != 2) {
    fprintf(stderr, "usage: embed OUT.pb.gz\n");
    return 2;
  }

  /* 1. Configure: sample every 10th allocation on average. */
  rmp_config_default(&cfg);
  cfg.sample_rate = 0.1;
  cfg.seed = 42;
  if ((s = rmp_profiler_init(&prof, &cfg)) != RMP_OK) return fail("init", s);
  if ((s = rmp_strtab_intern_cstr(&prof.strings, "Object", &klass)) != RMP_OK) return fail("intern", s);

  for (i = 0; i < 3000; i++) {
    /* Two call paths, leaf first: main > handle_request, main > build_cache. */
    uint64_t keys[2] = {i % 2 ? FN_HANDLE_REQUEST : FN_BUILD_CACHE, FN_MAIN};
    int lines[2] = {i % 2 ? 20 : 30, 10};
    objs[i] = (object *)malloc(sizeof(object));
    if (!objs[i]) return 1;
    objs[i]->alive = 1;
    objs[i]->size = 100;

    /* 2. Sample: on the hot path this is one decrement and a branch. A
     * nonzero decision says what the sample is kept for; only then is the
     * stack worth capturing. */
    rmp_decision d = rmp_sample_tick(&prof);
    if (d) {
      uint32_t stack;
      /* 3. Intern the stack; 4. track the object. Failures are counted. */
      if (rmp_stack_intern(&prof.stacks, keys, lines, 2, &stack) != RMP_OK) {
        prof.stacks_dropped++;
        continue;
      }
      rmp_track(&prof, (uintptr_t)objs[i], stack, klass, objs[i]->size, 0, d);
    }
  }

  /* Name the functions the profiler has seen (an embedder does this lazily). */
  for (f = prof.stacks.first_unresolved; f < prof.stacks.nfuncs; f++) {
    uint32_t name, file;
    uint64_t key = rmp_func_get(&prof.stacks, f)->key;
    if (rmp_strtab_intern_cstr(&prof.strings, fn_names[key], &name) != RMP_OK ||
        rmp_strtab_intern_cstr(&prof.strings, "embed.c", &file) != RMP_OK)
      return 1;
    rmp_func_resolve(&prof.stacks, f, name, name, file, 0);
  }

  /* The request objects die; the cache stays. */
  for (i = 1; i < 3000; i += 2) objs[i]->alive = 0;

  /* 5. Sweep: drop tracked objects that died. */
  rmp_live_sweep(&prof.live, keep_if_alive, NULL);

  /* 6. Rotate out the interval and encode it as gzipped pprof. */
  if ((s = rmp_profiler_rotate(&prof, &snap, NULL, 0, 2000000000ull, 1)) != RMP_OK) return fail("rotate", s);
  s = rmp_pprof_encode_gzip(&snap, &opts, &out);
  rmp_snapshot_free(&snap);
  if (s != RMP_OK) return fail("encode", s);

  fp = fopen(argv[1], "wb");
  if (!fp || fwrite(out.data, 1, out.len, fp) != out.len || fclose(fp) != 0) {
    perror(argv[1]);
    return 1;
  }
  printf("embed: %u live samples (~%u objects estimated), %zu bytes of gzipped pprof in %s\n", prof.live.count,
         (unsigned)(prof.live.count / cfg.sample_rate), out.len, argv[1]);

  rmp_buf_free(&out);
  rmp_profiler_free(&prof);
  for (i = 0; i < 3000; i++) free(objs[i]);
  return 0;
}

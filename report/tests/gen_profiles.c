/* Writes series of synthetic rmp heap profiles whose truth is known, for
 * the leak-finder tests. Each scenario has decoys that must not rank: a
 * sawtooth cache (fills and is cleared), noise around a constant, and
 * steady boot-time objects.
 *
 *   gen_profiles linear|step|multi|sawtooth|gotool OUTDIR
 *
 * linear   one process (pid 101, in the file names only); Leaky#remember grows 48 KiB a minute
 * step     one process (pid 102); Leaky#remember jumps from 200 KiB to 1.2 MiB at profile 6
 * multi    four processes (pid= comments 201..204); only pid 203 leaks, in Leaky#remember
 * sawtooth one process with the decoys only: nothing may rank
 * gotool   one Go-style heap profile (alloc_objects, ..., inuse_space), no retained types
 * collection one process (pid 105): one Hash from Registry#initialize whose size grows
 *          by 40 KiB a minute while the object count stays 1
 * wide     one process (pid 104), 6 profiles: the linear leak among 3000 stacks of 600
 *          classes that hold steady, so that every table grows well past its first size
 * dupmain  one process (pid 106): the main script's <main> under two spellings of its
 *          file in every profile, "script.rb" (Strings, +8 KiB a minute) and
 *          "/srv/app/script.rb" (Requests, +24 KiB a minute), one function; and
 *          Other#go in "x.rb", "/a/x.rb" and "/b/x.rb" (1, 2, 4 KiB, constant),
 *          three functions, since "x.rb" could be either
 * siblings one process (pid 108): three leaking stacks under Leaky#remember (app/leaky.rb:12),
 *          told apart only by their leaf and class: Array#push (<cfunc>) keeping Strings
 *          (+48 KiB a minute), Hash#[]= (<cfunc>) keeping Symbols (+32 KiB) and
 *          Leaky#remember itself keeping Requests (+16 KiB)
 * weird    one process (pid 107): the linear leak in a function whose name holds a
 *          quote, a backslash, a tab, a control byte, a byte that is not UTF-8
 *          (0xff) and UTF-8 (e-acute), for the JSON escaping
 */
#include "pprof_encode.h"
#include "pprof_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double unit(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static int64_t bucket(int64_t age) { /* log2 bucket lower bound */
  if (age <= 0) return 0;
  int64_t b = 1;
  while (b * 2 <= age) b *= 2;
  return b;
}

typedef struct frame { const char *fn, *file; int line; } frame;

static const frame LEAK[] = {{"Leaky#remember", "app/leaky.rb", 12}, {"Handler#call", "app/handler.rb", 40},
                             {"<main>", "app/main.rb", 3}};
static const frame CACHE[] = {{"Cache#store", "app/cache.rb", 30}, {"Handler#call", "app/handler.rb", 44},
                              {"<main>", "app/main.rb", 3}};
static const frame NOISE[] = {{"Parser#parse", "app/parser.rb", 7}, {"Handler#call", "app/handler.rb", 41},
                              {"<main>", "app/main.rb", 3}};
static const frame REGISTRY[] = {{"Registry#initialize", "app/registry.rb", 4}, {"<main>", "app/main.rb", 2}};
static const frame MAIN_REL[] = {{"<main>", "script.rb", 3}};
static const frame MAIN_ABS[] = {{"<main>", "/srv/app/script.rb", 3}};
static const frame OTHER[3][1] = {{{"Other#go", "x.rb", 9}}, {{"Other#go", "/a/x.rb", 9}}, {{"Other#go", "/b/x.rb", 9}}};
static const frame WEIRD[] = {{"Weird#\"q\"\\b\tt\x01\xff\xc3\xa9", "app/weird.rb", 12}, {"<main>", "app/main.rb", 3}};
static const frame SIBLINGS[3][4] = {
    {{"Array#push", "<cfunc>", 0}, {"Leaky#remember", "app/leaky.rb", 12}, {"Handler#call", "app/handler.rb", 40},
     {"<main>", "app/main.rb", 3}},
    {{"Hash#[]=", "<cfunc>", 0}, {"Leaky#remember", "app/leaky.rb", 12}, {"Handler#call", "app/handler.rb", 40},
     {"<main>", "app/main.rb", 3}},
    {{"Leaky#remember", "app/leaky.rb", 12}, {"Handler#call", "app/handler.rb", 40}, {"<main>", "app/main.rb", 3}}};
static const char *const SIBLING_CLASS[3] = {"String", "Symbol", "Request"};
static const frame BOOT[] = {{"Config#load", "app/config.rb", 5}, {"<main>", "app/main.rb", 1}};

static void add(pprof_profile *p, const frame *fr, uint32_t depth, const char *cls, int64_t age, double objs,
                double size) {
  uint64_t locs[8];
  for (uint32_t i = 0; i < depth; i++) {
    pprof_line l;
    l.function_id = pprof_add_function(p, fr[i].fn, fr[i].fn, fr[i].file, fr[i].line - 2);
    l.line = fr[i].line;
    locs[i] = pprof_add_location(p, 0, &l, 1, 0);
  }
  pprof_label lab[2];
  lab[0].key = pprof_intern(p, "object_class", 12);
  lab[0].str = pprof_intern(p, cls, strlen(cls));
  lab[0].num = lab[0].num_unit = 0;
  lab[1].key = pprof_intern(p, "allocation_age", 14);
  lab[1].str = 0;
  lab[1].num = bucket(age);
  lab[1].num_unit = pprof_intern(p, "gcs", 3);
  int64_t v[4] = {(int64_t)objs, (int64_t)size, (int64_t)objs, (int64_t)size};
  pprof_add_sample(p, locs, depth, lab, 2, v);
}

static void start(pprof_profile *p, int64_t pid, int64_t t_ns, int comment_pid) {
  pprof_profile_init(p);
  pprof_intern(p, "", 0);
  pprof_add_type(p, "allocations", "count");
  pprof_add_type(p, "allocation_size", "bytes");
  pprof_add_type(p, "retained_objects", "count");
  pprof_add_type(p, "retained_size", "bytes");
  p->default_sample_type = pprof_intern(p, "retained_size", 13);
  p->time_nanos = t_ns;
  p->duration_nanos = 60000000000LL;
  p->has_period_type = 1;
  p->period_type.type = pprof_intern(p, "allocations", 11);
  p->period_type.unit = pprof_intern(p, "count", 5);
  p->period = 1;
  pprof_add_comment(p, "rmp_version=test");
  pprof_add_comment(p, "sample_rate=1");
  if (comment_pid) {
    char c[32];
    snprintf(c, sizeof c, "pid=%lld", (long long)pid);
    pprof_add_comment(p, c);
  }
}

/* The decoys every scenario carries; i is the profile index, gcs the GC
 * count at that profile. */
static void decoys(pprof_profile *p, int i, int64_t gcs) {
  /* sawtooth: a 4 MiB cache that grows 1 MiB per minute and is cleared
   * every fourth minute; entries are young */
  double cache = 4.0 * 1048576 + (i % 4) * 1048576.0;
  add(p, CACHE, 3, "CacheEntry", 0, cache / 512, cache * 0.7);
  add(p, CACHE, 3, "String", 1, cache / 512, cache * 0.3);
  /* noise: +/- 25 % around 2 MiB of request garbage, all young */
  double noise = 2.0 * 1048576 * (0.75 + 0.5 * unit());
  add(p, NOISE, 3, "String", 0, noise / 64, noise);
  /* boot objects: 3 MiB, constant, as old as the process */
  add(p, BOOT, 2, "Hash", gcs, 3000, 3.0 * 1048576);
  /* objects the producer could not attribute: an empty stack */
  add(p, NULL, 0, "Object", gcs, 10, 400);
}

/* The leak: chunks allocated at every earlier profile j (per_step bytes
 * each), each as old as the GCs since j. */
static void leak_linear(pprof_profile *p, int i, double per_step, int64_t gcs_per_step) {
  for (int j = 0; j <= i; j++) {
    add(p, LEAK, 3, "Request", (i - j) * gcs_per_step, per_step / 256, per_step * 0.75);
    add(p, LEAK, 3, "String", (i - j) * gcs_per_step, per_step / 256, per_step * 0.25);
  }
}

static int write(pprof_profile *p, const char *dir, int64_t pid, int i) {
  char path[4096], err[512];
  snprintf(path, sizeof path, "%s/mem-%lld-2026-11-26T10:%02d:00Z.pprof", dir, (long long)pid, i);
  int rc = pprof_encode_file(path, p, err, sizeof err);
  if (rc) fprintf(stderr, "gen_profiles: %s\n", err);
  pprof_profile_free(p);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: gen_profiles linear|step|multi|sawtooth|collection|wide|dupmain|siblings|weird|gotool OUTDIR\n");
    return 2;
  }
  const char *sc = argv[1], *dir = argv[2];
  const int64_t T0 = 1795600000LL * 1000000000LL, MIN = 60000000000LL;
  pprof_profile p;
  int rc = 0;
  if (strcmp(sc, "linear") == 0 || strcmp(sc, "sawtooth") == 0 || strcmp(sc, "step") == 0) {
    int64_t pid = sc[0] == 'l' ? 101 : sc[0] == 's' && sc[1] == 't' ? 102 : 103;
    for (int i = 0; i < 12; i++) {
      start(&p, pid, T0 + i * MIN, 0);
      int64_t gcs = 20 * (i + 1);
      decoys(&p, i, gcs);
      if (pid == 101) {
        /* The live table filled twice: rmp then sampled retained objects
         * at 1/2 from profile 5 and at 1/4 from profile 9. */
        pprof_add_comment(&p, i < 4 ? "heap_sample_probability=1" : i < 8 ? "heap_sample_probability=0.5"
                                                                         : "heap_sample_probability=0.25");
        leak_linear(&p, i, 48 * 1024.0, 20);
      }
      if (pid == 102) {
        /* 200 KiB retained from the start; 1 MiB more kept at profile 6 */
        add(&p, LEAK, 3, "Request", gcs, 800, 200 * 1024.0);
        if (i >= 6) add(&p, LEAK, 3, "Request", (i - 6) * 20, 4000, 1024 * 1024.0);
      }
      rc |= write(&p, dir, pid, i);
    }
  } else if (strcmp(sc, "multi") == 0) {
    for (int i = 0; i < 10; i++)
      for (int64_t pid = 201; pid <= 204; pid++) {
        /* processes start at different times and flush out of step */
        start(&p, pid, T0 + i * MIN + (pid - 201) * 7000000000LL, 1);
        int64_t gcs = 15 * (i + 1);
        decoys(&p, i + (int)pid, gcs);
        if (pid == 203) leak_linear(&p, i, 16 * 1024.0, 15);
        rc |= write(&p, dir, pid, i);
      }
  } else if (strcmp(sc, "collection") == 0) {
    for (int i = 0; i < 12; i++) {
      start(&p, 105, T0 + i * MIN, 0);
      decoys(&p, i, 20 * (i + 1));
      add(&p, REGISTRY, 2, "Hash", 20 * (i + 1), 1, 1024 + 40 * 1024.0 * i);
      rc |= write(&p, dir, 105, i);
    }
  } else if (strcmp(sc, "wide") == 0) {
    for (int i = 0; i < 6; i++) {
      start(&p, 104, T0 + i * MIN, 0);
      decoys(&p, i, 20 * (i + 1));
      leak_linear(&p, i, 48 * 1024.0, 20);
      for (int k = 0; k < 3000; k++) {
        char fn[64], file[64], cls[64];
        snprintf(fn, sizeof fn, "Widget%d#render_part_%d", k % 97, k);
        snprintf(file, sizeof file, "app/widgets/widget_%d.rb", k % 97);
        snprintf(cls, sizeof cls, "Widget%d::Part%d", k % 97, k % 600);
        frame fr[3] = {{fn, file, 10 + k % 50}, {"Handler#call", "app/handler.rb", 45}, {"<main>", "app/main.rb", 3}};
        add(&p, fr, 3, cls, 20 * (i + 1), 4, 256 * (1 + k % 7) * (0.9 + 0.2 * unit()));
      }
      rc |= write(&p, dir, 104, i);
    }
  } else if (strcmp(sc, "dupmain") == 0) {
    for (int i = 0; i < 12; i++) {
      start(&p, 106, T0 + i * MIN, 0);
      decoys(&p, i, 20 * (i + 1));
      add(&p, MAIN_REL, 1, "String", 20, 8 * (i + 1), 8 * 1024.0 * (i + 1));
      add(&p, MAIN_ABS, 1, "Request", 20, 24 * (i + 1), 24 * 1024.0 * (i + 1));
      for (int k = 0; k < 3; k++) add(&p, OTHER[k], 1, "Hash", 20, 1, 1024.0 * (1 << k));
      rc |= write(&p, dir, 106, i);
    }
  } else if (strcmp(sc, "siblings") == 0) {
    for (int i = 0; i < 12; i++) {
      start(&p, 108, T0 + i * MIN, 0);
      decoys(&p, i, 20 * (i + 1));
      for (int k = 0; k < 3; k++)
        add(&p, SIBLINGS[k], k < 2 ? 4 : 3, SIBLING_CLASS[k], 20, 10 * (i + 1), (48 - 16 * k) * 1024.0 * (i + 1));
      rc |= write(&p, dir, 108, i);
    }
  } else if (strcmp(sc, "weird") == 0) {
    for (int i = 0; i < 12; i++) {
      start(&p, 107, T0 + i * MIN, 0);
      decoys(&p, i, 20 * (i + 1));
      add(&p, WEIRD, 2, "Request", 20, 100 * (i + 1), 48 * 1024.0 * (i + 1));
      rc |= write(&p, dir, 107, i);
    }
  } else if (strcmp(sc, "gotool") == 0) {
    pprof_profile_init(&p);
    pprof_intern(&p, "", 0);
    pprof_add_type(&p, "alloc_objects", "count");
    pprof_add_type(&p, "alloc_space", "bytes");
    pprof_add_type(&p, "inuse_objects", "count");
    pprof_add_type(&p, "inuse_space", "bytes");
    p.time_nanos = T0;
    pprof_line l;
    l.function_id = pprof_add_function(&p, "main.alloc", "main.alloc", "main.go", 10);
    l.line = 12;
    uint64_t loc = pprof_add_location(&p, 0, &l, 1, 0x401000);
    int64_t v[4] = {10, 1000, 5, 500};
    pprof_add_sample(&p, &loc, 1, NULL, 0, v);
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/go-heap.pb.gz", dir);
    rc = pprof_encode_file(path, &p, err, sizeof err);
    if (rc) fprintf(stderr, "gen_profiles: %s\n", err);
    pprof_profile_free(&p);
  } else {
    fprintf(stderr, "gen_profiles: unknown scenario %s\n", sc);
    return 2;
  }
  return rc ? 1 : 0;
}

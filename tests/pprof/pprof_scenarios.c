/* The scenarios the encoder's oracles run, each built through the real
 * profiler API and rotated into c->snap. */
#include <string.h>

#include "pprof_scenarios.h"

static void sc_basic(pc_case *c) {
  static const char *const extra[] = {"host=ci", "build=abc"};
  pc_build_random(c, "basic", 1.0, 1.0, 60, 40, 30, 4, 3000, 1);
  c->opts.pid = 4242;
  c->opts.comments = extra;
  c->opts.ncomments = 2;
  pc_rotate(c, 1000000000ull, 3500000000ull, 150);
}

static void sc_scaled(pc_case *c) {
  pc_build_random(c, "scaled", 0.25, 1.0, 40, 30, 12, 3, 2000, 2);
  pc_rotate(c, 5, 10, 64);
}

static void sc_retain(pc_case *c) {
  pc_build_random(c, "retain", 0.3, 0.5, 40, 30, 12, 3, 2000, 3);
  pc_rotate(c, 0, 1, 99);
}

static void sc_empty(pc_case *c) {
  pc_init(c, "empty", 0.01, 1.0, 10, 10);
  pc_rotate(c, 7, 7, 0);
}

/* A snapshot nobody filled in: rotation zeroes it on failure. */
static void sc_zeroed(pc_case *c) {
  pc_init(c, "zeroed", 1.0, 1.0, 10, 10);
  memset(&c->snap, 0, sizeof c->snap);
}

static void sc_empty_stacks(pc_case *c) {
  int s0, k0, k1;
  pc_init(c, "nostack", 1.0, 1.0, 100, 100);
  k0 = pc_class_add(c, "String", 6);
  k1 = pc_class_add(c, "", 0); /* no object_class label for it */
  s0 = pc_stack_add(c, NULL, NULL, 0);
  pc_track(c, s0, k0, 40, 1);
  pc_track(c, s0, k0, 41, 1);
  pc_track(c, s0, k1, 80, 3);
  pc_kill(c, pc_track(c, s0, k1, 80, 9));
  pc_rotate(c, 0, 100, 9);
}

#define S(lit) lit, sizeof(lit) - 1
#define FFFD "\xEF\xBF\xBD"

static void sc_utf8(pc_case *c) {
  int f[8], k[4], s[3], i, lines[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  pc_init(c, "utf8", 1.0, 1.0, 100, 100);
  f[0] = pc_func_add(c, S("a\0b"), S("nul\0.rb"), "ruby", 1);
  f[1] = pc_func_add(c, S("bad\xffname"), S("f\xfe.rb"), "ruby", 2);
  pc_func_want(c, f[1], S("bad" FFFD "name"), S("f" FFFD ".rb"));
  f[2] = pc_func_add(c, S("\xE2\x82"), S("t.rb"), "ruby", 3); /* truncated */
  pc_func_want(c, f[2], S(FFFD FFFD), S("t.rb"));
  f[3] = pc_func_add(c, S("\xED\xA0\x80"), S("s.rb"), "ruby", 4); /* surrogate */
  pc_func_want(c, f[3], S(FFFD FFFD FFFD), S("s.rb"));
  f[4] = pc_func_add(c, S("\xC0\xAF/\xE0\x80\xAF"), S("o.rb"), "ruby", 5); /* overlongs */
  pc_func_want(c, f[4], S(FFFD FFFD "/" FFFD FFFD FFFD), S("o.rb"));
  f[5] = pc_func_add(c, S("ok \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"), S("v.rb"), "ruby", 6);
  f[6] = pc_func_add(c, S("\xF4\x90\x80\x80x\xF5"), S("h.rb"), "ruby", 7); /* > U+10FFFF */
  pc_func_want(c, f[6], S(FFFD FFFD FFFD FFFD "x" FFFD), S("h.rb"));
  f[7] = pc_func_add(c, S(""), S(""), "", 0);
  k[0] = pc_class_add(c, S("Cls\x80"));
  pc_class_want(c, k[0], S("Cls" FFFD));
  k[1] = pc_class_add(c, S("N\0ul"));
  k[2] = pc_class_add(c, S("\xC3\xA9t\xC3\xA9"));
  k[3] = pc_class_add(c, S("\xC3"));
  pc_class_want(c, k[3], S(FFFD));
  s[0] = pc_stack_add(c, f, lines, 4);
  s[1] = pc_stack_add(c, f + 4, lines + 4, 4);
  s[2] = pc_stack_add(c, f + 7, lines, 1);
  for (i = 0; i < 24; i++) pc_track(c, s[i % 3], k[i % 4], 100 + (uint64_t)i, (uint32_t)i);
  pc_rotate(c, 1, 2, 30);
}

static void sc_huge_names(pc_case *c) {
  size_t n = 1 << 20, i;
  char *name = (char *)malloc(n), *file = (char *)malloc(n), *cls = (char *)malloc(n + 2);
  int f, k, s, line = 1;
  PC_CHECK(name && file && cls);
  for (i = 0; i < n; i++) {
    name[i] = (char)('a' + i % 26);
    file[i] = (char)('A' + i % 26);
    cls[i] = (char)('0' + i % 10);
  }
  memcpy(name + n / 2, "\xE2\x82\xAC", 3); /* valid multibyte in the middle */
  cls[n - 1] = (char)0xff;                  /* invalid at the very end */
  pc_init(c, "huge", 1.0, 1.0, 100, 100);
  f = pc_func_add(c, name, n, file, n, "ruby", 1);
  k = pc_class_add(c, cls, n);
  memcpy(cls + n - 1, FFFD, 3);
  pc_class_want(c, k, cls, n + 2);
  s = pc_stack_add(c, &f, &line, 1);
  pc_track(c, s, k, 1000, 0);
  pc_rotate(c, 0, 0, 0);
  free(name);
  free(file);
  free(cls);
}

static void sc_int64(pc_case *c) {
  int f[2], k, s[3], lines[2] = {1, 2};
  pc_init(c, "int64", 1.0, 1.0, 100, 100);
  f[0] = pc_func_add(c, S("big"), S("big.rb"), "ruby", INT32_MAX);
  f[1] = pc_func_add(c, S("neg"), S("neg.rb"), "ruby", INT32_MIN);
  k = pc_class_add(c, S("Huge"));
  s[0] = pc_stack_add(c, f, lines, 1);
  s[1] = pc_stack_add(c, f + 1, lines + 1, 1);
  s[2] = pc_stack_add(c, f, lines, 2);
  /* one key whose byte sums exceed INT64_MAX several times over */
  pc_track(c, s[0], k, UINT64_MAX, 0);
  pc_track(c, s[0], k, (uint64_t)INT64_MAX, 0);
  pc_track(c, s[0], k, ((uint64_t)1 << 62) + 1, 0);
  /* just below the limit (above 2^53: the encoder's double rounds it) */
  pc_track(c, s[1], k, (uint64_t)INT64_MAX - 1, UINT32_MAX); /* epoch after now: age 2^32 - 1, bucket 2^31 */
  pc_track(c, s[2], k, (uint64_t)INT64_MAX, 0);             /* age 2^32 - 2, bucket 2^31 */
  pc_track(c, s[2], k, 1, 1);                                 /* age 2^32 - 3, bucket 2^31 as well */
  pc_rotate(c, UINT64_MAX, UINT64_MAX, UINT32_MAX - 1);
  c->start_ns = c->end_ns = (uint64_t)INT64_MAX; /* time_nanos saturates */
}

/* Whole sums in [2^52, 2^53): a double holds them exactly, but not them
 * plus 0.5, so rounding by adding a half would move odd ones up by one. */
static void sc_odd_2p52(pc_case *c) {
  int f, k[3], s, line = 5;
  pc_init(c, "odd2p52", 1.0, 1.0, 100, 100);
  f = pc_func_add(c, S("Big#odd"), S("b.rb"), "ruby", 1);
  k[0] = pc_class_add(c, S("A"));
  k[1] = pc_class_add(c, S("B"));
  k[2] = pc_class_add(c, S("C"));
  s = pc_stack_add(c, &f, &line, 1);
  pc_track(c, s, k[0], (UINT64_C(1) << 52) + 1, 0);
  pc_track(c, s, k[1], (UINT64_C(1) << 52) + 3, 0);
  pc_track(c, s, k[1], 0, 0);
  pc_track(c, s, k[2], (UINT64_C(1) << 53) - 1, 0);
  pc_rotate(c, 0, 1, 0);
}

static void sc_tiny_rate(pc_case *c) {
  pc_build_random(c, "tinyrate", 1e-300, 1.0, 10, 5, 4, 2, 50, 4);
  pc_rotate(c, 0, 1, 1);
}

/* A live table of 4 for 10 objects: thinned, nothing dropped. */
static void sc_thin_small(pc_case *c) {
  int f, k, s, line = 3, i;
  pc_init(c, "thinsmall", 0.5, 1.0, 4, 100);
  f = pc_func_add(c, S("Thin#me"), S("t.rb"), "ruby", 1);
  k = pc_class_add(c, S("Object"));
  s = pc_stack_add(c, &f, &line, 1);
  for (i = 0; i < 10; i++) pc_track(c, s, k, 40, 0);
  PC_CHECK(c->thinnings >= 1 && c->p.live.count <= 4);
  pc_rotate(c, 0, 1, 0);
}

/* The generic scenario with a live table far below its live set: entries
 * weigh 2^k / rate, k up to the number of thinnings. */
static void sc_thinned(pc_case *c) {
  pc_build_random(c, "thinned", 0.5, 1.0, 40, 30, 12, 3, 5000, 7);
  PC_CHECK(rmp_live_set_max(&c->p.live, 1) == RMP_OK); /* every later insert thins */
  c->p.allocs.max = c->max_allocs = 100000;            /* not yet full: all still enter */
  {
    size_t k;
    for (k = 0; k < 2000; k++) pc_track(c, (int)(k % 30), (int)(k % 3), 40 + k % 500, (uint32_t)(k % 50));
  }
  PC_CHECK(c->thinnings >= 5);
  pc_rotate(c, 0, 1, 60);
}

/* An allocations reservoir far below the interval's candidates: which
 * samples stay is the reservoir's choice (every allocation has its own
 * size, so the model finds them), each weighs candidates / kept / rate. */
static void sc_reservoir(pc_case *c) {
  int f[3], k[2], s[3], lines[3] = {1, 2, 3};
  size_t i;
  pc_init(c, "reservoir", 0.25, 0.5, 100000, 64);
  f[0] = pc_func_add(c, S("Res#a"), S("r.rb"), "ruby", 1);
  f[1] = pc_func_add(c, S("Res#b"), S("r.rb"), "ruby", 2);
  f[2] = pc_func_add(c, S("Res#c"), S("r.rb"), "ruby", 3);
  k[0] = pc_class_add(c, S("String"));
  k[1] = pc_class_add(c, S("Array"));
  s[0] = pc_stack_add(c, f, lines, 1);
  s[1] = pc_stack_add(c, f + 1, lines + 1, 2);
  s[2] = pc_stack_add(c, f + 2, lines + 2, 1);
  for (i = 0; i < 5000; i++) {
    size_t r = pc_track(c, s[i % 3], k[i % 2], 100 + i, (uint32_t)(i / 1000));
    if (i % 4) pc_kill(c, r);
  }
  PC_CHECK(c->candidates > 64);
  pc_rotate(c, 0, 1, 5);
}

/* min_live_age 3 across the clock's wrap: the youngest objects are left
 * out of the retained side (counted), kept in the allocations. */
static void sc_young(pc_case *c) {
  int f, k, s, line = 9;
  uint32_t e;
  pc_init(c, "young", 1.0, 1.0, 1000, 1000);
  c->p.min_live_age = 3;
  f = pc_func_add(c, S("Young#new"), S("y.rb"), "ruby", 1);
  k = pc_class_add(c, S("Fresh"));
  s = pc_stack_add(c, &f, &line, 1);
  for (e = UINT32_MAX - 20; e != 6; e++) pc_track(c, s, k, 16 + e % 7, e);
  pc_rotate(c, 0, 1, 5); /* epochs 3, 4, 5 are younger than 3 */
}

/* A weight of +inf (a rate whose inverse overflows a float) and objects of
 * size 0 in the same sample: the bytes saturate, inf * 0 adds nothing. */
static void sc_inf_zero(pc_case *c) {
  int f, k, s, line = 4;
  pc_init(c, "infzero", 1e-300, 1.0, 100, 100);
  f = pc_func_add(c, S("Inf#zero"), S("i.rb"), "ruby", 1);
  k = pc_class_add(c, S("Empty"));
  s = pc_stack_add(c, &f, &line, 1);
  pc_track(c, s, k, 0, 0);
  pc_track(c, s, k, 8, 0);
  pc_track(c, s, k, 0, 1); /* a sample of size 0 only: 0 bytes */
  pc_rotate(c, 0, 1, 1);
}

/* Ruby's own frame names, which pprof's C++ name clean-up used to cut
 * (go_checks.sh reads them back with go tool pprof and no flags): the
 * gem resolves each with system_name == name. One function has a system
 * name of its own, which must be kept. */
static void sc_ruby_names(pc_case *c) {
  int f[8], k, s[3];
  int st0[4], st1[4], st2[2], l0[4] = {0, 5, 0, 4}, l1[4] = {0, 1, 0, 7}, l2[2] = {0, 9};
  pc_init(c, "rubynames", 1.0, 1.0, 100, 100);
  f[0] = pc_func_add(c, S("String#*"), S("<cfunc>"), "String#*", 0);
  f[1] = pc_func_add(c, S("block in <main>"), S("/app/main.rb"), "block in <main>", 4);
  f[2] = pc_func_add(c, S("Integer#times"), S("<cfunc>"), "Integer#times", 0);
  f[3] = pc_func_add(c, S("<main>"), S("/app/main.rb"), "<main>", 0);
  f[4] = pc_func_add(c, S("Hash#to_a"), S("<cfunc>"), "Hash#to_a", 0);
  f[5] = pc_func_add(c, S("<top (required)>"), S("/app/lib.rb"), "<top (required)>", 0);
  f[6] = pc_func_add(c, S("Kernel#require_relative"), S("<cfunc>"), "Kernel#require_relative", 0);
  f[7] = pc_func_add(c, S("Native#call"), S("native.c"), "rb_native_call", 10);
  st0[0] = f[0], st0[1] = f[1], st0[2] = f[2], st0[3] = f[3];
  st1[0] = f[4], st1[1] = f[5], st1[2] = f[6], st1[3] = f[3];
  st2[0] = f[7], st2[1] = f[3];
  k = pc_class_add(c, S("String"));
  s[0] = pc_stack_add(c, st0, l0, 4);
  s[1] = pc_stack_add(c, st1, l1, 4);
  s[2] = pc_stack_add(c, st2, l2, 2);
  pc_track(c, s[0], k, 4000, 0);
  pc_track(c, s[1], k, 2000, 0);
  pc_track(c, s[2], k, 1000, 0);
  c->opts.program = "/app/bin/server";
  pc_rotate(c, 0, 1000, 2);
}

static void sc_million(pc_case *c) {
  pc_build_random(c, "million", 0.5, 1.0, 300, 500, 8, 6, 1000000, 5);
  pc_rotate(c, 0, 60000000000ull, 100);
}


const pc_scenario pc_scenarios[] = {
    {"basic", sc_basic},   {"scaled", sc_scaled},   {"retain", sc_retain},     {"empty", sc_empty},
    {"zeroed", sc_zeroed}, {"nostack", sc_empty_stacks}, {"utf8", sc_utf8}, {"huge", sc_huge_names},
    {"int64", sc_int64},   {"tinyrate", sc_tiny_rate}, {"thinsmall", sc_thin_small}, {"thinned", sc_thinned},
    {"reservoir", sc_reservoir}, {"young", sc_young}, {"infzero", sc_inf_zero}, {"odd2p52", sc_odd_2p52}, {"rubynames", sc_ruby_names}, {"million", sc_million},
    {NULL, NULL}};

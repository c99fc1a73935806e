/* Oracle 1 and the robustness cases: every scenario is encoded (raw and
 * gzipped), decoded by nanopb, and compared field by field with the model
 * the test computed from its own inputs. Then sinks that fail after N
 * bytes, for many N, must make the encoder report RMP_ERR_SINK. */
#include <math.h>
#include <string.h>

#include "pprof_case.h"
#include "pprof_check.h"
#include "pprof_decode.h"
#include "pprof_scenarios.h"

static int failures;

static rmp_buf encode_raw(const pc_case *c) {
  rmp_buf b = {NULL, 0, 0};
  PC_CHECK(rmp_pprof_encode(&c->snap, &c->opts, rmp_buf_sink, &b) == RMP_OK);
  return b;
}

static void check_bytes(const pc_case *c, const pc_model *m, const unsigned char *data, size_t len,
                        const char *form) {
  pprof_profile p;
  char err[512];
  int problems;
  if (pprof_decode_bytes(data, len, PPROF_ONE_GZIP_MEMBER, &p, err, sizeof err) != 0) {
    fprintf(stderr, "[%s] %s: nanopb could not decode the profile: %s\n", c->name, form, err);
    failures++;
    return;
  }
  problems = pc_check_profile(c, m, &p);
  if (problems) {
    fprintf(stderr, "[%s] %s: %d problems\n", c->name, form, problems);
    failures++;
  }
  pprof_profile_free(&p);
}

/* Raw and gzip forms both decode to the model; the gzip one inflates to
 * exactly the raw bytes; encoding is deterministic. */
static void check_case(pc_case *c) {
  pc_model m;
  rmp_buf raw = encode_raw(c), raw2 = encode_raw(c), gz = {NULL, 0, 0};
  unsigned char *inflated;
  pprof_source src;
  pc_model_build(c, &m);
  check_bytes(c, &m, raw.data, raw.len, "raw");
  PC_CHECK(raw.len == raw2.len && memcmp(raw.data, raw2.data, raw.len) == 0);
  PC_CHECK(rmp_pprof_encode_gzip(&c->snap, &c->opts, &gz) == RMP_OK);
  PC_CHECK(gz.len > 18 && gz.data[0] == 0x1f && gz.data[1] == 0x8b);
  check_bytes(c, &m, gz.data, gz.len, "gzip");
  inflated = (unsigned char *)malloc(raw.len + 1);
  PC_CHECK(inflated != NULL);
  pprof_source_memory(&src, gz.data, gz.len);
  PC_CHECK(pprof_source_read(&src, inflated, raw.len + 1) == raw.len);
  PC_CHECK(src.gzip && src.members == 1 && !src.trailing && src.ended && !src.failed);
  PC_CHECK(memcmp(inflated, raw.data, raw.len) == 0);
  pprof_source_close(&src);
  printf("%-10s %8zu samples %10zu raw bytes %9zu gzip bytes\n", c->name, m.n, raw.len, gz.len);
  free(inflated);
  rmp_buf_free(&raw);
  rmp_buf_free(&raw2);
  rmp_buf_free(&gz);
  pc_model_free(&m);
}

/* ---- failing sinks ------------------------------------------------------ */

typedef struct limit_sink {
  size_t limit, written;
  int calls_after_failure;
  int failed;
} limit_sink;

static int limit_write(void *ctx, const void *p, size_t n) {
  limit_sink *l = (limit_sink *)ctx;
  (void)p;
  if (l->failed) l->calls_after_failure++;
  if (n > l->limit - l->written) {
    l->failed = 1;
    return -1;
  }
  l->written += n;
  return 0;
}

static void check_sink_failures(const pc_case *c, size_t dense, size_t every) {
  rmp_buf raw = encode_raw(c), gz = {NULL, 0, 0};
  size_t lim, tried = 0;
  PC_CHECK(rmp_pprof_encode_gzip(&c->snap, &c->opts, &gz) == RMP_OK);
  /* every cut in the first `dense` bytes, then every `every` bytes, and
   * the last byte */
  for (lim = 0; lim < raw.len; lim = (lim < dense ? lim + 1 : lim + every < raw.len - 1 ? lim + every : lim == raw.len - 1 ? raw.len : raw.len - 1)) {
    limit_sink l = {lim, 0, 0, 0};
    rmp_status st = rmp_pprof_encode(&c->snap, &c->opts, limit_write, &l);
    if (st != RMP_ERR_SINK || l.calls_after_failure) {
      fprintf(stderr, "[%s] raw sink failing at %zu: status %d, %d calls after failure\n", c->name, lim,
              (int)st, l.calls_after_failure);
      failures++;
    }
    tried++;
  }
  {
    limit_sink l = {raw.len, 0, 0, 0};
    PC_CHECK(rmp_pprof_encode(&c->snap, &c->opts, limit_write, &l) == RMP_OK && l.written == raw.len);
  }
  /* through gzip: the error may surface from the encoder or from end */
  for (lim = 0; lim < gz.len; lim += (lim < dense / 3 ? 1 : every / 4 + 1)) {
    limit_sink l = {lim, 0, 0, 0};
    rmp_gzip_sink g;
    rmp_status st, st_end;
    PC_CHECK(rmp_gzip_begin(&g, limit_write, &l, 1) == RMP_OK);
    st = rmp_pprof_encode(&c->snap, &c->opts, rmp_gzip_write, &g);
    st_end = rmp_gzip_end(&g);
    if (!(st == RMP_ERR_SINK || st_end == RMP_ERR_SINK) || l.calls_after_failure) {
      fprintf(stderr, "[%s] gzip sink failing at %zu: %d/%d\n", c->name, lim, (int)st, (int)st_end);
      failures++;
    }
    tried++;
  }
  printf("%-10s sink failures propagated at %zu cut points\n", c->name, tried);
  rmp_buf_free(&raw);
  rmp_buf_free(&gz);
}

static void case_sink_failures(void) {
  pc_case c;
  pc_build_random(&c, "sinkfail", 0.5, 1.0, 60, 40, 30, 4, 3000, 6);
  pc_rotate(&c, 1, 2, 50);
  check_sink_failures(&c, 300, 97);
  pc_free(&c);
  /* cuts inside 1 MB strings, which bypass the staging chunk */
  {
    size_t n = 1 << 20;
    char *name = (char *)malloc(n);
    int f, k, s, line = 1;
    PC_CHECK(name != NULL);
    memset(name, 'x', n);
    pc_init(&c, "sinkhuge", 1.0, 1.0, 10, 10);
    f = pc_func_add(&c, name, n, "f.rb", 4, "ruby", 1);
    k = pc_class_add(&c, "K", 1);
    s = pc_stack_add(&c, &f, &line, 1);
    pc_track(&c, s, k, 8, 0);
    pc_rotate(&c, 0, 0, 0);
    check_sink_failures(&c, 40, 65536 + 7);
    pc_free(&c);
    free(name);
  }
}

/* ---- comments, spelled out ------------------------------------------- */

/* The profile of c carries exactly the comment line want. */
static void expect_comment(const pc_case *c, const char *want) {
  rmp_buf raw = encode_raw(c);
  pprof_profile p;
  char err[512];
  uint32_t i;
  int found = 0;
  PC_CHECK(pprof_decode_bytes(raw.data, raw.len, PPROF_ONE_GZIP_MEMBER, &p, err, sizeof err) == 0);
  for (i = 0; i < p.ncomments; i++)
    if (pprof_str_len(&p, p.comments[i]) == strlen(want) && memcmp(pprof_str(&p, p.comments[i]), want, strlen(want)) == 0)
      found++;
  if (found != 1) {
    fprintf(stderr, "[%s] comment \"%s\" found %d times; the comments are:\n", c->name, want, found);
    for (i = 0; i < p.ncomments; i++) fprintf(stderr, "  %s\n", pprof_str(&p, p.comments[i]));
    failures++;
  }
  pprof_profile_free(&p);
  rmp_buf_free(&raw);
}

/* Rates in the shortest form that reads back (0.1, not
 * 0.10000000000000001), and this interval's counts. */
static void case_comment_literals(void) {
  static const struct {
    double rate;
    const char *want;
  } rates[] = {{0.1, "sample_rate=0.1"},
               {1.0, "sample_rate=1"},
               {0.25, "sample_rate=0.25"},
               {0.3, "sample_rate=0.3"},
               {1.0 / 3, "sample_rate=0.3333333333333333"},
               {0x1.fffffffffffffp-1, "sample_rate=0.9999999999999999"},
               {1e-300, "sample_rate=1e-300"},
               {4.9406564584124654e-324, "sample_rate=5e-324"},
               {0.0, "sample_rate=0"}};
  size_t i;
  pc_case c;
  int f, k, s, line = 1;
  for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    pc_init(&c, "rates", rates[i].rate, 1.0, 10, 10);
    pc_rotate(&c, 0, 1, 0);
    expect_comment(&c, rates[i].want);
    pc_free(&c);
  }
  /* Three objects into a table of 2 at rate 0.1: thinned once (or more),
   * five allocations offered to a reservoir of 4, one left out as young. */
  pc_init(&c, "counts", 0.1, 1.0 / 3, 2, 4);
  c.p.min_live_age = 1;
  f = pc_func_add(&c, "f", 1, "f.rb", 4, "ruby", 1);
  k = pc_class_add(&c, "K", 1);
  s = pc_stack_add(&c, &f, &line, 1);
  pc_track(&c, s, k, 8, 0);
  pc_track(&c, s, k, 8, 0);
  pc_track(&c, s, k, 8, 0);
  pc_track(&c, s, k, 8, 0);
  pc_track(&c, s, k, 8, 7);
  pc_rotate(&c, 0, 1, 7);
  expect_comment(&c, "sample_rate=0.1");
  expect_comment(&c, "allocation_retain_rate=0.3333333333333333");
  PC_CHECK(c.thinnings >= 1);
  expect_comment(&c, c.thinnings == 1 ? "heap_sample_probability=0.05"
                     : c.thinnings == 2 ? "heap_sample_probability=0.025" : "heap_sample_probability=?");
  expect_comment(&c, c.thinnings == 1 ? "heap_thinnings=1" : c.thinnings == 2 ? "heap_thinnings=2" : "?");
  {
    char line_c[64], line_n[64], line_y[64];
    int young = 0;
    size_t r;
    for (r = 0; r < c.nrecs; r++) young += c.recs[r].live && c.recs[r].epoch == 7;
    snprintf(line_c, sizeof line_c, "allocation_candidates=%llu", (unsigned long long)c.candidates);
    snprintf(line_n, sizeof line_n, "allocation_samples=%llu", (unsigned long long)(c.candidates < 4 ? c.candidates : 4));
    snprintf(line_y, sizeof line_y, "young_objects_left_out=%d", young);
    expect_comment(&c, line_c);
    expect_comment(&c, line_n);
    expect_comment(&c, line_y);
  }
  expect_comment(&c, "dropped_heap_samples=0");
  expect_comment(&c, "values are estimates: each sample counts 1/(the probability that it was kept)");
  pc_free(&c);
  printf("comments   spelled as expected\n");
}

int main(int argc, char **argv) {
  const pc_scenario *sc;
  for (sc = pc_scenarios; sc->name; sc++) {
    pc_case c;
    if (argc > 1 && strcmp(argv[1], sc->name) != 0) continue;
    sc->build(&c);
    check_case(&c);
    pc_free(&c);
  }
  if (argc == 1 || strcmp(argv[1], "sinkfail") == 0) case_sink_failures();
  if (argc == 1 || strcmp(argv[1], "comments") == 0) case_comment_literals();
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("all pprof nanopb checks passed\n");
  return 0;
}

#include "pprof_decode.h"

#include <math.h>
#include <pb_decode.h>
#include <string.h>
#include <zlib.h>

#include "pprof_read.h"

/* Grows arr by one zeroed element, stored in out; from a visitor callback,
 * so out of memory returns false and stops the read. */
#define DP_PUSH(arr, n, cap, out)                                \
  do {                                                           \
    if ((n) == (cap)) {                                          \
      void *grown_;                                              \
      (cap) = (cap) ? (cap) * 2 : 8;                             \
      grown_ = realloc((arr), (cap) * sizeof(*(arr)));           \
      if (!grown_) return false;                                 \
      (arr) = grown_;                                            \
    }                                                            \
    (out) = &(arr)[(n)++];                                       \
    memset((out), 0, sizeof(*(out)));                            \
  } while (0)

static bool dp_on_string(void *ctx, const char *str, size_t len) {
  dp_profile *p = (dp_profile *)ctx;
  pc_bytes *b;
  DP_PUSH(p->strings, p->nstrings, p->cstrings, b);
  b->p = (char *)malloc(len + 1);
  if (!b->p) return false;
  memcpy(b->p, str, len + 1);
  b->n = len;
  return true;
}

static bool dp_on_stype(void *ctx, const perftools_profiles_ValueType *vt) {
  dp_profile *p = (dp_profile *)ctx;
  int64_t(*out)[2];
  DP_PUSH(p->stypes, p->nstypes, p->cstypes, out);
  (*out)[0] = vt->type;
  (*out)[1] = vt->unit;
  return true;
}

/* Copies n elements of size el into a fresh array (NULL when n is 0). */
static bool dp_copy(void *dst, const void *src, size_t n, size_t el) {
  void *p = NULL;
  if (n) {
    p = malloc(n * el);
    if (!p) return false;
    memcpy(p, src, n * el);
  }
  memcpy(dst, &p, sizeof p);
  return true;
}

static bool dp_on_sample(void *ctx, const uint64_t *locs, size_t nlocs, const int64_t *vals, size_t nvals,
                         const perftools_profiles_Label *labels, size_t nlabels) {
  dp_profile *p = (dp_profile *)ctx;
  dp_sample *sm;
  size_t i;
  DP_PUSH(p->samples, p->nsamples, p->csamples, sm);
  if (!dp_copy(&sm->locs, locs, nlocs, sizeof *locs) || !dp_copy(&sm->vals, vals, nvals, sizeof *vals)) return false;
  sm->nlocs = sm->clocs = nlocs;
  sm->nvals = sm->cvals = nvals;
  if (nlabels) {
    sm->labels = (dp_label *)malloc(nlabels * sizeof *sm->labels);
    if (!sm->labels) return false;
  }
  for (i = 0; i < nlabels; i++) {
    sm->labels[i].key = labels[i].key;
    sm->labels[i].str = labels[i].str;
    sm->labels[i].num = labels[i].num;
    sm->labels[i].num_unit = labels[i].num_unit;
  }
  sm->nlabels = sm->clabels = nlabels;
  return true;
}

static bool dp_on_location(void *ctx, const perftools_profiles_Location *m, const perftools_profiles_Line *lines,
                           size_t nlines) {
  dp_profile *p = (dp_profile *)ctx;
  dp_loc *l;
  DP_PUSH(p->locs, p->nlocs, p->clocs, l);
  l->id = m->id;
  l->mapping_id = m->mapping_id;
  l->address = m->address;
  l->nlines = nlines;
  if (nlines) {
    l->func_id = lines[0].function_id;
    l->line = lines[0].line;
  }
  return true;
}

static bool dp_on_function(void *ctx, const perftools_profiles_Function *m) {
  dp_profile *p = (dp_profile *)ctx;
  dp_func *out;
  DP_PUSH(p->funcs, p->nfuncs, p->cfuncs, out);
  out->id = m->id;
  out->name = m->name;
  out->system_name = m->system_name;
  out->filename = m->filename;
  out->start_line = m->start_line;
  return true;
}

static bool dp_on_mapping(void *ctx, const perftools_profiles_Mapping *m) {
  (void)m;
  ((dp_profile *)ctx)->nmappings++;
  return true;
}

static bool dp_on_comment(void *ctx, int64_t idx) {
  dp_profile *p = (dp_profile *)ctx;
  int64_t *out;
  DP_PUSH(p->comments, p->ncomments, p->ccomments, out);
  *out = idx;
  return true;
}

/* gzip input: inflate on demand as nanopb reads. */
typedef struct dp_gz {
  z_stream zs;
  int done;
} dp_gz;

static bool dp_gz_read(pb_istream_t *s, pb_byte_t *buf, size_t count) {
  dp_gz *g = (dp_gz *)s->state;
  g->zs.next_out = buf;
  g->zs.avail_out = (uInt)count;
  while (g->zs.avail_out > 0) {
    int r;
    if (g->done) {
      s->bytes_left = 0; /* end of input: nanopb treats it as end of message */
      return false;
    }
    r = inflate(&g->zs, Z_NO_FLUSH);
    if (r == Z_STREAM_END) g->done = 1;
    else if (r != Z_OK) return false;
  }
  return true;
}

int dp_decode(const unsigned char *data, size_t len, dp_profile *out) {
  perftools_profiles_Profile m;
  pprof_visitor v;
  pb_istream_t s;
  dp_gz g;
  int gz = len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  bool ok;
  memset(out, 0, sizeof *out);
  memset(&v, 0, sizeof v);
  v.ctx = out;
  v.sample_type = dp_on_stype;
  v.sample = dp_on_sample;
  v.mapping = dp_on_mapping;
  v.location = dp_on_location;
  v.function = dp_on_function;
  v.string = dp_on_string;
  v.comment = dp_on_comment;
  if (gz) {
    memset(&g, 0, sizeof g);
    if (inflateInit2(&g.zs, 31) != Z_OK) return -1; /* nothing allocated yet */
    g.zs.next_in = (Bytef *)(uintptr_t)data;
    g.zs.avail_in = (uInt)len;
    s.callback = dp_gz_read;
    s.state = &g;
    s.bytes_left = SIZE_MAX;
    s.errmsg = NULL;
  } else {
    s = pb_istream_from_buffer(data, len);
  }
  ok = pprof_read(&s, &v, &m);
  if (gz) {
    /* All of the gzip member must have been consumed, trailer included. */
    if (ok && (!g.done || g.zs.avail_in != 0)) {
      fprintf(stderr, "dp_decode: gzip stream not fully consumed\n");
      ok = false;
    }
    inflateEnd(&g.zs);
  }
  if (!ok) {
    fprintf(stderr, "dp_decode: %s\n", PB_GET_ERROR(&s));
    dp_free(out);
    return -1;
  }
  out->time_nanos = m.time_nanos;
  out->duration_nanos = m.duration_nanos;
  out->period = m.period;
  out->default_sample_type = m.default_sample_type;
  out->drop_frames = m.drop_frames;
  out->keep_frames = m.keep_frames;
  out->has_period_type = m.has_period_type;
  out->period_type[0] = m.period_type.type;
  out->period_type[1] = m.period_type.unit;
  return 0;
}

void dp_free(dp_profile *p) {
  size_t i;
  for (i = 0; i < p->nstrings; i++) free(p->strings[i].p);
  for (i = 0; i < p->nsamples; i++) {
    free(p->samples[i].locs);
    free(p->samples[i].vals);
    free(p->samples[i].labels);
  }
  free(p->strings);
  free(p->stypes);
  free(p->samples);
  free(p->locs);
  free(p->funcs);
  free(p->comments);
  memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------ */

static int dp_problems;

#define DP_EXPECT(cond, ...)                             \
  do {                                                   \
    if (!(cond)) {                                       \
      if (dp_problems++ < 20) {                          \
        fprintf(stderr, "[%s] ", c->name);               \
        fprintf(stderr, __VA_ARGS__);                    \
        fprintf(stderr, "\n");                           \
      }                                                  \
    }                                                    \
  } while (0)

static const pc_bytes *dp_str(const pc_case *c, const dp_profile *p, int64_t i) {
  static pc_bytes bad = {(char *)"<bad string index>", 18};
  DP_EXPECT(i >= 0 && (uint64_t)i < p->nstrings, "string index %lld out of range", (long long)i);
  return (i >= 0 && (uint64_t)i < p->nstrings) ? &p->strings[i] : &bad;
}

static int dp_str_is(const pc_case *c, const dp_profile *p, int64_t i, const char *want) {
  const pc_bytes *b = dp_str(c, p, i);
  return b->n == strlen(want) && memcmp(b->p, want, b->n) == 0;
}

typedef struct dp_idx {
  uint64_t id;
  size_t at;
} dp_idx;

static int dp_idx_cmp(const void *a, const void *b) {
  uint64_t x = ((const dp_idx *)a)->id, y = ((const dp_idx *)b)->id;
  return x < y ? -1 : x > y;
}

static dp_idx *dp_index(const pc_case *c, const char *what, size_t n, const uint64_t *ids,
                        size_t stride) {
  dp_idx *ix = (dp_idx *)malloc(sizeof(dp_idx) * (n + 1));
  size_t i;
  PC_CHECK(ix != NULL);
  for (i = 0; i < n; i++) {
    ix[i].id = *(const uint64_t *)((const char *)ids + i * stride);
    ix[i].at = i;
    DP_EXPECT(ix[i].id != 0, "%s with id 0", what);
  }
  qsort(ix, n, sizeof *ix, dp_idx_cmp);
  for (i = 1; i < n; i++) DP_EXPECT(ix[i].id != ix[i - 1].id, "duplicate %s id %llu", what, (unsigned long long)ix[i].id);
  return ix;
}

static const dp_idx *dp_find(const dp_idx *ix, size_t n, uint64_t id) {
  dp_idx k;
  k.id = id;
  return (const dp_idx *)bsearch(&k, ix, n, sizeof *ix, dp_idx_cmp);
}

typedef struct dp_got {
  pc_bytes key;
  const int64_t *v;
  size_t nv;
} dp_got;

static int dp_got_cmp(const void *a, const void *b) {
  return pc_bytes_cmp(&((const dp_got *)a)->key, &((const dp_got *)b)->key);
}

static int dp_value_ok(const pc_model *m, int64_t got, int64_t want) {
  int64_t d;
  if (m->exact) return got == want;
  d = got > want ? got - want : want - got;
  return d <= 1 || (double)d <= 1e-12 * (double)want;
}

int dp_check(const pc_case *c, const pc_model *m, const dp_profile *p) {
  static const char *types[4][2] = {{"allocations", "count"},
                                    {"allocation_size", "bytes"},
                                    {"retained_objects", "count"},
                                    {"retained_size", "bytes"}};
  char want_comments[64][256];
  size_t nwant, i, j;
  dp_idx *lix, *fix;
  dp_got *got;
  int64_t period;
  dp_problems = 0;

  DP_EXPECT(p->nstrings >= 1 && p->strings[0].n == 0, "string_table[0] is not \"\"");
  DP_EXPECT(p->nstypes == 4, "%zu sample types", p->nstypes);
  for (i = 0; i < 4 && i < p->nstypes; i++) {
    DP_EXPECT(dp_str_is(c, p, p->stypes[i][0], types[i][0]), "sample_type[%zu] type", i);
    DP_EXPECT(dp_str_is(c, p, p->stypes[i][1], types[i][1]), "sample_type[%zu] unit", i);
  }
  DP_EXPECT(dp_str_is(c, p, p->default_sample_type, "retained_size"), "default_sample_type");
  DP_EXPECT(p->has_period_type && dp_str_is(c, p, p->period_type[0], "allocations") &&
                dp_str_is(c, p, p->period_type[1], "count"),
            "period_type");
  {
    double r = c->snap.sample_rate, x = r > 0 && r <= 1 ? floor(1.0 / r + 0.5) : 0;
    period = x >= 9223372036854775807.0 ? INT64_MAX : (int64_t)x;
  }
  DP_EXPECT(p->period == period, "period %lld, want %lld", (long long)p->period, (long long)period);
  DP_EXPECT(p->time_nanos == (int64_t)c->start_ns, "time_nanos %lld", (long long)p->time_nanos);
  DP_EXPECT(p->duration_nanos == (int64_t)(c->end_ns - c->start_ns), "duration_nanos %lld",
            (long long)p->duration_nanos);
  DP_EXPECT(p->drop_frames == 0 && p->keep_frames == 0 && p->nmappings == 0, "unexpected fields");

  nwant = pc_expected_comments(c, want_comments, 64);
  DP_EXPECT(p->ncomments == nwant, "%zu comments, want %zu", p->ncomments, nwant);
  for (i = 0; i < nwant && i < p->ncomments; i++)
    DP_EXPECT(dp_str_is(c, p, p->comments[i], want_comments[i]), "comment %zu: want \"%s\"", i,
              want_comments[i]);

  /* functions and locations: unique nonzero ids, one line each, resolvable */
  fix = dp_index(c, "function", p->nfuncs, p->nfuncs ? &p->funcs[0].id : NULL, sizeof(dp_func));
  lix = dp_index(c, "location", p->nlocs, p->nlocs ? &p->locs[0].id : NULL, sizeof(dp_loc));
  DP_EXPECT(p->nfuncs == m->nfunctions, "%zu functions, want %zu", p->nfuncs, m->nfunctions);
  DP_EXPECT(p->nlocs == m->nlocations, "%zu locations, want %zu", p->nlocs, m->nlocations);
  for (i = 0; i < p->nlocs; i++) {
    const dp_loc *l = &p->locs[i];
    DP_EXPECT(l->nlines == 1, "location %llu has %zu lines", (unsigned long long)l->id, l->nlines);
    DP_EXPECT(l->mapping_id == 0 && l->address == 0, "location has a mapping or address");
    DP_EXPECT(dp_find(fix, p->nfuncs, l->func_id) != NULL, "location %llu: unknown function %llu",
              (unsigned long long)l->id, (unsigned long long)l->func_id);
  }

  /* samples, resolved to strings, against the model's groups */
  got = (dp_got *)calloc(p->nsamples + 1, sizeof *got);
  PC_CHECK(got != NULL);
  for (i = 0; i < p->nsamples; i++) {
    const dp_sample *s = &p->samples[i];
    pc_bytes key = {NULL, 0}, none = {(char *)"", 0};
    const pc_bytes *klass = &none;
    int has_class = 0, has_age = 0;
    int64_t age = -1;
    pc_bytes_append(&key, "", 0);
    DP_EXPECT(s->nvals == 4, "sample %zu has %zu values", i, s->nvals);
    for (j = 0; j < s->nlocs; j++) {
      const dp_idx *li = dp_find(lix, p->nlocs, s->locs[j]);
      const dp_idx *fi;
      const dp_loc *l;
      const dp_func *f;
      DP_EXPECT(li != NULL, "sample %zu: unknown location %llu", i, (unsigned long long)s->locs[j]);
      if (!li) continue;
      l = &p->locs[li->at];
      fi = dp_find(fix, p->nfuncs, l->func_id);
      if (!fi) continue;
      f = &p->funcs[fi->at];
      pc_key_frame(&key, dp_str(c, p, f->name), dp_str(c, p, f->filename), dp_str(c, p, f->system_name),
                   f->start_line, l->line);
    }
    for (j = 0; j < s->nlabels; j++) {
      const dp_label *l = &s->labels[j];
      if (dp_str_is(c, p, l->key, "object_class")) {
        DP_EXPECT(!has_class && l->str != 0 && l->num == 0 && l->num_unit == 0, "object_class label");
        has_class = 1;
        klass = dp_str(c, p, l->str);
      } else if (dp_str_is(c, p, l->key, "allocation_age")) {
        DP_EXPECT(!has_age && l->str == 0 && dp_str_is(c, p, l->num_unit, "gcs"), "allocation_age label");
        has_age = 1;
        age = l->num;
      } else {
        DP_EXPECT(0, "unexpected label");
      }
    }
    DP_EXPECT(has_age, "sample %zu has no allocation_age", i);
    pc_key_tail(&key, klass, has_class, age);
    got[i].key = key;
    got[i].v = s->vals;
    got[i].nv = s->nvals;
  }
  if (p->nsamples) qsort(got, p->nsamples, sizeof *got, dp_got_cmp);
  for (i = 1; i < p->nsamples; i++)
    DP_EXPECT(pc_bytes_cmp(&got[i - 1].key, &got[i].key) != 0, "two samples with the same stack and labels");
  DP_EXPECT(p->nsamples == m->n, "%zu samples, want %zu", p->nsamples, m->n);
  for (i = 0; i < p->nsamples && i < m->n; i++) {
    DP_EXPECT(pc_bytes_cmp(&got[i].key, &m->g[i].key) == 0, "sample %zu: stack or labels differ from the model", i);
    if (got[i].nv != 4) continue;
    for (j = 0; j < 4; j++)
      DP_EXPECT(dp_value_ok(m, got[i].v[j], m->g[i].v[j]), "sample %zu value %zu: %lld, want %lld", i, j,
                (long long)got[i].v[j], (long long)m->g[i].v[j]);
  }
  for (i = 0; i < p->nsamples; i++) free(got[i].key.p);
  free(got);
  free(lix);
  free(fix);
  return dp_problems;
}

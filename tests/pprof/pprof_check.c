#include "pprof_check.h"

#include <math.h>
#include <string.h>

static int ck_problems;

#define CK_EXPECT(cond, ...)                             \
  do {                                                   \
    if (!(cond)) {                                       \
      if (ck_problems++ < 20) {                          \
        fprintf(stderr, "[%s] ", c->name);               \
        fprintf(stderr, __VA_ARGS__);                    \
        fprintf(stderr, "\n");                           \
      }                                                  \
    }                                                    \
  } while (0)

/* String i as bytes (the decoder has checked every index is in range). */
static pc_bytes ck_str(const pprof_profile *p, int64_t i) {
  pc_bytes b;
  b.p = (char *)pprof_str(p, i);
  b.n = pprof_str_len(p, i);
  return b;
}

static int ck_str_is(const pprof_profile *p, int64_t i, const char *want) {
  pc_bytes b = ck_str(p, i);
  return b.n == strlen(want) && memcmp(b.p, want, b.n) == 0;
}

typedef struct ck_got {
  pc_bytes key;
  const int64_t *v;
} ck_got;

static int ck_got_cmp(const void *a, const void *b) {
  return pc_bytes_cmp(&((const ck_got *)a)->key, &((const ck_got *)b)->key);
}

/* The encoder sums weights in doubles: exact for whole weights while the
 * sums stay below 2^53 (the model's "exact"); otherwise each value may be
 * off by the rounding of the sum, at most 1 or a relative 1e-12. */
static int ck_value_ok(const pc_model *m, int64_t got, int64_t want) {
  int64_t d;
  if (m->exact) return got == want;
  d = got > want ? got - want : want - got;
  return d <= 1 || (double)d <= 1e-12 * (double)want;
}

/* Sample types, defaults, period, times and comments. */
static void ck_header(const pc_case *c, const pprof_profile *p) {
  static const char *types[4][2] = {{"allocations", "count"},
                                    {"allocation_size", "bytes"},
                                    {"retained_objects", "count"},
                                    {"retained_size", "bytes"}};
  char want_comments[64][256];
  size_t nwant, i;
  int64_t period;
  CK_EXPECT(p->ntypes == 4, "%u sample types", p->ntypes);
  for (i = 0; i < 4 && i < p->ntypes; i++) {
    CK_EXPECT(ck_str_is(p, p->types[i].type, types[i][0]), "sample_type[%zu] type", i);
    CK_EXPECT(ck_str_is(p, p->types[i].unit, types[i][1]), "sample_type[%zu] unit", i);
  }
  CK_EXPECT(ck_str_is(p, p->default_sample_type, "retained_size"), "default_sample_type");
  CK_EXPECT(p->has_period_type && ck_str_is(p, p->period_type.type, "allocations") &&
                ck_str_is(p, p->period_type.unit, "count"),
            "period_type");
  {
    double r = c->snap.sample_rate, x = r > 0 && r <= 1 ? floor(1.0 / r + 0.5) : 0;
    period = x >= 9223372036854775807.0 ? INT64_MAX : (int64_t)x;
  }
  CK_EXPECT(p->period == period, "period %lld, want %lld", (long long)p->period, (long long)period);
  CK_EXPECT(p->time_nanos == (int64_t)c->start_ns, "time_nanos %lld", (long long)p->time_nanos);
  CK_EXPECT(p->duration_nanos == (int64_t)(c->end_ns - c->start_ns), "duration_nanos %lld",
            (long long)p->duration_nanos);
  CK_EXPECT(p->drop_frames == 0 && p->keep_frames == 0, "unexpected fields");
  /* One mapping: names already in place, no addresses, the program's
   * name as its file when the case gave one. */
  CK_EXPECT(p->nmappings == 1, "%u mappings", p->nmappings);
  if (p->nmappings == 1) {
    const pprof_mapping *mp = &p->mappings[0];
    const char *prog = c->opts.program ? c->opts.program : "";
    CK_EXPECT(mp->id == 1 && mp->has_functions && mp->has_filenames && mp->has_line_numbers &&
                  !mp->has_inline_frames,
              "mapping id or flags");
    CK_EXPECT(mp->memory_start == 0 && mp->memory_limit == 0 && mp->file_offset == 0 && mp->build_id == 0,
              "mapping addresses or build_id");
    CK_EXPECT(ck_str_is(p, mp->filename, prog) && (prog[0] != 0 || mp->filename == 0), "mapping filename, want \"%s\"",
              prog);
  }

  nwant = pc_expected_comments(c, want_comments, 64);
  CK_EXPECT(p->ncomments == nwant, "%u comments, want %zu", p->ncomments, nwant);
  for (i = 0; i < nwant && i < p->ncomments; i++)
    CK_EXPECT(ck_str_is(p, p->comments[i], want_comments[i]), "comment %zu: want \"%s\"", i, want_comments[i]);
}

/* One sample as the key the case's model uses: its frames resolved to
 * strings, then its class and age labels. */
static pc_bytes ck_sample_key(const pc_case *c, const pprof_profile *p, uint32_t si) {
  const pprof_sample *s = &p->samples[si];
  pc_bytes key = {NULL, 0}, klass = {(char *)"", 0};
  int has_class = 0, has_age = 0;
  int64_t age = -1;
  uint32_t j;
  pc_bytes_append(&key, "", 0);
  for (j = 0; j < s->nloc; j++) {
    const pprof_location *l = pprof_find_location(p, p->location_ids[s->loc_off + j]);
    const pprof_line *ln = &p->lines[l->line_off];
    const pprof_function *f;
    pc_bytes name, file, sys;
    if (l->nlines == 0) continue;
    f = pprof_find_function(p, ln->function_id);
    name = ck_str(p, f->name);
    file = ck_str(p, f->filename);
    sys = ck_str(p, f->system_name);
    pc_key_frame(&key, &name, &file, &sys, f->start_line, ln->line);
  }
  for (j = 0; j < s->nlab; j++) {
    const pprof_label *l = &p->labels[s->lab_off + j];
    if (ck_str_is(p, l->key, "object_class")) {
      CK_EXPECT(!has_class && l->str != 0 && l->num == 0 && l->num_unit == 0, "object_class label");
      has_class = 1;
      klass = ck_str(p, l->str);
    } else if (ck_str_is(p, l->key, "allocation_age")) {
      CK_EXPECT(!has_age && l->str == 0 && ck_str_is(p, l->num_unit, "gcs"), "allocation_age label");
      has_age = 1;
      age = l->num;
    } else {
      CK_EXPECT(0, "unexpected label");
    }
  }
  CK_EXPECT(has_age, "sample %u has no allocation_age", si);
  pc_key_tail(&key, &klass, has_class, age);
  return key;
}

int pc_check_profile(const pc_case *c, const pc_model *m, const pprof_profile *p) {
  size_t i, j;
  ck_got *got;
  ck_problems = 0;

  /* The decoder has checked the structure: string 0 is "", every index is
   * in range, ids are nonzero and unique, and none dangles. */
  ck_header(c, p);
  CK_EXPECT(p->nfunctions == m->nfunctions, "%u functions, want %zu", p->nfunctions, m->nfunctions);
  CK_EXPECT(p->nlocations == m->nlocations, "%u locations, want %zu", p->nlocations, m->nlocations);
  for (i = 0; i < p->nlocations; i++) {
    const pprof_location *l = &p->locations[i];
    CK_EXPECT(l->nlines == 1, "location %llu has %u lines", (unsigned long long)l->id, l->nlines);
    CK_EXPECT(l->mapping_id == 1 && pprof_find_mapping(p, 1) == p->mappings && l->address == 0,
              "location %llu: mapping %llu, address %llu",
              (unsigned long long)l->id, (unsigned long long)l->mapping_id, (unsigned long long)l->address);
  }

  /* samples, resolved to strings, against the model's groups */
  got = (ck_got *)calloc(p->nsamples + 1, sizeof *got);
  PC_CHECK(got != NULL);
  for (i = 0; i < p->nsamples; i++) {
    got[i].key = ck_sample_key(c, p, (uint32_t)i);
    got[i].v = p->values + p->samples[i].val_off;
  }
  if (p->nsamples) qsort(got, p->nsamples, sizeof *got, ck_got_cmp);
  for (i = 1; i < p->nsamples; i++)
    CK_EXPECT(pc_bytes_cmp(&got[i - 1].key, &got[i].key) != 0, "two samples with the same stack and labels");
  CK_EXPECT(p->nsamples == m->n, "%u samples, want %zu", p->nsamples, m->n);
  for (i = 0; i < p->nsamples && i < m->n; i++) {
    CK_EXPECT(pc_bytes_cmp(&got[i].key, &m->g[i].key) == 0, "sample %zu: stack or labels differ from the model", i);
    if (p->ntypes != 4) continue; /* each sample has ntypes values */
    for (j = 0; j < 4; j++)
      CK_EXPECT(ck_value_ok(m, got[i].v[j], m->g[i].v[j]), "sample %zu value %zu: %lld, want %lld", i, j,
                (long long)got[i].v[j], (long long)m->g[i].v[j]);
  }
  for (i = 0; i < p->nsamples; i++) free(got[i].key.p);
  free(got);
  return ck_problems;
}

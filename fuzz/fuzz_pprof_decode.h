/* Decodes a pprof Profile with the nanopb decoder (the independent oracle
 * generated from pprof's own profile.proto) into plain arrays. Every
 * repeated field is a callback there; here they become growable arrays. */
#ifndef RMP_FUZZ_PPROF_DECODE_H
#define RMP_FUZZ_PPROF_DECODE_H

#include <pb_decode.h>
#include "profile.pb.h"
#include "fuzz_common.h"

typedef struct dstr {
  unsigned char *p;
  size_t n;
} dstr;

typedef struct dsample {
  uint64_t *locs;
  size_t nlocs, caplocs;
  int64_t *vals;
  size_t nvals, capvals;
  perftools_profiles_Label *labels;
  size_t nlabels, caplabels;
} dsample;

typedef struct dloc {
  perftools_profiles_Location loc; /* the scalars */
  perftools_profiles_Line *lines;
  size_t nlines, caplines;
} dloc;

typedef struct dprof {
  perftools_profiles_Profile top; /* the scalars */
  perftools_profiles_ValueType *types;
  size_t ntypes, captypes;
  dsample *samples;
  size_t nsamples, capsamples;
  size_t nmappings;
  dloc *locs;
  size_t nlocs, caplocs;
  perftools_profiles_Function *funcs;
  size_t nfuncs, capfuncs;
  dstr *strings;
  size_t nstrings, capstrings;
  int64_t *comments;
  size_t ncomments, capcomments;
} dprof;

/* Append one zeroed element to a growable array; returns it. */
static void *dp_grow(void *arr, size_t n, size_t *cap, size_t el) {
  if (n < *cap) return arr;
  *cap = *cap ? *cap * 2 : 8;
  arr = realloc(arr, *cap * el);
  RMP_FZ_CHECK(arr != NULL);
  return arr;
}
#define DPUSH(arr, n, cap)                                             \
  ((arr) = dp_grow((arr), (n), &(cap), sizeof *(arr)),                 \
   memset(&(arr)[(n)], 0, sizeof *(arr)), &(arr)[(n)++])

static bool dp_u64s(pb_istream_t *s, uint64_t **arr, size_t *n, size_t *cap) {
  while (s->bytes_left) {
    uint64_t v;
    if (!pb_decode_varint(s, &v)) return false;
    *DPUSH(*arr, *n, *cap) = v;
  }
  return true;
}

static bool dp_sample_locs(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dsample *d = (dsample *)*arg;
  return dp_u64s(s, &d->locs, &d->nlocs, &d->caplocs);
}
static bool dp_sample_vals(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dsample *d = (dsample *)*arg;
  while (s->bytes_left) {
    uint64_t v;
    if (!pb_decode_varint(s, &v)) return false;
    *DPUSH(d->vals, d->nvals, d->capvals) = (int64_t)v;
  }
  return true;
}
static bool dp_sample_label(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dsample *d = (dsample *)*arg;
  perftools_profiles_Label *l = DPUSH(d->labels, d->nlabels, d->caplabels);
  return pb_decode(s, perftools_profiles_Label_fields, l);
}
static bool dp_sample(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dprof *p = (dprof *)*arg;
  dsample *d = DPUSH(p->samples, p->nsamples, p->capsamples);
  perftools_profiles_Sample m = perftools_profiles_Sample_init_zero;
  m.location_id.funcs.decode = dp_sample_locs;
  m.location_id.arg = d;
  m.value.funcs.decode = dp_sample_vals;
  m.value.arg = d;
  m.label.funcs.decode = dp_sample_label;
  m.label.arg = d;
  return pb_decode(s, perftools_profiles_Sample_fields, &m);
}
static bool dp_type(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dprof *p = (dprof *)*arg;
  return pb_decode(s, perftools_profiles_ValueType_fields, DPUSH(p->types, p->ntypes, p->captypes));
}
static bool dp_mapping(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  perftools_profiles_Mapping m = perftools_profiles_Mapping_init_zero;
  ((dprof *)*arg)->nmappings++;
  return pb_decode(s, perftools_profiles_Mapping_fields, &m);
}
static bool dp_line(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dloc *d = (dloc *)*arg;
  return pb_decode(s, perftools_profiles_Line_fields, DPUSH(d->lines, d->nlines, d->caplines));
}
static bool dp_location(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dprof *p = (dprof *)*arg;
  dloc *d = DPUSH(p->locs, p->nlocs, p->caplocs);
  d->loc.line.funcs.decode = dp_line;
  d->loc.line.arg = d;
  bool ok = pb_decode(s, perftools_profiles_Location_fields, &d->loc);
  d->loc.line.arg = NULL;
  return ok;
}
static bool dp_function(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dprof *p = (dprof *)*arg;
  return pb_decode(s, perftools_profiles_Function_fields, DPUSH(p->funcs, p->nfuncs, p->capfuncs));
}
static bool dp_string(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dprof *p = (dprof *)*arg;
  dstr *d = DPUSH(p->strings, p->nstrings, p->capstrings);
  d->n = s->bytes_left;
  d->p = (unsigned char *)rmp_fz_alloc(d->n + 1);
  return pb_read(s, d->p, d->n);
}
static bool dp_comment(pb_istream_t *s, const pb_field_t *f, void **arg) {
  (void)f;
  dprof *p = (dprof *)*arg;
  while (s->bytes_left) {
    uint64_t v;
    if (!pb_decode_varint(s, &v)) return false;
    *DPUSH(p->comments, p->ncomments, p->capcomments) = (int64_t)v;
  }
  return true;
}

/* 1 if buf is a well-formed Profile, filling *p; free with dprof_free. */
static int dprof_decode(const unsigned char *buf, size_t len, dprof *p) {
  memset(p, 0, sizeof *p);
  perftools_profiles_Profile *t = &p->top;
  t->sample_type.funcs.decode = dp_type;
  t->sample.funcs.decode = dp_sample;
  t->mapping.funcs.decode = dp_mapping;
  t->location.funcs.decode = dp_location;
  t->function.funcs.decode = dp_function;
  t->string_table.funcs.decode = dp_string;
  t->comment.funcs.decode = dp_comment;
  t->sample_type.arg = t->sample.arg = t->mapping.arg = t->location.arg = t->function.arg =
      t->string_table.arg = t->comment.arg = p;
  pb_istream_t s = pb_istream_from_buffer(buf, len);
  return pb_decode(&s, perftools_profiles_Profile_fields, t);
}

static void dprof_free(dprof *p) {
  for (size_t i = 0; i < p->nsamples; i++) {
    free(p->samples[i].locs);
    free(p->samples[i].vals);
    free(p->samples[i].labels);
  }
  for (size_t i = 0; i < p->nlocs; i++) free(p->locs[i].lines);
  for (size_t i = 0; i < p->nstrings; i++) free(p->strings[i].p);
  free(p->types);
  free(p->samples);
  free(p->locs);
  free(p->funcs);
  free(p->strings);
  free(p->comments);
  memset(p, 0, sizeof *p);
}

static const dstr *dprof_str(const dprof *p, int64_t i) {
  RMP_FZ_CHECK(i >= 0 && (uint64_t)i < p->nstrings);
  return &p->strings[i];
}
static int dstr_is(const dstr *s, const char *want, size_t n) {
  return s->n == n && (n == 0 || memcmp(s->p, want, n) == 0);
}
RMP_FZ_NOCOV static const dloc *dprof_loc(const dprof *p, uint64_t id) {
  for (size_t i = 0; i < p->nlocs; i++)
    if (p->locs[i].loc.id == id) return &p->locs[i];
  return NULL;
}
RMP_FZ_NOCOV static const perftools_profiles_Function *dprof_func(const dprof *p, uint64_t id) {
  for (size_t i = 0; i < p->nfuncs; i++)
    if (p->funcs[i].id == id) return &p->funcs[i];
  return NULL;
}

/* Structural rules of profile.proto any consumer relies on: string 0 is "",
 * every index is in range, ids are nonzero and unique, and every id a
 * sample or location uses exists. */
RMP_FZ_NOCOV static void dprof_check_structure(const dprof *p) {
  RMP_FZ_CHECK(p->nstrings >= 1 && p->strings[0].n == 0);
  for (size_t i = 0; i < p->ntypes; i++) {
    dprof_str(p, p->types[i].type);
    dprof_str(p, p->types[i].unit);
  }
  for (size_t i = 0; i < p->nlocs; i++) {
    RMP_FZ_CHECK(p->locs[i].loc.id != 0);
    for (size_t j = 0; j < i; j++) RMP_FZ_CHECK(p->locs[j].loc.id != p->locs[i].loc.id);
    for (size_t l = 0; l < p->locs[i].nlines; l++) RMP_FZ_CHECK(dprof_func(p, p->locs[i].lines[l].function_id));
  }
  for (size_t i = 0; i < p->nfuncs; i++) {
    const perftools_profiles_Function *f = &p->funcs[i];
    RMP_FZ_CHECK(f->id != 0);
    for (size_t j = 0; j < i; j++) RMP_FZ_CHECK(p->funcs[j].id != f->id);
    dprof_str(p, f->name);
    dprof_str(p, f->system_name);
    dprof_str(p, f->filename);
  }
  for (size_t i = 0; i < p->nsamples; i++) {
    const dsample *s = &p->samples[i];
    RMP_FZ_CHECK(s->nvals == p->ntypes);
    for (size_t l = 0; l < s->nlocs; l++) RMP_FZ_CHECK(dprof_loc(p, s->locs[l]) != NULL);
    for (size_t l = 0; l < s->nlabels; l++) {
      dprof_str(p, s->labels[l].key);
      dprof_str(p, s->labels[l].str);
      dprof_str(p, s->labels[l].num_unit);
    }
  }
  for (size_t i = 0; i < p->ncomments; i++) dprof_str(p, p->comments[i]);
  dprof_str(p, p->top.default_sample_type);
  if (p->top.has_period_type) {
    dprof_str(p, p->top.period_type.type);
    dprof_str(p, p->top.period_type.unit);
  }
}

#endif

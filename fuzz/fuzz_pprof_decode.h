/* Decodes a pprof Profile with proto/pprof_read.h (nanopb's decoder, the
 * independent oracle generated from pprof's own profile.proto) into plain
 * arrays, and checks the structural rules every consumer relies on. */
#ifndef RMP_FUZZ_PPROF_DECODE_H
#define RMP_FUZZ_PPROF_DECODE_H

#include "pprof_read.h"
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

/* An array copied out of the reader's scratch (NULL when n is 0). */
static void *dp_dup(const void *src, size_t n, size_t el) {
  if (!n) return NULL;
  void *p = rmp_fz_alloc(n * el);
  memcpy(p, src, n * el);
  return p;
}

static bool dp_on_sample(void *ctx, const uint64_t *locs, size_t nlocs, const int64_t *vals, size_t nvals,
                         const perftools_profiles_Label *labels, size_t nlabels) {
  dprof *p = (dprof *)ctx;
  dsample *d = DPUSH(p->samples, p->nsamples, p->capsamples);
  d->locs = (uint64_t *)dp_dup(locs, nlocs, sizeof *locs);
  d->nlocs = d->caplocs = nlocs;
  d->vals = (int64_t *)dp_dup(vals, nvals, sizeof *vals);
  d->nvals = d->capvals = nvals;
  d->labels = (perftools_profiles_Label *)dp_dup(labels, nlabels, sizeof *labels);
  d->nlabels = d->caplabels = nlabels;
  return true;
}
static bool dp_on_type(void *ctx, const perftools_profiles_ValueType *vt) {
  dprof *p = (dprof *)ctx;
  *DPUSH(p->types, p->ntypes, p->captypes) = *vt;
  return true;
}
static bool dp_on_mapping(void *ctx, const perftools_profiles_Mapping *m) {
  (void)m;
  ((dprof *)ctx)->nmappings++;
  return true;
}
static bool dp_on_location(void *ctx, const perftools_profiles_Location *loc, const perftools_profiles_Line *lines,
                           size_t nlines) {
  dprof *p = (dprof *)ctx;
  dloc *d = DPUSH(p->locs, p->nlocs, p->caplocs);
  d->loc = *loc;
  d->lines = (perftools_profiles_Line *)dp_dup(lines, nlines, sizeof *lines);
  d->nlines = d->caplines = nlines;
  return true;
}
static bool dp_on_function(void *ctx, const perftools_profiles_Function *f) {
  dprof *p = (dprof *)ctx;
  *DPUSH(p->funcs, p->nfuncs, p->capfuncs) = *f;
  return true;
}
static bool dp_on_string(void *ctx, const char *str, size_t len) {
  dprof *p = (dprof *)ctx;
  dstr *d = DPUSH(p->strings, p->nstrings, p->capstrings);
  d->p = (unsigned char *)dp_dup(str, len + 1, 1);
  d->n = len;
  return true;
}
static bool dp_on_comment(void *ctx, int64_t idx) {
  dprof *p = (dprof *)ctx;
  *DPUSH(p->comments, p->ncomments, p->capcomments) = idx;
  return true;
}

/* 1 if buf is a well-formed Profile, filling *p; free with dprof_free. */
static int dprof_decode(const unsigned char *buf, size_t len, dprof *p) {
  memset(p, 0, sizeof *p);
  pprof_visitor v = {p, dp_on_type, dp_on_sample, dp_on_mapping, dp_on_location, dp_on_function, dp_on_string,
                     dp_on_comment};
  pb_istream_t s = pb_istream_from_buffer(buf, len);
  return pprof_read(&s, &v, &p->top);
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

#include "pprof_read.h"

#include <stdlib.h>
#include <string.h>

/* Scratch arrays, reused from one element to the next, so a profile of a
 * million samples costs a handful of allocations here. */
typedef struct reader {
  const pprof_visitor *v;
  uint64_t *locs;
  size_t nlocs, clocs;
  int64_t *vals;
  size_t nvals, cvals;
  perftools_profiles_Label *labels;
  size_t nlabels, clabels;
  perftools_profiles_Line *lines;
  size_t nlines, clines;
  char *str;
  size_t cstr;
} reader;

/* Room for one more element of size el in the array *arrp points to (any
 * object pointer type; copied through memcpy so no pointer is aliased as
 * void *). false when out of memory, the array unchanged. */
static bool grow(void *arrp, size_t n, size_t *cap, size_t el) {
  if (n < *cap) return true;
  size_t ncap = *cap ? *cap * 2 : 16;
  if (ncap > SIZE_MAX / el) return false;
  void *arr;
  memcpy(&arr, arrp, sizeof arr);
  arr = realloc(arr, ncap * el);
  if (!arr) return false;
  memcpy(arrp, &arr, sizeof arr);
  *cap = ncap;
  return true;
}
#define GROW(arr, n, cap) grow(&(arr), (n), &(cap), sizeof *(arr))

/* A repeated scalar arrives packed (one call, many values) or unpacked (one
 * call per value): read until the substream is used up. */
static bool read_locs(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  (void)f;
  while (s->bytes_left) {
    uint64_t x;
    if (!pb_decode_varint(s, &x)) return false;
    if (!GROW(r->locs, r->nlocs, r->clocs)) PB_RETURN_ERROR(s, "out of memory");
    r->locs[r->nlocs++] = x;
  }
  return true;
}

static bool read_vals(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  (void)f;
  while (s->bytes_left) {
    uint64_t x;
    if (!pb_decode_varint(s, &x)) return false;
    if (!GROW(r->vals, r->nvals, r->cvals)) PB_RETURN_ERROR(s, "out of memory");
    r->vals[r->nvals++] = (int64_t)x;
  }
  return true;
}

static bool read_label(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_Label l = perftools_profiles_Label_init_zero;
  (void)f;
  if (!pb_decode(s, perftools_profiles_Label_fields, &l)) return false;
  if (!GROW(r->labels, r->nlabels, r->clabels)) PB_RETURN_ERROR(s, "out of memory");
  r->labels[r->nlabels++] = l;
  return true;
}

static bool read_sample(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_Sample m = perftools_profiles_Sample_init_zero;
  (void)f;
  r->nlocs = r->nvals = r->nlabels = 0;
  m.location_id.funcs.decode = read_locs;
  m.value.funcs.decode = read_vals;
  m.label.funcs.decode = read_label;
  m.location_id.arg = m.value.arg = m.label.arg = r;
  if (!pb_decode(s, perftools_profiles_Sample_fields, &m)) return false;
  return !r->v->sample || r->v->sample(r->v->ctx, r->locs, r->nlocs, r->vals, r->nvals, r->labels, r->nlabels);
}

static bool read_line(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_Line l = perftools_profiles_Line_init_zero;
  (void)f;
  if (!pb_decode(s, perftools_profiles_Line_fields, &l)) return false;
  if (!GROW(r->lines, r->nlines, r->clines)) PB_RETURN_ERROR(s, "out of memory");
  r->lines[r->nlines++] = l;
  return true;
}

static bool read_location(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_Location m = perftools_profiles_Location_init_zero;
  (void)f;
  r->nlines = 0;
  m.line.funcs.decode = read_line;
  m.line.arg = r;
  if (!pb_decode(s, perftools_profiles_Location_fields, &m)) return false;
  m.line.funcs.decode = NULL;
  m.line.arg = NULL;
  return !r->v->location || r->v->location(r->v->ctx, &m, r->lines, r->nlines);
}

static bool read_sample_type(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_ValueType m = perftools_profiles_ValueType_init_zero;
  (void)f;
  if (!pb_decode(s, perftools_profiles_ValueType_fields, &m)) return false;
  return !r->v->sample_type || r->v->sample_type(r->v->ctx, &m);
}

static bool read_mapping(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_Mapping m = perftools_profiles_Mapping_init_zero;
  (void)f;
  if (!pb_decode(s, perftools_profiles_Mapping_fields, &m)) return false;
  return !r->v->mapping || r->v->mapping(r->v->ctx, &m);
}

static bool read_function(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  perftools_profiles_Function m = perftools_profiles_Function_init_zero;
  (void)f;
  if (!pb_decode(s, perftools_profiles_Function_fields, &m)) return false;
  return !r->v->function || r->v->function(r->v->ctx, &m);
}

static bool read_string(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  size_t n = s->bytes_left;
  (void)f;
  if (n >= r->cstr) {
    size_t cap = r->cstr ? r->cstr : 256;
    while (cap <= n) {
      if (cap > SIZE_MAX / 2) PB_RETURN_ERROR(s, "out of memory");
      cap *= 2;
    }
    char *p = (char *)realloc(r->str, cap);
    if (!p) PB_RETURN_ERROR(s, "out of memory");
    r->str = p;
    r->cstr = cap;
  }
  if (!pb_read(s, (pb_byte_t *)r->str, n)) return false;
  r->str[n] = 0;
  return !r->v->string || r->v->string(r->v->ctx, r->str, n);
}

static bool read_comments(pb_istream_t *s, const pb_field_t *f, void **arg) {
  reader *r = (reader *)*arg;
  (void)f;
  while (s->bytes_left) {
    uint64_t x;
    if (!pb_decode_varint(s, &x)) return false;
    if (r->v->comment && !r->v->comment(r->v->ctx, (int64_t)x)) return false;
  }
  return true;
}

bool pprof_read(pb_istream_t *in, const pprof_visitor *v, perftools_profiles_Profile *top) {
  reader r;
  memset(&r, 0, sizeof r);
  r.v = v;
  memset(top, 0, sizeof *top);
  top->sample_type.funcs.decode = read_sample_type;
  top->sample.funcs.decode = read_sample;
  top->mapping.funcs.decode = read_mapping;
  top->location.funcs.decode = read_location;
  top->function.funcs.decode = read_function;
  top->string_table.funcs.decode = read_string;
  top->comment.funcs.decode = read_comments;
  top->sample_type.arg = top->sample.arg = top->mapping.arg = top->location.arg = &r;
  top->function.arg = top->string_table.arg = top->comment.arg = &r;
  bool ok = pb_decode(in, perftools_profiles_Profile_fields, top);
  free(r.locs);
  free(r.vals);
  free(r.labels);
  free(r.lines);
  free(r.str);
  return ok;
}

/* pprof_decode.h: the visitor that fills the model as nanopb reads, the
 * validity checks, and why a read failed. */
#include "pprof_decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_read.h"

/* nanopb reads through the source; a clean end of input between two
 * fields is the end of the profile (bytes_left 0 tells nanopb so). */
static bool source_read(pb_istream_t *st, pb_byte_t *buf, size_t count) {
  if (pprof_source_read((pprof_source *)st->state, buf, count) == count) return true;
  st->bytes_left = 0;
  return false;
}

typedef struct dctx {
  pprof_profile *p;
  pprof_label *labs; /* one sample's labels, in the model's form */
  uint32_t labs_cap;
  unsigned flags;
  const char *err;
} dctx;

static bool on_sample_type(void *ctx, const perftools_profiles_ValueType *vt) {
  dctx *c = ctx;
  if (c->p->nsamples) return c->err = "sample_type appears after samples", false;
  pprof_value_type v = {vt->type, vt->unit};
  PPROF_PUSH(c->p->types, c->p->ntypes, c->p->types_cap, v);
  return true;
}

static bool on_sample(void *ctx, const uint64_t *locs, size_t nlocs, const int64_t *vals, size_t nvals,
                      const perftools_profiles_Label *labels, size_t nlabels) {
  dctx *c = ctx;
  if (c->p->ntypes == 0) return c->err = "a sample appears before any sample_type", false;
  if (nvals != c->p->ntypes) return c->err = "a sample's value count differs from the sample_type count", false;
  if (nlocs > UINT32_MAX || nlabels > UINT32_MAX)
    return c->err = "a sample with more than 2^32 locations or labels", false;
  pprof_grow((void **)&c->labs, &c->labs_cap, (uint32_t)nlabels, sizeof *c->labs);
  for (size_t i = 0; i < nlabels; i++) {
    pprof_label r = {labels[i].key, labels[i].str, labels[i].num, labels[i].num_unit};
    c->labs[i] = r;
  }
  if (c->flags & PPROF_SUM_SAMPLES) pprof_add_sample(c->p, locs, (uint32_t)nlocs, c->labs, (uint32_t)nlabels, vals);
  else pprof_append_sample(c->p, locs, (uint32_t)nlocs, c->labs, (uint32_t)nlabels, vals);
  return true;
}

static bool on_mapping(void *ctx, const perftools_profiles_Mapping *m) {
  dctx *c = ctx;
  pprof_mapping r = {m->id, m->memory_start, m->memory_limit, m->file_offset, m->filename, m->build_id,
                     m->has_functions, m->has_filenames, m->has_line_numbers, m->has_inline_frames};
  PPROF_PUSH(c->p->mappings, c->p->nmappings, c->p->mappings_cap, r);
  return true;
}

static bool on_location(void *ctx, const perftools_profiles_Location *l, const perftools_profiles_Line *lines,
                        size_t nlines) {
  dctx *c = ctx;
  uint32_t first = c->p->nlines;
  for (size_t i = 0; i < nlines; i++) {
    pprof_line r = {lines[i].function_id, lines[i].line};
    PPROF_PUSH(c->p->lines, c->p->nlines, c->p->lines_cap, r);
  }
  pprof_location r;
  r.id = l->id;
  r.mapping_id = l->mapping_id;
  r.address = l->address;
  r.line_off = first;
  r.nlines = c->p->nlines - first;
  PPROF_PUSH(c->p->locations, c->p->nlocations, c->p->locations_cap, r);
  return true;
}

static bool on_function(void *ctx, const perftools_profiles_Function *fn) {
  dctx *c = ctx;
  pprof_function r = {fn->id, fn->name, fn->system_name, fn->filename, fn->start_line};
  PPROF_PUSH(c->p->functions, c->p->nfunctions, c->p->functions_cap, r);
  return true;
}

static bool on_string(void *ctx, const char *str, size_t len) {
  dctx *c = ctx;
  if (len > UINT32_MAX - 1) return c->err = "a string longer than 4 GiB", false;
  pprof_strings_append(&c->p->strings, str, len);
  return true;
}

static bool on_comment(void *ctx, int64_t idx) {
  dctx *c = ctx;
  PPROF_PUSH(c->p->comments, c->p->ncomments, c->p->comments_cap, idx);
  return true;
}

static int str_ok(const pprof_profile *p, int64_t i) { return i >= 0 && (uint64_t)i < p->strings.count; }

/* The checks go tool pprof's CheckValid makes, plus string indices. */
static const char *validate(pprof_profile *p) {
  const char *why = NULL;
  if (p->strings.count == 0) return "no string table";
  if (p->strings.lens[0] != 0) return "string_table[0] is not empty";
  if (p->ntypes == 0) return "no sample_type";
  for (uint32_t i = 0; i < p->ntypes; i++)
    if (!str_ok(p, p->types[i].type) || !str_ok(p, p->types[i].unit))
      return "a sample_type string index is out of range";
  if (!str_ok(p, p->default_sample_type)) return "default_sample_type is out of range";
  for (uint32_t i = 0; i < p->ncomments; i++)
    if (!str_ok(p, p->comments[i])) return "a comment string index is out of range";
  for (uint32_t i = 0; i < p->nfunctions; i++) {
    const pprof_function *f = &p->functions[i];
    if (!str_ok(p, f->name) || !str_ok(p, f->system_name) || !str_ok(p, f->filename))
      return "a function's string index is out of range";
  }
  for (uint32_t i = 0; i < p->nlabels; i++) {
    const pprof_label *l = &p->labels[i];
    if (!str_ok(p, l->key) || !str_ok(p, l->str) || !str_ok(p, l->num_unit))
      return "a label's string index is out of range";
  }
  for (uint32_t i = 0; i < p->nmappings; i++)
    if (!str_ok(p, p->mappings[i].filename) || !str_ok(p, p->mappings[i].build_id))
      return "a mapping's string index is out of range";
  /* A location naming a missing mapping is accepted, as Go's parser
   * does (it reads as none). */
  if (pprof_index(p, &why) != 0) return why;
  for (uint32_t i = 0; i < p->nlines; i++)
    if (!pprof_find_function(p, p->lines[i].function_id)) return "a location's line names a missing function";
  for (uint32_t i = 0; i < p->nlocation_ids; i++)
    if (!pprof_find_location(p, p->location_ids[i])) return "a sample names a missing location";
  if (p->has_period_type && (!str_ok(p, p->period_type.type) || !str_ok(p, p->period_type.unit)))
    return "period_type is out of range";
  return NULL;
}

static void keep_scalars(pprof_profile *p, const perftools_profiles_Profile *m) {
  p->time_nanos = m->time_nanos;
  p->duration_nanos = m->duration_nanos;
  p->period = m->period;
  p->default_sample_type = m->default_sample_type;
  p->drop_frames = m->drop_frames;
  p->keep_frames = m->keep_frames;
  p->has_period_type = m->has_period_type;
  p->period_type.type = m->period_type.type;
  p->period_type.unit = m->period_type.unit;
}

/* Why reading stopped: the source's failure first, then where the input
 * ended, then nanopb's or the visitor's reason. */
static void read_error(const pprof_source *src, const dctx *c, pb_istream_t *st, char *err, size_t errn) {
  const char *what = src->gzip ? "gzip data" : src->fp ? "file" : "input";
  if (src->failed)
    snprintf(err, errn, "truncated or corrupt gzip data (%s)", src->msg[0] ? src->msg : "zlib error");
  else if (src->ended)
    snprintf(err, errn, "truncated profile: the %s ends inside a message", what);
  else
    snprintf(err, errn, "not a valid pprof profile (%s%s)", src->gzip ? "" : "not gzip, and as raw protobuf: ",
             c->err ? c->err : PB_GET_ERROR(st));
}

int pprof_decode(pprof_source *src, unsigned flags, pprof_profile *p, char *err, size_t errn) {
  pprof_profile_init(p);
  dctx c = {p, NULL, 0, flags, NULL};
  pprof_visitor v = {&c, on_sample_type, on_sample, on_mapping, on_location, on_function, on_string, on_comment};
  perftools_profiles_Profile m;
  pb_istream_t st = {source_read, src, SIZE_MAX, NULL};
  bool ok = pprof_read(&st, &v, &m);
  free(c.labs);
  if (!src->got_bytes) {
    snprintf(err, errn, "empty %s, not a pprof profile", src->fp ? "file" : "input");
    ok = false;
  } else if (!ok || src->failed) {
    read_error(src, &c, &st, err, errn);
    ok = false;
  } else if ((flags & PPROF_ONE_GZIP_MEMBER) && src->gzip && (src->members != 1 || src->trailing)) {
    snprintf(err, errn, "the gzip data is not one member alone (%u members%s)", src->members,
             src->trailing ? ", then other bytes" : "");
    ok = false;
  } else {
    keep_scalars(p, &m);
    const char *why = validate(p);
    if (why) {
      snprintf(err, errn, "not a valid pprof profile (%s)", why);
      ok = false;
    }
  }
  if (!ok) pprof_profile_free(p);
  return ok ? 0 : -1;
}

int pprof_decode_file(const char *path, unsigned flags, pprof_profile *p, char *err, size_t errn) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(err, errn, "cannot open: %s", strerror(errno));
    return -1;
  }
  pprof_source src;
  pprof_source_file(&src, fp, path);
  int r = pprof_decode(&src, flags, p, err, errn);
  pprof_source_close(&src);
  fclose(fp);
  return r;
}

int pprof_decode_bytes(const void *data, size_t len, unsigned flags, pprof_profile *p, char *err, size_t errn) {
  pprof_source src;
  pprof_source_memory(&src, data, len);
  int r = pprof_decode(&src, flags, p, err, errn);
  pprof_source_close(&src);
  return r;
}

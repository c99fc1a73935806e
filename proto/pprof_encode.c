/* Writing a profile with nanopb's pb_encode: every repeated field is a
 * callback over the model's arrays, output goes through zlib's gzwrite, so
 * no buffer the size of the profile is needed. */
#include "pprof_encode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include <pb_encode.h>
#include "profile.pb.h"

typedef struct ectx {
  const pprof_profile *p;
  const pprof_sample *s; /* the sample being written */
  const pprof_location *l;    /* the location being written */
} ectx;

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* proto3 packs repeated scalars; int64 travels as the two's complement u64. */
static bool put_packed(pb_ostream_t *st, const pb_field_t *f, const void *v, uint32_t n) {
  const uint64_t *u = v;
  size_t size = 0;
  if (n == 0) return true;
  for (uint32_t i = 0; i < n; i++) size += varint_len(u[i]);
  if (!pb_encode_tag(st, PB_WT_STRING, f->tag) || !pb_encode_varint(st, size)) return false;
  for (uint32_t i = 0; i < n; i++)
    if (!pb_encode_varint(st, u[i])) return false;
  return true;
}

static bool cb_types(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->p->ntypes; i++) {
    perftools_profiles_ValueType vt = {c->p->types[i].type, c->p->types[i].unit};
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_ValueType_fields, &vt))
      return false;
  }
  return true;
}

static bool cb_locids(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  return put_packed(st, f, c->p->location_ids + c->s->loc_off, c->s->nloc);
}
static bool cb_values(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  return put_packed(st, f, c->p->values + c->s->val_off, c->p->ntypes);
}
static bool cb_labels(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->s->nlab; i++) {
    const pprof_label *l = &c->p->labels[c->s->lab_off + i];
    perftools_profiles_Label m = {l->key, l->str, l->num, l->num_unit};
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_Label_fields, &m))
      return false;
  }
  return true;
}

static bool cb_samples(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->p->nsamples; i++) {
    ectx sc = *c;
    sc.s = &c->p->samples[i];
    perftools_profiles_Sample m = perftools_profiles_Sample_init_zero;
    m.location_id.funcs.encode = cb_locids;
    m.value.funcs.encode = cb_values;
    m.label.funcs.encode = cb_labels;
    m.location_id.arg = m.value.arg = m.label.arg = &sc;
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_Sample_fields, &m))
      return false;
  }
  return true;
}

static bool cb_mappings(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->p->nmappings; i++) {
    const pprof_mapping *x = &c->p->mappings[i];
    perftools_profiles_Mapping m = {x->id, x->memory_start, x->memory_limit, x->file_offset, x->filename,
                                    x->build_id, x->has_functions, x->has_filenames, x->has_line_numbers,
                                    x->has_inline_frames};
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_Mapping_fields, &m))
      return false;
  }
  return true;
}

static bool cb_lines(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->l->nlines; i++) {
    const pprof_line *l = &c->p->lines[c->l->line_off + i];
    perftools_profiles_Line m = {l->function_id, l->line};
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_Line_fields, &m))
      return false;
  }
  return true;
}

static bool cb_locations(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->p->nlocations; i++) {
    ectx lc = *c;
    lc.l = &c->p->locations[i];
    perftools_profiles_Location m = perftools_profiles_Location_init_zero;
    m.id = lc.l->id;
    m.mapping_id = lc.l->mapping_id;
    m.address = lc.l->address;
    m.line.funcs.encode = cb_lines;
    m.line.arg = &lc;
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_Location_fields, &m))
      return false;
  }
  return true;
}

static bool cb_functions(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  for (uint32_t i = 0; i < c->p->nfunctions; i++) {
    const pprof_function *x = &c->p->functions[i];
    perftools_profiles_Function m = {x->id, x->name, x->system_name, x->filename, x->start_line};
    if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, perftools_profiles_Function_fields, &m))
      return false;
  }
  return true;
}

static bool cb_strings(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  const pprof_strings *t = &c->p->strings;
  for (uint32_t i = 0; i < t->count; i++) {
    if (!pb_encode_tag_for_field(st, f) ||
        !pb_encode_string(st, (const pb_byte_t *)pprof_strings_get(t, i), pprof_strings_len(t, i)))
      return false;
  }
  return true;
}

static bool cb_comments(pb_ostream_t *st, const pb_field_t *f, void *const *arg) {
  const ectx *c = *arg;
  return put_packed(st, f, c->p->comments, c->p->ncomments);
}

static bool gz_write(pb_ostream_t *st, const pb_byte_t *buf, size_t n) {
  gzFile gz = st->state;
  while (n) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    if (gzwrite(gz, buf, chunk) != (int)chunk) return false;
    buf += chunk;
    n -= chunk;
  }
  return true;
}

int pprof_encode_file(const char *path, const pprof_profile *p, char *err, size_t errn) {
  gzFile gz = gzopen(path, "wb");
  if (!gz) {
    snprintf(err, errn, "cannot create %s: %s", path, strerror(errno));
    return -1;
  }
  ectx c;
  memset(&c, 0, sizeof c);
  c.p = p;
  perftools_profiles_Profile m = perftools_profiles_Profile_init_zero;
  m.sample_type.funcs.encode = cb_types;
  m.sample.funcs.encode = cb_samples;
  m.mapping.funcs.encode = cb_mappings;
  m.location.funcs.encode = cb_locations;
  m.function.funcs.encode = cb_functions;
  m.string_table.funcs.encode = cb_strings;
  m.comment.funcs.encode = cb_comments;
  m.sample_type.arg = m.sample.arg = m.mapping.arg = m.location.arg = m.function.arg = &c;
  m.string_table.arg = m.comment.arg = &c;
  m.time_nanos = p->time_nanos;
  m.duration_nanos = p->duration_nanos;
  m.period = p->period;
  m.default_sample_type = p->default_sample_type;
  m.drop_frames = p->drop_frames;
  m.keep_frames = p->keep_frames;
  m.has_period_type = p->has_period_type;
  m.period_type.type = p->period_type.type;
  m.period_type.unit = p->period_type.unit;
  pb_ostream_t st = {gz_write, gz, SIZE_MAX, 0, NULL};
  bool ok = pb_encode(&st, perftools_profiles_Profile_fields, &m);
  int zerr = gzclose_w(gz);
  if (!ok || zerr != Z_OK) {
    snprintf(err, errn, "writing %s failed (%s)", path, ok ? "zlib close" : PB_GET_ERROR(&st));
    return -1;
  }
  return 0;
}

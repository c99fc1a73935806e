/* Reading a profile: zlib gunzips (or passes plain bytes through), nanopb
 * decodes as a stream, and every repeated field arrives through a callback
 * that appends to the in-memory model. Memory is what the model holds, not
 * the file's size. */
#include "rmp_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <pb_decode.h>
#include "profile.pb.h"

typedef struct src {
  gzFile gz;
  unsigned char buf[65536];
  size_t pos, len;
  int eof, gzfail;
} src;

static int src_fill(src *s) {
  int n = gzread(s->gz, s->buf, sizeof s->buf);
  if (n < 0) {
    s->gzfail = 1;
    return 0;
  }
  if (n == 0) {
    /* gzread reports a stream cut short only through gzerror. */
    int e;
    gzerror(s->gz, &e);
    if (e != Z_OK) s->gzfail = 1;
    s->eof = 1;
    return 0;
  }
  s->pos = 0;
  s->len = (size_t)n;
  return 1;
}

static bool src_read(pb_istream_t *st, pb_byte_t *buf, size_t count) {
  src *s = st->state;
  while (count) {
    if (s->pos == s->len && !src_fill(s)) {
      st->bytes_left = 0; /* tells nanopb that a clean end here is EOF */
      return false;
    }
    size_t n = s->len - s->pos;
    if (n > count) n = count;
    if (buf) {
      memcpy(buf, s->buf + s->pos, n);
      buf += n;
    }
    s->pos += n;
    count -= n;
  }
  return true;
}

typedef struct dctx {
  rmp_prof *p;
  uint64_t *locids; uint32_t nloc, loc_cap;
  int64_t *vals; uint32_t nval, val_cap;
  rmp_label *labs; uint32_t nlab, lab_cap;
  const char *err;
} dctx;

static bool cb_sample_type(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_ValueType vt = perftools_profiles_ValueType_init_zero;
  if (!pb_decode(st, perftools_profiles_ValueType_fields, &vt)) return false;
  if (c->p->nsamples) return c->err = "sample_type appears after samples", false;
  rmp_vt v = {vt.type, vt.unit};
  RMP_PUSH(c->p->types, c->p->ntypes, c->p->types_cap, v);
  return true;
}

static bool cb_locid(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  uint64_t x;
  if (!pb_decode_varint(st, &x)) return false;
  RMP_PUSH(c->locids, c->nloc, c->loc_cap, x);
  return true;
}

static bool cb_value(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  uint64_t x;
  if (!pb_decode_varint(st, &x)) return false;
  RMP_PUSH(c->vals, c->nval, c->val_cap, (int64_t)x);
  return true;
}

static bool cb_label(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_Label l = perftools_profiles_Label_init_zero;
  if (!pb_decode(st, perftools_profiles_Label_fields, &l)) return false;
  rmp_label r = {l.key, l.str, l.num, l.num_unit};
  RMP_PUSH(c->labs, c->nlab, c->lab_cap, r);
  return true;
}

static bool cb_sample(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_Sample s = perftools_profiles_Sample_init_zero;
  c->nloc = c->nval = c->nlab = 0;
  s.location_id.funcs.decode = cb_locid;
  s.location_id.arg = c;
  s.value.funcs.decode = cb_value;
  s.value.arg = c;
  s.label.funcs.decode = cb_label;
  s.label.arg = c;
  if (!pb_decode(st, perftools_profiles_Sample_fields, &s)) return false;
  if (c->p->ntypes == 0) return c->err = "a sample appears before any sample_type", false;
  if (c->nval != c->p->ntypes) return c->err = "a sample's value count differs from the sample_type count", false;
  rmp_prof_add_sample(c->p, c->locids, c->nloc, c->labs, c->nlab, c->vals);
  return true;
}

static bool cb_mapping(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_Mapping m = perftools_profiles_Mapping_init_zero;
  if (!pb_decode(st, perftools_profiles_Mapping_fields, &m)) return false;
  c->p->nmappings++;
  return true;
}

static bool cb_line(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_Line l = perftools_profiles_Line_init_zero;
  if (!pb_decode(st, perftools_profiles_Line_fields, &l)) return false;
  rmp_line r = {l.function_id, l.line};
  RMP_PUSH(c->p->lines, c->p->nlines, c->p->lines_cap, r);
  return true;
}

static bool cb_location(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_Location l = perftools_profiles_Location_init_zero;
  uint32_t first = c->p->nlines;
  l.line.funcs.decode = cb_line;
  l.line.arg = c;
  if (!pb_decode(st, perftools_profiles_Location_fields, &l)) return false;
  rmp_loc r;
  r.id = l.id;
  r.mapping_id = l.mapping_id;
  r.address = l.address;
  r.line_off = first;
  r.nlines = c->p->nlines - first;
  RMP_PUSH(c->p->locs, c->p->nlocs, c->p->locs_cap, r);
  return true;
}

static bool cb_function(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  perftools_profiles_Function fn = perftools_profiles_Function_init_zero;
  if (!pb_decode(st, perftools_profiles_Function_fields, &fn)) return false;
  rmp_fn r = {fn.id, fn.name, fn.system_name, fn.filename, fn.start_line};
  RMP_PUSH(c->p->fns, c->p->nfns, c->p->fns_cap, r);
  return true;
}

static bool cb_string(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  size_t n = st->bytes_left;
  /* Read straight into the arena's tail: strings can be long. */
  uint32_t id = rmp_strs_append(&c->p->strs, "", 0);
  rmp_strs *s = &c->p->strs;
  s->arena_len--; /* reopen the terminator */
  if (s->arena_len + n + 1 > s->arena_cap) {
    size_t cap = s->arena_cap;
    while (cap < s->arena_len + n + 1) cap *= 2;
    s->arena = rmp_xrealloc(s->arena, cap);
    s->arena_cap = cap;
  }
  if (n > UINT32_MAX - 1) return c->err = "a string longer than 4 GiB", false;
  if (!pb_read(st, (pb_byte_t *)s->arena + s->arena_len, n)) return false;
  s->arena_len += n;
  s->arena[s->arena_len++] = 0;
  s->lens[id] = (uint32_t)n;
  return true;
}

static bool cb_comment(pb_istream_t *st, const pb_field_t *f, void **arg) {
  (void)f;
  dctx *c = *arg;
  uint64_t x;
  if (!pb_decode_varint(st, &x)) return false;
  RMP_PUSH(c->p->comments, c->p->ncomments, c->p->comments_cap, (int64_t)x);
  return true;
}

static int str_ok(const rmp_prof *p, int64_t i) { return i >= 0 && (uint64_t)i < p->strs.count; }

/* The checks go tool pprof's CheckValid makes, plus string indices. */
static const char *validate(rmp_prof *p) {
  const char *why = NULL;
  if (p->strs.count == 0) return "no string table";
  if (p->strs.lens[0] != 0) return "string_table[0] is not empty";
  if (p->ntypes == 0) return "no sample_type";
  for (uint32_t i = 0; i < p->ntypes; i++)
    if (!str_ok(p, p->types[i].type) || !str_ok(p, p->types[i].unit)) return "a sample_type string index is out of range";
  if (!str_ok(p, p->default_sample_type)) return "default_sample_type is out of range";
  for (uint32_t i = 0; i < p->ncomments; i++)
    if (!str_ok(p, p->comments[i])) return "a comment string index is out of range";
  for (uint32_t i = 0; i < p->nfns; i++) {
    const rmp_fn *f = &p->fns[i];
    if (!str_ok(p, f->name) || !str_ok(p, f->system_name) || !str_ok(p, f->filename))
      return "a function's string index is out of range";
  }
  for (uint32_t i = 0; i < p->nlabels; i++) {
    const rmp_label *l = &p->labels[i];
    if (!str_ok(p, l->key) || !str_ok(p, l->str) || !str_ok(p, l->num_unit)) return "a label's string index is out of range";
  }
  if (rmp_prof_index(p, &why) != 0) return why;
  for (uint32_t i = 0; i < p->nlines; i++)
    if (!rmp_prof_fn(p, p->lines[i].func_id)) return "a location's line names a missing function";
  for (uint32_t i = 0; i < p->nlocids; i++)
    if (!rmp_prof_loc(p, p->locids[i])) return "a sample names a missing location";
  return NULL;
}

int rmp_decode_file(const char *path, rmp_prof *p, char *err, size_t errn) {
  static src s; /* 64 KiB buffer; the tool is single-threaded */
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(err, errn, "cannot open: %s", strerror(errno));
    return -1;
  }
  unsigned char magic[2] = {0, 0};
  size_t got = fread(magic, 1, 2, fp);
  fclose(fp);
  int gzipped = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (got == 0) {
    snprintf(err, errn, "empty file, not a pprof profile");
    return -1;
  }
  memset(&s, 0, sizeof s);
  s.gz = gzopen(path, "rb");
  if (!s.gz) {
    snprintf(err, errn, "cannot open: %s", strerror(errno));
    return -1;
  }
  gzbuffer(s.gz, 1 << 16);
  rmp_prof_init(p);
  dctx c;
  memset(&c, 0, sizeof c);
  c.p = p;
  perftools_profiles_Profile m = perftools_profiles_Profile_init_zero;
  m.sample_type.funcs.decode = cb_sample_type;
  m.sample.funcs.decode = cb_sample;
  m.mapping.funcs.decode = cb_mapping;
  m.location.funcs.decode = cb_location;
  m.function.funcs.decode = cb_function;
  m.string_table.funcs.decode = cb_string;
  m.comment.funcs.decode = cb_comment;
  m.sample_type.arg = m.sample.arg = m.mapping.arg = m.location.arg = &c;
  m.function.arg = m.string_table.arg = m.comment.arg = &c;
  pb_istream_t st = {src_read, &s, SIZE_MAX, NULL};
  bool ok = pb_decode(&st, perftools_profiles_Profile_fields, &m);
  const char *what = gzipped ? "gzip data" : "file";
  if (!ok || s.gzfail) {
    const char *why = c.err ? c.err : PB_GET_ERROR(&st);
    if (s.gzfail) {
      int e;
      const char *zmsg = gzerror(s.gz, &e);
      snprintf(err, errn, "truncated or corrupt gzip data (%s)", zmsg && *zmsg ? zmsg : "zlib error");
    } else if (s.eof) {
      snprintf(err, errn, "truncated profile: the %s ends inside a message", what);
    } else {
      snprintf(err, errn, "not a valid pprof profile (%s%s)", gzipped ? "" : "not gzip, and as raw protobuf: ", why);
    }
    ok = false;
  }
  gzclose_r(s.gz);
  free(c.locids);
  free(c.vals);
  free(c.labs);
  if (ok) {
    p->time_nanos = m.time_nanos;
    p->duration_nanos = m.duration_nanos;
    p->period = m.period;
    p->default_sample_type = m.default_sample_type;
    p->has_period_type = m.has_period_type;
    p->period_type.type = m.period_type.type;
    p->period_type.unit = m.period_type.unit;
    const char *why = validate(p);
    if (why || (p->has_period_type && (!str_ok(p, p->period_type.type) || !str_ok(p, p->period_type.unit)))) {
      snprintf(err, errn, "not a valid pprof profile (%s)", why ? why : "period_type is out of range");
      ok = false;
    }
  }
  if (!ok) {
    rmp_prof_free(p);
    return -1;
  }
  return 0;
}

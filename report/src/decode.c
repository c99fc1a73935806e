/* Reading a profile: zlib gunzips (or passes plain bytes through), nanopb
 * decodes as a stream (proto/pprof_read.h), and each sample, location,
 * function and string arrives through a visitor callback that appends it to
 * the in-memory model. Memory is what the model holds, not the file's size. */
#include "rmp_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof_read.h"

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
  rmp_label *labs; /* one sample's labels, in the model's form */
  uint32_t labs_cap;
  const char *err;
} dctx;

static bool on_sample_type(void *ctx, const perftools_profiles_ValueType *vt) {
  dctx *c = ctx;
  if (c->p->nsamples) return c->err = "sample_type appears after samples", false;
  rmp_vt v = {vt->type, vt->unit};
  RMP_PUSH(c->p->types, c->p->ntypes, c->p->types_cap, v);
  return true;
}

static bool on_sample(void *ctx, const uint64_t *locs, size_t nlocs, const int64_t *vals, size_t nvals,
                      const perftools_profiles_Label *labels, size_t nlabels) {
  dctx *c = ctx;
  if (c->p->ntypes == 0) return c->err = "a sample appears before any sample_type", false;
  if (nvals != c->p->ntypes) return c->err = "a sample's value count differs from the sample_type count", false;
  if (nlocs > UINT32_MAX || nlabels > UINT32_MAX) return c->err = "a sample with more than 2^32 locations or labels", false;
  rmp_grow((void **)&c->labs, &c->labs_cap, (uint32_t)nlabels, sizeof *c->labs);
  for (size_t i = 0; i < nlabels; i++) {
    rmp_label r = {labels[i].key, labels[i].str, labels[i].num, labels[i].num_unit};
    c->labs[i] = r;
  }
  rmp_prof_add_sample(c->p, locs, (uint32_t)nlocs, c->labs, (uint32_t)nlabels, vals);
  return true;
}

static bool on_mapping(void *ctx, const perftools_profiles_Mapping *m) {
  (void)m;
  ((dctx *)ctx)->p->nmappings++;
  return true;
}

static bool on_location(void *ctx, const perftools_profiles_Location *l, const perftools_profiles_Line *lines,
                        size_t nlines) {
  dctx *c = ctx;
  uint32_t first = c->p->nlines;
  for (size_t i = 0; i < nlines; i++) {
    rmp_line r = {lines[i].function_id, lines[i].line};
    RMP_PUSH(c->p->lines, c->p->nlines, c->p->lines_cap, r);
  }
  rmp_loc r;
  r.id = l->id;
  r.mapping_id = l->mapping_id;
  r.address = l->address;
  r.line_off = first;
  r.nlines = c->p->nlines - first;
  RMP_PUSH(c->p->locs, c->p->nlocs, c->p->locs_cap, r);
  return true;
}

static bool on_function(void *ctx, const perftools_profiles_Function *fn) {
  dctx *c = ctx;
  rmp_fn r = {fn->id, fn->name, fn->system_name, fn->filename, fn->start_line};
  RMP_PUSH(c->p->fns, c->p->nfns, c->p->fns_cap, r);
  return true;
}

static bool on_string(void *ctx, const char *str, size_t len) {
  dctx *c = ctx;
  if (len > UINT32_MAX - 1) return c->err = "a string longer than 4 GiB", false;
  rmp_strs_append(&c->p->strs, str, len);
  return true;
}

static bool on_comment(void *ctx, int64_t idx) {
  dctx *c = ctx;
  RMP_PUSH(c->p->comments, c->p->ncomments, c->p->comments_cap, idx);
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
  dctx c = {p, NULL, 0, NULL};
  pprof_visitor v = {&c, on_sample_type, on_sample, on_mapping, on_location, on_function, on_string, on_comment};
  perftools_profiles_Profile m;
  pb_istream_t st = {src_read, &s, SIZE_MAX, NULL};
  bool ok = pprof_read(&st, &v, &m);
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

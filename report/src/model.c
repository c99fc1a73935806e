/* One profile in memory: the decoder fills it, merge and the test
 * generator build it, the encoder writes it. Identical samples (same
 * locations, same labels) are summed as they arrive. */
#include "rmp_report.h"

#include <stdlib.h>
#include <string.h>

void rmp_prof_init(rmp_prof *p) { memset(p, 0, sizeof *p); }

void rmp_prof_free(rmp_prof *p) {
  rmp_strs_free(&p->strs);
  free(p->types);
  free(p->fns);
  free(p->locs);
  free(p->lines);
  free(p->samples);
  free(p->locids);
  free(p->values);
  free(p->labels);
  free(p->comments);
  free(p->sample_next);
  free(p->fn_direct);
  free(p->loc_direct);
  rmp_map_free(&p->fn_index);
  rmp_map_free(&p->loc_index);
  rmp_map_free(&p->sample_index);
  memset(p, 0, sizeof *p);
}

static uint64_t sample_hash(const uint64_t *locids, uint32_t nloc, const rmp_label *labels, uint32_t nlab) {
  uint64_t h = rmp_hash_bytes(locids, nloc * sizeof *locids, nloc);
  return h ^ rmp_hash_bytes(labels, nlab * sizeof *labels, h);
}

static int sample_eq(const rmp_prof *p, const rmp_sample *s, const uint64_t *locids, uint32_t nloc,
                     const rmp_label *labels, uint32_t nlab) {
  return s->nloc == nloc && s->nlab == nlab &&
         (nloc == 0 || memcmp(p->locids + s->loc_off, locids, nloc * sizeof *locids) == 0) &&
         (nlab == 0 || memcmp(p->labels + s->lab_off, labels, nlab * sizeof *labels) == 0);
}

void rmp_prof_add_sample(rmp_prof *p, const uint64_t *locids, uint32_t nloc, const rmp_label *labels,
                         uint32_t nlab, const int64_t *values) {
  uint64_t h = sample_hash(locids, nloc, labels, nlab);
  int found;
  uint32_t *head = rmp_map_put(&p->sample_index, h, &found);
  if (found) {
    for (uint32_t i = *head; i != UINT32_MAX; i = p->sample_next[i]) {
      rmp_sample *s = &p->samples[i];
      if (!sample_eq(p, s, locids, nloc, labels, nlab)) continue;
      for (uint32_t k = 0; k < p->ntypes; k++)
        p->values[s->val_off + k] = (int64_t)((uint64_t)p->values[s->val_off + k] + (uint64_t)values[k]);
      return;
    }
  }
  rmp_sample s;
  s.loc_off = p->nlocids;
  s.nloc = nloc;
  s.lab_off = p->nlabels;
  s.nlab = nlab;
  s.val_off = p->nvalues;
  rmp_grow((void **)&p->locids, &p->locids_cap, p->nlocids + nloc, sizeof *p->locids);
  if (nloc) memcpy(p->locids + p->nlocids, locids, nloc * sizeof *locids);
  p->nlocids += nloc;
  rmp_grow((void **)&p->labels, &p->labels_cap, p->nlabels + nlab, sizeof *p->labels);
  if (nlab) memcpy(p->labels + p->nlabels, labels, nlab * sizeof *labels);
  p->nlabels += nlab;
  rmp_grow((void **)&p->values, &p->values_cap, p->nvalues + p->ntypes, sizeof *p->values);
  if (p->ntypes) memcpy(p->values + p->nvalues, values, p->ntypes * sizeof *values);
  p->nvalues += p->ntypes;
  uint32_t cap = p->sample_next_cap;
  rmp_grow((void **)&p->sample_next, &cap, p->nsamples + 1, sizeof *p->sample_next);
  p->sample_next_cap = cap;
  p->sample_next[p->nsamples] = found ? *head : UINT32_MAX;
  *head = p->nsamples;
  RMP_PUSH(p->samples, p->nsamples, p->samples_cap, s);
}

/* Ids are usually 1..n (pprof writers number them so): then a plain array
 * replaces the hash lookup, which matters at one lookup per stack frame. */
static uint32_t *direct_index(const uint64_t *ids, size_t stride, uint32_t n, uint64_t *out_n) {
  uint64_t max = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t id = *(const uint64_t *)(const void *)((const char *)ids + i * stride);
    if (id > max) max = id;
  }
  if (max > 4 * (uint64_t)n + 64) return NULL;
  uint32_t *d = rmp_xcalloc((size_t)max + 1, sizeof *d);
  for (uint32_t i = 0; i < n; i++) d[*(const uint64_t *)(const void *)((const char *)ids + i * stride)] = i + 1;
  *out_n = max + 1;
  return d;
}

int rmp_prof_index(rmp_prof *p, const char **why) {
  rmp_map_free(&p->fn_index);
  rmp_map_free(&p->loc_index);
  for (uint32_t i = 0; i < p->nfns; i++) {
    int f;
    if (p->fns[i].id == 0) return *why = "a function has id 0", -1;
    *rmp_map_put(&p->fn_index, p->fns[i].id, &f) = i;
    if (f) return *why = "two functions share an id", -1;
  }
  for (uint32_t i = 0; i < p->nlocs; i++) {
    int f;
    if (p->locs[i].id == 0) return *why = "a location has id 0", -1;
    *rmp_map_put(&p->loc_index, p->locs[i].id, &f) = i;
    if (f) return *why = "two locations share an id", -1;
  }
  p->fn_direct = direct_index(&p->fns[0].id, sizeof *p->fns, p->nfns, &p->fn_direct_n);
  p->loc_direct = direct_index(&p->locs[0].id, sizeof *p->locs, p->nlocs, &p->loc_direct_n);
  return 0;
}

const rmp_fn *rmp_prof_fn(const rmp_prof *p, uint64_t id) {
  if (p->fn_direct) return id < p->fn_direct_n && p->fn_direct[id] ? &p->fns[p->fn_direct[id] - 1] : NULL;
  const uint32_t *i = rmp_map_get(&p->fn_index, id);
  return i ? &p->fns[*i] : NULL;
}
const rmp_loc *rmp_prof_loc(const rmp_prof *p, uint64_t id) {
  if (p->loc_direct) return id < p->loc_direct_n && p->loc_direct[id] ? &p->locs[p->loc_direct[id] - 1] : NULL;
  const uint32_t *i = rmp_map_get(&p->loc_index, id);
  return i ? &p->locs[*i] : NULL;
}
const char *rmp_prof_str(const rmp_prof *p, int64_t idx) {
  if (idx < 0 || (uint64_t)idx >= p->strs.count) return "";
  return rmp_strs_get(&p->strs, (uint32_t)idx);
}

int rmp_prof_type(const rmp_prof *p, const char *name) {
  for (uint32_t i = 0; i < p->ntypes; i++)
    if (strcmp(rmp_prof_str(p, p->types[i].type), name) == 0) return (int)i;
  return -1;
}

void rmp_prof_types_str(const rmp_prof *p, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  for (uint32_t i = 0; i < p->ntypes && used + 1 < n; i++) {
    int w = snprintf(buf + used, n - used, "%s%s/%s", i ? ", " : "", rmp_prof_str(p, p->types[i].type),
                     rmp_prof_str(p, p->types[i].unit));
    if (w < 0) break;
    used += (size_t)w;
  }
  if (p->ntypes == 0) snprintf(buf, n, "(none)");
}

int rmp_prof_default_type(const rmp_prof *p) {
  if (p->ntypes == 0) return -1;
  if (p->default_sample_type > 0)
    for (uint32_t i = 0; i < p->ntypes; i++)
      if (p->types[i].type == p->default_sample_type) return (int)i;
  return (int)p->ntypes - 1;
}

int64_t rmp_prof_intern(rmp_prof *p, const char *s, size_t len) {
  if (p->strs.count == 0) rmp_strs_intern(&p->strs, "", 0);
  return rmp_strs_intern(&p->strs, s, len);
}

static int64_t intern_c(rmp_prof *p, const char *s) { return rmp_prof_intern(p, s, strlen(s)); }

uint64_t rmp_prof_add_fn(rmp_prof *p, const char *name, const char *sys, const char *file, int64_t start_line) {
  rmp_fn f;
  f.name = intern_c(p, name);
  f.system_name = intern_c(p, sys);
  f.filename = intern_c(p, file);
  f.start_line = start_line;
  /* Functions are keyed by their content so identical ones share an id. */
  int64_t k[4] = {f.name, f.system_name, f.filename, f.start_line};
  uint64_t h = rmp_hash_bytes(k, sizeof k, 1);
  int found;
  uint32_t *slot = rmp_map_put(&p->fn_index, h, &found);
  if (found) {
    const rmp_fn *o = &p->fns[*slot];
    if (o->name == f.name && o->system_name == f.system_name && o->filename == f.filename &&
        o->start_line == f.start_line)
      return o->id;
  }
  f.id = p->nfns + 1;
  if (!found) *slot = p->nfns; /* a hash collision just gets a second copy */
  RMP_PUSH(p->fns, p->nfns, p->fns_cap, f);
  return f.id;
}

uint64_t rmp_prof_add_loc(rmp_prof *p, const rmp_line *lines, uint32_t n, uint64_t address) {
  uint64_t h = rmp_hash_bytes(lines, n * sizeof *lines, 2 + address);
  int found;
  uint32_t *slot = rmp_map_put(&p->loc_index, h, &found);
  if (found) {
    const rmp_loc *o = &p->locs[*slot];
    if (o->nlines == n && o->address == address && memcmp(p->lines + o->line_off, lines, n * sizeof *lines) == 0)
      return o->id;
  }
  rmp_loc l;
  memset(&l, 0, sizeof l);
  l.id = p->nlocs + 1;
  l.address = address;
  l.line_off = p->nlines;
  l.nlines = n;
  rmp_grow((void **)&p->lines, &p->lines_cap, p->nlines + n, sizeof *p->lines);
  if (n) memcpy(p->lines + p->nlines, lines, n * sizeof *lines);
  p->nlines += n;
  if (!found) *slot = p->nlocs;
  RMP_PUSH(p->locs, p->nlocs, p->locs_cap, l);
  return l.id;
}

void rmp_prof_add_type(rmp_prof *p, const char *type, const char *unit) {
  rmp_vt v;
  v.type = intern_c(p, type);
  v.unit = intern_c(p, unit);
  RMP_PUSH(p->types, p->ntypes, p->types_cap, v);
}

void rmp_prof_add_comment(rmp_prof *p, const char *s) {
  int64_t id = intern_c(p, s);
  RMP_PUSH(p->comments, p->ncomments, p->comments_cap, id);
}

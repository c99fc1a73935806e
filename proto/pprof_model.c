/* One profile in memory (pprof_model.h): its arrays, its indexes by id
 * and by sample content, and the builders that share equal strings,
 * functions and locations. */
#include "pprof_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pprof_profile_init(pprof_profile *p) { memset(p, 0, sizeof *p); }

void pprof_profile_free(pprof_profile *p) {
  pprof_strings_free(&p->strings);
  free(p->types);
  free(p->mappings);
  free(p->functions);
  free(p->locations);
  free(p->lines);
  free(p->samples);
  free(p->location_ids);
  free(p->values);
  free(p->labels);
  free(p->comments);
  free(p->sample_next);
  free(p->function_direct);
  free(p->location_direct);
  pprof_map_free(&p->function_index);
  pprof_map_free(&p->location_index);
  pprof_map_free(&p->sample_index);
  pprof_map_free(&p->function_by_content);
  pprof_map_free(&p->location_by_content);
  pprof_map_free(&p->mapping_index);
  pprof_map_free(&p->mapping_by_content);
  memset(p, 0, sizeof *p);
}

static uint64_t sample_hash(const uint64_t *ids, uint32_t nloc, const pprof_label *labels, uint32_t nlab) {
  uint64_t h = pprof_hash_bytes(ids, nloc * sizeof *ids, nloc);
  return h ^ pprof_hash_bytes(labels, nlab * sizeof *labels, h);
}

static int sample_eq(const pprof_profile *p, const pprof_sample *s, const uint64_t *ids, uint32_t nloc,
                     const pprof_label *labels, uint32_t nlab) {
  return s->nloc == nloc && s->nlab == nlab &&
         (nloc == 0 || memcmp(p->location_ids + s->loc_off, ids, nloc * sizeof *ids) == 0) &&
         (nlab == 0 || memcmp(p->labels + s->lab_off, labels, nlab * sizeof *labels) == 0);
}

/* A new sample at the head of its hash chain. */
static void push_sample(pprof_profile *p, uint32_t *head, int found, const uint64_t *ids, uint32_t nloc,
                        const pprof_label *labels, uint32_t nlab, const int64_t *values) {
  pprof_sample s;
  s.loc_off = p->nlocation_ids;
  s.nloc = nloc;
  s.lab_off = p->nlabels;
  s.nlab = nlab;
  s.val_off = p->nvalues;
  pprof_grow((void **)&p->location_ids, &p->location_ids_cap, p->nlocation_ids + nloc, sizeof *p->location_ids);
  if (nloc) memcpy(p->location_ids + p->nlocation_ids, ids, nloc * sizeof *ids);
  p->nlocation_ids += nloc;
  pprof_grow((void **)&p->labels, &p->labels_cap, p->nlabels + nlab, sizeof *p->labels);
  if (nlab) memcpy(p->labels + p->nlabels, labels, nlab * sizeof *labels);
  p->nlabels += nlab;
  pprof_grow((void **)&p->values, &p->values_cap, p->nvalues + p->ntypes, sizeof *p->values);
  if (p->ntypes) memcpy(p->values + p->nvalues, values, p->ntypes * sizeof *values);
  p->nvalues += p->ntypes;
  uint32_t cap = p->sample_next_cap;
  pprof_grow((void **)&p->sample_next, &cap, p->nsamples + 1, sizeof *p->sample_next);
  p->sample_next_cap = cap;
  p->sample_next[p->nsamples] = found ? *head : UINT32_MAX;
  *head = p->nsamples;
  PPROF_PUSH(p->samples, p->nsamples, p->samples_cap, s);
}

void pprof_add_sample(pprof_profile *p, const uint64_t *ids, uint32_t nloc, const pprof_label *labels,
                      uint32_t nlab, const int64_t *values) {
  int found;
  uint32_t *head = pprof_map_put(&p->sample_index, sample_hash(ids, nloc, labels, nlab), &found);
  if (found) {
    for (uint32_t i = *head; i != UINT32_MAX; i = p->sample_next[i]) {
      pprof_sample *s = &p->samples[i];
      if (!sample_eq(p, s, ids, nloc, labels, nlab)) continue;
      for (uint32_t k = 0; k < p->ntypes; k++)
        p->values[s->val_off + k] = (int64_t)((uint64_t)p->values[s->val_off + k] + (uint64_t)values[k]);
      return;
    }
  }
  push_sample(p, head, found, ids, nloc, labels, nlab, values);
}

void pprof_append_sample(pprof_profile *p, const uint64_t *ids, uint32_t nloc, const pprof_label *labels,
                         uint32_t nlab, const int64_t *values) {
  int found;
  uint32_t *head = pprof_map_put(&p->sample_index, sample_hash(ids, nloc, labels, nlab), &found);
  push_sample(p, head, found, ids, nloc, labels, nlab, values);
}

/* Ids are usually 1..n (pprof writers number them so): then a plain array
 * replaces the hash lookup, which matters at one lookup per stack frame.
 * The id of element i is the u64 at base + i * stride. */
static uint64_t id_at(const void *base, size_t stride, uint32_t i) {
  uint64_t id;
  memcpy(&id, (const char *)base + i * stride, sizeof id);
  return id;
}
static uint32_t *direct_index(const void *base, size_t stride, uint32_t n, uint64_t *out_n) {
  uint64_t max = 0;
  for (uint32_t i = 0; i < n; i++)
    if (id_at(base, stride, i) > max) max = id_at(base, stride, i);
  if (max > 4 * (uint64_t)n + 64) return NULL;
  uint32_t *d = pprof_xcalloc((size_t)max + 1, sizeof *d);
  for (uint32_t i = 0; i < n; i++) d[id_at(base, stride, i)] = i + 1;
  *out_n = max + 1;
  return d;
}

int pprof_index(pprof_profile *p, const char **why) {
  pprof_map_free(&p->mapping_index);
  pprof_map_free(&p->function_index);
  pprof_map_free(&p->location_index);
  free(p->function_direct);
  free(p->location_direct);
  p->function_direct = p->location_direct = NULL;
  for (uint32_t i = 0; i < p->nmappings; i++) {
    int f;
    if (p->mappings[i].id == 0) return *why = "a mapping has id 0", -1;
    *pprof_map_put(&p->mapping_index, p->mappings[i].id, &f) = i;
    if (f) return *why = "two mappings share an id", -1;
  }
  for (uint32_t i = 0; i < p->nfunctions; i++) {
    int f;
    if (p->functions[i].id == 0) return *why = "a function has id 0", -1;
    *pprof_map_put(&p->function_index, p->functions[i].id, &f) = i;
    if (f) return *why = "two functions share an id", -1;
  }
  for (uint32_t i = 0; i < p->nlocations; i++) {
    int f;
    if (p->locations[i].id == 0) return *why = "a location has id 0", -1;
    *pprof_map_put(&p->location_index, p->locations[i].id, &f) = i;
    if (f) return *why = "two locations share an id", -1;
  }
  p->function_direct = direct_index(p->functions, sizeof *p->functions, p->nfunctions, &p->function_direct_n);
  p->location_direct = direct_index(p->locations, sizeof *p->locations, p->nlocations, &p->location_direct_n);
  return 0;
}

const pprof_function *pprof_find_function(const pprof_profile *p, uint64_t id) {
  if (p->function_direct)
    return id < p->function_direct_n && p->function_direct[id] ? &p->functions[p->function_direct[id] - 1] : NULL;
  const uint32_t *i = pprof_map_get(&p->function_index, id);
  return i ? &p->functions[*i] : NULL;
}
const pprof_location *pprof_find_location(const pprof_profile *p, uint64_t id) {
  if (p->location_direct)
    return id < p->location_direct_n && p->location_direct[id] ? &p->locations[p->location_direct[id] - 1] : NULL;
  const uint32_t *i = pprof_map_get(&p->location_index, id);
  return i ? &p->locations[*i] : NULL;
}

static int str_in_range(const pprof_profile *p, int64_t idx) { return idx >= 0 && (uint64_t)idx < p->strings.count; }
const char *pprof_str(const pprof_profile *p, int64_t idx) {
  return str_in_range(p, idx) ? pprof_strings_get(&p->strings, (uint32_t)idx) : "";
}
size_t pprof_str_len(const pprof_profile *p, int64_t idx) {
  return str_in_range(p, idx) ? pprof_strings_len(&p->strings, (uint32_t)idx) : 0;
}

int pprof_type_index(const pprof_profile *p, const char *name) {
  for (uint32_t i = 0; i < p->ntypes; i++)
    if (strcmp(pprof_str(p, p->types[i].type), name) == 0) return (int)i;
  return -1;
}

void pprof_types_text(const pprof_profile *p, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  for (uint32_t i = 0; i < p->ntypes && used + 1 < n; i++) {
    int w = snprintf(buf + used, n - used, "%s%s/%s", i ? ", " : "", pprof_str(p, p->types[i].type),
                     pprof_str(p, p->types[i].unit));
    if (w < 0) break;
    used += (size_t)w;
  }
  if (p->ntypes == 0) snprintf(buf, n, "(none)");
}

int pprof_default_type(const pprof_profile *p) {
  if (p->ntypes == 0) return -1;
  if (p->default_sample_type > 0)
    for (uint32_t i = 0; i < p->ntypes; i++)
      if (p->types[i].type == p->default_sample_type) return (int)i;
  return (int)p->ntypes - 1;
}

int64_t pprof_intern(pprof_profile *p, const char *s, size_t len) {
  if (p->strings.count == 0) pprof_strings_intern(&p->strings, "", 0);
  return pprof_strings_intern(&p->strings, s, len);
}

static int64_t intern_c(pprof_profile *p, const char *s) { return pprof_intern(p, s, strlen(s)); }

uint64_t pprof_add_function(pprof_profile *p, const char *name, const char *sys, const char *file,
                            int64_t start_line) {
  pprof_function f;
  f.name = intern_c(p, name);
  f.system_name = intern_c(p, sys);
  f.filename = intern_c(p, file);
  f.start_line = start_line;
  /* Functions are keyed by their content so identical ones share an id. */
  int64_t k[4] = {f.name, f.system_name, f.filename, f.start_line};
  uint64_t h = pprof_hash_bytes(k, sizeof k, 1);
  int found;
  uint32_t *slot = pprof_map_put(&p->function_by_content, h, &found);
  if (found) {
    const pprof_function *o = &p->functions[*slot];
    if (o->name == f.name && o->system_name == f.system_name && o->filename == f.filename &&
        o->start_line == f.start_line)
      return o->id;
  }
  f.id = p->nfunctions + 1;
  if (!found) *slot = p->nfunctions; /* a hash collision just gets a second copy */
  PPROF_PUSH(p->functions, p->nfunctions, p->functions_cap, f);
  return f.id;
}

static int same_mapping(const pprof_mapping *a, const pprof_mapping *b) {
  return a->memory_start == b->memory_start && a->memory_limit == b->memory_limit &&
         a->file_offset == b->file_offset && a->filename == b->filename && a->build_id == b->build_id &&
         a->has_functions == b->has_functions && a->has_filenames == b->has_filenames &&
         a->has_line_numbers == b->has_line_numbers && a->has_inline_frames == b->has_inline_frames;
}

uint64_t pprof_add_mapping(pprof_profile *p, const pprof_mapping *m) {
  uint64_t k[9] = {m->memory_start,           m->memory_limit,           m->file_offset,
                   (uint64_t)m->filename,     (uint64_t)m->build_id,     (uint64_t)m->has_functions,
                   (uint64_t)m->has_filenames, (uint64_t)m->has_line_numbers, (uint64_t)m->has_inline_frames};
  int found;
  uint32_t *slot = pprof_map_put(&p->mapping_by_content, pprof_hash_bytes(k, sizeof k, 3), &found);
  if (found && same_mapping(&p->mappings[*slot], m)) return p->mappings[*slot].id;
  pprof_mapping c = *m;
  c.id = p->nmappings + 1;
  if (!found) *slot = p->nmappings; /* a hash collision just gets a second copy */
  PPROF_PUSH(p->mappings, p->nmappings, p->mappings_cap, c);
  return c.id;
}

const pprof_mapping *pprof_find_mapping(const pprof_profile *p, uint64_t id) {
  const uint32_t *i = pprof_map_get(&p->mapping_index, id);
  return i ? &p->mappings[*i] : NULL;
}

uint64_t pprof_add_location(pprof_profile *p, uint64_t mapping_id, const pprof_line *lines, uint32_t n,
                            uint64_t address) {
  uint64_t h = pprof_hash_bytes(lines, n * sizeof *lines, 2 + address + (mapping_id << 32));
  int found;
  uint32_t *slot = pprof_map_put(&p->location_by_content, h, &found);
  if (found) {
    const pprof_location *o = &p->locations[*slot];
    if (o->nlines == n && o->address == address && o->mapping_id == mapping_id &&
        memcmp(p->lines + o->line_off, lines, n * sizeof *lines) == 0)
      return o->id;
  }
  pprof_location l;
  memset(&l, 0, sizeof l);
  l.id = p->nlocations + 1;
  l.mapping_id = mapping_id;
  l.address = address;
  l.line_off = p->nlines;
  l.nlines = n;
  pprof_grow((void **)&p->lines, &p->lines_cap, p->nlines + n, sizeof *p->lines);
  if (n) memcpy(p->lines + p->nlines, lines, n * sizeof *lines);
  p->nlines += n;
  if (!found) *slot = p->nlocations;
  PPROF_PUSH(p->locations, p->nlocations, p->locations_cap, l);
  return l.id;
}

void pprof_add_type(pprof_profile *p, const char *type, const char *unit) {
  pprof_value_type v;
  v.type = intern_c(p, type);
  v.unit = intern_c(p, unit);
  PPROF_PUSH(p->types, p->ntypes, p->types_cap, v);
}

void pprof_add_comment(pprof_profile *p, const char *s) {
  int64_t id = intern_c(p, s);
  PPROF_PUSH(p->comments, p->ncomments, p->comments_cap, id);
}

/* Folding one decoded profile into the series: the profile's facts (where
 * its retained values and labels are), each sample's frame text and key,
 * and the accumulation of its values into per-profile points and per-key
 * stack and class totals. Profiles are folded in one at a time and
 * dropped, so memory grows with keys, not files. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

/* A growable byte buffer for building frame text. */
typedef struct buf { char *p; size_t n, cap; } buf;
static void buf_add(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 256;
    while (c < b->n + n + 1) c *= 2;
    b->p = pprof_xrealloc(b->p, c);
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }
/* A name or file into frame text, whose separators are tab and newline:
 * those (rare in Ruby names) become spaces. */
static void buf_field(buf *b, const char *s) {
  size_t start = b->n;
  buf_str(b, s);
  for (size_t i = start; i < b->n; i++)
    if (b->p[i] == '\t' || b->p[i] == '\n') b->p[i] = ' ';
}

/* What the pass needs to know of the profile: where its retained values
 * are, which label keys name the class and the age, and from which age on
 * an object counts as old. */
typedef struct facts {
  int tsize, tobjs;      /* value index of retained_size, retained_objects */
  int64_t kclass, kage;  /* string ids of the label keys, or -1 */
  int64_t maxage, old_min;
} facts;

typedef struct frame_text { uint32_t leaf, fn; } frame_text; /* name ids; fn UINT32_MAX if native */

/* One profile folded into the series; the caches live as long as it. */
typedef struct pass {
  report_series *s;
  const pprof_profile *p;
  facts f;
  uint32_t proc, prof;
  frame_text *ft;        /* per location; leaf UINT32_MAX until built */
  int64_t *files;        /* per function: its file, spellings made one */
  buf fb;                /* a frame's text being built */
  uint32_t *fids, fcap;  /* the sample's stack as frame text ids, leaf first */
  uint32_t *clsmap;      /* profile string id (count: no class) -> name id */
  uint32_t no_stack;     /* the frame of a sample without locations */
  pprof_map local;       /* key -> index into pts */
  report_point *pts; uint32_t npts, pts_cap;
  uint32_t *pkeys, pkeys_cap; /* the key of each point */
} pass;

static int read_facts(const pprof_profile *p, facts *f, char *err, size_t errn) {
  f->tsize = pprof_type_index(p, "retained_size");
  f->tobjs = pprof_type_index(p, "retained_objects");
  if (f->tsize < 0 || f->tobjs < 0) {
    char types[512];
    pprof_types_text(p, types, sizeof types);
    snprintf(err, errn, "not an rmp heap profile: it has no retained_size/retained_objects sample types (it has: %s)",
             types);
    return -1;
  }
  f->kclass = f->kage = -1;
  for (uint32_t i = 0; i < p->strings.count; i++) {
    const char *x = pprof_strings_get(&p->strings, i);
    if (f->kclass < 0 && strcmp(x, "object_class") == 0) f->kclass = i;
    if (f->kage < 0 && strcmp(x, "allocation_age") == 0) f->kage = i;
  }
  /* "Old" is relative to the oldest object in the profile, which in a Ruby
   * process is roughly the GC count since boot. */
  f->maxage = -1;
  for (uint32_t i = 0; f->kage >= 0 && i < p->nsamples; i++) {
    const pprof_sample *sm = &p->samples[i];
    for (uint32_t k = 0; k < sm->nlab; k++) {
      const pprof_label *l = &p->labels[sm->lab_off + k];
      if (l->key == f->kage && l->num > f->maxage) f->maxage = l->num;
    }
  }
  f->old_min = f->maxage / 4 > 2 ? f->maxage / 4 : 2;
  return 0;
}

/* The profile's process (registered when new) and the profile's index. */
static uint32_t add_profile(report_series *s, const pprof_profile *p, int64_t pid, const char *path, uint32_t *proc) {
  int found;
  uint32_t *pi = pprof_map_put(&s->proc_index, (uint64_t)pid, &found);
  if (!found) {
    *pi = s->nprocs;
    report_process pr = {pid, 0};
    PPROF_PUSH(s->procs, s->nprocs, s->procs_cap, pr);
  }
  *proc = *pi;
  s->procs[*proc].nprofs++;
  /* rmp's time_nanos..+duration_nanos is the interval the profile covers
   * and the retained objects are those alive at its end, so the end is the
   * snapshot's time (for a profile without a duration it is time_nanos). */
  report_profile_info info = {*proc, p->time_nanos + p->duration_nanos, 0, 0, pprof_xstrdup(path),
                              report_comment_number(p, "sample_rate"),
                              report_comment_number(p, "heap_sample_probability")};
  PPROF_PUSH(s->profs, s->nprofs, s->profs_cap, info);
  return s->nprofs - 1;
}

static void pass_begin(pass *w, report_series *s, const pprof_profile *p, const facts *f, uint32_t proc,
                       uint32_t prof) {
  memset(w, 0, sizeof *w);
  w->s = s;
  w->p = p;
  w->f = *f;
  w->proc = proc;
  w->prof = prof;
  w->files = report_function_files(p);
  w->ft = pprof_xmalloc((p->nlocations ? p->nlocations : 1) * sizeof *w->ft);
  for (uint32_t i = 0; i < p->nlocations; i++) w->ft[i].leaf = UINT32_MAX;
  w->clsmap = pprof_xmalloc((p->strings.count + 1) * sizeof *w->clsmap);
  for (uint32_t i = 0; i <= p->strings.count; i++) w->clsmap[i] = UINT32_MAX;
  static const char no_stack_text[] = "(no stack)\t\t0";
  w->no_stack = pprof_strings_intern(&s->names, no_stack_text, sizeof no_stack_text - 1);
}

static void pass_end(pass *w) {
  free(w->ft);
  free(w->files);
  free(w->fb.p);
  free(w->fids);
  free(w->clsmap);
  free(w->pts);
  free(w->pkeys);
  pprof_map_free(&w->local);
}

/* ---- frame text ---- */

/* A location's text, built once per profile: "function\tfile\tline" per
 * line (inlined lines joined by newlines), "0x<address>\t\t0" without
 * lines; and "function\tfile\t" of its first line with Ruby source. */
static const frame_text *location_text(pass *w, const pprof_location *loc) {
  const pprof_profile *p = w->p;
  frame_text *ft = &w->ft[loc - p->locations];
  if (ft->leaf != UINT32_MAX) return ft;
  w->fb.n = 0;
  ft->fn = UINT32_MAX;
  for (uint32_t k = 0; k < loc->nlines; k++) {
    const pprof_line *ln = &p->lines[loc->line_off + k];
    const pprof_function *fn = pprof_find_function(p, ln->function_id);
    const char *file = pprof_str(p, w->files[fn - p->functions]);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)ln->line);
    if (k) buf_str(&w->fb, "\n");
    buf_field(&w->fb, pprof_str(p, fn->name));
    buf_str(&w->fb, "\t");
    buf_field(&w->fb, file);
    buf_str(&w->fb, "\t");
    buf_str(&w->fb, num);
    if (ft->fn == UINT32_MAX && !report_native_file(file)) {
      /* this line's "function\tfile\t", as just written */
      size_t end = w->fb.n - strlen(num), begin = end;
      while (begin > 0 && w->fb.p[begin - 1] != '\n') begin--;
      ft->fn = pprof_strings_intern(&w->s->names, w->fb.p + begin, end - begin);
    }
  }
  if (loc->nlines == 0) {
    char t[64];
    snprintf(t, sizeof t, "0x%llx\t\t0", (unsigned long long)loc->address);
    buf_str(&w->fb, t);
  }
  ft->leaf = pprof_strings_intern(&w->s->names, w->fb.p, w->fb.n);
  return ft;
}

/* The sample's stack into fids as frame text ids, leaf first. Returns the
 * frame count; *leaf is the leaf frame, *fn the first frame with Ruby
 * source, each -1 when there is none. */
static uint32_t sample_frames(pass *w, const pprof_sample *sm, int64_t *leaf, int64_t *fn) {
  const pprof_profile *p = w->p;
  uint32_t nf = 0;
  *leaf = *fn = -1;
  for (uint32_t j = 0; j < sm->nloc; j++) {
    const frame_text *ft = location_text(w, pprof_find_location(p, p->location_ids[sm->loc_off + j]));
    pprof_grow((void **)&w->fids, &w->fcap, nf + 1, sizeof *w->fids);
    w->fids[nf++] = ft->leaf;
    if (*leaf < 0) *leaf = ft->leaf;
    if (*fn < 0 && ft->fn != UINT32_MAX) *fn = ft->fn;
  }
  if (sm->nloc == 0) {
    pprof_grow((void **)&w->fids, &w->fcap, 1, sizeof *w->fids);
    w->fids[nf++] = w->no_stack;
  }
  return nf;
}

/* The class name id of a sample whose object_class label is clsidx (-1
 * without one). */
static uint32_t sample_class(pass *w, int64_t clsidx) {
  uint32_t slot = clsidx >= 0 ? (uint32_t)clsidx : w->p->strings.count;
  if (w->clsmap[slot] == UINT32_MAX) {
    const char *c = clsidx >= 0 ? pprof_str(w->p, clsidx) : "(unknown class)";
    w->clsmap[slot] = pprof_strings_intern(&w->s->names, c, strlen(c));
  }
  return w->clsmap[slot];
}

/* ---- key extraction ---- */

/* The key a sample is filed under: its whole stack (the nf frames in
 * fids), the function or the file of its first frame with Ruby source
 * (else of its leaf), or its class. */
static uint32_t sample_key(pass *w, uint32_t nf, int64_t leaf, int64_t fn, uint32_t clsid) {
  report_series *s = w->s;
  int64_t frame = fn >= 0 ? fn : leaf;
  switch (s->by) {
  case REPORT_BY_STACK: return pprof_strings_intern(&s->keys, (const char *)w->fids, nf * sizeof *w->fids);
  case REPORT_BY_FUNCTION: {
    const char *t = frame >= 0 ? pprof_strings_get(&s->names, (uint32_t)frame) : "(no stack)\t\t";
    const char *tab2 = strchr(t, '\t');
    tab2 = tab2 ? strchr(tab2 + 1, '\t') : NULL;
    return pprof_strings_intern(&s->keys, t, tab2 ? (size_t)(tab2 - t) : strlen(t));
  }
  case REPORT_BY_FILE: {
    const char *t = frame >= 0 ? pprof_strings_get(&s->names, (uint32_t)frame) : "\t(no stack)\t";
    const char *f = strchr(t, '\t');
    f = f ? f + 1 : t;
    const char *e = strchr(f, '\t');
    return pprof_strings_intern(&s->keys, f, e ? (size_t)(e - f) : strlen(f));
  }
  default: /* read now: interning frames may have moved the names arena */
    return pprof_strings_intern(&s->keys, pprof_strings_get(&s->names, clsid), pprof_strings_len(&s->names, clsid));
  }
}

/* ---- accumulation ---- */

/* Bytes of a (key, stack) or (key, class) pair. */
static void acc_add(report_series *s, pprof_map *m, uint64_t pair, double v) {
  int found;
  uint32_t *i = pprof_map_put(m, pair, &found);
  if (!found) {
    uint32_t cap = s->acc_cap;
    pprof_grow((void **)&s->acc_pair, &cap, s->nacc + 1, sizeof *s->acc_pair);
    s->acc_pair[s->nacc] = pair;
    *i = s->nacc;
    PPROF_PUSH(s->acc, s->nacc, s->acc_cap, 0.0);
  }
  s->acc[*i] += v;
}

/* A sample's values into the point of its key in this profile, and into
 * the bytes its key holds per stack and per class. */
static void accumulate(pass *w, uint32_t key, uint32_t stack, uint32_t clsid, double size, double objs,
                       int64_t age) {
  report_series *s = w->s;
  acc_add(s, &s->stack_of, (uint64_t)key << 32 | stack, size);
  acc_add(s, &s->class_of, (uint64_t)key << 32 | clsid, size);
  int found;
  uint32_t *li = pprof_map_put(&w->local, key, &found);
  if (!found) {
    *li = w->npts;
    report_point z = {w->prof, 0, 0, 0};
    PPROF_PUSH(w->pts, w->npts, w->pts_cap, z);
    pprof_grow((void **)&w->pkeys, &w->pkeys_cap, w->npts, sizeof *w->pkeys);
    w->pkeys[w->npts - 1] = key;
  }
  report_point *pt = &w->pts[*li];
  pt->size += size;
  pt->objs += objs;
  if (w->f.maxage < 0)
    pt->old = -1;
  else if (age >= w->f.old_min)
    pt->old += objs;
}

/* This profile's points onto the series' slots: one per key and process. */
static void add_points(pass *w) {
  report_series *s = w->s;
  for (uint32_t i = 0; i < w->npts; i++) {
    int found;
    uint32_t *si = pprof_map_put(&s->slot_index, (uint64_t)w->pkeys[i] << 24 | w->proc, &found);
    if (!found) {
      *si = s->nslots;
      report_slot z;
      memset(&z, 0, sizeof z);
      z.key = w->pkeys[i];
      z.proc = w->proc;
      PPROF_PUSH(s->slots, s->nslots, s->slots_cap, z);
    }
    report_slot *sl = &s->slots[*si];
    PPROF_PUSH(sl->pts, sl->npts, sl->pts_cap, w->pts[i]);
  }
}

int report_series_add(report_series *s, const pprof_profile *p, int64_t pid, const char *path, char *err,
                      size_t errn) {
  facts f;
  if (read_facts(p, &f, err, errn) != 0) return -1;
  uint32_t proc, prof = add_profile(s, p, pid, path, &proc);
  pass w;
  pass_begin(&w, s, p, &f, proc, prof);
  for (uint32_t i = 0; i < p->nsamples; i++) {
    const pprof_sample *sm = &p->samples[i];
    double size = (double)p->values[sm->val_off + f.tsize], objs = (double)p->values[sm->val_off + f.tobjs];
    if (size == 0 && objs == 0) continue;
    s->profs[prof].total_size += size;
    s->profs[prof].total_objs += objs;
    int64_t clsidx = -1, age = -1;
    for (uint32_t k = 0; k < sm->nlab; k++) {
      const pprof_label *l = &p->labels[sm->lab_off + k];
      if (l->key == f.kclass && f.kclass >= 0) clsidx = l->str;
      if (l->key == f.kage && f.kage >= 0) age = l->num;
    }
    uint32_t clsid = sample_class(&w, clsidx);
    int64_t leaf, fn;
    uint32_t nf = sample_frames(&w, sm, &leaf, &fn);
    uint32_t stack = pprof_strings_intern(&s->stacks, (const char *)w.fids, nf * sizeof *w.fids);
    accumulate(&w, sample_key(&w, nf, leaf, fn, clsid), stack, clsid, size, objs, age);
  }
  add_points(&w);
  pass_end(&w);
  return 0;
}


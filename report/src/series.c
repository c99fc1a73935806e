/* Turning decoded profiles into series: for every key (a whole stack, a
 * function, a file or a class) and every process, one point per profile
 * with the retained bytes, retained objects and old objects. Profiles are
 * folded in one at a time and dropped, so memory grows with keys, not files. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

void report_series_init(report_series *s, report_by by) {
  memset(s, 0, sizeof *s);
  s->by = by;
  pprof_strings_init(&s->names);
  pprof_strings_init(&s->keys);
}

void report_series_free(report_series *s) {
  for (uint32_t i = 0; i < s->nslots; i++) free(s->slots[i].pts);
  for (uint32_t i = 0; i < s->nprofs; i++) free(s->profs[i].path);
  free(s->slots);
  free(s->profs);
  free(s->procs);
  free(s->acc);
  free(s->acc_pair);
  pprof_strings_free(&s->names);
  pprof_strings_free(&s->keys);
  pprof_strings_free(&s->stacks);
  pprof_map_free(&s->slot_index);
  pprof_map_free(&s->proc_index);
  pprof_map_free(&s->stack_of);
  pprof_map_free(&s->class_of);
  memset(s, 0, sizeof *s);
}

/* A growable byte buffer for building key text. */
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

/* Frames with no Ruby source (C functions) say little about who leaks. */
static int native_file(const char *f) { return f[0] == 0 || strncmp(f, "<internal:", 10) == 0 || strcmp(f, "<cfunc>") == 0; }

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

typedef struct frame_text { uint32_t leaf, fn; } frame_text;

int report_series_add(report_series *s, const pprof_profile *p, int64_t pid, const char *path, char *err, size_t errn) {
  int tsize = pprof_type_index(p, "retained_size"), tobjs = pprof_type_index(p, "retained_objects");
  if (tsize < 0 || tobjs < 0) {
    char types[512];
    pprof_types_text(p, types, sizeof types);
    snprintf(err, errn, "not an rmp heap profile: it has no retained_size/retained_objects sample types (it has: %s)",
             types);
    return -1;
  }
  int64_t kclass = -1, kage = -1;
  for (uint32_t i = 0; i < p->strings.count; i++) {
    const char *x = pprof_strings_get(&p->strings, i);
    if (kclass < 0 && strcmp(x, "object_class") == 0) kclass = i;
    if (kage < 0 && strcmp(x, "allocation_age") == 0) kage = i;
  }
  /* "Old" is relative to the oldest object in the profile, which in a Ruby
   * process is roughly the GC count since boot. */
  int64_t maxage = -1;
  for (uint32_t i = 0; kage >= 0 && i < p->nsamples; i++) {
    const pprof_sample *sm = &p->samples[i];
    for (uint32_t k = 0; k < sm->nlab; k++) {
      const pprof_label *l = &p->labels[sm->lab_off + k];
      if (l->key == kage && l->num > maxage) maxage = l->num;
    }
  }
  int64_t old_min = maxage / 4 > 2 ? maxage / 4 : 2;

  int found;
  uint32_t *pi = pprof_map_put(&s->proc_index, (uint64_t)pid, &found);
  if (!found) {
    *pi = s->nprocs;
    report_process pr = {pid, 0};
    PPROF_PUSH(s->procs, s->nprocs, s->procs_cap, pr);
  }
  uint32_t proc = *pi;
  s->procs[proc].nprofs++;
  uint32_t prof = s->nprofs;
  /* rmp's time_nanos..+duration_nanos is the interval the profile covers
   * and the retained objects are those alive at its end, so the end is the
   * snapshot's time (for a profile without a duration it is time_nanos). */
  report_profile_info info = {proc, p->time_nanos + p->duration_nanos, 0, 0, pprof_xstrdup(path)};
  PPROF_PUSH(s->profs, s->nprofs, s->profs_cap, info);

  frame_text *ft = pprof_xmalloc((p->nlocations ? p->nlocations : 1) * sizeof *ft);
  for (uint32_t i = 0; i < p->nlocations; i++) ft[i].leaf = UINT32_MAX;
  buf fb = {0};
  uint32_t *fids = NULL, fcap = 0;
  uint32_t *clsmap = pprof_xmalloc((p->strings.count + 1) * sizeof *clsmap);
  for (uint32_t i = 0; i <= p->strings.count; i++) clsmap[i] = UINT32_MAX;
  const char *unknown_cls = "(unknown class)";
  static const char no_stack_text[] = "(no stack)\t\t0";
  uint32_t no_stack = pprof_strings_intern(&s->names, no_stack_text, sizeof no_stack_text - 1);
  pprof_map local = {0}; /* key -> index into pts */
  report_point *pts = NULL;
  uint32_t npts = 0, pts_cap = 0;
  uint32_t *pkeys = NULL, pkeys_cap = 0, npk = 0;

  for (uint32_t i = 0; i < p->nsamples; i++) {
    const pprof_sample *sm = &p->samples[i];
    double size = (double)p->values[sm->val_off + tsize], objs = (double)p->values[sm->val_off + tobjs];
    if (size == 0 && objs == 0) continue;
    s->profs[prof].total_size += size;
    s->profs[prof].total_objs += objs;
    int64_t clsidx = -1;
    int64_t age = -1;
    for (uint32_t k = 0; k < sm->nlab; k++) {
      const pprof_label *l = &p->labels[sm->lab_off + k];
      if (l->key == kclass && kclass >= 0) clsidx = l->str;
      if (l->key == kage && kage >= 0) age = l->num;
    }
    uint32_t clsslot = clsidx >= 0 ? (uint32_t)clsidx : p->strings.count;
    if (clsmap[clsslot] == UINT32_MAX) {
      const char *c = clsidx >= 0 ? pprof_str(p, clsidx) : unknown_cls;
      clsmap[clsslot] = pprof_strings_intern(&s->names, c, strlen(c));
    }
    uint32_t clsid = clsmap[clsslot];
    /* The stack, leaf first, as frame ids; each frame's text is
     * "function\tfile\tline" (inlined lines joined by newlines). */
    uint32_t nf = 0;
    int64_t fnkey = -1, leafkey = -1;
    for (uint32_t j = 0; j < sm->nloc; j++) {
      const pprof_location *loc = pprof_find_location(p, p->location_ids[sm->loc_off + j]);
      uint32_t li = (uint32_t)(loc - p->locations);
      if (ft[li].leaf == UINT32_MAX) {
        fb.n = 0;
        ft[li].fn = UINT32_MAX;
        for (uint32_t k = 0; k < loc->nlines; k++) {
          const pprof_line *ln = &p->lines[loc->line_off + k];
          const pprof_function *fn = pprof_find_function(p, ln->function_id);
          char num[32];
          snprintf(num, sizeof num, "%lld", (long long)ln->line);
          if (k) buf_str(&fb, "\n");
          buf_str(&fb, pprof_str(p, fn->name));
          buf_str(&fb, "\t");
          buf_str(&fb, pprof_str(p, fn->filename));
          buf_str(&fb, "\t");
          buf_str(&fb, num);
          if (ft[li].fn == UINT32_MAX && !native_file(pprof_str(p, fn->filename))) {
            char t[4096];
            snprintf(t, sizeof t, "%s\t%s\t", pprof_str(p, fn->name), pprof_str(p, fn->filename));
            ft[li].fn = pprof_strings_intern(&s->names, t, strlen(t));
          }
        }
        if (loc->nlines == 0) {
          char t[64];
          snprintf(t, sizeof t, "0x%llx\t\t0", (unsigned long long)loc->address);
          buf_str(&fb, t);
        }
        ft[li].leaf = pprof_strings_intern(&s->names, fb.p, fb.n);
      }
      pprof_grow((void **)&fids, &fcap, nf + 1, sizeof *fids);
      fids[nf++] = ft[li].leaf;
      if (leafkey < 0) leafkey = ft[li].leaf;
      if (fnkey < 0 && ft[li].fn != UINT32_MAX) fnkey = ft[li].fn;
    }
    if (sm->nloc == 0) {
      pprof_grow((void **)&fids, &fcap, 1, sizeof *fids);
      fids[nf++] = no_stack;
    }
    uint32_t stack = pprof_strings_intern(&s->stacks, (const char *)fids, nf * sizeof *fids);
    uint32_t key;
    switch (s->by) {
    case REPORT_BY_STACK: key = pprof_strings_intern(&s->keys, (const char *)fids, nf * sizeof *fids); break;
    case REPORT_BY_FUNCTION: {
      const char *t = fnkey >= 0 ? pprof_strings_get(&s->names, (uint32_t)fnkey)
                                 : leafkey >= 0 ? pprof_strings_get(&s->names, (uint32_t)leafkey) : "(no stack)\t\t";
      const char *tab2 = strchr(t, '\t');
      tab2 = tab2 ? strchr(tab2 + 1, '\t') : NULL;
      key = pprof_strings_intern(&s->keys, t, tab2 ? (size_t)(tab2 - t) : strlen(t));
      break;
    }
    case REPORT_BY_FILE: {
      const char *t = fnkey >= 0 ? pprof_strings_get(&s->names, (uint32_t)fnkey)
                                 : leafkey >= 0 ? pprof_strings_get(&s->names, (uint32_t)leafkey) : "\t(no stack)\t";
      const char *f = strchr(t, '\t');
      f = f ? f + 1 : t;
      const char *e = strchr(f, '\t');
      key = pprof_strings_intern(&s->keys, f, e ? (size_t)(e - f) : strlen(f));
      break;
    }
    default: /* read now: interning above may have moved the names arena */
      key = pprof_strings_intern(&s->keys, pprof_strings_get(&s->names, clsid), pprof_strings_len(&s->names, clsid));
      break;
    }
    acc_add(s, &s->stack_of, (uint64_t)key << 32 | stack, size);
    acc_add(s, &s->class_of, (uint64_t)key << 32 | clsid, size);

    uint32_t *li = pprof_map_put(&local, key, &found);
    if (!found) {
      *li = npts;
      report_point z = {prof, 0, 0, 0};
      PPROF_PUSH(pts, npts, pts_cap, z);
      uint32_t c2 = pkeys_cap;
      pprof_grow((void **)&pkeys, &c2, npk + 1, sizeof *pkeys);
      pkeys_cap = c2;
      pkeys[npk++] = key;
    }
    pts[*li].size += size;
    pts[*li].objs += objs;
    if (maxage < 0)
      pts[*li].old = -1;
    else if (age >= old_min)
      pts[*li].old += objs;
  }
  for (uint32_t i = 0; i < npts; i++) {
    uint32_t *si = pprof_map_put(&s->slot_index, (uint64_t)pkeys[i] << 24 | proc, &found);
    if (!found) {
      *si = s->nslots;
      report_slot z;
      memset(&z, 0, sizeof z);
      z.key = pkeys[i];
      z.proc = proc;
      PPROF_PUSH(s->slots, s->nslots, s->slots_cap, z);
    }
    report_slot *sl = &s->slots[*si];
    PPROF_PUSH(sl->pts, sl->npts, sl->pts_cap, pts[i]);
  }
  free(ft);
  free(fb.p);
  free(fids);
  free(clsmap);
  free(pts);
  free(pkeys);
  pprof_map_free(&local);
  return 0;
}

/* A stack's frame ids back to text, one frame per line. */
static char *render(const report_series *s, const pprof_strings *tab, uint32_t id) {
  const char *raw = pprof_strings_get(tab, id);
  uint32_t n = pprof_strings_len(tab, id) / 4;
  buf b = {0};
  buf_add(&b, "", 0);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f;
    memcpy(&f, raw + 4 * (size_t)i, 4);
    if (i) buf_str(&b, "\n");
    buf_add(&b, pprof_strings_get(&s->names, f), pprof_strings_len(&s->names, f));
  }
  return b.p;
}

char *report_series_key_text(const report_series *s, uint32_t key) {
  return s->by == REPORT_BY_STACK ? render(s, &s->keys, key) : pprof_xstrdup(pprof_strings_get(&s->keys, key));
}

/* The acc entries are few next to the slots; a scan serves the top N. */
uint32_t report_series_top_stack(const report_series *s, uint32_t key) {
  uint32_t best = UINT32_MAX;
  double bv = -1;
  for (uint32_t i = 0; i < s->nacc; i++) {
    uint64_t pair = s->acc_pair[i];
    if ((uint32_t)(pair >> 32) != key) continue;
    const uint32_t *is_stack = pprof_map_get(&s->stack_of, pair);
    if (!is_stack || *is_stack != i) continue;
    if (s->acc[i] > bv) {
      bv = s->acc[i];
      best = (uint32_t)pair;
    }
  }
  return best;
}

uint32_t report_series_classes(const report_series *s, uint32_t key, uint32_t *cls, double *bytes, uint32_t max) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < s->nacc; i++) {
    uint64_t pair = s->acc_pair[i];
    if ((uint32_t)(pair >> 32) != key) continue;
    const uint32_t *is_cls = pprof_map_get(&s->class_of, pair);
    if (!is_cls || *is_cls != i) continue;
    double v = s->acc[i];
    /* insertion into a short sorted list */
    uint32_t j = n < max ? n++ : max;
    if (j == max && (max == 0 || v <= bytes[max - 1])) continue;
    if (j == max) j = max - 1;
    while (j > 0 && bytes[j - 1] < v) {
      bytes[j] = bytes[j - 1];
      cls[j] = cls[j - 1];
      j--;
    }
    bytes[j] = v;
    cls[j] = (uint32_t)pair;
  }
  return n;
}

char *report_series_stack_text(const report_series *s, uint32_t stack) { return render(s, &s->stacks, stack); }

/* Series: for every key (a whole stack, a function, a file or a class) and
 * every process, one point per profile with the retained bytes, retained
 * objects and old objects (series_add.c folds profiles in); here their
 * life and what the printers ask of them. */
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

/* A stack's frame ids back to text, one frame per line. */
static char *render(const report_series *s, const pprof_strings *tab, uint32_t id) {
  const char *raw = pprof_strings_get(tab, id);
  uint32_t n = pprof_strings_len(tab, id) / 4;
  size_t len = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f;
    memcpy(&f, raw + 4 * (size_t)i, 4);
    len += pprof_strings_len(&s->names, f) + (i > 0);
  }
  char *text = pprof_xmalloc(len + 1), *o = text;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f;
    memcpy(&f, raw + 4 * (size_t)i, 4);
    if (i) *o++ = '\n';
    memcpy(o, pprof_strings_get(&s->names, f), pprof_strings_len(&s->names, f));
    o += pprof_strings_len(&s->names, f);
  }
  *o = 0;
  return text;
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

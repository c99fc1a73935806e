/* Growth statistics per series, and the suspect score. The design, and why
 * a churned cache of constant size does not rank, is in report.md:
 *
 *   score = max(0, slope) * R^2 * nondecreasing * (0.25 + 0.75 * old_share)
 *
 * summed over processes. A series is only a suspect when it holds memory
 * in at least three profiles, ended above where it started, R^2 >= 0.2 and
 * no more than half of its intervals shrank. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MIN_POINTS 3
#define REPORT_MIN_R2 0.2
#define REPORT_MIN_NONDECREASING 0.5
#define REPORT_MIN_PRESENT 3 /* profiles in which the key holds memory */

static const report_series *sort_series; /* qsort has no context argument in C99 */

static int cmp_prof_time(const void *a, const void *b) {
  const report_profile_info *x = &sort_series->profs[*(const uint32_t *)a];
  const report_profile_info *y = &sort_series->profs[*(const uint32_t *)b];
  if (x->time_nanos != y->time_nanos) return x->time_nanos < y->time_nanos ? -1 : 1;
  return strcmp(x->path, y->path);
}

uint32_t report_process_profiles(const report_series *s, uint32_t proc, uint32_t *idx) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < s->nprofs; i++)
    if (s->profs[i].proc == proc) idx[n++] = i;
  sort_series = s;
  qsort(idx, n, sizeof *idx, cmp_prof_time);
  return n;
}

/* Hours since the first profile; profiles without time_nanos fall back to
 * their order, one hour apart, so the shape still counts. */
static void proc_times(const report_series *s, const uint32_t *idx, uint32_t n, double *t) {
  int64_t t0 = n ? s->profs[idx[0]].time_nanos : 0, t1 = n ? s->profs[idx[n - 1]].time_nanos : 0;
  for (uint32_t i = 0; i < n; i++)
    t[i] = t1 > t0 ? (double)(s->profs[idx[i]].time_nanos - t0) / 3.6e12 : (double)i;
}

/* The slot's series in the process's time order; 0 where the key was absent. */
static void fill(const report_slot *sl, const uint32_t *pos, uint32_t n, double *y, double *objs, double *old) {
  for (uint32_t i = 0; i < n; i++) y[i] = objs[i] = old[i] = 0;
  for (uint32_t i = 0; i < sl->npts; i++) {
    uint32_t k = pos[sl->pts[i].prof];
    y[k] += sl->pts[i].size;
    objs[k] += sl->pts[i].objs;
    old[k] = sl->pts[i].old < 0 ? -1 : old[k] + sl->pts[i].old;
  }
}

uint32_t report_slot_series(const report_series *s, const report_slot *sl, double *t, double *y, double *objs,
                            double *old) {
  uint32_t *idx = pprof_xmalloc(s->nprofs * sizeof *idx), *pos = pprof_xmalloc(s->nprofs * sizeof *pos);
  uint32_t n = report_process_profiles(s, sl->proc, idx);
  for (uint32_t i = 0; i < n; i++) pos[idx[i]] = i;
  proc_times(s, idx, n, t);
  fill(sl, pos, n, y, objs, old);
  free(idx);
  free(pos);
  return n;
}

void report_fit_series(const double *t, const double *y, const double *objs, const double *old, uint32_t n,
                       report_fit *f) {
  memset(f, 0, sizeof *f);
  f->n = n;
  f->old_share = -1;
  if (n == 0) return;
  f->first = y[0];
  f->last = y[n - 1];
  double st = 0, sy = 0;
  for (uint32_t i = 0; i < n; i++) {
    st += t[i];
    sy += y[i];
    if (y[i] > f->peak) f->peak = y[i];
  }
  double mt = st / n, my = sy / n, stt = 0, syy = 0, sty = 0;
  for (uint32_t i = 0; i < n; i++) {
    stt += (t[i] - mt) * (t[i] - mt);
    syy += (y[i] - my) * (y[i] - my);
    sty += (t[i] - mt) * (y[i] - my);
  }
  f->slope_per_hour = stt > 0 ? sty / stt : 0;
  f->r2 = stt > 0 && syy > 0 ? (sty * sty) / (stt * syy) : 0;
  uint32_t up = 0, present = y[0] > 0;
  for (uint32_t i = 1; i < n; i++) {
    up += y[i] >= y[i - 1];
    present += y[i] > 0;
  }
  f->nondecreasing = n > 1 ? (double)up / (n - 1) : 0;
  if (old[n - 1] >= 0 && objs[n - 1] > 0) f->old_share = old[n - 1] / objs[n - 1];
  f->present = present;
  if (report_fit_reject(f)) return;
  double age_factor = f->old_share < 0 ? 1.0 : 0.25 + 0.75 * f->old_share;
  f->score = f->slope_per_hour * f->r2 * f->nondecreasing * age_factor;
}

const char *report_fit_reject(const report_fit *f) {
  if (f->n < REPORT_MIN_POINTS) return "fewer than 3 profiles of this process";
  if (f->present < REPORT_MIN_PRESENT) return "holds memory in fewer than 3 profiles";
  if (f->slope_per_hour <= 0) return "not growing: the fitted slope is <= 0";
  if (f->last <= f->first) return "ended no higher than it started";
  if (f->r2 < REPORT_MIN_R2) return "no steady trend: R^2 < 0.2";
  if (f->nondecreasing < REPORT_MIN_NONDECREASING) return "shrank in more than half of the intervals";
  return NULL;
}

static int cmp_suspect(const void *a, const void *b) {
  const report_suspect *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  /* non-suspects (--all): the biggest first */
  double lx = x->nfits ? x->fits[0].last : 0, ly = y->nfits ? y->fits[0].last : 0;
  if (lx != ly) return lx > ly ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

uint32_t report_rank(const report_series *s, int all, report_suspect **out) {
  uint32_t nkeys = s->keys.count;
  report_suspect *sus = pprof_xcalloc(nkeys ? nkeys : 1, sizeof *sus);
  for (uint32_t k = 0; k < nkeys; k++) sus[k].key = k;
  uint32_t *idx = pprof_xmalloc((s->nprofs + 1) * sizeof *idx), *pos = pprof_xmalloc((s->nprofs + 1) * sizeof *pos);
  double *t = pprof_xmalloc((s->nprofs + 1) * 4 * sizeof *t), *y = t + s->nprofs + 1, *objs = y + s->nprofs + 1,
         *old = objs + s->nprofs + 1;
  /* Slots grouped by process (a counting sort), so each process's profile
   * order is computed once. */
  uint32_t *start = pprof_xcalloc(s->nprocs + 1, sizeof *start);
  uint32_t *by_proc = pprof_xmalloc((s->nslots + 1) * sizeof *by_proc);
  for (uint32_t si = 0; si < s->nslots; si++) start[s->slots[si].proc + 1]++;
  for (uint32_t p = 0; p < s->nprocs; p++) start[p + 1] += start[p];
  for (uint32_t si = 0; si < s->nslots; si++) by_proc[start[s->slots[si].proc]++] = si;
  for (uint32_t p = s->nprocs; p > 0; p--) start[p] = start[p - 1];
  start[0] = 0;
  for (uint32_t proc = 0; proc < s->nprocs; proc++) {
    uint32_t n = report_process_profiles(s, proc, idx);
    for (uint32_t i = 0; i < n; i++) pos[idx[i]] = i;
    proc_times(s, idx, n, t);
    for (uint32_t k = start[proc]; k < start[proc + 1]; k++) {
      uint32_t si = by_proc[k];
      const report_slot *sl = &s->slots[si];
      fill(sl, pos, n, y, objs, old);
      report_fit f;
      report_fit_series(t, y, objs, old, n, &f);
      if (f.score <= 0 && !all) continue;
      report_suspect *x = &sus[sl->key];
      x->score += f.score;
      x->slots = pprof_xrealloc(x->slots, (x->nfits + 1) * sizeof *x->slots);
      x->fits = pprof_xrealloc(x->fits, (x->nfits + 1) * sizeof *x->fits);
      /* keep the processes best first */
      uint32_t j = x->nfits++;
      while (j > 0 && (x->fits[j - 1].score < f.score || (x->fits[j - 1].score == f.score && x->fits[j - 1].last < f.last))) {
        x->fits[j] = x->fits[j - 1];
        x->slots[j] = x->slots[j - 1];
        j--;
      }
      x->fits[j] = f;
      x->slots[j] = si;
    }
  }
  free(idx);
  free(pos);
  free(t);
  free(start);
  free(by_proc);
  uint32_t n = 0;
  for (uint32_t k = 0; k < nkeys; k++) {
    if (sus[k].score > 0 || (all && sus[k].nfits))
      sus[n++] = sus[k];
    else {
      free(sus[k].slots);
      free(sus[k].fits);
    }
  }
  qsort(sus, n, sizeof *sus, cmp_suspect);
  *out = sus;
  return n;
}

void report_suspects_free(report_suspect *v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    free(v[i].slots);
    free(v[i].fits);
  }
  free(v);
}

/* Text output of the leak suspects. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES_SHOWN 16

/* "pid 123", or "pid ?" for profiles whose process is unknown. */
const char *report_fmt_pid(int64_t pid, char *buf, size_t n) {
  if (pid < 0)
    snprintf(buf, n, "pid ?");
  else
    snprintf(buf, n, "pid %lld", (long long)pid);
  return buf;
}

void report_fmt_bytes(double b, char *buf, size_t n) {
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  double a = fabs(b);
  while (a >= 1024 && i < 4) {
    a /= 1024;
    b /= 1024;
    i++;
  }
  if (i == 0)
    snprintf(buf, n, "%.0f %s", b, u[i]);
  else
    snprintf(buf, n, "%.1f %s", b, u[i]);
}

void report_fmt_rate(double bytes_per_hour, char *buf, size_t n) {
  char b[32];
  report_fmt_bytes(bytes_per_hour, b, sizeof b);
  snprintf(buf, n, "%s/hour", b);
}

/* Eight block heights, scaled from the series' minimum to its maximum,
 * resampled to at most width columns. */
void report_sparkline(const double *y, uint32_t n, uint32_t width, char *buf, size_t bufn) {
  static const char *bars[] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
                               "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"};
  size_t used = 0;
  buf[0] = 0;
  if (n == 0 || width == 0) return;
  double lo = y[0], hi = y[0];
  for (uint32_t i = 1; i < n; i++) {
    if (y[i] < lo) lo = y[i];
    if (y[i] > hi) hi = y[i];
  }
  uint32_t cols = n < width ? n : width;
  for (uint32_t c = 0; c < cols && used + 4 < bufn; c++) {
    uint32_t a = (uint32_t)((uint64_t)c * n / cols), b = (uint32_t)((uint64_t)(c + 1) * n / cols);
    double v = 0;
    for (uint32_t i = a; i < b; i++) v += y[i];
    v /= (b - a);
    int h = hi > lo ? (int)((v - lo) / (hi - lo) * 7 + 0.5) : 0;
    memcpy(buf + used, bars[h], 3);
    used += 3;
    buf[used] = 0;
  }
}

static void print_stack(FILE *out, const report_stack *st) {
  char t[2048];
  for (uint32_t i = 0; i < st->n && i < MAX_FRAMES_SHOWN; i++) {
    const report_frame *f = &st->f[i];
    if (f->file[0] && f->line > 0) snprintf(t, sizeof t, "%s  %s:%ld", f->fn, f->file, f->line);
    else if (f->file[0]) snprintf(t, sizeof t, "%s  %s", f->fn, f->file);
    else snprintf(t, sizeof t, "%s", f->fn);
    fprintf(out, "      %s\n", t);
  }
  if (st->n > MAX_FRAMES_SHOWN) fprintf(out, "      ... %u more frames toward the root\n", st->n - MAX_FRAMES_SHOWN);
}

const char *report_by_name(report_by by) {
  switch (by) {
  case REPORT_BY_STACK: return "stack";
  case REPORT_BY_FUNCTION: return "function";
  case REPORT_BY_FILE: return "file";
  default: return "class";
  }
}

static const report_series *by_time_series;
static int by_time(const void *a, const void *b) {
  int64_t x = by_time_series->profs[*(const uint32_t *)a].time_nanos,
          y = by_time_series->profs[*(const uint32_t *)b].time_nanos;
  return (x > y) - (x < y);
}

void report_print_sampling_changes(FILE *out, const report_series *s) {
  static const char *const what[2] = {"sample_rate", "heap_sample_probability"};
  uint32_t *order = pprof_xmalloc((s->nprofs + 1) * sizeof *order), printed = 0;
  for (uint32_t proc = 0; proc < s->nprocs; proc++) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nprofs; i++)
      if (s->profs[i].proc == proc) order[n++] = i;
    by_time_series = s;
    qsort(order, n, sizeof *order, by_time);
    for (uint32_t i = 1; i < n; i++) {
      const report_profile_info *a = &s->profs[order[i - 1]], *b = &s->profs[order[i]];
      double from[2] = {a->sample_rate, a->heap_probability}, to[2] = {b->sample_rate, b->heap_probability};
      for (int k = 0; k < 2; k++) {
        char pid[32];
        if (from[k] < 0 || to[k] < 0 || from[k] == to[k]) continue;
        if (printed++ == 0)
          fprintf(out, "Sampling changed within a process (estimates stay unbiased; fewer samples, more noise):\n");
        fprintf(out, "  %s: %s %g -> %g from profile %u of %u (%s)\n", report_fmt_pid(s->procs[proc].pid, pid, sizeof pid),
                what[k], from[k], to[k], i + 1, n, b->path);
      }
    }
  }
  free(order);
}

void report_print_leaks(FILE *out, const report_series *s, const report_suspect *sus, uint32_t nsus, uint32_t top) {
  double *t = pprof_xmalloc((s->nprofs + 1) * 4 * sizeof *t), *y = t + s->nprofs + 1, *objs = y + s->nprofs + 1,
         *old = objs + s->nprofs + 1;
  fprintf(out, "%u profiles from %u process%s, grouped by %s.\n", s->nprofs, s->nprocs, s->nprocs == 1 ? "" : "es",
          report_by_name(s->by));
  report_print_sampling_changes(out, s);
  if (nsus == 0) {
    fprintf(out, "No suspects: no %s's retained size grew steadily (see rmp-report --help for the criteria).\n",
            report_by_name(s->by));
    free(t);
    return;
  }
  fprintf(out, "Suspects, by sustained growth of retained bytes (score = slope x R^2 x non-decreasing x age):\n");
  for (uint32_t i = 0; i < nsus && i < top; i++) {
    const report_suspect *x = &sus[i];
    char title[1024], a[32], b[32], sl[64], sp[256];
    report_suspect_title(s, x->key, title, sizeof title);
    fprintf(out, "\n#%u  %s\n", i + 1, title);
    const report_fit *f = &x->fits[0];
    char sc[64];
    report_fmt_bytes(f->slope_per_hour, sl, sizeof sl);
    report_fmt_rate(x->score, sc, sizeof sc);
    fprintf(out, "    score %s: grows %s/hour, R^2 %.2f, %.0f%% of intervals non-decreasing", sc, sl, f->r2,
            100 * f->nondecreasing);
    if (f->old_share >= 0) fprintf(out, ", %.0f%% of objects old", 100 * f->old_share);
    fputc('\n', out);
    for (uint32_t j = 0; j < x->nfits && j < 4; j++) {
      const report_slot *slot = &s->slots[x->slots[j]];
      uint32_t n = report_slot_series(s, slot, t, y, objs, old);
      report_sparkline(y, n, 40, sp, sizeof sp);
      report_fmt_bytes(x->fits[j].first, a, sizeof a);
      report_fmt_bytes(x->fits[j].last, b, sizeof b);
      char pid[32];
      fprintf(out, "    %-11s %s  %s -> %s over %u profiles (%.0f -> %.0f objects)\n",
              report_fmt_pid(s->procs[slot->proc].pid, pid, sizeof pid), sp, a, b, n, objs[0], objs[n - 1]);
      /* Bytes that grow while the objects stay the same: one collection
       * (a Hash, an Array, a String buffer) that keeps getting bigger. */
      if (j == 0 && n > 1 && objs[0] > 0 && objs[n - 1] <= objs[0] * 1.1 && y[n - 1] > 2 * y[0])
        fprintf(out, "    note: the same objects keep growing: a collection (Hash, Array, String) that is never pruned\n");
    }
    if (x->nfits > 4) fprintf(out, "    ... and %u more growing processes\n", x->nfits - 4);
    uint32_t cls[4];
    double cb[4];
    uint32_t nc = report_series_classes(s, x->key, cls, cb, 4);
    double tot = 0;
    for (uint32_t j = 0; j < nc; j++) tot += cb[j];
    fprintf(out, "    classes:");
    for (uint32_t j = 0; j < nc; j++)
      fprintf(out, "%s %s (%.0f%%)", j ? "," : "", pprof_strings_get(&s->names, cls[j]),
              tot > 0 ? 100 * cb[j] / tot : 0);
    fputc('\n', out);
    fprintf(out, "    %s:\n", s->by == REPORT_BY_STACK ? "stack (leaf first)" : "heaviest stack (leaf first)");
    report_stack st;
    report_key_stack(s, x->key, &st);
    print_stack(out, &st);
    report_stack_free(&st);
  }
  if (nsus > top) fprintf(out, "\n(%u more suspects; use --top N to see them)\n", nsus - top);
  free(t);
}

/* --all: the biggest keys that are not suspects, each with the reason. */
void report_print_rejected(FILE *out, const report_series *s, const report_suspect *v, uint32_t n, uint32_t top) {
  double *t = pprof_xmalloc((s->nprofs + 1) * 4 * sizeof *t), *y = t + s->nprofs + 1, *objs = y + s->nprofs + 1,
         *old = objs + s->nprofs + 1;
  fprintf(out, "\nNot suspects (--all), biggest first:\n");
  for (uint32_t i = 0; i < n && i < top; i++) {
    const report_fit *f = &v[i].fits[0];
    char title[1024], a[32], b[32], sl[64], sp[256];
    report_suspect_title(s, v[i].key, title, sizeof title);
    const report_slot *slot = &s->slots[v[i].slots[0]];
    uint32_t np = report_slot_series(s, slot, t, y, objs, old);
    report_sparkline(y, np, 40, sp, sizeof sp);
    report_fmt_bytes(f->first, a, sizeof a);
    report_fmt_bytes(f->last, b, sizeof b);
    report_fmt_bytes(f->slope_per_hour, sl, sizeof sl);
    const char *why = report_fit_reject(f);
    fprintf(out, "\n-   %s\n    %s\n    slope %s/hour, R^2 %.2f, %.0f%% of intervals non-decreasing", title,
            why ? why : "", sl, f->r2, 100 * f->nondecreasing);
    if (f->old_share >= 0) fprintf(out, ", %.0f%% of objects old", 100 * f->old_share);
    char pid[32];
    fprintf(out, "\n    %-11s %s  %s -> %s over %u profiles\n", report_fmt_pid(s->procs[slot->proc].pid, pid, sizeof pid),
            sp, a, b, np);
  }
  if (n > top) fprintf(out, "\n(%u more)\n", n - top);
  free(t);
}

/* One function per (name, file), where a file given as a relative path and
 * the same file given as an absolute one count as one file: Ruby reports
 * the main script by the path it was started with ("script.rb") in some
 * frames and by its absolute path ("/app/script.rb") in others.
 *
 * The rule, per profile: among functions of the same name, a file that is
 * a path suffix of others ("script.rb" of "/app/script.rb", at a '/') is
 * renamed to the longest of them, when they all lead to one file. Two
 * different files that merely end alike ("/a/x.rb", "/b/x.rb") stay apart,
 * and so does a short name that fits both. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static const pprof_profile *sort_p; /* qsort has no context argument in C99 */

static int by_name_then_longer_file(const void *a, const void *b) {
  const pprof_function *x = &sort_p->functions[*(const uint32_t *)a], *y = &sort_p->functions[*(const uint32_t *)b];
  int c = strcmp(pprof_str(sort_p, x->name), pprof_str(sort_p, y->name));
  if (c) return c;
  size_t lx = strlen(pprof_str(sort_p, x->filename)), ly = strlen(pprof_str(sort_p, y->filename));
  if (lx != ly) return lx > ly ? -1 : 1;
  return strcmp(pprof_str(sort_p, x->filename), pprof_str(sort_p, y->filename));
}

/* long ends with "/" + short */
static int path_suffix(const char *shrt, const char *lng) {
  size_t a = strlen(shrt), b = strlen(lng);
  return a > 0 && b > a && lng[b - a - 1] == '/' && strcmp(lng + b - a, shrt) == 0;
}

int64_t *report_function_files(const pprof_profile *p) {
  uint32_t n = p->nfunctions;
  int64_t *files = pprof_xmalloc((n + 1) * sizeof *files);
  uint32_t *order = pprof_xmalloc((n + 1) * sizeof *order);
  for (uint32_t i = 0; i < n; i++) {
    files[i] = p->functions[i].filename;
    order[i] = i;
  }
  sort_p = p;
  qsort(order, n, sizeof *order, by_name_then_longer_file);
  for (uint32_t i = 0; i < n;) {
    uint32_t end = i + 1;
    const char *name = pprof_str(p, p->functions[order[i]].name);
    while (end < n && strcmp(pprof_str(p, p->functions[order[end]].name), name) == 0) end++;
    /* longer files first, so each one's target is settled before it is
     * asked for */
    for (uint32_t k = i + 1; k < end; k++) {
      const char *f = pprof_str(p, p->functions[order[k]].filename);
      int64_t target = -1;
      int ambiguous = 0;
      for (uint32_t j = i; j < k; j++) {
        if (!path_suffix(f, pprof_str(p, p->functions[order[j]].filename))) continue;
        int64_t t = files[order[j]];
        if (target >= 0 && strcmp(pprof_str(p, t), pprof_str(p, target)) != 0) ambiguous = 1;
        target = t;
      }
      if (target >= 0 && !ambiguous) files[order[k]] = target;
    }
    i = end;
  }
  free(order);
  return files;
}

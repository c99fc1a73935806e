/* The top command: flat and cumulative tables by function, like
 * go tool pprof -top. Flat counts a sample once, at its leaf function; cum
 * counts it once for every distinct function on its stack. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

typedef struct row { uint32_t name; int64_t flat, cum; } row;

static int cmp_flat(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (x->flat != y->flat) return x->flat > y->flat ? -1 : 1;
  if (x->cum != y->cum) return x->cum > y->cum ? -1 : 1;
  return (x->name > y->name) - (x->name < y->name);
}
static int cmp_cum(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (x->cum != y->cum) return x->cum > y->cum ? -1 : 1;
  return cmp_flat(a, b);
}

static void table(const char *title, row *rows, uint32_t n, const pprof_strings *names, int64_t total, long nodes,
                  int by_cum, const char *unit) {
  qsort(rows, n, sizeof *rows, by_cum ? cmp_cum : cmp_flat);
  printf("\n%s (%s):\n%14s %7s %7s %14s %7s  %s\n", title, unit, "flat", "flat%", "sum%", "cum", "cum%", "function");
  int64_t sum = 0;
  for (uint32_t i = 0; i < n && i < (uint32_t)nodes; i++) {
    sum += rows[i].flat;
    double d = total ? (double)total : 1;
    printf("%14lld %6.2f%% %6.2f%% %14lld %6.2f%%  %s\n", (long long)rows[i].flat, 100.0 * (double)rows[i].flat / d,
           100.0 * (double)sum / d, (long long)rows[i].cum, 100.0 * (double)rows[i].cum / d,
           pprof_strings_get(names, rows[i].name));
  }
  if (n > (uint32_t)nodes) printf("(%u more functions; --nodecount N shows more)\n", n - (uint32_t)nodes);
}

int report_cmd_top(int argc, char **argv) {
  const char *file = NULL, *type = NULL;
  long nodes = 20;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--sample-type=", 14) == 0) type = a + 14;
    else if (strcmp(a, "--sample-type") == 0 && i + 1 < argc) type = argv[++i];
    else if ((strcmp(a, "--nodecount") == 0 && i + 1 < argc) || strncmp(a, "--nodecount=", 12) == 0) {
      char *end;
      const char *v = a[11] == '=' ? a + 12 : argv[++i];
      nodes = strtol(v, &end, 10);
      if (*end || nodes <= 0) {
        fprintf(stderr, "rmp-report top: --nodecount takes a positive number\n");
        return 2;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "rmp-report top: unknown option %s\n", a);
      return 2;
    } else if (file) {
      fprintf(stderr, "rmp-report top: one file at a time (merge them first with rmp-report merge)\n");
      return 2;
    } else file = a;
  }
  if (!file) {
    fprintf(stderr, "usage: rmp-report top FILE [--sample-type TYPE] [--nodecount N]\n");
    return 2;
  }
  pprof_profile p;
  char err[1024];
  if (pprof_decode_file(file, PPROF_SUM_SAMPLES, &p, err, sizeof err) != 0) {
    fprintf(stderr, "rmp-report: %s: %s\n", file, err);
    return 1;
  }
  int ti = type ? pprof_type_index(&p, type) : pprof_default_type(&p);
  if (ti < 0) {
    char types[512];
    pprof_types_text(&p, types, sizeof types);
    fprintf(stderr, "rmp-report: %s: no sample type '%s' (it has: %s)\n", file, type, types);
    pprof_profile_free(&p);
    return 1;
  }
  /* Functions are keyed by "name (file)" so that same-named methods of
   * different files stay apart, as pprof's function granularity does. */
  pprof_strings names;
  pprof_strings_init(&names);
  row *rows = NULL;
  uint32_t nrows = 0, cap = 0;
  uint32_t *fn_row = pprof_xmalloc((p.nfunctions + 1) * sizeof *fn_row);
  for (uint32_t i = 0; i < p.nfunctions; i++) {
    char buf[4096];
    const char *fname = pprof_str(&p, p.functions[i].filename);
    snprintf(buf, sizeof buf, fname[0] ? "%s (%s)" : "%s", pprof_str(&p, p.functions[i].name), fname);
    uint32_t id = pprof_strings_intern(&names, buf, strlen(buf));
    while (nrows <= id) {
      row z = {nrows, 0, 0};
      PPROF_PUSH(rows, nrows, cap, z);
    }
    fn_row[i] = id;
  }
  uint32_t *mark = pprof_xcalloc(nrows + 1, sizeof *mark);
  int64_t total = 0;
  for (uint32_t i = 0; i < p.nsamples; i++) {
    const pprof_sample *s = &p.samples[i];
    int64_t v = p.values[s->val_off + (uint32_t)ti];
    total += v;
    int leaf = 1;
    for (uint32_t j = 0; j < s->nloc; j++) {
      const pprof_location *l = pprof_find_location(&p, p.location_ids[s->loc_off + j]);
      for (uint32_t k = 0; k < l->nlines; k++) {
        uint32_t r = fn_row[pprof_find_function(&p, p.lines[l->line_off + k].function_id) - p.functions];
        if (leaf) rows[r].flat += v;
        leaf = 0;
        if (mark[r] != i + 1) {
          mark[r] = i + 1;
          rows[r].cum += v;
        }
      }
    }
  }
  printf("%s: %s (%s), total %lld in %u samples\n", file, pprof_str(&p, p.types[ti].type),
         pprof_str(&p, p.types[ti].unit), (long long)total, p.nsamples);
  table("Flat, by function", rows, nrows, &names, total, nodes, 0, pprof_str(&p, p.types[ti].unit));
  table("Cumulative, by function", rows, nrows, &names, total, nodes, 1, pprof_str(&p, p.types[ti].unit));
  free(rows);
  free(mark);
  free(fn_row);
  pprof_strings_free(&names);
  pprof_profile_free(&p);
  return 0;
}

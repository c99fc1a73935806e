/* The top command: flat and cumulative tables by function, like
 * go tool pprof -top. Flat counts a sample once, at its leaf function; cum
 * counts it once for every distinct function on its stack. Functions are
 * (name, file) pairs, with a file's relative and absolute spellings made
 * one (funcs.c). */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: rmp-report top FILE [OPTIONS]\n"
    "\n"
    "Flat and cumulative tables by function for one sample type, with values\n"
    "labelled as go tool pprof -top labels them (1.50MB, 12.34kB; counts plain).\n"
    "A function is a name and a file; a file that is a path suffix of another for\n"
    "the same name (script.rb, /app/script.rb) is the same.\n"
    "\n"
    "Options:\n"
    "  --sample-type=TYPE   the sample type (default: the profile's default_sample_type)\n"
    "  --nodecount=N        show N functions (default 20)\n"
    "  --format=text|json   output format (default text); json: the functions by\n"
    "                       flat value, with function, file, flat and cum (raw values)\n"
    "  -h, --help           this help\n";

enum { OPT_TYPE = 0x100, OPT_NODES, OPT_FORMAT };
static const struct option longopts[] = {{"sample-type", required_argument, NULL, OPT_TYPE},
                                         {"nodecount", required_argument, NULL, OPT_NODES},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
const report_command report_top_command = {"top", help, "", longopts};

typedef struct row { uint32_t name; int64_t flat, cum; } row; /* name: "function\0file" */

typedef struct table {
  const char *file, *type, *unit;
  row *rows; uint32_t nrows;
  pprof_strings names;
  int64_t total;
  uint32_t nsamples;
} table;

static const char *row_function(const table *t, const row *r) { return pprof_strings_get(&t->names, r->name); }
static const char *row_file(const table *t, const row *r) {
  const char *fn = row_function(t, r);
  return fn + strlen(fn) + 1;
}

/* "function (file)", as go tool pprof names a node by function */
static void row_name(const table *t, const row *r, char *buf, size_t n) {
  if (row_file(t, r)[0]) snprintf(buf, n, "%s (%s)", row_function(t, r), row_file(t, r));
  else snprintf(buf, n, "%s", row_function(t, r));
}

/* go tool pprof's orders (FlatNameOrder, CumNameOrder): by value, then by
 * name; qsort has no context argument in C99. */
static const table *sort_table;
static int cmp_name(const row *x, const row *y) {
  char a[4200], b[4200];
  row_name(sort_table, x, a, sizeof a);
  row_name(sort_table, y, b, sizeof b);
  return strcmp(a, b);
}
static int cmp_flat(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (llabs(x->flat) != llabs(y->flat)) return llabs(x->flat) > llabs(y->flat) ? -1 : 1;
  int c = cmp_name(x, y);
  if (c) return c;
  return (llabs(x->cum) < llabs(y->cum)) - (llabs(x->cum) > llabs(y->cum));
}
static int cmp_cum(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (llabs(x->cum) != llabs(y->cum)) return llabs(x->cum) > llabs(y->cum) ? -1 : 1;
  int c = cmp_name(x, y);
  if (c) return c;
  return (llabs(x->flat) < llabs(y->flat)) - (llabs(x->flat) > llabs(y->flat));
}

static void sort_rows(table *t, int by_cum) {
  sort_table = t;
  qsort(t->rows, t->nrows, sizeof *t->rows, by_cum ? cmp_cum : cmp_flat);
}

static void print_table(const char *title, table *t, long nodes, int by_cum) {
  sort_rows(t, by_cum);
  printf("\n%s (%s):\n%10s %5s%% %5s%% %10s %5s%%  %s\n", title, t->unit, "flat", "flat", "sum", "cum", "cum",
         "function");
  int64_t sum = 0, min = 0;
  for (uint32_t i = 0; i < t->nrows && i < (uint32_t)nodes; i++) {
    int64_t v = llabs(t->rows[i].flat) ? llabs(t->rows[i].flat) : llabs(t->rows[i].cum);
    if (v > 0 && (min == 0 || v < min)) min = v;
  }
  char unit[32];
  report_pprof_output_unit(min, t->total, t->unit, unit, sizeof unit);
  for (uint32_t i = 0; i < t->nrows && i < (uint32_t)nodes; i++) {
    const row *r = &t->rows[i];
    char flat[64], cum[64], fp[16], sp[16], cp[16], name[4200];
    sum += r->flat;
    report_pprof_label(r->flat, t->unit, unit, flat, sizeof flat);
    report_pprof_label(r->cum, t->unit, unit, cum, sizeof cum);
    report_pprof_percent(r->flat, t->total, fp, sizeof fp);
    report_pprof_percent(sum, t->total, sp, sizeof sp);
    report_pprof_percent(r->cum, t->total, cp, sizeof cp);
    row_name(t, r, name, sizeof name);
    printf("%10s %s %s %10s %s  %s\n", flat, fp, sp, cum, cp, name);
  }
  if (t->nrows > (uint32_t)nodes) printf("(%u more functions; --nodecount N shows more)\n", t->nrows - (uint32_t)nodes);
}

static void print_json(table *t, long nodes) {
  sort_rows(t, 0);
  printf("{\"tool\":\"rmp-report\",\"version\":");
  report_json_str(stdout, report_version);
  printf(",\"command\":\"top\",\"file\":");
  report_json_str(stdout, t->file);
  printf(",\"sample_type\":");
  report_json_str(stdout, t->type);
  printf(",\"unit\":");
  report_json_str(stdout, t->unit);
  printf(",\"total\":%lld,\"samples\":%u,\"function_count\":%u,\"functions\":[", (long long)t->total, t->nsamples,
         t->nrows);
  for (uint32_t i = 0; i < t->nrows && i < (uint32_t)nodes; i++) {
    const row *r = &t->rows[i];
    printf("%s\n{\"function\":", i ? "," : "");
    report_json_str(stdout, row_function(t, r));
    printf(",\"file\":");
    report_json_str(stdout, row_file(t, r));
    printf(",\"flat\":%lld,\"cum\":%lld}", (long long)r->flat, (long long)r->cum);
  }
  printf("]}\n");
}

/* The rows of sample type ti: one per function. */
static void fill(table *t, const pprof_profile *p, int ti) {
  uint32_t cap = 0;
  int64_t *files = report_function_files(p);
  uint32_t *fn_row = pprof_xmalloc((p->nfunctions + 1) * sizeof *fn_row);
  for (uint32_t i = 0; i < p->nfunctions; i++) {
    /* name and file joined by a NUL, which neither holds */
    const char *name = pprof_str(p, p->functions[i].name), *file = pprof_str(p, files[i]);
    size_t a = strlen(name), b = strlen(file);
    char *key = pprof_xmalloc(a + b + 2);
    memcpy(key, name, a + 1);
    memcpy(key + a + 1, file, b + 1);
    uint32_t id = pprof_strings_intern(&t->names, key, a + b + 1);
    free(key);
    while (t->nrows <= id) {
      row z = {t->nrows, 0, 0};
      PPROF_PUSH(t->rows, t->nrows, cap, z);
    }
    fn_row[i] = id;
  }
  uint32_t *mark = pprof_xcalloc(t->nrows + 1, sizeof *mark);
  for (uint32_t i = 0; i < p->nsamples; i++) {
    const pprof_sample *s = &p->samples[i];
    int64_t v = p->values[s->val_off + (uint32_t)ti];
    t->total += v;
    int leaf = 1;
    for (uint32_t j = 0; j < s->nloc; j++) {
      const pprof_location *l = pprof_find_location(p, p->location_ids[s->loc_off + j]);
      for (uint32_t k = 0; k < l->nlines; k++) {
        uint32_t r = fn_row[pprof_find_function(p, p->lines[l->line_off + k].function_id) - p->functions];
        if (leaf) t->rows[r].flat += v;
        leaf = 0;
        if (mark[r] != i + 1) {
          mark[r] = i + 1;
          t->rows[r].cum += v;
        }
      }
    }
  }
  t->nsamples = p->nsamples;
  free(mark);
  free(fn_row);
  free(files);
}

int report_cmd_top(int argc, char **argv) {
  const report_command *cmd = &report_top_command;
  const char *type = NULL;
  long nodes = 20;
  report_format format = REPORT_TEXT;
  int c;
  while ((c = report_next_option(cmd, argc, argv)) != -1) {
    switch (c) {
    case OPT_TYPE: type = optarg; break;
    case OPT_NODES: if (report_parse_count(cmd, "--nodecount", optarg, &nodes)) return REPORT_EXIT_USAGE; break;
    case OPT_FORMAT: if (report_parse_format(cmd, optarg, &format)) return REPORT_EXIT_USAGE; break;
    case REPORT_OPT_HELP: return REPORT_EXIT_OK;
    default: return REPORT_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "usage: rmp-report top FILE [--sample-type TYPE] [--nodecount N] [--format text|json]\n");
    return REPORT_EXIT_USAGE;
  }
  if (optind + 1 < argc) {
    fprintf(stderr, "rmp-report top: one file at a time (merge them first with rmp-report merge)\n");
    return REPORT_EXIT_USAGE;
  }
  const char *file = argv[optind];
  pprof_profile p;
  char err[1024];
  if (pprof_decode_file(file, PPROF_SUM_SAMPLES, &p, err, sizeof err) != 0) {
    fprintf(stderr, "rmp-report: %s: %s\n", file, err);
    return REPORT_EXIT_INPUT;
  }
  int ti = type ? pprof_type_index(&p, type) : pprof_default_type(&p);
  if (ti < 0) {
    char types[512];
    pprof_types_text(&p, types, sizeof types);
    fprintf(stderr, "rmp-report: %s: no sample type '%s' (it has: %s)\n", file, type, types);
    pprof_profile_free(&p);
    return REPORT_EXIT_INPUT;
  }
  table t;
  memset(&t, 0, sizeof t);
  pprof_strings_init(&t.names);
  t.file = file;
  t.type = pprof_str(&p, p.types[ti].type);
  t.unit = pprof_str(&p, p.types[ti].unit);
  fill(&t, &p, ti);
  if (format == REPORT_JSON) {
    print_json(&t, nodes);
  } else {
    char total[64];
    report_pprof_label(t.total, t.unit, "auto", total, sizeof total);
    printf("%s: %s (%s), total %s in %u samples\n", file, t.type, t.unit, total, t.nsamples);
    print_table("Flat, by function", &t, nodes, 0);
    print_table("Cumulative, by function", &t, nodes, 1);
  }
  free(t.rows);
  pprof_strings_free(&t.names);
  pprof_profile_free(&p);
  return REPORT_EXIT_OK;
}

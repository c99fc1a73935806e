/* Values labelled as go tool pprof labels them (its internal/measurement
 * package: ScaledLabel with "auto", and Percentage), so that rmp-report top
 * reads like go tool pprof -top: 1.50MB, 12.34kB, 250ms; counts plain. */
#include "report.h"

#include <math.h>
#include <string.h>

typedef struct unit { const char *name; const char *aliases[4]; double factor; } unit;

static const unit memory[] = {{"B", {"b", "byte"}, 1},
                              {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
                              {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0},
                              {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
                              {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
                              {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0},
                              {NULL, {NULL}, 0}};
static const unit times[] = {{"ns", {"ns", "nanosecond"}, 1},
                             {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
                             {"ms", {"ms", "millisecond"}, 1e6},
                             {"s", {"s", "sec", "second"}, 1e9},
                             {"hrs", {"hour", "hr"}, 3.6e12},
                             {NULL, {NULL}, 0}};

/* pprof's sniffUnit: lower case, a plural 's' dropped from names longer
 * than two letters, then the aliases. */
static const unit *sniff(const unit *family, const char *name) {
  char u[64];
  size_t n = strlen(name);
  if (n >= sizeof u) return NULL;
  for (size_t i = 0; i <= n; i++) u[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
  if (n > 2 && u[n - 1] == 's') u[n - 1] = 0;
  for (const unit *f = family; f->name; f++)
    for (int a = 0; a < 4 && f->aliases[a]; a++)
      if (strcmp(u, f->aliases[a]) == 0) return f;
  return NULL;
}

/* The biggest unit in which the value is >= 1, else the family's first
 * (pprof's default unit for memory, B; for time it is s). */
static double autoscale(const unit *family, const unit *dflt, double v, const char **name) {
  const unit *best = NULL;
  for (const unit *f = family; f->name; f++)
    if (v / f->factor >= 1.0 && (!best || f->factor >= best->factor)) best = f;
  if (!best) best = dflt;
  *name = best->name;
  return v / best->factor;
}

void report_pprof_label(int64_t value, const char *unit_name, char *buf, size_t n) {
  int neg = value < 0 && -value > 0;
  double v = neg ? -(double)value : (double)value;
  const char *suffix = "";
  const unit *u;
  if ((u = sniff(memory, unit_name)) != NULL) v = autoscale(memory, &memory[0], v * u->factor, &suffix);
  else if ((u = sniff(times, unit_name)) != NULL) v = autoscale(times, &times[3], v * u->factor, &suffix);
  char num[64];
  snprintf(num, sizeof num, "%s%.2f", neg ? "-" : "", v);
  size_t len = strlen(num);
  if (len > 3 && strcmp(num + len - 3, ".00") == 0) num[len - 3] = 0;
  if (strcmp(num, "0") == 0 || strcmp(num, "-0") == 0) snprintf(buf, n, "0");
  else snprintf(buf, n, "%s%s", num, suffix);
}

void report_pprof_percent(int64_t value, int64_t total, char *buf, size_t n) {
  double r = total != 0 ? fabs((double)value / (double)total) * 100 : 0;
  if (r >= 99.95 && r <= 100.05) snprintf(buf, n, "  100%%");
  else if (r >= 1.0) snprintf(buf, n, "%5.2f%%", r);
  else snprintf(buf, n, "%5.2g%%", r);
}

/* Values labelled as go tool pprof labels them (its internal/measurement
 * package: ScaledLabel with "auto", and Percentage), so that rmp-report top
 * reads like go tool pprof -top: one unit per table (7168kB, 1722.71kB),
 * 250ms; counts plain. */
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

/* pprof's Scale: value in from_unit converted to to_unit of its family
 * ("minimum" and "auto": the best unit); *name is the unit, "" for counts
 * and other units pprof does not scale. */
static double scale(int64_t value, const char *from, const char *to, const char **name) {
  if (value < 0 && value != INT64_MIN) return -scale(-value, from, to, name); /* pprof's guard, without overflow */
  static const unit *const families[] = {memory, times};
  static const unit *const defaults[] = {&memory[0], &times[3]};
  for (int k = 0; k < 2; k++) {
    const unit *u = sniff(families[k], from);
    if (!u) continue;
    double v = (double)value * u->factor;
    if (strcmp(to, "minimum") == 0 || strcmp(to, "auto") == 0) return autoscale(families[k], defaults[k], v, name);
    const unit *t = sniff(families[k], to);
    if (!t) t = defaults[k];
    *name = t->name;
    return v / t->factor;
  }
  static const char *const plain[] = {"count", "sample", "unit", "minimum", "auto"};
  *name = to;
  for (int i = 0; i < 5; i++)
    if (strcmp(to, plain[i]) == 0) *name = "";
  return (double)value;
}

void report_pprof_label(int64_t value, const char *from, const char *to, char *buf, size_t n) {
  const char *suffix;
  double v = scale(value, from, to, &suffix);
  char num[64];
  snprintf(num, sizeof num, "%.2f", v);
  size_t len = strlen(num);
  if (len > 3 && strcmp(num + len - 3, ".00") == 0) num[len - 3] = 0;
  if (strcmp(num, "0") == 0 || strcmp(num, "-0") == 0) snprintf(buf, n, "0");
  else snprintf(buf, n, "%s%s", num, suffix);
}

/* pprof's selectOutputUnit: one unit for a whole table, that of the
 * smallest nonzero value shown, unless the total's unit differs and is
 * more than 100 times bigger: then the unit of 100 x that value. */
void report_pprof_output_unit(int64_t min_value, int64_t total, const char *sample_unit, char *buf, size_t n) {
  const char *umin, *umax, *u;
  if (min_value == 0) min_value = total;
  scale(min_value, sample_unit, "minimum", &umin);
  scale(total, sample_unit, "minimum", &umax);
  u = umin;
  if (strcmp(umin, umax) != 0 && min_value * 100 < total) scale(100 * min_value, sample_unit, "minimum", &u);
  snprintf(buf, n, "%s", u[0] ? u : sample_unit);
}

void report_pprof_percent(int64_t value, int64_t total, char *buf, size_t n) {
  double r = total != 0 ? fabs((double)value / (double)total) * 100 : 0;
  if (r >= 99.95 && r <= 100.05) snprintf(buf, n, "  100%%");
  else if (r >= 1.0) snprintf(buf, n, "%5.2f%%", r);
  else snprintf(buf, n, "%5.2g%%", r);
}

/* leaks --format json: one object with the run's facts and the suspects,
 * each with what the text report says (scores and slopes in bytes/hour). */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static void frame_obj(FILE *o, const report_frame *f) {
  fputs("{", o);
  report_json_key(o, "function");
  report_json_str(o, f->fn);
  fputs(",", o);
  report_json_key(o, "file");
  report_json_str(o, f->file);
  fputs(",", o);
  report_json_key(o, "line");
  fprintf(o, "%ld}", f->line);
}

static void num_field(FILE *o, const char *key, double v) {
  fputs(",", o);
  report_json_key(o, key);
  report_json_num(o, v);
}

static void str_field(FILE *o, const char *key, const char *v) {
  fputs(",", o);
  report_json_key(o, key);
  report_json_str(o, v);
}

static void processes(FILE *o, const report_series *s, const report_suspect *x) {
  fputs(",\"processes\":[", o);
  for (uint32_t j = 0; j < x->nfits; j++) {
    const report_fit *f = &x->fits[j];
    int64_t pid = s->procs[s->slots[x->slots[j]].proc].pid;
    fputs(j ? ",{\"pid\":" : "{\"pid\":", o);
    if (pid < 0) fputs("null", o);
    else fprintf(o, "%lld", (long long)pid);
    num_field(o, "score", f->score);
    num_field(o, "slope_bytes_per_hour", f->slope_per_hour);
    num_field(o, "r2", f->r2);
    num_field(o, "first_bytes", f->first);
    num_field(o, "last_bytes", f->last);
    fprintf(o, ",\"profiles\":%u}", f->n);
  }
  fputs("]", o);
}

static void suspect_obj(FILE *o, const report_series *s, const report_suspect *x, uint32_t rank) {
  char title[1024], label[2048], cmd[8192];
  report_suspect_title(s, x->key, title, sizeof title);
  report_suspect_label(s, x->key, label, sizeof label);
  report_pprof_command(s, x, cmd, sizeof cmd);
  report_stack st;
  report_key_stack(s, x->key, &st);
  static const report_frame none = {"", "", 0};
  const report_frame *site = st.n ? &st.f[st.site] : &none;
  const report_fit *f = &x->fits[0];
  double share;
  const char *cls = report_main_class(s, x->key, &share);

  fprintf(o, "{\"rank\":%u", rank);
  str_field(o, "title", title);
  str_field(o, "label", label);
  str_field(o, "function", site->fn);
  str_field(o, "file", site->file);
  fprintf(o, ",\"line\":%ld", site->line);
  str_field(o, "class", cls);
  num_field(o, "class_share", share);
  num_field(o, "score", x->score);
  /* the most growing process's fit, as the text report's first line */
  num_field(o, "slope_bytes_per_hour", f->slope_per_hour);
  num_field(o, "r2", f->r2);
  num_field(o, "nondecreasing", f->nondecreasing);
  fputs(",\"old_share\":", o);
  if (f->old_share < 0) fputs("null", o);
  else report_json_num(o, f->old_share);
  num_field(o, "first_bytes", f->first);
  num_field(o, "last_bytes", f->last);
  processes(o, s, x);
  uint32_t cl[8];
  double cb[8], tot = 0;
  uint32_t nc = report_series_classes(s, x->key, cl, cb, 8);
  for (uint32_t j = 0; j < nc; j++) tot += cb[j];
  fputs(",\"classes\":[", o);
  for (uint32_t j = 0; j < nc; j++) {
    fputs(j ? ",{" : "{", o);
    report_json_key(o, "name");
    report_json_str(o, pprof_strings_get(&s->names, cl[j]));
    num_field(o, "share", tot > 0 ? cb[j] / tot : 0);
    fputs("}", o);
  }
  fputs("]", o);
  str_field(o, "stack_kind", s->by == REPORT_BY_STACK ? "key" : "heaviest");
  fputs(",\"stack\":[", o);
  for (uint32_t j = 0; j < st.n; j++) {
    if (j) fputs(",", o);
    frame_obj(o, &st.f[j]);
  }
  fputs("]", o);
  str_field(o, "last_profile", report_suspect_last_profile(s, x));
  str_field(o, "pprof_command", cmd);
  fputs("}", o);
  report_stack_free(&st);
}

void report_print_leaks_json(FILE *o, const report_series *s, const report_suspect *sus, uint32_t nsus, uint32_t top,
                             double fail_above) {
  fputs("{\"tool\":\"rmp-report\"", o);
  str_field(o, "version", report_version);
  str_field(o, "command", "leaks");
  str_field(o, "by", report_by_name(s->by));
  fprintf(o, ",\"profiles\":%u,\"processes\":%u", s->nprofs, s->nprocs);
  str_field(o, "score_unit", "bytes/hour");
  fputs(",\"fail_above\":", o);
  if (fail_above < 0) fputs("null", o);
  else report_json_num(o, fail_above);
  fprintf(o, ",\"suspect_count\":%u,\"suspects\":[", nsus);
  for (uint32_t i = 0; i < nsus && i < top; i++) {
    fputs(i ? ",\n" : "\n", o);
    suspect_obj(o, s, &sus[i], i + 1);
  }
  /* the ones --top left off, briefly */
  fputs("],\n\"left_off\":[", o);
  for (uint32_t i = top; i < nsus; i++) {
    char title[1024], label[2048];
    report_suspect_title(s, sus[i].key, title, sizeof title);
    report_suspect_label(s, sus[i].key, label, sizeof label);
    fprintf(o, "%s{\"rank\":%u", i > top ? "," : "", i + 1);
    str_field(o, "title", title);
    str_field(o, "label", label);
    num_field(o, "score", sus[i].score);
    fputs("}", o);
  }
  fputs("]}\n", o);
}

/* What the printers (text, JSON, HTML) say about a suspect: its stack as
 * frames, the frame that names it, a label that tells it apart from
 * suspects of the same name, and a pprof command that shows it. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

int report_native_file(const char *f) {
  return f[0] == 0 || strncmp(f, "<internal:", 10) == 0 || strcmp(f, "<cfunc>") == 0;
}

void report_stack_parse(const char *text, report_stack *st) {
  memset(st, 0, sizeof *st);
  st->buf = pprof_xstrdup(text);
  uint32_t cap = 0;
  for (char *p = st->buf; *p;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    report_frame f = {p, "", 0};
    char *t1 = strchr(p, '\t');
    if (t1) {
      *t1 = 0;
      f.file = t1 + 1;
      char *t2 = strchr(t1 + 1, '\t');
      if (t2) {
        *t2 = 0;
        f.line = strtol(t2 + 1, NULL, 10);
      }
    }
    PPROF_PUSH(st->f, st->n, cap, f);
    if (!nl) break;
    p = nl + 1;
  }
  st->site = 0;
  for (uint32_t i = 0; i < st->n; i++)
    if (!report_native_file(st->f[i].file)) {
      st->site = i;
      break;
    }
}

void report_stack_free(report_stack *st) {
  free(st->buf);
  free(st->f);
  memset(st, 0, sizeof *st);
}

void report_key_stack(const report_series *s, uint32_t key, report_stack *st) {
  uint32_t top = s->by == REPORT_BY_STACK ? UINT32_MAX : report_series_top_stack(s, key);
  char *text = top == UINT32_MAX ? report_series_key_text(s, key) : report_series_stack_text(s, top);
  report_stack_parse(text, st);
  free(text);
}

void report_frame_title(const report_frame *f, char *buf, size_t n) {
  if (f->file[0] && f->line > 0)
    snprintf(buf, n, "%s (%s:%ld)", f->fn, f->file, f->line);
  else if (f->file[0])
    snprintf(buf, n, "%s (%s)", f->fn, f->file);
  else
    snprintf(buf, n, "%s", f->fn);
}

/* The title of a suspect: its key in a form that fits on one line; for a
 * stack or function, its site frame. */
void report_suspect_title(const report_series *s, uint32_t key, char *buf, size_t n) {
  char *t = report_series_key_text(s, key);
  if (s->by == REPORT_BY_FILE || s->by == REPORT_BY_CLASS) {
    snprintf(buf, n, "%s", t);
  } else {
    report_stack st;
    report_stack_parse(t, &st);
    if (st.n) report_frame_title(&st.f[st.site], buf, n);
    else snprintf(buf, n, "%s", t);
    report_stack_free(&st);
  }
  free(t);
}

const char *report_main_class(const report_series *s, uint32_t key, double *share) {
  uint32_t cls[64];
  double bytes[64], tot = 0;
  uint32_t nc = report_series_classes(s, key, cls, bytes, 64);
  for (uint32_t i = 0; i < nc; i++) tot += bytes[i];
  *share = nc && tot > 0 ? bytes[0] / tot : 0;
  return nc ? pprof_strings_get(&s->names, cls[0]) : "(unknown class)";
}

void report_suspect_label(const report_series *s, uint32_t key, char *buf, size_t n) {
  char title[1024], leaf[1024];
  report_suspect_title(s, key, title, sizeof title);
  size_t used = (size_t)snprintf(buf, n, "%s", title);
  report_stack st;
  report_key_stack(s, key, &st);
  if (st.n && used < n) {
    const report_frame *site = &st.f[st.site];
    if (s->by == REPORT_BY_FILE || s->by == REPORT_BY_CLASS) { /* the title names no frame */
      report_frame_title(site, leaf, sizeof leaf);
      used += (size_t)snprintf(buf + used, n - used, " \xc2\xb7 at %s", leaf);
    } else if (st.site != 0) { /* the leaf is below the site: a C method, say */
      report_frame_title(&st.f[0], leaf, sizeof leaf);
      used += (size_t)snprintf(buf + used, n - used, " \xc2\xb7 leaf %s", leaf);
    } else if (s->by == REPORT_BY_FUNCTION && site->line > 0) { /* a function key has no line */
      used += (size_t)snprintf(buf + used, n - used, " \xc2\xb7 line %ld", site->line);
    }
  }
  report_stack_free(&st);
  if (s->by != REPORT_BY_CLASS && used < n) {
    double share;
    const char *cls = report_main_class(s, key, &share);
    snprintf(buf + used, n - used, " \xc2\xb7 %s", cls);
  }
}

const char *report_suspect_last_profile(const report_series *s, const report_suspect *x) {
  uint32_t *idx = pprof_xmalloc((s->nprofs + 1) * sizeof *idx);
  uint32_t n = report_process_profiles(s, s->slots[x->slots[0]].proc, idx);
  const char *path = n ? s->profs[idx[n - 1]].path : "";
  free(idx);
  return path;
}

/* s in single quotes for a POSIX shell. */
static size_t shell_quote(const char *s, char *buf, size_t n) {
  size_t o = 0;
  if (o + 1 < n) buf[o++] = '\'';
  for (; *s && o + 5 < n; s++) {
    if (*s == '\'') {
      memcpy(buf + o, "'\\''", 4);
      o += 4;
    } else
      buf[o++] = *s;
  }
  if (o + 1 < n) buf[o++] = '\'';
  buf[o < n ? o : n - 1] = 0;
  return o;
}

void report_pprof_command(const report_series *s, const report_suspect *x, char *buf, size_t n) {
  report_stack st;
  report_key_stack(s, x->key, &st);
  /* pprof's -focus is an RE2 regexp matched against function names (and
   * file names): the site function, anchored, with its metacharacters
   * escaped ("Array#[]=" and "block in Foo#bar" are common). */
  char re[2048], q1[4200], q2[8300];
  size_t o = 0;
  re[o++] = '^';
  for (const char *p = st.n ? st.f[st.site].fn : ""; *p && o + 4 < sizeof re; p++) {
    if (strchr("\\.+*?()|[]{}^$", *p)) re[o++] = '\\';
    re[o++] = *p;
  }
  re[o++] = '$';
  re[o] = 0;
  report_stack_free(&st);
  char focus[2100];
  snprintf(focus, sizeof focus, "-focus=%s", re);
  shell_quote(focus, q1, sizeof q1);
  shell_quote(report_suspect_last_profile(s, x), q2, sizeof q2);
  snprintf(buf, n, "go tool pprof -sample_index=retained_size %s %s", q1, q2);
}

/* The --html page: one self-contained file, charts as inline SVG, no
 * external assets. A short inline script builds the suspect index from
 * the sections, so a browser that renders the page proves the markup and
 * the script are sound. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *colors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static void esc(FILE *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '<') fputs("&lt;", o);
    else if (c == '>') fputs("&gt;", o);
    else if (c == '&') fputs("&amp;", o);
    else if (c == '"') fputs("&quot;", o);
    else if (c < 0x20 && c != '\t' && c != '\n') fprintf(o, "&#%u;", c + 0x2400u); /* visible control pictures */
    else fputc(c, o);
  }
}
static void escs(FILE *o, const char *s) { esc(o, s, strlen(s)); }

typedef struct line { const double *x, *y; uint32_t n; const char *label; } line;

/* Wall-clock text of t0 + secs, UTC: the time of day, with the date when
 * the chart spans days; without times (t0 0), seconds. */
static void fmt_time(int64_t t0_ns, double secs, double span, char *buf, size_t n) {
  if (t0_ns <= 0) {
    snprintf(buf, n, "%.0f s", secs);
    return;
  }
  time_t t = (time_t)(t0_ns / 1000000000) + (time_t)(secs + 0.5);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, span >= 86400 ? "%m-%d %H:%M" : span >= 6 * 3600 ? "%H:%M" : "%H:%M:%S", &tm);
}

/* A line chart: x in seconds since t0_ns (drawn as wall-clock times), y in
 * bytes, one polyline per series. */
static void chart(FILE *o, const line *ls, uint32_t nl, const char *title, int64_t t0_ns) {
  const double W = 720, H = 220, L = 80, R = 150, T = 24, B = 34;
  double xmax = 0, ymax = 0;
  for (uint32_t i = 0; i < nl; i++)
    for (uint32_t j = 0; j < ls[i].n; j++) {
      if (ls[i].x[j] > xmax) xmax = ls[i].x[j];
      if (ls[i].y[j] > ymax) ymax = ls[i].y[j];
    }
  if (xmax <= 0) xmax = 1;
  if (ymax <= 0) ymax = 1;
  fprintf(o, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
          W, H);
  fprintf(o, "<title>");
  escs(o, title);
  fprintf(o, "</title>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n",
          L, T, W - L - R, H - T - B);
  for (int g = 0; g <= 4; g++) {
    double v = ymax * g / 4, y = H - B - (H - T - B) * g / 4;
    char b[32];
    report_fmt_bytes(v, b, sizeof b);
    fprintf(o, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", L, W - R, y, y);
    fprintf(o, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n", L - 6, y + 4, b);
  }
  for (int g = 0; g <= 4; g++) {
    double v = xmax * g / 4, x = L + (W - L - R) * g / 4;
    char when[64];
    fmt_time(t0_ns, v, xmax, when, sizeof when);
    fprintf(o, "<text class=\"xtick\" x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", x,
            H - B + 16, when);
  }
  if (t0_ns > 0) {
    char from[64];
    time_t t = (time_t)(t0_ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(from, sizeof from, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(o, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" fill=\"#666\" text-anchor=\"end\">UTC, from %s</text>\n",
            W - R, H - 2, from);
  }
  fprintf(o, "<text x=\"%.0f\" y=\"15\" font-size=\"12\" font-weight=\"bold\">", L);
  escs(o, title);
  fprintf(o, "</text>\n");
  for (uint32_t i = 0; i < nl; i++) {
    const char *c = colors[i % 8];
    fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
    for (uint32_t j = 0; j < ls[i].n; j++)
      fprintf(o, "%.1f,%.1f ", L + (W - L - R) * ls[i].x[j] / xmax, H - B - (H - T - B) * ls[i].y[j] / ymax);
    fprintf(o, "\"/>\n");
    fprintf(o, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" fill=\"%s\">", W - R + 8, T + 12 + 14.0 * i, c);
    escs(o, ls[i].label);
    fprintf(o, "</text>\n");
  }
  fprintf(o, "</svg>\n");
}

/* Seconds since the earliest profile of all, so processes share an axis. */
static double secs(const report_series *s, uint32_t prof, int64_t t0) {
  return (double)(s->profs[prof].time_nanos - t0) / 1e9;
}

static void frame_li(FILE *o, const char *f, size_t len) {
  const char *t1 = memchr(f, '\t', len);
  fputs("<li><code class=\"fn\">", o);
  if (!t1) {
    esc(o, f, len);
    fputs("</code></li>\n", o);
    return;
  }
  esc(o, f, (size_t)(t1 - f));
  fputs("</code> <span class=\"loc\">", o);
  const char *rest = t1 + 1;
  size_t rlen = len - (size_t)(rest - f);
  const char *t2 = memchr(rest, '\t', rlen);
  if (t2) {
    esc(o, rest, (size_t)(t2 - rest));
    if (!(len - (size_t)(t2 + 1 - f) == 1 && t2[1] == '0')) {
      fputc(':', o);
      esc(o, t2 + 1, len - (size_t)(t2 + 1 - f));
    }
  } else {
    esc(o, rest, rlen);
  }
  fputs("</span></li>\n", o);
}

int report_write_html(const char *path, const report_series *s, const report_suspect *sus, uint32_t nsus,
                      uint32_t top) {
  FILE *o = fopen(path, "w");
  if (!o) {
    fprintf(stderr, "rmp-report: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  int64_t t0 = 0;
  for (uint32_t i = 0; i < s->nprofs; i++)
    if (i == 0 || s->profs[i].time_nanos < t0) t0 = s->profs[i].time_nanos;
  uint32_t cap = s->nprofs + 1;
  double *buf = pprof_xmalloc((size_t)cap * 5 * 8 * sizeof *buf);
  uint32_t *idx = pprof_xmalloc(cap * sizeof *idx);

  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>rmp-report: leak suspects</title>\n"
        "<style>body{font-family:sans-serif;margin:2em;max-width:60em}code{font-size:90%}"
        ".loc{color:#666}.stats{color:#333}section{border-top:1px solid #ddd;margin-top:1.5em}"
        "ol.stack{font-size:90%}#index li{margin:.2em 0}pre.pprof{background:#f4f4f4;padding:.5em;white-space:pre-wrap}"
        ".label{color:#444}</style>\n</head>\n<body>\n",
        o);
  fprintf(o, "<h1>Leak suspects</h1>\n<p>%u profiles from %u process%s. Suspects are ranked by sustained growth of "
             "retained bytes, in bytes/hour: slope &times; R&sup2; &times; share of non-decreasing intervals &times; "
             "(0.25 + 0.75 &times; share of old objects), summed over processes.</p>\n",
          s->nprofs, s->nprocs, s->nprocs == 1 ? "" : "es");

  /* Total retained size per process (up to 8 processes drawn). */
  line ls[8];
  uint32_t nl = 0;
  char labels[8][48];
  for (uint32_t p = 0; p < s->nprocs && nl < 8; p++) {
    uint32_t n = report_process_profiles(s, p, idx);
    double *x = buf + (size_t)nl * 2 * cap, *y = x + cap;
    for (uint32_t i = 0; i < n; i++) {
      x[i] = secs(s, idx[i], t0);
      y[i] = s->profs[idx[i]].total_size;
    }
    report_fmt_pid(s->procs[p].pid, labels[nl], sizeof labels[nl]);
    ls[nl] = (line){x, y, n, labels[nl]};
    nl++;
  }
  fputs("<h2>Total retained size over time</h2>\n", o);
  chart(o, ls, nl, "Total retained_size by process", t0);

  fputs("<h2>Suspects</h2>\n<ol id=\"index\"></ol>\n", o);
  if (nsus == 0) fputs("<p id=\"no-suspects\">No suspects: nothing's retained size grew steadily.</p>\n", o);
  double *t = buf + (size_t)16 * cap, *yy = t + cap, *objs = yy + cap, *old = objs + cap;
  for (uint32_t i = 0; i < nsus && i < top; i++) {
    const report_suspect *x = &sus[i];
    char title[1024], label[2048], sl[32], sc[48];
    report_suspect_title(s, x->key, title, sizeof title);
    report_suspect_label(s, x->key, label, sizeof label);
    report_fmt_rate(x->fits[0].slope_per_hour, sl, sizeof sl);
    report_fmt_rate(x->score, sc, sizeof sc);
    fprintf(o, "<section class=\"suspect\" id=\"suspect-%u\" data-title=\"", i + 1);
    escs(o, label);
    fprintf(o, "\">\n<h3>#%u <code>", i + 1);
    escs(o, title);
    fputs("</code></h3>\n<p class=\"label\">", o);
    escs(o, label);
    fprintf(o, "</p>\n<p class=\"stats\">score <span class=\"score\">%s</span>; grows %s; R&sup2; %.2f; %.0f%% of "
               "intervals non-decreasing",
            sc, sl, x->fits[0].r2, 100 * x->fits[0].nondecreasing);
    if (x->fits[0].old_share >= 0) fprintf(o, "; %.0f%% of objects old", 100 * x->fits[0].old_share);
    fprintf(o, "; growing in %u process%s.</p>\n", x->nfits, x->nfits == 1 ? "" : "es");
    nl = 0;
    for (uint32_t j = 0; j < x->nfits && nl < 8; j++) {
      const report_slot *slot = &s->slots[x->slots[j]];
      uint32_t n = report_slot_series(s, slot, t, yy, objs, old);
      uint32_t m = report_process_profiles(s, slot->proc, idx);
      double *px = buf + (size_t)nl * 2 * cap, *py = px + cap;
      for (uint32_t k = 0; k < n && k < m; k++) {
        px[k] = secs(s, idx[k], t0);
        py[k] = yy[k];
      }
      report_fmt_pid(s->procs[slot->proc].pid, labels[nl], sizeof labels[nl]);
      ls[nl] = (line){px, py, n < m ? n : m, labels[nl]};
      nl++;
    }
    chart(o, ls, nl, "retained_size of this suspect", t0);
    {
      uint32_t n = report_slot_series(s, &s->slots[x->slots[0]], t, yy, objs, old);
      if (n > 1 && objs[0] > 0 && objs[n - 1] <= objs[0] * 1.1 && yy[n - 1] > 2 * yy[0])
        fputs("<p class=\"note\">The same objects keep growing: a collection (Hash, Array, String) that is never "
              "pruned.</p>\n",
              o);
    }
    uint32_t cls[6];
    double cb[6];
    uint32_t nc = report_series_classes(s, x->key, cls, cb, 6);
    fputs("<p>Classes: ", o);
    for (uint32_t j = 0; j < nc; j++) {
      char b[32];
      report_fmt_bytes(cb[j], b, sizeof b);
      fputs(j ? ", <code class=\"class\">" : "<code class=\"class\">", o);
      escs(o, pprof_strings_get(&s->names, cls[j]));
      fprintf(o, "</code> (%s summed over profiles)", b);
    }
    fputs("</p>\n<p>Stack (leaf first):</p>\n<ol class=\"stack\">\n", o);
    uint32_t st = s->by == REPORT_BY_STACK ? UINT32_MAX : report_series_top_stack(s, x->key);
    char *text = st == UINT32_MAX ? report_series_key_text(s, x->key) : report_series_stack_text(s, st);
    for (const char *p = text; *p;) {
      const char *nlp = strchr(p, '\n');
      size_t len = nlp ? (size_t)(nlp - p) : strlen(p);
      frame_li(o, p, len);
      p += len + (nlp ? 1 : 0);
    }
    free(text);
    char cmd[8192];
    report_pprof_command(s, x, cmd, sizeof cmd);
    fputs("</ol>\n<p>In pprof (the suspect's function, in the last profile of its most growing process):</p>\n"
          "<pre class=\"pprof\"><code>",
          o);
    escs(o, cmd);
    fputs("</code></pre>\n</section>\n", o);
  }
  if (nsus > top) {
    fprintf(o, "<h2>Suspects left off</h2>\n<p>%u more suspects, not shown above (<code>--top N</code> shows them):</p>\n"
               "<ol id=\"left-off\" start=\"%u\">\n",
            nsus - top, top + 1);
    for (uint32_t i = top; i < nsus; i++) {
      char label[2048], sc[48];
      report_suspect_label(s, sus[i].key, label, sizeof label);
      report_fmt_rate(sus[i].score, sc, sizeof sc);
      fputs("<li class=\"left-off\"><code>", o);
      escs(o, label);
      fprintf(o, "</code>: score %s</li>\n", sc);
    }
    fputs("</ol>\n", o);
  }
  fputs("<script>\n"
        "(function(){var idx=document.getElementById('index');\n"
        "document.querySelectorAll('section.suspect').forEach(function(s,i){\n"
        "var li=document.createElement('li');li.className='index-entry';var a=document.createElement('a');\n"
        "a.href='#'+s.id;a.textContent=s.getAttribute('data-title');li.appendChild(a);idx.appendChild(li);});\n"
        "document.body.setAttribute('data-rendered','yes');})();\n"
        "</script>\n</body></html>\n",
        o);
  free(buf);
  free(idx);
  if (fclose(o) != 0) {
    fprintf(stderr, "rmp-report: writing %s failed: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* The leaks command: load a series of profiles, rank, print, draw. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static int parse_by(const char *v, report_by *by) {
  if (strcmp(v, "stack") == 0) *by = REPORT_BY_STACK;
  else if (strcmp(v, "function") == 0) *by = REPORT_BY_FUNCTION;
  else if (strcmp(v, "file") == 0) *by = REPORT_BY_FILE;
  else if (strcmp(v, "class") == 0) *by = REPORT_BY_CLASS;
  else return -1;
  return 0;
}

int report_cmd_leaks(int argc, char **argv) {
  report_by by = REPORT_BY_STACK;
  long top = 10;
  const char *html = NULL;
  int all = 0;
  char **files = pprof_xmalloc((size_t)(argc + 1) * sizeof *files);
  int nfiles = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--by=", 5) == 0 || (strcmp(a, "--by") == 0 && i + 1 < argc)) {
      if (parse_by(a[4] == '=' ? a + 5 : argv[++i], &by) != 0) {
        fprintf(stderr, "rmp-report leaks: --by takes stack, function, file or class\n");
        free(files);
        return 2;
      }
    } else if (strncmp(a, "--top=", 6) == 0 || (strcmp(a, "--top") == 0 && i + 1 < argc)) {
      char *end;
      const char *v = a[5] == '=' ? a + 6 : argv[++i];
      top = strtol(v, &end, 10);
      if (*end || top <= 0) {
        fprintf(stderr, "rmp-report leaks: --top takes a positive number\n");
        free(files);
        return 2;
      }
    } else if (strncmp(a, "--html=", 7) == 0 || (strcmp(a, "--html") == 0 && i + 1 < argc)) {
      html = a[6] == '=' ? a + 7 : argv[++i];
    } else if (strcmp(a, "--all") == 0) {
      all = 1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "rmp-report leaks: unknown option %s\n", a);
      free(files);
      return 2;
    } else {
      files[nfiles++] = argv[i];
    }
  }
  if (nfiles == 0) {
    fprintf(stderr, "rmp-report leaks: no profiles given (files or a directory)\n");
    free(files);
    return 2;
  }
  int nerr = 0;
  char **paths;
  uint32_t n = report_expand_inputs(files, nfiles, &paths, &nerr);
  free(files);
  report_series s;
  report_series_init(&s, by);
  uint32_t bad = 0;
  for (uint32_t i = 0; i < n; i++) {
    pprof_profile p;
    char err[1024];
    int r = pprof_decode_file(paths[i], PPROF_SUM_SAMPLES, &p, err, sizeof err);
    if (r == 0) {
      r = report_series_add(&s, &p, report_profile_pid(&p, paths[i]), paths[i], err, sizeof err);
      pprof_profile_free(&p);
    }
    if (r != 0) {
      fprintf(stderr, "rmp-report: %s: %s; skipped\n", paths[i], err);
      bad++;
    }
  }
  for (uint32_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
  int rc = 0;
  uint32_t longest = 0;
  for (uint32_t i = 0; i < s.nprocs; i++)
    if (s.procs[i].nprofs > longest) longest = s.procs[i].nprofs;
  if (s.nprofs == 0) {
    fprintf(stderr, "rmp-report leaks: no usable profiles (%u unreadable, %d input errors)\n", bad, nerr);
    rc = 1;
  } else if (longest < 3) {
    fprintf(stderr,
            "rmp-report leaks: growth needs a series: at least 3 profiles of one process "
            "(the longest series here has %u)\n",
            longest);
    rc = 1;
  } else {
    if (bad || nerr) fprintf(stderr, "rmp-report: %u file(s) skipped, %u used\n", bad + (uint32_t)nerr, s.nprofs);
    report_suspect *sus;
    uint32_t nall = report_rank(&s, all, &sus), nsus = 0;
    while (nsus < nall && sus[nsus].score > 0) nsus++;
    report_print_leaks(stdout, &s, sus, nsus, (uint32_t)top);
    if (all) report_print_rejected(stdout, &s, sus + nsus, nall - nsus, (uint32_t)top);
    if (html) {
      if (report_write_html(html, &s, sus, nsus, (uint32_t)top) != 0) rc = 1;
      else printf("\nHTML report: %s\n", html);
    }
    report_suspects_free(sus, nall);
  }
  report_series_free(&s);
  return rc;
}

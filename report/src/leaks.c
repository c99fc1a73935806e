/* The leaks command: load a series of profiles, rank, print, draw. */
#include "rmp_report.h"

#include <stdlib.h>
#include <string.h>

static int parse_by(const char *v, rmp_by *by) {
  if (strcmp(v, "stack") == 0) *by = RMP_BY_STACK;
  else if (strcmp(v, "function") == 0) *by = RMP_BY_FUNCTION;
  else if (strcmp(v, "file") == 0) *by = RMP_BY_FILE;
  else if (strcmp(v, "class") == 0) *by = RMP_BY_CLASS;
  else return -1;
  return 0;
}

int rmp_cmd_leaks(int argc, char **argv) {
  rmp_by by = RMP_BY_STACK;
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
  uint32_t n = rmp_expand_inputs(files, nfiles, &paths, &nerr);
  free(files);
  rmp_series s;
  rmp_series_init(&s, by);
  uint32_t bad = 0;
  for (uint32_t i = 0; i < n; i++) {
    pprof_profile p;
    char err[1024];
    int r = pprof_decode_file(paths[i], PPROF_SUM_SAMPLES, &p, err, sizeof err);
    if (r == 0) {
      r = rmp_series_add(&s, &p, rmp_profile_pid(&p, paths[i]), paths[i], err, sizeof err);
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
    rmp_suspect *sus;
    uint32_t nall = rmp_rank(&s, all, &sus), nsus = 0;
    while (nsus < nall && sus[nsus].score > 0) nsus++;
    rmp_print_leaks(stdout, &s, sus, nsus, (uint32_t)top);
    if (all) rmp_print_rejected(stdout, &s, sus + nsus, nall - nsus, (uint32_t)top);
    if (html) {
      if (rmp_write_html(html, &s, sus, nsus, (uint32_t)top) != 0) rc = 1;
      else printf("\nHTML report: %s\n", html);
    }
    rmp_suspects_free(sus, nall);
  }
  rmp_series_free(&s);
  return rc;
}

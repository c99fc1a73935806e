/* Command-line inputs: files, or directories of profiles; and which process
 * a profile came from. */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

static int is_profile_name(const char *n) {
  return ends_with(n, ".pprof") || ends_with(n, ".pprof.gz") || ends_with(n, ".pb.gz") || ends_with(n, ".pb");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

uint32_t report_expand_inputs(char **args, int nargs, char ***out, int *nerr) {
  char **v = NULL;
  uint32_t n = 0, cap = 0;
  for (int i = 0; i < nargs; i++) {
    struct stat sb;
    if (stat(args[i], &sb) != 0) {
      fprintf(stderr, "rmp-report: %s: %s\n", args[i], strerror(errno));
      (*nerr)++;
      continue;
    }
    if (!S_ISDIR(sb.st_mode)) {
      PPROF_PUSH(v, n, cap, pprof_xstrdup(args[i]));
      continue;
    }
    DIR *d = opendir(args[i]);
    if (!d) {
      fprintf(stderr, "rmp-report: %s: %s\n", args[i], strerror(errno));
      (*nerr)++;
      continue;
    }
    uint32_t before = n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.' || !is_profile_name(e->d_name)) continue;
      size_t len = strlen(args[i]) + strlen(e->d_name) + 2;
      char *path = pprof_xmalloc(len);
      snprintf(path, len, "%s/%s", args[i], e->d_name);
      PPROF_PUSH(v, n, cap, path);
    }
    closedir(d);
    if (n == before) {
      fprintf(stderr, "rmp-report: %s: directory holds no profiles (*.pprof, *.pprof.gz, *.pb.gz, *.pb)\n", args[i]);
      (*nerr)++;
    }
    qsort(v + before, n - before, sizeof *v, cmp_str);
  }
  *out = v;
  return n;
}

double report_comment_number(const pprof_profile *p, const char *key) {
  size_t n = strlen(key);
  for (uint32_t i = 0; i < p->ncomments; i++) {
    const char *c = pprof_str(p, p->comments[i]);
    if (strncmp(c, key, n) == 0 && c[n] == '=') {
      char *end;
      double v = strtod(c + n + 1, &end);
      if (end != c + n + 1 && *end == '\0' && v >= 0) return v;
    }
  }
  return -1;
}

int64_t report_profile_pid(const pprof_profile *p, const char *path) {
  for (uint32_t i = 0; i < p->ncomments; i++) {
    const char *c = pprof_str(p, p->comments[i]);
    if (strncmp(c, "pid=", 4) == 0) {
      char *end;
      long long v = strtoll(c + 4, &end, 10);
      if (end != c + 4 && v >= 0) return v;
    }
  }
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *m = strstr(base, "mem-");
  if (m) {
    char *end;
    long long v = strtoll(m + 4, &end, 10);
    if (end != m + 4 && *end == '-' && v >= 0) return v;
  }
  return -1;
}

/* Option parsing shared by the commands: getopt_long with the tool's own
 * messages (naming the command and the option) and exit codes. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef RMP_REPORT_VERSION
#error "RMP_REPORT_VERSION comes from CMake (the gem's version.rb)"
#endif
const char report_version[] = RMP_REPORT_VERSION;

int report_next_option(const report_command *cmd, int argc, char **argv) {
  char shortopts[64];
  /* ':' first: a missing value returns ':' rather than '?' */
  snprintf(shortopts, sizeof shortopts, ":h%s", cmd->shortopts);
  opterr = 0;
  int c = getopt_long(argc, argv, shortopts, cmd->longopts, NULL);
  if (c == 'h') {
    fputs(cmd->help, stdout);
    return REPORT_OPT_HELP;
  }
  if (c != '?' && c != ':') return c;
  /* getopt_long has stepped past a bad long option (and past a short one
   * that ends its group), so argv[optind - 1] is its text. */
  const char *tok = optind > 1 && optind - 1 < argc ? argv[optind - 1] : "";
  char name[128];
  if (strncmp(tok, "--", 2) == 0)
    snprintf(name, sizeof name, "%.*s", (int)strcspn(tok, "="), tok);
  else
    snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
  if (c == ':')
    fprintf(stderr, "rmp-report %s: option '%s' needs a value\n", cmd->name, name);
  else if (strncmp(tok, "--", 2) == 0 && strchr(tok, '=') && optopt)
    fprintf(stderr, "rmp-report %s: option '%s' takes no value\n", cmd->name, name);
  else
    fprintf(stderr, "rmp-report %s: unknown option '%s'\n", cmd->name, name);
  fprintf(stderr, "(rmp-report %s --help lists its options)\n", cmd->name);
  return REPORT_OPT_BAD;
}

int report_parse_count(const report_command *cmd, const char *opt, const char *v, long *out) {
  char *end;
  long n = strtol(v, &end, 10);
  if (end == v || *end || n <= 0 || n > INT32_MAX) {
    fprintf(stderr, "rmp-report %s: %s takes a positive whole number, not '%s'\n", cmd->name, opt, v);
    return -1;
  }
  *out = n;
  return 0;
}

int report_parse_number(const report_command *cmd, const char *opt, const char *v, double *out) {
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end || !isfinite(d) || d < 0) {
    fprintf(stderr, "rmp-report %s: %s takes a number >= 0, not '%s'\n", cmd->name, opt, v);
    return -1;
  }
  *out = d;
  return 0;
}

int report_parse_format(const report_command *cmd, const char *v, report_format *out) {
  if (strcmp(v, "text") == 0) *out = REPORT_TEXT;
  else if (strcmp(v, "json") == 0) *out = REPORT_JSON;
  else {
    fprintf(stderr, "rmp-report %s: --format takes text or json, not '%s'\n", cmd->name, v);
    return -1;
  }
  return 0;
}

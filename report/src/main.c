/* rmp-report: command-line entry. */
#include "report.h"

#include <string.h>

static const char usage[] =
    "usage: rmp-report COMMAND [OPTIONS] ...\n"
    "       rmp-report --version | --help | COMMAND --help\n"
    "\n"
    "Commands:\n"
    "  leaks FILES...|DIR  rank call sites whose retained memory grows steadily across\n"
    "                      a series of profiles (text, --format json, --html)\n"
    "  merge FILES...|DIR  sum profiles into one, as go tool pprof -proto does\n"
    "  top FILE            flat and cumulative tables by function, like go tool pprof -top\n"
    "\n"
    "Exit status: 0 success, 1 bad or unusable input, 2 usage error,\n"
    "3 leaks --fail-above: a suspect scored above the limit.\n";

static const report_command *const commands[] = {&report_leaks_command, &report_merge_command,
                                                  &report_top_command};
static int (*const runs[])(int, char **) = {report_cmd_leaks, report_cmd_merge, report_cmd_top};

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return REPORT_EXIT_USAGE;
  }
  const char *a = argv[1];
  if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
    printf("rmp-report %s\n", report_version);
    return REPORT_EXIT_OK;
  }
  int help = strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
  if (help && argc < 3) {
    fputs(usage, stdout);
    return REPORT_EXIT_OK;
  }
  const char *name = help ? argv[2] : a;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    if (strcmp(name, commands[i]->name) != 0) continue;
    if (help) {
      fputs(commands[i]->help, stdout);
      return REPORT_EXIT_OK;
    }
    /* the command's own argv: argv[0] is its name, as getopt expects */
    return runs[i](argc - 1, argv + 1);
  }
  fprintf(stderr, "rmp-report: unknown command '%s'\n\n%s", name, usage);
  return REPORT_EXIT_USAGE;
}

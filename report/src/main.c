/* rmp-report: command-line entry. */
#include "report.h"

#include <string.h>

static const char usage[] =
    "usage: rmp-report COMMAND ...\n"
    "\n"
    "  rmp-report leaks FILES...|DIR [--by=stack|function|file|class] [--top N] [--html OUT.html] [--all]\n"
    "      Rank call sites whose retained memory grows steadily across a series of\n"
    "      profiles (ordered by time, grouped by process). Score per process:\n"
    "        slope (bytes/hour, least squares) x R^2 x fraction of non-decreasing intervals\n"
    "        x (0.25 + 0.75 x share of retained objects with old allocation_age),\n"
    "      summed over processes. Needs >= 3 profiles of a process; a series counts\n"
    "      only if it ended above its start, R^2 >= 0.2 and at most half its intervals shrank.\n"
    "\n"
    "  rmp-report merge FILES...|DIR -o OUT.pb.gz\n"
    "      Sum profiles (e.g. from many processes) into one, as go tool pprof -proto does.\n"
    "\n"
    "  rmp-report top FILE [--sample-type TYPE] [--nodecount N]\n"
    "      Flat and cumulative top tables by function for one sample type\n"
    "      (default: the profile's default_sample_type).\n"
    "\n"
    "Exit status: 0 success, 1 bad or unusable input, 2 usage error.\n";

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "leaks") == 0) return report_cmd_leaks(argc - 2, argv + 2);
  if (strcmp(argv[1], "merge") == 0) return report_cmd_merge(argc - 2, argv + 2);
  if (strcmp(argv[1], "top") == 0) return report_cmd_top(argc - 2, argv + 2);
  fprintf(stderr, "rmp-report: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}

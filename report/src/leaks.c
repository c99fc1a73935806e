/* The leaks command: load a series of profiles, rank, print, draw. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: rmp-report leaks FILES...|DIR [OPTIONS]\n"
    "\n"
    "Rank call sites whose retained memory grows steadily across a series of\n"
    "profiles (ordered by time, grouped by process). Score per process, in bytes/hour:\n"
    "  slope (bytes/hour, least squares) x R^2 x fraction of non-decreasing intervals\n"
    "  x (0.25 + 0.75 x share of retained objects with old allocation_age),\n"
    "summed over processes. Needs >= 3 profiles of a process; a series counts\n"
    "only if it ended above its start, R^2 >= 0.2 and at most half its intervals shrank.\n"
    "Functions are told apart by name and file; a file that is a path suffix of\n"
    "another for the same name in a profile (script.rb, /app/script.rb) is the same.\n"
    "\n"
    "Options:\n"
    "  --by=stack|function|file|class  what a suspect is (default: stack)\n"
    "  --top=N              show N suspects (default 10)\n"
    "  --format=text|json   output format (default text); json: one object with\n"
    "                       each suspect's function, file, line, class, score, slope,\n"
    "                       R^2, first/last bytes, processes and stack\n"
    "  --html=OUT.html      also write a self-contained HTML report\n"
    "  --all                also list what is not a suspect, and why (text)\n"
    "  --fail-above=SCORE   exit 3 when a suspect scores above SCORE (bytes/hour)\n"
    "  --strict             fail (exit 1) when any input file is unusable, instead\n"
    "                       of skipping it\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0 success, 1 bad or unusable input, 2 usage error,\n"
    "3 a suspect scored above --fail-above.\n";

enum { OPT_BY = 0x100, OPT_TOP, OPT_HTML, OPT_ALL, OPT_FORMAT, OPT_FAIL_ABOVE, OPT_STRICT };
static const struct option longopts[] = {
    {"by", required_argument, NULL, OPT_BY},       {"top", required_argument, NULL, OPT_TOP},
    {"html", required_argument, NULL, OPT_HTML},   {"all", no_argument, NULL, OPT_ALL},
    {"format", required_argument, NULL, OPT_FORMAT}, {"fail-above", required_argument, NULL, OPT_FAIL_ABOVE},
    {"strict", no_argument, NULL, OPT_STRICT},     {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};
const report_command report_leaks_command = {"leaks", help, "", longopts};

static int parse_by(const char *v, report_by *by) {
  static const report_by all[] = {REPORT_BY_STACK, REPORT_BY_FUNCTION, REPORT_BY_FILE, REPORT_BY_CLASS};
  for (int i = 0; i < 4; i++)
    if (strcmp(v, report_by_name(all[i])) == 0) {
      *by = all[i];
      return 0;
    }
  fprintf(stderr, "rmp-report leaks: --by takes stack, function, file or class, not '%s'\n", v);
  return -1;
}

typedef struct options {
  report_by by;
  long top;
  const char *html;
  int all, strict;
  report_format format;
  double fail_above; /* -1: none */
} options;

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, options *o) {
  const report_command *cmd = &report_leaks_command;
  int c;
  while ((c = report_next_option(cmd, argc, argv)) != -1) {
    switch (c) {
    case OPT_BY: if (parse_by(optarg, &o->by)) return REPORT_EXIT_USAGE; break;
    case OPT_TOP: if (report_parse_count(cmd, "--top", optarg, &o->top)) return REPORT_EXIT_USAGE; break;
    case OPT_HTML: o->html = optarg; break;
    case OPT_ALL: o->all = 1; break;
    case OPT_STRICT: o->strict = 1; break;
    case OPT_FORMAT: if (report_parse_format(cmd, optarg, &o->format)) return REPORT_EXIT_USAGE; break;
    case OPT_FAIL_ABOVE:
      if (report_parse_number(cmd, "--fail-above", optarg, &o->fail_above)) return REPORT_EXIT_USAGE;
      break;
    case REPORT_OPT_HELP: return REPORT_EXIT_OK;
    default: return REPORT_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "rmp-report leaks: no profiles given (files or a directory); see rmp-report leaks --help\n");
    return REPORT_EXIT_USAGE;
  }
  return -1;
}

/* Loads every profile into s; returns the count of unusable files, each
 * named on stderr. */
static uint32_t load(report_series *s, char **args, int nargs, int strict, int *nerr) {
  char **paths;
  uint32_t n = report_expand_inputs(args, nargs, &paths, nerr), bad = 0;
  for (uint32_t i = 0; i < n; i++) {
    pprof_profile p;
    char err[1024];
    int r = pprof_decode_file(paths[i], PPROF_SUM_SAMPLES, &p, err, sizeof err);
    if (r == 0) {
      r = report_series_add(s, &p, report_profile_pid(&p, paths[i]), paths[i], err, sizeof err);
      pprof_profile_free(&p);
    }
    if (r != 0) {
      fprintf(stderr, "rmp-report: %s: %s%s\n", paths[i], err, strict ? "" : "; skipped");
      bad++;
    }
  }
  for (uint32_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
  return bad;
}

static int report(const report_series *s, const options *o) {
  report_suspect *sus;
  uint32_t nall = report_rank(s, o->all, &sus), nsus = 0, top = (uint32_t)o->top;
  while (nsus < nall && sus[nsus].score > 0) nsus++;
  int rc = REPORT_EXIT_OK;
  FILE *note = o->format == REPORT_JSON ? stderr : stdout; /* stdout holds only the JSON */
  if (o->format == REPORT_JSON) {
    report_print_leaks_json(stdout, s, sus, nsus, top, o->fail_above);
  } else {
    report_print_leaks(stdout, s, sus, nsus, top);
    if (o->all) report_print_rejected(stdout, s, sus + nsus, nall - nsus, top);
  }
  if (o->html) {
    if (report_write_html(o->html, s, sus, nsus, top) != 0) rc = REPORT_EXIT_INPUT;
    else fprintf(note, "\nHTML report: %s\n", o->html);
  }
  /* suspects are sorted by score: the first says it all */
  if (rc == REPORT_EXIT_OK && o->fail_above >= 0 && nsus > 0 && sus[0].score > o->fail_above) {
    char a[64], b[64], title[1024];
    report_fmt_rate(sus[0].score, a, sizeof a);
    report_fmt_rate(o->fail_above, b, sizeof b);
    report_suspect_title(s, sus[0].key, title, sizeof title);
    fprintf(stderr, "rmp-report leaks: suspect #1 (%s) scores %.17g bytes/hour (%s), above --fail-above %s\n", title,
            sus[0].score, a, b);
    rc = REPORT_EXIT_FAIL_ABOVE;
  }
  report_suspects_free(sus, nall);
  return rc;
}

int report_cmd_leaks(int argc, char **argv) {
  options o = {REPORT_BY_STACK, 10, NULL, 0, 0, REPORT_TEXT, -1};
  int rc = parse(argc, argv, &o);
  if (rc >= 0) return rc;
  int nerr = 0;
  report_series s;
  report_series_init(&s, o.by);
  uint32_t bad = load(&s, argv + optind, argc - optind, o.strict, &nerr);
  uint32_t longest = 0;
  for (uint32_t i = 0; i < s.nprocs; i++)
    if (s.procs[i].nprofs > longest) longest = s.procs[i].nprofs;
  if (o.strict && (bad || nerr)) {
    fprintf(stderr, "rmp-report leaks: --strict: %u input(s) unusable (named above); no report\n",
            bad + (uint32_t)nerr);
    rc = REPORT_EXIT_INPUT;
  } else if (s.nprofs == 0) {
    fprintf(stderr, "rmp-report leaks: no usable profiles (%u unreadable, %d input errors)\n", bad, nerr);
    rc = REPORT_EXIT_INPUT;
  } else if (longest < 3) {
    fprintf(stderr,
            "rmp-report leaks: growth needs a series: at least 3 profiles of one process "
            "(the longest series here has %u)\n",
            longest);
    rc = REPORT_EXIT_INPUT;
  } else {
    if (bad || nerr) fprintf(stderr, "rmp-report: %u file(s) skipped, %u used\n", bad + (uint32_t)nerr, s.nprofs);
    rc = report(&s, &o);
  }
  report_series_free(&s);
  return rc;
}

/* rmp-report: shared types of the leak finder, merger and top tables.
 * report_ names are the tool's own; profiles, string tables and maps are
 * proto/'s pprof model (pprof_ names); rmp_ names belong to the core
 * (rmp.h), which the tool does not use. */
#ifndef REPORT_H
#define REPORT_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pprof_decode.h"
#include "pprof_encode.h"
#include "pprof_model.h"

/* ---- cli.c: options, help and exit codes shared by the commands -------- */

enum {
  REPORT_EXIT_OK = 0,
  REPORT_EXIT_INPUT = 1,   /* bad or unusable input */
  REPORT_EXIT_USAGE = 2,
  REPORT_EXIT_FAIL_ABOVE = 3 /* leaks --fail-above: a suspect scored above it */
};

extern const char report_version[];

typedef struct report_command {
  const char *name;
  const char *help;       /* the command's --help text */
  const char *shortopts;  /* without the leading ':' (added) */
  const struct option *longopts;
} report_command;

/* Values report_next_option returns besides getopt_long's. */
#define REPORT_OPT_HELP 0x10000 /* --help was printed: exit 0 */
#define REPORT_OPT_BAD 0x10001  /* a message naming the option was printed: exit 2 */

/* The next option of cmd's argv (argv[0] is the command's name); -1 at the
 * end, when argv[optind..] are the operands. Handles -h/--help. */
int report_next_option(const report_command *cmd, int argc, char **argv);
/* A positive whole number or a finite number >= 0 for option opt; -1
 * after a message. */
int report_parse_count(const report_command *cmd, const char *opt, const char *v, long *out);
int report_parse_number(const report_command *cmd, const char *opt, const char *v, double *out);
/* "text" or "json" */
typedef enum report_format { REPORT_TEXT, REPORT_JSON } report_format;
int report_parse_format(const report_command *cmd, const char *v, report_format *out);

/* ---- inputs.c: files and directories given on the command line --------- */

/* Expand directories (their *.pprof, *.pb.gz, *.pb files, sorted). Returns
 * the number of paths; errors (missing, empty directory) print and count in
 * *nerr. */
uint32_t report_expand_inputs(char **args, int nargs, char ***out, int *nerr);
/* pid from a "pid=<n>" comment, else from a mem-<pid>-... file name, else -1. */
int64_t report_profile_pid(const pprof_profile *p, const char *path);
/* The number in a "<key>=<number>" comment, else -1. */
double report_comment_number(const pprof_profile *p, const char *key);

/* ---- funcs.c, units.c: functions and values as the tables show them ---- */

/* Per function index of p, the string id of its file with relative and
 * absolute spellings of one file made one (see funcs.c); malloc'd. */
int64_t *report_function_files(const pprof_profile *p);
/* go tool pprof's value label in unit to ("1.50MB", "250ms", counts plain;
 * to "auto": the value's best unit), its unit for a table whose smallest
 * nonzero value shown is min_value, and its percentage ("12.50%", "  100%"). */
void report_pprof_label(int64_t value, const char *from, const char *to, char *buf, size_t n);
void report_pprof_output_unit(int64_t min_value, int64_t total, const char *sample_unit, char *buf, size_t n);
void report_pprof_percent(int64_t value, int64_t total, char *buf, size_t n);

/* ---- series.c, series_add.c: per call site, per process series -------- */

typedef enum report_by { REPORT_BY_STACK, REPORT_BY_FUNCTION, REPORT_BY_FILE, REPORT_BY_CLASS } report_by;

typedef struct report_point { uint32_t prof; double size, objs, old; } report_point;

typedef struct report_slot {  /* one key in one process */
  uint32_t key, proc;
  report_point *pts; uint32_t npts, pts_cap;
} report_slot;

typedef struct report_profile_info { /* one loaded profile */
  uint32_t proc;
  int64_t time_nanos;
  double total_size, total_objs;
  char *path;
  /* From rmp's comments, -1 when absent: where they change within a
   * process, the estimates have more or less noise (they stay unbiased). */
  double sample_rate, heap_probability;
} report_profile_info;

typedef struct report_process { int64_t pid; uint32_t nprofs; } report_process;

typedef struct report_series {
  report_by by;
  pprof_strings names;   /* shared names: functions, files, classes, frame text */
  pprof_strings keys;    /* key text -> key id */
  pprof_strings stacks;  /* stack text -> stack id */
  report_slot *slots; uint32_t nslots, slots_cap;
  pprof_map slot_index;  /* (key << 24 | proc) -> slot */
  report_profile_info *profs; uint32_t nprofs, profs_cap;
  report_process *procs; uint32_t nprocs, procs_cap;
  pprof_map proc_index;  /* pid -> proc */
  pprof_map stack_of;    /* (key << 32 | stack key) -> bytes index into acc */
  pprof_map class_of;    /* (key << 32 | class name) -> index into acc */
  double *acc; uint32_t nacc, acc_cap;
  uint64_t *acc_pair; /* the map key of each acc entry */
} report_series;

void report_series_init(report_series *s, report_by by);
void report_series_free(report_series *s);
/* Add one decoded profile of process pid. Returns 0, or -1 with err when the
 * profile lacks the retained sample types. */
int report_series_add(report_series *s, const pprof_profile *p, int64_t pid, const char *path, char *err,
                      size_t errn);
/* A key's text, malloc'd: for stacks "func\tfile\tline" per frame, leaf
 * first, one per line; "func\tfile" by function; the file; the class. */
char *report_series_key_text(const report_series *s, uint32_t key);
/* The stack key that carried the most bytes of key, and its classes. */
uint32_t report_series_top_stack(const report_series *s, uint32_t key);
/* Up to max (class name id, bytes) pairs, biggest first. */
uint32_t report_series_classes(const report_series *s, uint32_t key, uint32_t *cls, double *bytes, uint32_t max);
char *report_series_stack_text(const report_series *s, uint32_t stack); /* malloc'd */

/* ---- rank.c: growth statistics and the suspect score ------------------- */

typedef struct report_fit {
  uint32_t n;
  double slope_per_hour;  /* bytes/hour, least squares */
  double r2;              /* of that fit; 0 for a flat series */
  double nondecreasing;   /* fraction of intervals that did not shrink */
  double old_share;       /* retained objects with old allocation_age, last profile; -1 unknown */
  double first, last, peak;
  uint32_t present;       /* profiles in which the series is nonzero */
  double score;           /* 0 when rejected */
} report_fit;
/* Why a fit is not a suspect, or NULL when it is one. */
const char *report_fit_reject(const report_fit *f);

typedef struct report_suspect {
  uint32_t key;
  double score;
  uint32_t nfits;
  uint32_t *slots; report_fit *fits;  /* growing processes, best first */
} report_suspect;

void report_fit_series(const double *t_hours, const double *y, const double *objs, const double *old, uint32_t n,
                    report_fit *f);
/* Fills the y series of a slot, zero where the key was absent; t in hours since
 * the process's first profile. Returns n. */
uint32_t report_slot_series(const report_series *s, const report_slot *sl, double *t, double *y, double *objs,
                            double *old);
/* Rank all keys; returns the count of suspects (score > 0), sorted; with
 * all, every key follows them, biggest first, with its rejected fits. */
uint32_t report_rank(const report_series *s, int all, report_suspect **out);
void report_suspects_free(report_suspect *v, uint32_t n);
/* Per-process profile order: idx[i] is the profile index of the i-th
 * profile of proc, by time. Returns the count. */
uint32_t report_process_profiles(const report_series *s, uint32_t proc, uint32_t *idx);

/* ---- suspect.c: a suspect's stack, names and labels, for every printer --- */

typedef struct report_frame { const char *fn, *file; long line; } report_frame;
typedef struct report_stack {
  char *buf;          /* the text, split in place */
  report_frame *f;    /* leaf first */
  uint32_t n, site;   /* site: the first frame with Ruby source, else 0 */
} report_stack;

/* Frames with no Ruby source (C functions) say little about who leaks. */
int report_native_file(const char *file);
/* Splits "function\tfile\tline" lines (a function key has no line). */
void report_stack_parse(const char *text, report_stack *st);
void report_stack_free(report_stack *st);
/* The stack shown for a key: the key itself by stack, else its heaviest. */
void report_key_stack(const report_series *s, uint32_t key, report_stack *st);
/* "function (file:line)", "function (file)" or "function". */
void report_frame_title(const report_frame *f, char *buf, size_t n);
/* The class holding most of the key's bytes, and its share (0..1). */
const char *report_main_class(const report_series *s, uint32_t key, double *share);
/* A one-line label that tells suspects with the same title apart: the
 * title, the leaf frame when it is not the site, and the main class. */
void report_suspect_label(const report_series *s, uint32_t key, char *buf, size_t n);
/* The last profile of the suspect's most growing process. */
const char *report_suspect_last_profile(const report_series *s, const report_suspect *x);
/* A ready "go tool pprof -focus=..." command on that profile. */
void report_pprof_command(const report_series *s, const report_suspect *x, char *buf, size_t n);
/* Its key in a form that fits on one line; for a stack or function, its
 * site frame. */
void report_suspect_title(const report_series *s, uint32_t key, char *buf, size_t n);

/* ---- json.c, leaks_json.c ---------------------------------------------- */

void report_json_str(FILE *o, const char *s);
void report_json_num(FILE *o, double v);
void report_json_key(FILE *o, const char *key); /* "key": */
/* leaks --format json: the suspects (up to top), with their stacks. */
void report_print_leaks_json(FILE *out, const report_series *s, const report_suspect *sus, uint32_t nsus,
                             uint32_t top, double fail_above);

/* ---- print.c / html.c ---------------------------------------------------- */

void report_fmt_bytes(double b, char *buf, size_t n);
/* Score and slope as "2.8 MB/hour". */
void report_fmt_rate(double bytes_per_hour, char *buf, size_t n);
const char *report_by_name(report_by by); /* "stack", "function", ... */
const char *report_fmt_pid(int64_t pid, char *buf, size_t n);
void report_sparkline(const double *y, uint32_t n, uint32_t width, char *buf, size_t bufn);
void report_print_leaks(FILE *out, const report_series *s, const report_suspect *sus, uint32_t nsus, uint32_t top);
/* Where sample_rate or heap_sample_probability changed within a process. */
void report_print_sampling_changes(FILE *out, const report_series *s);
void report_print_rejected(FILE *out, const report_series *s, const report_suspect *v, uint32_t n, uint32_t top);
int report_write_html(const char *path, const report_series *s, const report_suspect *sus, uint32_t nsus, uint32_t top);

/* ---- commands ------------------------------------------------------------- */

/* Each takes its own argv: argv[0] is the command's name. */
int report_cmd_leaks(int argc, char **argv);
int report_cmd_merge(int argc, char **argv);
int report_cmd_top(int argc, char **argv);
extern const report_command report_leaks_command, report_merge_command, report_top_command;

#endif

/* rmp-report: shared types of the leak finder, merger and top tables.
 * report_ names are the tool's own; profiles, string tables and maps are
 * proto/'s pprof model (pprof_ names); rmp_ names belong to the core
 * (rmp.h), which the tool does not use. */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pprof_decode.h"
#include "pprof_encode.h"
#include "pprof_model.h"

/* ---- inputs.c: files and directories given on the command line --------- */

/* Expand directories (their *.pprof, *.pb.gz, *.pb files, sorted). Returns
 * the number of paths; errors (missing, empty directory) print and count in
 * *nerr. */
uint32_t report_expand_inputs(char **args, int nargs, char ***out, int *nerr);
/* pid from a "pid=<n>" comment, else from a mem-<pid>-... file name, else -1. */
int64_t report_profile_pid(const pprof_profile *p, const char *path);
/* The number in a "<key>=<number>" comment, else -1. */
double report_comment_number(const pprof_profile *p, const char *key);

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

/* ---- print.c / html.c ---------------------------------------------------- */

void report_fmt_bytes(double b, char *buf, size_t n);
const char *report_fmt_pid(int64_t pid, char *buf, size_t n);
void report_sparkline(const double *y, uint32_t n, uint32_t width, char *buf, size_t bufn);
void report_suspect_title(const report_series *s, uint32_t key, char *buf, size_t n);
void report_print_leaks(FILE *out, const report_series *s, const report_suspect *sus, uint32_t nsus, uint32_t top);
/* Where sample_rate or heap_sample_probability changed within a process. */
void report_print_sampling_changes(FILE *out, const report_series *s);
void report_print_rejected(FILE *out, const report_series *s, const report_suspect *v, uint32_t n, uint32_t top);
int report_write_html(const char *path, const report_series *s, const report_suspect *sus, uint32_t nsus, uint32_t top);

/* ---- commands ------------------------------------------------------------- */

int report_cmd_leaks(int argc, char **argv);
int report_cmd_merge(int argc, char **argv);
int report_cmd_top(int argc, char **argv);

#endif

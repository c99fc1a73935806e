/* rmp-report: shared types of the leak finder, merger and top tables. */
#ifndef RMP_REPORT_H
#define RMP_REPORT_H

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
uint32_t rmp_expand_inputs(char **args, int nargs, char ***out, int *nerr);
/* pid from a "pid=<n>" comment, else from a mem-<pid>-... file name, else -1. */
int64_t rmp_profile_pid(const pprof_profile *p, const char *path);

/* ---- series.c: per call site, per process series ---------------------- */

typedef enum rmp_by { RMP_BY_STACK, RMP_BY_FUNCTION, RMP_BY_FILE, RMP_BY_CLASS } rmp_by;

typedef struct rmp_point { uint32_t prof; double size, objs, old; } rmp_point;

typedef struct rmp_slot {  /* one key in one process */
  uint32_t key, proc;
  rmp_point *pts; uint32_t npts, pts_cap;
} rmp_slot;

typedef struct rmp_profinfo { /* one loaded profile */
  uint32_t proc;
  int64_t time_nanos;
  double total_size, total_objs;
  char *path;
} rmp_profinfo;

typedef struct rmp_procinfo { int64_t pid; uint32_t nprofs; } rmp_procinfo;

typedef struct rmp_series {
  rmp_by by;
  pprof_strings names;   /* shared names: functions, files, classes, frame text */
  pprof_strings keys;    /* key text -> key id */
  pprof_strings stacks;  /* stack text -> stack id */
  rmp_slot *slots; uint32_t nslots, slots_cap;
  pprof_map slot_index;  /* (key << 24 | proc) -> slot */
  rmp_profinfo *profs; uint32_t nprofs, profs_cap;
  rmp_procinfo *procs; uint32_t nprocs, procs_cap;
  pprof_map proc_index;  /* pid -> proc */
  pprof_map stack_of;    /* (key << 32 | stack key) -> bytes index into acc */
  pprof_map class_of;    /* (key << 32 | class name) -> index into acc */
  double *acc; uint32_t nacc, acc_cap;
  uint64_t *acc_pair; /* the map key of each acc entry */
} rmp_series;

void rmp_series_init(rmp_series *s, rmp_by by);
void rmp_series_free(rmp_series *s);
/* Add one decoded profile of process pid. Returns 0, or -1 with err when the
 * profile lacks the retained sample types. */
int rmp_series_add(rmp_series *s, const pprof_profile *p, int64_t pid, const char *path, char *err, size_t errn);
/* A key's text, malloc'd: for stacks "func\tfile\tline" per frame, leaf
 * first, one per line; "func\tfile" by function; the file; the class. */
char *rmp_series_key_text(const rmp_series *s, uint32_t key);
/* The stack key that carried the most bytes of key, and its classes. */
uint32_t rmp_series_top_stack(const rmp_series *s, uint32_t key);
/* Up to max (class name id, bytes) pairs, biggest first. */
uint32_t rmp_series_classes(const rmp_series *s, uint32_t key, uint32_t *cls, double *bytes, uint32_t max);
char *rmp_series_stack_text(const rmp_series *s, uint32_t stack); /* malloc'd */

/* ---- rank.c: growth statistics and the suspect score ------------------- */

typedef struct rmp_fit {
  uint32_t n;
  double slope_per_hour;  /* bytes/hour, least squares */
  double r2;              /* of that fit; 0 for a flat series */
  double nondecreasing;   /* fraction of intervals that did not shrink */
  double old_share;       /* retained objects with old allocation_age, last profile; -1 unknown */
  double first, last, peak;
  uint32_t present;       /* profiles in which the series is nonzero */
  double score;           /* 0 when rejected */
} rmp_fit;
/* Why a fit is not a suspect, or NULL when it is one. */
const char *rmp_fit_reject(const rmp_fit *f);

typedef struct rmp_suspect {
  uint32_t key;
  double score;
  uint32_t nfits;
  uint32_t *slots; rmp_fit *fits;  /* growing processes, best first */
} rmp_suspect;

void rmp_fit_series(const double *t_hours, const double *y, const double *objs, const double *old, uint32_t n,
                    rmp_fit *f);
/* Fills the y series of a slot, zero where the key was absent; t in hours since
 * the process's first profile. Returns n. */
uint32_t rmp_slot_series(const rmp_series *s, const rmp_slot *sl, double *t, double *y, double *objs, double *old);
/* Rank all keys; returns the count of suspects (score > 0), sorted; with
 * all, every key follows them, biggest first, with its rejected fits. */
uint32_t rmp_rank(const rmp_series *s, int all, rmp_suspect **out);
void rmp_suspects_free(rmp_suspect *v, uint32_t n);
/* Per-process profile order: idx[i] is the profile index of the i-th
 * profile of proc, by time. Returns the count. */
uint32_t rmp_proc_profiles(const rmp_series *s, uint32_t proc, uint32_t *idx);

/* ---- print.c / html.c ---------------------------------------------------- */

void rmp_fmt_bytes(double b, char *buf, size_t n);
const char *rmp_fmt_pid(int64_t pid, char *buf, size_t n);
void rmp_sparkline(const double *y, uint32_t n, uint32_t width, char *buf, size_t bufn);
void rmp_suspect_title(const rmp_series *s, uint32_t key, char *buf, size_t n);
void rmp_print_leaks(FILE *out, const rmp_series *s, const rmp_suspect *sus, uint32_t nsus, uint32_t top);
void rmp_print_rejected(FILE *out, const rmp_series *s, const rmp_suspect *v, uint32_t n, uint32_t top);
int rmp_write_html(const char *path, const rmp_series *s, const rmp_suspect *sus, uint32_t nsus, uint32_t top);

/* ---- commands ------------------------------------------------------------- */

int rmp_cmd_leaks(int argc, char **argv);
int rmp_cmd_merge(int argc, char **argv);
int rmp_cmd_top(int argc, char **argv);

#endif

/* rmp-report: shared types of the leak finder, merger and top tables. */
#ifndef RMP_REPORT_H
#define RMP_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- util.c ----------------------------------------------------------- */

void *rmp_xmalloc(size_t n);
void *rmp_xcalloc(size_t n, size_t sz);
void *rmp_xrealloc(void *p, size_t n);
char *rmp_xstrdup(const char *s);
/* Grow *v so it holds at least need elements of size sz. */
void rmp_grow(void **v, uint32_t *cap, uint32_t need, size_t sz);
#define RMP_PUSH(vec, n, cap, val)                                                       \
  do {                                                                                   \
    rmp_grow((void **)&(vec), &(cap), (n) + 1, sizeof(*(vec)));                          \
    (vec)[(n)++] = (val);                                                                \
  } while (0)

uint64_t rmp_hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t rmp_hash_u64(uint64_t x);

/* u64 -> u32 open-addressing map; key 0 is allowed (stored separately). */
typedef struct rmp_map {
  uint64_t *keys;
  uint32_t *vals;
  uint8_t *used;
  uint32_t mask, count;
} rmp_map;
void rmp_map_init(rmp_map *m);
void rmp_map_free(rmp_map *m);
/* Returns a pointer to the value slot; *found says whether it existed. */
uint32_t *rmp_map_put(rmp_map *m, uint64_t key, int *found);
const uint32_t *rmp_map_get(const rmp_map *m, uint64_t key);

/* Interned byte strings; ids are dense from 0. */
typedef struct rmp_strs {
  char *arena;
  size_t arena_len, arena_cap;
  size_t *offs;
  uint32_t *lens;
  uint32_t count, cap;
  rmp_map index; /* hash -> first id with that hash; collisions chain in next */
  uint32_t *next;
} rmp_strs;
void rmp_strs_init(rmp_strs *s);
void rmp_strs_free(rmp_strs *s);
uint32_t rmp_strs_intern(rmp_strs *s, const char *p, size_t len);
/* Appends without interning (a decoded string table may repeat strings). */
uint32_t rmp_strs_append(rmp_strs *s, const char *p, size_t len);
static inline const char *rmp_strs_get(const rmp_strs *s, uint32_t id) { return s->arena + s->offs[id]; }
static inline uint32_t rmp_strs_len(const rmp_strs *s, uint32_t id) { return s->lens[id]; }

/* ---- model.c: one profile in memory ------------------------------------ */

typedef struct rmp_vt { int64_t type, unit; } rmp_vt;
typedef struct rmp_label { int64_t key, str, num, num_unit; } rmp_label;
typedef struct rmp_line { uint64_t func_id; int64_t line; } rmp_line;
typedef struct rmp_fn { uint64_t id; int64_t name, system_name, filename, start_line; } rmp_fn;
typedef struct rmp_loc {
  uint64_t id, mapping_id, address;
  uint32_t line_off, nlines;
} rmp_loc;
typedef struct rmp_sample {
  uint32_t loc_off, nloc;  /* into prof.locids */
  uint32_t lab_off, nlab;  /* into prof.labels */
  uint32_t val_off;        /* into prof.values, nsample_types of them */
} rmp_sample;

typedef struct rmp_prof {
  rmp_strs strs;
  rmp_vt *types; uint32_t ntypes, types_cap;
  rmp_fn *fns; uint32_t nfns, fns_cap;
  rmp_loc *locs; uint32_t nlocs, locs_cap;
  rmp_line *lines; uint32_t nlines, lines_cap;
  rmp_sample *samples; uint32_t nsamples, samples_cap;
  uint64_t *locids; uint32_t nlocids, locids_cap;
  int64_t *values; uint32_t nvalues, values_cap;
  rmp_label *labels; uint32_t nlabels, labels_cap;
  int64_t *comments; uint32_t ncomments, comments_cap;
  int64_t time_nanos, duration_nanos, period, default_sample_type;
  int has_period_type;
  rmp_vt period_type;
  rmp_map fn_index, loc_index, sample_index; /* id -> array index */
  uint32_t *fn_direct, *loc_direct;          /* id -> index + 1, when ids are dense */
  uint64_t fn_direct_n, loc_direct_n;
  uint32_t *sample_next;                     /* sample hash chains */
  uint32_t sample_next_cap;
  uint32_t nmappings;                        /* counted, not kept */
} rmp_prof;

void rmp_prof_init(rmp_prof *p);
void rmp_prof_free(rmp_prof *p);
/* Add a sample (values has p->ntypes entries), summing into an existing one
 * with the same locations and labels. */
void rmp_prof_add_sample(rmp_prof *p, const uint64_t *locids, uint32_t nloc, const rmp_label *labels,
                         uint32_t nlab, const int64_t *values);
/* Index functions and locations by id; 0 on success, else sets *why. */
int rmp_prof_index(rmp_prof *p, const char **why);
const rmp_fn *rmp_prof_fn(const rmp_prof *p, uint64_t id);
const rmp_loc *rmp_prof_loc(const rmp_prof *p, uint64_t id);
const char *rmp_prof_str(const rmp_prof *p, int64_t idx);
/* Index of sample type `name`, or -1. */
int rmp_prof_type(const rmp_prof *p, const char *name);
/* "a/count, b/bytes" into buf. */
void rmp_prof_types_str(const rmp_prof *p, char *buf, size_t n);
/* The sample type to show by default: default_sample_type, else the last. */
int rmp_prof_default_type(const rmp_prof *p);

/* Builder helpers for a profile whose ids the program chooses (merge, generator). */
int64_t rmp_prof_intern(rmp_prof *p, const char *s, size_t len);
uint64_t rmp_prof_add_fn(rmp_prof *p, const char *name, const char *sys, const char *file, int64_t start_line);
uint64_t rmp_prof_add_loc(rmp_prof *p, const rmp_line *lines, uint32_t n, uint64_t address);
void rmp_prof_add_type(rmp_prof *p, const char *type, const char *unit);
void rmp_prof_add_comment(rmp_prof *p, const char *s);

/* ---- decode.c / encode.c ---------------------------------------------- */

/* Gunzip (or read plain) and decode path into p. Returns 0, or -1 with a
 * human-readable reason in err. */
int rmp_decode_file(const char *path, rmp_prof *p, char *err, size_t errn);
/* Encode p (gzipped) to path. 0 or -1 with err. */
int rmp_encode_file(const char *path, const rmp_prof *p, char *err, size_t errn);

/* ---- inputs.c: files and directories given on the command line --------- */

/* Expand directories (their *.pprof, *.pb.gz, *.pb files, sorted). Returns
 * the number of paths; errors (missing, empty directory) print and count in
 * *nerr. */
uint32_t rmp_expand_inputs(char **args, int nargs, char ***out, int *nerr);
/* pid from a "pid=<n>" comment, else from a mem-<pid>-... file name, else -1. */
int64_t rmp_profile_pid(const rmp_prof *p, const char *path);

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
  rmp_strs names;   /* shared names: functions, files, classes, frame text */
  rmp_strs keys;    /* key text -> key id */
  rmp_strs stacks;  /* stack text -> stack id */
  rmp_slot *slots; uint32_t nslots, slots_cap;
  rmp_map slot_index;  /* (key << 24 | proc) -> slot */
  rmp_profinfo *profs; uint32_t nprofs, profs_cap;
  rmp_procinfo *procs; uint32_t nprocs, procs_cap;
  rmp_map proc_index;  /* pid -> proc */
  rmp_map stack_of;    /* (key << 32 | stack key) -> bytes index into acc */
  rmp_map class_of;    /* (key << 32 | class name) -> index into acc */
  double *acc; uint32_t nacc, acc_cap;
  uint64_t *acc_pair; /* the map key of each acc entry */
} rmp_series;

void rmp_series_init(rmp_series *s, rmp_by by);
void rmp_series_free(rmp_series *s);
/* Add one decoded profile of process pid. Returns 0, or -1 with err when the
 * profile lacks the retained sample types. */
int rmp_series_add(rmp_series *s, const rmp_prof *p, int64_t pid, const char *path, char *err, size_t errn);
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

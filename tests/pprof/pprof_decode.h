/* Decodes a pprof profile (raw or gzip) with the nanopb decoder generated
 * from Debian's profile.proto, streaming, with callbacks for every
 * repeated field, and checks it against a pc_model. */
#ifndef PPROF_DECODE_H
#define PPROF_DECODE_H

#include "pprof_case.h"

typedef struct dp_label {
  int64_t key, str, num, num_unit;
} dp_label;

typedef struct dp_sample {
  uint64_t *locs;
  size_t nlocs, clocs;
  int64_t *vals;
  size_t nvals, cvals;
  dp_label *labels;
  size_t nlabels, clabels;
} dp_sample;

typedef struct dp_loc {
  uint64_t id, mapping_id, address;
  size_t nlines;
  uint64_t func_id;
  int64_t line;
} dp_loc;

typedef struct dp_func {
  uint64_t id;
  int64_t name, system_name, filename, start_line;
} dp_func;

typedef struct dp_profile {
  pc_bytes *strings;
  size_t nstrings, cstrings;
  int64_t (*stypes)[2];
  size_t nstypes, cstypes;
  dp_sample *samples;
  size_t nsamples, csamples;
  dp_loc *locs;
  size_t nlocs, clocs;
  dp_func *funcs;
  size_t nfuncs, cfuncs;
  int64_t *comments;
  size_t ncomments, ccomments;
  size_t nmappings;
  int64_t time_nanos, duration_nanos, period, default_sample_type, drop_frames, keep_frames;
  int has_period_type;
  int64_t period_type[2];
} dp_profile;

/* 0 on success; the input may be gzipped (it is then inflated as nanopb
 * reads it). On failure nothing is left to free. */
int dp_decode(const unsigned char *data, size_t len, dp_profile *out);
void dp_free(dp_profile *p);

/* Compare a decoded profile with a case's model; prints what differs and
 * returns the number of problems. */
int dp_check(const pc_case *c, const pc_model *m, const dp_profile *p);

#endif

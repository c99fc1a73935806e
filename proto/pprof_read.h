/* One streaming reader of pprof's profile.proto, shared by everything that
 * checks or consumes what RMP writes: the C tests, the fuzz harnesses and
 * rmp-report. nanopb delivers every repeated field through a callback, one
 * value or one packed run at a time; this reader does that plumbing once and
 * hands each element to a visitor whole (a sample with all its location ids,
 * values and labels; a location with all its lines).
 *
 * The decoder is the one nanopb generates from pprof's own profile.proto, so
 * it stays an oracle independent of rmp_pprof.h. */
#ifndef RMP_PPROF_READ_H
#define RMP_PPROF_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pb_decode.h>
#include "profile.pb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Any callback may be NULL: the element is still decoded, then dropped.
 * A callback returns false to stop the read. Pointers it receives are valid
 * only during the call. */
typedef struct pprof_visitor {
  void *ctx;
  bool (*sample_type)(void *ctx, const perftools_profiles_ValueType *vt);
  bool (*sample)(void *ctx, const uint64_t *locs, size_t nlocs, const int64_t *vals, size_t nvals,
                 const perftools_profiles_Label *labels, size_t nlabels);
  bool (*mapping)(void *ctx, const perftools_profiles_Mapping *m);
  bool (*location)(void *ctx, const perftools_profiles_Location *loc, const perftools_profiles_Line *lines,
                   size_t nlines);
  bool (*function)(void *ctx, const perftools_profiles_Function *f);
  /* s[len] is 0; strings may hold NULs and need not be UTF-8. */
  bool (*string)(void *ctx, const char *s, size_t len);
  bool (*comment)(void *ctx, int64_t string_index);
} pprof_visitor;

/* Reads one Profile from `in` to its end, visiting repeated elements in
 * stream order; the scalar fields (time, period, default_sample_type, ...)
 * are left in *top. false on malformed input, on allocation failure
 * (PB_GET_ERROR(in) is then "out of memory") or when a callback refused. */
bool pprof_read(pb_istream_t *in, const pprof_visitor *v, perftools_profiles_Profile *top);

#ifdef __cplusplus
}
#endif

#endif

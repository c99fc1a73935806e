/* Reading a profile into the model: bytes from a pprof_source (gunzipped
 * when they are gzip), decoded as a stream by nanopb's decoder generated
 * from pprof's own profile.proto (pprof_read.h), then checked as go tool
 * pprof's CheckValid does, plus every string index. Memory is what the
 * model holds, not the input's size. */
#ifndef PPROF_DECODE_H
#define PPROF_DECODE_H

#include <stddef.h>

#include "pprof_model.h"
#include "pprof_source.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  /* Sum samples with the same locations and labels into one (as pprof
   * tools read profiles); without it every sample is kept as written. */
  PPROF_SUM_SAMPLES = 1,
  /* gzip input must be exactly one member with nothing after it. */
  PPROF_ONE_GZIP_MEMBER = 2
};

/* Each returns 0 with *p filled (free it with pprof_profile_free), or -1
 * with nothing to free and a human-readable reason in err. */
int pprof_decode(pprof_source *src, unsigned flags, pprof_profile *p, char *err, size_t errn);
int pprof_decode_file(const char *path, unsigned flags, pprof_profile *p, char *err, size_t errn);
int pprof_decode_bytes(const void *data, size_t len, unsigned flags, pprof_profile *p, char *err, size_t errn);

#ifdef __cplusplus
}
#endif

#endif

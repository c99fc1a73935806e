/* Writing a profile from the model: nanopb's encoder generated from
 * pprof's profile.proto, every repeated field a callback over the model's
 * arrays, output gzipped by zlib as it is written. */
#ifndef PPROF_ENCODE_H
#define PPROF_ENCODE_H

#include <stddef.h>

#include "pprof_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Encode p, gzipped, to path. 0, or -1 with a reason in err. */
int pprof_encode_file(const char *path, const pprof_profile *p, char *err, size_t errn);

#ifdef __cplusplus
}
#endif

#endif

/* Compiles rmp.h's implementation into the harness, with the harness's
 * failing allocator and with RMP_ASSERT always on (release builds define
 * NDEBUG, which would silence assert()). Define RMP_FUZZ_WITH_PPROF first
 * to compile rmp_pprof.h's implementation too. */
#ifndef RMP_FUZZ_IMPL_H
#define RMP_FUZZ_IMPL_H
#include "fuzz_common.h"
#define RMP_MALLOC(sz) rmp_fz_malloc(sz)
#define RMP_REALLOC(p, sz) rmp_fz_realloc(p, sz)
#define RMP_FREE(p) free(p)
#define RMP_ASSERT(x) RMP_FZ_CHECK(x)
#define RMP_IMPLEMENTATION
#include "rmp.h"
#ifdef RMP_FUZZ_WITH_PPROF
#define RMP_PPROF_IMPLEMENTATION
#include "rmp_pprof.h"
#endif
#endif

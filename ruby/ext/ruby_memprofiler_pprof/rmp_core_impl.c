/* The one translation unit holding the implementations of rmp.h and
 * rmp_pprof.h. extconf.rb compiles the extension with -fvisibility=hidden,
 * so these symbols stay private to the .so (RMP_STATIC would force the
 * whole shim into a single file). */
#define RMP_IMPLEMENTATION
#ifdef RMP_EXT_RMP_H
#include RMP_EXT_RMP_H
#else
#include "rmp.h"
#endif
#define RMP_PPROF_IMPLEMENTATION
#ifdef RMP_EXT_RMP_PPROF_H
#include RMP_EXT_RMP_PPROF_H
#else
#include "rmp_pprof.h"
#endif

/* The one translation unit that compiles the single-header implementations. */
#define RMP_IMPLEMENTATION
#include "rmp.h"
#define RMP_PPROF_IMPLEMENTATION
#include "rmp_pprof.h"

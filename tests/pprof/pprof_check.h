/* Checks a profile, decoded into the shared model (proto/pprof_decode.h:
 * nanopb's decoder generated from Debian's profile.proto), against the
 * model a test case computed from its own inputs (pprof_case.h). */
#ifndef PPROF_CHECK_H
#define PPROF_CHECK_H

#include "pprof_case.h"
#include "pprof_model.h"

/* Prints what differs and returns the number of problems. */
int pc_check_profile(const pc_case *c, const pc_model *m, const pprof_profile *p);

#endif

#ifndef PPROF_SCENARIOS_H
#define PPROF_SCENARIOS_H

#include "pprof_case.h"

typedef struct pc_scenario {
  const char *name;
  void (*build)(pc_case *c);
} pc_scenario;

/* Terminated by a NULL name. */
extern const pc_scenario pc_scenarios[];

#endif

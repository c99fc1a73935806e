/* One pprof profile in memory, in the terms of profile.proto: what the
 * decoder (pprof_decode.h) fills, what rmp-report's merge and the test
 * generators build, what the encoder (pprof_encode.h) writes, and what the
 * C tests and fuzz harnesses check rmp_pprof.h's output against.
 *
 * Repeated fields are flat arrays; a sample's locations, labels and values
 * and a location's lines are runs in shared arrays. Strings are the
 * profile's string table, byte for byte (NULs and invalid UTF-8 kept). */
#ifndef PPROF_MODEL_H
#define PPROF_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pprof_tables.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pprof_value_type { int64_t type, unit; } pprof_value_type;
typedef struct pprof_label { int64_t key, str, num, num_unit; } pprof_label;
typedef struct pprof_line { uint64_t function_id; int64_t line; } pprof_line;
typedef struct pprof_function { uint64_t id; int64_t name, system_name, filename, start_line; } pprof_function;
typedef struct pprof_mapping {
  uint64_t id, memory_start, memory_limit, file_offset;
  int64_t filename, build_id;
  int has_functions, has_filenames, has_line_numbers, has_inline_frames;
} pprof_mapping;
typedef struct pprof_location {
  uint64_t id, mapping_id, address;
  uint32_t line_off, nlines; /* into profile.lines */
} pprof_location;
typedef struct pprof_sample {
  uint32_t loc_off, nloc; /* into profile.location_ids */
  uint32_t lab_off, nlab; /* into profile.labels */
  uint32_t val_off;       /* into profile.values, ntypes of them */
} pprof_sample;

typedef struct pprof_profile {
  pprof_strings strings;
  pprof_value_type *types; uint32_t ntypes, types_cap;
  pprof_mapping *mappings; uint32_t nmappings, mappings_cap;
  pprof_function *functions; uint32_t nfunctions, functions_cap;
  pprof_location *locations; uint32_t nlocations, locations_cap;
  pprof_line *lines; uint32_t nlines, lines_cap;
  pprof_sample *samples; uint32_t nsamples, samples_cap;
  uint64_t *location_ids; uint32_t nlocation_ids, location_ids_cap;
  int64_t *values; uint32_t nvalues, values_cap;
  pprof_label *labels; uint32_t nlabels, labels_cap;
  int64_t *comments; uint32_t ncomments, comments_cap;
  int64_t time_nanos, duration_nanos, period, default_sample_type, drop_frames, keep_frames;
  int has_period_type;
  pprof_value_type period_type;
  /* Indexes. By id (pprof_index): id -> array index, or id -> index + 1
   * in a plain array when ids are dense. By content, as samples, functions
   * and locations are added: hash -> index, samples chained in sample_next. */
  pprof_map mapping_index, function_index, location_index;
  uint32_t *function_direct, *location_direct;
  uint64_t function_direct_n, location_direct_n;
  pprof_map sample_index, function_by_content, location_by_content, mapping_by_content;
  uint32_t *sample_next;
  uint32_t sample_next_cap;
} pprof_profile;

void pprof_profile_init(pprof_profile *p);
void pprof_profile_free(pprof_profile *p);

/* Add a sample (values has p->ntypes entries), summing into an earlier one
 * with the same locations and labels. */
void pprof_add_sample(pprof_profile *p, const uint64_t *location_ids, uint32_t nloc, const pprof_label *labels,
                      uint32_t nlab, const int64_t *values);
/* Add a sample as it is, even when an identical one exists. */
void pprof_append_sample(pprof_profile *p, const uint64_t *location_ids, uint32_t nloc, const pprof_label *labels,
                         uint32_t nlab, const int64_t *values);

/* Index functions and locations by id; 0 on success, else -1 with *why
 * (an id 0, or two sharing an id). */
int pprof_index(pprof_profile *p, const char **why);
/* By id, after pprof_index; NULL when there is none. */
const pprof_function *pprof_find_function(const pprof_profile *p, uint64_t id);
const pprof_location *pprof_find_location(const pprof_profile *p, uint64_t id);
const pprof_mapping *pprof_find_mapping(const pprof_profile *p, uint64_t id);
/* String idx ("" when out of range) and its length in bytes. */
const char *pprof_str(const pprof_profile *p, int64_t idx);
size_t pprof_str_len(const pprof_profile *p, int64_t idx);
/* Index of sample type `name`, or -1. */
int pprof_type_index(const pprof_profile *p, const char *name);
/* "a/count, b/bytes" into buf, "(none)" without types. */
void pprof_types_text(const pprof_profile *p, char *buf, size_t n);
/* The sample type to show by default: default_sample_type, else the last. */
int pprof_default_type(const pprof_profile *p);

/* Building a profile whose ids the program chooses (merge, generators):
 * equal strings, functions and locations are shared. */
int64_t pprof_intern(pprof_profile *p, const char *s, size_t len);
uint64_t pprof_add_function(pprof_profile *p, const char *name, const char *sys, const char *file,
                            int64_t start_line);
/* m's strings are p's; equal mappings share an id. */
uint64_t pprof_add_mapping(pprof_profile *p, const pprof_mapping *m);
uint64_t pprof_add_location(pprof_profile *p, uint64_t mapping_id, const pprof_line *lines, uint32_t n,
                            uint64_t address);
void pprof_add_type(pprof_profile *p, const char *type, const char *unit);
void pprof_add_comment(pprof_profile *p, const char *s);

#ifdef __cplusplus
}
#endif

#endif

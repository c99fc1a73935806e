/* The bytes of a profile, from a file or from memory, gunzipped with zlib
 * as they are read when they start with gzip's magic (1f 8b), else passed
 * through. The one gunzip of the tree: rmp-report, the C tests and the
 * fuzz harnesses all read profiles through it (pprof_decode.h).
 *
 * It reads gzip as zlib's gzread does: members that follow one another
 * read as one stream, and bytes after the last member that do not start
 * another are ignored. `members` and `trailing` say whether either
 * happened, for callers that want exactly one member. */
#ifndef PPROF_SOURCE_H
#define PPROF_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pprof_source {
  FILE *fp;                   /* a file, read in chunks into in, */
  const unsigned char *mem;   /* or memory, read in place */
  size_t mem_len, mem_pos;
  const char *name;           /* prefixes zlib's messages, as gzerror does; may be NULL */
  unsigned char *in, *out;    /* input chunk (files), inflated chunk (gzip) */
  size_t out_pos, out_len;
  z_stream zs;                /* next_in/avail_in: the unread input, in both modes */
  int started, gzip, zs_ready, in_member;
  uint32_t members;           /* gzip members begun */
  int trailing;               /* bytes after the last member were ignored */
  int got_bytes;              /* any byte of input was read */
  int ended;                  /* all of the input was read */
  int failed;                 /* corrupt or truncated gzip, or a read error: msg says */
  char msg[256];
} pprof_source;

void pprof_source_memory(pprof_source *s, const void *data, size_t len);
/* Reads fp from where it stands; closing it stays the caller's. */
void pprof_source_file(pprof_source *s, FILE *fp, const char *name);
/* Up to n bytes into buf (skipped when buf is NULL); fewer at the end of
 * the input or on failure. */
size_t pprof_source_read(pprof_source *s, void *buf, size_t n);
void pprof_source_close(pprof_source *s);

#ifdef __cplusplus
}
#endif

#endif

/* rmp_pprof.h - streams an rmp_snapshot (rmp.h) out as a pprof profile
 * (google/pprof profile.proto), raw or gzipped.              version 0.1.0
 *
 * USAGE
 *   In exactly one C or C++ file, after rmp.h's implementation:
 *       #define RMP_PPROF_IMPLEMENTATION
 *       #include "rmp_pprof.h"
 *   Elsewhere just #include "rmp_pprof.h". RMP_STATIC, RMP_MALLOC/RMP_FREE
 *   work as in rmp.h. Define RMP_PPROF_NO_ZLIB to drop the gzip parts (and
 *   the zlib include) when embedding without zlib.
 *
 *   The common case, a gzipped profile in memory:
 *       rmp_buf out = {0};
 *       rmp_pprof_opts opts = {0};  opts.pid = getpid();  opts.program = argv[0];
 *       if (rmp_pprof_encode_gzip(&snap, &opts, &out) == RMP_OK)
 *           fwrite(out.data, 1, out.len, f);
 *       rmp_buf_free(&out);
 *
 *   Streaming to any destination through a sink (0 = success):
 *       int my_sink(void *ctx, const void *buf, size_t len);
 *       rmp_gzip_sink gz;
 *       if (rmp_gzip_begin(&gz, my_sink, ctx, 6) == RMP_OK) {
 *           rmp_status s = rmp_pprof_encode(&snap, &opts, rmp_gzip_write, &gz);
 *           rmp_status e = rmp_gzip_end(&gz);   // always, also after errors
 *           if (s == RMP_OK) s = e;
 *       }
 *
 * WHAT IS WRITTEN
 *   sample_type  allocations/count, allocation_size/bytes,
 *                retained_objects/count, retained_size/bytes (in that
 *                order); default_sample_type = retained_size.
 *   sample       one per distinct (stack, object class, age bucket), values
 *                the sums of the samples' weights (each at least 1), and
 *                of weight * size: unbiased estimates of the true totals.
 *                Sums are rounded and saturate at INT64_MAX.
 *                Labels: "object_class" (string; left out when the class
 *                name is "") and "allocation_age" (numeric, unit "gcs"):
 *                the log2 bucket floor of rmp_age(epoch_now, epoch):
 *                0,1,2,4,8,...
 *   mapping      one, id 1: has_functions, has_filenames and
 *                has_line_numbers set (the names are already there, so
 *                pprof tries no symbolization), filename opts->program
 *                (pprof's "File:" header) or none when that is NULL or "".
 *   location     one per frame a written sample uses, id = frame id + 1,
 *                mapping 1, one Line each; function: one per function
 *                those use, id = func id + 1. A function's system_name
 *                is left empty (string 0) when it equals its name: see
 *                rmp_pprof_emit_functions_.
 *   string_table the snapshot's strings at their own ids (so id 0 = ""),
 *                then the encoder's fixed strings, the comment lines and
 *                opts->program. Invalid UTF-8 bytes become U+FFFD each;
 *                NULs are kept.
 *   comments     rmp_version, sample_rate, allocation_retain_rate,
 *                heap_sample_probability, this interval's heap_thinnings,
 *                allocation_candidates, allocation_samples,
 *                young_objects_left_out and dropped_* counters, pid (when
 *                nonzero), the scaling rule, then opts->comments.
 *
 * ORDER
 *   sample_type, samples (sorted by stack id, class, age), mapping,
 *   locations, functions, string_table, time/duration, period_type/period,
 *   comments (packed), default_sample_type. The same snapshot always
 *   encodes to the same bytes.
 *
 * MEMORY
 *   Output leaves through the sink as it is produced, in 32 KiB chunks.
 *   Scratch, all freed before returning:
 *   - the message being built, reused (about 5 bytes per frame of the
 *     deepest stack);
 *   - max(RMP_MAX_DEPTH, 14336) uint32s: first the radix histograms, then
 *     one stack's frame ids;
 *   - one bit per frame and per function (which ones samples use);
 *   - 8 bytes per sample (live entries + allocation samples): an index
 *     array radix-sorted by (stack, class, age bucket), and its scratch.
 *   Nothing grows with the number of distinct keys or with the output.
 */
#ifndef RMP_PPROF_H
#define RMP_PPROF_H

#define RMP_PPROF_VERSION "0.1.0"

#include "rmp.h"
#ifndef RMP_PPROF_NO_ZLIB
#include <zlib.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Receives the encoded bytes in order; returns 0 on success. Any other
 * value stops the encoding, which then returns RMP_ERR_SINK. */
typedef int (*rmp_sink_fn)(void *ctx, const void *buf, size_t len);

/* Zero-initialize it ({0} or memset): fields may be added at the end. */
typedef struct rmp_pprof_opts {
  int64_t pid;                 /* 0 = unknown; else a comment "pid=<n>" */
  const char *const *comments; /* extra comment lines, may be NULL */
  size_t ncomments;
  /* The Mapping's filename, naming the program (a Ruby process passes
   * $PROGRAM_NAME); NULL or "" writes the Mapping without one. */
  const char *program;
} rmp_pprof_opts;

/* Write snap as a raw (uncompressed) protobuf Profile. opts may be NULL.
 * RMP_OK, RMP_ERR_SINK or RMP_ERR_NOMEM; the snapshot is not modified. */
RMP_DEF rmp_status rmp_pprof_encode(const rmp_snapshot *snap, const rmp_pprof_opts *opts,
                                    rmp_sink_fn sink, void *ctx);

/* A growable memory sink: pass rmp_buf_sink with a zeroed rmp_buf. */
typedef struct rmp_buf {
  unsigned char *data;
  size_t len, cap;
} rmp_buf;

RMP_DEF int rmp_buf_sink(void *buf, const void *p, size_t n);
RMP_DEF void rmp_buf_free(rmp_buf *b);

#ifndef RMP_PPROF_NO_ZLIB
/* A gzip-compressing sink in front of another sink. */
typedef struct rmp_gzip_sink {
  z_stream zs;
  rmp_sink_fn next;
  void *next_ctx;
  unsigned char *out; /* deflate's output chunk, RMP_PPROF_GZIP_CHUNK bytes */
  int state;          /* 0 idle/ended, 1 writing, 2 failed */
  rmp_status err;
} rmp_gzip_sink;

/* level: zlib's 0-9 or -1 (Z_DEFAULT_COMPRESSION). */
RMP_DEF rmp_status rmp_gzip_begin(rmp_gzip_sink *gz, rmp_sink_fn next, void *next_ctx, int level);
/* An rmp_sink_fn: pass the rmp_gzip_sink as ctx. */
RMP_DEF int rmp_gzip_write(void *gz, const void *p, size_t n);
/* Writes the gzip trailer and frees zlib's state. Call it on error paths
 * too (it then only frees); calling it twice, or after a failed begin, is
 * harmless. Returns the first error the stream met. */
RMP_DEF rmp_status rmp_gzip_end(rmp_gzip_sink *gz);

/* Encode snap gzipped (zlib level 1, as Go's runtime/pprof) and append the
 * bytes to out. On failure out->len is restored. */
RMP_DEF rmp_status rmp_pprof_encode_gzip(const rmp_snapshot *snap, const rmp_pprof_opts *opts,
                                         rmp_buf *out);
#endif

#ifdef __cplusplus
}
#endif
#endif /* RMP_PPROF_H */

/* ===================================================================== */
/* Implementation                                                        */
/* ===================================================================== */
#if defined(RMP_PPROF_IMPLEMENTATION) && !defined(RMP_PPROF_IMPLEMENTATION_DONE)
#define RMP_PPROF_IMPLEMENTATION_DONE

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef RMP_PPROF_OUT_CHUNK
#define RMP_PPROF_OUT_CHUNK 32768
#endif
#ifndef RMP_PPROF_GZIP_CHUNK
#define RMP_PPROF_GZIP_CHUNK 16384
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------------- */
/* Protobuf writer: a staging chunk in front of the sink, and a reused   */
/* scratch buffer in which one top-level message is built at a time.     */
/* --------------------------------------------------------------------- */

/* Field numbers of profile.proto, named after Go's runtime/pprof
 * (src/runtime/pprof/proto.go: tagProfile_SampleType = 1 and so on), each
 * with its type. Every field of the messages written is listed, also those
 * rmp leaves out (drop_frames, keep_frames, a Location's address and
 * is_folded, a Mapping's addresses and build_id), so that no number goes
 * unnamed. */
enum {
  /* message Profile */
  RMP_PB_PROFILE_SAMPLE_TYPE_ = 1,          /* repeated ValueType */
  RMP_PB_PROFILE_SAMPLE_ = 2,               /* repeated Sample */
  RMP_PB_PROFILE_MAPPING_ = 3,              /* repeated Mapping (one written) */
  RMP_PB_PROFILE_LOCATION_ = 4,             /* repeated Location */
  RMP_PB_PROFILE_FUNCTION_ = 5,             /* repeated Function */
  RMP_PB_PROFILE_STRING_TABLE_ = 6,         /* repeated string */
  RMP_PB_PROFILE_DROP_FRAMES_ = 7,          /* int64 (string table index) */
  RMP_PB_PROFILE_KEEP_FRAMES_ = 8,          /* int64 (string table index) */
  RMP_PB_PROFILE_TIME_NANOS_ = 9,           /* int64 */
  RMP_PB_PROFILE_DURATION_NANOS_ = 10,      /* int64 */
  RMP_PB_PROFILE_PERIOD_TYPE_ = 11,         /* ValueType */
  RMP_PB_PROFILE_PERIOD_ = 12,              /* int64 */
  RMP_PB_PROFILE_COMMENT_ = 13,             /* repeated int64 (string table index) */
  RMP_PB_PROFILE_DEFAULT_SAMPLE_TYPE_ = 14, /* int64 (string table index) */

  /* message ValueType */
  RMP_PB_VALUE_TYPE_TYPE_ = 1, /* int64 (string table index) */
  RMP_PB_VALUE_TYPE_UNIT_ = 2, /* int64 (string table index) */

  /* message Sample */
  RMP_PB_SAMPLE_LOCATION_ID_ = 1, /* repeated uint64 (packed) */
  RMP_PB_SAMPLE_VALUE_ = 2,       /* repeated int64 (packed) */
  RMP_PB_SAMPLE_LABEL_ = 3,       /* repeated Label */

  /* message Label */
  RMP_PB_LABEL_KEY_ = 1,      /* int64 (string table index) */
  RMP_PB_LABEL_STR_ = 2,      /* int64 (string table index) */
  RMP_PB_LABEL_NUM_ = 3,      /* int64 */
  RMP_PB_LABEL_NUM_UNIT_ = 4, /* int64 (string table index) */

  /* message Mapping */
  RMP_PB_MAPPING_ID_ = 1,                /* uint64 */
  RMP_PB_MAPPING_MEMORY_START_ = 2,      /* uint64 */
  RMP_PB_MAPPING_MEMORY_LIMIT_ = 3,      /* uint64 */
  RMP_PB_MAPPING_FILE_OFFSET_ = 4,       /* uint64 */
  RMP_PB_MAPPING_FILENAME_ = 5,          /* int64 (string table index) */
  RMP_PB_MAPPING_BUILD_ID_ = 6,          /* int64 (string table index) */
  RMP_PB_MAPPING_HAS_FUNCTIONS_ = 7,     /* bool */
  RMP_PB_MAPPING_HAS_FILENAMES_ = 8,     /* bool */
  RMP_PB_MAPPING_HAS_LINE_NUMBERS_ = 9,  /* bool */
  RMP_PB_MAPPING_HAS_INLINE_FRAMES_ = 10, /* bool */

  /* message Location */
  RMP_PB_LOCATION_ID_ = 1,         /* uint64 */
  RMP_PB_LOCATION_MAPPING_ID_ = 2, /* uint64 */
  RMP_PB_LOCATION_ADDRESS_ = 3,    /* uint64 */
  RMP_PB_LOCATION_LINE_ = 4,       /* repeated Line */
  RMP_PB_LOCATION_IS_FOLDED_ = 5,  /* bool */

  /* message Line */
  RMP_PB_LINE_FUNCTION_ID_ = 1, /* uint64 */
  RMP_PB_LINE_LINE_ = 2,        /* int64 */

  /* message Function */
  RMP_PB_FUNCTION_ID_ = 1,          /* uint64 */
  RMP_PB_FUNCTION_NAME_ = 2,        /* int64 (string table index) */
  RMP_PB_FUNCTION_SYSTEM_NAME_ = 3, /* int64 (string table index) */
  RMP_PB_FUNCTION_FILENAME_ = 4,    /* int64 (string table index) */
  RMP_PB_FUNCTION_START_LINE_ = 5   /* int64 */
};

/* A field's key is its number above the 3-bit wire type. */
#define RMP_PB_WIRE_BITS_ 3
#define RMP_PB_VARINT_ 0 /* wire type of int64, uint64, bool */
#define RMP_PB_LEN_ 2    /* wire type of strings, messages, packed repeated scalars */
#define RMP_PB_KEY_(field, wire) (((uint64_t)(field) << RMP_PB_WIRE_BITS_) | (uint64_t)(wire))

typedef struct rmp_pb_ {
  rmp_sink_fn sink;
  void *ctx;
  rmp_status err;
  unsigned char *out;
  size_t out_len;
  unsigned char *msg;
  size_t msg_cap;
} rmp_pb_;

static size_t rmp_pb_varint_len_(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static unsigned char *rmp_pb_varint_(unsigned char *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  *p++ = (unsigned char)v;
  return p;
}

/* A scalar field; proto3 leaves zeros out. */
static unsigned char *rmp_pb_field_(unsigned char *p, unsigned tag, uint64_t v) {
  if (v == 0) return p;
  p = rmp_pb_varint_(p, RMP_PB_KEY_(tag, RMP_PB_VARINT_));
  return rmp_pb_varint_(p, v);
}

static size_t rmp_pb_field_len_(unsigned tag, uint64_t v) {
  return v == 0 ? 0 : rmp_pb_varint_len_(RMP_PB_KEY_(tag, RMP_PB_VARINT_)) + rmp_pb_varint_len_(v);
}

static void rmp_pb_flush_(rmp_pb_ *pb) {
  if (pb->err == RMP_OK && pb->out_len > 0 && pb->sink(pb->ctx, pb->out, pb->out_len) != 0)
    pb->err = RMP_ERR_SINK;
  pb->out_len = 0;
}

static void rmp_pb_emit_(rmp_pb_ *pb, const void *p, size_t n) {
  if (pb->err != RMP_OK || n == 0) return;
  if (n > RMP_PPROF_OUT_CHUNK - pb->out_len) {
    rmp_pb_flush_(pb);
    if (pb->err != RMP_OK) return;
    if (n >= RMP_PPROF_OUT_CHUNK) {
      if (pb->sink(pb->ctx, p, n) != 0) pb->err = RMP_ERR_SINK;
      return;
    }
  }
  memcpy(pb->out + pb->out_len, p, n);
  pb->out_len += n;
}

/* Key and length of a length-delimited field whose body follows. */
static unsigned char *rmp_pb_len_header_(unsigned char *p, unsigned tag, uint64_t len) {
  p = rmp_pb_varint_(p, RMP_PB_KEY_(tag, RMP_PB_LEN_));
  return rmp_pb_varint_(p, len);
}

static void rmp_pb_emit_header_(rmp_pb_ *pb, unsigned tag, uint64_t len) {
  unsigned char h[20];
  rmp_pb_emit_(pb, h, (size_t)(rmp_pb_len_header_(h, tag, len) - h));
}

/* Scratch for a message of at most n bytes; NULL (and err set) on OOM. */
static unsigned char *rmp_pb_scratch_(rmp_pb_ *pb, size_t n) {
  if (pb->err != RMP_OK) return NULL;
  if (n > pb->msg_cap) {
    size_t cap = pb->msg_cap ? pb->msg_cap : 256;
    unsigned char *m;
    while (cap < n) cap *= 2;
    m = (unsigned char *)RMP_MALLOC(cap);
    if (!m) {
      pb->err = RMP_ERR_NOMEM;
      return NULL;
    }
    RMP_FREE(pb->msg);
    pb->msg = m;
    pb->msg_cap = cap;
  }
  return pb->msg;
}

/* The scratch message [msg, end) as field tag of the profile. */
static void rmp_pb_emit_msg_(rmp_pb_ *pb, unsigned tag, const unsigned char *end) {
  size_t n = (size_t)(end - pb->msg);
  rmp_pb_emit_header_(pb, tag, n);
  rmp_pb_emit_(pb, pb->msg, n);
}

static void rmp_pb_emit_varint_field_(rmp_pb_ *pb, unsigned tag, uint64_t v) {
  unsigned char b[22];
  unsigned char *e = rmp_pb_field_(b, tag, v);
  rmp_pb_emit_(pb, b, (size_t)(e - b));
}

/* --------------------------------------------------------------------- */
/* UTF-8: each byte that does not belong to a well-formed sequence is     */
/* written as U+FFFD, so the profile stays valid proto3.                  */
/* --------------------------------------------------------------------- */

/* Length of the well-formed sequence at s (1-4), or 0 if s[0] starts none. */
static size_t rmp_utf8_seq_(const unsigned char *s, size_t n) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len, i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
  } else
    return 0;
  if (n < len) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return len;
}

static uint64_t rmp_utf8_fixed_len_(const unsigned char *s, size_t n) {
  uint64_t out = 0;
  size_t i = 0;
  while (i < n) {
    size_t k;
    if (s[i] < 0x80) { /* ASCII: the common case, no call */
      out++;
      i++;
      continue;
    }
    k = rmp_utf8_seq_(s + i, n - i);
    if (k) {
      out += k;
      i += k;
    } else {
      out += 3;
      i++;
    }
  }
  return out;
}

static void rmp_pb_emit_string_(rmp_pb_ *pb, unsigned tag, const char *str, size_t n) {
  static const unsigned char repl[3] = {0xEF, 0xBF, 0xBD};
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, run = 0;
  rmp_pb_emit_header_(pb, tag, rmp_utf8_fixed_len_(s, n));
  while (i < n && pb->err == RMP_OK) {
    size_t k;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    k = rmp_utf8_seq_(s + i, n - i);
    if (k) {
      i += k;
      continue;
    }
    rmp_pb_emit_(pb, s + run, i - run);
    rmp_pb_emit_(pb, repl, 3);
    run = ++i;
  }
  rmp_pb_emit_(pb, s + run, n - run);
}

/* --------------------------------------------------------------------- */
/* Aggregation by sorting rather than hashing: one index per sample (live */
/* entries, then allocation samples) is LSD-radix-sorted by (stack, class,*/
/* age bucket), so each distinct key becomes a run whose sums are taken   */
/* as the run is written. That costs 8 bytes per sample (the index and    */
/* the radix pass's scratch) however many keys are distinct, and samples  */
/* leave in stack order: deterministic, and kinder to gzip.               */
/* Each run sums its samples' weights and weight * size in doubles.       */
/* --------------------------------------------------------------------- */

typedef struct rmp_pprof_agg_ {
  uint32_t stack, klass, age; /* the key; age is the bucket index */
  /* Sums of the samples' weights, and of weight * size: doubles are exact
   * for integer sums below 2^53, and every weight is at least 1. */
  double live_n, alloc_n, live_bytes, alloc_bytes;
} rmp_pprof_agg_;

#define RMP_PPROF_RADIX_BITS_ 11
#define RMP_PPROF_AGE_BITS_ 6 /* bucket indices 0..32 */

static inline unsigned rmp_pprof_bitlen_(uint32_t v) {
  unsigned b = 0;
  if (v >> 16) { v >>= 16; b += 16; }
  if (v >> 8) { v >>= 8; b += 8; }
  if (v >> 4) { v >>= 4; b += 4; }
  if (v >> 2) { v >>= 2; b += 2; }
  if (v >> 1) { v >>= 1; b += 1; }
  return b + v;
}

/* Bucket index of an age: 0 for 0, else floor(log2(age)) + 1 (1..32). */
static inline unsigned rmp_pprof_age_bucket_(uint32_t now, uint32_t epoch) {
  return rmp_pprof_bitlen_(rmp_age(now, epoch));
}

/* A sum of weights as a value: rounded, saturated at INT64_MAX (an
 * infinite weight, from a zero probability, saturates too). */
static int64_t rmp_pprof_value_(double x) {
  double r;
  if (!(x >= 0.0)) return 0;
  if (x >= 9223372036854775807.0) return INT64_MAX; /* 2^63 */
  /* Not x + 0.5: from 2^52 on that sum rounds, moving odd whole sums up. */
  r = floor(x);
  if (x - r >= 0.5) r += 1.0;
  return r >= 9223372036854775807.0 ? INT64_MAX : (int64_t)r;
}

/* A sample's weight as the encoder counts it: at least 1 (NaN and
 * anything below 1 are a corrupt snapshot's), infinity kept. */
static double rmp_pprof_weight_(float w) { return w >= 1.0f ? (double)w : 1.0; }

/* --------------------------------------------------------------------- */
/* The fixed strings, appended after the snapshot's.                     */
/* --------------------------------------------------------------------- */

enum {
  RMP_PPROF_S_ALLOCATIONS_,
  RMP_PPROF_S_COUNT_,
  RMP_PPROF_S_ALLOCATION_SIZE_,
  RMP_PPROF_S_BYTES_,
  RMP_PPROF_S_RETAINED_OBJECTS_,
  RMP_PPROF_S_RETAINED_SIZE_,
  RMP_PPROF_S_OBJECT_CLASS_,
  RMP_PPROF_S_ALLOCATION_AGE_,
  RMP_PPROF_S_GCS_,
  RMP_PPROF_S_NFIXED_
};

static const char *const rmp_pprof_fixed_[RMP_PPROF_S_NFIXED_] = {
    "allocations", "count", "allocation_size", "bytes", "retained_objects",
    "retained_size", "object_class", "allocation_age", "gcs"};

#define RMP_PPROF_NBUILTIN_ 14
#define RMP_PPROF_LINE_ 160

typedef struct rmp_pprof_comments_ {
  char line[RMP_PPROF_NBUILTIN_][RMP_PPROF_LINE_];
  size_t n;
} rmp_pprof_comments_;

/* The shortest %g form that reads back as v (0.1, not 0.10000000000000001).
 * %g obeys LC_NUMERIC; a profile must not depend on the host's locale. */
static void rmp_pprof_fmt_double_(char *buf, const char *key, double v) {
  char *p;
  int prec;
  for (prec = 1; prec < 17; prec++) {
    snprintf(buf, RMP_PPROF_LINE_, "%.*g", prec, v);
    for (p = buf; *p; p++)
      if (*p == ',') *p = '.';
    if (strtod(buf, NULL) == v) break;
  }
  snprintf(buf, RMP_PPROF_LINE_, "%s=%.*g", key, prec, v);
  for (p = buf; *p; p++)
    if (*p == ',') *p = '.';
}

static void rmp_pprof_fmt_count_(char *buf, const char *key, uint64_t v) {
  snprintf(buf, RMP_PPROF_LINE_, "%s=%llu", key, (unsigned long long)v);
}

/* Every count is this interval's: a merged series adds up. */
static void rmp_pprof_builtin_comments_(const rmp_snapshot *snap, const rmp_pprof_opts *opts,
                                        rmp_pprof_comments_ *c) {
  size_t n = 0;
  snprintf(c->line[n++], RMP_PPROF_LINE_, "rmp_version=%s", RMP_VERSION);
  rmp_pprof_fmt_double_(c->line[n++], "sample_rate", snap->sample_rate);
  rmp_pprof_fmt_double_(c->line[n++], "allocation_retain_rate", snap->retain_rate);
  rmp_pprof_fmt_double_(c->line[n++], "heap_sample_probability", snap->heap_keep);
  rmp_pprof_fmt_count_(c->line[n++], "heap_thinnings", snap->heap_thinnings);
  rmp_pprof_fmt_count_(c->line[n++], "allocation_candidates", snap->alloc_candidates);
  rmp_pprof_fmt_count_(c->line[n++], "allocation_samples", snap->nallocs);
  rmp_pprof_fmt_count_(c->line[n++], "young_objects_left_out", snap->young_left_out);
  rmp_pprof_fmt_count_(c->line[n++], "dropped_heap_samples", snap->heap_dropped);
  rmp_pprof_fmt_count_(c->line[n++], "dropped_allocation_samples", snap->allocs_dropped);
  rmp_pprof_fmt_count_(c->line[n++], "dropped_stacks", snap->stacks_dropped);
  if (opts && opts->pid != 0)
    snprintf(c->line[n++], RMP_PPROF_LINE_, "pid=%lld", (long long)opts->pid);
  snprintf(c->line[n++], RMP_PPROF_LINE_, "%s",
           "values are estimates: each sample counts 1/(the probability that it was kept)");
  c->n = n;
}

/* --------------------------------------------------------------------- */
/* The encoder                                                           */
/* --------------------------------------------------------------------- */

typedef struct rmp_pprof_enc_ {
  const rmp_snapshot *snap;
  rmp_pb_ pb;
  uint32_t *idx, *tmp;       /* sample indices, sorted; radix scratch */
  uint32_t nlive, n;         /* live entries come first among the n */
  uint32_t nnodes;
  uint32_t *frame_ids;       /* radix histograms, then one stack at a time */
  unsigned char *loc_bytes;  /* the last stack's packed location_id field */
  size_t loc_nbytes;
  uint32_t loc_stack;        /* whose bytes loc_bytes holds; UINT32_MAX: none */
  unsigned char *frame_used; /* bitmaps: which frames/functions samples use */
  unsigned char *func_used;
  uint32_t nframes, nfuncs;  /* 0 when the snapshot has no such array */
  uint64_t nstrings;         /* the snapshot's, at least 1 (for "") */
} rmp_pprof_enc_;

static uint32_t rmp_pprof_str_(const rmp_pprof_enc_ *e, uint32_t id) {
  return id < e->snap->strings.count ? id : 0;
}

/* The string id of fixed string k (RMP_PPROF_S_*): they follow the snapshot's. */
static uint64_t rmp_pprof_fixed_id_(const rmp_pprof_enc_ *e, unsigned k) { return e->nstrings + k; }

/* The key of sample i; ids out of range (a corrupt snapshot) read as 0. */
static inline void rmp_pprof_key_(const rmp_pprof_enc_ *e, uint32_t i, uint32_t k[3]) {
  const rmp_snapshot *s = e->snap;
  uint32_t stack, klass, epoch;
  if (i < e->nlive) {
    const rmp_live_entry *l = &s->live[i];
    stack = l->stack, klass = l->klass, epoch = l->epoch;
  } else {
    const rmp_alloc_sample *a = &s->allocs[i - e->nlive];
    stack = a->stack, klass = a->klass, epoch = a->epoch;
  }
  k[0] = rmp_pprof_age_bucket_(s->epoch_now, epoch);
  k[1] = klass < s->strings.count ? klass : 0;
  k[2] = stack < e->nnodes ? stack : 0;
}

/* One field of sample i's key, reading only what that field needs. */
static inline uint32_t rmp_pprof_field_(const rmp_pprof_enc_ *e, uint32_t i, int field) {
  const rmp_snapshot *s = e->snap;
  uint32_t v;
  if (field == 0) {
    v = i < e->nlive ? s->live[i].epoch : s->allocs[i - e->nlive].epoch;
    return rmp_pprof_age_bucket_(s->epoch_now, v);
  }
  if (field == 1) {
    v = i < e->nlive ? s->live[i].klass : s->allocs[i - e->nlive].klass;
    return v < s->strings.count ? v : 0;
  }
  v = i < e->nlive ? s->live[i].stack : s->allocs[i - e->nlive].stack;
  return v < e->nnodes ? v : 0;
}

#define RMP_PPROF_RADIX_MASK_ ((1u << RMP_PPROF_RADIX_BITS_) - 1)
#define RMP_PPROF_MAX_PASSES_ 7 /* age 1 + class 3 + stack 3 */

/* Stable LSD passes, least significant field first: age, class, stack.
 * All histograms come from one read of the keys; a pass whose digit is
 * the same for every sample is skipped. hist holds MAX_PASSES << BITS. */
static void rmp_pprof_sort_(rmp_pprof_enc_ *e, uint32_t *hist) {
  unsigned fbits[3], npass = 0, p;
  int pfield[RMP_PPROF_MAX_PASSES_];
  unsigned pshift[RMP_PPROF_MAX_PASSES_];
  uint32_t i, *a = e->idx, *b = e->tmp, *t;
  int f;
  fbits[0] = RMP_PPROF_AGE_BITS_;
  fbits[1] = e->snap->strings.count ? rmp_pprof_bitlen_(e->snap->strings.count - 1) : 0;
  fbits[2] = e->nnodes ? rmp_pprof_bitlen_(e->nnodes - 1) : 0;
  for (f = 0; f < 3; f++) {
    unsigned shift;
    for (shift = 0; shift < fbits[f]; shift += RMP_PPROF_RADIX_BITS_) {
      pfield[npass] = f;
      pshift[npass++] = shift;
    }
  }
  for (i = 0; i < e->n; i++) a[i] = i;
  if (e->n < 2) return;
  memset(hist, 0, (sizeof(uint32_t) * npass) << RMP_PPROF_RADIX_BITS_);
  for (i = 0; i < e->n; i++) {
    uint32_t k[3];
    for (f = 0; f < 3; f++) k[f] = rmp_pprof_field_(e, i, f);
    for (p = 0; p < npass; p++)
      hist[(p << RMP_PPROF_RADIX_BITS_) + ((k[pfield[p]] >> pshift[p]) & RMP_PPROF_RADIX_MASK_)]++;
  }
  for (p = 0; p < npass; p++) {
    uint32_t *h = hist + (p << RMP_PPROF_RADIX_BITS_), sum = 0, d;
    if (h[(rmp_pprof_field_(e, 0, pfield[p]) >> pshift[p]) & RMP_PPROF_RADIX_MASK_] == e->n) continue;
    for (d = 0; d <= RMP_PPROF_RADIX_MASK_; d++) {
      uint32_t c = h[d];
      h[d] = sum;
      sum += c;
    }
    for (i = 0; i < e->n; i++) {
      uint32_t j = a[i];
      b[h[(rmp_pprof_field_(e, j, pfield[p]) >> pshift[p]) & RMP_PPROF_RADIX_MASK_]++] = j;
    }
    t = a, a = b, b = t;
  }
  e->idx = a;
  e->tmp = b;
}

/* --------------------------------------------------------------------- */
/* The Profile's fields, each written by a function of its own           */
/* --------------------------------------------------------------------- */

/* A ValueType field: the fixed strings type and unit (RMP_PPROF_S_*). */
static void rmp_pprof_emit_value_type_(rmp_pprof_enc_ *e, unsigned field, unsigned type,
                                       unsigned unit) {
  unsigned char b[24], *p = b;
  p = rmp_pb_field_(p, RMP_PB_VALUE_TYPE_TYPE_, rmp_pprof_fixed_id_(e, type));
  p = rmp_pb_field_(p, RMP_PB_VALUE_TYPE_UNIT_, rmp_pprof_fixed_id_(e, unit));
  rmp_pb_emit_header_(&e->pb, field, (size_t)(p - b));
  rmp_pb_emit_(&e->pb, b, (size_t)(p - b));
}

/* sample_type: the four values of every Sample, in this order. */
static void rmp_pprof_emit_sample_types_(rmp_pprof_enc_ *e) {
  const unsigned f = RMP_PB_PROFILE_SAMPLE_TYPE_;
  rmp_pprof_emit_value_type_(e, f, RMP_PPROF_S_ALLOCATIONS_, RMP_PPROF_S_COUNT_);
  rmp_pprof_emit_value_type_(e, f, RMP_PPROF_S_ALLOCATION_SIZE_, RMP_PPROF_S_BYTES_);
  rmp_pprof_emit_value_type_(e, f, RMP_PPROF_S_RETAINED_OBJECTS_, RMP_PPROF_S_COUNT_);
  rmp_pprof_emit_value_type_(e, f, RMP_PPROF_S_RETAINED_SIZE_, RMP_PPROF_S_BYTES_);
}

/* Sums the run of equal keys that starts at sorted position i into a;
 * returns the position after the run. */
static uint32_t rmp_pprof_sum_run_(const rmp_pprof_enc_ *e, uint32_t i, rmp_pprof_agg_ *a) {
  const rmp_snapshot *s = e->snap;
  uint32_t k[3], kj[3];
  rmp_pprof_key_(e, e->idx[i], k);
  memset(a, 0, sizeof *a);
  a->age = k[0];
  a->klass = k[1];
  a->stack = k[2];
  for (; i < e->n; i++) {
    uint32_t j = e->idx[i];
    double w;
    rmp_pprof_key_(e, j, kj);
    if (kj[0] != k[0] || kj[1] != k[1] || kj[2] != k[2]) break;
    /* A size of 0 adds no bytes, also at an infinite weight (inf * 0
     * would be NaN, and a NaN sum writes 0 for the whole sample). */
    if (j < e->nlive) {
      w = rmp_pprof_weight_(s->live[j].weight);
      a->live_n += w;
      if (s->live[j].size) a->live_bytes += w * (double)s->live[j].size;
    } else {
      w = rmp_pprof_weight_(s->allocs[j - e->nlive].weight);
      a->alloc_n += w;
      if (s->allocs[j - e->nlive].size) a->alloc_bytes += w * (double)s->allocs[j - e->nlive].size;
    }
  }
  return i;
}

/* Sample.location_id of a stack into e->loc_bytes (packed, one location
 * per frame, leaf first), marking the frames used. Samples come sorted by
 * stack, and one stack often has several (class, age) samples: the field
 * is built once per stack and copied. */
static void rmp_pprof_stack_locations_(rmp_pprof_enc_ *e, uint32_t stack) {
  const rmp_stacks *st = &e->snap->stacks;
  uint32_t depth = 0, i;
  uint64_t len = 0;
  unsigned char *p = e->loc_bytes;
  if (stack == e->loc_stack) return;
  if (stack != 0 && stack < st->nnodes) depth = rmp_stack_frames(st, stack, e->frame_ids, RMP_MAX_DEPTH);
  if (depth > RMP_MAX_DEPTH) depth = RMP_MAX_DEPTH;
  for (i = 0; i < depth; i++) {
    uint32_t f = e->frame_ids[i];
    len += rmp_pb_varint_len_((uint64_t)f + 1);
    if (f < e->nframes) e->frame_used[f >> 3] |= (unsigned char)(1u << (f & 7));
  }
  if (depth) {
    p = rmp_pb_len_header_(p, RMP_PB_SAMPLE_LOCATION_ID_, len);
    for (i = 0; i < depth; i++) p = rmp_pb_varint_(p, (uint64_t)e->frame_ids[i] + 1);
  }
  e->loc_nbytes = (size_t)(p - e->loc_bytes);
  e->loc_stack = stack;
}

/* Sample.value: a run's sums scaled, in sample_type order. */
static void rmp_pprof_sample_values_(const rmp_pprof_agg_ *a, uint64_t v[4]) {
  v[0] = (uint64_t)rmp_pprof_value_(a->alloc_n);
  v[1] = (uint64_t)rmp_pprof_value_(a->alloc_bytes);
  v[2] = (uint64_t)rmp_pprof_value_(a->live_n);
  v[3] = (uint64_t)rmp_pprof_value_(a->live_bytes);
}

/* The length of a Label's body; fields that are 0 are left out. */
static size_t rmp_pprof_label_len_(uint64_t key, uint64_t str, uint64_t num, uint64_t num_unit) {
  return rmp_pb_field_len_(RMP_PB_LABEL_KEY_, key) + rmp_pb_field_len_(RMP_PB_LABEL_STR_, str) +
         rmp_pb_field_len_(RMP_PB_LABEL_NUM_, num) + rmp_pb_field_len_(RMP_PB_LABEL_NUM_UNIT_, num_unit);
}

/* Sample.label; len is rmp_pprof_label_len_ of the same values. */
static unsigned char *rmp_pprof_put_label_(unsigned char *p, size_t len, uint64_t key, uint64_t str,
                                           uint64_t num, uint64_t num_unit) {
  p = rmp_pb_len_header_(p, RMP_PB_SAMPLE_LABEL_, len);
  p = rmp_pb_field_(p, RMP_PB_LABEL_KEY_, key);
  p = rmp_pb_field_(p, RMP_PB_LABEL_STR_, str);
  p = rmp_pb_field_(p, RMP_PB_LABEL_NUM_, num);
  return rmp_pb_field_(p, RMP_PB_LABEL_NUM_UNIT_, num_unit);
}

/* One Sample: location_id, value, then the labels object_class (unless the
 * class name is "") and allocation_age (the age bucket's floor, in gcs). */
static void rmp_pprof_emit_sample_(rmp_pprof_enc_ *e, const rmp_pprof_agg_ *a) {
  uint64_t v[4], val_len = 0, age_num = a->age ? (uint64_t)1 << (a->age - 1) : 0;
  uint64_t class_key = rmp_pprof_fixed_id_(e, RMP_PPROF_S_OBJECT_CLASS_);
  uint64_t age_key = rmp_pprof_fixed_id_(e, RMP_PPROF_S_ALLOCATION_AGE_);
  uint64_t gcs = rmp_pprof_fixed_id_(e, RMP_PPROF_S_GCS_);
  uint32_t i, klass = rmp_pprof_str_(e, a->klass);
  size_t class_len, age_len;
  unsigned char *p;

  rmp_pprof_stack_locations_(e, a->stack);
  rmp_pprof_sample_values_(a, v);
  for (i = 0; i < 4; i++) val_len += rmp_pb_varint_len_(v[i]);
  class_len = rmp_pprof_label_len_(class_key, klass, 0, 0);
  age_len = rmp_pprof_label_len_(age_key, 0, age_num, gcs);

  p = rmp_pb_scratch_(&e->pb, e->loc_nbytes + (size_t)val_len + class_len + age_len + 40);
  if (!p) return;
  memcpy(p, e->loc_bytes, e->loc_nbytes);
  p += e->loc_nbytes;
  p = rmp_pb_len_header_(p, RMP_PB_SAMPLE_VALUE_, val_len);
  for (i = 0; i < 4; i++) p = rmp_pb_varint_(p, v[i]);
  if (klass != 0) p = rmp_pprof_put_label_(p, class_len, class_key, klass, 0, 0);
  p = rmp_pprof_put_label_(p, age_len, age_key, 0, age_num, gcs);
  rmp_pb_emit_msg_(&e->pb, RMP_PB_PROFILE_SAMPLE_, p);
}

/* sample: one per run of equal keys, in sorted order. */
static void rmp_pprof_emit_samples_(rmp_pprof_enc_ *e) {
  uint32_t i = 0;
  while (i < e->n && e->pb.err == RMP_OK) {
    rmp_pprof_agg_ a;
    i = rmp_pprof_sum_run_(e, i, &a);
    rmp_pprof_emit_sample_(e, &a);
  }
}

/* The one Mapping every Location points to. */
#define RMP_PPROF_MAPPING_ID_ 1u

static int rmp_pprof_has_program_(const rmp_pprof_opts *opts) {
  return opts && opts->program && opts->program[0];
}

/* mapping: the has_* flags say the locations already carry functions,
 * files and lines, so pprof neither looks for a binary to symbolize nor
 * prints "Main binary filename not available"; the filename (string
 * `program`, 0 for none) is what its "File:" header and web page title
 * show. No addresses: Ruby frames have none. */
static void rmp_pprof_emit_mapping_(rmp_pprof_enc_ *e, uint64_t program) {
  unsigned char b[32], *p = b;
  p = rmp_pb_field_(p, RMP_PB_MAPPING_ID_, RMP_PPROF_MAPPING_ID_);
  p = rmp_pb_field_(p, RMP_PB_MAPPING_FILENAME_, program);
  p = rmp_pb_field_(p, RMP_PB_MAPPING_HAS_FUNCTIONS_, 1);
  p = rmp_pb_field_(p, RMP_PB_MAPPING_HAS_FILENAMES_, 1);
  p = rmp_pb_field_(p, RMP_PB_MAPPING_HAS_LINE_NUMBERS_, 1);
  rmp_pb_emit_header_(&e->pb, RMP_PB_PROFILE_MAPPING_, (size_t)(p - b));
  rmp_pb_emit_(&e->pb, b, (size_t)(p - b));
}

/* location: one per frame a sample uses, marking the functions used. */
static void rmp_pprof_emit_locations_(rmp_pprof_enc_ *e) {
  const rmp_stacks *st = &e->snap->stacks;
  uint32_t f;
  for (f = 0; f < e->nframes && e->pb.err == RMP_OK; f++) {
    unsigned char b[64], *p = b;
    const rmp_frame *fr;
    if (!(e->frame_used[f >> 3] & (1u << (f & 7)))) continue;
    fr = &st->frames[f];
    p = rmp_pb_field_(p, RMP_PB_LOCATION_ID_, (uint64_t)f + 1);
    p = rmp_pb_field_(p, RMP_PB_LOCATION_MAPPING_ID_, RMP_PPROF_MAPPING_ID_);
    /* A frame naming no function (a corrupt snapshot) gets no Line rather
     * than a dangling function id. */
    if (fr->func < e->nfuncs) {
      size_t ll = rmp_pb_field_len_(RMP_PB_LINE_FUNCTION_ID_, (uint64_t)fr->func + 1) +
                  rmp_pb_field_len_(RMP_PB_LINE_LINE_, (uint64_t)(int64_t)fr->line);
      e->func_used[fr->func >> 3] |= (unsigned char)(1u << (fr->func & 7));
      p = rmp_pb_len_header_(p, RMP_PB_LOCATION_LINE_, ll);
      p = rmp_pb_field_(p, RMP_PB_LINE_FUNCTION_ID_, (uint64_t)fr->func + 1);
      p = rmp_pb_field_(p, RMP_PB_LINE_LINE_, (uint64_t)(int64_t)fr->line);
    }
    rmp_pb_emit_header_(&e->pb, RMP_PB_PROFILE_LOCATION_, (size_t)(p - b));
    rmp_pb_emit_(&e->pb, b, (size_t)(p - b));
  }
}

/* function: one per function a location uses.
 * A system_name equal to the name is written as none (string 0). pprof
 * takes a function whose system_name equals its name for one not yet
 * demangled, runs it through its C++ demangler, and when that fails cuts
 * what looks like template arguments or parameters: "<main>", "<top
 * (required)>" and "block in <main>" lose their <...> and show as
 * "<unknown>" or a bare "block in". A function with an empty system_name
 * counts as demangled and keeps its name, also under -symbolize=force
 * (which only restores a name from a non-empty system_name). An equal
 * system_name says nothing the name does not, so nothing is lost. */
static void rmp_pprof_emit_functions_(rmp_pprof_enc_ *e) {
  const rmp_stacks *st = &e->snap->stacks;
  uint32_t f;
  for (f = 0; f < e->nfuncs && e->pb.err == RMP_OK; f++) {
    unsigned char b[64], *p = b;
    const rmp_func *fn;
    uint32_t name, sys;
    if (!(e->func_used[f >> 3] & (1u << (f & 7)))) continue;
    fn = &st->funcs[f];
    name = rmp_pprof_str_(e, fn->name);
    sys = rmp_pprof_str_(e, fn->system_name);
    p = rmp_pb_field_(p, RMP_PB_FUNCTION_ID_, (uint64_t)f + 1);
    p = rmp_pb_field_(p, RMP_PB_FUNCTION_NAME_, name);
    p = rmp_pb_field_(p, RMP_PB_FUNCTION_SYSTEM_NAME_, sys == name ? 0 : sys);
    p = rmp_pb_field_(p, RMP_PB_FUNCTION_FILENAME_, rmp_pprof_str_(e, fn->file));
    p = rmp_pb_field_(p, RMP_PB_FUNCTION_START_LINE_, (uint64_t)(int64_t)fn->start_line);
    rmp_pb_emit_header_(&e->pb, RMP_PB_PROFILE_FUNCTION_, (size_t)(p - b));
    rmp_pb_emit_(&e->pb, b, (size_t)(p - b));
  }
}

static void rmp_pprof_emit_cstr_(rmp_pb_ *pb, unsigned field, const char *s) {
  if (!s) s = "";
  rmp_pb_emit_string_(pb, field, s, strlen(s));
}

/* string_table: the snapshot's strings at their own ids (index 0 must be
 * "", whatever the snapshot holds), the fixed strings, the comment lines. */
static void rmp_pprof_emit_string_table_(rmp_pprof_enc_ *e, const rmp_pprof_comments_ *cm,
                                         const rmp_pprof_opts *opts) {
  const rmp_strtab *strings = &e->snap->strings;
  rmp_pb_ *pb = &e->pb;
  uint64_t i;
  rmp_pb_emit_header_(pb, RMP_PB_PROFILE_STRING_TABLE_, 0);
  for (i = 1; i < strings->count && pb->err == RMP_OK; i++) {
    size_t len;
    const char *str = rmp_strtab_get(strings, (uint32_t)i, &len);
    rmp_pb_emit_string_(pb, RMP_PB_PROFILE_STRING_TABLE_, str, len);
  }
  for (i = 0; i < RMP_PPROF_S_NFIXED_; i++)
    rmp_pprof_emit_cstr_(pb, RMP_PB_PROFILE_STRING_TABLE_, rmp_pprof_fixed_[i]);
  for (i = 0; i < cm->n; i++) rmp_pprof_emit_cstr_(pb, RMP_PB_PROFILE_STRING_TABLE_, cm->line[i]);
  for (i = 0; opts && opts->comments && i < opts->ncomments && pb->err == RMP_OK; i++)
    rmp_pprof_emit_cstr_(pb, RMP_PB_PROFILE_STRING_TABLE_, opts->comments[i]);
  if (rmp_pprof_has_program_(opts)) rmp_pprof_emit_cstr_(pb, RMP_PB_PROFILE_STRING_TABLE_, opts->program);
}

static uint64_t rmp_pprof_u2i_(uint64_t v) { return v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v; }

/* time_nanos and duration_nanos: the interval the snapshot covers. */
static void rmp_pprof_emit_time_(rmp_pprof_enc_ *e) {
  const rmp_snapshot *s = e->snap;
  rmp_pb_emit_varint_field_(&e->pb, RMP_PB_PROFILE_TIME_NANOS_, rmp_pprof_u2i_(s->start_ns));
  rmp_pb_emit_varint_field_(&e->pb, RMP_PB_PROFILE_DURATION_NANOS_,
                            s->end_ns > s->start_ns ? rmp_pprof_u2i_(s->end_ns - s->start_ns) : 0);
}

/* period_type and period: one sample per 1/sample_rate allocations. */
static void rmp_pprof_emit_period_(rmp_pprof_enc_ *e) {
  double rate = e->snap->sample_rate;
  double period = (rate > 0.0 && rate <= 1.0) ? 1.0 / rate + 0.5 : 0.0;
  rmp_pprof_emit_value_type_(e, RMP_PB_PROFILE_PERIOD_TYPE_, RMP_PPROF_S_ALLOCATIONS_, RMP_PPROF_S_COUNT_);
  rmp_pb_emit_varint_field_(&e->pb, RMP_PB_PROFILE_PERIOD_,
                            period >= 9223372036854775807.0 ? (uint64_t)INT64_MAX : (uint64_t)period);
}

/* comment: the string ids of the n comment lines, which follow the fixed
 * strings; packed. */
static void rmp_pprof_emit_comments_(rmp_pprof_enc_ *e, uint64_t n) {
  uint64_t first = rmp_pprof_fixed_id_(e, RMP_PPROF_S_NFIXED_), len = 0, i;
  unsigned char b[10], *p;
  if (n == 0) return;
  for (i = 0; i < n; i++) len += rmp_pb_varint_len_(first + i);
  rmp_pb_emit_header_(&e->pb, RMP_PB_PROFILE_COMMENT_, len);
  for (i = 0; i < n && e->pb.err == RMP_OK; i++) {
    p = rmp_pb_varint_(b, first + i);
    rmp_pb_emit_(&e->pb, b, (size_t)(p - b));
  }
}

/* default_sample_type: retained_size. */
static void rmp_pprof_emit_default_sample_type_(rmp_pprof_enc_ *e) {
  rmp_pb_emit_varint_field_(&e->pb, RMP_PB_PROFILE_DEFAULT_SAMPLE_TYPE_,
                            rmp_pprof_fixed_id_(e, RMP_PPROF_S_RETAINED_SIZE_));
}

/* The Profile, its fields in field-number order (no drop_frames or
 * keep_frames). The samples mark the frames they use, and the
 * locations the functions, so only those are written. */
static void rmp_pprof_encode_body_(rmp_pprof_enc_ *e, const rmp_pprof_opts *opts) {
  rmp_pprof_comments_ cm;
  uint64_t ncomments;
  rmp_pprof_builtin_comments_(e->snap, opts, &cm);
  ncomments = cm.n + (opts && opts->comments ? opts->ncomments : 0);

  rmp_pprof_emit_sample_types_(e);
  rmp_pprof_emit_samples_(e);
  /* the program's name is the string after the comment lines */
  rmp_pprof_emit_mapping_(e, rmp_pprof_has_program_(opts)
                                 ? rmp_pprof_fixed_id_(e, RMP_PPROF_S_NFIXED_) + ncomments
                                 : 0);
  rmp_pprof_emit_locations_(e);
  rmp_pprof_emit_functions_(e);
  rmp_pprof_emit_string_table_(e, &cm, opts);
  rmp_pprof_emit_time_(e);
  rmp_pprof_emit_period_(e);
  rmp_pprof_emit_comments_(e, ncomments);
  rmp_pprof_emit_default_sample_type_(e);
  rmp_pb_flush_(&e->pb);
}

RMP_DEF rmp_status rmp_pprof_encode(const rmp_snapshot *snap, const rmp_pprof_opts *opts,
                                    rmp_sink_fn sink, void *ctx) {
  rmp_pprof_enc_ e;
  rmp_status st = RMP_OK;
  uint32_t nframes = snap->stacks.frames ? snap->stacks.nframes : 0;
  uint32_t nfuncs = snap->stacks.funcs ? snap->stacks.nfuncs : 0;
  uint64_t nlive = snap->live ? snap->nlive : 0, nallocs = snap->allocs ? snap->nallocs : 0;
  /* frame_ids doubles as the radix histogram before any stack is walked */
  size_t nids = RMP_MAX_DEPTH > (RMP_PPROF_MAX_PASSES_ << RMP_PPROF_RADIX_BITS_)
                    ? RMP_MAX_DEPTH
                    : (RMP_PPROF_MAX_PASSES_ << RMP_PPROF_RADIX_BITS_);
  memset(&e, 0, sizeof e);
  if (nlive + nallocs > UINT32_MAX) return RMP_ERR_INVALID;
  e.snap = snap;
  e.pb.sink = sink;
  e.pb.ctx = ctx;
  e.nframes = nframes;
  e.nfuncs = nfuncs;
  e.nnodes = snap->stacks.nodes ? snap->stacks.nnodes : 0;
  e.nlive = (uint32_t)nlive;
  e.n = (uint32_t)(nlive + nallocs);
  e.nstrings = snap->strings.count ? snap->strings.count : 1;
  e.pb.out = (unsigned char *)RMP_MALLOC(RMP_PPROF_OUT_CHUNK);
  e.frame_ids = (uint32_t *)RMP_MALLOC(sizeof(uint32_t) * nids);
  /* tag + length + up to 5 bytes per frame id */
  e.loc_bytes = (unsigned char *)RMP_MALLOC((size_t)RMP_MAX_DEPTH * 5 + 16);
  e.loc_stack = UINT32_MAX;
  e.frame_used = (unsigned char *)RMP_MALLOC((size_t)nframes / 8 + 1);
  e.func_used = (unsigned char *)RMP_MALLOC((size_t)nfuncs / 8 + 1);
  e.idx = (uint32_t *)RMP_MALLOC(sizeof(uint32_t) * ((size_t)e.n + 1));
  e.tmp = (uint32_t *)RMP_MALLOC(sizeof(uint32_t) * ((size_t)e.n + 1));
  if (!e.pb.out || !e.frame_ids || !e.loc_bytes || !e.frame_used || !e.func_used || !e.idx || !e.tmp)
    st = RMP_ERR_NOMEM;
  if (st == RMP_OK) {
    memset(e.frame_used, 0, (size_t)nframes / 8 + 1);
    memset(e.func_used, 0, (size_t)nfuncs / 8 + 1);
    rmp_pprof_sort_(&e, e.frame_ids);
    rmp_pprof_encode_body_(&e, opts);
    st = e.pb.err;
  }
  RMP_FREE(e.pb.out);
  RMP_FREE(e.pb.msg);
  RMP_FREE(e.frame_ids);
  RMP_FREE(e.loc_bytes);
  RMP_FREE(e.frame_used);
  RMP_FREE(e.func_used);
  RMP_FREE(e.idx);
  RMP_FREE(e.tmp);
  return st;
}

/* --------------------------------------------------------------------- */
/* Sinks                                                                 */
/* --------------------------------------------------------------------- */

RMP_DEF int rmp_buf_sink(void *buf, const void *p, size_t n) {
  rmp_buf *b = (rmp_buf *)buf;
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 4096;
    unsigned char *d;
    if (n > SIZE_MAX / 2 - b->len) return -1;
    while (cap - b->len < n) cap *= 2;
    d = (unsigned char *)RMP_REALLOC(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

RMP_DEF void rmp_buf_free(rmp_buf *b) {
  RMP_FREE(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

#ifndef RMP_PPROF_NO_ZLIB

static voidpf rmp_zalloc_(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  if (size && items > (uInt)-1 / size) return Z_NULL;
  return RMP_MALLOC((size_t)items * size);
}

static void rmp_zfree_(voidpf opaque, voidpf p) {
  (void)opaque;
  RMP_FREE(p);
}

RMP_DEF rmp_status rmp_gzip_begin(rmp_gzip_sink *gz, rmp_sink_fn next, void *next_ctx, int level) {
  memset(gz, 0, sizeof *gz);
  gz->next = next;
  gz->next_ctx = next_ctx;
  gz->zs.zalloc = rmp_zalloc_;
  gz->zs.zfree = rmp_zfree_;
  gz->out = (unsigned char *)RMP_MALLOC(RMP_PPROF_GZIP_CHUNK);
  if (!gz->out) return RMP_ERR_NOMEM;
  /* windowBits 15 + 16: a gzip header and trailer, not zlib's */
  if (deflateInit2(&gz->zs, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    RMP_FREE(gz->out);
    gz->out = NULL;
    return (level < -1 || level > 9) ? RMP_ERR_INVALID : RMP_ERR_NOMEM;
  }
  gz->state = 1;
  gz->err = RMP_OK;
  return RMP_OK;
}

/* Run deflate with flush until it has consumed everything (and, for
 * Z_FINISH, ended the stream), passing each full output chunk on. */
static rmp_status rmp_gzip_pump_(rmp_gzip_sink *gz, int flush) {
  for (;;) {
    int r;
    size_t have;
    gz->zs.next_out = gz->out;
    gz->zs.avail_out = RMP_PPROF_GZIP_CHUNK;
    r = deflate(&gz->zs, flush);
    if (r == Z_STREAM_ERROR) return RMP_ERR_INVALID;
    have = RMP_PPROF_GZIP_CHUNK - gz->zs.avail_out;
    if (have && gz->next(gz->next_ctx, gz->out, have) != 0) return RMP_ERR_SINK;
    if (flush == Z_FINISH ? r == Z_STREAM_END : (gz->zs.avail_in == 0 && gz->zs.avail_out != 0))
      return RMP_OK;
    if (r == Z_BUF_ERROR && have == 0) return RMP_ERR_INVALID; /* no progress possible */
  }
}

RMP_DEF int rmp_gzip_write(void *ctx, const void *p, size_t n) {
  rmp_gzip_sink *gz = (rmp_gzip_sink *)ctx;
  const unsigned char *s = (const unsigned char *)p;
  if (gz->state != 1) return -1;
  while (n > 0) {
    /* avail_in is a uInt: feed huge writes in pieces */
    uInt piece = n > 0x40000000u ? 0x40000000u : (uInt)n;
    rmp_status st;
    gz->zs.next_in = (Bytef *)(uintptr_t)s;
    gz->zs.avail_in = piece;
    st = rmp_gzip_pump_(gz, Z_NO_FLUSH);
    if (st != RMP_OK) {
      gz->err = st;
      gz->state = 2;
      return -1;
    }
    s += piece;
    n -= piece;
  }
  return 0;
}

RMP_DEF rmp_status rmp_gzip_end(rmp_gzip_sink *gz) {
  rmp_status st = gz->err;
  if (gz->state == 1) {
    gz->zs.next_in = Z_NULL;
    gz->zs.avail_in = 0;
    st = rmp_gzip_pump_(gz, Z_FINISH);
  }
  if (gz->state != 0) deflateEnd(&gz->zs);
  RMP_FREE(gz->out);
  gz->out = NULL;
  gz->state = 0;
  gz->err = st;
  return st;
}

typedef struct rmp_pprof_bufctx_ {
  rmp_buf *buf;
  int failed;
} rmp_pprof_bufctx_;

static int rmp_pprof_buf_sink_(void *ctx, const void *p, size_t n) {
  rmp_pprof_bufctx_ *c = (rmp_pprof_bufctx_ *)ctx;
  if (rmp_buf_sink(c->buf, p, n) != 0) {
    c->failed = 1;
    return -1;
  }
  return 0;
}

RMP_DEF rmp_status rmp_pprof_encode_gzip(const rmp_snapshot *snap, const rmp_pprof_opts *opts,
                                         rmp_buf *out) {
  rmp_gzip_sink gz;
  rmp_pprof_bufctx_ c;
  size_t len0 = out->len;
  rmp_status st, st_end;
  c.buf = out;
  c.failed = 0;
  st = rmp_gzip_begin(&gz, rmp_pprof_buf_sink_, &c, 1);
  if (st != RMP_OK) return st;
  st = rmp_pprof_encode(snap, opts, rmp_gzip_write, &gz);
  st_end = rmp_gzip_end(&gz);
  if (st == RMP_OK || (st == RMP_ERR_SINK && st_end != RMP_OK)) st = st_end;
  /* Our own buffer refusing bytes can only mean it could not grow. */
  if (st == RMP_ERR_SINK && c.failed) st = RMP_ERR_NOMEM;
  if (st != RMP_OK) out->len = len0;
  return st;
}

#endif /* RMP_PPROF_NO_ZLIB */

#ifdef __cplusplus
}
#endif
#endif /* RMP_PPROF_IMPLEMENTATION */

#include "pprof_source.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 65536

void pprof_source_memory(pprof_source *s, const void *data, size_t len) {
  memset(s, 0, sizeof *s);
  s->mem = (const unsigned char *)data;
  s->mem_len = len;
}

void pprof_source_file(pprof_source *s, FILE *fp, const char *name) {
  memset(s, 0, sizeof *s);
  s->fp = fp;
  s->name = name;
}

void pprof_source_close(pprof_source *s) {
  if (s->zs_ready) inflateEnd(&s->zs);
  free(s->in);
  free(s->out);
  s->in = s->out = NULL;
  s->zs_ready = 0;
}

/* The first failure wins; its message reads as gzerror's: "name: what". */
static void fail(pprof_source *s, const char *what) {
  if (s->failed) return;
  s->failed = 1;
  snprintf(s->msg, sizeof s->msg, "%s%s%s", s->name ? s->name : "", s->name ? ": " : "", what);
}

/* At least `want` unread bytes at zs.next_in, as far as the input holds
 * them. Returns how many there are. */
static size_t fill_input(pprof_source *s, size_t want) {
  if (s->zs.avail_in >= want || s->failed) return s->zs.avail_in;
  if (s->fp) {
    if (!s->in && !(s->in = (unsigned char *)malloc(CHUNK))) {
      fail(s, "out of memory");
      return s->zs.avail_in;
    }
    size_t have = s->zs.avail_in;
    if (have) memmove(s->in, s->zs.next_in, have);
    size_t got = fread(s->in + have, 1, CHUNK - have, s->fp);
    if (got < CHUNK - have && ferror(s->fp)) fail(s, strerror(errno));
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)(have + got);
  } else {
    /* The unread memory is contiguous: widen the window over it. */
    size_t left = s->mem_len - s->mem_pos, room = (size_t)UINT_MAX - s->zs.avail_in;
    size_t k = left < room ? left : room;
    if (!s->zs.avail_in) s->zs.next_in = (Bytef *)(uintptr_t)(s->mem + s->mem_pos);
    s->zs.avail_in += (uInt)k;
    s->mem_pos += k;
  }
  return s->zs.avail_in;
}

static int at_gzip_magic(const pprof_source *s) {
  return s->zs.avail_in >= 2 && s->zs.next_in[0] == 0x1f && s->zs.next_in[1] == 0x8b;
}

static void begin(pprof_source *s) {
  s->started = 1;
  s->got_bytes = fill_input(s, 2) > 0;
  if (!at_gzip_magic(s)) return;
  s->gzip = 1;
  s->out = (unsigned char *)malloc(CHUNK);
  if (!s->out || inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK) {
    fail(s, "out of memory");
    return;
  }
  s->zs_ready = 1;
}

static size_t read_plain(pprof_source *s, unsigned char *buf, size_t n) {
  size_t done = 0;
  while (done < n && !s->failed) {
    if (!fill_input(s, 1)) {
      s->ended = !s->failed;
      break;
    }
    size_t k = n - done < s->zs.avail_in ? n - done : s->zs.avail_in;
    if (buf) memcpy(buf + done, s->zs.next_in, k);
    s->zs.next_in += k;
    s->zs.avail_in -= (uInt)k;
    done += k;
  }
  return done;
}

/* The next inflated chunk into out; 0 at the end of the input or on failure. */
static int inflate_chunk(pprof_source *s) {
  s->out_pos = s->out_len = 0;
  while (!s->out_len) {
    if (!s->in_member) {
      size_t have = fill_input(s, 2);
      if (s->failed) return 0;
      if (!at_gzip_magic(s)) { /* the end, or bytes after the last member */
        s->trailing = have > 0;
        s->ended = 1;
        return 0;
      }
      if (s->members && inflateReset(&s->zs) != Z_OK) {
        fail(s, "internal error: inflate stream corrupt");
        return 0;
      }
      s->in_member = 1;
      s->members++;
    }
    if (!fill_input(s, 1)) {
      fail(s, "unexpected end of file");
      return 0;
    }
    s->zs.next_out = s->out;
    s->zs.avail_out = CHUNK;
    int r = inflate(&s->zs, Z_NO_FLUSH);
    s->out_len = CHUNK - s->zs.avail_out;
    if (r == Z_STREAM_END) s->in_member = 0;
    else if (r == Z_DATA_ERROR) fail(s, s->zs.msg ? s->zs.msg : "compressed data error");
    else if (r == Z_MEM_ERROR) fail(s, "out of memory");
    else if (r != Z_OK && r != Z_BUF_ERROR) fail(s, "internal error: inflate stream corrupt");
    if (s->failed) return 0;
  }
  return 1;
}

size_t pprof_source_read(pprof_source *s, void *buf, size_t n) {
  unsigned char *b = (unsigned char *)buf;
  if (!s->started) begin(s);
  if (!s->gzip) return read_plain(s, b, n);
  size_t done = 0;
  while (done < n) {
    if (s->out_pos == s->out_len && (s->failed || s->ended || !inflate_chunk(s))) break;
    size_t k = n - done < s->out_len - s->out_pos ? n - done : s->out_len - s->out_pos;
    if (b) memcpy(b + done, s->out + s->out_pos, k);
    s->out_pos += k;
    done += k;
  }
  return done;
}

/* Allocation, hashing, a u64 map and a string interner. */
#include "pprof_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void) {
  fputs("out of memory\n", stderr);
  exit(3);
}

void *pprof_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom();
  return p;
}
void *pprof_xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p) oom();
  return p;
}
void *pprof_xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) oom();
  return p;
}
char *pprof_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(pprof_xmalloc(n), s, n);
}

void pprof_grow(void **v, uint32_t *cap, uint32_t need, size_t sz) {
  if (need <= *cap) return;
  uint64_t c = *cap ? *cap : 8;
  while (c < need) c *= 2;
  if (c > UINT32_MAX) {
    if (need == UINT32_MAX) oom();
    c = UINT32_MAX;
  }
  *v = pprof_xrealloc(*v, (size_t)c * sz);
  *cap = (uint32_t)c;
}

uint64_t pprof_hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= UINT64_C(0xc4ceb9fe1a85ec53);
  x ^= x >> 33;
  return x;
}

/* Eight bytes per step: stack keys are arrays of 32-bit frame ids. */
uint64_t pprof_hash_bytes(const void *p, size_t n, uint64_t seed) {
  const unsigned char *b = p;
  uint64_t h = seed ^ (n * UINT64_C(0x9E3779B97F4A7C15));
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, b, 8);
    h = (h ^ pprof_hash_u64(w)) * UINT64_C(0x9E3779B97F4A7C15);
    b += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n) memcpy(&w, b, n);
  h ^= pprof_hash_u64(w + n);
  return pprof_hash_u64(h);
}

void pprof_map_init(pprof_map *m) { memset(m, 0, sizeof *m); }
void pprof_map_free(pprof_map *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  memset(m, 0, sizeof *m);
}

static uint32_t *map_slot(const pprof_map *m, uint64_t key, int *found) {
  uint32_t i = (uint32_t)pprof_hash_u64(key) & m->mask;
  for (;;) {
    if (!m->used[i]) {
      *found = 0;
      return &m->vals[i];
    }
    if (m->keys[i] == key) {
      *found = 1;
      return &m->vals[i];
    }
    i = (i + 1) & m->mask;
  }
}

static void map_rehash(pprof_map *m) {
  pprof_map n;
  uint32_t cap = m->mask ? (m->mask + 1) * 2 : 64;
  n.mask = cap - 1;
  n.count = m->count;
  n.keys = pprof_xcalloc(cap, sizeof *n.keys);
  n.vals = pprof_xcalloc(cap, sizeof *n.vals);
  n.used = pprof_xcalloc(cap, 1);
  if (m->mask) {
    for (uint32_t i = 0; i <= m->mask; i++) {
      if (!m->used[i]) continue;
      int f;
      uint32_t *v = map_slot(&n, m->keys[i], &f);
      size_t j = (size_t)(v - n.vals);
      n.used[j] = 1;
      n.keys[j] = m->keys[i];
      *v = m->vals[i];
    }
  }
  pprof_map_free(m);
  *m = n;
}

uint32_t *pprof_map_put(pprof_map *m, uint64_t key, int *found) {
  if (!m->mask || (m->count + 1) * 4 > (m->mask + 1) * 3) map_rehash(m);
  uint32_t *v = map_slot(m, key, found);
  if (!*found) {
    size_t j = (size_t)(v - m->vals);
    m->used[j] = 1;
    m->keys[j] = key;
    m->count++;
    *v = 0;
  }
  return v;
}

const uint32_t *pprof_map_get(const pprof_map *m, uint64_t key) {
  if (!m->mask) return NULL;
  int f;
  uint32_t *v = map_slot(m, key, &f);
  return f ? v : NULL;
}

void pprof_strings_init(pprof_strings *s) { memset(s, 0, sizeof *s); }
void pprof_strings_free(pprof_strings *s) {
  free(s->arena);
  free(s->offs);
  free(s->lens);
  free(s->next);
  pprof_map_free(&s->index);
  memset(s, 0, sizeof *s);
}

uint32_t pprof_strings_append(pprof_strings *s, const char *p, size_t len) {
  if (len > UINT32_MAX - 1) len = UINT32_MAX - 1;
  uint32_t cap = s->cap;
  pprof_grow((void **)&s->offs, &cap, s->count + 1, sizeof *s->offs);
  cap = s->cap;
  pprof_grow((void **)&s->lens, &cap, s->count + 1, sizeof *s->lens);
  cap = s->cap;
  pprof_grow((void **)&s->next, &cap, s->count + 1, sizeof *s->next);
  s->cap = cap;
  if (s->arena_len + len + 1 > s->arena_cap) {
    size_t c = s->arena_cap ? s->arena_cap : 4096;
    while (c < s->arena_len + len + 1) c *= 2;
    s->arena = pprof_xrealloc(s->arena, c);
    s->arena_cap = c;
  }
  if (len) memcpy(s->arena + s->arena_len, p, len);
  s->arena[s->arena_len + len] = 0;
  s->offs[s->count] = s->arena_len;
  s->lens[s->count] = (uint32_t)len;
  s->next[s->count] = UINT32_MAX;
  s->arena_len += len + 1;
  return s->count++;
}

uint32_t pprof_strings_intern(pprof_strings *s, const char *p, size_t len) {
  uint64_t h = pprof_hash_bytes(p, len, 0);
  int found;
  uint32_t *head = pprof_map_put(&s->index, h, &found);
  if (found) {
    for (uint32_t id = *head; id != UINT32_MAX; id = s->next[id])
      if (s->lens[id] == len && memcmp(s->arena + s->offs[id], p, len) == 0) return id;
  }
  uint32_t first = found ? *head : UINT32_MAX;
  /* Appending may grow the map's neighbour arrays but not the map itself. */
  uint32_t id = pprof_strings_append(s, p, len);
  s->next[id] = first;
  *(uint32_t *)pprof_map_get(&s->index, h) = id;
  return id;
}

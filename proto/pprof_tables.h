/* The building blocks of the in-memory profile (pprof_model.h): allocation
 * that exits on failure, growable arrays, hashing, a u64 -> u32 map and a
 * table of interned byte strings. Programs built on the model (rmp-report)
 * use them too. */
#ifndef PPROF_TABLES_H
#define PPROF_TABLES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Out of memory prints a line and exits with status 3. */
void *pprof_xmalloc(size_t n);
void *pprof_xcalloc(size_t n, size_t sz);
void *pprof_xrealloc(void *p, size_t n);
char *pprof_xstrdup(const char *s);
/* Grow *v so it holds at least need elements of size sz. */
void pprof_grow(void **v, uint32_t *cap, uint32_t need, size_t sz);
#define PPROF_PUSH(vec, n, cap, val)                                                     \
  do {                                                                                   \
    pprof_grow((void **)&(vec), &(cap), (n) + 1, sizeof(*(vec)));                        \
    (vec)[(n)++] = (val);                                                                \
  } while (0)

uint64_t pprof_hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t pprof_hash_u64(uint64_t x);

/* u64 -> u32 open-addressing map; key 0 is allowed. */
typedef struct pprof_map {
  uint64_t *keys;
  uint32_t *vals;
  uint8_t *used;
  uint32_t mask, count;
} pprof_map;
void pprof_map_init(pprof_map *m);
void pprof_map_free(pprof_map *m);
/* Returns a pointer to the value slot; *found says whether it existed. */
uint32_t *pprof_map_put(pprof_map *m, uint64_t key, int *found);
const uint32_t *pprof_map_get(const pprof_map *m, uint64_t key);

/* Byte strings, each stored with a NUL after it; ids are dense from 0. */
typedef struct pprof_strings {
  char *arena;
  size_t arena_len, arena_cap;
  size_t *offs;
  uint32_t *lens;
  uint32_t count, cap;
  pprof_map index; /* hash -> latest id with that hash; older ones chain in next */
  uint32_t *next;
} pprof_strings;
void pprof_strings_init(pprof_strings *s);
void pprof_strings_free(pprof_strings *s);
/* The id of an equal string, added first when there is none. */
uint32_t pprof_strings_intern(pprof_strings *s, const char *p, size_t len);
/* Appends without interning (a decoded string table may repeat strings). */
uint32_t pprof_strings_append(pprof_strings *s, const char *p, size_t len);
static inline const char *pprof_strings_get(const pprof_strings *s, uint32_t id) { return s->arena + s->offs[id]; }
static inline uint32_t pprof_strings_len(const pprof_strings *s, uint32_t id) { return s->lens[id]; }

#ifdef __cplusplus
}
#endif

#endif

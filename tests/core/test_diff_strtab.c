/* Randomized differential test of rmp_strtab against a model indexed by a
 * fixed universe of distinct byte strings (deduplicated up front by sorting):
 * short strings over a tiny alphabet including NUL (so many near-collisions
 * and prefixes), one-byte extensions and truncations of others, longer
 * random ones and a few of 2-20 KiB. The model records the id each universe
 * string got; every intern must return it again, and new ids must be unique.
 * Usage: test_diff_strtab [ops] (default 1e6). */
#include <string.h>

#include "check.h"
#include "rmp.h"

#define NUNIV 30000
#define NONE UINT32_MAX

typedef struct ustr {
  char *s;
  uint32_t len;
} ustr;

static ustr univ[NUNIV];
static int nuniv;
static uint32_t model_id[NUNIV]; /* universe index -> id, NONE if not interned */
static int32_t *owner;           /* id -> universe index */
static uint32_t model_count;

static int cmp_ustr(const void *a, const void *b) {
  const ustr *x = (const ustr *)a, *y = (const ustr *)b;
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

static void make_universe(rmpt_rand *r) {
  static const char alpha[4] = {'\0', 'a', 'b', (char)0xff};
  int n = 0;
  while (n < NUNIV + NUNIV / 4) {
    uint32_t kind = rmpt_below(r, 100), len;
    char *s;
    if (kind < 50 || n == 0) { /* short, tiny alphabet */
      len = rmpt_below(r, 12);
      s = (char *)malloc(len + 1);
      for (uint32_t i = 0; i < len; i++) s[i] = alpha[rmpt_below(r, 4)];
    } else if (kind < 75) { /* a neighbour of an earlier one */
      const ustr *b = &univ[rmpt_below(r, (uint32_t)n)];
      len = b->len + (rmpt_below(r, 2) ? 1 : (b->len ? (uint32_t)-1 : 1));
      s = (char *)malloc(len + 1);
      memcpy(s, b->s, len < b->len ? len : b->len);
      if (len > b->len) s[len - 1] = alpha[rmpt_below(r, 4)];
    } else if (kind < 99 || n % 1000) { /* medium, any bytes */
      len = 12 + rmpt_below(r, 200);
      s = (char *)malloc(len + 1);
      for (uint32_t i = 0; i < len; i++) s[i] = (char)rmpt_next(r);
    } else { /* long */
      len = 2048 + rmpt_below(r, 18 * 1024);
      s = (char *)malloc(len + 1);
      for (uint32_t i = 0; i < len; i++) s[i] = (char)('A' + rmpt_below(r, 3));
    }
    CHECK(s != NULL);
    s[len] = '\0';
    univ[n].s = s;
    univ[n].len = len;
    n++;
    if (n == NUNIV) break;
  }
  qsort(univ, (size_t)n, sizeof univ[0], cmp_ustr);
  nuniv = 0;
  for (int i = 0; i < n; i++) {
    if (nuniv && cmp_ustr(&univ[nuniv - 1], &univ[i]) == 0) {
      free(univ[i].s);
      continue;
    }
    univ[nuniv++] = univ[i];
  }
}

static void model_reset(void) {
  for (int i = 0; i < nuniv; i++) model_id[i] = NONE;
  for (int i = 0; i <= NUNIV; i++) owner[i] = -1;
  /* The empty string sorts first and is id 0 from the start. */
  CHECK(univ[0].len == 0);
  model_id[0] = 0;
  owner[0] = 0;
  model_count = 1;
}

static void expect(const rmp_strtab *t, uint32_t id, int u) {
  size_t len;
  const char *s = rmp_strtab_get(t, id, &len);
  CHECKF(len == univ[u].len && memcmp(s, univ[u].s, len) == 0 && s[len] == '\0', "id %u vs universe %d", id, u);
}

static void check_all(const rmp_strtab *t) {
  CHECK(t->count == model_count);
  for (uint32_t id = 0; id < model_count; id++) {
    CHECK(owner[id] >= 0);
    expect(t, id, owner[id]);
  }
}

int main(int argc, char **argv) {
  long ops = rmpt_ops_arg(argc, argv, 1000000);
  rmpt_rand r = {0x57A7AB};
  rmp_strtab t;
  long n_new = 0, n_resets = 0, n_nul = 0;
  owner = (int32_t *)malloc(sizeof(int32_t) * (NUNIV + 1));
  CHECK(owner != NULL);
  make_universe(&r);
  model_reset();
  CHECK(rmp_strtab_init(&t) == RMP_OK);

  for (long op = 0; op < ops; op++) {
    uint32_t kind = rmpt_below(&r, 1000);
    /* Half the lookups hit a hot set, as class names do. */
    int u = rmpt_below(&r, 2) ? (int)rmpt_below(&r, 200) : (int)rmpt_below(&r, (uint32_t)nuniv);
    if (kind < 900) {
      uint32_t id = NONE;
      CHECK(rmp_strtab_intern(&t, univ[u].s, univ[u].len, &id) == RMP_OK);
      if (model_id[u] == NONE) {
        CHECKF(id < t.count && owner[id] < 0, "new string got id %u, already used", id);
        model_id[u] = id;
        owner[id] = u;
        model_count++;
        n_new++;
      } else {
        CHECKF(id == model_id[u], "universe %d: id %u, was %u", u, id, model_id[u]);
      }
      n_nul += memchr(univ[u].s, 0, univ[u].len) != NULL;
    } else if (kind < 950) { /* the C-string entry point, for strings without NULs */
      if (memchr(univ[u].s, 0, univ[u].len)) continue;
      uint32_t id = NONE;
      CHECK(rmp_strtab_intern_cstr(&t, univ[u].s, &id) == RMP_OK);
      if (model_id[u] == NONE) {
        CHECK(id < t.count && owner[id] < 0);
        model_id[u] = id;
        owner[id] = u;
        model_count++;
      }
      CHECK(id == model_id[u]);
    } else if (kind < 999) { /* read back */
      if (model_id[u] != NONE) expect(&t, model_id[u], u);
    } else if (rmpt_below(&r, 20) == 0) { /* start over */
      check_all(&t);
      rmp_strtab_free(&t);
      CHECK(rmp_strtab_init(&t) == RMP_OK);
      model_reset();
      n_resets++;
    }
    CHECK(t.count == model_count);
    if ((op & 16383) == 0) check_all(&t);
  }
  check_all(&t);
  printf("strtab: %ld ops over %d distinct strings (%ld new ids, %ld interns with NULs, %ld resets), final count %u\n",
         ops, nuniv, n_new, n_nul, n_resets, t.count);
  CHECK(n_resets > 0 && n_nul > 0);
  rmp_strtab_free(&t);
  for (int i = 0; i < nuniv; i++) free(univ[i].s);
  free(owner);
  return 0;
}

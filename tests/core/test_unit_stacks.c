/* Unit tests: rmp_stacks (functions, frames, trie, rekey, compaction). */
#include <string.h>

#include "check.h"
#include "rmp.h"

static uint32_t intern(rmp_stacks *st, const uint64_t *keys, const int *lines, size_t depth) {
  uint32_t id = UINT32_MAX;
  CHECK(rmp_stack_intern(st, keys, lines, depth, &id) == RMP_OK);
  CHECK(id < st->nnodes);
  return id;
}

/* Walks id back to its frames and compares with the leaf-first input. */
static void expect_stack(const rmp_stacks *st, uint32_t id, const uint64_t *keys, const int *lines, size_t depth) {
  uint32_t fids[64];
  CHECK(depth <= 64);
  CHECK(rmp_stack_depth(st, id) == depth);
  CHECK(rmp_stack_frames(st, id, fids, 64) == depth);
  for (size_t i = 0; i < depth; i++) {
    const rmp_frame *f = rmp_frame_get(st, fids[i]);
    CHECKF(rmp_func_get(st, f->func)->key == keys[i] && f->line == lines[i], "id %u frame %zu", id, i);
  }
}

static uint32_t func_of_key(const rmp_stacks *st, uint64_t key) {
  for (uint32_t i = 0; i < st->nfuncs; i++)
    if (rmp_func_get(st, i)->key == key) return i;
  return UINT32_MAX;
}

typedef struct keyset {
  uint64_t k[64];
  int n;
} keyset;
static void collect_key(void *ud, uint64_t key) {
  keyset *s = (keyset *)ud;
  for (int i = 0; i < s->n; i++) CHECKF(s->k[i] != key, "key %llu visited twice", (unsigned long long)key);
  CHECK(s->n < 64);
  s->k[s->n++] = key;
}
static int keyset_has(const keyset *s, uint64_t key) {
  for (int i = 0; i < s->n; i++)
    if (s->k[i] == key) return 1;
  return 0;
}

static void test_intern_and_walk(void) {
  rmp_stacks st;
  CHECK(rmp_stacks_init(&st) == RMP_OK);
  CHECK(st.nnodes == 1 && st.nfuncs == 0 && st.nframes == 0);
  CHECK(rmp_stack_depth(&st, 0) == 0);
  uint64_t k[] = {10, 20, 30};
  int l[] = {1, 2, 3};
  CHECK(intern(&st, k, l, 0) == 0);
  CHECK(st.nnodes == 1);

  uint32_t a = intern(&st, k, l, 3);
  CHECK(a != 0 && st.nnodes == 4 && st.nfuncs == 3 && st.nframes == 3);
  CHECK(intern(&st, k, l, 3) == a);
  expect_stack(&st, a, k, l, 3);

  /* A different line in one frame is a different stack and frame, same func. */
  int l2[] = {1, 5, 3};
  uint32_t b = intern(&st, k, l2, 3);
  CHECK(b != a && st.nfuncs == 3 && st.nframes == 4);
  expect_stack(&st, b, k, l2, 3);
  /* Shares the root-end prefix [30:3]: one new node for 20:5, one for the leaf. */
  CHECK(st.nnodes == 6);

  /* A stack that is a root-end suffix of a (its caller's stack) already exists. */
  uint32_t nn = st.nnodes;
  uint32_t c = intern(&st, k + 1, l + 1, 2);
  CHECK(st.nnodes == nn && c != a && c != 0);
  expect_stack(&st, c, k + 1, l + 1, 2);
  /* a's leaf frame is on top of c: different leaf, same caller => one new node. */
  uint64_t k3[] = {40, 20, 30};
  uint32_t d = intern(&st, k3, l, 3);
  CHECK(st.nnodes == nn + 1);
  expect_stack(&st, d, k3, l, 3);

  /* Order matters: leaf first. */
  uint64_t kr[] = {30, 20, 10};
  int lr[] = {3, 2, 1};
  uint32_t r = intern(&st, kr, lr, 3);
  CHECK(r != a);
  expect_stack(&st, r, kr, lr, 3);

  /* Extreme keys and lines; recursion (the same frame repeated). */
  uint64_t kx[] = {0, UINT64_MAX, 0, UINT64_MAX, 0};
  int lx[] = {-1, 0, -1, 2147483647, (int)(-2147483647 - 1)};
  uint32_t x = intern(&st, kx, lx, 5);
  expect_stack(&st, x, kx, lx, 5);
  CHECK(intern(&st, kx, lx, 5) == x);
  CHECK(intern(&st, kx + 1, lx + 1, 4) != x);
  CHECK(func_of_key(&st, 0) != UINT32_MAX && func_of_key(&st, UINT64_MAX) != UINT32_MAX);

  /* rmp_stack_frames writes at most max ids but reports the full depth. */
  uint32_t fids[4] = {7, 7, 7, 7};
  CHECK(rmp_stack_frames(&st, a, fids, 2) == 3);
  CHECK(fids[2] == 7);
  CHECK(rmp_frame_get(&st, fids[0])->line == 1 && rmp_frame_get(&st, fids[1])->line == 2);
  CHECK(rmp_stack_frames(&st, 0, fids, 4) == 0);

  /* Every id decodes the same way after many more interns (growth). */
  for (int i = 0; i < 20000; i++) {
    uint64_t kk[3] = {(uint64_t)i % 97, (uint64_t)i, 30};
    int ll[3] = {i, i % 5, 3};
    uint32_t id = intern(&st, kk, ll, 3);
    if (i % 1000 == 0) expect_stack(&st, id, kk, ll, 3);
  }
  expect_stack(&st, a, k, l, 3);
  expect_stack(&st, b, k, l2, 3);
  expect_stack(&st, x, kx, lx, 5);
  CHECK(intern(&st, k, l, 3) == a);
  CHECK(st.truncated == 0);
  rmp_stacks_free(&st);
}

static void test_truncation(void) {
  rmp_stacks st;
  size_t n = RMP_MAX_DEPTH + 10;
  uint64_t *k = (uint64_t *)malloc(n * sizeof *k);
  int *l = (int *)malloc(n * sizeof *l);
  uint32_t *fids = (uint32_t *)malloc(n * sizeof *fids);
  CHECK(k && l && fids);
  for (size_t i = 0; i < n; i++) {
    k[i] = 1000 + i % 7;
    l[i] = (int)i;
  }
  CHECK(rmp_stacks_init(&st) == RMP_OK);
  uint32_t exact = intern(&st, k, l, RMP_MAX_DEPTH);
  CHECK(st.truncated == 0);
  uint32_t deep = intern(&st, k, l, n);
  CHECK(st.truncated == 1);
  /* The leaf end is kept, so it is the same stack as its first MAX frames. */
  CHECK(deep == exact);
  CHECK(rmp_stack_depth(&st, deep) == RMP_MAX_DEPTH);
  CHECK(rmp_stack_frames(&st, deep, fids, (uint32_t)n) == RMP_MAX_DEPTH);
  for (size_t i = 0; i < RMP_MAX_DEPTH; i++) {
    const rmp_frame *f = rmp_frame_get(&st, fids[i]);
    CHECK(rmp_func_get(&st, f->func)->key == k[i] && f->line == l[i]);
  }
  CHECK(intern(&st, k, l, RMP_MAX_DEPTH + 1) == exact);
  CHECK(st.truncated == 2);
  CHECK(intern(&st, k, l, RMP_MAX_DEPTH - 1) != exact);
  CHECK(st.truncated == 2);
  rmp_stacks_free(&st);
  free(k);
  free(l);
  free(fids);
}

static void test_keys_rekey_resolve(void) {
  rmp_stacks st;
  CHECK(rmp_stacks_init(&st) == RMP_OK);
  uint64_t k1[] = {1, 2, 3}, k2[] = {4, 2, 3};
  int l[] = {10, 20, 30};
  uint32_t a = intern(&st, k1, l, 3), b = intern(&st, k2, l, 3);
  keyset ks = {{0}, 0};
  rmp_stacks_each_key(&st, collect_key, &ks);
  CHECK(ks.n == 4 && keyset_has(&ks, 1) && keyset_has(&ks, 2) && keyset_has(&ks, 3) && keyset_has(&ks, 4));

  /* New functions are unresolved; the watermark moves past resolved ones. */
  CHECK(st.first_unresolved == 0);
  for (uint32_t i = 0; i < st.nfuncs; i++) CHECK(!rmp_func_get(&st, i)->resolved);
  uint32_t f2 = func_of_key(&st, 2);
  rmp_func_resolve(&st, f2, 5, 6, 7, 8);
  rmp_func *f = rmp_func_get(&st, f2);
  CHECK(f->resolved && f->name == 5 && f->system_name == 6 && f->file == 7 && f->start_line == 8 && f->key == 2);
  for (uint32_t i = 0; i < st.nfuncs; i++) rmp_func_resolve(&st, i, 1, 1, 1, 1);
  CHECK(st.first_unresolved == st.nfuncs);
  uint64_t k3[] = {99};
  intern(&st, k3, l, 1);
  CHECK(st.first_unresolved == st.nfuncs - 1);
  CHECK(!rmp_func_get(&st, st.nfuncs - 1)->resolved);

  /* Rekey: the function (and every stack through it) now has the new key. */
  uint32_t f1 = func_of_key(&st, 1);
  CHECK(rmp_func_rekey(&st, f1, 1) == RMP_OK); /* to itself: a no-op */
  CHECK(rmp_func_rekey(&st, f1, 4) == RMP_ERR_INVALID); /* taken */
  CHECK(rmp_func_get(&st, f1)->key == 1);
  CHECK(rmp_func_rekey(&st, f1, 101) == RMP_OK);
  CHECK(rmp_func_get(&st, f1)->key == 101 && func_of_key(&st, 1) == UINT32_MAX);
  uint64_t k1n[] = {101, 2, 3};
  expect_stack(&st, a, k1n, l, 3);
  uint32_t nn = st.nnodes, nf = st.nfuncs;
  CHECK(intern(&st, k1n, l, 3) == a); /* found through the new key */
  CHECK(st.nnodes == nn && st.nfuncs == nf);
  CHECK(intern(&st, k1, l, 3) != a); /* the old key is a new function */
  CHECK(st.nfuncs == nf + 1);
  expect_stack(&st, b, k2, l, 3);
  /* Rekey every function to keys whose hashes are likely to collide in the
   * index, then check each is still found. */
  for (uint32_t i = 0; i < st.nfuncs; i++) CHECK(rmp_func_rekey(&st, i, ((uint64_t)i + 1) << 40) == RMP_OK);
  for (uint32_t i = 0; i < st.nfuncs; i++) CHECK(func_of_key(&st, ((uint64_t)i + 1) << 40) == i);
  nn = st.nnodes;
  {
    uint32_t fids[3];
    uint64_t kk[3];
    int ll[3];
    rmp_stack_frames(&st, a, fids, 3);
    for (int i = 0; i < 3; i++) {
      kk[i] = rmp_func_get(&st, rmp_frame_get(&st, fids[i])->func)->key;
      ll[i] = rmp_frame_get(&st, fids[i])->line;
    }
    CHECK(kk[0] == ((uint64_t)f1 + 1) << 40 && kk[1] == ((uint64_t)f2 + 1) << 40);
    CHECK(intern(&st, kk, ll, 3) == a && st.nnodes == nn);
  }
  rmp_stacks_free(&st);
}

static uint32_t str(rmp_strtab *t, const char *s) {
  uint32_t id;
  CHECK(rmp_strtab_intern_cstr(t, s, &id) == RMP_OK);
  return id;
}
static int streq(const rmp_strtab *t, uint32_t id, const char *s) {
  size_t len;
  const char *g = rmp_strtab_get(t, id, &len);
  return len == strlen(s) && memcmp(g, s, len) == 0;
}

static void test_compact(void) {
  rmp_stacks st, out, out2;
  rmp_strtab strs, ostrs, ostrs2;
  CHECK(rmp_stacks_init(&st) == RMP_OK);
  CHECK(rmp_strtab_init(&strs) == RMP_OK);
  /* Strings that no kept function uses must not be copied. */
  str(&strs, "unused-1");
  /*  s1 = [a:1 b:2 c:3]  s2 = [d:4 b:2 c:3]  s3 = [e:5 f:6]  s4 = [a:7 c:3] */
  uint64_t k1[] = {'a', 'b', 'c'}, k2[] = {'d', 'b', 'c'}, k3[] = {'e', 'f'}, k4[] = {'a', 'c'};
  int l1[] = {1, 2, 3}, l2[] = {4, 2, 3}, l3[] = {5, 6}, l4[] = {7, 3};
  uint32_t s1 = intern(&st, k1, l1, 3), s2 = intern(&st, k2, l2, 3), s3 = intern(&st, k3, l3, 2),
           s4 = intern(&st, k4, l4, 2);
  uint32_t s1p = intern(&st, k1 + 1, l1 + 1, 2); /* [b:2 c:3], a prefix node */
  const char *names[] = {"fa", "fb", "fc", "fd", "fe", "ff"};
  for (int i = 0; i < 6; i++) {
    char file[16];
    snprintf(file, sizeof file, "file_%c.rb", 'a' + i);
    if (i == 1) continue; /* 'b' stays unresolved */
    rmp_func_resolve(&st, func_of_key(&st, (uint64_t)('a' + i)), str(&strs, names[i]), str(&strs, "sys"),
                     str(&strs, file), 100 + i);
  }
  uint32_t nn = st.nnodes, nf = st.nfuncs, nfr = st.nframes;
  CHECK(rmp_stacks_mark(&st, nn) == RMP_ERR_INVALID);
  CHECK(rmp_stacks_mark(&st, s1) == RMP_OK);
  CHECK(rmp_stacks_mark(&st, s4) == RMP_OK);
  CHECK(rmp_stacks_mark(&st, s4) == RMP_OK); /* twice is fine */
  uint32_t *remap = (uint32_t *)malloc(nn * sizeof *remap);
  CHECK(remap != NULL);
  CHECK(rmp_stacks_compact(&st, &strs, &out, &ostrs, remap) == RMP_OK);

  CHECK(remap[0] == 0);
  CHECK(remap[s1] != UINT32_MAX && remap[s4] != UINT32_MAX && remap[s1p] != UINT32_MAX);
  CHECK(remap[s2] == UINT32_MAX && remap[s3] == UINT32_MAX);
  expect_stack(&out, remap[s1], k1, l1, 3);
  expect_stack(&out, remap[s4], k4, l4, 2);
  expect_stack(&out, remap[s1p], k1 + 1, l1 + 1, 2);
  /* Kept: root, c:3, b:2, a:1, a:7 => 5 nodes; funcs a b c; frames a1 b2 c3 a7. */
  CHECK(out.nnodes == 5 && out.nfuncs == 3 && out.nframes == 4);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < nn; i++) kept += remap[i] != UINT32_MAX;
  CHECK(kept == 5);
  /* Ids are dense: every new id is the image of exactly one old id. */
  for (uint32_t i = 0; i < nn; i++)
    for (uint32_t j = 0; j < i; j++) CHECK(remap[i] == UINT32_MAX || remap[i] != remap[j]);
  keyset ks = {{0}, 0};
  rmp_stacks_each_key(&out, collect_key, &ks);
  CHECK(ks.n == 3 && keyset_has(&ks, 'a') && keyset_has(&ks, 'b') && keyset_has(&ks, 'c'));
  CHECK(!keyset_has(&ks, 'd') && !keyset_has(&ks, 'e') && !keyset_has(&ks, 'f'));
  /* Names were re-interned into the new table; only those still used. */
  for (uint32_t i = 0; i < out.nfuncs; i++) {
    const rmp_func *f = rmp_func_get(&out, i);
    int c = (int)(f->key - 'a');
    char file[16];
    snprintf(file, sizeof file, "file_%c.rb", 'a' + c);
    if (f->key == 'b') {
      CHECK(!f->resolved);
      continue;
    }
    CHECK(f->resolved && streq(&ostrs, f->name, names[c]) && streq(&ostrs, f->system_name, "sys") &&
          streq(&ostrs, f->file, file) && f->start_line == 100 + c);
  }
  CHECK(ostrs.count == 1 + 5); /* "", fa, fc, sys, file_a.rb, file_c.rb */
  CHECK(out.first_unresolved <= out.nfuncs);
  for (uint32_t i = 0; i < out.first_unresolved; i++) CHECK(rmp_func_get(&out, i)->resolved);
  /* The compacted trie works as a trie: re-interning finds the same ids. */
  CHECK(intern(&out, k1, l1, 3) == remap[s1]);
  CHECK(intern(&out, k4, l4, 2) == remap[s4]);
  CHECK(out.nnodes == 5);
  uint32_t n2 = intern(&out, k2, l2, 3);
  expect_stack(&out, n2, k2, l2, 3);
  CHECK(out.nnodes == 6); /* only d:4 is new */

  /* The source is intact, and its marks were cleared: compacting again
   * with nothing marked keeps only the root. */
  CHECK(st.nnodes == nn && st.nfuncs == nf && st.nframes == nfr);
  expect_stack(&st, s2, k2, l2, 3);
  expect_stack(&st, s3, k3, l3, 2);
  CHECK(rmp_stacks_compact(&st, &strs, &out2, &ostrs2, remap) == RMP_OK);
  CHECK(out2.nnodes == 1 && out2.nfuncs == 0 && out2.nframes == 0 && ostrs2.count == 1);
  CHECK(remap[0] == 0);
  for (uint32_t i = 1; i < nn; i++) CHECK(remap[i] == UINT32_MAX);
  rmp_stacks_free(&out2);
  rmp_strtab_free(&ostrs2);

  /* Marking everything keeps everything, decoding identically. */
  for (uint32_t i = 0; i < nn; i++) CHECK(rmp_stacks_mark(&st, i) == RMP_OK);
  CHECK(rmp_stacks_compact(&st, &strs, &out2, &ostrs2, remap) == RMP_OK);
  CHECK(out2.nnodes == nn && out2.nfuncs == nf && out2.nframes == nfr);
  expect_stack(&out2, remap[s1], k1, l1, 3);
  expect_stack(&out2, remap[s2], k2, l2, 3);
  expect_stack(&out2, remap[s3], k3, l3, 2);
  expect_stack(&out2, remap[s4], k4, l4, 2);
  rmp_stacks_free(&out2);
  rmp_strtab_free(&ostrs2);

  free(remap);
  rmp_stacks_free(&out);
  rmp_strtab_free(&ostrs);
  rmp_stacks_free(&st);
  rmp_strtab_free(&strs);
}

/* Interning after marking began must neither overflow the marks nor lose
 * the new stack: it is kept when marked, dropped when not. */
static void test_intern_between_mark_and_compact(void) {
  rmp_stacks st, out;
  rmp_strtab strs, os;
  uint64_t k1[1] = {1}, k2[2] = {2, 3}, k3[3] = {4, 5, 6};
  int l[3] = {1, 2, 3};
  uint32_t a, b, c, remap[16], fr[4];
  CHECK(rmp_stacks_init(&st) == RMP_OK && rmp_strtab_init(&strs) == RMP_OK);
  CHECK(rmp_stack_intern(&st, k1, l, 1, &a) == RMP_OK);
  CHECK(rmp_stacks_mark(&st, a) == RMP_OK);
  CHECK(rmp_stack_intern(&st, k2, l, 2, &b) == RMP_OK);
  CHECK(rmp_stack_intern(&st, k3, l, 3, &c) == RMP_OK);
  CHECK(rmp_stacks_mark(&st, b) == RMP_OK);
  CHECK(rmp_stacks_compact(&st, &strs, &out, &os, remap) == RMP_OK);
  CHECK(remap[a] != UINT32_MAX && remap[b] != UINT32_MAX && remap[c] == UINT32_MAX);
  CHECK(out.nnodes == 1 + 1 + 2);
  CHECK(rmp_stack_frames(&out, remap[b], fr, 4) == 2);
  CHECK(rmp_func_get(&out, rmp_frame_get(&out, fr[0])->func)->key == 2);
  CHECK(rmp_func_get(&out, rmp_frame_get(&out, fr[1])->func)->key == 3);
  rmp_stacks_free(&st);
  rmp_stacks_free(&out);
  rmp_strtab_free(&strs);
  rmp_strtab_free(&os);
}

int main(void) {
  test_intern_between_mark_and_compact();
  test_intern_and_walk();
  test_truncation();
  test_keys_rekey_resolve();
  test_compact();
  puts("unit stacks OK");
  return 0;
}

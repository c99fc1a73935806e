/* Unit tests: rmp_strtab. */
#include <string.h>

#include "check.h"
#include "rmp.h"

static uint32_t intern(rmp_strtab *t, const char *s, size_t len) {
  uint32_t id = UINT32_MAX;
  CHECK(rmp_strtab_intern(t, s, len, &id) == RMP_OK);
  CHECK(id < t->count);
  return id;
}

static void expect(const rmp_strtab *t, uint32_t id, const char *s, size_t len) {
  size_t got_len = 12345;
  const char *got = rmp_strtab_get(t, id, &got_len);
  CHECKF(got_len == len, "id %u: len %zu vs %zu", id, got_len, len);
  CHECK(memcmp(got, s, len) == 0);
  CHECK(got[len] == '\0'); /* usable as a C string when it has no NULs */
}

static void test_basics(void) {
  rmp_strtab t;
  CHECK(rmp_strtab_init(&t) == RMP_OK);
  CHECK(t.count == 1);
  expect(&t, 0, "", 0);
  CHECK(rmp_strtab_get(&t, 0, NULL) != NULL);
  CHECK(intern(&t, "", 0) == 0);
  CHECK(intern(&t, "ignored", 0) == 0);
  uint32_t id;
  CHECK(rmp_strtab_intern_cstr(&t, "", &id) == RMP_OK && id == 0);

  uint32_t abc = intern(&t, "abc", 3), ab = intern(&t, "ab", 2), abcd = intern(&t, "abcd", 4);
  CHECK(abc != 0 && ab != 0 && abcd != 0 && abc != ab && abc != abcd && ab != abcd);
  CHECK(intern(&t, "abcdef", 3) == abc);
  CHECK(rmp_strtab_intern_cstr(&t, "abc", &id) == RMP_OK && id == abc);
  CHECK(t.count == 4);
  expect(&t, abc, "abc", 3);
  expect(&t, ab, "ab", 2);
  expect(&t, abcd, "abcd", 4);

  /* Embedded NULs are part of the string. */
  uint32_t a = intern(&t, "a", 1), a0 = intern(&t, "a\0", 2), a0b = intern(&t, "a\0b", 3),
           a0c = intern(&t, "a\0c", 3), z = intern(&t, "\0", 1), zz = intern(&t, "\0\0", 2);
  uint32_t all[] = {0, abc, ab, abcd, a, a0, a0b, a0c, z, zz};
  for (size_t i = 0; i < 10; i++)
    for (size_t j = 0; j < i; j++) CHECK(all[i] != all[j]);
  CHECK(intern(&t, "a\0b", 3) == a0b);
  CHECK(rmp_strtab_intern_cstr(&t, "a", &id) == RMP_OK && id == a);
  expect(&t, a0b, "a\0b", 3);
  expect(&t, zz, "\0\0", 2);
  CHECK(t.count == 10);
  rmp_strtab_free(&t);
}

static void test_long(void) {
  rmp_strtab t;
  CHECK(rmp_strtab_init(&t) == RMP_OK);
  size_t n = 1u << 20;
  char *big = (char *)malloc(n + 1);
  CHECK(big != NULL);
  for (size_t i = 0; i < n; i++) big[i] = (char)(i * 7 + 1);
  uint32_t x = intern(&t, big, n);
  big[n - 1] ^= 1; /* differs only in the last byte */
  uint32_t y = intern(&t, big, n);
  CHECK(x != y);
  expect(&t, y, big, n);
  big[n - 1] ^= 1;
  expect(&t, x, big, n);
  CHECK(intern(&t, big, n) == x);
  CHECK(intern(&t, big, n - 1) != x);
  free(big);
  rmp_strtab_free(&t);
}

static void test_growth(void) {
  enum { N = 100000 };
  rmp_strtab t, u;
  CHECK(rmp_strtab_init(&t) == RMP_OK);
  CHECK(rmp_strtab_init(&u) == RMP_OK); /* a second table is independent */
  uint32_t *ids = (uint32_t *)malloc(N * sizeof *ids);
  CHECK(ids != NULL);
  char buf[64];
  for (int i = 0; i < N; i++) {
    int len = snprintf(buf, sizeof buf, "name_%d", i);
    ids[i] = intern(&t, buf, (size_t)len);
    CHECK(t.count == (uint32_t)i + 2);
  }
  CHECK(u.count == 1);
  for (int i = N - 1; i >= 0; i--) {
    int len = snprintf(buf, sizeof buf, "name_%d", i);
    CHECK(intern(&t, buf, (size_t)len) == ids[i]);
    expect(&t, ids[i], buf, (size_t)len);
  }
  CHECK(t.count == N + 1);
  free(ids);
  rmp_strtab_free(&t);
  rmp_strtab_free(&u);
  /* free leaves a table that can be initialised again */
  CHECK(rmp_strtab_init(&t) == RMP_OK);
  CHECK(t.count == 1);
  expect(&t, intern(&t, "name_7", 6), "name_7", 6);
  CHECK(t.count == 2);
  rmp_strtab_free(&t);
}

int main(void) {
  test_basics();
  test_long();
  test_growth();
  puts("unit strtab OK");
  return 0;
}

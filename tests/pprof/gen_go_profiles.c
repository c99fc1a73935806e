/* Writes the scenarios as gzipped profiles into a folder, with the totals
 * the test's model expects for each, for the Go-side oracles
 * (go_checks.sh): one line per file in the validator's output format, "*"
 * where any value is accepted.
 * The merged profile's expectation leaves out samples without frames:
 * `go tool pprof` (its focus filter, even with no -focus given) drops
 * samples that have no location before it writes anything. */
#include <string.h>

#include "pprof_scenarios.h"

static void write_file(const char *path, const rmp_buf *b) {
  FILE *f = fopen(path, "wb");
  PC_CHECK(f != NULL);
  PC_CHECK(fwrite(b->data, 1, b->len, f) == b->len);
  PC_CHECK(fclose(f) == 0);
}

static void print_totals(FILE *out, const char *path, const char *samples, const int64_t t[4]) {
  fprintf(out, "%s samples=%s allocations=%lld allocation_size=%lld retained_objects=%lld retained_size=%lld\n",
          path, samples, (long long)t[0], (long long)t[1], (long long)t[2], (long long)t[3]);
}

static int64_t sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

int main(int argc, char **argv) {
  const pc_scenario *sc;
  char path[4096], nsamples[32];
  FILE *expected;
  int64_t merged[4] = {0, 0, 0, 0};
  int i;
  if (argc != 2) {
    fprintf(stderr, "usage: gen_go_profiles outdir\n");
    return 2;
  }
  snprintf(path, sizeof path, "%s/expected.txt", argv[1]);
  expected = fopen(path, "w");
  PC_CHECK(expected != NULL);
  for (sc = pc_scenarios; sc->name; sc++) {
    pc_case c;
    pc_model m;
    rmp_buf gz = {NULL, 0, 0};
    sc->build(&c);
    pc_model_build(&c, &m);
    PC_CHECK(rmp_pprof_encode_gzip(&c.snap, &c.opts, &gz) == RMP_OK);
    snprintf(path, sizeof path, "%s/%s.pb.gz", argv[1], sc->name);
    write_file(path, &gz);
    snprintf(nsamples, sizeof nsamples, "%zu", m.n);
    /* With weights that are not whole numbers each sample may round either
     * way: such a profile is still parsed and checked, its totals are not. */
    if (m.exact)
      print_totals(expected, path, nsamples, m.totals);
    else
      fprintf(expected, "%s samples=%s allocations=* allocation_size=* retained_objects=* retained_size=*\n", path,
              nsamples);
    if (strcmp(sc->name, "basic") == 0 || strcmp(sc->name, "scaled") == 0) {
      for (i = 0; i < 4; i++) merged[i] = sat_add(merged[i], m.located_totals[i]);
    }
    if (strcmp(sc->name, "basic") == 0) {
      rmp_buf raw = {NULL, 0, 0};
      PC_CHECK(rmp_pprof_encode(&c.snap, &c.opts, rmp_buf_sink, &raw) == RMP_OK);
      snprintf(path, sizeof path, "%s/basic.pb", argv[1]);
      write_file(path, &raw);
      print_totals(expected, path, nsamples, m.totals);
      rmp_buf_free(&raw);
    }
    rmp_buf_free(&gz);
    pc_model_free(&m);
    pc_free(&c);
  }
  snprintf(path, sizeof path, "%s/merged.pb.gz", argv[1]);
  print_totals(expected, path, "*", merged);
  PC_CHECK(fclose(expected) == 0);
  return 0;
}

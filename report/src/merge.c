/* The merge command: sum profiles into one, with go tool pprof's rules
 * (profile.Merge): sample types must match; time follows its rule (below),
 * durations add up, period is the largest, comments are kept once each,
 * identical samples (same stack, same labels) are summed and all-zero
 * samples dropped. Equal mappings (same file, addresses and flags) become
 * one, so RMP's one mapping per profile stays one; a location keeps its
 * mapping and address. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static int types_match(const pprof_profile *a, const pprof_profile *b) {
  if (a->ntypes != b->ntypes) return 0;
  for (uint32_t i = 0; i < a->ntypes; i++)
    if (strcmp(pprof_str(a, a->types[i].type), pprof_str(b, b->types[i].type)) ||
        strcmp(pprof_str(a, a->types[i].unit), pprof_str(b, b->types[i].unit)))
      return 0;
  return 1;
}

static int64_t copy_str(pprof_profile *dst, const pprof_profile *src, int64_t idx) {
  const char *s = pprof_str(src, idx);
  return pprof_intern(dst, s, idx > 0 ? pprof_strings_len(&src->strings, (uint32_t)idx) : 0);
}

static int cmp_label(const void *a, const void *b) {
  const pprof_label *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  if (x->str != y->str) return x->str < y->str ? -1 : 1;
  if (x->num != y->num) return x->num < y->num ? -1 : 1;
  return (x->num_unit > y->num_unit) - (x->num_unit < y->num_unit);
}

static void fold(pprof_profile *m, const pprof_profile *p) {
  pprof_map mapmap = {0}, fnmap = {0}, locmap = {0};
  for (uint32_t i = 0; i < p->nmappings; i++) {
    pprof_mapping c = p->mappings[i];
    int found;
    c.filename = copy_str(m, p, c.filename);
    c.build_id = copy_str(m, p, c.build_id);
    *pprof_map_put(&mapmap, p->mappings[i].id, &found) = (uint32_t)pprof_add_mapping(m, &c);
  }
  for (uint32_t i = 0; i < p->nfunctions; i++) {
    const pprof_function *f = &p->functions[i];
    int found;
    uint64_t id = pprof_add_function(m, pprof_str(p, f->name), pprof_str(p, f->system_name),
                                  pprof_str(p, f->filename), f->start_line);
    *pprof_map_put(&fnmap, f->id, &found) = (uint32_t)id;
  }
  pprof_line *lines = NULL;
  uint32_t lcap = 0;
  for (uint32_t i = 0; i < p->nlocations; i++) {
    const pprof_location *l = &p->locations[i];
    pprof_grow((void **)&lines, &lcap, l->nlines + 1, sizeof *lines);
    for (uint32_t k = 0; k < l->nlines; k++) {
      lines[k].function_id = *pprof_map_get(&fnmap, p->lines[l->line_off + k].function_id);
      lines[k].line = p->lines[l->line_off + k].line;
    }
    int found;
    /* a missing mapping reads as none, as in Go's parser */
    const uint32_t *mapping = l->mapping_id ? pprof_map_get(&mapmap, l->mapping_id) : NULL;
    *pprof_map_put(&locmap, l->id, &found) = (uint32_t)pprof_add_location(m, mapping ? *mapping : 0, lines, l->nlines, l->address);
  }
  uint64_t *locs = NULL;
  pprof_label *labs = NULL;
  uint32_t ncap = 0, labcap = 0;
  for (uint32_t i = 0; i < p->nsamples; i++) {
    const pprof_sample *s = &p->samples[i];
    const int64_t *v = p->values + s->val_off;
    int zero = 1;
    for (uint32_t k = 0; k < p->ntypes; k++) zero &= v[k] == 0;
    if (zero) continue;
    pprof_grow((void **)&locs, &ncap, s->nloc + 1, sizeof *locs);
    pprof_grow((void **)&labs, &labcap, s->nlab + 1, sizeof *labs);
    for (uint32_t k = 0; k < s->nloc; k++) locs[k] = *pprof_map_get(&locmap, p->location_ids[s->loc_off + k]);
    for (uint32_t k = 0; k < s->nlab; k++) {
      const pprof_label *l = &p->labels[s->lab_off + k];
      labs[k].key = copy_str(m, p, l->key);
      labs[k].str = l->str ? copy_str(m, p, l->str) : 0;
      labs[k].num = l->num;
      labs[k].num_unit = l->num_unit ? copy_str(m, p, l->num_unit) : 0;
    }
    qsort(labs, s->nlab, sizeof *labs, cmp_label);
    pprof_add_sample(m, locs, s->nloc, labs, s->nlab, v);
  }
  free(lines);
  free(locs);
  free(labs);
  pprof_map_free(&mapmap);
  pprof_map_free(&fnmap);
  pprof_map_free(&locmap);
}

/* Sums that cancelled out leave all-zero samples; pprof drops them too. */
static void drop_zero_samples(pprof_profile *m) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->nsamples; i++) {
    int zero = 1;
    for (uint32_t k = 0; k < m->ntypes; k++) zero &= m->values[m->samples[i].val_off + k] == 0;
    if (!zero) m->samples[n++] = m->samples[i];
  }
  m->nsamples = n;
}

static const char help[] =
    "usage: rmp-report merge FILES...|DIR -o OUT.pb.gz [--strict]\n"
    "\n"
    "Sum profiles (e.g. from many processes) into one, as go tool pprof -proto does:\n"
    "sample types must match, identical samples are summed, durations add up.\n"
    "\n"
    "Options:\n"
    "  -o, --output=OUT.pb.gz  where to write the merged profile (gzipped)\n"
    "  --strict                fail (exit 1) when any input file is unusable,\n"
    "                          instead of skipping it\n"
    "  -h, --help              this help\n";

enum { OPT_STRICT = 0x100 };
static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                         {"strict", no_argument, NULL, OPT_STRICT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
const report_command report_merge_command = {"merge", help, "o:", longopts};

int report_cmd_merge(int argc, char **argv) {
  const char *outp = NULL;
  int strict = 0, c;
  while ((c = report_next_option(&report_merge_command, argc, argv)) != -1) {
    if (c == 'o') outp = optarg;
    else if (c == OPT_STRICT) strict = 1;
    else return c == REPORT_OPT_HELP ? REPORT_EXIT_OK : REPORT_EXIT_USAGE;
  }
  if (!outp || optind >= argc) {
    fprintf(stderr, "usage: rmp-report merge FILES...|DIR -o OUT.pb.gz (rmp-report merge --help)\n");
    return REPORT_EXIT_USAGE;
  }
  int nerr = 0;
  char **paths;
  uint32_t n = report_expand_inputs(argv + optind, argc - optind, &paths, &nerr);
  pprof_profile m;
  pprof_profile_init(&m);
  uint32_t used = 0, bad = 0;
  int64_t tmin = 0;
  for (uint32_t i = 0; i < n; i++) {
    pprof_profile p;
    char err[1024];
    if (pprof_decode_file(paths[i], PPROF_SUM_SAMPLES, &p, err, sizeof err) != 0) {
      fprintf(stderr, "rmp-report: %s: %s%s\n", paths[i], err, strict ? "" : "; skipped");
      bad++;
      continue;
    }
    if (used == 0) {
      for (uint32_t k = 0; k < p.ntypes; k++)
        pprof_add_type(&m, pprof_str(&p, p.types[k].type), pprof_str(&p, p.types[k].unit));
      if (p.has_period_type) {
        m.has_period_type = 1;
        m.period_type.type = copy_str(&m, &p, p.period_type.type);
        m.period_type.unit = copy_str(&m, &p, p.period_type.unit);
      }
    } else if (!types_match(&m, &p)) {
      char a[512], b[512];
      pprof_types_text(&m, a, sizeof a);
      pprof_types_text(&p, b, sizeof b);
      fprintf(stderr, "rmp-report: %s: sample types (%s) differ from the first profile's (%s)%s\n", paths[i], b, a,
              strict ? "" : "; skipped");
      pprof_profile_free(&p);
      bad++;
      continue;
    }
    /* Exactly profile.Merge's rule, so the header matches go tool pprof
     * -proto byte for byte: it means "earliest nonzero", but a zero time
     * resets it and the next profile's time is taken as is. */
    if (tmin == 0 || p.time_nanos < tmin) tmin = p.time_nanos;
    m.duration_nanos += p.duration_nanos;
    if (p.period > m.period) m.period = p.period;
    for (uint32_t k = 0; k < p.ncomments; k++) {
      const char *c = pprof_str(&p, p.comments[k]);
      int64_t id = pprof_intern(&m, c, strlen(c));
      int dup = 0;
      for (uint32_t j = 0; j < m.ncomments; j++) dup |= m.comments[j] == id;
      if (!dup) PPROF_PUSH(m.comments, m.ncomments, m.comments_cap, id);
    }
    if (m.default_sample_type == 0 && p.default_sample_type) m.default_sample_type = copy_str(&m, &p, p.default_sample_type);
    fold(&m, &p);
    pprof_profile_free(&p);
    used++;
  }
  for (uint32_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
  m.time_nanos = tmin;
  int rc = 0;
  if (strict && (bad || nerr)) {
    fprintf(stderr, "rmp-report merge: --strict: %u input(s) unusable (named above); nothing written\n",
            bad + (uint32_t)nerr);
    rc = 1;
  } else if (used == 0) {
    fprintf(stderr, "rmp-report merge: no usable profiles\n");
    rc = 1;
  } else {
    char err[1024];
    drop_zero_samples(&m);
    if (pprof_encode_file(outp, &m, err, sizeof err) != 0) {
      fprintf(stderr, "rmp-report merge: %s\n", err);
      rc = 1;
    } else {
      fprintf(stderr, "rmp-report merge: %u profile(s) merged into %s (%u samples)%s\n", used, outp, m.nsamples,
              bad || nerr ? ", some inputs skipped" : "");
    }
  }
  pprof_profile_free(&m);
  return rc;
}

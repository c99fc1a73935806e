/* The default GC's mark and age bits, read in place on the Rubies whose
 * struct heap_page was read from their source: 3.3, 3.4 and 4.0, 64-bit.
 *
 * The exported probes (rb_objspace_marked_object_p, rb_obj_gc_flags,
 * rb_gc_object_metadata) read the same mark bitmap behind two calls, and
 * telling an old object from a young one then means reading the object
 * itself: a cache miss per entry, 89% of the minor pass's own time on 4.0
 * (perf, bench/RESULTS.md §6c). Here both bits come from the page's
 * bitmaps, a few cache lines shared by every object on the page.
 *
 * Nothing below is trusted blindly: liveness.c compares these reads with
 * the exported probe until both agree on enough entries of every kind, and
 * falls back to the probe for good at the first disagreement. */
#ifndef RMP_HEAP_BITS_H
#define RMP_HEAP_BITS_H

#include <string.h>
#include <ruby.h>
#include <ruby/version.h>

#define RMP_SEEN_MARKED 1u
#define RMP_SEEN_OLD 2u /* age 3, the age at which Ruby sets FL_PROMOTED */

#if SIZEOF_VOIDP == 8 && ((RUBY_API_VERSION_MAJOR == 3 && (RUBY_API_VERSION_MINOR == 3 || RUBY_API_VERSION_MINOR == 4)) || \
                          (RUBY_API_VERSION_MAJOR == 4 && RUBY_API_VERSION_MINOR == 0))
#define RMP_HEAP_BITS 1
/* HEAP_PAGE_ALIGN_LOG 16: a page body is 64 KiB aligned and begins with
 * its struct heap_page pointer (struct heap_page_header). */
#define RMP_HEAP_PAGE_MASK ((uintptr_t)0xFFFF)
/* BASE_SLOT_SIZE: bitmaps index a page in 40-byte units, whatever the
 * page's slot size. */
#define RMP_HEAP_SLOT_UNIT 40u
/* HEAP_PAGE_BITMAP_LIMIT, ceil(ceil(65536 / 40) / 64): words per bitmap. */
#define RMP_HEAP_BITMAP_BYTES (26u * 8u)
/* struct heap_page: five shorts, a bit-field word, six pointers (3.4 added
 * a seventh, `body`), then the wb_unprotected, mark, uncollectible,
 * marking, remembered and pinned bitmaps and the two-bit age bitmap. */
#if RUBY_API_VERSION_MAJOR == 3 && RUBY_API_VERSION_MINOR == 3
#define RMP_HEAP_BITMAPS_AT 64u
#else
#define RMP_HEAP_BITMAPS_AT 72u
#endif
#define RMP_HEAP_MARK_BITS_AT (RMP_HEAP_BITMAPS_AT + 1u * RMP_HEAP_BITMAP_BYTES)
#define RMP_HEAP_AGE_BITS_AT (RMP_HEAP_BITMAPS_AT + 6u * RMP_HEAP_BITMAP_BYTES)

/* RMP_SEEN_* of obj, a heap object, at the end of marking. skew moves the
 * mark bitmap read (0; tests give a wrong layout with it). */
static inline unsigned rmp_heap_bits_seen(VALUE obj, size_t skew) {
  uintptr_t p = (uintptr_t)obj;
  uintptr_t n = (p & RMP_HEAP_PAGE_MASK) / RMP_HEAP_SLOT_UNIT;
  const unsigned char *page;
  uintptr_t mark, age;
  memcpy(&page, (const void *)(p & ~RMP_HEAP_PAGE_MASK), sizeof(page));
  memcpy(&mark, page + RMP_HEAP_MARK_BITS_AT + skew + n / 64 * 8, sizeof(mark));
  if (!((mark >> (n % 64)) & 1)) return 0;
  memcpy(&age, page + RMP_HEAP_AGE_BITS_AT + n / 32 * 8, sizeof(age));
  return ((age >> (n % 32 * 2)) & 3) == 3 ? RMP_SEEN_MARKED | RMP_SEEN_OLD : RMP_SEEN_MARKED;
}
#endif

#endif

/* libruby functions outside the public headers, looked up in the running
 * process rather than linked: a static libruby (ruby-build's and rbenv's
 * default) exports only what Ruby marks for export, and which internal
 * functions exist changes between versions. A gem built against one kind of
 * Ruby build therefore loads on another, and each feature that needs a
 * missing function falls back at run time. */
#include <dlfcn.h>
#include "rmp_ext.h"

rmp_ext_internal_api rmp_ext_api;

static void *rmp_find(const char *name) {
  /* The ruby binary (static libruby) or libruby.so, already loaded: the
   * default search scope covers both. */
  return dlsym(RTLD_DEFAULT, name);
}

void rmp_ext_find_internal_api(void) {
  rmp_ext_api.marked_object_p = (int (*)(VALUE))rmp_find("rb_objspace_marked_object_p");
  rmp_ext_api.obj_gc_flags = (size_t(*)(VALUE, ID *, size_t))rmp_find("rb_obj_gc_flags");
  rmp_ext_api.object_metadata = (const rmp_gc_metadata_entry *(*)(VALUE))rmp_find("rb_gc_object_metadata");
  rmp_ext_api.active_gc_name = (const char *(*)(void))rmp_find("rb_gc_active_gc_name");
}

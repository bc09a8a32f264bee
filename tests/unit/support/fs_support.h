/*
 * fs_support.h — scratch directories for unit tests: made under /tmp with a recognisable
 * prefix, removed with everything in them when the test ends.
 */
#ifndef WR_TEST_FS_SUPPORT_H
#define WR_TEST_FS_SUPPORT_H

#include <stddef.h>

/* Makes /tmp/weir-<tag>-XXXXXX and writes its path to out (cap bytes); fails the test if it
 * cannot. */
void ts_mkdtemp(const char *tag, char *out, size_t cap);
/* Removes dir and everything below it (links are not followed). */
void ts_rm_rf(const char *dir);

#endif

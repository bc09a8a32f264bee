/*
 * fs_support.c — scratch directories for unit tests (fs_support.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <ftw.h>

#include "support/fs_support.h"

void
ts_mkdtemp(const char *tag, char *out, size_t cap)
{
    int n = snprintf(out, cap, "/tmp/weir-%s-XXXXXX", tag);
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(out));
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void
ts_rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

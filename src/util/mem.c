/*
 * mem.c — aborting allocation wrappers (see mem.h).
 */
#include "util/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n)
{
    fprintf(stderr, "level=fatal msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *
wr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *
wr_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *
wr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *
wr_xstrdup(const char *s)
{
    return wr_xstrndup(s, strlen(s));
}

char *
wr_xstrndup(const char *s, size_t n)
{
    char *p = wr_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *
wr_xmemdup(const void *p, size_t n)
{
    void *q = wr_xmalloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* jansson allocates through the aborting allocator too; runs before main (and before any test),
 * since every program that links weircore uses this file. */
__attribute__((constructor)) static void
route_jansson(void)
{
    json_set_alloc_funcs(wr_xmalloc, free);
}

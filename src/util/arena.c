/*
 * arena.c — see arena.h.
 *
 * A chunk is one malloc: a small header followed by its payload. The header's flexible
 * max_align_t array puts the payload at maximal alignment, and every bump is rounded up to that
 * alignment, so each returned pointer is aligned too. `dedicated` chunks hold exactly one big
 * allocation and are never bumped into again.
 */
#include "util/arena.h"

#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define ALIGN ((size_t) _Alignof(max_align_t))

struct wr_arena_chunk {
    wr_arena_chunk *next;
    size_t cap;  /* payload bytes */
    size_t used; /* payload bytes handed out (aligned) */
    bool dedicated;
    max_align_t data[];
};

static void
overflow(void)
{
    fprintf(stderr, "level=fatal msg=\"arena allocation size overflow\"\n");
    abort();
}

static size_t
round_up(size_t n)
{
    if (n > SIZE_MAX - (ALIGN - 1))
        overflow();
    return (n + ALIGN - 1) & ~(ALIGN - 1);
}

static wr_arena_chunk *
chunk_new(wr_arena *a, size_t cap, bool dedicated)
{
    if (cap > SIZE_MAX - sizeof(wr_arena_chunk))
        overflow();
    wr_arena_chunk *c = wr_xmalloc(sizeof(wr_arena_chunk) + cap);
    c->cap = cap;
    c->used = 0;
    c->dedicated = dedicated;
    c->next = a->chunks;
    a->chunks = c;
    return c;
}

void
wr_arena_init(wr_arena *a, size_t first_chunk_len)
{
    a->cur = NULL;
    a->chunks = NULL;
    a->first_cap = round_up(first_chunk_len ? first_chunk_len : WR_ARENA_DEFAULT_CHUNK);
    a->next_cap = a->first_cap;
    a->n_bytes = 0;
}

void
wr_arena_fini(wr_arena *a)
{
    wr_arena_chunk *c = a->chunks;
    while (c) {
        wr_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->cur = NULL;
    a->chunks = NULL;
    a->next_cap = a->first_cap;
    a->n_bytes = 0;
}

void
wr_arena_reset(wr_arena *a)
{
    wr_arena_chunk *keep = NULL;
    for (wr_arena_chunk *c = a->chunks; c; c = c->next)
        if (!c->dedicated && (keep == NULL || c->cap > keep->cap))
            keep = c;
    wr_arena_chunk *c = a->chunks;
    while (c) {
        wr_arena_chunk *next = c->next;
        if (c != keep)
            free(c);
        c = next;
    }
    a->chunks = keep;
    a->cur = keep;
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->n_bytes = 0;
}

bool
wr_arena_reset_first(wr_arena *a)
{
    wr_arena_chunk *c = a->chunks;
    if (c && (c->next || c->dedicated || c->cap != a->first_cap))
        return false;
    if (c) {
        c->used = 0;
        ASAN_POISON_MEMORY_REGION(c->data, c->cap);
    }
    a->cur = c;
    /* As wr_arena_alloc leaves it after making the first chunk. */
    a->next_cap = c && a->first_cap <= WR_ARENA_MAX_CHUNK / 2 ? a->first_cap * 2 : a->first_cap;
    a->n_bytes = 0;
    return true;
}

void *
wr_arena_alloc(wr_arena *a, size_t n)
{
    size_t need = round_up(n);
    a->n_bytes += n;
    wr_arena_chunk *c = a->cur;
    if (c && c->cap - c->used >= need) {
        void *p = (char *)c->data + c->used;
        c->used += need;
        ASAN_UNPOISON_MEMORY_REGION(p, need);
        return p;
    }
    /* Big requests get a chunk of their own; the current chunk keeps serving small ones. */
    if (need > a->next_cap / 4) {
        wr_arena_chunk *d = chunk_new(a, need, true);
        d->used = need;
        return d->data;
    }
    c = chunk_new(a, a->next_cap, false);
    a->cur = c;
    if (a->next_cap <= WR_ARENA_MAX_CHUNK / 2)
        a->next_cap *= 2;
    c->used = need;
    return c->data;
}

void *
wr_arena_calloc(wr_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        overflow();
    void *p = wr_arena_alloc(a, n * size);
    memset(p, 0, n * size);
    return p;
}

char *
wr_arena_strndup(wr_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        overflow();
    char *p = wr_arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
wr_arena_strdup(wr_arena *a, const char *s)
{
    return wr_arena_strndup(a, s, strlen(s));
}

void *
wr_arena_memdup(wr_arena *a, const void *p, size_t n)
{
    void *q = wr_arena_alloc(a, n);
    if (n)
        memcpy(q, p, n);
    return q;
}

char *
wr_arena_vprintf(wr_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return wr_arena_strndup(a, "", 0);
    }
    char *p = wr_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

char *
wr_arena_printf(wr_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = wr_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

size_t
wr_arena_used(const wr_arena *a)
{
    return a->n_bytes;
}

size_t
wr_arena_n_chunks(const wr_arena *a)
{
    size_t n = 0;
    for (const wr_arena_chunk *c = a->chunks; c; c = c->next)
        n++;
    return n;
}

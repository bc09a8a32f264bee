/*
 * arena.h — a bump allocator for memory that lives exactly as long as one request (or one other
 * unit of work).
 *
 * Handlers take everything they need for a request (decoded path parameters, parsed headers,
 * JSON scratch) from the request's arena and never free it piece by piece: the whole arena is
 * reset or finalised when the request ends. That makes "who frees this?" trivially "nobody".
 *
 * Invariants:
 *   - Every pointer returned is aligned for any object type (alignof(max_align_t)) and stays
 *     valid until wr_arena_reset() or wr_arena_fini(); nothing is ever moved.
 *   - Ordinary allocations come from the current chunk; when it is full a new chunk twice the
 *     size of the last one (capped at WR_ARENA_MAX_CHUNK) becomes current. A request bigger than
 *     a quarter of the chunk size gets a dedicated chunk of its own, so one large body never
 *     wastes the remainder of a small chunk nor inflates future chunks.
 *   - wr_arena_reset() keeps the largest ordinary chunk for reuse and frees everything else, so
 *     a long-lived connection's arena settles at its working size without unbounded growth.
 *   - Allocation failure aborts (mem.h); the functions here never return NULL.
 *
 * An arena is not thread-safe; it belongs to whoever owns the request (the loop thread).
 * A zeroed wr_arena is NOT valid: call wr_arena_init() first.
 */
#ifndef WR_UTIL_ARENA_H
#define WR_UTIL_ARENA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Default size of the first chunk, and the cap for ordinary chunk growth. */
#define WR_ARENA_DEFAULT_CHUNK 4096u
#define WR_ARENA_MAX_CHUNK (1024u * 1024u)

typedef struct wr_arena_chunk wr_arena_chunk;

typedef struct wr_arena {
    wr_arena_chunk *cur;    /* current ordinary chunk; allocations bump through it */
    wr_arena_chunk *chunks; /* every chunk (ordinary and dedicated), newest first */
    size_t next_cap;        /* payload size of the next ordinary chunk */
    size_t first_cap;       /* payload size asked for at init */
    size_t n_bytes;         /* bytes handed out since init/reset (statistics, tests) */
} wr_arena;

/*
 * Prepares an empty arena. first_chunk_len is the payload size of the first chunk
 * (0 = WR_ARENA_DEFAULT_CHUNK). No memory is allocated until the first allocation.
 */
void wr_arena_init(wr_arena *a, size_t first_chunk_len);
/* Frees every chunk. The arena may be initialised again afterwards. */
void wr_arena_fini(wr_arena *a);
/* Invalidates every pointer handed out and makes the memory reusable (see invariants). */
void wr_arena_reset(wr_arena *a);
/*
 * For arenas kept for reuse: when everything handed out came from one ordinary chunk of the
 * first size (or none was needed), invalidates it like wr_arena_reset, keeps that chunk and
 * returns true; otherwise changes nothing and returns false (the caller frees the arena).
 * Under AddressSanitizer the kept chunk is poisoned until it is handed out again.
 */
bool wr_arena_reset_first(wr_arena *a);

/*
 * Returns n bytes of uninitialised, maximally aligned memory. n == 0 returns a valid non-NULL
 * pointer that must not be dereferenced (and may equal the next allocation).
 */
void *wr_arena_alloc(wr_arena *a, size_t n);
/* Like wr_arena_alloc() but zero-filled. Aborts if n * size overflows. */
void *wr_arena_calloc(wr_arena *a, size_t n, size_t size);
/* Copies the NUL-terminated string s into the arena. */
char *wr_arena_strdup(wr_arena *a, const char *s);
/* Copies n bytes of s and appends a NUL (s need not be NUL-terminated). */
char *wr_arena_strndup(wr_arena *a, const char *s, size_t n);
/* Copies n bytes of p. */
void *wr_arena_memdup(wr_arena *a, const void *p, size_t n);
/* printf into the arena; returns the NUL-terminated result. */
char *wr_arena_printf(wr_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *wr_arena_vprintf(wr_arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Bytes handed out since init or the last reset (requested sizes, before alignment). */
size_t wr_arena_used(const wr_arena *a);
/* Chunks currently held, ordinary and dedicated (statistics, tests). */
size_t wr_arena_n_chunks(const wr_arena *a);

#endif

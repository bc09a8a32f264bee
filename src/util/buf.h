/*
 * buf.h — a growable byte buffer. The buffer owns `data`; it is always NUL-terminated past
 * `len` (when data is non-NULL) so text can be handed to C string functions. A zeroed wr_buf is
 * a valid empty buffer. Growth aborts on out-of-memory (mem.h).
 */
#ifndef WR_UTIL_BUF_H
#define WR_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wr_buf {
    char *data;
    size_t len;
    size_t cap;
    bool borrowed; /* data is the caller's storage (wr_buf_init_in), not the buffer's */
} wr_buf;

void wr_buf_init(wr_buf *b);
/*
 * An empty buffer that starts in the caller's `storage` of `cap` bytes (cap >= 1; e.g. an
 * array on the stack, for a response head) and moves to the heap only if it outgrows it. The
 * storage must outlive the buffer's use; wr_buf_fini never frees it, wr_buf_steal copies.
 */
void wr_buf_init_in(wr_buf *b, char *storage, size_t cap);
/* Frees the storage and leaves an empty buffer. */
void wr_buf_fini(wr_buf *b);
void wr_buf_reset(wr_buf *b);
/* Makes room for at least n more bytes. */
void wr_buf_reserve(wr_buf *b, size_t n);
void wr_buf_append(wr_buf *b, const void *p, size_t n);
void wr_buf_append_str(wr_buf *b, const char *s);
void wr_buf_append_byte(wr_buf *b, uint8_t c);
/* Appends v in decimal (no printf: response heads and acks write a few per request). */
void wr_buf_append_u64(wr_buf *b, uint64_t v);
void wr_buf_printf(wr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wr_buf_vprintf(wr_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drops the first n bytes (n <= len). */
void wr_buf_consume(wr_buf *b, size_t n);
/* Hands the storage to the caller (who frees it) and leaves an empty buffer. */
char *wr_buf_steal(wr_buf *b, size_t *out_len);

/* Big-endian helpers used by on-disk and wire formats. */
void wr_put_be64(uint8_t *p, uint64_t v);
uint64_t wr_get_be64(const uint8_t *p);
void wr_put_be32(uint8_t *p, uint32_t v);
uint32_t wr_get_be32(const uint8_t *p);
void wr_buf_append_be64(wr_buf *b, uint64_t v);
void wr_buf_append_be32(wr_buf *b, uint32_t v);

#endif

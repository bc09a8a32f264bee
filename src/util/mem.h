/*
 * mem.h — allocation that never returns NULL. weir treats running out of memory as fatal:
 * every allocation goes through these wrappers, which abort with a message on failure, so no
 * caller carries an error path for it. That includes jansson: mem.c routes its allocator
 * through wr_xmalloc (json_set_alloc_funcs, at load time), so a json_* constructor or
 * json_dumps returns NULL only for bad input (invalid UTF-8, a NULL value), never for memory.
 */
#ifndef WR_UTIL_MEM_H
#define WR_UTIL_MEM_H

#include <stddef.h>

void *wr_xmalloc(size_t n);
void *wr_xcalloc(size_t n, size_t size);
void *wr_xrealloc(void *p, size_t n);
char *wr_xstrdup(const char *s);
/* Copies n bytes of s and appends a NUL. */
char *wr_xstrndup(const char *s, size_t n);
void *wr_xmemdup(const void *p, size_t n);

#endif

/*
 * jsonw.h — writes JSON text straight into a wr_buf, for hot answers where building a jansson
 * tree and dumping it costs more than the request's database work (a session create's answer
 * and its token claims: ~16 µs through jansson, ~2 µs here).
 *
 * Stateless: a member or element gets its leading comma when the byte before it is not the
 * opening '{' or '[' (or a ':'), so a caller only opens, writes and closes:
 *
 *     wr_jw_open(b, '{'); wr_jw_str(b, "id", id); wr_jw_key(b, "tags"); wr_jw_open(b, '[');
 *     wr_jw_elem_str(b, "a"); wr_jw_close(b, ']'); wr_jw_close(b, '}');
 *
 * Strings must be UTF-8 (what jansson handed us, or ids weir made): they are escaped ('"', '\\'
 * and control characters) but not validated. wr_jw_raw splices JSON text as it is: only for text
 * weir produced itself (json_dumps of a value it parsed).
 */
#ifndef WR_UTIL_JSONW_H
#define WR_UTIL_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* A JSON string literal of p[0..len), quotes included. */
void wr_jw_quote(wr_buf *b, const void *p, size_t len);

void wr_jw_open(wr_buf *b, char brace);  /* '{' or '[', as a value or an element */
void wr_jw_close(wr_buf *b, char brace); /* '}' or ']' */
/* `"name":` with its leading comma when needed; the value follows. */
void wr_jw_key(wr_buf *b, const char *name);

/* Members: "name": value. */
void wr_jw_str(wr_buf *b, const char *name, const char *v);
void wr_jw_str_or_null(wr_buf *b, const char *name, bool set, const char *v);
void wr_jw_int(wr_buf *b, const char *name, int64_t v);
void wr_jw_bool(wr_buf *b, const char *name, bool v);
void wr_jw_null(wr_buf *b, const char *name);
/* `json` (NUL-terminated JSON text), or `absent` (JSON text) when json is NULL. */
void wr_jw_raw(wr_buf *b, const char *name, const char *json, const char *absent);
/* An RFC 3339 UTC time (util/clock.h) when set, else null. */
void wr_jw_time(wr_buf *b, const char *name, bool set, uint64_t ms);

/* Array elements. */
void wr_jw_elem_str(wr_buf *b, const char *v);
/* A string element made of two parts: prefix then v (scopes like "read:sessions:<id>"). */
void wr_jw_elem_str2(wr_buf *b, const char *prefix, const char *v);

#endif

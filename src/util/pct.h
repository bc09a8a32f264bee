/*
 * pct.h — percent-encoding (RFC 3986 §2.1) for URL path segments and query components.
 *
 * The router matches a path template against the raw (still encoded) path and decodes each
 * parameter afterwards, so an encoded '/' (%2F) inside an S2 stream name stays part of the name
 * instead of splitting the path. Decoding is strict: a '%' must be followed by exactly two hex
 * digits (either case); "%zz", "%4" and a trailing "%" are errors, never passed through.
 *
 * Modes differ only in '+': in a path segment it is a literal '+', in a query component
 * (application/x-www-form-urlencoded, what URLSearchParams produces) it means a space. "%2B"
 * is a '+' in both.
 *
 * The decoded bytes may contain anything, including NUL (from "%00") and invalid UTF-8; callers
 * that need a name validate the result. Nothing here allocates except through a wr_buf.
 */
#ifndef WR_UTIL_PCT_H
#define WR_UTIL_PCT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

typedef enum wr_pct_mode {
    WR_PCT_PATH = 0,  /* '+' is '+' */
    WR_PCT_QUERY = 1, /* '+' is ' ' */
} wr_pct_mode;

/*
 * Decodes s[0..len) into dst, which must hold len + 1 bytes, NUL-terminates it and stores the
 * decoded length (excluding the NUL) in *out_len. dst may equal s: decoding never overtakes the
 * input. Returns false on a malformed escape, leaving *out_len untouched and dst unspecified.
 */
bool wr_pct_decode_to(const char *s, size_t len, wr_pct_mode mode, char *dst, size_t *out_len);
/* Appends the decoding of s[0..len) to out. On false, out is left as it was. */
bool wr_pct_decode(const char *s, size_t len, wr_pct_mode mode, wr_buf *out);

/*
 * Appends p[0..len) to out with every byte outside the RFC 3986 unreserved set
 * (A–Z a–z 0–9 - . _ ~) written as %XX (upper-case hex). The result is safe as a path segment
 * and as a query name or value in either mode, and decodes back to the exact input bytes.
 */
void wr_pct_encode(const void *p, size_t len, wr_buf *out);

#endif

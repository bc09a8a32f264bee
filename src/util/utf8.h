/*
 * utf8.h — UTF-8 validation and lossy conversion.
 *
 * "Valid" means well-formed UTF-8 per Unicode §3.9 / RFC 3629: no overlong encodings, no
 * surrogates (U+D800–U+DFFF), nothing above U+10FFFF, no truncated sequences. NUL bytes are
 * valid (U+0000).
 *
 * Lossy conversion is what S2 does for `s2-format: raw` output: every ill-formed part becomes
 * U+FFFD. It follows the Unicode "substitution of maximal subparts" practice (the same as
 * Rust's String::from_utf8_lossy and the WHATWG decoder), so weir's output matches an S2 server's
 * byte for byte: a truncated but otherwise correct prefix of a sequence (e.g. E2 82 followed by
 * 'A') becomes one U+FFFD, while a byte that can never start or continue a sequence becomes
 * one U+FFFD by itself.
 */
#ifndef WR_UTIL_UTF8_H
#define WR_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* True if p[0..len) is well-formed UTF-8. */
bool wr_utf8_valid(const void *p, size_t len);
/* Length of the longest well-formed prefix of p[0..len); equals len when all of it is valid. */
size_t wr_utf8_valid_up_to(const void *p, size_t len);
/* Appends p[0..len) to out with each maximal ill-formed subpart replaced by U+FFFD (EF BF BD). */
void wr_utf8_lossy(const void *p, size_t len, wr_buf *out);

#endif

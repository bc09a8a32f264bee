/*
 * base64.h — standard base64 (RFC 4648 §4, alphabet A–Z a–z 0–9 + /) with '=' padding.
 *
 * Used for `s2-format: base64` record data and for binary values in headers. Encoding always
 * pads. Decoding is strict, matching what S2 servers accept, so that a value weir accepts is one
 * any S2 client would also produce:
 *   - the length must be a multiple of 4 (padding is required);
 *   - '=' may appear only as the last one or two characters of the input;
 *   - the unused low bits of the last symbol before the padding must be zero (canonical form),
 *     so every byte string has exactly one accepted encoding;
 *   - no whitespace, line breaks, or URL-safe '-'/'_' characters.
 * The empty string encodes and decodes to the empty string.
 *
 * Nothing here allocates except through the wr_buf passed in.
 */
#ifndef WR_UTIL_BASE64_H
#define WR_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Length of the encoding of n bytes (without a NUL): 4 * ceil(n / 3). */
size_t wr_base64_encoded_len(size_t n);
/* Upper bound on the decoded length of an n-character input: 3 * (n / 4). */
size_t wr_base64_decoded_max(size_t n);

/*
 * Writes the encoding of p[0..n) to dst, which must hold wr_base64_encoded_len(n) bytes; no NUL
 * is written. Returns the number of characters written.
 */
size_t wr_base64_encode_to(const void *p, size_t n, char *dst);
/* Appends the encoding of p[0..n) to out. */
void wr_base64_encode(const void *p, size_t n, wr_buf *out);

/*
 * Decodes s[0..len) into dst, which must hold wr_base64_decoded_max(len) bytes, and stores the
 * decoded length in *out_len. Returns false (leaving *out_len untouched and dst unspecified) if
 * the input breaks any rule above. dst may equal s (decoding in place never overtakes input).
 */
bool wr_base64_decode_to(const char *s, size_t len, uint8_t *dst, size_t *out_len);
/*
 * Appends the decoding of s[0..len) to out. Returns false on invalid input, in which case out is
 * left as it was (same length and contents).
 */
bool wr_base64_decode(const char *s, size_t len, wr_buf *out);

#endif

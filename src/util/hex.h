/*
 * hex.h — lower-case hex encoding and strict decoding of byte strings (token hashes, keys).
 *
 * Decoding accepts exactly two hex digits (0-9, a-f, A-F) per byte and nothing else: no sign,
 * no spaces, no "0x" (sscanf's "%2x" accepted " f" and "-f", which is how a malformed key used
 * to pass for a valid one).
 */
#ifndef WR_UTIL_HEX_H
#define WR_UTIL_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2n lower-case hex digits of p[0..n) and a NUL to out (2n + 1 bytes). */
void wr_hex_encode(const uint8_t *p, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int wr_hex_digit(char c);
/* Decodes s, which must be exactly 2n hex digits, into out[0..n). False otherwise (out is then
 * unspecified). */
bool wr_hex_decode(const char *s, uint8_t *out, size_t n);

#endif

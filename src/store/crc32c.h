/*
 * crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum stored at the
 * end of every record batch value. Uses the SSE4.2 instruction when the CPU has it, otherwise a
 * slicing-by-8 table; both give identical results. Thread-safe (the table is built once).
 */
#ifndef WR_STORE_CRC32C_H
#define WR_STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 for a fresh checksum) over n bytes at p. */
uint32_t wr_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable implementation, exposed so tests can compare it with the hardware path. */
uint32_t wr_crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif

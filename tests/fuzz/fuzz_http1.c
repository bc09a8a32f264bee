/*
 * fuzz_http1.c — the HTTP/1.1 request path (http/http1.c over http-parser, routing, request
 * bodies, pipelining, every way of answering) on arbitrary client bytes, through a real
 * loopback connection (http_harness.h).
 *
 * Input: byte 0 picks the send chunk size (0 = all at once, else 1–255 bytes), the rest is what
 * the client sends. Bytes that start with the HTTP/2 preface go on to HTTP/2 (fuzz_http2.c
 * aims there directly).
 */
#include "http_harness.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    fz_run(data + 1, size - 1, data[0]);
    return 0;
}

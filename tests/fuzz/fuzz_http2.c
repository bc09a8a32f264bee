/*
 * fuzz_http2.c — the HTTP/2 frame path (http/http2.c: nghttp2's callbacks, streams, flow
 * control, bounded bodies and response queues) on arbitrary frames, through a real loopback
 * connection (http_harness.h).
 *
 * Input: byte 0 picks the send chunk size (0 = all at once, else 1–255 bytes); the client
 * sends the HTTP/2 connection preface, then the rest of the input as frames (the corpus seeds
 * start with a SETTINGS frame and carry HPACK-encoded requests to the harness's routes).
 */
#include "http_harness.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 1 << 20)
        return 0;
    size_t n = sizeof(preface) - 1 + size - 1;
    uint8_t *in = wr_xmalloc(n);
    memcpy(in, preface, sizeof(preface) - 1);
    memcpy(in + sizeof(preface) - 1, data + 1, size - 1);
    fz_run(in, n, data[0]);
    free(in);
    return 0;
}

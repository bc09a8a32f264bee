/*
 * s2s.h — the s2s session framing of S2 (s2-api.md §4.2): messages carried back to back in an
 * HTTP/2 request or response body, each as
 *
 * | offset | size | field                                                              |
 * |--------|------|--------------------------------------------------------------------|
 * | 0      | 3    | length, big-endian = 1 + body length (1 .. 2 MiB)                  |
 * | 3      | 1    | flag: bit 7 terminal; bits 6-5 compression (00 none, 01 zstd,      |
 * |        |      | 10 gzip, 11 invalid); bit 4 "reconnect advised"; bits 3-0 reserved |
 * | 4      | n-1  | body: a protobuf message (regular) or, in a terminal frame, a      |
 * |        |      | 2-byte big-endian HTTP status followed by a JSON error body        |
 *
 * The parser reads what a client sends: regular frames only (a terminal frame from a client is a
 * protocol error), compressed or not, delivered whole and decompressed no matter how the bytes
 * were split across DATA frames. It buffers at most one frame plus one decompressed message
 * (each ≤ 2 MiB) and releases large buffers once a message has been delivered.
 *
 * The writers produce what weir sends: uncompressed regular frames (the protocol lets each
 * message choose; weir never compresses) and terminal frames.
 *
 * Single-threaded: a parser belongs to one session on the loop thread.
 */
#ifndef WR_S2_S2S_H
#define WR_S2_S2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Largest frame length field (flag + body), and largest decompressed message. */
#define WR_S2S_MAX_FRAME (2u * 1024u * 1024u)
#define WR_S2S_MAX_MSG (2u * 1024u * 1024u)
#define WR_S2S_HEADER_LEN 4

#define WR_S2S_FLAG_TERMINAL 0x80
#define WR_S2S_FLAG_RECONNECT 0x10
#define WR_S2S_CC_SHIFT 5
#define WR_S2S_CC_MASK 0x60
#define WR_S2S_CC_NONE 0
#define WR_S2S_CC_ZSTD 1
#define WR_S2S_CC_GZIP 2

/* Fields are private; the struct is public so sessions can embed it. */
typedef struct wr_s2s_parser {
    uint8_t hdr[WR_S2S_HEADER_LEN]; /* the frame header being collected */
    size_t hdr_len;                 /* bytes of hdr filled; 4 = now reading the body */
    size_t body_len;                /* body length of the current frame */
    uint8_t flag;                   /* flag byte of the current frame */
    wr_buf frame;                   /* body bytes of a frame that arrived in pieces */
    uint8_t *out;                   /* decompressed message buffer (malloc'd) */
    size_t out_cap;                 /* its size, ≤ 2 MiB + 1 */
    size_t out_len;                 /* bytes of the current message in it */
    void *zstd;                     /* ZSTD_DCtx, created on the first zstd frame */
    bool failed;
    wr_error error; /* the failure, repeated by every later feed */
} wr_s2s_parser;

void wr_s2s_parser_init(wr_s2s_parser *p);
/* Frees every buffer; the parser may be initialised again afterwards. */
void wr_s2s_parser_fini(wr_s2s_parser *p);

/*
 * Consumes data[0..len) and calls on_msg(ud, msg, msg_len) for every message completed by it,
 * in order, possibly several times per call. `msg` is the decompressed protobuf body, borrowed
 * for the duration of the callback only. on_msg must not feed or finalise this parser.
 *
 * Errors: WR_ERR_BAD_FRAME (400) with a message, for a frame length of 0 or over 2 MiB, a
 * terminal frame, compression bits 11, a compressed body that fails to decompress (including an
 * empty one), or a decompressed message over 2 MiB. Messages completed before the bad frame
 * have been delivered. The parser then stays failed: every later call returns the same error
 * without consuming anything or calling on_msg.
 */
wr_err wr_s2s_parser_feed(wr_s2s_parser *p, const uint8_t *data, size_t len,
                          void (*on_msg)(void *ud, const uint8_t *msg, size_t len), void *ud,
                          wr_error *out_err);

/* Appends a regular, uncompressed frame carrying msg[0..len); len + 1 must be ≤ 2 MiB. */
void wr_s2s_frame(wr_buf *out, const void *msg, size_t len);

/*
 * Appends a terminal frame: flag 0x80, the 2-byte big-endian `http_status`, then
 * json[0..json_len). E.g. 412 {"seq_num_mismatch":5} → 00 00 19 80 01 9C {"seq_num_mismatch":5}.
 */
void wr_s2s_terminal(wr_buf *out, int http_status, const char *json, size_t json_len);

#endif

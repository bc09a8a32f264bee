/*
 * proto.h — S2 v1 protobuf messages (proto/s2.proto) ↔ weir's store structs, for unary
 * `application/protobuf` bodies and s2s session frames.
 *
 * Decoding (client input) goes through protobuf-c, which rejects truncated or mistyped fields;
 * on top of that the fencing token must be valid UTF-8 (it is a proto `string`) and its exact
 * wire bytes are kept, embedded NULs included. Record-count and size limits are not checked
 * here: they are the store's (422).
 *
 * Encoding (server output) is written by hand with varints straight into a wr_buf, because
 * ReadBatch is the read hot path. It follows proto3 conventions: zero integers and empty bytes
 * are omitted, message-typed fields (positions, headers, records) are always written. Protobuf
 * parsers merge concatenated encodings of one message, so a ReadBatch may be assembled from
 * pieces: the cached records of a batch, then the tail field.
 *
 * Nothing here blocks or keeps global state; the batch cache is touched on the loop thread only
 * (store/batch.h).
 */
#ifndef WR_S2_PROTO_H
#define WR_S2_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "s2/enc_cache.h"
#include "s2/s2_int.h"
#include "store/batch.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Decodes an AppendInput from p[0..len) into *out (which need not be initialised).
 *
 * On WR_OK, out->in is ready for wr_store_append: out->records/out->headers are arrays owned by
 * `out`, whose byte pointers point into the unpacked message stored in out->owned (freed with
 * out->owned_free); the fencing token, if the field is present, is a NUL-terminated copy in
 * out->fencing_token with its exact length in in.fencing_token_len. `p` is not referenced
 * afterwards. Release with wr_s2_append_fini().
 *
 * Errors: WR_ERR_BAD_PROTO (400) for a malformed message or a fencing token that is not valid
 * UTF-8. On error *out is left zeroed (wr_s2_append_fini on it is a harmless no-op).
 */
wr_err wr_s2_append_from_proto(const uint8_t *p, size_t len, wr_s2_append *out, wr_error *out_err);

/* Appends an encoded AppendAck{start, end, tail} to out. */
void wr_s2_ack_proto(const wr_pos *start, const wr_pos *end, const wr_pos *tail, wr_buf *out);

/*
 * Appends an encoded ReadBatch of recs[0..n) to out, with field 2 (tail) when `tail` is not
 * NULL. n == 0 with a tail is a heartbeat.
 */
void wr_s2_read_batch_proto(const wr_record *recs, size_t n, const wr_pos *tail, wr_buf *out);

/* Appends only the ReadBatch field 2 (tail) to out. */
void wr_s2_read_batch_tail_proto(const wr_pos *tail, wr_buf *out);

/*
 * The ReadBatch field-1 encoding (every record of `b` as a SequencedRecord) — a complete
 * ReadBatch without a tail, to which wr_s2_read_batch_tail_proto() output may be appended.
 * Computed once and cached in slot WR_S2_ENC_PROTO of the batch (enc_cache.h). Borrowed: valid while the
 * caller holds its reference to `b`. Loop thread only.
 */
const wr_buf *wr_s2_batch_proto_records(wr_batch *b);

#endif

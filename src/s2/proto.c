/*
 * proto.c — S2 v1 protobuf codec (see proto.h).
 *
 * Decoding: protobuf-c unpacks an AppendInput into one allocation tree owned by the decoded
 * wr_s2_append; the record and header views point into it, so the request body may be freed as
 * soon as decoding returns. protobuf-c turns `string` fields into C strings and loses their
 * length, so the fencing token is re-read from the wire (the last occurrence of field 3 wins,
 * as protobuf requires) by a small bounds-checked walker over the top-level fields.
 *
 * Encoding: every output message is sized first, the buffer reserved once, then written with
 * raw pointer stores. The invariant that keeps this safe is that each *_len() function counts
 * exactly the bytes its matching put_*() writes; the unit tests decode every output with
 * protobuf-c to hold both to it.
 */
#include "s2/proto.h"

#include <stdlib.h>
#include <string.h>

#include "s2.pb-c.h"
#include "util/mem.h"
#include "util/utf8.h"

/* Protobuf wire types and the tags weir writes (field << 3 | wire type). */
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5
#define TAG(field, wt) ((uint8_t)((field) << 3 | (wt)))

/* Stands in for protobuf-c's NULL data pointer of empty bytes, so views are never NULL. */
static const uint8_t empty[1];

/* --- decoding ---------------------------------------------------------------------------- */

static void *
pb_alloc(void *ud, size_t size)
{
    (void)ud;
    return wr_xmalloc(size);
}

static void
pb_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

static void
free_input(void *msg)
{
    s2__v1__append_input__free_unpacked(msg, &pb_allocator);
}

/* Reads a varint at *p (< end); false if truncated or longer than 10 bytes. */
static bool
get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/*
 * Finds the last top-level length-delimited occurrence of `field` in p[0..len). Returns false
 * if the walk meets anything malformed (protobuf-c has normally rejected such input already).
 */
static bool
find_last_len_field(const uint8_t *p, size_t len, uint32_t field, const uint8_t **out,
                    size_t *out_len)
{
    const uint8_t *end = p + len;
    uint64_t key, n;
    while (p < end) {
        if (!get_varint(&p, end, &key))
            return false;
        switch (key & 7) {
        case WT_VARINT:
            if (!get_varint(&p, end, &n))
                return false;
            break;
        case WT_I64:
        case WT_I32:
            n = (key & 7) == WT_I64 ? 8 : 4;
            if ((size_t)(end - p) < n)
                return false;
            p += n;
            break;
        case WT_LEN:
            if (!get_varint(&p, end, &n) || (uint64_t)(end - p) < n)
                return false;
            if ((key >> 3) == field) {
                *out = p;
                *out_len = (size_t)n;
            }
            p += n;
            break;
        default: /* groups are not part of S2's schema */
            return false;
        }
    }
    return true;
}

static wr_err
take_fencing_token(const uint8_t *p, size_t len, wr_s2_append *out, wr_error *e)
{
    const uint8_t *tok = NULL;
    size_t tok_len = 0;
    if (!find_last_len_field(p, len, 3, &tok, &tok_len) || tok == NULL)
        return wr_error_set(e, WR_ERR_BAD_PROTO, "malformed AppendInput message");
    if (!wr_utf8_valid(tok, tok_len))
        return wr_error_set(e, WR_ERR_BAD_PROTO, "AppendInput.fencing_token is not valid UTF-8");
    out->fencing_token = wr_xstrndup((const char *)tok, tok_len);
    out->in.fencing_token = out->fencing_token;
    out->in.fencing_token_len = tok_len;
    return WR_OK;
}

static const uint8_t *
bytes_or_empty(const ProtobufCBinaryData *d)
{
    return d->len && d->data ? d->data : empty;
}

/* Builds out->records/out->headers as views into the unpacked message. */
static void
fill_records(const S2__V1__AppendInput *msg, wr_s2_append *out)
{
    size_t n_headers = 0;
    for (size_t i = 0; i < msg->n_records; i++)
        n_headers += msg->records[i]->n_headers;
    out->records = wr_xcalloc(msg->n_records, sizeof(wr_append_record));
    out->headers = wr_xcalloc(n_headers, sizeof(wr_header));
    wr_header *h = out->headers;
    for (size_t i = 0; i < msg->n_records; i++) {
        const S2__V1__AppendRecord *pr = msg->records[i];
        wr_append_record *r = &out->records[i];
        r->has_ts = pr->has_timestamp;
        r->ts_ms = pr->has_timestamp ? pr->timestamp : 0;
        r->n_headers = (uint32_t)pr->n_headers;
        r->headers = h;
        for (size_t j = 0; j < pr->n_headers; j++, h++) {
            h->name = bytes_or_empty(&pr->headers[j]->name);
            h->name_len = pr->headers[j]->name.len;
            h->value = bytes_or_empty(&pr->headers[j]->value);
            h->value_len = pr->headers[j]->value.len;
        }
        r->body = bytes_or_empty(&pr->body);
        r->body_len = pr->body.len;
    }
    out->in.records = out->records;
    out->in.n_records = (uint32_t)(msg->n_records > UINT32_MAX ? UINT32_MAX : msg->n_records);
}

wr_err
wr_s2_append_from_proto(const uint8_t *p, size_t len, wr_s2_append *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    S2__V1__AppendInput *msg = s2__v1__append_input__unpack(&pb_allocator, len, len ? p : empty);
    if (msg == NULL)
        return wr_error_set(out_err, WR_ERR_BAD_PROTO, "malformed AppendInput message");
    out->owned = msg;
    out->owned_free = free_input;
    fill_records(msg, out);
    if (msg->has_match_seq_num) {
        out->in.has_match_seq = true;
        out->in.match_seq = msg->match_seq_num;
    }
    if (msg->fencing_token != NULL) {
        wr_err err = take_fencing_token(p, len, out, out_err);
        if (err != WR_OK) {
            wr_s2_append_fini(out);
            return err;
        }
    }
    return WR_OK;
}

/* --- encoding ---------------------------------------------------------------------------- */

static size_t
vlen(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Size of an optional uint64 field (omitted when zero); tags here are all one byte. */
static size_t
u64_field_len(uint64_t v)
{
    return v ? 1 + vlen(v) : 0;
}

static uint8_t *
put_u64_field(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (!v)
        return p;
    *p++ = tag;
    return put_varint(p, v);
}

static size_t
bytes_field_len(size_t n)
{
    return n ? 1 + vlen(n) + n : 0;
}

static uint8_t *
put_bytes_field(uint8_t *p, uint8_t tag, const uint8_t *d, size_t n)
{
    if (!n)
        return p;
    *p++ = tag;
    p = put_varint(p, n);
    memcpy(p, d, n);
    return p + n;
}

/* A message-typed field: tag, length, then the body (always written, even when empty). */
static size_t
msg_field_len(size_t body_len)
{
    return 1 + vlen(body_len) + body_len;
}

static size_t
pos_len(const wr_pos *pos)
{
    return u64_field_len(pos->seq) + u64_field_len(pos->ts_ms);
}

static uint8_t *
put_pos_field(uint8_t *p, uint8_t tag, const wr_pos *pos)
{
    *p++ = tag;
    p = put_varint(p, pos_len(pos));
    p = put_u64_field(p, TAG(1, WT_VARINT), pos->seq);
    return put_u64_field(p, TAG(2, WT_VARINT), pos->ts_ms);
}

/* Hands the caller `n` writable bytes at the end of `out`; finish with commit(). */
static uint8_t *
claim(wr_buf *out, size_t n)
{
    wr_buf_reserve(out, n);
    return (uint8_t *)out->data + out->len;
}

static void
commit(wr_buf *out, const uint8_t *end)
{
    out->len = (size_t)((const char *)end - out->data);
    out->data[out->len] = '\0';
}

void
wr_s2_ack_proto(const wr_pos *start, const wr_pos *end, const wr_pos *tail, wr_buf *out)
{
    size_t n =
        msg_field_len(pos_len(start)) + msg_field_len(pos_len(end)) + msg_field_len(pos_len(tail));
    uint8_t *p = claim(out, n);
    p = put_pos_field(p, TAG(1, WT_LEN), start);
    p = put_pos_field(p, TAG(2, WT_LEN), end);
    p = put_pos_field(p, TAG(3, WT_LEN), tail);
    commit(out, p);
}

static size_t
header_len(const wr_header *h)
{
    return bytes_field_len(h->name_len) + bytes_field_len(h->value_len);
}

/* The body length of one SequencedRecord. */
static size_t
record_len(const wr_record *r)
{
    size_t n = u64_field_len(r->seq) + u64_field_len(r->ts_ms) + bytes_field_len(r->body_len);
    for (uint32_t i = 0; i < r->n_headers; i++)
        n += msg_field_len(header_len(&r->headers[i]));
    return n;
}

/* Writes ReadBatch field 1 for `r`, whose body length `body_len` = record_len(r). */
static uint8_t *
put_record_field(uint8_t *p, const wr_record *r, size_t body_len)
{
    *p++ = TAG(1, WT_LEN);
    p = put_varint(p, body_len);
    p = put_u64_field(p, TAG(1, WT_VARINT), r->seq);
    p = put_u64_field(p, TAG(2, WT_VARINT), r->ts_ms);
    for (uint32_t i = 0; i < r->n_headers; i++) {
        const wr_header *h = &r->headers[i];
        *p++ = TAG(3, WT_LEN);
        p = put_varint(p, header_len(h));
        p = put_bytes_field(p, TAG(1, WT_LEN), h->name, h->name_len);
        p = put_bytes_field(p, TAG(2, WT_LEN), h->value, h->value_len);
    }
    return put_bytes_field(p, TAG(4, WT_LEN), r->body, r->body_len);
}

void
wr_s2_read_batch_tail_proto(const wr_pos *tail, wr_buf *out)
{
    uint8_t *p = claim(out, msg_field_len(pos_len(tail)));
    commit(out, put_pos_field(p, TAG(2, WT_LEN), tail));
}

void
wr_s2_read_batch_proto(const wr_record *recs, size_t n, const wr_pos *tail, wr_buf *out)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += msg_field_len(record_len(&recs[i]));
    uint8_t *p = claim(out, total);
    for (size_t i = 0; i < n; i++)
        p = put_record_field(p, &recs[i], record_len(&recs[i]));
    commit(out, p);
    if (tail != NULL)
        wr_s2_read_batch_tail_proto(tail, out);
}

static void
free_buf(void *p)
{
    wr_buf_fini(p);
    free(p);
}

const wr_buf *
wr_s2_batch_proto_records(wr_batch *b)
{
    wr_buf *enc = wr_s2_enc_get(b, WR_S2_ENC_PROTO);
    if (enc != NULL)
        return enc;
    enc = wr_xcalloc(1, sizeof(*enc));
    wr_s2_read_batch_proto(b->records, b->n_records, NULL, enc);
    wr_s2_enc_set(b, WR_S2_ENC_PROTO, enc, free_buf);
    return enc;
}

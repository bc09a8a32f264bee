/*
 * batch.c — encoding and decoding of record batch values (layout in batch.h), and the
 * refcounted wr_batch. The decoder never trusts lengths: every read is bounds-checked before
 * the CRC is even relied upon, so a corrupt value yields WR_ERR_STORAGE, never garbage.
 */
#include "store/batch.h"

#include <stdlib.h>
#include <string.h>

#include "store/crc32c.h"
#include "util/buf.h"
#include "util/mem.h"

uint64_t
wr_record_metered(const wr_header *headers, uint32_t n_headers, size_t body_len)
{
    uint64_t m = 8 + 2 * (uint64_t)n_headers + body_len;
    for (uint32_t i = 0; i < n_headers; i++)
        m += headers[i].name_len + headers[i].value_len;
    return m;
}

static size_t
record_encoded_len(const wr_append_record *r)
{
    size_t n = 8 + 8 + 4 + 4 + r->body_len;
    for (uint32_t i = 0; i < r->n_headers; i++)
        n += 8 + r->headers[i].name_len + r->headers[i].value_len;
    return n;
}

static uint8_t *
put_bytes(uint8_t *p, const uint8_t *src, size_t n)
{
    wr_put_be32(p, (uint32_t)n);
    if (n)
        memcpy(p + 4, src, n);
    return p + 4 + n;
}

/* Builds the record/header views over a decoded b->data, checking structure, seq numbers,
 * timestamps and the header's metered total. */
static bool
index_records(wr_batch *b)
{
    const uint8_t *p =
        b->data + (b->data[0] == WR_BATCH_FORMAT_V1 ? WR_BATCH_HEADER_LEN_V1 : WR_BATCH_HEADER_LEN);
    const uint8_t *end = b->data + b->len - 4;
    b->records = wr_xcalloc(b->n_records ? b->n_records : 1, sizeof(wr_record));
    size_t cap = 0, used = 0;
    b->headers_store = NULL;
    uint64_t metered = 0;
    /* Headers are stored in one array; views are fixed up after it stops growing. Small
     * batches (every unary append of a few records) keep the offsets on the stack. */
    size_t hdr_small[16];
    size_t *hdr_start = b->n_records <= 16 ? hdr_small : wr_xmalloc(b->n_records * sizeof(size_t));
    bool ok = false;
    for (uint32_t i = 0; i < b->n_records; i++) {
        wr_record *r = &b->records[i];
        if (end - p < 20)
            goto out;
        r->seq = wr_get_be64(p);
        r->ts_ms = wr_get_be64(p + 8);
        r->n_headers = wr_get_be32(p + 16);
        p += 20;
        if (r->seq != b->first_seq + i || r->n_headers > (size_t)(end - p) / 8)
            goto out;
        hdr_start[i] = used;
        if (used + r->n_headers > cap) {
            size_t ncap = cap * 2 + r->n_headers;
            b->headers_store = wr_xrealloc(b->headers_store, ncap * sizeof(wr_header));
            cap = ncap;
        }
        for (uint32_t h = 0; h < r->n_headers; h++) {
            wr_header *hd = &b->headers_store[used++];
            if (end - p < 4)
                goto out;
            hd->name_len = wr_get_be32(p);
            p += 4;
            if ((size_t)(end - p) < hd->name_len + 4)
                goto out;
            hd->name = p;
            p += hd->name_len;
            hd->value_len = wr_get_be32(p);
            p += 4;
            if ((size_t)(end - p) < hd->value_len)
                goto out;
            hd->value = p;
            p += hd->value_len;
        }
        if (end - p < 4)
            goto out;
        r->body_len = wr_get_be32(p);
        p += 4;
        if ((size_t)(end - p) < r->body_len)
            goto out;
        r->body = p;
        p += r->body_len;
        if (i > 0 && r->ts_ms < b->records[i - 1].ts_ms)
            goto out;
    }
    if (p != end)
        goto out;
    for (uint32_t i = 0; i < b->n_records; i++) {
        wr_record *r = &b->records[i];
        r->headers = r->n_headers ? &b->headers_store[hdr_start[i]] : NULL;
        r->metered = (uint32_t)wr_record_metered(r->headers, r->n_headers, r->body_len);
        metered += r->metered;
    }
    ok = metered == b->metered_bytes && b->n_records > 0 && b->records[0].ts_ms == b->first_ts &&
         b->records[b->n_records - 1].ts_ms == b->last_ts;
out:
    if (hdr_start != hdr_small)
        free(hdr_start);
    return ok;
}

static void
batch_free(wr_batch *b)
{
    if (b->attachment && b->attachment_free)
        b->attachment_free(b->attachment);
    if (!b->one_block) {
        free(b->records);
        free(b->headers_store);
        free(b->data);
    }
    free(b);
}

wr_batch *
wr_batch_build(uint64_t stream_id, uint64_t first_seq, const wr_append_record *recs,
               const uint64_t *ts, uint32_t n)
{
    return wr_batch_build_at(stream_id, first_seq, recs, ts, n, ts[n - 1]);
}

wr_batch *
wr_batch_build_at(uint64_t stream_id, uint64_t first_seq, const wr_append_record *recs,
                  const uint64_t *ts, uint32_t n, uint64_t arrival_ms)
{
    size_t len = WR_BATCH_HEADER_LEN + 4, n_headers = 0;
    for (uint32_t i = 0; i < n; i++) {
        len += record_encoded_len(&recs[i]);
        n_headers += recs[i].n_headers;
    }
    /*
     * One allocation holds the batch, its record and header views and the encoded value (an
     * append used to cost four: a quarter of the loop's malloc/free time in the HTTP append
     * benchmark). The views are filled while encoding: the encoding is ours, there is nothing
     * to verify by parsing it back.
     */
    size_t views = sizeof(wr_batch) + (size_t)n * sizeof(wr_record) + n_headers * sizeof(wr_header);
    wr_batch *b = wr_xmalloc(views + len);
    memset(b, 0, sizeof(*b));
    atomic_init(&b->refs, 1);
    b->one_block = true;
    b->records = (wr_record *)(b + 1);
    b->headers_store = n_headers ? (wr_header *)(b->records + n) : NULL;
    b->stream_id = stream_id;
    b->data = (uint8_t *)b + views;
    b->len = len;
    b->n_records = n;
    b->first_seq = first_seq;
    b->end_seq = first_seq + n;
    b->first_ts = ts[0];
    b->last_ts = ts[n - 1];
    b->arrival_ms = arrival_ms;

    uint8_t *p = b->data;
    memset(p, 0, 4);
    p[0] = WR_BATCH_FORMAT;
    wr_put_be32(p + 4, n);
    wr_put_be64(p + 8, first_seq);
    wr_put_be64(p + 16, b->first_ts);
    wr_put_be64(p + 24, b->last_ts);
    wr_put_be64(p + 40, arrival_ms);
    p += WR_BATCH_HEADER_LEN;
    wr_header *hv = b->headers_store;
    for (uint32_t i = 0; i < n; i++) {
        const wr_append_record *r = &recs[i];
        wr_record *v = &b->records[i];
        v->seq = first_seq + i;
        v->ts_ms = ts[i];
        v->n_headers = r->n_headers;
        v->headers = r->n_headers ? hv : NULL;
        v->metered = (uint32_t)wr_record_metered(r->headers, r->n_headers, r->body_len);
        b->metered_bytes += v->metered;
        wr_put_be64(p, v->seq);
        wr_put_be64(p + 8, ts[i]);
        wr_put_be32(p + 16, r->n_headers);
        p += 20;
        for (uint32_t h = 0; h < r->n_headers; h++, hv++) {
            hv->name_len = r->headers[h].name_len;
            hv->name = p + 4;
            p = put_bytes(p, r->headers[h].name, r->headers[h].name_len);
            hv->value_len = r->headers[h].value_len;
            hv->value = p + 4;
            p = put_bytes(p, r->headers[h].value, r->headers[h].value_len);
        }
        v->body_len = r->body_len;
        v->body = p + 4;
        p = put_bytes(p, r->body, r->body_len);
    }
    wr_put_be64(b->data + 32, b->metered_bytes); /* the header's metered total, now known */
    wr_put_be32(p, wr_crc32c(0, b->data, len - 4));
    return b;
}

/* A known format, long enough for its header and CRC. */
static bool
header_ok(const uint8_t *v, size_t len)
{
    if (len >= WR_BATCH_HEADER_LEN_V1 + 4 && v[0] == WR_BATCH_FORMAT_V1)
        return true;
    return len >= WR_BATCH_HEADER_LEN + 4 && v[0] == WR_BATCH_FORMAT;
}

bool
wr_batch_peek(const uint8_t *v, size_t len, uint64_t *out_first_seq, uint32_t *out_n,
              uint64_t *out_last_ts)
{
    if (!header_ok(v, len))
        return false;
    *out_n = wr_get_be32(v + 4);
    *out_first_seq = wr_get_be64(v + 8);
    *out_last_ts = wr_get_be64(v + 24);
    return true;
}

bool
wr_batch_peek_arrival(const uint8_t *v, size_t len, uint64_t *out_arrival_ms)
{
    if (!header_ok(v, len))
        return false;
    *out_arrival_ms = v[0] == WR_BATCH_FORMAT_V1 ? wr_get_be64(v + 24) : wr_get_be64(v + 40);
    return true;
}

wr_err
wr_batch_decode(uint64_t stream_id, uint8_t *data, size_t len, wr_batch **out, wr_error *out_err)
{
    *out = NULL;
    if (!header_ok(data, len)) {
        free(data);
        return wr_error_set(out_err, WR_ERR_STORAGE, "record batch has an unknown format");
    }
    if (wr_crc32c(0, data, len - 4) != wr_get_be32(data + len - 4)) {
        free(data);
        return wr_error_set(out_err, WR_ERR_STORAGE, "record batch checksum mismatch");
    }
    wr_batch *b = wr_xcalloc(1, sizeof(*b));
    atomic_init(&b->refs, 1);
    b->stream_id = stream_id;
    b->data = data;
    b->len = len;
    b->n_records = wr_get_be32(data + 4);
    b->first_seq = wr_get_be64(data + 8);
    b->first_ts = wr_get_be64(data + 16);
    b->last_ts = wr_get_be64(data + 24);
    b->metered_bytes = wr_get_be64(data + 32);
    b->arrival_ms = data[0] == WR_BATCH_FORMAT_V1 ? b->last_ts : wr_get_be64(data + 40);
    b->end_seq = b->first_seq + b->n_records;
    if (b->n_records == 0 || b->n_records > WR_MAX_BATCH_RECORDS || !index_records(b)) {
        batch_free(b);
        return wr_error_set(out_err, WR_ERR_STORAGE, "record batch is malformed");
    }
    *out = b;
    return WR_OK;
}

const uint8_t *
wr_batch_bytes(const wr_batch *b, size_t *out_len)
{
    *out_len = b->len;
    return b->data;
}

wr_batch *
wr_batch_ref(wr_batch *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void
wr_batch_unref(wr_batch *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        batch_free(b);
}

void *
wr_batch_attachment(const wr_batch *b)
{
    return b->attachment;
}

void
wr_batch_attach(wr_batch *b, void *p, void (*free_fn)(void *))
{
    if (b->attachment && b->attachment_free)
        b->attachment_free(b->attachment);
    b->attachment = p;
    b->attachment_free = free_fn;
}

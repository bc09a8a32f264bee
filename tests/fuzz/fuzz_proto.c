/*
 * fuzz_proto.c — AppendInput decoding (s2/proto.h) on arbitrary bytes, and the encoders on
 * whatever it decodes.
 *
 * Checks: weir accepts an input only if protobuf-c alone accepts it, with the same record
 * count; an error is always bad_proto and leaves nothing to free; every accepted record,
 * re-encoded as a ReadBatch (and its conditions as an AppendAck), decodes with protobuf-c to
 * exactly the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "s2.pb-c.h"
#include "s2/proto.h"
#include "util/mem.h"

static int
same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Encodes the decoded records as a ReadBatch and checks protobuf-c reads back the same. */
static void
check_reencode(const wr_s2_append *a)
{
    size_t n = a->in.n_records;
    wr_record *recs = wr_xcalloc(n, sizeof(*recs));
    for (size_t i = 0; i < n; i++) {
        const wr_append_record *r = &a->in.records[i];
        recs[i] = (wr_record){
            i * 0x9e3779b97f4a7c15ull, r->ts_ms, r->n_headers, r->headers, r->body, r->body_len, 0};
    }
    wr_pos tail = {a->in.match_seq, n};
    wr_buf b = {0};
    wr_s2_read_batch_proto(recs, n, &tail, &b);
    S2__V1__ReadBatch *rb = s2__v1__read_batch__unpack(NULL, b.len, (const uint8_t *)b.data);
    FUZZ_CHECK(rb != NULL && rb->n_records == n && rb->tail != NULL);
    FUZZ_CHECK(rb->tail->seq_num == tail.seq && rb->tail->timestamp == tail.ts_ms);
    for (size_t i = 0; i < n; i++) {
        const S2__V1__SequencedRecord *s = rb->records[i];
        FUZZ_CHECK(s->seq_num == recs[i].seq && s->timestamp == recs[i].ts_ms);
        FUZZ_CHECK(s->n_headers == recs[i].n_headers);
        for (size_t j = 0; j < s->n_headers; j++) {
            const wr_header *h = &recs[i].headers[j];
            FUZZ_CHECK(h->name != NULL && h->value != NULL);
            FUZZ_CHECK(
                same(s->headers[j]->name.data, s->headers[j]->name.len, h->name, h->name_len));
            FUZZ_CHECK(
                same(s->headers[j]->value.data, s->headers[j]->value.len, h->value, h->value_len));
        }
        FUZZ_CHECK(recs[i].body != NULL);
        FUZZ_CHECK(same(s->body.data, s->body.len, recs[i].body, recs[i].body_len));
    }
    s2__v1__read_batch__free_unpacked(rb, NULL);

    wr_buf_reset(&b);
    wr_pos start = {a->in.match_seq, 1}, end = {n, a->in.fencing_token_len};
    wr_s2_ack_proto(&start, &end, &tail, &b);
    S2__V1__AppendAck *ack = s2__v1__append_ack__unpack(NULL, b.len, (const uint8_t *)b.data);
    FUZZ_CHECK(ack != NULL && ack->start && ack->end && ack->tail);
    FUZZ_CHECK(ack->start->seq_num == start.seq && ack->end->timestamp == end.ts_ms);
    s2__v1__append_ack__free_unpacked(ack, NULL);
    wr_buf_fini(&b);
    free(recs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_s2_append a;
    wr_error e = {0};
    wr_err err = wr_s2_append_from_proto(data, size, &a, &e);
    S2__V1__AppendInput *ref = s2__v1__append_input__unpack(NULL, size, data);
    if (err != WR_OK) {
        FUZZ_CHECK(err == WR_ERR_BAD_PROTO && e.code == WR_ERR_BAD_PROTO && e.msg[0] != '\0');
        FUZZ_CHECK(a.owned == NULL && a.records == NULL && a.fencing_token == NULL);
    } else {
        FUZZ_CHECK(ref != NULL && ref->n_records == a.in.n_records);
        FUZZ_CHECK(a.in.has_match_seq == (bool)ref->has_match_seq_num);
        FUZZ_CHECK((a.in.fencing_token == NULL) == (ref->fencing_token == NULL));
        if (ref->fencing_token != NULL) /* protobuf-c's copy stops at an embedded NUL */
            FUZZ_CHECK(strlen(ref->fencing_token) == strlen(a.in.fencing_token));
        check_reencode(&a);
    }
    if (ref != NULL)
        s2__v1__append_input__free_unpacked(ref, NULL);
    wr_s2_append_fini(&a);
    return 0;
}

/*
 * append_json.c — a direct decoder for the common shape of a JSON append body, so that the
 * durable unary append (POST /v1/streams/{s}/records) does not build and free a jansson tree
 * per request. jansson copied every string byte by byte into a tree of heap objects and was
 * the largest user-space cost of the request after the syscalls.
 *
 * It decodes only a strict subset and says "not mine" for everything else, which then goes the
 * general way (wr_s2_parse_body + wr_s2_append_from_json), so every error message and every
 * edge of JSON (escapes, non-ASCII, null, duplicates, huge integers, unknown fields) keeps one
 * owner. The subset:
 *   { "records": [ { "body": S, "timestamp": N }, ... ], "match_seq_num": N,
 *     "fencing_token": S }
 * in any order, any of the keys optional except "records" (non-empty array), each at most once,
 * with JSON whitespace anywhere; S a string of printable ASCII without backslashes (the
 * bytes are the value), N an integer 0 or [1-9][0-9]{0,17}. What it produces is exactly what
 * the general path produces for the same bytes (tests/unit/s2/test_append_json.c compares
 * both over a table of bodies), except that raw bodies are copied into `bytes` instead of
 * borrowed from a jansson string.
 */
#include <string.h>

#include "s2/s2_int.h"
#include "util/base64.h"
#include "util/mem.h"

typedef struct cursor {
    const char *p, *end;
} cursor;

static void
skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consumes `ch` after optional whitespace. */
static bool
take(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A string of printable ASCII without escapes: its bytes are its value. */
static bool
plain_string(cursor *c, const char **out, size_t *out_len)
{
    if (!take(c, '"'))
        return false;
    const char *s = c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            return false;
        c->p++;
    }
    if (c->p == c->end)
        return false;
    *out = s;
    *out_len = (size_t)(c->p - s);
    c->p++;
    return true;
}

/* 0 or [1-9][0-9]{0,17}: always below INT64_MAX, so jansson reads it as the same integer. */
static bool
small_uint(cursor *c, uint64_t *out)
{
    skip_ws(c);
    const char *s = c->p;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - s < 19)
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    size_t n = (size_t)(c->p - s);
    if (n == 0 || n > 18 || (n > 1 && *s == '0'))
        return false;
    /* "1.5", "1e3", "12x" are not integers of the subset. */
    if (c->p < c->end &&
        (*c->p == '.' || *c->p == 'e' || *c->p == 'E' || (*c->p >= '0' && *c->p <= '9')))
        return false;
    *out = v;
    return true;
}

static bool
key_is(const char *k, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(k, name, n) == 0;
}

/* The bytes of string value s per format, into `bytes` (reserved: never reallocated here). */
static bool
put_bytes(wr_buf *bytes, wr_s2_format fmt, const char *s, size_t len, const uint8_t **out,
          size_t *out_len)
{
    uint8_t *dst = (uint8_t *)bytes->data + bytes->len;
    size_t n = len;
    if (fmt == WR_S2_FORMAT_RAW)
        memcpy(dst, s, len);
    else if (!wr_base64_decode_to(s, len, dst, &n))
        return false;
    bytes->len += n;
    *out = dst;
    *out_len = n;
    return true;
}

static bool
record(cursor *c, wr_s2_format fmt, wr_buf *bytes, wr_append_record *r)
{
    memset(r, 0, sizeof(*r));
    if (!take(c, '{'))
        return false;
    if (take(c, '}'))
        return true;
    bool seen_body = false;
    do {
        const char *k;
        size_t kn;
        if (!plain_string(c, &k, &kn) || !take(c, ':'))
            return false;
        if (key_is(k, kn, "body") && !seen_body) {
            const char *s;
            size_t n;
            if (!plain_string(c, &s, &n) || !put_bytes(bytes, fmt, s, n, &r->body, &r->body_len))
                return false;
            seen_body = true;
        } else if (key_is(k, kn, "timestamp") && !r->has_ts) {
            if (!small_uint(c, &r->ts_ms))
                return false;
            r->has_ts = true;
        } else {
            return false; /* headers, null, a duplicate, an unknown field */
        }
    } while (take(c, ','));
    return take(c, '}');
}

static bool
records(cursor *c, wr_s2_format fmt, wr_s2_append *a)
{
    if (!take(c, '['))
        return false;
    size_t n = 0, cap = 0;
    if (a->room) {
        a->records = a->room->records;
        cap = sizeof(a->room->records) / sizeof(a->room->records[0]);
    }
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            if (a->room && a->records == a->room->records) {
                a->records = wr_xmalloc(cap * sizeof(*a->records));
                memcpy(a->records, a->room->records, n * sizeof(*a->records));
            } else {
                a->records = wr_xrealloc(a->records, cap * sizeof(*a->records));
            }
        }
        if (!record(c, fmt, &a->bytes, &a->records[n]))
            return false;
        n++;
    } while (take(c, ','));
    if (!take(c, ']') || n > UINT32_MAX)
        return false;
    a->in.records = a->records;
    a->in.n_records = (uint32_t)n;
    return true;
}

static bool
body(cursor *c, wr_s2_format fmt, wr_s2_append *a)
{
    if (!take(c, '{'))
        return false;
    bool seen_records = false;
    do {
        const char *k;
        size_t kn;
        if (!plain_string(c, &k, &kn) || !take(c, ':'))
            return false;
        if (key_is(k, kn, "records") && !seen_records) {
            if (!records(c, fmt, a))
                return false;
            seen_records = true;
        } else if (key_is(k, kn, "match_seq_num") && !a->in.has_match_seq) {
            if (!small_uint(c, &a->in.match_seq))
                return false;
            a->in.has_match_seq = true;
        } else if (key_is(k, kn, "fencing_token") && !a->fencing_token) {
            const char *s;
            size_t n;
            if (!plain_string(c, &s, &n))
                return false;
            a->fencing_token = wr_xstrndup(s, n);
            a->in.fencing_token = a->fencing_token;
            a->in.fencing_token_len = n;
        } else {
            return false;
        }
    } while (take(c, ','));
    if (!take(c, '}') || !seen_records)
        return false;
    skip_ws(c);
    return c->p == c->end;
}

bool
wr_s2_append_from_json_fast(const char *p, size_t len, wr_s2_format fmt, wr_s2_append_room *room,
                            wr_s2_append *a)
{
    memset(a, 0, sizeof(*a));
    a->room = room;
    /* Every value's bytes are fewer than the body's: pointers into `bytes` stay put. */
    if (room && len < sizeof(room->bytes))
        wr_buf_init_in(&a->bytes, room->bytes, sizeof(room->bytes));
    else
        wr_buf_reserve(&a->bytes, len + 1);
    cursor c = {p, p + len};
    if (body(&c, fmt, a))
        return true;
    wr_s2_append_fini(a);
    return false;
}

/*
 * keys.c — encoders and decoders for the key families documented in keys.h. Pure functions,
 * callable from any thread.
 */
#include "store/keys.h"

#include <string.h>

void
wr_key_basin_meta(wr_buf *out, const char *basin, size_t basin_len)
{
    wr_buf_reset(out);
    wr_buf_append_byte(out, WR_KEY_BASIN_META);
    wr_buf_append(out, basin, basin_len);
}

void
wr_key_stream_meta_prefix(wr_buf *out, const char *basin, size_t basin_len)
{
    wr_buf_reset(out);
    wr_buf_append_byte(out, WR_KEY_STREAM_META);
    wr_buf_append(out, basin, basin_len);
    wr_buf_append_byte(out, 0);
}

void
wr_key_stream_meta(wr_buf *out, const char *basin, size_t basin_len, const char *stream,
                   size_t stream_len)
{
    wr_key_stream_meta_prefix(out, basin, basin_len);
    wr_buf_append(out, stream, stream_len);
}

void
wr_key_stream_id(uint8_t out[WR_KEY_ID_LEN], uint8_t type, uint64_t id)
{
    out[0] = type;
    wr_put_be64(out + 1, id);
}

void
wr_key_lc_id(uint8_t out[WR_KEY_LC_ID_LEN], uint8_t subtype, uint64_t id)
{
    out[0] = WR_KEY_LIFECYCLE;
    out[1] = subtype;
    wr_put_be64(out + 2, id);
}

void
wr_key_basin_deletion(wr_buf *out, const char *basin, size_t basin_len)
{
    wr_buf_reset(out);
    wr_buf_append_byte(out, WR_KEY_LIFECYCLE);
    wr_buf_append_byte(out, WR_LC_BASIN_DELETION);
    wr_buf_append(out, basin, basin_len);
}

void
wr_key_batch(uint8_t out[WR_KEY_BATCH_LEN], uint64_t id, uint64_t first_seq)
{
    out[0] = WR_KEY_BATCH;
    wr_put_be64(out + 1, id);
    wr_put_be64(out + 9, first_seq);
}

void
wr_key_ts_index(uint8_t out[WR_KEY_TS_LEN], uint64_t id, uint64_t first_ts, uint64_t first_seq)
{
    out[0] = WR_KEY_TS_INDEX;
    wr_put_be64(out + 1, id);
    wr_put_be64(out + 9, first_ts);
    wr_put_be64(out + 17, first_seq);
}

bool
wr_key_stream_id_decode(const uint8_t *k, size_t len, uint8_t type, uint64_t *out_id)
{
    if (len != WR_KEY_ID_LEN || k[0] != type)
        return false;
    *out_id = wr_get_be64(k + 1);
    return true;
}

bool
wr_key_batch_decode(const uint8_t *k, size_t len, uint64_t *out_id, uint64_t *out_seq)
{
    if (len != WR_KEY_BATCH_LEN || k[0] != WR_KEY_BATCH)
        return false;
    *out_id = wr_get_be64(k + 1);
    *out_seq = wr_get_be64(k + 9);
    return true;
}

bool
wr_key_ts_index_decode(const uint8_t *k, size_t len, uint64_t *out_id, uint64_t *out_ts,
                       uint64_t *out_seq)
{
    if (len != WR_KEY_TS_LEN || k[0] != WR_KEY_TS_INDEX)
        return false;
    *out_id = wr_get_be64(k + 1);
    *out_ts = wr_get_be64(k + 9);
    *out_seq = wr_get_be64(k + 17);
    return true;
}

bool
wr_key_stream_meta_decode(const uint8_t *k, size_t len, bool has_type, const char **out_basin,
                          size_t *out_basin_len, const char **out_stream, size_t *out_stream_len)
{
    if (has_type) {
        if (len < 1 || k[0] != WR_KEY_STREAM_META)
            return false;
        k++;
        len--;
    }
    const uint8_t *nul = memchr(k, 0, len);
    if (!nul || nul == k)
        return false;
    *out_basin = (const char *)k;
    *out_basin_len = (size_t)(nul - k);
    *out_stream = (const char *)nul + 1;
    *out_stream_len = len - *out_basin_len - 1;
    return *out_stream_len > 0;
}

void
wr_tail_value(uint8_t out[WR_TAIL_VALUE_LEN], uint64_t seq, uint64_t ts)
{
    wr_put_be64(out, seq);
    wr_put_be64(out + 8, ts);
}

bool
wr_tail_value_decode(const uint8_t *v, size_t len, uint64_t *out_seq, uint64_t *out_ts)
{
    if (len != WR_TAIL_VALUE_LEN)
        return false;
    *out_seq = wr_get_be64(v);
    *out_ts = wr_get_be64(v + 8);
    return true;
}

void
wr_key_usage_series(wr_buf *out, uint8_t kind, uint8_t res, const char *basin, const char *stream,
                    size_t stream_len)
{
    wr_buf_reset(out);
    wr_buf_append_byte(out, WR_KEY_USAGE);
    wr_buf_append_byte(out, kind);
    if (res)
        wr_buf_append_byte(out, res);
    wr_buf_append(out, basin, strlen(basin));
    wr_buf_append_byte(out, 0);
    if (stream) {
        wr_buf_append(out, stream, stream_len);
        wr_buf_append_byte(out, 0);
    }
}

void
wr_ts_ledger(uint8_t out[WR_TS_LEDGER_LEN], uint64_t metered_before, uint64_t metered,
             uint64_t stored_before, uint64_t stored)
{
    wr_put_be64(out, metered_before);
    wr_put_be64(out + 8, metered);
    wr_put_be64(out + 16, stored_before);
    wr_put_be64(out + 24, stored);
}

bool
wr_ts_ledger_decode(const uint8_t *v, size_t len, uint64_t *out_metered_before,
                    uint64_t *out_metered, uint64_t *out_stored_before, uint64_t *out_stored)
{
    if (len != WR_TS_LEDGER_LEN)
        return false;
    *out_metered_before = wr_get_be64(v);
    *out_metered = wr_get_be64(v + 8);
    *out_stored_before = wr_get_be64(v + 16);
    *out_stored = wr_get_be64(v + 24);
    return true;
}

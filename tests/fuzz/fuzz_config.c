/*
 * fuzz_config.c — the JSON config decoders of the S2 API (s2/codec.c: StreamConfig,
 * BasinConfig and their reconfiguration patches) on arbitrary JSON, parsed with the server's
 * flags.
 *
 * Input: byte 0 picks the decoder, the rest is the request body. An error is bad_json or
 * invalid, with a message. An accepted config validates, and survives both encodings it is
 * written in: the S2 wire shape read back by the same decoder, and weir's persisted form
 * (store/config.h) read back by the store, each equal to the original. An accepted patch
 * validates, and applied to the system default gives a config that also round-trips.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "s2/s2_int.h"
#include "store/config.h"

static void
check_err(wr_err err, const wr_error *e)
{
    FUZZ_CHECK((err == WR_ERR_BAD_JSON || err == WR_ERR_INVALID) && e->code == err &&
               e->msg[0] != '\0');
}

static void
stream_round_trip(const wr_stream_config *c)
{
    wr_error e = {0};
    FUZZ_CHECK(wr_stream_config_validate(c, &e) == WR_OK);
    json_t *j = wr_stream_config_to_json(c);
    wr_stream_config back, stored;
    FUZZ_CHECK(wr_s2_stream_config_from_json(j, &back, &e) == WR_OK);
    FUZZ_CHECK(wr_stream_config_equal(c, &back));
    FUZZ_CHECK(wr_stream_config_from_json(j, &stored));
    FUZZ_CHECK(wr_stream_config_equal(c, &stored));
    json_decref(j);
}

static void
basin_round_trip(const wr_basin_config *c)
{
    wr_error e = {0};
    FUZZ_CHECK(wr_basin_config_validate(c, &e) == WR_OK);
    json_t *j = wr_basin_config_to_json(c);
    wr_basin_config back, stored;
    FUZZ_CHECK(wr_s2_basin_config_from_json(j, &back, &e) == WR_OK);
    FUZZ_CHECK(wr_basin_config_equal(c, &back));
    FUZZ_CHECK(wr_basin_config_from_json(j, &stored));
    FUZZ_CHECK(wr_basin_config_equal(c, &stored));
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_error_t je;
    json_t *j =
        json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (j == NULL)
        return 0;
    wr_error e = {0};
    wr_err err;
    switch (data[0] % 4) {
    case 0: {
        wr_stream_config c;
        if ((err = wr_s2_stream_config_from_json(j, &c, &e)) == WR_OK)
            stream_round_trip(&c);
        else
            check_err(err, &e);
        break;
    }
    case 1: {
        wr_basin_config c;
        if ((err = wr_s2_basin_config_from_json(j, &c, &e)) == WR_OK)
            basin_round_trip(&c);
        else
            check_err(err, &e);
        break;
    }
    case 2: {
        wr_stream_config_patch p;
        if ((err = wr_s2_stream_patch_from_json(j, &p, &e)) != WR_OK) {
            check_err(err, &e);
            break;
        }
        FUZZ_CHECK(wr_stream_config_patch_validate(&p, &e) == WR_OK);
        wr_stream_config c;
        wr_stream_config_system_default(&c);
        wr_stream_config_apply_patch(&c, &p);
        wr_stream_config resolved;
        wr_stream_config_resolve(&c, NULL, &resolved);
        stream_round_trip(&resolved);
        break;
    }
    default: {
        wr_basin_config_patch p;
        if ((err = wr_s2_basin_patch_from_json(j, &p, &e)) != WR_OK) {
            check_err(err, &e);
            break;
        }
        FUZZ_CHECK(wr_basin_config_patch_validate(&p, &e) == WR_OK);
        wr_basin_config c;
        memset(&c, 0, sizeof(c));
        wr_basin_config_apply_patch(&c, &p);
        basin_round_trip(&c);
        break;
    }
    }
    json_decref(j);
    return 0;
}

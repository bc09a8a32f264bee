/*
 * test_config.c — config resolution (request > basin default > system), three-state patches
 * (nested), validation rows, equality and the persisted JSON shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/config.h"

static void
test_system_default(void **state)
{
    (void)state;
    wr_stream_config c;
    wr_stream_config_resolve(NULL, NULL, &c);
    assert_int_equal(c.storage_class, WR_STORAGE_EXPRESS);
    assert_int_equal(c.retention, WR_RETENTION_AGE);
    assert_int_equal(c.retention_age_secs, 604800);
    assert_int_equal(c.ts_mode, WR_TS_CLIENT_PREFER);
    assert_true(c.has_ts_uncapped);
    assert_false(c.ts_uncapped);
    assert_true(c.has_doe);
    assert_int_equal(c.doe_min_age_secs, 0);
}

static void
test_resolve_precedence(void **state)
{
    (void)state;
    wr_basin_config b = {0};
    b.has_default_stream_config = true;
    b.default_stream_config.retention = WR_RETENTION_AGE;
    b.default_stream_config.retention_age_secs = 3600;
    b.default_stream_config.ts_mode = WR_TS_ARRIVAL;
    b.default_stream_config.has_doe = true;
    b.default_stream_config.doe_min_age_secs = 60;
    wr_stream_config req = {0};
    req.retention = WR_RETENTION_INFINITE;
    req.storage_class = WR_STORAGE_STANDARD;
    wr_stream_config c;
    wr_stream_config_resolve(&req, &b, &c);
    assert_int_equal(c.storage_class, WR_STORAGE_STANDARD); /* request */
    assert_int_equal(c.retention, WR_RETENTION_INFINITE);   /* request over basin */
    assert_int_equal(c.retention_age_secs, 0);
    assert_int_equal(c.ts_mode, WR_TS_ARRIVAL); /* basin */
    assert_true(c.has_ts_uncapped);             /* system */
    assert_false(c.ts_uncapped);
    assert_int_equal(c.doe_min_age_secs, 60);
    /* A basin without defaults leaves the system default. */
    b.has_default_stream_config = false;
    wr_stream_config_resolve(NULL, &b, &c);
    assert_int_equal(c.retention_age_secs, 604800);
}

static void
test_validate_rows(void **state)
{
    (void)state;
    struct {
        wr_stream_config c;
        wr_err want;
    } rows[] = {
        {{.retention = WR_RETENTION_AGE, .retention_age_secs = 0}, WR_ERR_INVALID},
        {{.retention = WR_RETENTION_AGE, .retention_age_secs = 1}, WR_OK},
        {{.retention = WR_RETENTION_INFINITE}, WR_OK},
        {{.storage_class = (wr_storage_class)9}, WR_ERR_INVALID},
        {{.ts_mode = (wr_ts_mode)9}, WR_ERR_INVALID},
        {{.retention = (wr_retention_kind)9}, WR_ERR_INVALID},
        {{0}, WR_OK},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_error e;
        assert_int_equal(wr_stream_config_validate(&rows[i].c, &e), rows[i].want);
        wr_basin_config b = {.has_default_stream_config = true, .default_stream_config = rows[i].c};
        assert_int_equal(wr_basin_config_validate(&b, &e), rows[i].want);
    }
    wr_stream_config_patch p = {.retention_op = WR_PATCH_SET, .retention = WR_RETENTION_AGE};
    wr_error e;
    assert_int_equal(wr_stream_config_patch_validate(&p, &e), WR_ERR_INVALID);
    wr_basin_config_patch bp = {.default_stream_config_op = WR_PATCH_SET,
                                .default_stream_config = p};
    assert_int_equal(wr_basin_config_patch_validate(&bp, &e), WR_ERR_INVALID);
    p.retention_age_secs = 5;
    assert_int_equal(wr_stream_config_patch_validate(&p, &e), WR_OK);
}

static void
test_patch_three_states(void **state)
{
    (void)state;
    wr_stream_config c;
    wr_stream_config_system_default(&c);
    c.ts_mode = WR_TS_ARRIVAL;
    c.ts_uncapped = true;
    /* Absent keeps everything. */
    wr_stream_config_patch p = {0};
    wr_stream_config before = c;
    wr_stream_config_apply_patch(&c, &p);
    assert_true(wr_stream_config_equal(&c, &before));
    /* Nested: timestamping SET with only uncapped NULL keeps the mode. */
    p.timestamping_op = WR_PATCH_SET;
    p.ts_uncapped_op = WR_PATCH_NULL;
    wr_stream_config_apply_patch(&c, &p);
    assert_int_equal(c.ts_mode, WR_TS_ARRIVAL);
    assert_false(c.has_ts_uncapped);
    /* timestamping NULL clears both. */
    p = (wr_stream_config_patch){.timestamping_op = WR_PATCH_NULL};
    wr_stream_config_apply_patch(&c, &p);
    assert_int_equal(c.ts_mode, WR_TS_UNSET);
    /* Set values. */
    p = (wr_stream_config_patch){.retention_op = WR_PATCH_SET,
                                 .retention = WR_RETENTION_INFINITE,
                                 .storage_class_op = WR_PATCH_NULL,
                                 .doe_op = WR_PATCH_SET,
                                 .doe_min_age_op = WR_PATCH_SET,
                                 .doe_min_age_secs = 30};
    wr_stream_config_apply_patch(&c, &p);
    assert_int_equal(c.retention, WR_RETENTION_INFINITE);
    assert_int_equal(c.storage_class, WR_STORAGE_UNSET);
    assert_int_equal(c.doe_min_age_secs, 30);

    /* Basin: nested default_stream_config patch starting from none, then NULL. */
    wr_basin_config b = {0};
    wr_basin_config_patch bp = {0};
    bp.default_stream_config_op = WR_PATCH_SET;
    bp.default_stream_config.retention_op = WR_PATCH_SET;
    bp.default_stream_config.retention = WR_RETENTION_INFINITE;
    bp.create_stream_on_read_op = WR_PATCH_SET;
    bp.create_stream_on_read = true;
    wr_basin_config_apply_patch(&b, &bp);
    assert_true(b.has_default_stream_config);
    assert_int_equal(b.default_stream_config.retention, WR_RETENTION_INFINITE);
    assert_int_equal(b.default_stream_config.storage_class, WR_STORAGE_UNSET);
    assert_true(b.create_stream_on_read);
    /* A second nested patch merges. */
    bp = (wr_basin_config_patch){0};
    bp.default_stream_config_op = WR_PATCH_SET;
    bp.default_stream_config.storage_class_op = WR_PATCH_SET;
    bp.default_stream_config.storage_class = WR_STORAGE_STANDARD;
    bp.create_stream_on_read_op = WR_PATCH_NULL;
    bp.stream_cipher_op = WR_PATCH_SET;
    bp.stream_cipher = WR_CIPHER_AES_256_GCM;
    wr_basin_config_apply_patch(&b, &bp);
    assert_int_equal(b.default_stream_config.retention, WR_RETENTION_INFINITE);
    assert_int_equal(b.default_stream_config.storage_class, WR_STORAGE_STANDARD);
    assert_false(b.create_stream_on_read);
    assert_int_equal(b.stream_cipher, WR_CIPHER_AES_256_GCM);
    bp = (wr_basin_config_patch){.default_stream_config_op = WR_PATCH_NULL,
                                 .stream_cipher_op = WR_PATCH_NULL};
    wr_basin_config_apply_patch(&b, &bp);
    assert_false(b.has_default_stream_config);
    assert_int_equal(b.stream_cipher, WR_CIPHER_NONE);
}

static void
test_json_roundtrip(void **state)
{
    (void)state;
    wr_basin_config b = {0};
    b.has_default_stream_config = true;
    b.default_stream_config.retention = WR_RETENTION_AGE;
    b.default_stream_config.retention_age_secs = 3600;
    b.default_stream_config.has_ts_uncapped = true;
    b.default_stream_config.ts_uncapped = true;
    b.stream_cipher = WR_CIPHER_AEGIS_256;
    b.create_stream_on_append = true;
    json_t *j = wr_basin_config_to_json(&b);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        s, "{\"create_stream_on_append\":true,\"create_stream_on_read\":false,"
           "\"default_stream_config\":{\"delete_on_empty\":null,\"retention_policy\":{\"age\":"
           "3600},\"storage_class\":null,\"timestamping\":{\"mode\":null,\"uncapped\":true}},"
           "\"stream_cipher\":\"aegis-256\"}");
    free(s);
    wr_basin_config back;
    assert_true(wr_basin_config_from_json(j, &back));
    assert_true(wr_basin_config_equal(&b, &back));
    json_decref(j);

    wr_stream_config c;
    wr_stream_config_resolve(NULL, NULL, &c);
    c.retention = WR_RETENTION_INFINITE;
    j = wr_stream_config_to_json(&c);
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"delete_on_empty\":{\"min_age_secs\":0},\"retention_policy\":{"
                           "\"infinite\":{}},\"storage_class\":\"express\",\"timestamping\":{"
                           "\"mode\":\"client-prefer\",\"uncapped\":false}}");
    free(s);
    wr_stream_config c2;
    assert_true(wr_stream_config_from_json(j, &c2));
    assert_true(wr_stream_config_equal(&c, &c2));
    json_decref(j);

    /* Empty basin config: default_stream_config null; all-unset defaults count as none. */
    wr_basin_config e = {0}, e2 = {.has_default_stream_config = true};
    assert_true(wr_basin_config_equal(&e, &e2));
    j = wr_basin_config_to_json(&e2);
    assert_true(json_is_null(json_object_get(j, "default_stream_config")));
    json_decref(j);
}

static void
test_names(void **state)
{
    (void)state;
    wr_storage_class sc;
    wr_ts_mode m;
    wr_cipher c;
    assert_true(wr_storage_class_parse("standard", &sc) && sc == WR_STORAGE_STANDARD);
    assert_false(wr_storage_class_parse("Express", &sc));
    assert_true(wr_ts_mode_parse("client-require", &m) && m == WR_TS_CLIENT_REQUIRE);
    assert_false(wr_ts_mode_parse("", &m));
    assert_true(wr_cipher_parse("aes-256-gcm", &c) && c == WR_CIPHER_AES_256_GCM);
    assert_false(wr_cipher_parse(NULL, &c));
    assert_null(wr_ts_mode_name(WR_TS_UNSET));
    assert_string_equal(wr_ts_mode_name(WR_TS_ARRIVAL), "arrival");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_default), cmocka_unit_test(test_resolve_precedence),
        cmocka_unit_test(test_validate_rows),  cmocka_unit_test(test_patch_three_states),
        cmocka_unit_test(test_json_roundtrip), cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

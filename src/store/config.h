/*
 * config.h — basin and stream configuration: the C structs, "is set" semantics, resolution over
 * defaults, three-state patches (PATCH bodies), validation, and the JSON form persisted in the
 * BASIN_META / STREAM_META values.
 *
 * Unset fields: a wr_stream_config may leave any field unset (enum value *_UNSET, or has_* =
 * false). A basin's default_stream_config and a create/ensure request use that to say "inherit".
 * A stream's stored config is always fully resolved: request over basin default over the system
 * default (express, 7-day age retention, client-prefer, uncapped=false, delete-on-empty 0).
 *
 * Pure functions on caller-owned structs; callable from any thread.
 */
#ifndef WR_STORE_CONFIG_H
#define WR_STORE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

typedef enum wr_storage_class {
    WR_STORAGE_UNSET = 0,
    WR_STORAGE_STANDARD,
    WR_STORAGE_EXPRESS,
} wr_storage_class;

typedef enum wr_retention_kind {
    WR_RETENTION_UNSET = 0,
    WR_RETENTION_AGE, /* retention_age_secs > 0 */
    WR_RETENTION_INFINITE,
} wr_retention_kind;

typedef enum wr_ts_mode {
    WR_TS_UNSET = 0,
    WR_TS_CLIENT_PREFER,
    WR_TS_CLIENT_REQUIRE,
    WR_TS_ARRIVAL,
} wr_ts_mode;

typedef enum wr_cipher {
    WR_CIPHER_NONE = 0,
    WR_CIPHER_AEGIS_256,
    WR_CIPHER_AES_256_GCM,
} wr_cipher;

#define WR_DEFAULT_RETENTION_SECS 604800u

typedef struct wr_stream_config {
    wr_storage_class storage_class;
    wr_retention_kind retention;
    uint64_t retention_age_secs; /* meaningful only when retention == WR_RETENTION_AGE */
    wr_ts_mode ts_mode;
    bool has_ts_uncapped;
    bool ts_uncapped;
    bool has_doe;
    uint64_t doe_min_age_secs; /* 0 = delete-on-empty off */
} wr_stream_config;

typedef struct wr_basin_config {
    bool has_default_stream_config; /* false = JSON null */
    wr_stream_config default_stream_config;
    wr_cipher stream_cipher; /* WR_CIPHER_NONE = null */
    bool create_stream_on_append;
    bool create_stream_on_read;
} wr_basin_config;

/* The three states of a PATCH field: absent keeps, null resets to default/inherit, set replaces. */
typedef enum wr_patch_op {
    WR_PATCH_ABSENT = 0,
    WR_PATCH_NULL,
    WR_PATCH_SET,
} wr_patch_op;

typedef struct wr_stream_config_patch {
    wr_patch_op storage_class_op;
    wr_storage_class storage_class;
    wr_patch_op retention_op;
    wr_retention_kind retention; /* AGE or INFINITE when SET */
    uint64_t retention_age_secs;
    wr_patch_op timestamping_op; /* NULL clears mode and uncapped; SET applies the two below */
    wr_patch_op ts_mode_op;
    wr_ts_mode ts_mode;
    wr_patch_op ts_uncapped_op;
    bool ts_uncapped;
    wr_patch_op doe_op; /* NULL clears; SET applies doe_min_age_op */
    wr_patch_op doe_min_age_op;
    uint64_t doe_min_age_secs;
} wr_stream_config_patch;

typedef struct wr_basin_config_patch {
    wr_patch_op default_stream_config_op; /* SET applies `default_stream_config` recursively */
    wr_stream_config_patch default_stream_config;
    wr_patch_op stream_cipher_op;
    wr_cipher stream_cipher;
    wr_patch_op create_stream_on_append_op; /* NULL means false */
    bool create_stream_on_append;
    wr_patch_op create_stream_on_read_op;
    bool create_stream_on_read;
} wr_basin_config_patch;

/* The system default, every field set. */
void wr_stream_config_system_default(wr_stream_config *out);

/*
 * Fills every field of `out`: from `req` when set there, else from the basin's default stream
 * config when set, else the system default. `req` and `basin` may be NULL.
 */
void wr_stream_config_resolve(const wr_stream_config *req, const wr_basin_config *basin,
                              wr_stream_config *out);

/* WR_ERR_INVALID (422) for a zero retention age or an out-of-range enum. */
wr_err wr_stream_config_validate(const wr_stream_config *c, wr_error *out_err);
wr_err wr_basin_config_validate(const wr_basin_config *c, wr_error *out_err);
wr_err wr_stream_config_patch_validate(const wr_stream_config_patch *p, wr_error *out_err);
wr_err wr_basin_config_patch_validate(const wr_basin_config_patch *p, wr_error *out_err);

/* Applies a patch in place; NULL fields become unset (the caller re-resolves stream configs). */
void wr_stream_config_apply_patch(wr_stream_config *c, const wr_stream_config_patch *p);
void wr_basin_config_apply_patch(wr_basin_config *c, const wr_basin_config_patch *p);

/* Equality after normalization (values of unset fields are ignored). */
bool wr_stream_config_equal(const wr_stream_config *a, const wr_stream_config *b);
bool wr_basin_config_equal(const wr_basin_config *a, const wr_basin_config *b);

/*
 * JSON in the S2 wire shape (StreamConfig / BasinConfig with explicit nulls for unset fields).
 * to_json returns a new reference. from_json returns false on a shape it does not recognize; it
 * is used for weir's own persisted values, not for validating client input.
 */
json_t *wr_stream_config_to_json(const wr_stream_config *c);
bool wr_stream_config_from_json(const json_t *j, wr_stream_config *out);
json_t *wr_basin_config_to_json(const wr_basin_config *c);
bool wr_basin_config_from_json(const json_t *j, wr_basin_config *out);

const char *wr_storage_class_name(wr_storage_class c); /* "standard" | "express" | NULL */
const char *wr_ts_mode_name(wr_ts_mode m);             /* "client-prefer" | ... | NULL */
const char *wr_cipher_name(wr_cipher c);               /* "aegis-256" | "aes-256-gcm" | NULL */
/* Parse the names above; return false (and leave *out) for anything else. */
bool wr_storage_class_parse(const char *s, wr_storage_class *out);
bool wr_ts_mode_parse(const char *s, wr_ts_mode *out);
bool wr_cipher_parse(const char *s, wr_cipher *out);

#endif

/*
 * scope.h — what an S2 access token may do: operations (kebab-case names, op groups) and the
 * resource sets it may touch (basins, streams, access tokens), plus the rules for issuing one
 * token from another without escalation.
 *
 * Pure functions on caller-owned values; any thread.
 */
#ifndef WR_AUTH_SCOPE_H
#define WR_AUTH_SCOPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* X(enum suffix, wire name, group, is_write) — group: 0 account, 1 basin, 2 stream, -1 none */
#define WR_OP_MAP(X)                                                                               \
    X(LIST_BASINS, "list-basins", 0, false)                                                        \
    X(CREATE_BASIN, "create-basin", 0, true)                                                       \
    X(DELETE_BASIN, "delete-basin", 0, true)                                                       \
    X(RECONFIGURE_BASIN, "reconfigure-basin", 1, true)                                             \
    X(GET_BASIN_CONFIG, "get-basin-config", 1, false)                                              \
    X(ISSUE_ACCESS_TOKEN, "issue-access-token", 0, true)                                           \
    X(REVOKE_ACCESS_TOKEN, "revoke-access-token", 0, true)                                         \
    X(LIST_ACCESS_TOKENS, "list-access-tokens", 0, false)                                          \
    X(LIST_STREAMS, "list-streams", 1, false)                                                      \
    X(CREATE_STREAM, "create-stream", 1, true)                                                     \
    X(DELETE_STREAM, "delete-stream", 1, true)                                                     \
    X(GET_STREAM_CONFIG, "get-stream-config", 2, false)                                            \
    X(RECONFIGURE_STREAM, "reconfigure-stream", 2, true)                                           \
    X(CHECK_TAIL, "check-tail", 2, false)                                                          \
    X(APPEND, "append", 2, true)                                                                   \
    X(READ, "read", 2, false)                                                                      \
    X(TRIM, "trim", 2, true)                                                                       \
    X(FENCE, "fence", 2, true)                                                                     \
    X(ACCOUNT_METRICS, "account-metrics", 0, false)                                                \
    X(BASIN_METRICS, "basin-metrics", 1, false)                                                    \
    X(STREAM_METRICS, "stream-metrics", 2, false)                                                  \
    X(LIST_LOCATIONS, "list-locations", -1, false)                                                 \
    X(GET_DEFAULT_LOCATION, "get-default-location", -1, false)                                     \
    X(SET_DEFAULT_LOCATION, "set-default-location", -1, true)

typedef enum wr_op {
#define WR_OP_ENUM(name, wire, group, write) WR_OP_##name,
    WR_OP_MAP(WR_OP_ENUM)
#undef WR_OP_ENUM
        WR_OP__COUNT
} wr_op;

typedef uint32_t wr_opset; /* bit (1 << op) */
#define WR_OPSET_ALL ((wr_opset)((1u << WR_OP__COUNT) - 1))

typedef enum wr_rset_kind {
    WR_RSET_NONE = 0, /* null/absent: matches nothing */
    WR_RSET_EXACT,    /* matches exactly `value` (an empty exact matches nothing) */
    WR_RSET_PREFIX,   /* matches names starting with `value` (empty: everything) */
} wr_rset_kind;

#define WR_RSET_MAX 512

typedef struct wr_rset {
    wr_rset_kind kind;
    char value[WR_RSET_MAX + 1];
} wr_rset;

typedef struct wr_scope {
    wr_rset basins;
    wr_rset streams;
    wr_rset tokens;
    wr_opset ops; /* the union of `ops` and `op_groups`, already expanded */
    /* For listing back exactly what was issued. */
    wr_opset listed_ops;
    uint8_t groups; /* bit (group * 2 + write) */
} wr_scope;

const char *wr_op_name(wr_op op);
bool wr_op_parse(const char *name, wr_op *out);

bool wr_rset_matches(const wr_rset *r, const char *name);
/* True when every name `inner` matches is matched by `outer`. */
bool wr_rset_within(const wr_rset *inner, const wr_rset *outer);

/* Whether the scope permits op on the named resources (NULL = not involved in the op). */
bool wr_scope_allows(const wr_scope *s, wr_op op, const char *basin, const char *stream,
                     const char *token_id);
/* True when `inner` grants nothing `outer` does not (ops and every resource set). */
bool wr_scope_within(const wr_scope *inner, const wr_scope *outer);

/*
 * Parses the `scope` object of an AccessTokenInfo. 400 bad_json for shape errors; 422 invalid
 * for an empty permission set or an unknown op name.
 */
wr_err wr_scope_from_json(const json_t *j, wr_scope *out, wr_error *out_err);
json_t *wr_scope_to_json(const wr_scope *s);
/* A scope that permits everything (the root token). */
void wr_scope_all(wr_scope *out);

#endif

/*
 * err.h — the one error table of weir.
 *
 * Every fallible function returns a wr_err (0 = WR_OK). The table below is the single source of
 * truth for each error's S2 wire code, HTTP status, whether a client may retry, and whether the
 * failed call is guaranteed to have had no side effects. HTTP mapping happens only through
 * wr_err_status()/wr_err_code(); nothing else in the tree hard-codes those pairs.
 *
 * A wr_error carries a code plus a human-readable message for the wire. Functions that can say
 * more than the code take a `wr_error *out_err` (may be NULL) as their last parameter.
 */
#ifndef WR_UTIL_ERR_H
#define WR_UTIL_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* X(enum suffix, wire code, HTTP status, retryable, no side effects) */
#define WR_ERR_MAP(X)                                                                              \
    X(OK, "ok", 200, false, true)                                                                  \
    X(BAD_HEADER, "bad_header", 400, false, true)                                                  \
    X(BAD_JSON, "bad_json", 400, false, true)                                                      \
    X(BAD_PATH, "bad_path", 400, false, true)                                                      \
    X(BAD_QUERY, "bad_query", 400, false, true)                                                    \
    X(BAD_PROTO, "bad_proto", 400, false, true)                                                    \
    X(BAD_FRAME, "bad_frame", 400, false, true)                                                    \
    X(BAD_REQUEST, "bad_request", 400, false, true)                                                \
    X(DECRYPTION_FAILED, "decryption_failed", 400, false, true)                                    \
    X(AUTHN, "authn", 401, false, true)                                                            \
    X(PERMISSION_DENIED, "permission_denied", 403, false, true)                                    \
    X(QUOTA_EXHAUSTED, "quota_exhausted", 403, false, true)                                        \
    X(NOT_FOUND, "not_found", 404, false, true)                                                    \
    X(BASIN_NOT_FOUND, "basin_not_found", 404, false, true)                                        \
    X(STREAM_NOT_FOUND, "stream_not_found", 404, false, true)                                      \
    X(ACCESS_TOKEN_NOT_FOUND, "access_token_not_found", 404, false, true)                          \
    X(METHOD_NOT_ALLOWED, "method_not_allowed", 405, false, true)                                  \
    X(REQUEST_TIMEOUT, "request_timeout", 408, true, false)                                        \
    X(RESOURCE_ALREADY_EXISTS, "resource_already_exists", 409, false, true)                        \
    X(SESSION_CLOSED, "session_closed", 409, false, true)                                          \
    X(BASIN_DELETION_PENDING, "basin_deletion_pending", 409, false, true)                          \
    X(STREAM_DELETION_PENDING, "stream_deletion_pending", 409, false, true)                        \
    X(TRANSACTION_CONFLICT, "transaction_conflict", 409, true, true)                               \
    X(GONE, "gone", 410, false, true)                                                              \
    X(SEQ_NUM_MISMATCH, "seq_num_mismatch", 412, false, true)                                      \
    X(FENCING_TOKEN_MISMATCH, "fencing_token_mismatch", 412, false, true)                          \
    X(PAYLOAD_TOO_LARGE, "payload_too_large", 413, false, true)                                    \
    X(RANGE_NOT_SATISFIABLE, "range_not_satisfiable", 416, false, true)                            \
    X(INVALID, "invalid", 422, false, true)                                                        \
    X(RATE_LIMITED, "rate_limited", 429, true, true)                                               \
    X(HEADERS_TOO_LARGE, "request_header_fields_too_large", 431, false, true)                      \
    X(CLIENT_HANGUP, "client_hangup", 499, false, false)                                           \
    X(STORAGE, "storage", 500, true, false)                                                        \
    X(OTHER, "other", 500, true, false)                                                            \
    X(NOT_IMPLEMENTED, "not_implemented", 501, false, true)                                        \
    X(HOT_SERVER, "hot_server", 502, true, true)                                                   \
    X(BAD_GATEWAY, "bad_gateway", 502, true, false)                                                \
    X(UNAVAILABLE, "unavailable", 503, true, true)                                                 \
    X(SERVER_DRAINING, "server_draining", 503, true, true)                                         \
    X(UPSTREAM_TIMEOUT, "upstream_timeout", 504, true, false)

typedef enum wr_err {
#define WR_ERR_ENUM(name, code, status, retry, nse) WR_ERR_##name,
    WR_ERR_MAP(WR_ERR_ENUM)
#undef WR_ERR_ENUM
        WR_ERR__COUNT
} wr_err;

#define WR_OK WR_ERR_OK

typedef struct wr_error {
    wr_err code;
    char msg[240];
} wr_error;

/* The S2 wire code ("bad_json"); "other" for an out-of-range value. */
const char *wr_err_code(wr_err e);
/* The HTTP status; 500 for an out-of-range value. */
int wr_err_status(wr_err e);
bool wr_err_retryable(wr_err e);
bool wr_err_no_side_effects(wr_err e);
/* The error whose wire code is `code` (an S2 error body's "code"); WR_ERR_OTHER when unknown. */
wr_err wr_err_from_code(const char *code);

/*
 * Records `code` and a printf-formatted message in `e` (which may be NULL) and returns `code`,
 * so callers can write `return wr_error_set(out_err, WR_ERR_INVALID, "...")`. A message longer
 * than the buffer is cut at a UTF-8 character boundary, so it stays valid UTF-8 (and encodable
 * as a JSON string) whenever its parts are.
 */
wr_err wr_error_set(wr_error *e, wr_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The call goes through this so that the result is visibly `code` (the function's body is in
 * another file): static analysis then knows that `return wr_error_set(...)` returns that error,
 * not WR_OK. `code` is evaluated twice; every caller passes a constant or a variable. */
static inline wr_err
wr_error_result_(wr_err code, wr_err returned)
{
    (void)returned;
    return code;
}
#define wr_error_set(e, code, ...) wr_error_result_((code), wr_error_set((e), (code), __VA_ARGS__))

#endif

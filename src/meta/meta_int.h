/*
 * meta_int.h — the backend table behind wr_meta (module-internal).
 *
 * A backend allocates a struct whose first member is a `wr_meta` (so a wr_meta * is a pointer to
 * it) and points `ops` at its table. meta.c validates and normalizes arguments before dispatching,
 * so a backend may rely on:
 *   - every string argument is NUL-terminated within its struct field and every id non-empty;
 *   - created_at_ms is non-zero (0 was replaced by the current time), an org's updated_at_ms
 *     equals its created_at_ms, a run's root_run_id is non-empty;
 *   - an env's org_id is that of its project (checked through project_get);
 *   - session ids start with "session_" and external ids (when present) are non-empty and do not;
 *     a new session's stream_key is set (external id, else id) and updated_at = created_at;
 *   - runs passed to session calls are normalized as for run_create;
 *   - a list filter's limit is 1..100, now_ms is set, and at most one cursor is given; a run
 *     list's limit is 1..100 and its cursor, when given, a run of the environment.
 * A backend must: make every change one transaction; map unique violations to
 * WR_ERR_RESOURCE_ALREADY_EXISTS, missing referenced rows to WR_ERR_NOT_FOUND, and everything
 * else to WR_ERR_STORAGE (a server backend also answers WR_ERR_UNAVAILABLE when the server cannot
 * be reached and nothing was changed, and WR_ERR_TRANSACTION_CONFLICT when its change lost a
 * deadlock and was undone); never change a run's or session's basin stamp; keep closes and
 * completions write-once.
 */
#ifndef WR_META_META_INT_H
#define WR_META_META_INT_H

#include "meta/meta.h"

typedef struct wr_meta_ops {
    const char *name;
    void (*close)(wr_meta *m);
    wr_err (*org_create)(wr_meta *m, const wr_org *o, wr_error *out_err);
    wr_err (*org_get)(wr_meta *m, const char *id, wr_org *out, wr_error *out_err);
    wr_err (*org_get_by_slug)(wr_meta *m, const char *slug, wr_org *out, wr_error *out_err);
    wr_err (*org_list)(wr_meta *m, wr_org **out, size_t *out_n, wr_error *out_err);
    wr_err (*org_set_plan)(wr_meta *m, const char *id, const char *plan, uint64_t now_ms,
                           wr_error *out_err);
    wr_err (*org_set_basin)(wr_meta *m, const char *id, const char *basin_or_null, uint64_t now_ms,
                            wr_error *out_err);
    wr_err (*project_create)(wr_meta *m, const wr_project *p, wr_error *out_err);
    wr_err (*project_get)(wr_meta *m, const char *id, wr_project *out, wr_error *out_err);
    wr_err (*env_create)(wr_meta *m, const wr_env *e, wr_error *out_err);
    wr_err (*env_get)(wr_meta *m, const char *id, wr_env *out, wr_error *out_err);
    wr_err (*env_by_key_hash)(wr_meta *m, const uint8_t hash[32], wr_env *out, wr_error *out_err);
    /* Exactly one of hash and env_id (meta.c checks). */
    wr_err (*env_and_org)(wr_meta *m, const uint8_t *hash, const char *env_id, wr_env *out_env,
                          wr_org *out_org, wr_error *out_err);
    wr_err (*env_set_key)(wr_meta *m, const char *id, const uint8_t hash[32],
                          const uint8_t *key_enc, size_t enc_len, wr_error *out_err);
    wr_err (*run_create)(wr_meta *m, const wr_run *r, wr_error *out_err);
    wr_err (*run_get)(wr_meta *m, const char *env_id, const char *id, wr_run *out,
                      wr_error *out_err);
    wr_err (*run_complete)(wr_meta *m, const char *id, uint64_t at_ms, wr_error *out_err);
    wr_err (*run_add_stream)(wr_meta *m, const char *run_id, const char *stream_id,
                             wr_error *out_err);
    wr_err (*run_has_stream)(wr_meta *m, const char *run_id, const char *stream_id, bool *out,
                             wr_error *out_err);
    wr_err (*run_streams)(wr_meta *m, const char *run_id, char ***out, size_t *out_n,
                          wr_error *out_err);
    wr_err (*session_create_or_get)(wr_meta *m, const wr_session *s, const wr_run *first_run,
                                    wr_session *out, bool *out_created, wr_error *out_err);
    /* optional (NULL: the calls one by one); c[i].s and first_run are normalized, and
     * out_created is never NULL */
    wr_err (*session_create_many)(wr_meta *m, const wr_meta_session_create *c, size_t n,
                                  wr_error *out_err);
    wr_err (*session_get_by_id)(wr_meta *m, const char *env_id, const char *id, wr_session *out,
                                wr_error *out_err);
    wr_err (*session_get_by_external_id)(wr_meta *m, const char *env_id, const char *external_id,
                                         wr_session *out, wr_error *out_err);
    wr_err (*session_stream_key_taken)(wr_meta *m, const char *env_id, const char *key,
                                       bool *out_taken, wr_error *out_err);
    wr_err (*session_close)(wr_meta *m, const char *id, const char *reason, uint64_t at_ms,
                            bool *out_already, wr_error *out_err);
    wr_err (*session_update)(wr_meta *m, const char *env_id, const char *id,
                             const wr_session_patch *p, uint64_t now_ms, wr_error *out_err);
    wr_err (*session_swap_run)(wr_meta *m, const char *id, const char *expected, const wr_run *run,
                               uint64_t now_ms, bool *out_swapped, wr_error *out_err);
    wr_err (*session_list)(wr_meta *m, const char *env_id, const wr_session_filter *f,
                           wr_session_page *out, wr_error *out_err);
    /* Listings for the console and other operators' views (see meta.h). */
    wr_err (*project_list)(wr_meta *m, const char *org_id, wr_project **out, size_t *out_n,
                           wr_error *out_err);
    wr_err (*env_list)(wr_meta *m, const char *org_id, wr_env **out, size_t *out_n,
                       wr_error *out_err);
    wr_err (*run_list)(wr_meta *m, const char *env_id, const char *after, size_t limit,
                       wr_run_page *out, wr_error *out_err);
    /* Part ids (meta.h); arguments checked by meta.c. */
    /* A row answered at or before done_before, or claimed at or before claimed_before, is
     * taken over (meta.c computes both from now_ms and the spans). */
    wr_err (*part_claim)(wr_meta *m, const char *key, const char *part, uint64_t now_ms,
                         uint64_t done_before, uint64_t claimed_before,
                         wr_meta_part_state *out_state, uint64_t *out_seq, wr_error *out_err);
    wr_err (*part_done)(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms,
                        uint64_t seq, uint64_t now_ms, wr_error *out_err);
    wr_err (*part_release)(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms,
                           wr_error *out_err);
    wr_err (*part_purge)(wr_meta *m, uint64_t before_ms, size_t *out_n, wr_error *out_err);
    /* Group commit (meta.h, wr_meta_group): the step is one of wr_meta_group_step, in order. */
    wr_err (*group)(wr_meta *m, wr_meta_group_step step, wr_error *out_err);
} wr_meta_ops;

struct wr_meta {
    const wr_meta_ops *ops;
};

#endif

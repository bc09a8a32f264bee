/*
 * meta.c — the backend-independent half of the control-plane store: argument validation and
 * normalization, then dispatch through the backend table (meta_int.h).
 *
 * Validation lives here, not in the backends, so that every backend sees the same promises
 * (listed in meta_int.h) and rejects the same bad input with the same errors. Nothing here touches
 * storage except through m->ops.
 */
#include "meta/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"
#include "util/clock.h"
#include "util/mem.h"

void
wr_session_fini(wr_session *s)
{
    if (!s)
        return;
    free(s->metadata_json);
    free(s->tags_json);
    free(s->trigger_config_json);
    s->metadata_json = NULL;
    s->tags_json = NULL;
    s->trigger_config_json = NULL;
}

void
wr_session_page_fini(wr_session_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        wr_session_fini(&p->items[i]);
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

void
wr_meta_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
wr_meta_close(wr_meta *m)
{
    if (m)
        m->ops->close(m);
}

const char *
wr_meta_backend(const wr_meta *m)
{
    return m->ops->name;
}

wr_err
wr_meta_group(wr_meta *m, wr_meta_group_step step, wr_error *out_err)
{
    return m->ops->group(m, step, out_err);
}

/* True when `s` has its NUL within the first `cap` bytes (it fits a field of that size). strnlen
 * never reads past the NUL, so this is safe on short strings too. */
static bool
fits(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

/* Checks a required string: non-NULL, non-empty, at most cap-1 bytes. */
static wr_err
need(const char *s, size_t cap, const char *what, wr_error *out_err)
{
    if (!s || !s[0])
        return wr_error_set(out_err, WR_ERR_INVALID, "%s must not be empty", what);
    if (!fits(s, cap))
        return wr_error_set(out_err, WR_ERR_INVALID, "%s is longer than %zu bytes", what, cap - 1);
    return WR_OK;
}

/* Checks an optional string field (may be empty) for termination within its field. */
static wr_err
field(const char *s, size_t cap, const char *what, wr_error *out_err)
{
    if (!fits(s, cap))
        return wr_error_set(out_err, WR_ERR_INVALID, "%s is longer than %zu bytes", what, cap - 1);
    return WR_OK;
}

static bool
is_session_id(const char *s)
{
    return strncmp(s, WR_META_SESSION_ID_PREFIX, strlen(WR_META_SESSION_ID_PREFIX)) == 0;
}

static uint64_t
or_now(uint64_t ts_ms)
{
    return ts_ms ? ts_ms : wr_clock_now_ms();
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        wr_err rc_ = (expr);                                                                       \
        if (rc_ != WR_OK)                                                                          \
            return rc_;                                                                            \
    } while (0)

#define ID_CAP (WR_META_ID_MAX + 1)
#define SLUG_CAP (WR_META_SLUG_MAX + 1)

/* ---- organizations -------------------------------------------------------------------------- */

wr_err
wr_meta_org_create(wr_meta *m, const wr_org *o, wr_error *out_err)
{
    TRY(need(o->id, ID_CAP, "org id", out_err));
    TRY(need(o->slug, SLUG_CAP, "org slug", out_err));
    TRY(field(o->title, sizeof(o->title), "org title", out_err));
    TRY(field(o->plan, sizeof(o->plan), "org plan", out_err));
    if (o->has_basin)
        TRY(need(o->basin, sizeof(o->basin), "org basin", out_err));
    wr_org n = *o;
    n.created_at_ms = or_now(o->created_at_ms);
    n.updated_at_ms = n.created_at_ms;
    if (!n.has_basin)
        n.basin[0] = '\0';
    return m->ops->org_create(m, &n, out_err);
}

wr_err
wr_meta_org_get(wr_meta *m, const char *id, wr_org *out, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "org id", out_err));
    return m->ops->org_get(m, id, out, out_err);
}

wr_err
wr_meta_org_get_by_slug(wr_meta *m, const char *slug, wr_org *out, wr_error *out_err)
{
    TRY(need(slug, SLUG_CAP, "org slug", out_err));
    return m->ops->org_get_by_slug(m, slug, out, out_err);
}

wr_err
wr_meta_org_list(wr_meta *m, wr_org **out, size_t *out_n, wr_error *out_err)
{
    *out = NULL;
    *out_n = 0;
    return m->ops->org_list(m, out, out_n, out_err);
}

wr_err
wr_meta_org_set_plan(wr_meta *m, const char *id, const char *plan, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "org id", out_err));
    TRY(need(plan, sizeof(((wr_org *)0)->plan), "plan", out_err));
    return m->ops->org_set_plan(m, id, plan, wr_clock_now_ms(), out_err);
}

wr_err
wr_meta_org_set_basin(wr_meta *m, const char *id, const char *basin_or_null, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "org id", out_err));
    if (basin_or_null)
        TRY(need(basin_or_null, sizeof(((wr_org *)0)->basin), "basin", out_err));
    return m->ops->org_set_basin(m, id, basin_or_null, wr_clock_now_ms(), out_err);
}

/* ---- projects and environments -------------------------------------------------------------- */

wr_err
wr_meta_project_create(wr_meta *m, const wr_project *p, wr_error *out_err)
{
    TRY(need(p->id, ID_CAP, "project id", out_err));
    TRY(need(p->slug, SLUG_CAP, "project slug", out_err));
    TRY(need(p->org_id, ID_CAP, "project org id", out_err));
    wr_project n = *p;
    n.created_at_ms = or_now(p->created_at_ms);
    return m->ops->project_create(m, &n, out_err);
}

wr_err
wr_meta_project_get(wr_meta *m, const char *id, wr_project *out, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "project id", out_err));
    return m->ops->project_get(m, id, out, out_err);
}

wr_err
wr_meta_env_create(wr_meta *m, const wr_env *e, wr_error *out_err)
{
    TRY(need(e->id, ID_CAP, "environment id", out_err));
    TRY(need(e->slug, SLUG_CAP, "environment slug", out_err));
    TRY(need(e->project_id, ID_CAP, "environment project id", out_err));
    TRY(field(e->org_id, ID_CAP, "environment org id", out_err));
    /* Projects are never deleted, so checking outside the insert's transaction is safe. */
    wr_project p;
    TRY(m->ops->project_get(m, e->project_id, &p, out_err));
    if (e->org_id[0] && strcmp(e->org_id, p.org_id) != 0)
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "environment org id %s is not the project's org %s", e->org_id,
                            p.org_id);
    wr_env n = *e;
    memcpy(n.org_id, p.org_id, sizeof(n.org_id));
    n.created_at_ms = or_now(e->created_at_ms);
    return m->ops->env_create(m, &n, out_err);
}

wr_err
wr_meta_env_get(wr_meta *m, const char *id, wr_env *out, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "environment id", out_err));
    return m->ops->env_get(m, id, out, out_err);
}

wr_err
wr_meta_env_and_org(wr_meta *m, const uint8_t *hash, const char *env_id, wr_env *out_env,
                    wr_org *out_org, wr_error *out_err)
{
    if ((hash == NULL) == (env_id == NULL))
        return wr_error_set(out_err, WR_ERR_INVALID, "give a key hash or an environment id");
    if (env_id)
        TRY(need(env_id, ID_CAP, "environment id", out_err));
    return m->ops->env_and_org(m, hash, env_id, out_env, out_org, out_err);
}

wr_err
wr_meta_env_by_key_hash(wr_meta *m, const uint8_t hash[32], wr_env *out, wr_error *out_err)
{
    return m->ops->env_by_key_hash(m, hash, out, out_err);
}

wr_err
wr_meta_env_set_key(wr_meta *m, const char *id, const uint8_t hash[32], const uint8_t *key_enc,
                    size_t enc_len, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "environment id", out_err));
    if (enc_len > WR_META_KEY_ENC_MAX)
        return wr_error_set(out_err, WR_ERR_INVALID, "encrypted key longer than %d bytes",
                            WR_META_KEY_ENC_MAX);
    return m->ops->env_set_key(m, id, hash, key_enc, enc_len, out_err);
}

wr_err
wr_meta_project_list(wr_meta *m, const char *org_id, wr_project **out, size_t *out_n,
                     wr_error *out_err)
{
    *out = NULL;
    *out_n = 0;
    TRY(need(org_id, ID_CAP, "org id", out_err));
    return m->ops->project_list(m, org_id, out, out_n, out_err);
}

wr_err
wr_meta_env_list(wr_meta *m, const char *org_id, wr_env **out, size_t *out_n, wr_error *out_err)
{
    *out = NULL;
    *out_n = 0;
    TRY(need(org_id, ID_CAP, "org id", out_err));
    return m->ops->env_list(m, org_id, out, out_n, out_err);
}

/* ---- runs ----------------------------------------------------------------------------------- */

/* Checks r and writes its normalized form (see meta_int.h) into *out. */
static wr_err
run_normalize(const wr_run *r, wr_run *out, wr_error *out_err)
{
    TRY(need(r->id, ID_CAP, "run id", out_err));
    TRY(need(r->env_id, ID_CAP, "run environment id", out_err));
    TRY(field(r->task_identifier, sizeof(r->task_identifier), "task identifier", out_err));
    TRY(field(r->root_run_id, ID_CAP, "root run id", out_err));
    if (r->has_parent)
        TRY(need(r->parent_run_id, ID_CAP, "parent run id", out_err));
    if (r->has_basin)
        TRY(need(r->basin, sizeof(r->basin), "run basin", out_err));
    wr_run n = *r;
    if (!n.root_run_id[0])
        memcpy(n.root_run_id, n.id, sizeof(n.root_run_id));
    if (!n.has_parent)
        n.parent_run_id[0] = '\0';
    if (!n.has_basin)
        n.basin[0] = '\0';
    if (!n.completed)
        n.completed_at_ms = 0;
    n.created_at_ms = or_now(r->created_at_ms);
    *out = n;
    return WR_OK;
}

wr_err
wr_meta_run_create(wr_meta *m, const wr_run *r, wr_error *out_err)
{
    wr_run n;
    TRY(run_normalize(r, &n, out_err));
    return m->ops->run_create(m, &n, out_err);
}

wr_err
wr_meta_run_get(wr_meta *m, const char *env_id, const char *id, wr_run *out, wr_error *out_err)
{
    TRY(need(env_id, ID_CAP, "environment id", out_err));
    TRY(need(id, ID_CAP, "run id", out_err));
    return m->ops->run_get(m, env_id, id, out, out_err);
}

wr_err
wr_meta_run_complete(wr_meta *m, const char *id, uint64_t at_ms, wr_error *out_err)
{
    TRY(need(id, ID_CAP, "run id", out_err));
    return m->ops->run_complete(m, id, at_ms, out_err);
}

wr_err
wr_meta_run_add_stream(wr_meta *m, const char *run_id, const char *stream_id, wr_error *out_err)
{
    TRY(need(run_id, ID_CAP, "run id", out_err));
    if (!stream_id || !stream_id[0])
        return wr_error_set(out_err, WR_ERR_INVALID, "stream id must not be empty");
    return m->ops->run_add_stream(m, run_id, stream_id, out_err);
}

wr_err
wr_meta_run_has_stream(wr_meta *m, const char *run_id, const char *stream_id, bool *out,
                       wr_error *out_err)
{
    *out = false;
    TRY(need(run_id, ID_CAP, "run id", out_err));
    if (!stream_id || !stream_id[0])
        return wr_error_set(out_err, WR_ERR_INVALID, "stream id must not be empty");
    return m->ops->run_has_stream(m, run_id, stream_id, out, out_err);
}

wr_err
wr_meta_run_streams(wr_meta *m, const char *run_id, char ***out, size_t *out_n, wr_error *out_err)
{
    *out = NULL;
    *out_n = 0;
    TRY(need(run_id, ID_CAP, "run id", out_err));
    return m->ops->run_streams(m, run_id, out, out_n, out_err);
}

wr_err
wr_meta_run_list(wr_meta *m, const char *env_id, const char *after, size_t limit, wr_run_page *out,
                 wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    TRY(need(env_id, ID_CAP, "environment id", out_err));
    if (limit < 1 || limit > 100)
        return wr_error_set(out_err, WR_ERR_INVALID, "limit must be 1 to 100");
    if (after) {
        /* Runs are never deleted, so a cursor checked here stays valid for the query. */
        wr_run r;
        TRY(wr_meta_run_get(m, env_id, after, &r, out_err));
    }
    return m->ops->run_list(m, env_id, after, limit, out, out_err);
}

/* ---- sessions ------------------------------------------------------------------------------- */

static wr_err
external_id_ok(const char *ext, wr_error *out_err)
{
    TRY(need(ext, sizeof(((wr_session *)0)->external_id), "external id", out_err));
    if (is_session_id(ext))
        return wr_error_set(out_err, WR_ERR_INVALID, "external id must not start with %s",
                            WR_META_SESSION_ID_PREFIX);
    /* It names the session's channel streams: one path segment. */
    if (strchr(ext, '/'))
        return wr_error_set(out_err, WR_ERR_INVALID, "external id must not contain `/`");
    return WR_OK;
}

/* Checks a session create's arguments and fills what the backend stores: *n from s, *run from
 * first_run (when there is one). */
static wr_err
session_normalize(const wr_session *s, const wr_run *first_run, wr_session *n_out, wr_run *run,
                  wr_error *out_err)
{
    TRY(need(s->id, ID_CAP, "session id", out_err));
    if (!is_session_id(s->id))
        return wr_error_set(out_err, WR_ERR_INVALID, "session id must start with %s",
                            WR_META_SESSION_ID_PREFIX);
    TRY(need(s->env_id, ID_CAP, "session environment id", out_err));
    if (s->has_external_id)
        TRY(external_id_ok(s->external_id, out_err));
    TRY(field(s->type, sizeof(s->type), "session type", out_err));
    TRY(field(s->task_identifier, sizeof(s->task_identifier), "task identifier", out_err));
    TRY(field(s->closed_reason, sizeof(s->closed_reason), "closed reason", out_err));
    if (s->has_basin)
        TRY(need(s->basin, sizeof(s->basin), "session basin", out_err));
    wr_session n = *s; /* shallow: the json pointers stay borrowed */
    if (!n.has_external_id)
        n.external_id[0] = '\0';
    if (!n.has_basin)
        n.basin[0] = '\0';
    if (!n.closed) {
        n.closed_at_ms = 0;
        n.closed_reason[0] = '\0';
    }
    n.created_at_ms = or_now(s->created_at_ms);
    n.updated_at_ms = n.created_at_ms;
    snprintf(n.stream_key, sizeof(n.stream_key), "%s", n.has_external_id ? n.external_id : n.id);
    if (first_run) {
        TRY(run_normalize(first_run, run, out_err));
        n.has_current_run = true;
        memcpy(n.current_run_id, run->id, sizeof(n.current_run_id));
    } else {
        n.has_current_run = false;
        n.current_run_id[0] = '\0';
    }
    *n_out = n;
    return WR_OK;
}

wr_err
wr_meta_session_create_or_get(wr_meta *m, const wr_session *s, const wr_run *first_run,
                              wr_session *out, bool *out_created, wr_error *out_err)
{
    bool created_sink;
    if (!out_created)
        out_created = &created_sink;
    *out_created = false;
    wr_session n;
    wr_run run;
    TRY(session_normalize(s, first_run, &n, &run, out_err));
    return m->ops->session_create_or_get(m, &n, first_run ? &run : NULL, out, out_created, out_err);
}

bool
wr_meta_session_creates_batch(const wr_meta *m)
{
    return m->ops->session_create_many != NULL;
}

wr_err
wr_meta_session_create_many(wr_meta *m, const wr_meta_session_create *c, size_t n,
                            wr_error *out_err)
{
    if (n == 0)
        return WR_OK;
    wr_session *s = wr_xcalloc(n, sizeof(*s));
    wr_run *runs = wr_xcalloc(n, sizeof(*runs));
    wr_meta_session_create *norm = wr_xcalloc(n, sizeof(*norm));
    bool *created = wr_xcalloc(n, sizeof(*created));
    wr_err err = WR_OK;
    for (size_t i = 0; i < n && err == WR_OK; i++) {
        err = session_normalize(c[i].s, c[i].first_run, &s[i], &runs[i], out_err);
        norm[i] = (wr_meta_session_create){.s = &s[i],
                                           .first_run = c[i].first_run ? &runs[i] : NULL,
                                           .out = c[i].out,
                                           .out_created = &created[i]};
    }
    size_t made = 0; /* outs filled by the calls one by one */
    if (err == WR_OK && m->ops->session_create_many)
        err = m->ops->session_create_many(m, norm, n, out_err);
    else
        for (; err == WR_OK && made < n; made++) {
            wr_meta_session_create *k = &norm[made];
            err = m->ops->session_create_or_get(m, k->s, k->first_run, k->out, k->out_created,
                                                out_err);
            if (err != WR_OK)
                break;
        }
    for (size_t i = 0; i < made && err != WR_OK; i++) /* all or nothing */
        wr_session_fini(c[i].out);
    for (size_t i = 0; i < n && err == WR_OK; i++)
        if (c[i].out_created)
            *c[i].out_created = created[i];
    free(created);
    free(norm);
    free(runs);
    free(s);
    return err;
}

wr_err
wr_meta_session_stream_key_taken(wr_meta *m, const char *env_id, const char *key, bool *out_taken,
                                 wr_error *out_err)
{
    *out_taken = false;
    TRY(need(env_id, ID_CAP, "environment id", out_err));
    if (!key || !key[0] || !fits(key, sizeof(((wr_session *)0)->stream_key)))
        return WR_OK;
    return m->ops->session_stream_key_taken(m, env_id, key, out_taken, out_err);
}

wr_err
wr_meta_session_get(wr_meta *m, const char *env_id, const char *key, wr_session *out,
                    wr_error *out_err)
{
    TRY(need(env_id, ID_CAP, "environment id", out_err));
    if (!key || !key[0])
        return wr_error_set(out_err, WR_ERR_NOT_FOUND, "session not found");
    if (is_session_id(key)) {
        if (!fits(key, ID_CAP))
            return wr_error_set(out_err, WR_ERR_NOT_FOUND, "session %.64s… not found", key);
        return m->ops->session_get_by_id(m, env_id, key, out, out_err);
    }
    if (!fits(key, sizeof(out->external_id)))
        return wr_error_set(out_err, WR_ERR_NOT_FOUND, "session %.64s… not found", key);
    return m->ops->session_get_by_external_id(m, env_id, key, out, out_err);
}

wr_err
wr_meta_session_close(wr_meta *m, const char *id, const char *reason, uint64_t at_ms,
                      bool *out_already, wr_error *out_err)
{
    bool already_sink;
    if (!out_already)
        out_already = &already_sink;
    *out_already = false;
    TRY(need(id, ID_CAP, "session id", out_err));
    if (reason && !fits(reason, sizeof(((wr_session *)0)->closed_reason)))
        return wr_error_set(out_err, WR_ERR_INVALID, "closed reason is longer than 256 bytes");
    return m->ops->session_close(m, id, reason ? reason : "", at_ms, out_already, out_err);
}

wr_err
wr_meta_session_update(wr_meta *m, const char *env_id, const char *id, const wr_session_patch *p,
                       wr_error *out_err)
{
    TRY(need(env_id, ID_CAP, "environment id", out_err));
    TRY(need(id, ID_CAP, "session id", out_err));
    if (p->set_external_id && p->external_id)
        TRY(external_id_ok(p->external_id, out_err));
    if (p->set_tags && !p->tags_json)
        return wr_error_set(out_err, WR_ERR_INVALID, "tags must be an array");
    return m->ops->session_update(m, env_id, id, p, wr_clock_now_ms(), out_err);
}

wr_err
wr_meta_session_swap_run(wr_meta *m, const char *id, const char *expected, const wr_run *run,
                         bool *out_swapped, wr_error *out_err)
{
    *out_swapped = false;
    TRY(need(id, ID_CAP, "session id", out_err));
    if (expected)
        TRY(need(expected, ID_CAP, "expected run id", out_err));
    wr_run n;
    TRY(run_normalize(run, &n, out_err));
    return m->ops->session_swap_run(m, id, expected, &n, wr_clock_now_ms(), out_swapped, out_err);
}

wr_err
wr_meta_session_list(wr_meta *m, const char *env_id, const wr_session_filter *f,
                     wr_session_page *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    TRY(need(env_id, ID_CAP, "environment id", out_err));
    if (f->limit < 1 || f->limit > 100)
        return wr_error_set(out_err, WR_ERR_INVALID, "limit must be 1 to 100");
    if (f->after && f->before)
        return wr_error_set(out_err, WR_ERR_INVALID, "give at most one of after and before");
    wr_session_filter n = *f;
    n.now_ms = or_now(f->now_ms);
    return m->ops->session_list(m, env_id, &n, out, out_err);
}

/* ---- part ids ------------------------------------------------------------------------------- */

static wr_err
part_args(const char *key, const char *part, wr_error *out_err)
{
    TRY(need(key, WR_META_PART_KEY_MAX + 1, "part key", out_err));
    return need(part, WR_META_PART_ID_MAX + 1, "part id", out_err);
}

wr_err
wr_meta_part_claim(wr_meta *m, const char *key, const char *part, uint64_t now_ms,
                   uint64_t window_ms, uint64_t claim_ms, wr_meta_part_state *out_state,
                   uint64_t *out_seq, wr_error *out_err)
{
    *out_state = WR_META_PART_BUSY;
    *out_seq = 0;
    TRY(part_args(key, part, out_err));
    uint64_t done_before = now_ms > window_ms ? now_ms - window_ms : 0;
    uint64_t claimed_before = now_ms > claim_ms ? now_ms - claim_ms : 0;
    return m->ops->part_claim(m, key, part, now_ms, done_before, claimed_before, out_state, out_seq,
                              out_err);
}

wr_err
wr_meta_part_done(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms, uint64_t seq,
                  uint64_t now_ms, wr_error *out_err)
{
    TRY(part_args(key, part, out_err));
    return m->ops->part_done(m, key, part, claimed_ms, seq, now_ms, out_err);
}

wr_err
wr_meta_part_release(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms,
                     wr_error *out_err)
{
    TRY(part_args(key, part, out_err));
    return m->ops->part_release(m, key, part, claimed_ms, out_err);
}

wr_err
wr_meta_part_purge(wr_meta *m, uint64_t before_ms, size_t *out_n, wr_error *out_err)
{
    if (out_n)
        *out_n = 0;
    return m->ops->part_purge(m, before_ms, out_n, out_err);
}

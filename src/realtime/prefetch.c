/*
 * prefetch.c — the reads a realtime request needs first, made off the loop when the control
 * plane is a network round trip away (PostgreSQL).
 *
 * With SQLite the loop reads its own handle: a read is a lookup in the page cache, microseconds.
 * With PostgreSQL every read is a round trip to another process, and a blocking one on the loop
 * thread would stall every connection of the server meanwhile. So, when readers are set
 * (wr_rt_set_readers), a route's trampoline first hands the request's opening reads to a reader
 * thread — the environment its credential names (by API key hash, or a public token's `sub`),
 * that environment's organization, the session the URL names when the route's first parameter
 * is {session}, or the run it names when that is {runId} (with the run its {target} names, and
 * whether the {streamId} is registered on that one) — and calls the handler once they are back,
 * on the loop. The handler's
 * usual lookups (wr_rt_read_*) are then answered from them without a round trip. A lookup the
 * prefetch did not make (another key, a second read of the same session) reads the handle as
 * before.
 *
 * Freshness: a prefetched row was read at most one reader round trip before the handler runs —
 * the same staleness any read has by the time its answer is used. Every change still goes through
 * the writer (writer.h), which re-checks what it must inside its own transaction. Prefetches a
 * reader takes together that carry the same credential share one read of its environment
 * (prefetch_batch), made after all of them were submitted; nothing is kept across requests.
 */
#include <string.h>

#include "realtime/rt_int.h"
#include "util/hex.h"
#include "util/mem.h"

struct wr_rt_prefetch {
    wr_req *req; /* first member (wr_rt_hold_req); the request it was made for */
    wr_rt *rt;
    wr_handler_fn fn;
    /* inputs, copied: the request may go away while the reader runs */
    bool by_key;
    uint8_t key_hash[32];
    char sub[WR_META_ID_MAX + 1];
    wr_rt_read_kind what; /* the row params[0] names, if any */
    char session_key[WR_RT_SESSION_KEY_MAX + 1];
    char run_key[WR_META_ID_MAX + 1], target[16];
    char *stream_id; /* malloc'd; NULL unless asked */
    /* outputs */
    wr_err env_rc, org_rc, session_rc, run_rc, target_rc, has_rc, taken_rc;
    wr_error env_err, org_err, session_err, run_err, target_err, has_err, taken_err;
    wr_env env;
    wr_org org;
    wr_session session; /* its owned strings go to the first wr_rt_read_session that takes it */
    bool session_taken;
    wr_run run, target_run; /* params[0]'s run; the run its target names */
    bool has_stream;        /* stream_id is registered on target_run */
    bool key_taken;         /* no session has session_key: it names another's channels */
};

/* Reader thread: the run `target` names from p->run (self, parent, root), into p->target_run. */
static void
read_target(wr_meta *m, wr_rt_prefetch *p)
{
    const char *id = NULL;
    if (strcmp(p->target, "self") == 0)
        id = p->run.id;
    else if (strcmp(p->target, "parent") == 0 && p->run.has_parent)
        id = p->run.parent_run_id;
    else if (strcmp(p->target, "root") == 0)
        id = p->run.root_run_id;
    if (id == NULL)
        return; /* the handler answers the bad target */
    if (id == p->run.id) {
        p->target_run = p->run;
        p->target_rc = WR_OK;
    } else {
        p->target_rc = wr_meta_run_get(m, p->env.id, id, &p->target_run, &p->target_err);
    }
    if (p->target_rc == WR_OK && p->stream_id)
        p->has_rc =
            wr_meta_run_has_stream(m, p->target_run.id, p->stream_id, &p->has_stream, &p->has_err);
}

/* Reader thread: the environment and its organization, in one read (one round trip). */
static void
read_env(wr_meta *m, wr_rt_prefetch *p)
{
    p->env_rc = wr_meta_env_and_org(m, p->by_key ? p->key_hash : NULL, p->by_key ? NULL : p->sub,
                                    &p->env, &p->org, &p->env_err);
}

/* Reader thread: the rest, once p's environment is known. */
static void
read_rest(wr_meta *m, wr_rt_prefetch *p)
{
    p->org_rc = p->session_rc = p->run_rc = p->target_rc = p->has_rc = p->taken_rc =
        WR_ERR_OTHER; /* not read */
    if (p->env_rc != WR_OK)
        return;
    p->org_rc = WR_OK;
    if (p->what == WR_RT_READ_SESSION) {
        p->session_rc =
            wr_meta_session_get(m, p->env.id, p->session_key, &p->session, &p->session_err);
        if (p->session_rc == WR_ERR_NOT_FOUND) /* the channel routes ask next */
            p->taken_rc = wr_meta_session_stream_key_taken(m, p->env.id, p->session_key,
                                                           &p->key_taken, &p->taken_err);
    }
    if (p->what == WR_RT_READ_RUN) {
        p->run_rc = wr_meta_run_get(m, p->env.id, p->run_key, &p->run, &p->run_err);
        if (p->run_rc == WR_OK && p->target[0])
            read_target(m, p);
    }
}

/* Reader thread. */
static wr_err
prefetch_run(wr_meta *m, void *ctx, wr_error *out_err)
{
    (void)out_err;
    read_env(m, ctx);
    read_rest(m, ctx);
    return WR_OK;
}

static bool
same_credential(const wr_rt_prefetch *a, const wr_rt_prefetch *b)
{
    return a->by_key == b->by_key &&
           (a->by_key ? memcmp(a->key_hash, b->key_hash, 32) == 0 : strcmp(a->sub, b->sub) == 0);
}

/* Reader thread: prefetches the reader took together. Those carrying the same credential (a
 * tenant's backend sending many requests with its one key) share one read of its environment —
 * made after every one of them was submitted, so as fresh as a read of its own. */
static wr_err
prefetch_batch(wr_meta *m, void *const *ctxs, size_t n, wr_error *out_err)
{
    (void)out_err;
    for (size_t i = 0; i < n; i++) {
        wr_rt_prefetch *p = ctxs[i], *same = NULL;
        for (size_t k = 0; k < i && !same; k++)
            if (same_credential(ctxs[k], p))
                same = ctxs[k];
        if (same) {
            p->env_rc = same->env_rc;
            p->env_err = same->env_err;
            p->env = same->env;
            p->org = same->org;
        } else {
            read_env(m, p);
        }
        read_rest(m, p);
    }
    return WR_OK;
}

static void
prefetch_free(wr_rt_prefetch *p)
{
    if (p->session_rc == WR_OK && !p->session_taken)
        wr_session_fini(&p->session);
    free(p->stream_id);
    free(p);
}

/* Loop thread: the handler runs with the prefetch in reach, then it is dropped. */
static void
prefetch_done(void *ctx, wr_err rc, const wr_error *err)
{
    wr_rt_prefetch *p = ctx;
    wr_req *req = wr_rt_take_req(p);
    if (req && rc != WR_OK) {
        wr_rt_fail_err(req, err); /* the readers' queue is full, or weir is stopping */
    } else if (req) {
        p->req = req;
        p->rt->prefetch = p;
        p->fn(req, p->rt);
        p->rt->prefetch = NULL;
    }
    prefetch_free(p);
}

void
wr_rt_dispatch(wr_rt *rt, wr_req *req, wr_handler_fn fn, const wr_rt_route_reads *reads)
{
    wr_rt_prefetch *p = NULL;
    if (rt->readers && strncmp(req->path, "/admin/", 7) != 0) {
        p = wr_xcalloc(1, sizeof(*p));
        if (!wr_rt_credential(req, &p->by_key, p->key_hash, p->sub)) {
            free(p);
            p = NULL;
        }
    }
    if (!p) {
        fn(req, rt);
        return;
    }
    p->rt = rt;
    p->fn = fn;
    const char *first = req->n_params > 0 ? req->params[0] : "";
    if (reads->first == WR_RT_READ_SESSION && strlen(first) < sizeof(p->session_key)) {
        p->what = WR_RT_READ_SESSION;
        strcpy(p->session_key, first);
    } else if (reads->first == WR_RT_READ_RUN && strlen(first) < sizeof(p->run_key)) {
        p->what = WR_RT_READ_RUN;
        strcpy(p->run_key, first);
        if (reads->target >= 0 && (size_t)reads->target < req->n_params)
            snprintf(p->target, sizeof(p->target), "%s", req->params[reads->target]);
        if (p->target[0] && reads->stream >= 0 && (size_t)reads->stream < req->n_params)
            p->stream_id = wr_xstrdup(req->params[reads->stream]);
    }
    wr_rt_hold_req(req, p);
    char who[WR_META_ID_MAX + 1];
    if (p->by_key)
        wr_hex_encode(p->key_hash, 16, who); /* a key's environment is not known yet */
    else
        snprintf(who, sizeof(who), "%s", p->sub);
    wr_rt_meta_read(rt, who, prefetch_run, prefetch_batch, prefetch_done, p);
}

/* The prefetch made for req, if any. */
static wr_rt_prefetch *
current(wr_rt *rt, const wr_req *req)
{
    wr_rt_prefetch *p = rt->prefetch;
    return p && p->req == req ? p : NULL;
}

static wr_err
answer(wr_rt *rt, wr_err rc, const wr_error *from, wr_error *out_err)
{
    rt->prefetched_reads++;
    if (rc != WR_OK && out_err)
        *out_err = *from;
    return rc;
}

/* The prefetched environment, when the lookup asked for is the one the prefetch made. */
static wr_err
prefetched_env(wr_rt *rt, const wr_rt_prefetch *p, wr_env *out, wr_error *out_err)
{
    if (p->env_rc == WR_OK)
        *out = p->env;
    return answer(rt, p->env_rc, &p->env_err, out_err);
}

wr_err
wr_rt_read_env_by_key_hash(wr_rt *rt, const wr_req *req, const uint8_t hash[32], wr_env *out,
                           wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && p->by_key && memcmp(p->key_hash, hash, 32) == 0)
        return prefetched_env(rt, p, out, out_err);
    return wr_meta_env_by_key_hash(rt->meta, hash, out, out_err);
}

wr_err
wr_rt_read_env(wr_rt *rt, const wr_req *req, const char *id, wr_env *out, wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && !p->by_key && strcmp(p->sub, id) == 0)
        return prefetched_env(rt, p, out, out_err);
    return wr_meta_env_get(rt->meta, id, out, out_err);
}

wr_err
wr_rt_read_org(wr_rt *rt, const wr_req *req, const char *id, wr_org *out, wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && p->env_rc == WR_OK && strcmp(p->env.org_id, id) == 0) {
        if (p->org_rc == WR_OK)
            *out = p->org;
        return answer(rt, p->org_rc, &p->org_err, out_err);
    }
    return wr_meta_org_get(rt->meta, id, out, out_err);
}

wr_err
wr_rt_read_session(wr_rt *rt, const wr_req *req, const char *env_id, const char *key,
                   wr_session *out, wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && p->what == WR_RT_READ_SESSION && !p->session_taken && p->env_rc == WR_OK &&
        strcmp(p->env.id, env_id) == 0 && strcmp(p->session_key, key) == 0) {
        p->session_taken = true;
        if (p->session_rc == WR_OK)
            *out = p->session; /* its strings are the caller's now */
        return answer(rt, p->session_rc, &p->session_err, out_err);
    }
    if (strlen(key) > WR_RT_SESSION_KEY_MAX) /* names no session: no read (nor a prefetch) */
        return wr_error_set(out_err, WR_ERR_NOT_FOUND, "no session has this key");
    return wr_meta_session_get(rt->meta, env_id, key, out, out_err);
}

wr_err
wr_rt_read_run(wr_rt *rt, const wr_req *req, const char *env_id, const char *id, wr_run *out,
               wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && p->what == WR_RT_READ_RUN && p->env_rc == WR_OK && strcmp(p->env.id, env_id) == 0) {
        if (strcmp(p->run_key, id) == 0) {
            if (p->run_rc == WR_OK)
                *out = p->run;
            return answer(rt, p->run_rc, &p->run_err, out_err);
        }
        /* the target run; one that could not be read is read again below (rare) */
        if (p->target_rc == WR_OK && strcmp(p->target_run.id, id) == 0) {
            *out = p->target_run;
            return answer(rt, WR_OK, NULL, out_err);
        }
    }
    return wr_meta_run_get(rt->meta, env_id, id, out, out_err);
}

wr_err
wr_rt_read_run_has_stream(wr_rt *rt, const wr_req *req, const char *run_id, const char *stream_id,
                          bool *out, wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    /* read_target asked it whenever it read the target run */
    if (p && p->target_rc == WR_OK && p->stream_id && strcmp(p->target_run.id, run_id) == 0 &&
        strcmp(p->stream_id, stream_id) == 0) {
        if (p->has_rc == WR_OK)
            *out = p->has_stream;
        return answer(rt, p->has_rc, &p->has_err, out_err);
    }
    return wr_meta_run_has_stream(rt->meta, run_id, stream_id, out, out_err);
}

wr_err
wr_rt_read_key_taken(wr_rt *rt, const wr_req *req, const char *env_id, const char *key, bool *out,
                     wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && p->taken_rc != WR_ERR_OTHER && strcmp(p->env.id, env_id) == 0 &&
        strcmp(p->session_key, key) == 0) {
        if (p->taken_rc == WR_OK)
            *out = p->key_taken;
        return answer(rt, p->taken_rc, &p->taken_err, out_err);
    }
    if (strlen(key) > WR_RT_SESSION_KEY_MAX) { /* no session's stream key is that long */
        *out = false;
        return WR_OK;
    }
    return wr_meta_session_stream_key_taken(rt->meta, env_id, key, out, out_err);
}

/*
 * prefetch.c — the reads a realtime request needs first, made off the loop when the control
 * plane is a network round trip away (PostgreSQL).
 *
 * With SQLite the loop reads its own handle: a read is a lookup in the page cache, microseconds.
 * With PostgreSQL every read is a round trip to another process, and a blocking one on the loop
 * thread would stall every connection of the server meanwhile. So, when readers are set
 * (wr_rt_set_readers), a route's trampoline first hands the request's opening reads to a reader
 * thread — the environment its credential names (by API key hash, or a public token's `sub`),
 * that environment's organization, and the session the URL names when the route has a
 * {session} parameter — and calls the handler once they are back, on the loop. The handler's
 * usual lookups (wr_rt_read_*) are then answered from them without a round trip. A lookup the
 * prefetch did not make (another key, a second read of the same session) reads the handle as
 * before.
 *
 * Freshness: a prefetched row was read at most one reader round trip before the handler runs —
 * the same staleness any read has by the time its answer is used. Every change still goes through
 * the writer (writer.h), which re-checks what it must inside its own transaction.
 */
#include <string.h>

#include "realtime/rt_int.h"
#include "util/mem.h"

struct wr_rt_prefetch {
    wr_req *req; /* first member (wr_rt_hold_req); the request it was made for */
    wr_rt *rt;
    wr_handler_fn fn;
    /* inputs, copied: the request may go away while the reader runs */
    bool by_key;
    uint8_t key_hash[32];
    char sub[WR_META_ID_MAX + 1];
    bool want_session;
    char session_key[257];
    /* outputs */
    wr_err env_rc, org_rc, session_rc;
    wr_error env_err, org_err, session_err;
    wr_env env;
    wr_org org;
    wr_session session; /* its owned strings go to the first wr_rt_read_session that takes it */
    bool session_taken;
};

/* Reader thread. */
static wr_err
prefetch_run(wr_meta *m, void *ctx, wr_error *out_err)
{
    (void)out_err;
    wr_rt_prefetch *p = ctx;
    p->env_rc = p->by_key ? wr_meta_env_by_key_hash(m, p->key_hash, &p->env, &p->env_err)
                          : wr_meta_env_get(m, p->sub, &p->env, &p->env_err);
    p->org_rc = p->session_rc = WR_ERR_OTHER; /* not read */
    if (p->env_rc != WR_OK)
        return WR_OK;
    p->org_rc = wr_meta_org_get(m, p->env.org_id, &p->org, &p->org_err);
    if (p->want_session)
        p->session_rc =
            wr_meta_session_get(m, p->env.id, p->session_key, &p->session, &p->session_err);
    return WR_OK;
}

static void
prefetch_free(wr_rt_prefetch *p)
{
    if (p->session_rc == WR_OK && !p->session_taken)
        wr_session_fini(&p->session);
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
wr_rt_dispatch(wr_rt *rt, wr_req *req, wr_handler_fn fn, bool session_param)
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
    if (session_param && req->n_params > 0 && strlen(req->params[0]) < sizeof(p->session_key)) {
        p->want_session = true;
        strcpy(p->session_key, req->params[0]);
    }
    wr_rt_hold_req(req, p);
    wr_error err = {0};
    if (wr_meta_writer_submit(rt->readers, prefetch_run, prefetch_done, p, &err) != WR_OK)
        prefetch_done(p, err.code, &err);
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

wr_err
wr_rt_read_env_by_key_hash(wr_rt *rt, const wr_req *req, const uint8_t hash[32], wr_env *out,
                           wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && p->by_key && memcmp(p->key_hash, hash, 32) == 0) {
        if (p->env_rc == WR_OK)
            *out = p->env;
        return answer(rt, p->env_rc, &p->env_err, out_err);
    }
    return wr_meta_env_by_key_hash(rt->meta, hash, out, out_err);
}

wr_err
wr_rt_read_env(wr_rt *rt, const wr_req *req, const char *id, wr_env *out, wr_error *out_err)
{
    wr_rt_prefetch *p = current(rt, req);
    if (p && !p->by_key && strcmp(p->sub, id) == 0) {
        if (p->env_rc == WR_OK)
            *out = p->env;
        return answer(rt, p->env_rc, &p->env_err, out_err);
    }
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
    if (p && p->want_session && !p->session_taken && p->env_rc == WR_OK &&
        strcmp(p->env.id, env_id) == 0 && strcmp(p->session_key, key) == 0) {
        p->session_taken = true;
        if (p->session_rc == WR_OK)
            *out = p->session; /* its strings are the caller's now */
        return answer(rt, p->session_rc, &p->session_err, out_err);
    }
    return wr_meta_session_get(rt->meta, env_id, key, out, out_err);
}

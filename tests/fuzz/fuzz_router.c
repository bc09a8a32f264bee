/*
 * fuzz_router.c — the router (http/router.c) on arbitrary methods and paths, over weir's own
 * route table (the S2, realtime, admin and operational templates).
 *
 * Input: byte 0 picks the method, byte 1's low bit turns CORS on, the rest (up to a NUL) is the
 * raw path. The outcome is checked against a plain reference matcher (split both on '/'; a
 * `{name}` segment matches one non-empty segment): the first template of the request's method
 * that matches decides; a match yields exactly its parameters, percent-decoded (400 bad_path
 * when one does not decode or holds a NUL); a path that only other methods match is 405 with an
 * Allow list of exactly those methods (plus OPTIONS under CORS), or a preflight for OPTIONS
 * under CORS; anything else is 404.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "http/router.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/pct.h"

static const struct {
    wr_method m;
    const char *t;
} table[] = {
    {WR_METHOD_GET, "/health"},
    {WR_METHOD_GET, "/ping"},
    {WR_METHOD_GET, "/metrics"},
    {WR_METHOD_GET, "/v1/basins"},
    {WR_METHOD_POST, "/v1/basins"},
    {WR_METHOD_GET, "/v1/basins/{basin}"},
    {WR_METHOD_PUT, "/v1/basins/{basin}"},
    {WR_METHOD_PATCH, "/v1/basins/{basin}"},
    {WR_METHOD_DELETE, "/v1/basins/{basin}"},
    {WR_METHOD_GET, "/v1/streams"},
    {WR_METHOD_POST, "/v1/streams"},
    {WR_METHOD_GET, "/v1/streams/{stream}"},
    {WR_METHOD_PUT, "/v1/streams/{stream}"},
    {WR_METHOD_PATCH, "/v1/streams/{stream}"},
    {WR_METHOD_DELETE, "/v1/streams/{stream}"},
    {WR_METHOD_GET, "/v1/streams/{stream}/records"},
    {WR_METHOD_POST, "/v1/streams/{stream}/records"},
    {WR_METHOD_GET, "/v1/streams/{stream}/records/tail"},
    {WR_METHOD_GET, "/v1/access-tokens"},
    {WR_METHOD_POST, "/v1/access-tokens"},
    {WR_METHOD_DELETE, "/v1/access-tokens/{id}"},
    {WR_METHOD_GET, "/v1/metrics/{basin}/{stream}"},
    {WR_METHOD_GET, "/v1/locations/default"},
    {WR_METHOD_PUT, "/v1/locations/default"},
    {WR_METHOD_POST, "/api/v1/sessions"},
    {WR_METHOD_GET, "/api/v1/sessions/{session}"},
    {WR_METHOD_PATCH, "/api/v1/sessions/{session}"},
    {WR_METHOD_POST, "/api/v1/sessions/{session}/{io}/wait"},
    {WR_METHOD_GET, "/realtime/v1/sessions/{session}/{io}"},
    {WR_METHOD_HEAD, "/realtime/v1/sessions/{session}/{io}"},
    {WR_METHOD_PUT, "/realtime/v1/sessions/{session}/{io}"},
    {WR_METHOD_POST, "/realtime/v1/sessions/{session}/{io}/append"},
    {WR_METHOD_GET, "/realtime/v1/sessions/{session}/channels/{name}/{io}"},
    {WR_METHOD_POST, "/realtime/v1/streams/{runId}/{target}/{streamId}/append"},
    {WR_METHOD_GET, "/realtime/v1/streams/{runId}/input/{streamId}"},
    {WR_METHOD_GET, "/realtime/v1/streams/{runId}/{streamId}"},
    {WR_METHOD_POST, "/admin/api/v1/orgs/{orgId}/projects"},
    {WR_METHOD_PUT, "/admin/api/v1/orgs/{orgId}/plan"},
};
#define N_ROUTES (sizeof(table) / sizeof(table[0]))

static void
noop(wr_req *req, void *ctx)
{
    (void)req;
    (void)ctx;
}

/* Splits s (which must start with '/') into its segments; false when it does not. */
static bool
split(const char *s, const char **segs, size_t *lens, size_t *n, size_t max)
{
    if (s[0] != '/')
        return false;
    *n = 0;
    for (const char *p = s + 1;; p++) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (*n == max)
            return false;
        segs[*n] = p;
        lens[(*n)++] = len;
        if (!e)
            return true;
        p = e;
    }
}

static bool
is_param(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

/* The reference: does template t match path, structurally? */
static bool
ref_match(const char *t, const char *path)
{
    const char *ts[32], *ps[32];
    size_t tl[32], pl[32], tn, pn;
    if (!split(t, ts, tl, &tn, 32) || !split(path, ps, pl, &pn, 32) || tn != pn)
        return false;
    for (size_t i = 0; i < tn; i++) {
        if (is_param(ts[i], tl[i]) ? pl[i] == 0
                                   : (tl[i] != pl[i] || memcmp(ts[i], ps[i], tl[i]) != 0))
            return false;
    }
    return true;
}

static void
check_params(const char *t, const char *path, const wr_req *req, bool *out_bad)
{
    const char *ts[32], *ps[32];
    size_t tl[32], pl[32], tn, pn;
    FUZZ_CHECK(split(t, ts, tl, &tn, 32) && split(path, ps, pl, &pn, 32));
    size_t k = 0;
    *out_bad = false;
    for (size_t i = 0; i < tn; i++) {
        if (!is_param(ts[i], tl[i]))
            continue;
        wr_buf dec;
        wr_buf_init(&dec);
        bool ok = wr_pct_decode(ps[i], pl[i], WR_PCT_PATH, &dec) &&
                  memchr(dec.data ? dec.data : "", '\0', dec.len) == NULL;
        if (!ok)
            *out_bad = true;
        else if (req) {
            FUZZ_CHECK(k < req->n_params);
            FUZZ_CHECK(strlen(req->params[k]) == dec.len);
            FUZZ_CHECK(memcmp(req->params[k], dec.data ? dec.data : "", dec.len) == 0);
        }
        wr_buf_fini(&dec);
        k++;
    }
    if (req && !*out_bad)
        FUZZ_CHECK(k == req->n_params);
}

static wr_router *
router(void)
{
    static wr_router *r;
    if (r == NULL) {
        r = wr_router_new();
        for (size_t i = 0; i < N_ROUTES; i++)
            wr_router_add(r, table[i].m, table[i].t, noop, NULL, 0);
    }
    return r;
}

static const wr_proto_ops no_ops;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    wr_req req;
    wr_req_init(&req, &no_ops, NULL);
    req.method = (wr_method)(data[0] % WR_METHOD__COUNT);
    req.cors = data[1] & 1;
    size_t len = strnlen((const char *)data + 2, size - 2);
    req.path = wr_xstrndup((const char *)data + 2, len);
    char allow[128];
    wr_err got = wr_router_route(router(), &req, allow, sizeof(allow));

    int first = -1;
    bool any = false, allowed[WR_METHOD__COUNT] = {false};
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!ref_match(table[i].t, req.path))
            continue;
        any = true;
        allowed[table[i].m] = true;
        if (first < 0 && table[i].m == req.method)
            first = (int)i;
    }
    if (first >= 0) {
        bool bad;
        check_params(table[first].t, req.path, got == WR_OK ? &req : NULL, &bad);
        FUZZ_CHECK(got == (bad ? WR_ERR_BAD_PATH : WR_OK));
        if (got == WR_OK)
            FUZZ_CHECK(req.route && strcmp(req.route->tmpl, table[first].t) == 0);
    } else if (!any) {
        FUZZ_CHECK(got == WR_ERR_NOT_FOUND);
    } else if (req.method == WR_METHOD_OPTIONS && req.cors) {
        FUZZ_CHECK(got == WR_ROUTE_PREFLIGHT);
    } else {
        FUZZ_CHECK(got == WR_ERR_METHOD_NOT_ALLOWED);
        if (req.cors)
            allowed[WR_METHOD_OPTIONS] = true;
        /* Allow names exactly the methods of the matching templates, in enum order. */
        char want[128] = "";
        for (int m = 0; m < WR_METHOD_OTHER; m++)
            if (allowed[m]) {
                if (want[0])
                    strcat(want, ", ");
                strcat(want, wr_method_name((wr_method)m));
            }
        FUZZ_CHECK(strcmp(allow, want) == 0);
    }
    free(req.path);
    wr_req_fini(&req);
    return 0;
}

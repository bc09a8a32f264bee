/*
 * provision.c — per-organization basins (realtime.md §3): ensure, deprovision, over the stream
 * backend (backend.h), which may answer later.
 *
 * Crash safety: the basin is created before the organization is stamped. A crash between the
 * two leaves a basin and an unstamped organization; the retry finds "already exists", treats it
 * as success, reapplies the requested configuration and stamps, so it converges. Once the
 * organization's basin changed (provisioned or deprovisioned), its write tokens are revoked:
 * they name the basin its streams no longer resolve to.
 */
#include <stdlib.h>
#include <string.h>

#include "realtime/naming.h"
#include "realtime/rt_int.h"
#include "util/log.h"
#include "util/mem.h"

typedef struct prov_op {
    wr_rt *rt;
    char org_id[WR_META_ID_MAX + 1];
    bool apply_to_existing;
    bool stamp; /* the basin is new to the organization: stamp it, then revoke */
    bool clear; /* deprovision: clear the stamp, then revoke */
    wr_rt_result res;
    wr_rt_result_cb cb;
    void *ud;
    /* The organization as read (read_org: off the loop) before deciding what to do. */
    wr_org org;
    wr_err read_rc;
    wr_error read_err;
    void (*then)(struct prov_op *op); /* ensure_read or deprovision_read */
} prov_op;

static void
finish(prov_op *op, wr_err err, const wr_error *detail)
{
    op->cb(op->ud, err, detail, err == WR_OK ? &op->res : NULL);
    free(op);
}

static void
revoked(void *ud, wr_err err, const wr_error *detail)
{
    prov_op *op = ud;
    if (err == WR_OK && op->stamp)
        wr_log_info("provisioned a basin", " org=%s basin=%s retention_s=%llu", op->org_id,
                    op->res.basin, (unsigned long long)op->res.retention_s);
    finish(op, err, detail);
}

/* Writer thread: stamps the organization with its new basin, or (deprovision) clears it. */
static wr_err
stamp_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    prov_op *op = ctx;
    return wr_meta_org_set_basin(m, op->org_id, op->clear ? NULL : op->res.basin, out_err);
}

/* The stamp is durable: the organization's write tokens name the old basin, so they go. */
static void
stamped(void *ctx, wr_err rc, const wr_error *err)
{
    prov_op *op = ctx;
    if (rc != WR_OK) {
        wr_error s = {0};
        wr_error_set(&s, WR_ERR_STORAGE, "%s", err->msg);
        finish(op, s.code, &s);
        return;
    }
    wr_rt_mint_revoke_org(op->rt->mint, op->org_id, revoked, op);
}

/* The basin exists with the requested configuration: stamp the organization (new basin). */
static void
configured(void *ud, wr_err err, const wr_error *detail)
{
    prov_op *op = ud;
    if (err != WR_OK || !op->stamp)
        finish(op, err, detail);
    else
        wr_rt_meta_change(op->rt, NULL, stamp_job, stamped, op);
}

static void
ensured(void *ud, wr_err err, const wr_error *detail)
{
    prov_op *op = ud;
    if (err == WR_OK && op->apply_to_existing) {
        wr_rt_backend *b = op->rt->backend;
        b->ops->set_retention(b, op->res.basin, op->res.retention_s, true, configured, op);
        return;
    }
    configured(op, err, detail);
}

/* Reader thread: the organization, for ensure_read / deprovision_read. */
static wr_err
org_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    prov_op *op = ctx;
    return wr_meta_org_get(m, op->org_id, &op->org, out_err);
}

static void
org_done(void *ctx, wr_err rc, const wr_error *err)
{
    prov_op *op = ctx;
    op->read_rc = rc;
    if (rc != WR_OK && err)
        op->read_err = *err;
    op->then(op);
}

/*
 * Reads the organization off the loop (a reader thread with PostgreSQL; the operator's routes
 * are the only callers, so their reads count as the "admin" credential's), then `then`.
 * An id too long to be one is not found without a read.
 */
static void
read_org(prov_op *op, const char *org_id, void (*then)(prov_op *op))
{
    op->then = then;
    if (strlen(org_id) > WR_META_ID_MAX) {
        wr_error e = {0};
        wr_error_set(&e, WR_ERR_NOT_FOUND, "no such organization");
        org_done(op, WR_ERR_NOT_FOUND, &e);
        return;
    }
    wr_rt_meta_read(op->rt, "admin", org_job, NULL, org_done, op);
}

static void ensure_read(prov_op *op);
static void deprovision_read(prov_op *op);

void
wr_rt_ensure(wr_rt *rt, const char *org_id, uint64_t retention_s, bool apply_to_existing,
             wr_rt_result_cb cb, void *ud)
{
    prov_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->cb = cb;
    op->ud = ud;
    op->apply_to_existing = apply_to_existing;
    snprintf(op->org_id, sizeof(op->org_id), "%s", org_id);
    op->res.retention_s = retention_s ? retention_s : rt->cfg.default_retention_s;
    if (!rt->cfg.per_org_basins) {
        op->res.kind = "skipped";
        op->res.reason = "feature-disabled";
        finish(op, WR_OK, NULL);
        return;
    }
    read_org(op, org_id, ensure_read);
}

static void
ensure_read(prov_op *op)
{
    wr_rt *rt = op->rt;
    const wr_org *org = &op->org;
    wr_err e = op->read_rc;
    if (e == WR_ERR_NOT_FOUND) {
        op->res.kind = "skipped";
        op->res.reason = "org-not-found";
        finish(op, WR_OK, NULL);
        return;
    }
    if (e != WR_OK) {
        wr_error s = {0};
        wr_error_set(&s, WR_ERR_STORAGE, "%s", op->read_err.msg);
        finish(op, s.code, &s);
        return;
    }
    if (org->has_basin) {
        strcpy(op->res.basin, org->basin);
        op->res.kind = "reconfigured";
        rt->backend->ops->set_retention(rt->backend, org->basin, op->res.retention_s,
                                        op->apply_to_existing, configured, op);
        return;
    }
    wr_rt_org_basin_name(rt->cfg.name_prefix, rt->cfg.name_env, op->org_id, op->res.basin);
    op->res.kind = "provisioned";
    op->stamp = true;
    wr_rt_basin_spec spec = {.storage_class = rt->cfg.storage_class,
                             .retention_s = op->res.retention_s,
                             .doe_min_age_s = rt->cfg.doe_min_age_s};
    rt->backend->ops->ensure_basin(rt->backend, op->res.basin, &spec, ensured, op);
}

void
wr_rt_deprovision(wr_rt *rt, const char *org_id, wr_rt_result_cb cb, void *ud)
{
    prov_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->cb = cb;
    op->ud = ud;
    snprintf(op->org_id, sizeof(op->org_id), "%s", org_id);
    read_org(op, org_id, deprovision_read);
}

static void
deprovision_read(prov_op *op)
{
    const wr_org *org = &op->org;
    wr_err e = op->read_rc;
    if (e == WR_ERR_NOT_FOUND || (e == WR_OK && !org->has_basin)) {
        op->res.kind = "skipped";
        op->res.reason = e == WR_OK ? "no-basin" : "org-not-found";
        finish(op, WR_OK, NULL);
        return;
    }
    if (e != WR_OK) {
        wr_error s = {0};
        wr_error_set(&s, WR_ERR_STORAGE, "%s", op->read_err.msg);
        finish(op, s.code, &s);
        return;
    }
    /* The basin and its streams stay and age out; rows stamped with it keep using it. */
    strcpy(op->res.basin, org->basin);
    op->res.kind = "deprovisioned";
    op->clear = true;
    wr_rt_meta_change(op->rt, NULL, stamp_job, stamped, op);
}

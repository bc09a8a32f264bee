/*
 * main.c — the `weir` command: `weir serve [options]` runs the server until SIGTERM/SIGINT;
 * every other subcommand is the command line client (src/cli/, `weir help`).
 *
 * Start-up order: configuration (invalid → exit 2 before anything starts), logging, data
 * directory, routes, listener; only then the "listening on" line, which scripts and tests wait
 * for. Shutdown: stop accepting, let requests finish (bounded by --shutdown-timeout), exit 0.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "http/http.h"
#include "http/router.h"
#include "meta/writer.h"
#include "auth/auth.h"
#include "auth/keybox.h"
#include "cli/cli.h"
#include "console/console.h"
#include "net/server.h"
#include "obs/obs.h"
#include "realtime/naming.h"
#include "realtime/backend_remote.h"
#include "realtime/rt.h"
#include "realtime/rtconfig.h"
#include "s2/s2.h"
#include "store/store.h"
#include "serve_config.h"
#include "util/log.h"

#define WEIR_VERSION "0.1.0"

/* How the user invoked weir (argv[0]), for the hints that show CLI commands. */
static const char *prog = "weir";

typedef struct app {
    uv_loop_t *loop;
    wr_server *server;
    wr_server *metrics_server; /* --prometheus HOST:PORT */
    int pending_shutdowns;
    wr_store *store;
    uv_signal_t sigterm, sigint;
    uint64_t shutdown_timeout_ms;
    bool stopping;
} app;

static void
handle_ok(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_send(req, 200, "text/plain", "OK", 2);
}

static void
register_routes(wr_router *r)
{
    wr_router_add(r, WR_METHOD_GET, "/health", handle_ok, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/ping", handle_ok, NULL, 0);
}

static void
shutdown_done(void *ud)
{
    app *a = ud;
    if (--a->pending_shutdowns > 0)
        return;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    /* Connections are gone; commit what is in flight and close RocksDB. */
    if (a->store)
        wr_store_close(a->store, NULL, NULL);
    a->store = NULL;
}

static void
on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    if (a->stopping) {
        wr_log_warn("second signal, exiting now", " signal=%d", signum);
        exit(1);
    }
    a->stopping = true;
    wr_log_info("shutting down", " signal=%d", signum);
    a->pending_shutdowns = a->metrics_server ? 2 : 1;
    wr_server_shutdown(a->server, a->shutdown_timeout_ms, shutdown_done, a);
    if (a->metrics_server)
        wr_server_shutdown(a->metrics_server, a->shutdown_timeout_ms, shutdown_done, a);
}

/* The control plane's reader handle and `n_writers` writer handles (one for SQLite): on the
 * PostgreSQL server `url` names, or (url NULL) on the SQLite file at `path`. On failure every
 * handle opened is closed. */
static wr_err
open_control_plane(const char *url, const char *path, size_t n_writers, wr_meta **reader,
                   wr_meta **writers, size_t *out_n, wr_error *out_err)
{
    *out_n = 0;
    bool pg = url != NULL;
    if (pg && strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0)
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_CONTROL_PLANE must be a postgres:// or postgresql:// URL");
    size_t n = pg ? n_writers : 1;
    wr_err e = pg ? wr_meta_open_postgres(url, reader, out_err)
                  : wr_meta_open_sqlite_shared(path, reader, out_err);
    for (size_t i = 0; e == WR_OK && i < n; i++) {
        e = pg ? wr_meta_open_postgres(url, &writers[i], out_err)
               : wr_meta_open_sqlite_shared(path, &writers[i], out_err);
        if (e == WR_OK)
            (*out_n)++;
    }
    if (e != WR_OK) {
        for (size_t i = 0; i < *out_n; i++)
            wr_meta_close(writers[i]);
        wr_meta_close(*reader);
        *reader = NULL;
        *out_n = 0;
    }
    return e;
}

/* `n` reader connections to the PostgreSQL server `url`, each on a reader thread. */
static wr_err
start_readers(uv_loop_t *loop, const char *url, size_t n, wr_meta_writer **out, wr_error *out_err)
{
    wr_meta *m[WR_META_WRITER_MAX_THREADS];
    size_t opened = 0;
    wr_err e = WR_OK;
    for (; opened < n && e == WR_OK; opened++)
        if ((e = wr_meta_open_postgres(url, &m[opened], out_err)) != WR_OK)
            break;
    if (e != WR_OK) {
        for (size_t i = 0; i < opened; i++)
            wr_meta_close(m[i]);
        return e;
    }
    return wr_meta_readers_start(loop, m, n, 0, out, out_err); /* closes them on failure */
}

/* The shared basin of the realtime layer exists from the first start on (created if missing,
 * never reconfigured here: an operator may have tuned it), through the stream backend: the
 * loop runs until the backend has answered (a remote one answers later). */
typedef struct boot_wait {
    bool done;
    wr_err err;
    wr_error detail;
} boot_wait;

static void
boot_done(void *ud, wr_err err, const wr_error *detail)
{
    boot_wait *w = ud;
    w->done = true;
    w->err = err;
    if (detail)
        w->detail = *detail;
}

static wr_err
ensure_global_basin(uv_loop_t *loop, wr_rt_backend *b, const wr_rt_config *rtc, wr_error *out_err)
{
    wr_rt_basin_spec spec = {.no_stream_defaults = true, .keep_existing = true};
    boot_wait w = {0};
    b->ops->ensure_basin(b, rtc->global_basin, &spec, boot_done, &w);
    while (!w.done)
        uv_run(loop, UV_RUN_ONCE);
    if (w.err != WR_OK && out_err)
        *out_err = w.detail;
    return w.err;
}

/* The store's stream groups are the realtime layer's environments (naming.h). */
static size_t
env_group_len(void *ud, const char *basin, const char *stream)
{
    const wr_rt_config *rtc = ud;
    return wr_rt_stream_group_len(rtc->global_basin, basin, stream);
}

static int
ensure_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

static void
print_usage(FILE *f)
{
    fprintf(f,
            "weir %s — a multi-tenant durable stream server (S2-compatible)\n\n"
            "usage:\n"
            "  weir serve [options]   run the server\n"
            "  weir COMMAND ...       the command line client (weir help lists the commands)\n"
            "  weir --version         print the version\n\n",
            WEIR_VERSION);
    wr_config_print_help(f);
}

/* The export line of a token variable: the root token's secret in full only when it was just
 * generated; afterwards read from where it is kept. */
static void
print_token_export(const char *var, const wr_config *cfg, const char *new_root)
{
    if (cfg->auth.auth_none)
        printf("export %s=anything   # --auth none: tokens are not checked\n", var);
    else if (new_root)
        printf("export %s=%s   # the root token, generated now; kept in %s/root_token\n", var,
               new_root, cfg->serve.data_dir);
    else if (cfg->auth.root_token)
        printf("export %s=\"$WEIR_ROOT_TOKEN\"\n", var);
    else
        printf("export %s=\"$(cat %s/root_token)\"\n", var, cfg->serve.data_dir);
}

/*
 * The line scripts wait for, then what a user pastes into a shell. `remote`: the S2 endpoint of
 * a realtime node over the remote stream backend (its /v1 is there), else NULL.
 */
static void
print_connect_hint(const char *host, int port, const wr_config *cfg, const char *new_root,
                   const char *remote)
{
    printf("listening on http://%s:%d\n", host, port);
    if (remote) {
        printf("# a realtime node over the S2 endpoint %s (/v1 is served there, not here)\n"
               "export WEIR_URL=http://%s:%d\n",
               remote, host, port);
        print_token_export("WEIR_ROOT_TOKEN", cfg, new_root);
        printf("# a first organization (then projects create, envs create):\n"
               "#   %s orgs create acme --title Acme\n",
               prog);
        fflush(stdout);
        return;
    }
    printf("# point the weir CLI, the S2 CLI and the SDKs at this server:\n"
           "export S2_ACCOUNT_ENDPOINT=http://%s:%d\n"
           "export S2_BASIN_ENDPOINT=http://%s:%d\n",
           host, port, host, port);
    print_token_export("S2_ACCESS_TOKEN", cfg, new_root);
    printf("# then, in another terminal with the exports above (weir help lists every command):\n"
           "#   %s create-basin s2://my-basin-01 && %s create-stream s2://my-basin-01/hello\n"
           "#   echo hello | %s append s2://my-basin-01/hello && %s read s2://my-basin-01/hello\n"
           "#   %s tail -f s2://my-basin-01/hello\n"
           "# a first organization for the realtime layer (then projects create, envs create):\n"
           "#   %s orgs create acme --title Acme\n",
           prog, prog, prog, prog, prog, prog);
    fflush(stdout);
}

static int
serve(int argc, char **argv)
{
    wr_config cfg;
    wr_error err = {0};
    if (wr_config_load(&cfg, argc, argv, &err) != WR_OK) {
        fprintf(stderr, "weir: %s\n", err.msg);
        wr_config_fini(&cfg);
        return 2;
    }
    if (cfg.help) {
        print_usage(stdout);
        wr_config_fini(&cfg);
        return 0;
    }
    wr_rt_config rtc;
    if (wr_rt_config_from(&cfg.rt, &rtc, &err) != WR_OK) {
        fprintf(stderr, "weir: %s\n", err.msg);
        wr_config_fini(&cfg);
        return 2;
    }
    wr_log_set_level(cfg.serve.log_level);
    if (ensure_dir(cfg.serve.data_dir) != 0) {
        fprintf(stderr, "weir: --data-dir %s: %s\n", cfg.serve.data_dir, strerror(errno));
        wr_config_fini(&cfg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "weir: libcurl could not initialise\n");
        wr_config_fini(&cfg);
        return 1;
    }

    app a = {0};
    int rc = 0;
    a.loop = uv_default_loop();
    a.shutdown_timeout_ms = cfg.http.shutdown_timeout_s * 1000;
    wr_store_opts sto = {.path = cfg.serve.data_dir,
                         .inflight_bytes = cfg.store.append_inflight_bytes,
                         .stream_cache_entries = cfg.store.stream_cache_entries,
                         .max_streams_per_basin = cfg.store.max_streams_per_basin,
                         .max_streams_per_group = cfg.store.max_streams_per_env,
                         .group_len = env_group_len,
                         .group_ud = &rtc,
                         .maint_interval_ms = cfg.store.maint_interval_s * 1000,
                         .usage_flush_ms = cfg.store.usage_flush_ms,
                         .usage_sample_ms = cfg.store.usage_sample_s * 1000,
                         .usage_retention_s = cfg.store.usage_retention_s,
                         .usage_minute_retention_s = cfg.store.usage_minute_retention_s,
                         .location = cfg.store.location,
                         .commit_mode = (wr_store_commit_mode)cfg.store.commit_mode};
    wr_obs *obs = NULL;
    if (wr_obs_new(cfg.obs.access_log, &obs, &err) != WR_OK) {
        fprintf(stderr, "weir: %s\n", err.msg);
        wr_config_fini(&cfg);
        return 2;
    }
    /* A node over a remote S2 endpoint keeps no stream data: no store, and no /v1 here. */
    if (!rtc.remote && wr_store_open(a.loop, &sto, &a.store, &err) != WR_OK) {
        fprintf(stderr, "weir: cannot open the store in %s: %s\n", cfg.serve.data_dir, err.msg);
        wr_obs_free(obs);
        wr_config_fini(&cfg);
        return 1;
    }
    wr_auth *auth = NULL;
    char *new_root = NULL;
    if (wr_auth_open(a.store, cfg.auth.auth_none ? WR_AUTH_NONE : WR_AUTH_TOKENS,
                     cfg.serve.data_dir, cfg.auth.root_token, &auth, &new_root, &err) != WR_OK) {
        fprintf(stderr, "weir: access tokens: %s\n", err.msg);
        if (a.store)
            wr_store_close(a.store, NULL, NULL);
        uv_run(a.loop, UV_RUN_DEFAULT);
        wr_obs_free(obs);
        wr_config_fini(&cfg);
        return 1;
    }
    if (cfg.auth.auth_none)
        wr_log_warn("AUTHENTICATION IS OFF (--auth none): any client can do anything", "%s", "");
    wr_router *router = wr_router_new();
    register_routes(router);
    if (cfg.serve.console)
        wr_console_register(router);
    wr_s2 *s2 = a.store ? wr_s2_new(router, a.store, auth, a.loop) : NULL;
    if (s2)
        wr_s2_set_location(s2, cfg.store.location);
    wr_router *metrics_router = NULL;
    if (cfg.obs.prometheus.mode == WR_PROM_ON) {
        wr_obs_register(obs, router);
    } else if (cfg.obs.prometheus.mode == WR_PROM_LISTEN) {
        metrics_router = wr_router_new();
        wr_obs_register(obs, metrics_router);
    }
    char meta_path[4096];
    snprintf(meta_path, sizeof(meta_path), "%s/control.sqlite3", cfg.serve.data_dir);
    wr_meta *meta = NULL;
    wr_meta_writer *writer = NULL, *readers = NULL;
    wr_rt *rt = NULL;
    wr_keybox *keybox = NULL;
    wr_rt_backend *backend = NULL;
    wr_http *http = NULL, *metrics_http = NULL;
    if (wr_keybox_open(cfg.serve.data_dir, cfg.auth.secret_key, &keybox, &err) != WR_OK) {
        fprintf(stderr, "weir: %s\n", err.msg);
        rc = err.code == WR_ERR_INVALID ? 2 : 1;
        goto out;
    }
    /* Two handles on the control plane: reads on the loop thread, changes on the writer thread
     * (group-committed; meta/writer.h), so that the loop never waits for an fsync. */
    wr_meta *writer_meta[WR_META_WRITER_MAX_THREADS];
    size_t n_writer_meta = 0;
    if (open_control_plane(cfg.rt.control_plane, meta_path, (size_t)cfg.rt.control_plane_writers,
                           &meta, writer_meta, &n_writer_meta, &err) != WR_OK) {
        fprintf(stderr, "weir: control plane %s: %s\n",
                cfg.rt.control_plane ? "(WEIR_CONTROL_PLANE)" : meta_path, err.msg);
        rc = err.code == WR_ERR_INVALID ? 2 : 1;
        goto out;
    }
    if (wr_meta_writer_start(a.loop, writer_meta, n_writer_meta, 0, &writer, &err) != WR_OK) {
        fprintf(stderr, "weir: control plane: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    /* On PostgreSQL a read is a round trip: requests' first reads go through reader threads
     * with connections of their own, never blocking the loop. */
    if (cfg.rt.control_plane &&
        start_readers(a.loop, cfg.rt.control_plane, (size_t)cfg.rt.control_plane_readers, &readers,
                      &err) != WR_OK) {
        fprintf(stderr, "weir: control plane (WEIR_CONTROL_PLANE): %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (rtc.remote) {
        wr_rt_remote_opts ro = {.endpoint = rtc.s2_endpoint,
                                .basin_endpoint = rtc.s2_basin_endpoint,
                                .access_token = cfg.rt.s2_access_token,
                                .timeout_ms = rtc.s2_timeout_ms};
        backend = wr_rt_backend_remote(a.loop, &ro);
    } else {
        backend = wr_rt_backend_embedded(a.store, auth, s2, a.loop);
    }
    if (ensure_global_basin(a.loop, backend, &rtc, &err) != WR_OK) {
        fprintf(stderr, "weir: global basin %s (%s stream backend): %s\n", rtc.global_basin,
                backend->ops->name, err.msg);
        rc = 1;
        goto out;
    }
    rt = wr_rt_new(router, &rtc, meta, backend, auth, keybox, a.loop);
    wr_rt_set_writer(rt, writer);
    wr_rt_set_readers(rt, readers);
    wr_obs_sources(obs, a.store, s2, wr_meta_writer_commit_hist(writer), rt);
    wr_http_opts ho = {
        .max_header_bytes = cfg.http.max_header_bytes,
        .max_body_bytes = cfg.http.max_body_bytes,
        .header_timeout_ms = cfg.http.header_timeout_s * 1000,
        .body_timeout_ms = cfg.http.body_timeout_s * 1000,
        .idle_timeout_ms = cfg.http.idle_timeout_s * 1000,
        .cors = !cfg.http.no_cors,
        .req_begin = wr_obs_req_begin,
        .req_end = wr_obs_req_end,
        .hooks_ud = obs,
    };
    http = wr_http_new(&ho, router);
    wr_server_opts so = {.max_connections = cfg.http.max_connections,
                         .on_connection = wr_http_on_connection,
                         .on_connection_ud = http};
    a.server = wr_server_new(a.loop, &so);
    wr_obs_add_server(obs, a.server);
    wr_obs_start(obs, a.loop);
    int port = 0;
    if (wr_server_listen(a.server, cfg.serve.listen.host, cfg.serve.listen.port, &port, &err) !=
        WR_OK) {
        fprintf(stderr, "weir: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    int metrics_port = 0;
    if (metrics_router) {
        metrics_http = wr_http_new(&ho, metrics_router);
        so.on_connection_ud = metrics_http;
        a.metrics_server = wr_server_new(a.loop, &so);
        wr_obs_add_server(obs, a.metrics_server);
        if (wr_server_listen(a.metrics_server, cfg.obs.prometheus.addr.host,
                             cfg.obs.prometheus.addr.port, &metrics_port, &err) != WR_OK) {
            fprintf(stderr, "weir: --prometheus: %s\n", err.msg);
            rc = 1;
            goto out;
        }
    }
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    wr_log_info("listening", " addr=%s:%d data_dir=%s cors=%s", cfg.serve.listen.host, port,
                cfg.serve.data_dir, cfg.http.no_cors ? "off" : "on");
    if (a.metrics_server) /* before the line scripts wait for, so they can read it */
        printf("metrics on http://%s:%d/metrics\n", cfg.obs.prometheus.addr.host, metrics_port);
    print_connect_hint(strchr(cfg.serve.listen.host, ':') ? "[::1]" : cfg.serve.listen.host, port,
                       &cfg, new_root, rtc.remote ? rtc.s2_endpoint : NULL);
    free(new_root);
    new_root = NULL;
    uv_run(a.loop, UV_RUN_DEFAULT);
    wr_log_info("stopped", "%s", "");
out:
    wr_server_free(a.server);
    wr_server_free(a.metrics_server);
    wr_meta_writer_stop(readers); /* their handlers may still submit changes */
    wr_meta_writer_stop(writer);  /* finishes what was submitted, before the store goes */
    if (a.store)
        wr_store_close(a.store, NULL, NULL);
    wr_rt_stop(rt);
    wr_obs_stop(obs);
    wr_rt_backend_free(backend); /* its handles close in the run below */
    uv_run(a.loop, UV_RUN_DEFAULT);
    wr_rt_free(rt);
    wr_meta_writer_free(readers);
    wr_meta_writer_free(writer); /* closes its handles */
    wr_meta_close(meta);
    wr_keybox_free(keybox);
    wr_s2_free(s2);
    wr_auth_free(auth);
    free(new_root);
    uv_loop_close(a.loop);
    wr_http_free(http);
    wr_http_free(metrics_http);
    wr_router_free(router);
    wr_router_free(metrics_router);
    wr_obs_free(obs);
    wr_config_fini(&cfg);
    curl_global_cleanup();
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc >= 1 && argv[0] && strchr(argv[0], '/'))
        prog = argv[0];
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("weir %s\n", WEIR_VERSION);
        return 0;
    }
    return wr_cli_main(argc, argv, WEIR_VERSION);
}

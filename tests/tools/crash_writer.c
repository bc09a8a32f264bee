/*
 * crash_writer — appends random-size batches to several streams through the real store until
 * it is killed, logging every acknowledged batch.
 *
 *   crash_writer <data-dir> <log-file> <seed> [streams]
 *
 * Record contents come from crash_gen.h (a function of stream and seq). Each stream keeps up to
 * PIPELINE appends in flight, each with match_seq_num set to the seq it must get. On every ack
 * it appends "<stream> <start> <end> <chained-hash-hex>\n" to the log and fdatasyncs it, so the
 * log never claims more than the store acknowledged. At start it reads back what the store holds
 * to continue the chain. Any unexpected error exits with status 2.
 *
 * Lifecycle churn runs alongside: streams "churn-<seed>-<n>" are created, get 5 records and a
 * trim to 3 (log "T <name>" once acknowledged), then are deleted (log "D <name>" once the
 * synced DELETE returned), one after another. The verifier checks that a logged trim holds and
 * that a logged deletion finishes after the restart.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_gen.h"
#include "store/settings.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/mem.h"

#define MAX_STREAMS 16
#define PIPELINE 4
#define MAX_BATCH 40

typedef struct wstream {
    unsigned idx;
    char name[16];
    uint64_t next_seq; /* seq of the next record to submit */
    uint64_t hash;     /* chain over every submitted record */
    int inflight;
} wstream;

typedef struct pending {
    wstream *ws;
    wr_append_input in;
    wr_append_record recs[MAX_BATCH];
    wr_header hdrs[MAX_BATCH];
    uint8_t bodies[MAX_BATCH][CRASH_MAX_BODY];
    char hvals[MAX_BATCH][24];
    uint64_t start, end, hash_after;
} pending;

static wr_store *store;
static int log_fd;
static uint64_t rng;
static wstream streams[MAX_STREAMS];
static unsigned n_streams;
static unsigned long long churn_seed, churn_n;
static char churn_name[64];

static void churn_next(void);

static uint64_t
next_rand(void)
{
    rng = crash_mix(rng);
    return rng;
}

static void submit(wstream *ws);

static void
on_ack(void *ud, const wr_append_result *res)
{
    pending *p = ud;
    wstream *ws = p->ws;
    if (res->err != WR_OK || res->start.seq != p->start || res->end.seq != p->end) {
        fprintf(stderr, "crash_writer: append failed: %s (%s)\n", wr_err_code(res->err),
                res->error.msg);
        exit(2);
    }
    char line[128];
    int n = snprintf(line, sizeof(line), "%u %llu %llu %016llx\n", ws->idx,
                     (unsigned long long)p->start, (unsigned long long)p->end,
                     (unsigned long long)p->hash_after);
    if (write(log_fd, line, (size_t)n) != n || fdatasync(log_fd) != 0) {
        perror("crash_writer: log");
        exit(2);
    }
    free(p);
    ws->inflight--;
    submit(ws);
}

static void
submit(wstream *ws)
{
    while (ws->inflight < PIPELINE) {
        pending *p = wr_xcalloc(1, sizeof(*p));
        p->ws = ws;
        uint32_t n = 1 + (uint32_t)(next_rand() % MAX_BATCH);
        p->start = ws->next_seq;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t seq = p->start + i;
            int has_h;
            size_t hlen;
            size_t len = crash_record(ws->idx, seq, p->bodies[i], &has_h, p->hvals[i], &hlen);
            p->hdrs[i] = (wr_header){(const uint8_t *)"h", 1, (const uint8_t *)p->hvals[i], hlen};
            p->recs[i] = (wr_append_record){.n_headers = has_h ? 1 : 0,
                                            .headers = has_h ? &p->hdrs[i] : NULL,
                                            .body = p->bodies[i],
                                            .body_len = len};
            ws->hash = crash_chain(ws->hash, p->bodies[i], len);
        }
        p->end = p->start + n;
        p->hash_after = ws->hash;
        ws->next_seq = p->end;
        p->in = (wr_append_input){
            .records = p->recs, .n_records = n, .has_match_seq = true, .match_seq = p->start};
        ws->inflight++;
        wr_store_append(store, CRASH_BASIN, ws->name, &p->in, on_ack, p);
    }
}

typedef struct resume_ctx {
    wstream *ws;
    bool done;
} resume_ctx;

static void
on_resume_read(void *ud, wr_read_result *r)
{
    resume_ctx *c = ud;
    if (r->err != WR_OK) {
        fprintf(stderr, "crash_writer: resume read: %s\n", r->error.msg);
        exit(2);
    }
    for (size_t i = 0; i < r->n_records; i++)
        c->ws->hash = crash_chain(c->ws->hash, r->records[i].body, r->records[i].body_len);
    c->ws->next_seq = r->next_seq;
    c->done = r->at_tail;
    wr_read_result_free(r);
    if (!c->done) {
        wr_read_req q = {.start_kind = WR_READ_SEQ,
                         .start_value = c->ws->next_seq,
                         .has_count = true,
                         .count = 1000,
                         .may_follow = true};
        wr_store_read(store, CRASH_BASIN, c->ws->name, &q, on_resume_read, c);
    } else {
        submit(c->ws);
        free(c);
    }
}

static void
log_line(const char *kind, const char *name)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "%s %s\n", kind, name);
    if (write(log_fd, line, (size_t)n) != n || fdatasync(log_fd) != 0) {
        perror("crash_writer: log");
        exit(2);
    }
}

static void
churn_check(const wr_append_result *res)
{
    if (res->err != WR_OK) {
        fprintf(stderr, "crash_writer: churn append: %s\n", res->error.msg);
        exit(2);
    }
}

static uint8_t churn_trim[8];
static wr_header churn_hdr = {(const uint8_t *)"", 0, (const uint8_t *)"trim", 4};
static wr_append_record churn_cmd = {
    .headers = &churn_hdr, .n_headers = 1, .body = churn_trim, .body_len = 8};
static wr_append_input churn_trim_in = {.records = &churn_cmd, .n_records = 1};
static wr_append_record churn_recs[5];
static wr_append_input churn_in = {.records = churn_recs, .n_records = 5};

static void
on_churn_trim(void *ud, const wr_append_result *res)
{
    (void)ud;
    churn_check(res);
    log_line("T", churn_name);
    wr_error err;
    if (wr_store_stream_delete(store, CRASH_BASIN, churn_name, &err) != WR_OK) {
        fprintf(stderr, "crash_writer: churn delete: %s\n", err.msg);
        exit(2);
    }
    log_line("D", churn_name);
    churn_next();
}

static void
on_churn_append(void *ud, const wr_append_result *res)
{
    (void)ud;
    churn_check(res);
    wr_put_be64(churn_trim, 3);
    wr_store_append(store, CRASH_BASIN, churn_name, &churn_trim_in, on_churn_trim, NULL);
}

static void
churn_next(void)
{
    snprintf(churn_name, sizeof(churn_name), "churn-%llu-%llu", churn_seed, churn_n++);
    wr_error err;
    if (wr_store_stream_create(store, CRASH_BASIN, churn_name, NULL, NULL, NULL, NULL, &err) !=
        WR_OK) {
        fprintf(stderr, "crash_writer: churn create: %s\n", err.msg);
        exit(2);
    }
    for (int i = 0; i < 5; i++)
        churn_recs[i] = (wr_append_record){.body = (const uint8_t *)"churn", .body_len = 5};
    wr_store_append(store, CRASH_BASIN, churn_name, &churn_in, on_churn_append, NULL);
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: crash_writer <data-dir> <log-file> <seed> [streams]\n");
        return 1;
    }
    rng = strtoull(argv[3], NULL, 10);
    n_streams = argc > 4 ? (unsigned)atoi(argv[4]) : 4;
    if (n_streams < 1 || n_streams > MAX_STREAMS)
        n_streams = 4;
    log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd < 0) {
        perror("crash_writer: open log");
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    wr_store_opts opts = {.path = argv[1]};
    int mode = WR_STORE_COMMIT_AUTO; /* the unit tests run it in both modes (CMakeLists.txt) */
    const char *mode_env = getenv("WEIR_COMMIT_MODE");
    if (mode_env && !wr_store_commit_mode_parse(mode_env, &mode))
        return 2;
    opts.commit_mode = (wr_store_commit_mode)mode;
    wr_error err;
    if (wr_store_open(loop, &opts, &store, &err) != WR_OK) {
        fprintf(stderr, "crash_writer: open: %s\n", err.msg);
        return 2;
    }
    wr_basin_config bc = {.create_stream_on_append = true, .create_stream_on_read = true};
    if (wr_store_basin_ensure(store, CRASH_BASIN, &bc, NULL, NULL, &err) != WR_OK) {
        fprintf(stderr, "crash_writer: basin: %s\n", err.msg);
        return 2;
    }
    for (unsigned i = 0; i < n_streams; i++) {
        wstream *ws = &streams[i];
        ws->idx = i;
        crash_stream_name(i, ws->name);
        resume_ctx *c = wr_xcalloc(1, sizeof(*c));
        c->ws = ws;
        wr_read_req q = {.start_kind = WR_READ_SEQ,
                         .start_value = 0,
                         .has_count = true,
                         .count = 1000,
                         .may_follow = true};
        wr_store_read(store, CRASH_BASIN, ws->name, &q, on_resume_read, c);
    }
    churn_seed = rng % 1000000007ull;
    churn_next();
    uv_run(loop, UV_RUN_DEFAULT); /* runs until killed */
    return 0;
}

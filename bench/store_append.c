/*
 * store_append — store-level append throughput and ack latency with fsync, next to a raw
 * write+fdatasync loop over the same bytes (the disk's physical limit).
 *
 *   store_append [--dir DIR] [--seconds S] [--only NAME]
 *
 * Cases (200-byte records, no headers):
 *   b1000-s1, b1000-s1000, b64-s1, b64-s1000, b1-s1, b1-s1000: batches of 1/64/1000 records
 *     over 1 or 1000 streams, INFLIGHT appends kept in flight (round-robin over the streams);
 *   w64-single: 64 writers, each on its own stream with one single-record append in flight;
 *   raw-b1000, raw-b64, raw-b1: write(2) of the same batch bytes then fdatasync, in a loop.
 * After a 1 s warm-up, each case runs for S seconds (default 3) on a fresh data directory. One
 * `RESULT name=... recs_s=... mb_s=... acks_s=... p50_ms=... p99_ms=... max_ms=...` line per
 * case (bench/store-append.sh takes medians over runs).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

#define REC_BYTES 200
#define INFLIGHT 64
#define BASIN "bench-basin-01"

typedef struct lat {
    uint64_t *v;
    size_t n, cap;
} lat;

static void
lat_add(lat *l, uint64_t ns)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = wr_xrealloc(l->v, l->cap * sizeof(uint64_t));
    }
    l->v[l->n++] = ns;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void
report(const char *name, uint64_t recs, uint64_t acks, uint64_t ns, lat *l)
{
    double secs = (double)ns / 1e9;
    double p50 = 0, p99 = 0, mx = 0;
    if (l && l->n) {
        qsort(l->v, l->n, sizeof(uint64_t), cmp_u64);
        p50 = (double)l->v[l->n / 2] / 1e6;
        p99 = (double)l->v[(size_t)((double)l->n * 0.99)] / 1e6;
        mx = (double)l->v[l->n - 1] / 1e6;
    }
    printf("RESULT name=%s recs_s=%.0f mb_s=%.1f acks_s=%.0f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f\n",
           name, (double)recs / secs, (double)recs * REC_BYTES / secs / 1e6, (double)acks / secs,
           p50, p99, mx);
    fflush(stdout);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---------------------------------------------------------------------------------------- */

typedef struct bench bench;

typedef struct slot {
    bench *b;
    unsigned stream;
    uint64_t t0;
    wr_append_input in;
} slot;

struct bench {
    wr_store *s;
    uv_loop_t *loop;
    unsigned batch, n_streams, next_stream;
    wr_append_record *recs; /* shared, read-only */
    char (*names)[16];
    uint64_t deadline_ns;
    uint64_t recs_acked, acks;
    unsigned inflight;
    bool per_stream; /* w64: slot i always appends to stream i */
    lat l;
    bool failed;
};

static void submit(slot *sl);

static void
on_ack(void *ud, const wr_append_result *res)
{
    slot *sl = ud;
    bench *b = sl->b;
    b->inflight--;
    if (res->err) {
        fprintf(stderr, "append failed: %s\n", res->error.msg);
        b->failed = true;
        return;
    }
    uint64_t now = wr_clock_mono_ns();
    lat_add(&b->l, now - sl->t0);
    b->recs_acked += b->batch;
    b->acks++;
    if (now < b->deadline_ns)
        submit(sl);
}

static void
submit(slot *sl)
{
    bench *b = sl->b;
    if (!b->per_stream)
        sl->stream = b->next_stream++ % b->n_streams;
    sl->t0 = wr_clock_mono_ns();
    b->inflight++;
    wr_store_append(b->s, BASIN, b->names[sl->stream], &sl->in, on_ack, sl);
}

static void
run_store(const char *name, const char *dir, unsigned batch, unsigned n_streams, unsigned inflight,
          bool per_stream, double seconds)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    uv_loop_t loop;
    uv_loop_init(&loop);
    bench b = {.loop = &loop, .batch = batch, .n_streams = n_streams, .per_stream = per_stream};
    wr_store_opts opts = {.path = dir};
    wr_error err;
    if (wr_store_open(&loop, &opts, &b.s, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        exit(1);
    }
    wr_basin_config bc = {.create_stream_on_append = true};
    wr_store_basin_ensure(b.s, BASIN, &bc, NULL, NULL, &err);
    static uint8_t body[REC_BYTES];
    memset(body, 'x', sizeof(body));
    b.recs = wr_xcalloc(batch, sizeof(wr_append_record));
    for (unsigned i = 0; i < batch; i++)
        b.recs[i] = (wr_append_record){.body = body, .body_len = REC_BYTES};
    b.names = wr_xcalloc(n_streams, sizeof(*b.names));
    for (unsigned i = 0; i < n_streams; i++) {
        snprintf(b.names[i], 16, "s%u", i);
        wr_store_stream_ensure(b.s, BASIN, b.names[i], NULL, NULL, NULL, &err);
    }
    slot *slots = wr_xcalloc(inflight, sizeof(slot));
    wr_store_stats st0;
    wr_store_get_stats(b.s, &st0);
    uint64_t start = wr_clock_mono_ns();
    b.deadline_ns = start + (uint64_t)(seconds * 1e9);
    for (unsigned i = 0; i < inflight; i++) {
        slots[i] =
            (slot){.b = &b, .stream = i % n_streams, .in = {.records = b.recs, .n_records = batch}};
        submit(&slots[i]);
    }
    while (b.inflight && !b.failed)
        uv_run(&loop, UV_RUN_ONCE);
    uint64_t ns = wr_clock_mono_ns() - start;
    wr_store_stats st;
    wr_store_get_stats(b.s, &st);
    if (!name) /* warm-up run */
        goto out;
    report(name, b.recs_acked, b.acks, ns, &b.l);
    fprintf(stderr, "  %s: %llu appends in %llu group commits (%.1f appends/sync)\n", name,
            (unsigned long long)b.acks, (unsigned long long)(st.commits - st0.commits),
            (double)b.acks / (double)(st.commits - st0.commits + !(st.commits - st0.commits)));
out:
    wr_store_close(b.s, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(slots);
    free(b.names);
    free(b.recs);
    free(b.l.v);
}

/* write + fdatasync of the same bytes a store batch carries (bodies only). */
static void
run_raw(const char *name, const char *dir, unsigned batch, double seconds)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(dir, 0755);
    char path[600];
    snprintf(path, sizeof(path), "%s/raw.log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0) {
        perror("raw open");
        exit(1);
    }
    size_t len = (size_t)batch * REC_BYTES;
    char *buf = wr_xmalloc(len);
    memset(buf, 'x', len);
    lat l = {0};
    uint64_t recs = 0, syncs = 0, start = wr_clock_mono_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9), off = 0;
    while (wr_clock_mono_ns() < deadline) {
        uint64_t t0 = wr_clock_mono_ns();
        if (write(fd, buf, len) != (ssize_t)len || fdatasync(fd) != 0) {
            perror("raw write");
            exit(1);
        }
        lat_add(&l, wr_clock_mono_ns() - t0);
        recs += batch;
        syncs++;
        off += len;
        if (off > (1u << 30)) { /* keep the file bounded */
            if (ftruncate(fd, 0) != 0)
                exit(1);
            off = 0;
        }
    }
    report(name, recs, syncs, wr_clock_mono_ns() - start, &l);
    close(fd);
    free(buf);
    free(l.v);
}

int
main(int argc, char **argv)
{
    const char *dir = NULL, *only = NULL;
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: store_append [--dir DIR] [--seconds S] [--only NAME]\n");
            return 1;
        }
    }
    char tmpl[] = "/tmp/weir-bench-XXXXXX";
    char base[512];
    if (!dir) {
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmpl;
    }
    snprintf(base, sizeof(base), "%s/data", dir);
    struct {
        const char *name;
        unsigned batch, streams, inflight;
        bool per_stream, raw;
    } cases[] = {
        {"b1000-s1", 1000, 1, INFLIGHT, false, false},
        {"b1000-s1000", 1000, 1000, INFLIGHT, false, false},
        {"b64-s1", 64, 1, INFLIGHT, false, false},
        {"b64-s1000", 64, 1000, INFLIGHT, false, false},
        {"b1-s1", 1, 1, INFLIGHT, false, false},
        {"b1-s1000", 1, 1000, INFLIGHT, false, false},
        {"w64-single", 1, 64, 64, true, false},
        {"raw-b1000", 1000, 0, 0, false, true},
        {"raw-b64", 64, 0, 0, false, true},
        {"raw-b1", 1, 0, 0, false, true},
    };
    /* The first case of a process is otherwise penalized (page cache, allocator, disk). */
    run_store(NULL, base, 1000, 1, INFLIGHT, false, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (only && strcmp(only, cases[i].name))
            continue;
        if (cases[i].raw)
            run_raw(cases[i].name, base, cases[i].batch, seconds);
        else
            run_store(cases[i].name, base, cases[i].batch, cases[i].streams, cases[i].inflight,
                      cases[i].per_stream, seconds);
    }
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

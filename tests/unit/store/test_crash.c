/*
 * test_crash.c — the crash test. Runs tests/tools/crash_writer (from $WEIR_TOOLS_DIR) against
 * a data directory, SIGKILLs it at a random moment, reopens the store in this process and
 * checks, for every stream, that:
 *   - every acknowledged batch in the writer's log is present: seq_nums dense from 0, and the
 *     chained hash of bodies at each logged batch end matches;
 *   - every record present (acknowledged or not) has exactly the bytes the writer generates for
 *     that (stream, seq), so nothing unacknowledged or garbled appears in the middle; records
 *     beyond the last acknowledged one can only be a suffix (they were durable, ack not logged).
 * The writer continues on the same directory in the next iteration (recovery of recovered
 * state); every 25 iterations the directory starts fresh.
 *
 * Iterations: $WEIR_CRASH_ITERS (default 20). Seed: $WEIR_CRASH_SEED (default: time).
 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../tools/crash_gen.h"
#include "store/store.h"
#include "util/mem.h"

#define N_STREAMS 4

typedef struct logged {
    uint64_t start, end, hash;
} logged;

typedef struct stream_log {
    logged *v;
    size_t n, cap;
} stream_log;

static uint64_t total_acked, total_present, total_batches, total_churn;

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Drops a torn last line (the writer may die inside write()). */
static void
truncate_partial(const char *log)
{
    FILE *f = fopen(log, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    long keep = len;
    while (keep > 0) {
        fseek(f, keep - 1, SEEK_SET);
        if (fgetc(f) == '\n')
            break;
        keep--;
    }
    fclose(f);
    if (keep != len)
        assert_int_equal(truncate(log, keep), 0);
}

static void
parse_log(const char *log, stream_log *logs)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    unsigned s;
    unsigned long long a, b, h;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == 'T' || line[0] == 'D')
            continue; /* lifecycle churn: verify_churn() */
        if (sscanf(line, "%u %llu %llu %llx", &s, &a, &b, &h) != 4)
            fail_msg("malformed log line: %s", line);
        assert_true(s < N_STREAMS);
        stream_log *l = &logs[s];
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->v = wr_xrealloc(l->v, l->cap * sizeof(logged));
        }
        /* Acks of one stream arrive in order. A restarted writer continues from the store's
         * tail, which may be past its last logged ack (durable, unacknowledged records). */
        if (l->n)
            assert_true(a >= l->v[l->n - 1].end);
        assert_true(b > a);
        l->v[l->n++] = (logged){a, b, h};
    }
    fclose(f);
}

typedef struct rd {
    bool done;
    wr_read_result *res;
} rd;

static void
on_read(void *ud, wr_read_result *res)
{
    rd *r = ud;
    r->res = res;
    r->done = true;
}

static void
verify_stream(uv_loop_t *loop, wr_store *s, unsigned idx, const stream_log *l)
{
    char name[16];
    crash_stream_name(idx, name);
    uint64_t acked_end = l->n ? l->v[l->n - 1].end : 0;
    wr_error err;
    wr_err e = wr_store_stream_get(s, CRASH_BASIN, name, NULL, NULL, &err);
    if (e == WR_ERR_STREAM_NOT_FOUND || e == WR_ERR_BASIN_NOT_FOUND) {
        assert_int_equal(acked_end, 0);
        return;
    }
    assert_int_equal(e, WR_OK);
    uint64_t seq = 0, hash = 0;
    size_t li = 0;
    uint8_t body[CRASH_MAX_BODY];
    char hval[24];
    for (;;) {
        rd r = {0};
        wr_read_req q = {.start_kind = WR_READ_SEQ,
                         .start_value = seq,
                         .has_count = true,
                         .count = 1000,
                         .may_follow = true};
        wr_store_read(s, CRASH_BASIN, name, &q, on_read, &r);
        while (!r.done)
            uv_run(loop, UV_RUN_ONCE);
        if (r.res->err != WR_OK)
            fail_msg("stream %u: read at %llu: %s", idx, (unsigned long long)seq, r.res->error.msg);
        for (size_t i = 0; i < r.res->n_records; i++) {
            const wr_record *rec = &r.res->records[i];
            if (rec->seq != seq)
                fail_msg("stream %u: seq %llu where %llu expected", idx,
                         (unsigned long long)rec->seq, (unsigned long long)seq);
            int has_h;
            size_t hlen;
            size_t len = crash_record(idx, seq, body, &has_h, hval, &hlen);
            if (rec->body_len != len || memcmp(rec->body, body, len) != 0)
                fail_msg("stream %u: seq %llu has wrong bytes", idx, (unsigned long long)seq);
            assert_int_equal(rec->n_headers, has_h ? 1 : 0);
            if (has_h) {
                assert_int_equal(rec->headers[0].value_len, hlen);
                assert_memory_equal(rec->headers[0].value, hval, hlen);
            }
            hash = crash_chain(hash, rec->body, rec->body_len);
            seq++;
            while (li < l->n && l->v[li].end == seq) {
                if (l->v[li].hash != hash)
                    fail_msg("stream %u: chained hash mismatch at %llu", idx,
                             (unsigned long long)seq);
                li++;
            }
        }
        bool at_tail = r.res->at_tail;
        wr_read_result_free(r.res);
        if (at_tail)
            break;
    }
    if (seq < acked_end)
        fail_msg("stream %u: LOST acknowledged records: store ends at %llu, acked up to %llu", idx,
                 (unsigned long long)seq, (unsigned long long)acked_end);
    assert_int_equal(li, l->n);
    for (size_t k = 0; k < l->n; k++)
        total_acked += l->v[k].end - l->v[k].start;
    total_present += seq;
    total_batches += l->n;
}

static void
on_maintained(void *ud)
{
    *(bool *)ud = true;
}

/*
 * Lifecycle churn: every stream whose trim was acknowledged ("T") shows only records from 3 on
 * until it is deleted; every stream whose DELETE returned ("D") is at least deletion-pending,
 * and gone for good after one maintenance pass.
 */
static void
verify_churn(uv_loop_t *loop, wr_store *s, const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[256], last_t[128] = "";
    size_t n_deleted = 0;
    char(*deleted)[128] = NULL;
    while (fgets(line, sizeof(line), f)) {
        char name[128];
        if (sscanf(line, "T %127s", name) == 1)
            snprintf(last_t, sizeof(last_t), "%s", name);
        if (sscanf(line, "D %127s", name) == 1) {
            deleted = wr_xrealloc(deleted, (n_deleted + 1) * sizeof(*deleted));
            memcpy(deleted[n_deleted++], name, sizeof(name));
            if (strcmp(last_t, name) == 0)
                last_t[0] = 0;
        }
    }
    fclose(f);
    wr_error err;
    if (last_t[0]) { /* trimmed, deletion not logged: either still there with the trim, or
                        its DELETE was durable without being logged */
        wr_err e = wr_store_stream_get(s, CRASH_BASIN, last_t, NULL, NULL, &err);
        if (e == WR_OK) {
            rd r = {0};
            wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .may_follow = true};
            wr_store_read(s, CRASH_BASIN, last_t, &q, on_read, &r);
            while (!r.done)
                uv_run(loop, UV_RUN_ONCE);
            assert_int_equal(r.res->err, WR_OK);
            if (r.res->n_records != 3 || r.res->records[0].seq != 3)
                fail_msg("churn %s: trim to 3 not honoured after the crash", last_t);
            wr_read_result_free(r.res);
        } else if (e != WR_ERR_STREAM_DELETION_PENDING && e != WR_ERR_STREAM_NOT_FOUND) {
            fail_msg("churn %s: %s", last_t, err.msg);
        }
    }
    for (size_t i = 0; i < n_deleted; i++) {
        wr_err e = wr_store_stream_get(s, CRASH_BASIN, deleted[i], NULL, NULL, &err);
        if (e != WR_ERR_STREAM_DELETION_PENDING && e != WR_ERR_STREAM_NOT_FOUND)
            fail_msg("churn %s: deleted but %s", deleted[i], wr_err_code(e));
    }
    bool done = false;
    wr_store_maintain_now(s, false, on_maintained, &done);
    while (!done)
        uv_run(loop, UV_RUN_ONCE);
    for (size_t i = 0; i < n_deleted; i++)
        if (wr_store_stream_get(s, CRASH_BASIN, deleted[i], NULL, NULL, &err) !=
            WR_ERR_STREAM_NOT_FOUND)
            fail_msg("churn %s: deletion did not finish after the restart", deleted[i]);
    total_churn += n_deleted;
    free(deleted);
}

static void
verify(const char *data, const char *log)
{
    stream_log logs[N_STREAMS] = {0};
    parse_log(log, logs);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    wr_store *s;
    wr_store_opts opts = {.path = data};
    wr_error err;
    if (wr_store_open(&loop, &opts, &s, &err) != WR_OK)
        fail_msg("reopen after crash failed: %s", err.msg);
    for (unsigned i = 0; i < N_STREAMS; i++)
        verify_stream(&loop, s, i, &logs[i]);
    verify_churn(&loop, s, log);
    wr_store_close(s, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    for (unsigned i = 0; i < N_STREAMS; i++)
        free(logs[i].v);
}

static void
test_crash(void **state)
{
    (void)state;
    const char *tools = getenv("WEIR_TOOLS_DIR");
    if (!tools)
        fail_msg("WEIR_TOOLS_DIR is not set (CTest sets it to the build directory)");
    char writer[512];
    snprintf(writer, sizeof(writer), "%s/crash_writer", tools);
    if (access(writer, X_OK) != 0)
        fail_msg("%s is not executable", writer);
    const char *it = getenv("WEIR_CRASH_ITERS");
    int iters = it ? atoi(it) : 20;
    const char *sd = getenv("WEIR_CRASH_SEED");
    uint64_t seed = sd ? strtoull(sd, NULL, 10) : (uint64_t)time(NULL);
    printf("crash test: %d iterations, seed %llu\n", iters, (unsigned long long)seed);

    char base[256], data[300], log[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/weir-crash-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(base));
    snprintf(data, sizeof(data), "%s/data", base);
    snprintf(log, sizeof(log), "%s/acked.log", base);
    uint64_t rng = seed;
    for (int i = 0; i < iters; i++) {
        if (i % 25 == 0) {
            nftw(data, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
            unlink(log);
        }
        rng = crash_mix(rng);
        char seedarg[32];
        snprintf(seedarg, sizeof(seedarg), "%llu", (unsigned long long)rng);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            execl(writer, writer, data, log, seedarg, "4", (char *)NULL);
            _exit(127);
        }
        /* Kill anywhere from startup/recovery to well into steady appending. */
        usleep((useconds_t)(5000 + crash_mix(rng ^ 1) % 400000));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            fail_msg("iteration %d: writer exited on its own (status %d)", i, status);
        truncate_partial(log);
        verify(data, log);
    }
    printf("crash test: %d iterations ok; verified %llu acked batches (%llu records, counted "
           "once per check) within %llu records read back\n",
           iters, (unsigned long long)total_batches, (unsigned long long)total_acked,
           (unsigned long long)total_present);
    printf("crash test: lifecycle churn: %llu deletions checked (counted once per check)\n",
           (unsigned long long)total_churn);
    nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_crash)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_durability.c — group commit (many concurrent appends, far fewer syncs), an injected
 * fsync failure puts the store in the failed state (appends and metadata writes refuse with
 * STORAGE, pipelined appends behind the failure fail too, reads keep working, a restart
 * recovers), the in-flight byte budget queues appends instead of growing memory, and a group
 * of appends to a few streams (with fence and trim commands among them) is one commit whose
 * per-stream keys hold the group's last values after a restart; batches a flush has moved to
 * blob files (written with O_DIRECT where the file system takes it) read back intact; the
 * appends of a stream committed together are stored as one value and read back as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sched.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "store/keys.h"
#include "support/store_support.h"
#include "util/buf.h"

#define B "durable-basin"

static const ts_fixture fx = {.basin = B, .create_on_append = true, .create_on_read = true};

#define WRITERS 64
#define ROUNDS 10

typedef struct writer {
    ts_env *e;
    char stream[16];
    wr_append_record rec;
    wr_append_input in;
    int acked;
    int failed;
    wr_err last_err;
    int *total;
    uint64_t max_inflight;
    bool resubmit;
} writer;

static void
on_ack(void *ud, const wr_append_result *res)
{
    writer *w = ud;
    (*w->total)++;
    if (res->err) {
        w->failed++;
        w->last_err = res->err;
        return;
    }
    w->acked++;
    wr_store_stats st;
    wr_store_get_stats(w->e->s, &st);
    if (st.inflight_bytes > w->max_inflight)
        w->max_inflight = st.inflight_bytes;
    if (w->resubmit && w->acked < ROUNDS)
        wr_store_append(w->e->s, B, w->stream, &w->in, on_ack, w);
}

static void
init_writers(ts_env *e, writer *ws, int n, int *total, bool resubmit, bool same_stream)
{
    for (int i = 0; i < n; i++) {
        memset(&ws[i], 0, sizeof(ws[i]));
        ws[i].e = e;
        snprintf(ws[i].stream, sizeof(ws[i].stream), "w%d", same_stream ? 0 : i % 16);
        ws[i].rec = ts_rec("0123456789012345678901234567890123456789");
        ws[i].in = (wr_append_input){.records = &ws[i].rec, .n_records = 1};
        ws[i].total = total;
        ws[i].resubmit = resubmit;
    }
}

/* 64 writers, each with one single-record append in flight at a time, 10 rounds each. */
static void
test_group_commit(void **state)
{
    ts_env *e = *state;
    writer ws[WRITERS];
    int total = 0;
    init_writers(e, ws, WRITERS, &total, true, false);
    atomic_store(&e->syncs_commit, 0);
    for (int i = 0; i < WRITERS; i++)
        wr_store_append(e->s, B, ws[i].stream, &ws[i].in, on_ack, &ws[i]);
    while (total < WRITERS * ROUNDS)
        uv_run(&e->loop, UV_RUN_ONCE);
    int syncs = atomic_load(&e->syncs_commit);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(ws[i].acked, ROUNDS);
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    assert_int_equal(st.commits, (uint64_t)syncs);
    assert_int_equal(st.appends, WRITERS * ROUNDS);
    printf("group commit: %d appends in %d syncs\n", WRITERS * ROUNDS, syncs);
    /* Each round of 64 appends should share a handful of syncs, never one each. */
    assert_true(syncs * 4 <= WRITERS * ROUNDS);
    /* Everything is there: 16 streams x 40 records. */
    wr_pos tail;
    wr_error err;
    for (int i = 0; i < 16; i++) {
        char name[8];
        snprintf(name, sizeof(name), "w%d", i);
        assert_int_equal(wr_store_check_tail(e->s, B, name, &tail, &err), WR_OK);
        assert_int_equal(tail.seq, WRITERS * ROUNDS / 16);
    }
}

static void
test_sync_failure(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "f", "ok", 3).err, WR_OK);
    /* Pipelined appends; the first commit fails. */
    writer ws[10];
    int total = 0;
    init_writers(e, ws, 10, &total, false, true);
    atomic_store(&e->fail_countdown, 1);
    for (int i = 0; i < 10; i++)
        wr_store_append(e->s, B, "w0", &ws[i].in, on_ack, &ws[i]);
    while (total < 10)
        uv_run(&e->loop, UV_RUN_ONCE);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ws[i].failed, 1);
        assert_int_equal(ws[i].last_err, WR_ERR_STORAGE);
    }
    assert_true(wr_store_failed(e->s));
    /* Every later write refuses, appends and metadata alike. */
    assert_int_equal(ts_append_n(e, B, "f", "no", 1).err, WR_ERR_STORAGE);
    wr_error err;
    assert_int_equal(wr_store_basin_create(e->s, "another-basin", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_STORAGE);
    assert_int_equal(wr_store_stream_delete(e->s, B, "f", &err), WR_ERR_STORAGE);
    /* Durable data stays readable. */
    char *all = ts_read_all_bodies(e, B, "f");
    assert_string_equal(all, "ok0|ok1|ok2");
    free(all);
    /* Restart recovers: writes work again, nothing of the failed batches is visible. */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_false(wr_store_failed(e->s));
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "w0", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 0);
    assert_int_equal(ts_append_n(e, B, "f", "again", 1).err, WR_OK);
    all = ts_read_all_bodies(e, B, "f");
    assert_string_equal(all, "ok0|ok1|ok2|again0");
    free(all);
}

static void
test_meta_sync_failure(void **state)
{
    ts_env *e = *state;
    wr_error err;
    atomic_store(&e->fail_countdown, 1);
    assert_int_equal(wr_store_basin_create(e->s, "failing-basin", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_STORAGE);
    assert_true(wr_store_failed(e->s));
    assert_int_equal(ts_append_n(e, B, "x", "no", 1).err, WR_ERR_STORAGE);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_basin_get(e->s, "failing-basin", NULL, NULL, &err),
                     WR_ERR_BASIN_NOT_FOUND);
}

/* A tiny budget: appends queue, stay in order, and the bytes in flight stay bounded. */
static void
test_inflight_budget(void **state)
{
    ts_env *e = *state;
    wr_error err;
    e->opts.inflight_bytes = 300; /* about three 40-byte records */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    writer ws[40];
    int total = 0;
    init_writers(e, ws, 40, &total, false, true);
    for (int i = 0; i < 40; i++)
        wr_store_append(e->s, B, "w0", &ws[i].in, on_ack, &ws[i]);
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    assert_true(st.waiting_appends > 0);
    assert_true(st.inflight_bytes <= 300);
    while (total < 40)
        uv_run(&e->loop, UV_RUN_ONCE);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(ws[i].acked, 1);
        assert_true(ws[i].max_inflight <= 300);
    }
    wr_store_get_stats(e->s, &st);
    assert_int_equal(st.waiting_appends, 0);
    assert_int_equal(st.inflight_bytes, 0);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "w0", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 40);
    /* A single append larger than the budget still goes through alone. */
    static char big[2000];
    memset(big, 'b', sizeof(big) - 1);
    wr_append_record r = ts_rec(big);
    wr_append_input in = {.records = &r, .n_records = 1};
    assert_int_equal(ts_append(e, B, "w0", &in).err, WR_OK);
}

/* Appends waiting for budget when the store closes fail with UNAVAILABLE; in-flight ones are
 * committed and acknowledged. */
static void
test_close_with_pending(void **state)
{
    ts_env *e = *state;
    wr_error err;
    e->opts.inflight_bytes = 100;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    writer ws[10];
    int total = 0;
    init_writers(e, ws, 10, &total, false, true);
    for (int i = 0; i < 10; i++)
        wr_store_append(e->s, B, "w0", &ws[i].in, on_ack, &ws[i]);
    ts_close(e);
    assert_int_equal(total, 10);
    int acked = 0;
    for (int i = 0; i < 10; i++) {
        if (ws[i].acked)
            acked++;
        else
            assert_int_equal(ws[i].last_err, WR_ERR_UNAVAILABLE);
    }
    assert_true(acked >= 1);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "w0", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, (uint64_t)acked);
}

/* The store in the resolved commit mode: the loop commits (true) or a thread (false). */
static bool
reopen_in_mode(ts_env *e, wr_store_commit_mode mode)
{
    wr_error err;
    e->opts.commit_mode = mode;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    return ts_stats(e).commits_on_loop;
}

/* Appends ws[0..n) (one record each) and runs the loop until all are answered. */
static void
append_all(ts_env *e, writer *ws, int n, int *total)
{
    int want = *total + n;
    for (int i = 0; i < n; i++)
        wr_store_append(e->s, B, ws[i].stream, &ws[i].in, on_ack, &ws[i]);
    while (*total < want)
        uv_run(&e->loop, UV_RUN_ONCE);
}

/*
 * --commit-mode: thread and loop are what they say; auto is loop exactly when the process may
 * run on one CPU. With loop, a small group is committed by the loop itself once the commit
 * thread is quiet (the streams' creates go through the thread first, and the thread stays busy
 * for a moment after each group it writes: hence the rounds); a group smaller than the last one
 * still goes out (at the end of its gather wait); a group of 64 KiB or more goes to the thread;
 * everything acknowledged is on disk after a reopen.
 */
static void
test_commit_modes(void **state)
{
    ts_env *e = *state;
    assert_false(reopen_in_mode(e, WR_STORE_COMMIT_THREAD));
    assert_true(reopen_in_mode(e, WR_STORE_COMMIT_LOOP));
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
    assert_int_equal(reopen_in_mode(e, WR_STORE_COMMIT_AUTO), CPU_COUNT(&all) == 1);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &one);
            break;
        }
    }
    assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
    bool on_loop = reopen_in_mode(e, WR_STORE_COMMIT_AUTO);
    assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
    assert_true(on_loop);

    enum { N = 12 };
    writer ws[N + 1];
    int total = 0, appended = 0;
    init_writers(e, ws, N + 1, &total, false, false);
    snprintf(ws[N].stream, sizeof(ws[N].stream), "w0"); /* no stream create in its group */
    uint64_t loop_before = ts_stats(e).loop_commits;
    for (int round = 0; round < 200 && ts_stats(e).loop_commits == loop_before; round++) {
        usleep(2000); /* the thread's bounded waits after its last group */
        append_all(e, ws, N, &total);
        appended += N;
    }
    assert_true(ts_stats(e).loop_commits > loop_before);

    wr_store_stats before = ts_stats(e);
    append_all(e, &ws[N], 1, &total); /* 1 < 12: gathers, then the timer */
    appended++;
    wr_store_stats after = ts_stats(e);
    assert_int_equal(after.commits, before.commits + 1);
    assert_int_equal(after.loop_commits, before.loop_commits + 1);

    static uint8_t big[100000];
    memset(big, 'b', sizeof(big));
    ws[N].rec = (wr_append_record){.body = big, .body_len = sizeof(big)};
    append_all(e, &ws[N], 1, &total);
    appended++;
    wr_store_stats big_after = ts_stats(e);
    assert_int_equal(big_after.commits, after.commits + 1);
    assert_int_equal(big_after.loop_commits, after.loop_commits); /* the thread wrote it */

    for (int i = 0; i <= N; i++)
        assert_int_equal(ws[i].failed, 0);
    assert_false(reopen_in_mode(e, WR_STORE_COMMIT_THREAD));
    uint64_t on_disk = 0;
    for (int s = 0; s < 16; s++) {
        char name[8];
        snprintf(name, sizeof(name), "w%d", s);
        wr_pos tail;
        wr_error err;
        if (wr_store_check_tail(e->s, B, name, &tail, &err) == WR_OK)
            on_disk += tail.seq;
    }
    assert_int_equal(on_disk, (uint64_t)appended);
}

static void
on_stream_created(void *ud, wr_err err, const wr_error *detail, const wr_stream_info *info,
                  wr_provision prov)
{
    (void)detail;
    (void)info;
    (void)prov;
    *(wr_err *)ud = err == WR_OK ? WR_OK : err;
    ((wr_err *)ud)[1] = 1; /* done */
}

/*
 * A metadata change submitted after appends that are still on the loop's hand-off list is
 * written with them (one group) or after them, never ahead of them on its own: in both commit
 * modes, appends then a stream create make exactly one sync, however long the loop takes to
 * reach its hand-off.
 */
static void
test_change_follows_earlier_appends(void **state)
{
    ts_env *e = *state;
    enum { N = 3 };
    writer ws[N];
    int total = 0;
    init_writers(e, ws, N, &total, false, true); /* all on w0 */
    append_all(e, ws, 1, &total);                /* w0 exists */
    for (int round = 0; round < 3; round++) {
        uint64_t commits = ts_stats(e).commits;
        for (int i = 0; i < N; i++)
            wr_store_append(e->s, B, ws[i].stream, &ws[i].in, on_ack, &ws[i]);
        char name[16];
        snprintf(name, sizeof(name), "made-%d", round);
        wr_err created[2] = {WR_ERR_STORAGE, 0};
        wr_store_stream_create_async(e->s, B, name, NULL, NULL, on_stream_created, created);
        usleep(5000); /* time for a commit thread to take the change alone, were it handed over */
        int want = 1 + (round + 1) * N;
        while (total < want || !created[1])
            uv_run(&e->loop, UV_RUN_ONCE);
        assert_int_equal(created[0], WR_OK);
        assert_int_equal(ts_stats(e).commits, commits + 1);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(ws[i].failed, 0);
}

/*
 * A sync hook that holds the first group commit until the test has queued more appends, so
 * that those form exactly one second group. Commit thread: `held` tells the loop it is in.
 */
static struct {
    atomic_bool armed, held, release;
    atomic_int commits;
} gate;

static int
gate_hook(void *ud, wr_store_sync_kind kind)
{
    (void)ud;
    if (kind != WR_STORE_SYNC_COMMIT)
        return 0;
    atomic_fetch_add(&gate.commits, 1);
    if (atomic_exchange(&gate.armed, false)) {
        atomic_store(&gate.held, true);
        while (!atomic_load(&gate.release))
            sched_yield();
    }
    return 0;
}

typedef struct grow {
    const char *stream;
    const wr_header *cmd; /* NULL: a plain record */
    const char *body;
    size_t body_len;
    const char *token; /* fencing token of the append, or NULL */
    uint64_t want_seq; /* the start seq it must get */
} grow;

/* One group: appends to two streams, with fence and trim commands of one of them in between;
 * the group's last fence, trim and tail must be what a restart finds. */
static void
test_group_last_values(void **state)
{
    ts_env *e = *state;
    wr_error err;
    e->opts.sync_hook = gate_hook;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    ts_skip_unless_commit_thread(e);
    uint8_t trim2[8], trim5[8];
    wr_put_be64(trim2, 2);
    wr_put_be64(trim5, 5);
    static const grow rows[] = {
        {"g", NULL, "first", 5, NULL, 0}, /* held in group 1 */
        {"g", NULL, "a", 1, NULL, 1},
        {"h", NULL, "b", 1, NULL, 0},
        {"g", &ts_fence_header, "tok-1", 5, NULL, 2},
        {"g", NULL, "c", 1, "tok-1", 3},
        {"g", &ts_trim_header, NULL, 8, NULL, 4}, /* trim to 2 */
        {"g", &ts_fence_header, "tok-2", 5, "tok-1", 5},
        {"h", NULL, "d", 1, NULL, 1},
        {"g", &ts_trim_header, NULL, 8, "tok-2", 6}, /* trim to 5 */
        {"g", NULL, "e", 1, "tok-2", 7},
        {"h", NULL, "f", 1, NULL, 2},
    };
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    wr_append_record recs[N];
    wr_append_input ins[N];
    ts_append_wait waits[N];
    memset(waits, 0, sizeof(waits));
    int trims = 0;
    for (int i = 0; i < N; i++) {
        const void *body = rows[i].body;
        if (rows[i].cmd == &ts_trim_header)
            body = trims++ ? trim5 : trim2;
        recs[i] = (wr_append_record){.body = body, .body_len = rows[i].body_len};
        if (rows[i].cmd) {
            recs[i].headers = rows[i].cmd;
            recs[i].n_headers = 1;
        }
        ins[i] = (wr_append_input){.records = &recs[i],
                                   .n_records = 1,
                                   .fencing_token = rows[i].token,
                                   .fencing_token_len = rows[i].token ? strlen(rows[i].token) : 0};
    }
    atomic_store(&gate.commits, 0);
    atomic_store(&gate.release, false);
    atomic_store(&gate.held, false);
    atomic_store(&gate.armed, true);
    ts_append_start(e, B, rows[0].stream, &ins[0], &waits[0]);
    while (!atomic_load(&gate.held)) /* the loop hands the append over before it polls */
        uv_run(&e->loop, UV_RUN_NOWAIT);
    uint64_t commits_before = ts_stats(e).commits;
    for (int i = 1; i < N; i++)
        ts_append_start(e, B, rows[i].stream, &ins[i], &waits[i]);
    atomic_store(&gate.release, true);
    for (int i = 0; i < N; i++) {
        ts_run_until(e, &waits[i].done);
        assert_int_equal(waits[i].res.err, WR_OK);
        assert_int_equal(waits[i].res.start.seq, rows[i].want_seq);
    }
    /* The held group, then everything queued behind it as one more: two syncs, both counted
     * as commits once the first was let go. */
    assert_int_equal(atomic_load(&gate.commits), 2);
    assert_int_equal(ts_stats(e).commits - commits_before, 2);

    e->opts.sync_hook = NULL;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "g", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 8);
    assert_int_equal(wr_store_check_tail(e->s, B, "h", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 3);
    /* The last fence of the group holds. */
    wr_append_record r = ts_rec("x");
    wr_append_input in = {
        .records = &r, .n_records = 1, .fencing_token = "tok-1", .fencing_token_len = 5};
    wr_append_result res = ts_append(e, B, "g", &in);
    assert_int_equal(res.err, WR_ERR_FENCING_TOKEN_MISMATCH);
    assert_string_equal(res.actual_token, "tok-2");
    /* And the last trim: reads from 0 start at 5. */
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .has_count = true, .count = 1};
    wr_read_result *rr = ts_read(e, B, "g", &q);
    assert_int_equal(rr->err, WR_OK);
    assert_int_equal(rr->n_records, 1);
    assert_int_equal(rr->records[0].seq, 5);
    wr_read_result_free(rr);
}

static int
count_blob_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        n += len > 5 && !strcmp(de->d_name + len - 5, ".blob");
    }
    closedir(d);
    return n;
}

/*
 * Batches above the blob threshold (4 KiB) are moved by a flush into blob files, which the
 * store writes with O_DIRECT on file systems that take it (all the usual local ones do): what
 * reads back after the flush and a full compaction, and again after a restart, is what was
 * appended, byte for byte.
 */
static void
test_flushed_batches_read_back(void **state)
{
    ts_env *e = *state;
    struct statfs fs;
    assert_int_equal(statfs(e->dir, &fs), 0);
    bool local = fs.f_type == 0xEF53 /* ext2/3/4 */ || fs.f_type == 0x58465342 /* xfs */ ||
                 fs.f_type == 0x9123683E /* btrfs */ || fs.f_type == 0x01021994 /* tmpfs */;
    if (local)
        assert_true(ts_stats(e).direct_writes);
    enum { BATCHES = 40, PER = 8, BODY = 1000 };
    wr_buf want = {0};
    wr_buf_reserve(&want, 16);
    char body[PER][BODY + 1];
    for (int b = 0; b < BATCHES; b++) {
        wr_append_record recs[PER];
        for (int i = 0; i < PER; i++) {
            for (int j = 0; j < BODY; j++)
                body[i][j] = (char)('a' + (b * 7 + i * 3 + j) % 26);
            body[i][BODY] = 0;
            recs[i] = ts_rec(body[i]);
            if (want.len)
                wr_buf_append_byte(&want, '|');
            wr_buf_append(&want, body[i], BODY);
        }
        wr_append_input in = {.records = recs, .n_records = PER};
        assert_int_equal(ts_append(e, B, "blobs", &in).err, WR_OK);
    }
    wr_buf_append_byte(&want, 0);
    ts_maintain(e, true);
    assert_true(count_blob_files(e->dir) > 0);
    char *got = ts_read_all_bodies(e, B, "blobs");
    assert_string_equal(got, want.data);
    free(got);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    got = ts_read_all_bodies(e, B, "blobs");
    assert_string_equal(got, want.data);
    free(got);
    wr_buf_fini(&want);
}

static size_t
count_family(ts_env *e, uint8_t family)
{
    uint8_t lo[1] = {family}, hi[1] = {(uint8_t)(family + 1)};
    return ts_count_keys(e, lo, 1, hi, 1);
}

/*
 * Appends of one stream sequenced before the same hand-off to the commit thread (here: all of
 * them, submitted without the loop running) are stored as one BATCH value with one TS_INDEX
 * entry per stream, a fence command among them included; each append still gets its own ack
 * and seq range, and every record reads back in order, from the cache, from disk after a
 * restart, and from the middle of the stored value.
 */
static void
test_runs_share_one_value(void **state)
{
    ts_env *e = *state;
    enum { N = 12 };
    char body[N][16];
    wr_append_record rec[N];
    wr_append_input in[N];
    ts_append_wait w[N];
    wr_buf want = {0};
    wr_buf_reserve(&want, 16);
    for (int i = 0; i < N; i++) {
        snprintf(body[i], sizeof(body[i]), "r%d", i);
        rec[i] = ts_rec(body[i]);
        if (i == 4) { /* a fence command: one record of its own batch, same run */
            rec[i] = (wr_append_record){.n_headers = 1,
                                        .headers = &ts_fence_header,
                                        .body = (const uint8_t *)"tok",
                                        .body_len = 3};
            snprintf(body[i], sizeof(body[i]), "tok");
        }
        in[i] = (wr_append_input){.records = &rec[i], .n_records = 1};
        if (i % 4 != 3 && i > 0)
            wr_buf_append_byte(&want, '|');
        if (i % 4 != 3)
            wr_buf_append_str(&want, body[i]);
    }
    wr_buf_append_byte(&want, 0);
    /* Every fourth append goes to another stream, in between. */
    for (int i = 0; i < N; i++)
        ts_append_start(e, B, i % 4 == 3 ? "q" : "r", &in[i], &w[i]);
    uint64_t next_r = 0, next_q = 0;
    for (int i = 0; i < N; i++) {
        ts_run_until(e, &w[i].done);
        assert_int_equal(w[i].res.err, WR_OK);
        uint64_t *next = i % 4 == 3 ? &next_q : &next_r;
        assert_int_equal(w[i].res.start.seq, *next);
        *next = w[i].res.end.seq;
    }
    assert_int_equal(count_family(e, WR_KEY_BATCH), 2);
    assert_int_equal(count_family(e, WR_KEY_TS_INDEX), 2);
    char *got = ts_read_all_bodies(e, B, "r");
    assert_string_equal(got, want.data);
    free(got);

    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK); /* recovery checks the stored value */
    got = ts_read_all_bodies(e, B, "r");
    assert_string_equal(got, want.data);
    free(got);
    got = ts_read_all_bodies(e, B, "q");
    assert_string_equal(got, "r3|r7|r11");
    free(got);
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 5, .has_count = true, .count = 2};
    wr_read_result *rr = ts_read(e, B, "r", &q);
    assert_int_equal(rr->err, WR_OK);
    assert_int_equal(rr->n_records, 2);
    assert_int_equal(rr->records[0].seq, 5);
    assert_memory_equal(rr->records[0].body, "r6", 2);
    assert_int_equal(rr->records[1].seq, 6);
    wr_read_result_free(rr);
    /* The fence the run carried holds after the restart. */
    wr_append_record r = ts_rec("x");
    wr_append_input fin = {
        .records = &r, .n_records = 1, .fencing_token = "bad", .fencing_token_len = 3};
    assert_int_equal(ts_append(e, B, "r", &fin).err, WR_ERR_FENCING_TOKEN_MISMATCH);
    fin.fencing_token = "tok";
    fin.fencing_token_len = 3;
    /* Appends awaited one at a time are a value each. */
    assert_int_equal(ts_append(e, B, "r", &fin).err, WR_OK);
    assert_int_equal(ts_append(e, B, "r", &fin).err, WR_OK);
    assert_int_equal(count_family(e, WR_KEY_BATCH), 4);
    wr_buf_fini(&want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_group_commit, &fx),
        TS_TEST(test_sync_failure, &fx),
        TS_TEST(test_meta_sync_failure, &fx),
        TS_TEST(test_inflight_budget, &fx),
        TS_TEST(test_close_with_pending, &fx),
        TS_TEST(test_commit_modes, &fx),
        TS_TEST(test_change_follows_earlier_appends, &fx),
        TS_TEST(test_group_last_values, &fx),
        TS_TEST(test_flushed_batches_read_back, &fx),
        TS_TEST(test_runs_share_one_value, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

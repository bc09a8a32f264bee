/*
 * test_meta_writer.c — the control plane's writer thread (meta/writer.h) on SQLite: jobs run off
 * the loop and complete on it in submission order; jobs that wait while a group runs are
 * committed together; a failed job undoes exactly its own changes and the rest of its group
 * stands; changes are visible to the loop's reader handle when the completion runs; a full queue
 * answers UNAVAILABLE; stop finishes every queued job. A first job that blocks on a semaphore
 * holds the thread so that later jobs are known to queue up behind it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <semaphore.h>
#include <uv.h>

#include "meta/meta.h"
#include "meta/writer.h"
#include "support/fs_support.h"
#include "support/test_main.h"

typedef struct fx {
    char dir[64];
    char path[128];
    uv_loop_t loop;
    wr_meta *reader;
    wr_meta_writer *w;
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    ts_mkdtemp("meta-wr", f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
    uv_loop_init(&f->loop);
    wr_error err = {0};
    wr_meta *wm = NULL;
    assert_int_equal(wr_meta_open_sqlite_shared(f->path, &f->reader, &err), WR_OK);
    assert_int_equal(wr_meta_open_sqlite_shared(f->path, &wm, &err), WR_OK);
    assert_int_equal(wr_meta_writer_start(&f->loop, &wm, 1, 4, &f->w, &err), WR_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    wr_meta_writer_stop(f->w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    wr_meta_writer_free(f->w);
    wr_meta_close(f->reader);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ts_rm_rf(f->dir);
    free(f);
    return 0;
}

/* ---- jobs ----------------------------------------------------------------------------------- */

typedef struct job {
    fx *f;
    sem_t *started;   /* when set, posted as the job starts running */
    sem_t *hold;      /* when set, the job waits on it before running */
    const char *id;   /* the org it creates */
    const char *slug; /* its slug; a taken slug makes it fail */
    const char *id2;  /* a second org in the same job (NULL: none) */
    const char *slug2;
    int *order;  /* completions append their index here */
    int *n_done; /* how many completed */
    int index;   /* this job's index */
    wr_err rc;   /* what done got */
    bool seen;   /* done could read the org through the reader handle */
} job;

static wr_org
org(const char *id, const char *slug)
{
    wr_org o = {0};
    snprintf(o.id, sizeof(o.id), "%s", id);
    snprintf(o.slug, sizeof(o.slug), "%s", slug);
    snprintf(o.plan, sizeof(o.plan), "free");
    return o;
}

static wr_err
run_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    job *j = ctx;
    if (j->started)
        sem_post(j->started);
    if (j->hold)
        sem_wait(j->hold);
    wr_org o = org(j->id, j->slug);
    wr_err rc = wr_meta_org_create(m, &o, out_err);
    if (rc == WR_OK && j->id2) {
        wr_org o2 = org(j->id2, j->slug2);
        rc = wr_meta_org_create(m, &o2, out_err);
    }
    return rc;
}

static void
done_job(void *ctx, wr_err rc, const wr_error *err)
{
    (void)err;
    job *j = ctx;
    j->rc = rc;
    wr_org o;
    j->seen = wr_meta_org_get(j->f->reader, j->id, &o, NULL) == WR_OK;
    j->order[(*j->n_done)++] = j->index;
}

static bool
org_exists(fx *f, const char *id)
{
    wr_org o;
    return wr_meta_org_get(f->reader, id, &o, NULL) == WR_OK;
}

static void
run_until(fx *f, int *n_done, int want)
{
    while (*n_done < want)
        uv_run(&f->loop, UV_RUN_ONCE);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_completes_in_order_and_visible(void **state)
{
    fx *f = *state;
    int order[8], n = 0;
    job j[3] = {
        {.f = f, .id = "org_a", .slug = "a", .order = order, .n_done = &n, .index = 0},
        {.f = f, .id = "org_b", .slug = "b", .order = order, .n_done = &n, .index = 1},
        {.f = f, .id = "org_c", .slug = "c", .order = order, .n_done = &n, .index = 2},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &j[i], NULL), WR_OK);
    run_until(f, &n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(order[i], i);
        assert_int_equal(j[i].rc, WR_OK);
        assert_true(j[i].seen);
    }
}

/* The writer thread runs WR_META_WRITER_NICE below the thread that started it (capped at 19). */
static int nice_seen;

static wr_err
nice_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    (void)m;
    (void)ctx;
    (void)out_err;
    nice_seen = getpriority(PRIO_PROCESS, 0); /* this thread's */
    return WR_OK;
}

static void
nice_done(void *ctx, wr_err rc, const wr_error *err)
{
    (void)err;
    *(wr_err *)ctx = rc + 1; /* done, with rc */
}

static void
test_writer_yields_to_the_loop(void **state)
{
    fx *f = *state;
    wr_err got = 0;
    assert_int_equal(wr_meta_writer_submit(f->w, nice_job, nice_done, &got, NULL), WR_OK);
    while (got == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(got, WR_OK + 1);
    int want = getpriority(PRIO_PROCESS, 0) + WR_META_WRITER_NICE;
    assert_int_equal(nice_seen, want > 19 ? 19 : want);
}

/* Readers (wr_meta_readers_start): read jobs run outside any transaction — one held mid-run does
 * not keep the writer from committing, and once released it sees that commit — and their answers
 * (found, NOT_FOUND) come back on the loop. */
typedef struct read_job {
    sem_t *started, *hold;
    const char *id;
    wr_err rc;       /* what done got */
    wr_err batch_rc; /* what a batch read for it */
    bool done;
} read_job;

static wr_err
read_run(wr_meta *m, void *ctx, wr_error *out_err)
{
    read_job *r = ctx;
    if (r->started)
        sem_post(r->started);
    if (r->hold)
        sem_wait(r->hold);
    wr_org o;
    return wr_meta_org_get(m, r->id, &o, out_err);
}

static void
read_done(void *ctx, wr_err rc, const wr_error *err)
{
    (void)err;
    read_job *r = ctx;
    r->rc = rc;
    r->done = true;
}

static void
test_readers(void **state)
{
    fx *f = *state;
    wr_meta *rm[2];
    wr_error err = {0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(wr_meta_open_sqlite_shared(f->path, &rm[i], &err), WR_OK);
    wr_meta_writer *readers = NULL;
    assert_int_equal(wr_meta_readers_start(&f->loop, rm, 2, 0, &readers, &err), WR_OK);

    sem_t started, hold;
    sem_init(&started, 0, 0);
    sem_init(&hold, 0, 0);
    read_job held = {.started = &started, .hold = &hold, .id = "org_late"};
    assert_int_equal(wr_meta_writer_submit(readers, read_run, read_done, &held, NULL), WR_OK);
    sem_wait(&started);
    /* A reader in a transaction would hold SQLite's read snapshot (or, BEGIN IMMEDIATE, the write
     * lock); in autocommit it holds neither between statements. */
    int order[2], n = 0;
    job w = {.f = f, .id = "org_late", .slug = "late", .order = order, .n_done = &n};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &w, NULL), WR_OK);
    run_until(f, &n, 1);
    assert_int_equal(w.rc, WR_OK);
    sem_post(&hold);
    read_job missing = {.id = "org_nope"};
    assert_int_equal(wr_meta_writer_submit(readers, read_run, read_done, &missing, NULL), WR_OK);
    while (!held.done || !missing.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(held.rc, WR_OK); /* it saw the commit made while it waited */
    assert_int_equal(missing.rc, WR_ERR_NOT_FOUND);

    wr_meta_writer_stop(readers);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    wr_meta_writer_free(readers);
    sem_destroy(&started);
    sem_destroy(&hold);
}

/* Jobs queued behind a blocked one commit together, and one failing job does not sink the rest. */
static void
test_group_savepoints(void **state)
{
    fx *f = *state;
    sem_t hold, started;
    sem_init(&hold, 0, 0);
    sem_init(&started, 0, 0);
    int order[8], n = 0;
    job first = {.f = f,
                 .started = &started,
                 .hold = &hold,
                 .id = "org_0",
                 .slug = "s0",
                 .order = order,
                 .n_done = &n};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &first, NULL), WR_OK);
    sem_wait(&started); /* the thread runs it (and waits): what follows queues behind it */
    assert_int_equal(wr_meta_writer_pending(f->w), 1);
    job g[3] = {
        {.f = f, .id = "org_1", .slug = "s1", .order = order, .n_done = &n, .index = 1},
        /* fails on its second org (slug s1 is taken by job 1 in the same group): its first org
         * must be undone with it */
        {.f = f,
         .id = "org_2",
         .slug = "s2",
         .id2 = "org_2b",
         .slug2 = "s1",
         .order = order,
         .n_done = &n,
         .index = 2},
        {.f = f, .id = "org_3", .slug = "s3", .order = order, .n_done = &n, .index = 3},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &g[i], NULL), WR_OK);
    /* max_queued is 4: three wait, the fourth fits, the fifth is refused */
    job extra = {.f = f, .id = "org_4", .slug = "s4", .order = order, .n_done = &n, .index = 4};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &extra, NULL), WR_OK);
    wr_error err = {0};
    job refused = {.f = f, .id = "org_5", .slug = "s5", .order = order, .n_done = &n};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &refused, &err),
                     WR_ERR_UNAVAILABLE);
    assert_int_equal(err.code, WR_ERR_UNAVAILABLE);
    assert_false(org_exists(f, "org_1")); /* nothing of the waiting group is committed yet */
    sem_post(&hold);
    run_until(f, &n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order[i], i);
    assert_int_equal(first.rc, WR_OK);
    assert_int_equal(g[0].rc, WR_OK);
    assert_int_equal(g[1].rc, WR_ERR_RESOURCE_ALREADY_EXISTS);
    assert_int_equal(g[2].rc, WR_OK);
    assert_int_equal(extra.rc, WR_OK);
    assert_true(org_exists(f, "org_1"));
    assert_false(org_exists(f, "org_2"));  /* the failed job's first change was undone */
    assert_false(org_exists(f, "org_2b")); /* and its second never happened */
    assert_true(org_exists(f, "org_3"));
    assert_true(org_exists(f, "org_4"));
    assert_false(org_exists(f, "org_5"));
    sem_destroy(&hold);
    sem_destroy(&started);
}

/* A completed job is durable: a fresh handle opened after the writer is gone finds it. */
static void
test_durable_after_reopen(void **state)
{
    fx *f = *state;
    int order[4], n = 0;
    job j = {.f = f, .id = "org_d", .slug = "d", .order = order, .n_done = &n};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &j, NULL), WR_OK);
    run_until(f, &n, 1);
    wr_meta_writer_stop(f->w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    wr_meta_writer_free(f->w);
    wr_meta_close(f->reader);
    wr_error err = {0};
    assert_int_equal(wr_meta_open_sqlite(f->path, &f->reader, &err), WR_OK);
    assert_true(org_exists(f, "org_d"));
    wr_meta_close(f->reader);
    /* back to the fixture's shape for teardown */
    wr_meta *wm = NULL;
    assert_int_equal(wr_meta_open_sqlite_shared(f->path, &f->reader, &err), WR_OK);
    assert_int_equal(wr_meta_open_sqlite_shared(f->path, &wm, &err), WR_OK);
    assert_int_equal(wr_meta_writer_start(&f->loop, &wm, 1, 4, &f->w, &err), WR_OK);
}

/* Jobs still queued when the writer stops are run and answered from inside stop. */
static void
test_stop_finishes_queued(void **state)
{
    fx *f = *state;
    int order[4], n = 0;
    job j[2] = {
        {.f = f, .id = "org_x", .slug = "x", .order = order, .n_done = &n, .index = 0},
        {.f = f, .id = "org_y", .slug = "y", .order = order, .n_done = &n, .index = 1},
    };
    for (int i = 0; i < 2; i++)
        assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &j[i], NULL), WR_OK);
    wr_meta_writer_stop(f->w);
    assert_int_equal(n, 2);
    assert_int_equal(j[0].rc, WR_OK);
    assert_int_equal(j[1].rc, WR_OK);
    wr_error err = {0};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &j[0], &err),
                     WR_ERR_UNAVAILABLE);
}

/* Group steps out of order are refused; a plain change after a group commits on its own. */
static void
test_group_step_order(void **state)
{
    fx *f = *state;
    wr_error err = {0};
    wr_meta *m = f->reader;
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_JOB, &err), WR_ERR_INVALID);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_COMMIT, &err), WR_ERR_INVALID);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_BEGIN, &err), WR_OK);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_BEGIN, &err), WR_ERR_INVALID);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_JOB, &err), WR_OK);
    wr_org o = org("org_g", "g");
    assert_int_equal(wr_meta_org_create(m, &o, &err), WR_OK);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_COMMIT, &err), WR_ERR_INVALID); /* job open */
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, &err), WR_OK);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_ABORT, &err), WR_OK);
    assert_false(org_exists(f, "org_g")); /* aborted */
    assert_int_equal(wr_meta_org_create(m, &o, &err), WR_OK);
    assert_true(org_exists(f, "org_g"));
}

/* Several threads, each with its own handle, share the queue: every job completes once and
 * every change is there. (On SQLite their groups take turns at the write lock.) */
static void
test_several_threads(void **state)
{
    fx *f = *state;
    wr_meta_writer_stop(f->w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    wr_meta_writer_free(f->w);
    wr_meta *wm[3];
    wr_error err = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(wr_meta_open_sqlite_shared(f->path, &wm[i], &err), WR_OK);
    assert_int_equal(wr_meta_writer_start(&f->loop, wm, 3, 0, &f->w, &err), WR_OK);
    enum { N = 60 };
    static char ids[N][16], slugs[N][16];
    int order[N], n = 0;
    job j[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "org_t%d", i);
        snprintf(slugs[i], sizeof(slugs[i]), "t%d", i);
        j[i] =
            (job){.f = f, .id = ids[i], .slug = slugs[i], .order = order, .n_done = &n, .index = i};
        assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &j[i], NULL), WR_OK);
    }
    run_until(f, &n, N);
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        assert_false(seen[order[i]]);
        seen[order[i]] = true;
        assert_int_equal(j[i].rc, WR_OK);
        assert_true(j[i].seen);
    }
    /* a handle count the writer cannot take is refused, and the handles are closed */
    wr_meta *none[1];
    wr_meta_writer *w2 = NULL;
    assert_int_equal(wr_meta_writer_start(&f->loop, none, 0, 0, &w2, &err), WR_ERR_INVALID);
    assert_null(w2);
}

/* A job failing with a transaction conflict is run again; after three runs its error stands. */
typedef struct flaky {
    int conflicts; /* how many runs fail with TRANSACTION_CONFLICT before one succeeds */
    int runs;
    wr_err rc;
    int *n_done;
} flaky;

static wr_err
run_flaky(wr_meta *m, void *ctx, wr_error *out_err)
{
    (void)m;
    flaky *k = ctx;
    if (k->runs++ < k->conflicts)
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT, "deadlock (simulated)");
    return WR_OK;
}

static void
done_flaky(void *ctx, wr_err rc, const wr_error *err)
{
    (void)err;
    flaky *k = ctx;
    k->rc = rc;
    (*k->n_done)++;
}

static void
test_conflicts_are_retried(void **state)
{
    fx *f = *state;
    int n = 0;
    flaky once = {.conflicts = 1, .n_done = &n}, always = {.conflicts = 100, .n_done = &n};
    assert_int_equal(wr_meta_writer_submit(f->w, run_flaky, done_flaky, &once, NULL), WR_OK);
    assert_int_equal(wr_meta_writer_submit(f->w, run_flaky, done_flaky, &always, NULL), WR_OK);
    run_until(f, &n, 2);
    assert_int_equal(once.rc, WR_OK);
    assert_int_equal(once.runs, 2);
    assert_int_equal(always.rc, WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(always.runs, 3);
}

/* Batches: jobs next to each other with the same batch function run as one call of it; a batch
 * that fails is undone and its jobs run one by one, each with its own outcome. */
static int n_batches;  /* calls of batch_orgs */
static size_t batched; /* jobs they were given */

static wr_err
batch_orgs(wr_meta *m, void *const *ctxs, size_t n, wr_error *out_err)
{
    n_batches++;
    batched += n;
    for (size_t i = 0; i < n; i++) {
        job *j = ctxs[i];
        j->index += 100; /* marks "made by the batch": done_job restores it */
        wr_org o = org(j->id, j->slug);
        wr_err rc = wr_meta_org_create(m, &o, out_err);
        if (rc != WR_OK) { /* the writer undoes every org of the batch */
            for (size_t k = 0; k <= i; k++)
                ((job *)ctxs[k])->index -= 100;
            return rc;
        }
    }
    return WR_OK;
}

static void
done_batched(void *ctx, wr_err rc, const wr_error *err)
{
    job *j = ctx;
    j->seen = j->index >= 100; /* reused: whether the batch made it */
    if (j->index >= 100)
        j->index -= 100;
    j->rc = rc;
    (void)err;
    j->order[(*j->n_done)++] = j->index;
}

/* Holds the writer thread with a job of its own (the fixture queues 4 at most behind it),
 * queues `n` jobs from g (batch function on those whose `batched` flag is set), lets it go and
 * waits for all. */
static void
queue_behind(fx *f, job *g, const bool *with_batch, int n, int *order, int *n_done)
{
    sem_t hold, started;
    sem_init(&hold, 0, 0);
    sem_init(&started, 0, 0);
    char id[16], slug[16];
    snprintf(id, sizeof(id), "org_h%d", *n_done);
    snprintf(slug, sizeof(slug), "h%d", *n_done);
    job first = {.f = f,
                 .started = &started,
                 .hold = &hold,
                 .id = id,
                 .slug = slug,
                 .order = order,
                 .n_done = n_done,
                 .index = *n_done};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &first, NULL), WR_OK);
    sem_wait(&started); /* what follows queues behind it: one group */
    int want = *n_done + 1 + n;
    for (int i = 0; i < n; i++) {
        wr_meta_job spec = {.run = run_job,
                            .batch = with_batch[i] ? batch_orgs : NULL,
                            .done = done_batched,
                            .ctx = &g[i]};
        if (wr_meta_writer_submit_job(f->w, &spec, NULL) != WR_OK)
            want--; /* fails the test below, after the thread is let go */
    }
    sem_post(&hold);
    run_until(f, n_done, want);
    assert_int_equal(want, *n_done);
    assert_int_equal(first.rc, WR_OK);
    sem_destroy(&hold);
    sem_destroy(&started);
}

static void
test_batches(void **state)
{
    fx *f = *state;
    int order[16], n = 0;
    /* a batch of two that succeeds, a plain job, then a lone batchable job (run as a plain one) */
    job g[4] = {
        {.f = f, .id = "org_1", .slug = "s1", .order = order, .n_done = &n, .index = 1},
        {.f = f, .id = "org_2", .slug = "s2", .order = order, .n_done = &n, .index = 2},
        {.f = f, .id = "org_3", .slug = "s3", .order = order, .n_done = &n, .index = 3},
        {.f = f, .id = "org_4", .slug = "s4", .order = order, .n_done = &n, .index = 4},
    };
    queue_behind(f, g, (const bool[]){true, true, false, true}, 4, order, &n);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order[i], i);
    assert_int_equal(n_batches, 1);
    assert_int_equal(batched, 2);
    assert_true(g[0].seen && g[1].seen); /* made by the batch */
    assert_false(g[2].seen || g[3].seen);
    for (int i = 0; i < 4; i++)
        assert_int_equal(g[i].rc, WR_OK);
    /* a batch of three whose second takes a slug already taken: it is undone, and its jobs run
     * one by one with their own outcomes */
    job h[3] = {
        {.f = f, .id = "org_6", .slug = "s6", .order = order, .n_done = &n, .index = 6},
        {.f = f, .id = "org_7", .slug = "s1", .order = order, .n_done = &n, .index = 7},
        {.f = f, .id = "org_8", .slug = "s8", .order = order, .n_done = &n, .index = 8},
    };
    queue_behind(f, h, (const bool[]){true, true, true}, 3, order, &n);
    for (int i = 5; i < 9; i++)
        assert_int_equal(order[i], i);
    assert_int_equal(n_batches, 2);
    assert_int_equal(batched, 5);
    assert_false(h[0].seen || h[1].seen || h[2].seen);
    assert_int_equal(h[0].rc, WR_OK);
    assert_int_equal(h[1].rc, WR_ERR_RESOURCE_ALREADY_EXISTS);
    assert_int_equal(h[2].rc, WR_OK);
    const char *made[] = {"org_1", "org_2", "org_3", "org_4", "org_6", "org_8"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
        assert_true(org_exists(f, made[i]));
    assert_false(org_exists(f, "org_7"));
}

/* Readers take a few jobs at a time: those next to each other with the same batch function are
 * one call of it; if it fails, they run one by one. */
static int n_read_batches;
static bool read_batch_fails;

static wr_err
read_batch(wr_meta *m, void *const *ctxs, size_t n, wr_error *out_err)
{
    n_read_batches++;
    if (read_batch_fails)
        return wr_error_set(out_err, WR_ERR_STORAGE, "batch refused (test)");
    for (size_t i = 0; i < n; i++) {
        read_job *r = ctxs[i];
        wr_org o;
        r->batch_rc = wr_meta_org_get(m, r->id, &o, NULL);
    }
    return WR_OK;
}

static void
test_reader_batches(void **state)
{
    fx *f = *state;
    wr_meta *rm;
    wr_error err = {0};
    assert_int_equal(wr_meta_open_sqlite_shared(f->path, &rm, &err), WR_OK);
    wr_meta_writer *readers = NULL;
    assert_int_equal(wr_meta_readers_start(&f->loop, &rm, 1, 0, &readers, &err), WR_OK);
    int order[1], n = 0;
    job w = {.f = f, .id = "org_r", .slug = "r", .order = order, .n_done = &n};
    assert_int_equal(wr_meta_writer_submit(f->w, run_job, done_job, &w, NULL), WR_OK);
    run_until(f, &n, 1);
    for (int round = 0; round < 2; round++) {
        read_batch_fails = round == 1;
        sem_t started, hold;
        sem_init(&started, 0, 0);
        sem_init(&hold, 0, 0);
        read_job held = {.started = &started, .hold = &hold, .id = "org_r"};
        assert_int_equal(wr_meta_writer_submit(readers, read_run, read_done, &held, NULL), WR_OK);
        sem_wait(&started); /* the reader is busy: the next four wait and are taken together */
        read_job r[4] = {{.id = "org_r"}, {.id = "org_none"}, {.id = "org_r"}, {.id = "org_r"}};
        for (int i = 0; i < 4; i++) {
            r[i].batch_rc = WR_ERR_OTHER;
            wr_meta_job spec = {
                .run = read_run, .batch = read_batch, .done = read_done, .ctx = &r[i]};
            assert_int_equal(wr_meta_writer_submit_job(readers, &spec, NULL), WR_OK);
        }
        sem_post(&hold);
        while (!r[3].done)
            uv_run(&f->loop, UV_RUN_ONCE);
        assert_int_equal(n_read_batches, round + 1);
        for (int i = 0; i < 4; i++) {
            bool missing = i == 1;
            if (round == 0) { /* the batch read them */
                assert_int_equal(r[i].rc, WR_OK);
                assert_int_equal(r[i].batch_rc, missing ? WR_ERR_NOT_FOUND : WR_OK);
            } else { /* refused: each ran on its own */
                assert_int_equal(r[i].rc, missing ? WR_ERR_NOT_FOUND : WR_OK);
                assert_int_equal(r[i].batch_rc, WR_ERR_OTHER);
            }
        }
        sem_destroy(&started);
        sem_destroy(&hold);
    }
    wr_meta_writer_stop(readers);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    wr_meta_writer_free(readers);
}

/* done_ctx: done gets its own context, run and batch the job's. */
static void
done_other(void *ctx, wr_err rc, const wr_error *err)
{
    (void)err;
    *(wr_err *)ctx = rc;
}

static void
test_done_ctx(void **state)
{
    fx *f = *state;
    int order[1], n = 0;
    job j = {.f = f, .id = "org_d", .slug = "sd", .order = order, .n_done = &n};
    wr_err got = WR_ERR_OTHER;
    wr_meta_job spec = {.run = run_job, .done = done_other, .ctx = &j, .done_ctx = &got};
    assert_int_equal(wr_meta_writer_submit_job(f->w, &spec, NULL), WR_OK);
    while (got == WR_ERR_OTHER)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(got, WR_OK);
    assert_int_equal(n, 0); /* done_job never ran */
    assert_true(org_exists(f, "org_d"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
WR_TEST_MAIN(T(test_completes_in_order_and_visible), T(test_group_savepoints),
             T(test_durable_after_reopen), T(test_stop_finishes_queued), T(test_group_step_order),
             T(test_several_threads), T(test_conflicts_are_retried),
             T(test_writer_yields_to_the_loop), T(test_readers), T(test_batches), T(test_done_ctx),
             T(test_reader_batches))

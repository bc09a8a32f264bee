/*
 * writer.c — the control plane's writer thread (see writer.h).
 *
 * Two lists under one mutex: `queue` (submitted, not yet taken by the thread) and `done`
 * (finished, not yet delivered on the loop). The thread takes the whole queue (up to a group's
 * worth), runs it as one transaction without the lock, then appends the group to `done` and wakes
 * the loop with uv_async_send (which coalesces: one wake-up delivers every finished group).
 *
 * The async handle keeps the loop alive only while jobs are outstanding (submitted and not yet
 * delivered; counted on the loop thread): an idle writer does not hold a stopping server up, and
 * a server that stops accepting still delivers what it had submitted.
 */
#include "meta/writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/hist.h"
#include "util/mem.h"

typedef struct job {
    struct job *next;
    wr_meta_job_run run;
    wr_meta_job_batch batch;
    wr_meta_job_done done;
    void *ctx, *done_ctx;
    wr_err rc;
    wr_error err;
    unsigned attempts; /* runs that ended in a transaction conflict */
} job;

/* A job that lost a transaction conflict (a deadlock between two groups on PostgreSQL) is run
 * again in a later group, up to this many times in all, before its error is answered. */
#define MAX_ATTEMPTS 3
/* Jobs a reader thread takes at a time: few, so that the other readers get the rest. */
#define READER_BATCH 4

typedef struct list {
    job *head, *tail;
    size_t n;
} list;

typedef struct worker {
    struct wr_meta_writer *w;
    wr_meta *m; /* this thread's handle */
    pthread_t thread;
    bool started;
} worker;

struct wr_meta_writer {
    worker workers[WR_META_WRITER_MAX_THREADS];
    size_t n_workers;
    uv_loop_t *loop;
    uv_async_t async;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* the queue got a job, or stopping */
    list queue, done;
    size_t running; /* jobs taken by the threads and not yet in `done` */
    size_t max_queued;
    size_t outstanding; /* loop thread only: submitted and not yet delivered */
    wr_hist commit_seconds;
    bool readonly; /* readers: jobs run one by one outside any transaction */
    bool stopping;
};

static void
push(list *l, job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

/* Moves every job of `from` to the end of `to`. */
static void
list_splice(list *to, list *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    to->n += from->n;
    *from = (list){0};
}

/* Takes at most `max` jobs from the front of `from`. */
static list
take(list *from, size_t max)
{
    list out = {0};
    while (from->head && out.n < max) {
        job *j = from->head;
        from->head = j->next;
        if (!from->head)
            from->tail = NULL;
        from->n--;
        push(&out, j);
    }
    return out;
}

/* One job of a group in its savepoint; *grc and *gerr: the group's state (an error: the group is
 * broken, and the job gets that error without running). */
static void
run_job(wr_meta *m, job *j, wr_err *grc, wr_error *gerr)
{
    if (*grc == WR_OK)
        *grc = wr_meta_group(m, WR_META_GROUP_JOB, gerr);
    if (*grc != WR_OK) {
        j->rc = *grc;
        j->err = *gerr;
        return;
    }
    j->rc = j->run(m, j->ctx, &j->err);
    if (j->rc != WR_OK && j->err.code == WR_OK)
        j->err.code = j->rc;
    *grc = wr_meta_group(m, j->rc == WR_OK ? WR_META_GROUP_JOB_KEEP : WR_META_GROUP_JOB_UNDO, gerr);
    if (*grc != WR_OK && j->rc == WR_OK) {
        j->rc = *grc;
        j->err = *gerr;
    }
}

/* How many jobs from j on share j's batch function (1 without one). */
static size_t
batch_len(const job *j)
{
    size_t n = 1;
    if (j->batch)
        for (const job *k = j->next; k && k->batch == j->batch; k = k->next)
            n++;
    return n;
}

/* Calls j's batch function with the contexts of the n jobs from j. */
static wr_err
call_batch(wr_meta *m, job *j, size_t n)
{
    void **ctxs = wr_xcalloc(n, sizeof(*ctxs));
    job *k = j;
    for (size_t i = 0; i < n; i++, k = k->next)
        ctxs[i] = k->ctx;
    wr_error err = {0};
    wr_err rc = j->batch(m, ctxs, n, &err);
    free(ctxs);
    return rc;
}

/* The n jobs from j as one call of their batch function, in one savepoint. false when it did not
 * succeed: nothing of it was kept and the jobs are to run one by one (or get the group's error). */
static bool
run_batch(wr_meta *m, job *j, size_t n, wr_err *grc, wr_error *gerr)
{
    *grc = wr_meta_group(m, WR_META_GROUP_JOB, gerr);
    if (*grc != WR_OK)
        return false;
    wr_err rc = call_batch(m, j, n);
    *grc = wr_meta_group(m, rc == WR_OK ? WR_META_GROUP_JOB_KEEP : WR_META_GROUP_JOB_UNDO, gerr);
    if (rc != WR_OK)
        return false;
    job *k = j;
    for (size_t i = 0; i < n; i++, k = k->next) {
        k->rc = *grc;
        k->err = *grc == WR_OK ? (wr_error){0} : *gerr;
    }
    return true;
}

/* One group: BEGIN, each job (or batch of jobs) in its savepoint, COMMIT. Sets every job's rc. */
static void
run_group(wr_meta_writer *w, wr_meta *m, list *g)
{
    wr_error gerr = {0};
    wr_err grc = wr_meta_group(m, WR_META_GROUP_BEGIN, &gerr);
    for (job *j = g->head; j;) {
        size_t n = grc == WR_OK ? batch_len(j) : 1;
        if (n > 1 && run_batch(m, j, n, &grc, &gerr)) {
            for (size_t i = 0; i < n; i++)
                j = j->next;
            continue;
        }
        for (size_t i = 0; i < n; i++, j = j->next)
            run_job(m, j, &grc, &gerr);
    }
    if (grc == WR_OK) {
        uint64_t t0 = wr_clock_mono_ns();
        grc = wr_meta_group(m, WR_META_GROUP_COMMIT, &gerr);
        wr_hist_observe(&w->commit_seconds, wr_clock_mono_ns() - t0);
    } else
        wr_meta_group(m, WR_META_GROUP_ABORT, NULL);
    /* Nothing of a failed group is durable: every job that had succeeded fails with it. */
    if (grc != WR_OK)
        for (job *j = g->head; j; j = j->next)
            if (j->rc == WR_OK) {
                j->rc = grc;
                j->err = gerr;
            }
}

/* Readers: each job on its own, in autocommit (a read needs no transaction to be consistent with
 * itself: every operation that reads several rows does so in one statement or its own BEGIN);
 * jobs next to each other with the same batch function as one call of it (if that fails, one
 * by one). */
static void
run_reads(wr_meta *m, list *g)
{
    for (job *j = g->head; j;) {
        size_t n = batch_len(j);
        if (n > 1 && call_batch(m, j, n) == WR_OK) {
            for (size_t i = 0; i < n; i++, j = j->next)
                j->rc = WR_OK;
            continue;
        }
        for (size_t i = 0; i < n; i++, j = j->next) {
            j->rc = j->run(m, j->ctx, &j->err);
            if (j->rc != WR_OK && j->err.code == WR_OK)
                j->err.code = j->rc;
        }
    }
}

static void *
writer_main(void *arg)
{
    worker *k = arg;
    wr_meta_writer *w = k->w;
    /* Linux: a thread's nice value is its own. Best effort: a failure only keeps the default. */
    int base = getpriority(PRIO_PROCESS, 0);
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), base + WR_META_WRITER_NICE);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->queue.head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->mu);
        if (!w->queue.head)
            break; /* stopping and drained */
        list g = take(&w->queue, w->readonly ? READER_BATCH : WR_META_WRITER_GROUP);
        w->running += g.n;
        pthread_mutex_unlock(&w->mu);
        if (w->readonly)
            run_reads(k->m, &g);
        else
            run_group(w, k->m, &g);
        list again = {0}, done = {0};
        for (job *j = g.head, *n; j; j = n) {
            n = j->next;
            bool retry = j->rc == WR_ERR_TRANSACTION_CONFLICT && ++j->attempts < MAX_ATTEMPTS;
            push(retry ? &again : &done, j);
        }
        pthread_mutex_lock(&w->mu);
        w->running -= g.n;
        list_splice(&again, &w->queue); /* ahead of what came after them */
        w->queue = again;
        if (w->queue.head)
            pthread_cond_signal(&w->cond);
        if (done.head) {
            list_splice(&w->done, &done);
            uv_async_send(&w->async);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Delivers every finished job, in order. Loop thread. */
static void
deliver(wr_meta_writer *w)
{
    pthread_mutex_lock(&w->mu);
    list d = w->done;
    w->done = (list){0};
    pthread_mutex_unlock(&w->mu);
    for (job *j = d.head, *n; j; j = n) {
        n = j->next;
        w->outstanding--;
        j->done(j->done_ctx ? j->done_ctx : j->ctx, j->rc, &j->err);
        free(j);
    }
    if (w->outstanding == 0 && !uv_is_closing((uv_handle_t *)&w->async))
        uv_unref((uv_handle_t *)&w->async);
}

static void
on_async(uv_async_t *h)
{
    deliver(h->data);
}

static wr_err
start(uv_loop_t *loop, wr_meta *const *m, size_t n, size_t max_queued, bool readonly,
      wr_meta_writer **out, wr_error *out_err)
{
    *out = NULL;
    if (n == 0 || n > WR_META_WRITER_MAX_THREADS) {
        for (size_t i = 0; i < n; i++)
            wr_meta_close(m[i]);
        return wr_error_set(out_err, WR_ERR_INVALID, "a control-plane writer takes 1 to %d handles",
                            WR_META_WRITER_MAX_THREADS);
    }
    wr_meta_writer *w = wr_xcalloc(1, sizeof(*w));
    w->loop = loop;
    w->max_queued = max_queued ? max_queued : 65536;
    w->readonly = readonly;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    wr_hist_init(&w->commit_seconds, wr_hist_latency_ns, wr_hist_latency_n, 1e-9);
    uv_async_init(loop, &w->async, on_async);
    w->async.data = w;
    uv_unref((uv_handle_t *)&w->async);
    w->n_workers = n;
    for (size_t i = 0; i < n; i++) {
        w->workers[i].w = w;
        w->workers[i].m = m[i];
    }
    for (size_t i = 0; i < n; i++) {
        worker *k = &w->workers[i];
        if (pthread_create(&k->thread, NULL, writer_main, k) != 0) {
            wr_meta_writer_stop(w);      /* joins the threads already started */
            uv_run(loop, UV_RUN_NOWAIT); /* finish the async handle's close before freeing */
            wr_meta_writer_free(w);
            return wr_error_set(out_err, WR_ERR_OTHER, "cannot start the control-plane writer");
        }
        k->started = true;
    }
    *out = w;
    return WR_OK;
}

wr_err
wr_meta_writer_start(uv_loop_t *loop, wr_meta *const *m, size_t n, size_t max_queued,
                     wr_meta_writer **out, wr_error *out_err)
{
    return start(loop, m, n, max_queued, false, out, out_err);
}

wr_err
wr_meta_readers_start(uv_loop_t *loop, wr_meta *const *m, size_t n, size_t max_queued,
                      wr_meta_writer **out, wr_error *out_err)
{
    return start(loop, m, n, max_queued, true, out, out_err);
}

wr_err
wr_meta_writer_submit(wr_meta_writer *w, wr_meta_job_run run, wr_meta_job_done done, void *ctx,
                      wr_error *out_err)
{
    wr_meta_job j = {.run = run, .done = done, .ctx = ctx};
    return wr_meta_writer_submit_job(w, &j, out_err);
}

wr_err
wr_meta_writer_submit_job(wr_meta_writer *w, const wr_meta_job *spec, wr_error *out_err)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->queue.n >= w->max_queued) {
        bool stopping = w->stopping;
        pthread_mutex_unlock(&w->mu);
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE,
                            stopping ? "the server is shutting down"
                                     : "too many control-plane changes waiting; retry");
    }
    job *j = wr_xcalloc(1, sizeof(*j));
    j->run = spec->run;
    j->batch = spec->batch;
    j->done = spec->done;
    j->ctx = spec->ctx;
    j->done_ctx = spec->done_ctx;
    push(&w->queue, j);
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (w->outstanding++ == 0)
        uv_ref((uv_handle_t *)&w->async);
    return WR_OK;
}

const wr_hist *
wr_meta_writer_commit_hist(const wr_meta_writer *w)
{
    return &w->commit_seconds;
}

size_t
wr_meta_writer_pending(wr_meta_writer *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->queue.n + w->running;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void
wr_meta_writer_stop(wr_meta_writer *w)
{
    if (!w || uv_is_closing((uv_handle_t *)&w->async))
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < w->n_workers; i++)
        if (w->workers[i].started) {
            pthread_join(w->workers[i].thread, NULL);
            w->workers[i].started = false;
        }
    deliver(w);
    uv_close((uv_handle_t *)&w->async, NULL);
}

void
wr_meta_writer_free(wr_meta_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_workers; i++)
        wr_meta_close(w->workers[i].m);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

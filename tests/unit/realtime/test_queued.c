/*
 * test_queued.c — the per-environment bound on control-plane changes in flight
 * (wr_rt_meta_change, rt_int.h): the writer's queue is shared by every tenant, so one
 * environment may hold at most WR_RT_QUEUED_PER_ENV changes. Jobs block on the writer thread
 * until released, so the count is observed while they are in flight:
 *   - an environment's first WR_RT_QUEUED_PER_ENV changes are queued, the next is refused at once
 *     with RATE_LIMITED (its done runs before wr_rt_meta_change returns, its job never);
 *   - another environment and the operator's changes (no environment) still go through;
 *   - once the jobs finish the counts return to 0 and the environment may queue again;
 *   - the reader threads' reads (wr_rt_meta_read) are bounded the same way per credential.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <semaphore.h>
#include <uv.h>

#include "realtime/rt_int.h"
#include "support/test_main.h"

static sem_t gate; /* each job waits for one post */

typedef struct tally {
    size_t ran, ok, limited, other;
} tally;

static wr_err
blocking_run(wr_meta *m, void *ctx, wr_error *out_err)
{
    (void)m;
    (void)out_err;
    tally *t = ctx;
    sem_wait(&gate);
    __atomic_add_fetch(&t->ran, 1, __ATOMIC_SEQ_CST);
    return WR_OK;
}

static void
count_done(void *ctx, wr_err rc, const wr_error *err)
{
    tally *t = ctx;
    if (rc == WR_OK)
        t->ok++;
    else if (rc == WR_ERR_RATE_LIMITED && err && strstr(err->msg, "in flight"))
        t->limited++;
    else
        t->other++;
}

static void
test_bound_per_env(void **state)
{
    (void)state;
    assert_int_equal(sem_init(&gate, 0, 0), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    wr_meta *m = NULL;
    wr_error err = {0};
    assert_int_equal(wr_meta_open_sqlite(":memory:", &m, &err), WR_OK);
    wr_meta_writer *w = NULL;
    assert_int_equal(wr_meta_writer_start(&loop, &m, 1, 0, &w, &err), WR_OK);
    wr_rt *rt = calloc(1, sizeof(*rt));
    rt->writer = w;

    tally a = {0}, b = {0}, op = {0};
    for (int i = 0; i < WR_RT_QUEUED_PER_ENV; i++)
        wr_rt_meta_change(rt, "env_a", blocking_run, count_done, &a);
    assert_int_equal(wr_rt_meta_queued(rt, "env_a"), WR_RT_QUEUED_PER_ENV);
    wr_rt_meta_change(rt, "env_a", blocking_run, count_done, &a); /* one too many */
    assert_int_equal(a.limited, 1);
    assert_int_equal(a.ok + a.other, 0);
    wr_rt_meta_change(rt, "env_b", blocking_run, count_done, &b);
    wr_rt_meta_change(rt, NULL, blocking_run, count_done, &op);
    assert_int_equal(wr_rt_meta_queued(rt, "env_b"), 1);
    assert_int_equal(wr_rt_meta_queued(rt, "env_c"), 0);
    assert_int_equal(b.limited + op.limited, 0);

    for (int i = 0; i < WR_RT_QUEUED_PER_ENV + 2; i++)
        sem_post(&gate);
    while (a.ok + b.ok + op.ok < WR_RT_QUEUED_PER_ENV + 2u)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(a.ran, WR_RT_QUEUED_PER_ENV); /* the refused job never ran */
    assert_int_equal(a.other + b.other + op.other, 0);
    assert_int_equal(wr_rt_meta_queued(rt, "env_a"), 0);
    assert_int_equal(wr_rt_meta_queued(rt, "env_b"), 0);

    wr_rt_meta_change(rt, "env_a", blocking_run, count_done, &a); /* room again */
    assert_int_equal(wr_rt_meta_queued(rt, "env_a"), 1);
    sem_post(&gate);
    while (a.ok < WR_RT_QUEUED_PER_ENV + 1u)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(a.limited, 1);

    wr_meta_writer_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    wr_meta_writer_free(w);
    wr_rt_free(rt);
    assert_int_equal(uv_loop_close(&loop), 0);
    sem_destroy(&gate);
}

/* The same bound on the reader threads (wr_rt_meta_read), per credential: one credential's
 * reads past WR_RT_READS_PER_CREDENTIAL are refused, another's and weir's own go through. */
static void
test_reads_bound_per_credential(void **state)
{
    (void)state;
    assert_int_equal(sem_init(&gate, 0, 0), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    wr_meta *m = NULL;
    wr_error err = {0};
    assert_int_equal(wr_meta_open_sqlite(":memory:", &m, &err), WR_OK);
    wr_meta_writer *r = NULL;
    assert_int_equal(wr_meta_readers_start(&loop, &m, 1, 0, &r, &err), WR_OK);
    wr_rt *rt = calloc(1, sizeof(*rt));
    rt->readers = r;

    tally a = {0}, b = {0}, own = {0};
    for (int i = 0; i < WR_RT_READS_PER_CREDENTIAL; i++)
        wr_rt_meta_read(rt, "cred_a", blocking_run, NULL, count_done, &a);
    wr_rt_meta_read(rt, "cred_a", blocking_run, NULL, count_done, &a); /* one too many */
    assert_int_equal(a.limited, 1);
    wr_rt_meta_read(rt, "cred_b", blocking_run, NULL, count_done, &b);
    wr_rt_meta_read(rt, NULL, blocking_run, NULL, count_done, &own);
    assert_int_equal(b.limited + own.limited, 0);
    assert_int_equal(wr_rt_meta_queued(rt, "read:cred_a"), WR_RT_READS_PER_CREDENTIAL);

    for (int i = 0; i < WR_RT_READS_PER_CREDENTIAL + 2; i++)
        sem_post(&gate);
    while (a.ok + b.ok + own.ok < WR_RT_READS_PER_CREDENTIAL + 2u)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(a.ran, WR_RT_READS_PER_CREDENTIAL);
    assert_int_equal(a.other + b.other + own.other, 0);
    assert_int_equal(wr_rt_meta_queued(rt, "read:cred_a"), 0);

    wr_meta_writer_stop(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    wr_meta_writer_free(r);
    wr_rt_free(rt);
    assert_int_equal(uv_loop_close(&loop), 0);
    sem_destroy(&gate);
}

WR_TEST_MAIN(cmocka_unit_test(test_bound_per_env),
             cmocka_unit_test(test_reads_bound_per_credential))

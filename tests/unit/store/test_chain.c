/*
 * test_chain.c — wr_append_chain: once an append of a chain fails, nothing submitted after it on
 * that chain is written, while appends submitted before it (and other streams/chains) are
 * unaffected. This is what makes an s2s append session's first failure poison the session.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/store_support.h"
#include "util/clock.h"

#define B "chain-basin"

typedef struct slot {
    int *n_done;
    wr_append_result res;
} slot;

static void
on_done(void *ud, const wr_append_result *res)
{
    slot *s = ud;
    s->res = *res;
    (*s->n_done)++;
}

static const ts_fixture fx = {.basin = B, .create_on_append = true, .create_on_read = true};

/* Rows: which input of ten fails, and how. Inputs before it land; none after it does. */
static void
test_first_failure_poisons_the_rest(void **state)
{
    ts_env *e = *state;
    struct {
        const char *name;
        int bad;
        bool bad_condition; /* else: 0 records (422 at submission) */
    } rows[] = {
        {"condition fails at sequencing", 4, true},
        {"validation fails at submission", 6, false},
        {"first input fails", 0, true},
        {"last input fails", 9, false},
    };
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        char stream[32];
        snprintf(stream, sizeof(stream), "s%zu", r);
        wr_append_chain chain = {0};
        wr_append_record recs[10];
        wr_append_input ins[10];
        slot slots[10];
        int n_done = 0;
        for (int i = 0; i < 10; i++) {
            recs[i] = ts_rec("x");
            ins[i] = (wr_append_input){.records = &recs[i], .n_records = 1, .chain = &chain};
            if (i == rows[r].bad && rows[r].bad_condition) {
                ins[i].has_match_seq = true;
                ins[i].match_seq = 12345;
            } else if (i == rows[r].bad) {
                ins[i].n_records = 0;
            }
            slots[i] = (slot){&n_done, {0}};
            wr_store_append(e->s, B, stream, &ins[i], on_done, &slots[i]);
        }
        while (n_done < 10)
            uv_run(&e->loop, UV_RUN_ONCE);
        for (int i = 0; i < 10; i++) {
            if (i < rows[r].bad && slots[i].res.err != WR_OK)
                fail_msg("%s: input %d before the failure failed", rows[r].name, i);
            if (i >= rows[r].bad && slots[i].res.err == WR_OK)
                fail_msg("%s: input %d at/after the failure was written", rows[r].name, i);
        }
        wr_pos tail;
        wr_error err;
        assert_int_equal(wr_store_check_tail(e->s, B, stream, &tail, &err), WR_OK);
        if (tail.seq != (uint64_t)rows[r].bad)
            fail_msg("%s: tail %llu, want %d", rows[r].name, (unsigned long long)tail.seq,
                     rows[r].bad);
    }
}

/* Appends without a chain, or on another chain, are not affected by a failed chain. */
static void
test_independent_of_other_chains(void **state)
{
    ts_env *e = *state;
    wr_append_chain bad = {0}, good = {0};
    wr_append_record rec = ts_rec("y");
    wr_append_input fail_in = {.records = &rec, .n_records = 0, .chain = &bad};
    wr_append_input a = {.records = &rec, .n_records = 1, .chain = &good};
    wr_append_input b = {.records = &rec, .n_records = 1};
    int n_done = 0;
    slot s1 = {&n_done, {0}}, s2 = {&n_done, {0}}, s3 = {&n_done, {0}};
    wr_store_append(e->s, B, "mix", &fail_in, on_done, &s1);
    wr_store_append(e->s, B, "mix", &a, on_done, &s2);
    wr_store_append(e->s, B, "mix", &b, on_done, &s3);
    while (n_done < 3)
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_int_equal(s1.res.err, WR_ERR_INVALID);
    assert_int_equal(s2.res.err, WR_OK);
    assert_int_equal(s3.res.err, WR_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_first_failure_poisons_the_rest, &fx),
        TS_TEST(test_independent_of_other_chains, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_naming_group.c — wr_rt_stream_group_len: which environment a stream name belongs to, for
 * the store's per-environment stream limit. One table: the shared basin's and an organization
 * basin's layouts, and the names that belong to no environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "realtime/naming.h"
#include "support/test_main.h"

#define G "weir-shared"
#define ORG_BASIN "weir-dev-org-a1"

static void
test_group_len(void **state)
{
    (void)state;
    struct {
        const char *what;
        const char *basin;
        const char *stream;
        const char *want; /* the group prefix; "" = no group */
    } rows[] = {
        /* The shared basin: org/{orgId}/env/{envSlug}/{envId}/. */
        {"shared: run stream", G, "org/o1/env/prod/e1/runs/r1/chat", "org/o1/env/prod/e1/"},
        {"shared: session channel", G, "org/o1/env/dev/e2/sessions/k/out", "org/o1/env/dev/e2/"},
        {"shared: prefix and one more slash", G, "org/o1/env/prod/e1/", "org/o1/env/prod/e1/"},
        {"shared: no slash after the env id", G, "org/o1/env/prod/e1", ""},
        {"shared: an org basin layout is no group here", G, "env/prod/e1/runs/r1/x", ""},
        {"shared: empty org id", G, "org//env/prod/e1/runs/r", ""},
        {"shared: empty env slug", G, "org/o1/env//e1/runs/r", ""},
        {"shared: empty env id", G, "org/o1/env/prod//runs/r", ""},
        {"shared: not env after the org", G, "org/o1/envs/prod/e1/x", ""},
        {"shared: case matters", G, "ORG/o1/env/prod/e1/x", ""},
        {"shared: plain name", G, "chat", ""},
        {"shared: unicode parts", G, "org/ö/env/é/ü/x", "org/ö/env/é/ü/"},
        /* Any other basin: env/{envSlug}/{envId}/. */
        {"org basin: run stream", ORG_BASIN, "env/prod/e1/runs/r1/chat", "env/prod/e1/"},
        {"org basin: session channel", ORG_BASIN, "env/stg/e9/sessions/k/in", "env/stg/e9/"},
        {"org basin: shared layout is no group", ORG_BASIN, "org/o1/env/prod/e1/runs/r", ""},
        {"org basin: no slash after the env id", ORG_BASIN, "env/prod/e1", ""},
        {"org basin: empty slug", ORG_BASIN, "env//e1/x", ""},
        {"org basin: empty id", ORG_BASIN, "env/prod//x", ""},
        {"org basin: only env/", ORG_BASIN, "env/", ""},
        {"org basin: plain name", ORG_BASIN, "s", ""},
        {"a basin whose name starts like the shared one", "weir-shared-2", "org/o1/env/prod/e1/x",
         ""},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t got = wr_rt_stream_group_len(G, rows[i].basin, rows[i].stream);
        size_t want = strlen(rows[i].want);
        if (got != want)
            fail_msg("%s: got %zu want %zu (%s)", rows[i].what, got, want, rows[i].want);
        if (want && strncmp(rows[i].stream, rows[i].want, want) != 0)
            fail_msg("%s: table row is wrong", rows[i].what);
        /* Every name under the prefix gets the same answer (what the store's counter needs). */
        if (want) {
            char longer[600];
            snprintf(longer, sizeof(longer), "%s%s", rows[i].want, "any/thing/else");
            if (wr_rt_stream_group_len(G, rows[i].basin, longer) != want)
                fail_msg("%s: a longer name under the prefix changed the group", rows[i].what);
        }
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_group_len))

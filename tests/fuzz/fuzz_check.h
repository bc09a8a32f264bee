/*
 * fuzz_check.h — what the fuzz drivers share: a check that aborts (so libFuzzer and the replay
 * runner both report the input) whatever NDEBUG says.
 */
#ifndef WR_FUZZ_CHECK_H
#define WR_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

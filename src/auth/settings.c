/*
 * settings.c — the access-token option table (see settings.h).
 */
#include "auth/settings.h"

#include <stdio.h>
#include <string.h>

#define FIELD(f, T) WR_OPT_FIELD(wr_auth_settings, f, T)

/* --auth: "tokens" (auth_none false) or "none" (true). */
static bool
parse_auth_mode(const char *s, void *field, char *msg, size_t msg_len)
{
    if (strcmp(s, "tokens") != 0 && strcmp(s, "none") != 0) {
        snprintf(msg, msg_len, "must be tokens or none");
        return false;
    }
    *(bool *)field = strcmp(s, "none") == 0;
    return true;
}

static const wr_opt rows[] = {
    {"auth", "WEIR_AUTH", "tokens", "MODE", WR_OPT_CUSTOM, FIELD(auth_none, bool), 0, 0,
     "tokens: every /v1 request needs a valid access token (Authorization: Bearer). none: an "
     "emulator mode that accepts any token; never expose it beyond a trusted machine.",
     .parse = parse_auth_mode},
    {NULL, "WEIR_ROOT_TOKEN", "", NULL, WR_OPT_SECRET, FIELD(root_token, char *), 0, 0,
     "The root access token (all permissions). When unset, one is generated on first start and "
     "kept in <data-dir>/root_token (mode 0600)."},
    {NULL, "WEIR_SECRET_KEY", "", NULL, WR_OPT_SECRET, FIELD(secret_key, char *), 0, 0,
     "The key that encrypts environment API keys at rest: 64 hex digits or 32 bytes in base64. "
     "When unset, one is generated on first start into <data-dir>/secret_key (mode 0600)."},
};

const wr_opt_table wr_auth_settings_table = WR_OPT_TABLE(rows);

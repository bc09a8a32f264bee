/*
 * settings.h — access-token options (flags and WEIR_* variables, util/config.h): the mode,
 * the root token and the key that encrypts API keys at rest.
 */
#ifndef WR_AUTH_SETTINGS_H
#define WR_AUTH_SETTINGS_H

#include <stdbool.h>

#include "util/config.h"

typedef struct wr_auth_settings {
    bool auth_none;   /* --auth none */
    char *root_token; /* WEIR_ROOT_TOKEN; NULL = from/into <data-dir>/root_token */
    char *secret_key; /* WEIR_SECRET_KEY; NULL = from/into <data-dir>/secret_key */
} wr_auth_settings;

extern const wr_opt_table wr_auth_settings_table;

#endif

/*
 * keybox.h — secrets kept at rest encrypted: environment API keys, which weir must be able to
 * recover (trigger.dev's SDK signs public tokens locally with the raw key, so weir verifies them
 * with it) but must never store or log in plain text.
 *
 * Cipher: AES-256-GCM with a random 96-bit nonce per seal; the sealed form is
 *   nonce (12 bytes) ‖ ciphertext (as long as the secret) ‖ tag (16 bytes)
 * and the caller's `context` (the environment id) is authenticated as associated data, so a
 * sealed key copied onto another row does not open.
 *
 * The key-encryption key (KEK) is 32 bytes: WEIR_SECRET_KEY when set (64 hex digits, or 32 bytes
 * in padded standard base64), else `<data-dir>/secret_key` (64 hex digits, created with mode 0600 and fsynced on
 * first start). Losing it loses every sealed key (environments must then rotate theirs);
 * changing it makes every sealed key fail to open.
 *
 * Pure after open; any thread.
 */
#ifndef WR_AUTH_KEYBOX_H
#define WR_AUTH_KEYBOX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define WR_KEYBOX_OVERHEAD 28 /* nonce + tag */

typedef struct wr_keybox wr_keybox;

/*
 * Loads the KEK from `kek_text` (non-NULL: WEIR_SECRET_KEY) or from `<data_dir>/secret_key`,
 * creating that file when missing. Errors: INVALID (kek_text is not 32 bytes of hex or base64),
 * STORAGE (the file cannot be read or written, or is malformed).
 */
wr_err wr_keybox_open(const char *data_dir, const char *kek_text, wr_keybox **out,
                      wr_error *out_err);
/* Wipes and frees. NULL is a no-op. */
void wr_keybox_free(wr_keybox *kb);

/* Seals `secret` (len bytes) bound to `context` into out (cap >= len + WR_KEYBOX_OVERHEAD);
 * *out_len is the sealed length. Errors: INVALID (cap too small). */
wr_err wr_keybox_seal(const wr_keybox *kb, const char *context, const void *secret, size_t len,
                      uint8_t *out, size_t cap, size_t *out_len, wr_error *out_err);
/*
 * Opens a sealed secret bound to `context` into out (cap bytes; NUL-terminated when room is
 * left); *out_len is its length. Errors: AUTHN (wrong KEK, wrong context or tampered), INVALID
 * (malformed or cap too small).
 */
wr_err wr_keybox_open_secret(const wr_keybox *kb, const char *context, const uint8_t *sealed,
                             size_t sealed_len, char *out, size_t cap, size_t *out_len,
                             wr_error *out_err);

#endif

/*
 * keybox.c — see keybox.h. OpenSSL's EVP AEAD interface; the KEK lives only in the struct and is
 * wiped on free.
 */
#include "auth/keybox.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/hex.h"
#include "util/mem.h"

#define NONCE 12
#define TAG 16

struct wr_keybox {
    uint8_t kek[32];
};

/* 64 hex digits, or standard padded base64 (44 characters) of exactly 32 bytes. */
static bool
parse_kek(const char *s, uint8_t out[32])
{
    if (wr_hex_decode(s, out, 32))
        return true;
    size_t len = strlen(s), n = 0;
    uint8_t buf[48];
    if (len != 44 || !wr_base64_decode_to(s, len, buf, &n) || n != 32)
        return false;
    memcpy(out, buf, 32);
    OPENSSL_cleanse(buf, sizeof(buf));
    return true;
}

/* Writes a new random KEK as hex to path (0600, fsynced with its directory). */
static wr_err
create_kek_file(const char *data_dir, const char *path, uint8_t kek[32], wr_error *out_err)
{
    if (RAND_bytes(kek, 32) != 1)
        abort();
    char hex[65];
    wr_hex_encode(kek, 32, hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ok = ok && fsync(dfd) == 0;
        close(dfd);
    }
    OPENSSL_cleanse(hex, sizeof(hex));
    if (!ok)
        return wr_error_set(out_err, WR_ERR_STORAGE, "cannot write %s: %s", path, strerror(saved));
    return WR_OK;
}

static wr_err
kek_from_file(const char *data_dir, uint8_t kek[32], wr_error *out_err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/secret_key", data_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT)
            return wr_error_set(out_err, WR_ERR_STORAGE, "%s: %s", path, strerror(errno));
        return create_kek_file(data_dir, path, kek, out_err);
    }
    char buf[128] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    bool ok = wr_hex_decode(buf, kek, 32);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (!ok)
        return wr_error_set(out_err, WR_ERR_STORAGE, "%s: expected 64 hex digits", path);
    return WR_OK;
}

wr_err
wr_keybox_open(const char *data_dir, const char *kek_text, wr_keybox **out, wr_error *out_err)
{
    *out = NULL;
    wr_keybox *kb = wr_xcalloc(1, sizeof(*kb));
    wr_err err = WR_OK;
    if (kek_text) {
        if (!parse_kek(kek_text, kb->kek))
            err = wr_error_set(out_err, WR_ERR_INVALID,
                               "WEIR_SECRET_KEY must be 32 bytes: 64 hex digits or base64");
    } else {
        err = kek_from_file(data_dir, kb->kek, out_err);
    }
    if (err != WR_OK) {
        wr_keybox_free(kb);
        return err;
    }
    *out = kb;
    return WR_OK;
}

void
wr_keybox_free(wr_keybox *kb)
{
    if (!kb)
        return;
    OPENSSL_cleanse(kb, sizeof(*kb));
    free(kb);
}

/*
 * AES-256-GCM fetched from OpenSSL's provider once: EVP_aes_256_gcm() makes every Init look the
 * implementation up again (a session create opens its environment's key to sign the public
 * token it answers with: ~3 % of its CPU went to that look-up). Any thread may seal or open.
 */
static EVP_CIPHER *gcm_fetched;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void
gcm_fetch(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *
gcm(void)
{
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_fetched ? gcm_fetched : EVP_aes_256_gcm();
}

wr_err
wr_keybox_seal(const wr_keybox *kb, const char *context, const void *secret, size_t len,
               uint8_t *out, size_t cap, size_t *out_len, wr_error *out_err)
{
    if (cap < len + WR_KEYBOX_OVERHEAD || len > 4096)
        return wr_error_set(out_err, WR_ERR_INVALID, "sealed secret does not fit");
    if (RAND_bytes(out, NONCE) != 1)
        abort();
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    bool ok = c && EVP_EncryptInit_ex(c, gcm(), NULL, kb->kek, out) == 1 &&
              EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)context, (int)strlen(context)) == 1 &&
              EVP_EncryptUpdate(c, out + NONCE, &n, secret, (int)len) == 1 &&
              EVP_EncryptFinal_ex(c, out + NONCE + n, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, out + NONCE + len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        abort(); /* AES-GCM with valid arguments cannot fail but for memory exhaustion */
    *out_len = len + WR_KEYBOX_OVERHEAD;
    return WR_OK;
}

wr_err
wr_keybox_open_secret(const wr_keybox *kb, const char *context, const uint8_t *sealed,
                      size_t sealed_len, char *out, size_t cap, size_t *out_len, wr_error *out_err)
{
    if (sealed_len < WR_KEYBOX_OVERHEAD)
        return wr_error_set(out_err, WR_ERR_INVALID, "sealed secret is malformed");
    size_t len = sealed_len - WR_KEYBOX_OVERHEAD;
    if (cap < len + 1)
        return wr_error_set(out_err, WR_ERR_INVALID, "secret does not fit");
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    bool ok =
        c && EVP_DecryptInit_ex(c, gcm(), NULL, kb->kek, sealed) == 1 &&
        EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)context, (int)strlen(context)) == 1 &&
        EVP_DecryptUpdate(c, (uint8_t *)out, &n, sealed + NONCE, (int)len) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(sealed + NONCE + len)) == 1 &&
        EVP_DecryptFinal_ex(c, (uint8_t *)out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, cap);
        return wr_error_set(out_err, WR_ERR_AUTHN, "sealed secret does not open");
    }
    out[len] = '\0';
    *out_len = len;
    return WR_OK;
}

/*
 * sha256.c — see sha256.h.
 */
#include "util/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* Each thread's digest context, reused: EVP_Digest allocates, initialises and frees one per
 * call, which was most of the cost of hashing a bearer token on every request. Freed when the
 * thread exits. */
static pthread_key_t ctx_key;
static bool ctx_key_ok;

static void
ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void
md_fetch(void)
{
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0;
}

/* This thread's context, or NULL when it cannot have one (allocation failed). */
static EVP_MD_CTX *
thread_ctx(void)
{
    pthread_once(&md_once, md_fetch);
    if (!ctx_key_ok)
        return NULL;
    EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (ctx && pthread_setspecific(ctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    return ctx;
}

const EVP_MD *
wr_sha256_md(void)
{
    pthread_once(&md_once, md_fetch);
    return md ? md : EVP_sha256();
}

void
wr_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_MD_CTX *ctx = thread_ctx();
    if (ctx && EVP_DigestInit_ex2(ctx, wr_sha256_md(), NULL) && EVP_DigestUpdate(ctx, p, n) &&
        EVP_DigestFinal_ex(ctx, out, &len))
        return;
    if (EVP_Digest(p, n, out, &len, wr_sha256_md(), NULL) != 1)
        SHA256(p, n, out);
}

void
wr_hmac_sha256(const void *key, size_t key_len, const void *a, size_t a_len, const void *b,
               size_t b_len, uint8_t out[32])
{
    uint8_t k[64] = {0}, pad[64];
    if (key_len > sizeof(k))
        wr_sha256(key, key_len, k);
    else if (key_len)
        memcpy(k, key, key_len);
    EVP_MD_CTX *ctx = thread_ctx();
    const EVP_MD *d = wr_sha256_md();
    unsigned int n = 32;
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    bool ok = ctx && EVP_DigestInit_ex(ctx, d, NULL) && EVP_DigestUpdate(ctx, pad, sizeof(pad)) &&
              EVP_DigestUpdate(ctx, a, a_len) && (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len)) &&
              EVP_DigestFinal_ex(ctx, out, &n);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(ctx, d, NULL) && EVP_DigestUpdate(ctx, pad, sizeof(pad)) &&
         EVP_DigestUpdate(ctx, out, 32) && EVP_DigestFinal_ex(ctx, out, &n);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    if (!ok)
        abort(); /* SHA-256 is always available; only allocation can fail */
}

/*
 * sha256.c — see sha256.h.
 */
#include "util/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>

static EVP_MD *md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_fetch(void)
{
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
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
    if (EVP_Digest(p, n, out, &len, wr_sha256_md(), NULL) != 1)
        SHA256(p, n, out);
}

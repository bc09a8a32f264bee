/*
 * ttlset.c — the bounded expiring set (ttlset.h): a chained hash table whose entries are also on
 * one list in order of (last) addition, so the oldest is at the head: it is the one dropped when
 * the set is full, and expiry only ever needs to look at that end.
 */
#include "util/ttlset.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/mem.h"

typedef struct entry {
    struct entry *chain;       /* same bucket */
    struct entry *prev, *next; /* addition order: head = oldest */
    uint64_t expires_ms;
    char key[];
} entry;

struct wr_ttlset {
    entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t len, max;
    uint64_t ttl_ms;
    entry *head, *tail;
};

wr_ttlset *
wr_ttlset_new(size_t max, uint64_t ttl_ms)
{
    wr_ttlset *s = wr_xcalloc(1, sizeof(*s));
    s->max = max ? max : 1;
    s->ttl_ms = ttl_ms;
    s->n_buckets = 16;
    while (s->n_buckets < s->max && s->n_buckets < ((size_t)1 << 20))
        s->n_buckets <<= 1;
    s->buckets = wr_xcalloc(s->n_buckets, sizeof(*s->buckets));
    return s;
}

void
wr_ttlset_free(wr_ttlset *s)
{
    if (!s)
        return;
    for (entry *e = s->head, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    free(s->buckets);
    free(s);
}

static entry **
slot(wr_ttlset *s, const char *key)
{
    uint64_t h = wr_hash_fnv1a(WR_FNV1A_SEED, key, strlen(key));
    entry **p = &s->buckets[h & (s->n_buckets - 1)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->chain;
    return p;
}

static void
list_unlink(wr_ttlset *s, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void
list_append(wr_ttlset *s, entry *e)
{
    e->prev = s->tail;
    if (s->tail)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
}

/* Removes the entry at *p (a bucket slot). */
static void
drop(wr_ttlset *s, entry **p)
{
    entry *e = *p;
    *p = e->chain;
    list_unlink(s, e);
    free(e);
    s->len--;
}

bool
wr_ttlset_has(wr_ttlset *s, const char *key, uint64_t now_ms)
{
    entry **p = slot(s, key);
    if (!*p)
        return false;
    if ((*p)->expires_ms > now_ms)
        return true;
    drop(s, p);
    return false;
}

void
wr_ttlset_add(wr_ttlset *s, const char *key, uint64_t now_ms)
{
    entry **p = slot(s, key);
    if (*p) {
        list_unlink(s, *p);
        (*p)->expires_ms = now_ms + s->ttl_ms;
        list_append(s, *p);
        return;
    }
    if (s->len == s->max) {
        entry *old = s->head;
        drop(s, slot(s, old->key));
        p = slot(s, key); /* the chain may have changed */
    }
    size_t n = strlen(key) + 1;
    entry *e = wr_xcalloc(1, sizeof(*e) + n);
    memcpy(e->key, key, n);
    e->expires_ms = now_ms + s->ttl_ms;
    *p = e;
    list_append(s, e);
    s->len++;
}

void
wr_ttlset_del(wr_ttlset *s, const char *key)
{
    entry **p = slot(s, key);
    if (*p)
        drop(s, p);
}

size_t
wr_ttlset_len(const wr_ttlset *s)
{
    return s->len;
}

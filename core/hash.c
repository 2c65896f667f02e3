/* Configuration-time hashes; see bw_hash.h. Lookups never allocate. */

#include <bw_core.h>

bw_uint_t
bw_hash_key(u_char *data, size_t len)
{
    bw_uint_t  key;

    for (key = 0; len; len--) {
        key = bw_hash(key, *data++);
    }
    return key;
}

bw_uint_t
bw_hash_key_lc(u_char *data, size_t len)
{
    bw_uint_t  key;

    for (key = 0; len; len--, data++) {
        key = bw_hash(key, bw_tolower(*data));
    }
    return key;
}

bw_int_t
bw_hash_build(bw_hash_t *h, bw_pool_t *pool, bw_hash_key_t *keys,
    bw_uint_t n)
{
    bw_uint_t         size, i, k, slot, busy;
    bw_hash_entry_t  *e;

    busy = 0;

    for (size = 4; size < n * 2; size <<= 1) { /* void */ }

    h->slots = bw_pcalloc(pool, size * sizeof(bw_hash_entry_t));
    if (h->slots == NULL) {
        return BW_ERROR;
    }
    h->mask = size - 1;

    for (i = 0; i < n; i++) {
        k = bw_hash_key(keys[i].key.data, keys[i].key.len);
        for (slot = k & h->mask; ; slot = (slot + 1) & h->mask) {
            e = &h->slots[slot];
            if (e->name.data == NULL) {
                break;
            }
            if (e->hash == k && bw_str_eq(&e->name, &keys[i].key)) {
                break;
            }
        }
        if (e->name.data) {
            /* the first key wins; the table stays whole */
            busy = 1;
            continue;
        }
        e->hash = k;
        e->name = keys[i].key;
        e->value = keys[i].value;
    }

    return busy ? BW_BUSY : BW_OK;
}

void *
bw_hash_find(bw_hash_t *h, bw_uint_t key, u_char *name, size_t len)
{
    bw_uint_t         slot;
    bw_hash_entry_t  *e;

    if (h->slots == NULL) {
        return NULL;
    }

    for (slot = key & h->mask; ; slot = (slot + 1) & h->mask) {
        e = &h->slots[slot];
        if (e->name.data == NULL) {
            return NULL;
        }
        if (e->hash == key && e->name.len == len
            && memcmp(e->name.data, name, len) == 0)
        {
            return e->value;
        }
    }
}

bw_int_t
bw_hash_keys_init(bw_hash_keys_t *k, bw_pool_t *pool)
{
    if (bw_array_init(&k->exact, pool, 8, sizeof(bw_hash_key_t)) != BW_OK
        || bw_array_init(&k->head, pool, 4, sizeof(bw_hash_key_t)) != BW_OK
        || bw_array_init(&k->tail, pool, 4, sizeof(bw_hash_key_t)) != BW_OK)
    {
        return BW_ERROR;
    }
    return BW_OK;
}

static bw_int_t
bw_hash_push(bw_array_t *a, u_char *data, size_t len, void *value)
{
    bw_hash_key_t  *hk;
    bw_uint_t       i;

    /* The first definition wins, as nginx does for server names. */
    hk = a->elts;
    for (i = 0; i < a->nelts; i++) {
        if (hk[i].key.len == len && memcmp(hk[i].key.data, data, len) == 0) {
            return BW_BUSY;
        }
    }

    hk = bw_array_push(a);
    if (hk == NULL) {
        return BW_ERROR;
    }
    hk->key.data = data;
    hk->key.len = len;
    hk->value = value;
    return BW_OK;
}

bw_int_t
bw_hash_add_exact_key(bw_hash_keys_t *k, bw_str_t *key, void *value)
{
    return bw_hash_push(&k->exact, key->data, key->len, value);
}

bw_int_t
bw_hash_add_key(bw_hash_keys_t *k, bw_str_t *key, void *value)
{
    u_char    *p;
    size_t     len;
    bw_int_t   rc;

    p = key->data;
    len = key->len;

    if (len == 0) {
        return bw_hash_push(&k->exact, p, 0, value);
    }

    if (len > 2 && p[0] == '*' && p[1] == '.') {
        if (memchr(p + 1, '*', len - 1)) {
            return BW_DECLINED;
        }
        return bw_hash_push(&k->head, p + 2, len - 2, value);
    }

    if (len > 1 && p[0] == '.') {
        if (memchr(p, '*', len)) {
            return BW_DECLINED;
        }
        rc = bw_hash_push(&k->exact, p + 1, len - 1, value);
        if (rc == BW_ERROR) {
            return rc;
        }
        return bw_hash_push(&k->head, p + 1, len - 1, value);
    }

    if (len > 2 && p[len - 1] == '*' && p[len - 2] == '.') {
        if (memchr(p, '*', len - 1)) {
            return BW_DECLINED;
        }
        return bw_hash_push(&k->tail, p, len - 2, value);
    }

    if (memchr(p, '*', len)) {
        return BW_DECLINED;
    }

    return bw_hash_push(&k->exact, p, len, value);
}

bw_int_t
bw_hash_combined_build(bw_hash_combined_t *h, bw_pool_t *pool,
    bw_hash_keys_t *k)
{
    if (bw_hash_build(&h->exact, pool, k->exact.elts, k->exact.nelts)
        == BW_ERROR
        || bw_hash_build(&h->head, pool, k->head.elts, k->head.nelts)
        == BW_ERROR
        || bw_hash_build(&h->tail, pool, k->tail.elts, k->tail.nelts)
        == BW_ERROR)
    {
        return BW_ERROR;
    }
    return BW_OK;
}

/* name must already be lowercase. */
void *
bw_hash_find_combined(bw_hash_combined_t *h, u_char *name, size_t len)
{
    void    *value;
    size_t   i;

    value = bw_hash_find(&h->exact, bw_hash_key(name, len), name, len);
    if (value) {
        return value;
    }

    /* a.b.example.com: try b.example.com, then example.com, then com. */
    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            value = bw_hash_find(&h->head,
                                 bw_hash_key(name + i + 1, len - i - 1),
                                 name + i + 1, len - i - 1);
            if (value) {
                return value;
            }
        }
    }

    /* www.example.com: try www.example, then www. */
    for (i = len; i > 0; i--) {
        if (name[i - 1] == '.') {
            value = bw_hash_find(&h->tail, bw_hash_key(name, i - 1),
                                 name, i - 1);
            if (value) {
                return value;
            }
        }
    }

    return NULL;
}

/* MurmurHash2 as nginx computes it (split_clients must agree with it). */
uint32_t
bw_murmur_hash2(u_char *data, size_t len)
{
    uint32_t  h, k;

    h = 0 ^ (uint32_t) len;

    while (len >= 4) {
        k = data[0];
        k |= (uint32_t) data[1] << 8;
        k |= (uint32_t) data[2] << 16;
        k |= (uint32_t) data[3] << 24;

        k *= 0x5bd1e995;
        k ^= k >> 24;
        k *= 0x5bd1e995;

        h *= 0x5bd1e995;
        h ^= k;

        data += 4;
        len -= 4;
    }

    switch (len) {
    case 3:
        h ^= (uint32_t) data[2] << 16;
        bw_fallthrough;
    case 2:
        h ^= (uint32_t) data[1] << 8;
        bw_fallthrough;
    case 1:
        h ^= data[0];
        h *= 0x5bd1e995;
    }

    h ^= h >> 13;
    h *= 0x5bd1e995;
    h ^= h >> 15;

    return h;
}

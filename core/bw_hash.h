/*
 * Read-only hashes built once at configuration time: open addressing,
 * power-of-two size, linear probing. The combined hash adds nginx's
 * wildcard server names: "*.example.com" / ".example.com" (head) and
 * "www.example.*" (tail), longest match first.
 */

#ifndef BW_HASH_H
#define BW_HASH_H

typedef struct {
    bw_uint_t    hash;
    bw_str_t     name;
    void        *value;
} bw_hash_entry_t;

typedef struct {
    bw_hash_entry_t  *slots;
    bw_uint_t         mask;
} bw_hash_t;

typedef struct {
    bw_str_t     key;
    void        *value;
} bw_hash_key_t;

typedef struct {
    bw_hash_t    exact;
    bw_hash_t    head;      /* "*.example.com" stored as "example.com" */
    bw_hash_t    tail;      /* "www.example.*" stored as "www.example" */
} bw_hash_combined_t;

typedef struct {
    bw_array_t   exact;     /* of bw_hash_key_t */
    bw_array_t   head;
    bw_array_t   tail;
} bw_hash_keys_t;

#define bw_hash(key, c)  ((bw_uint_t) (key) * 31 + (c))

bw_uint_t bw_hash_key(u_char *data, size_t len);
bw_uint_t bw_hash_key_lc(u_char *data, size_t len);
uint32_t bw_murmur_hash2(u_char *data, size_t len);

/* BW_BUSY: a key is given twice (the first one is kept, the table is
 * complete); BW_ERROR: out of memory. */
bw_int_t bw_hash_build(bw_hash_t *h, bw_pool_t *pool, bw_hash_key_t *keys,
    bw_uint_t n);
void *bw_hash_find(bw_hash_t *h, bw_uint_t key, u_char *name, size_t len);

bw_int_t bw_hash_keys_init(bw_hash_keys_t *k, bw_pool_t *pool);
/* Add a key matched only as written. */
bw_int_t bw_hash_add_exact_key(bw_hash_keys_t *k, bw_str_t *key,
    void *value);
/* Add a server-name style key; BW_DECLINED for an invalid wildcard. */
bw_int_t bw_hash_add_key(bw_hash_keys_t *k, bw_str_t *key, void *value);
bw_int_t bw_hash_combined_build(bw_hash_combined_t *h, bw_pool_t *pool,
    bw_hash_keys_t *k);
void *bw_hash_find_combined(bw_hash_combined_t *h, u_char *name,
    size_t len);

#endif

/*
 * htpasswd files and password checks.
 *
 * Each worker keeps the files it uses, parsed into a hash, and looks at
 * the file's mtime and size at most once a second: a changed file is
 * picked up without a reload and an unchanged one costs no I/O.
 *
 * crypt(3) hashes (bcrypt in particular) are slow on purpose; a request
 * that repeats credentials that were already found good is answered
 * from a small cache of their SHA-256, so a client with a keepalive
 * connection does not cost a bcrypt per request.
 */

#include <bw_http_auth_basic.h>
#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#define BW_AUTH_FILES        8
#define BW_AUTH_GOOD         64
#define BW_AUTH_MAX_FILE     (16 * 1024 * 1024)

typedef struct {
    u_char      *path;          /* NUL-terminated, malloc'd */
    time_t       checked;
    time_t       mtime;
    off_t        size;
    bw_pool_t   *pool;          /* the parsed file */
    bw_hash_t    users;         /* user -> bw_str_t hash */
} bw_auth_file_t;

static bw_auth_file_t  bw_auth_files[BW_AUTH_FILES];
static u_char          bw_auth_good[BW_AUTH_GOOD][32];
static bw_uint_t       bw_auth_good_next;

static bw_int_t
bw_http_auth_basic_load(bw_auth_file_t *f, struct stat *st, bw_log_t *log)
{
    int             fd;
    u_char         *data, *p, *end, *line, *colon, *eol;
    ssize_t         n;
    bw_str_t       *hash;
    bw_pool_t      *pool;
    bw_array_t      keys;
    bw_hash_key_t  *hk;

    if (st->st_size > BW_AUTH_MAX_FILE) {
        bw_log_error(BW_LOG_ERR, log, 0, "\"%s\" is too large", f->path);
        return BW_ERROR;
    }

    pool = bw_create_pool(BW_POOL_DEFAULT_SIZE, log);
    if (pool == NULL) {
        return BW_ERROR;
    }

    data = bw_pnalloc(pool, (size_t) st->st_size + 1);
    fd = open((char *) f->path, O_RDONLY | O_CLOEXEC);
    if (data == NULL || fd == -1) {
        if (fd == -1) {
            bw_log_error(BW_LOG_ERR, log, errno, "open() \"%s\" failed",
                         f->path);
        }
        bw_destroy_pool(pool);
        return BW_ERROR;
    }

    n = read(fd, data, (size_t) st->st_size);
    close(fd);
    if (n < 0) {
        bw_log_error(BW_LOG_ERR, log, errno, "read() \"%s\" failed",
                     f->path);
        bw_destroy_pool(pool);
        return BW_ERROR;
    }

    if (bw_array_init(&keys, pool, 16, sizeof(bw_hash_key_t)) != BW_OK) {
        bw_destroy_pool(pool);
        return BW_ERROR;
    }

    /* "user:hash[:comment]" lines; "#" starts a comment line */
    end = data + n;
    for (p = data; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }
        line = p;
        if (eol > line && eol[-1] == '\r') {
            eol--;
            if (eol == line) {
                eol++;
                continue;
            }
        }
        if (line == eol || *line == '#') {
            continue;
        }
        colon = memchr(line, ':', eol - line);
        if (colon == NULL || colon == line) {
            continue;
        }

        hash = bw_palloc(pool, sizeof(bw_str_t));
        hk = bw_array_push(&keys);
        if (hash == NULL || hk == NULL) {
            bw_destroy_pool(pool);
            return BW_ERROR;
        }
        hash->data = colon + 1;
        hash->len = eol - colon - 1;
        p = memchr(hash->data, ':', hash->len);
        if (p) {
            hash->len = p - hash->data;
        }
        hk->key.data = line;
        hk->key.len = colon - line;
        hk->value = hash;

        if (eol < end && *eol == '\r') {
            eol++;
        }
    }

    /* the first line of a user wins, as nginx reads the file in order */
    if (bw_hash_build(&f->users, pool, keys.elts, keys.nelts) == BW_ERROR) {
        bw_destroy_pool(pool);
        return BW_ERROR;
    }

    if (f->pool) {
        bw_destroy_pool(f->pool);
    }
    f->pool = pool;
    f->mtime = st->st_mtime;
    f->size = st->st_size;
    return BW_OK;
}

bw_int_t
bw_http_auth_basic_lookup(bw_str_t *path, bw_str_t *user, bw_str_t *hash,
    bw_log_t *log)
{
    bw_uint_t        i, slot;
    bw_str_t        *h;
    struct stat      st;
    bw_auth_file_t  *f;

    f = NULL;
    slot = BW_AUTH_FILES;

    for (i = 0; i < BW_AUTH_FILES; i++) {
        if (bw_auth_files[i].path == NULL) {
            slot = slot == BW_AUTH_FILES ? i : slot;
            continue;
        }
        if (strlen((char *) bw_auth_files[i].path) == path->len
            && memcmp(bw_auth_files[i].path, path->data, path->len) == 0)
        {
            f = &bw_auth_files[i];
            break;
        }
    }

    if (f == NULL) {
        /* a new file: take a free slot, or the first (rarely needed) */
        f = &bw_auth_files[slot == BW_AUTH_FILES ? 0 : slot];
        if (f->pool) {
            bw_destroy_pool(f->pool);
        }
        free(f->path);
        bw_memzero(f, sizeof(bw_auth_file_t));
        f->path = malloc(path->len + 1);
        if (f->path == NULL) {
            return BW_ERROR;
        }
        memcpy(f->path, path->data, path->len);
        f->path[path->len] = '\0';
        f->checked = (time_t) -1;
    }

    if (f->checked != bw_time_sec || f->pool == NULL) {
        f->checked = bw_time_sec;

        if (stat((char *) f->path, &st) == -1) {
            bw_log_error(BW_LOG_ERR, log, errno, "stat() \"%s\" failed",
                         f->path);
            return BW_ERROR;
        }

        if (f->pool == NULL || st.st_mtime != f->mtime
            || st.st_size != f->size)
        {
            if (bw_http_auth_basic_load(f, &st, log) != BW_OK) {
                return BW_ERROR;
            }
        }
    }

    h = bw_hash_find(&f->users, bw_hash_key(user->data, user->len),
                     user->data, user->len);
    if (h == NULL) {
        return BW_DECLINED;
    }

    *hash = *h;
    return BW_OK;
}

/* a digest of the concatenated parts (NULL-terminated list) */
static unsigned
bw_auth_digest(const char *name, u_char *out, const bw_str_t *parts)
{
    unsigned     len;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return 0;
    }
    EVP_DigestInit_ex(md, EVP_get_digestbyname(name), NULL);
    for ( /* void */ ; parts->data; parts++) {
        EVP_DigestUpdate(md, parts->data, parts->len);
    }
    len = 0;
    EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
    return len;
}

/* {SHA}base64(sha1(pw)), {SSHA}base64(sha1(pw salt) salt) */
static bw_uint_t
bw_auth_sha(bw_str_t *passwd, u_char *b64, size_t len, bw_uint_t salted)
{
    int       n;
    u_char    dec[128], dig[EVP_MAX_MD_SIZE];
    size_t    pad;
    unsigned  dlen;
    bw_str_t  parts[3];

    if (len == 0 || len % 4 || len / 4 * 3 > sizeof(dec)) {
        return 0;
    }
    n = EVP_DecodeBlock(dec, b64, (int) len);
    pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
    n -= (int) pad;
    if (n < 20 || (!salted && n != 20)) {
        return 0;
    }

    parts[0] = *passwd;
    parts[1].data = dec + 20;
    parts[1].len = salted ? (size_t) n - 20 : 0;
    parts[2].data = NULL;
    parts[2].len = 0;
    dlen = bw_auth_digest("SHA1", dig, parts);

    return dlen == 20 && CRYPTO_memcmp(dig, dec, 20) == 0;
}

static u_char *
bw_auth_to64(u_char *p, uint32_t v, bw_uint_t n)
{
    static const char  itoa64[] =
        "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    while (n--) {
        *p++ = itoa64[v & 0x3f];
        v >>= 6;
    }
    return p;
}

/* Apache's MD5-crypt: "$apr1$salt$hash" */
static bw_uint_t
bw_auth_apr1(bw_str_t *passwd, bw_str_t *hash)
{
    u_char       fin[16], out[23], *salt, *p, *s;
    size_t       slen, i;
    unsigned     len;
    EVP_MD_CTX  *ctx, *alt;
    const EVP_MD *md5;

    salt = hash->data + 6;
    s = memchr(salt, '$', hash->len - 6);
    if (s == NULL) {
        return 0;
    }
    slen = bw_min((size_t) (s - salt), 8);

    md5 = EVP_get_digestbyname("MD5");
    ctx = EVP_MD_CTX_new();
    alt = EVP_MD_CTX_new();
    if (md5 == NULL || ctx == NULL || alt == NULL) {
        EVP_MD_CTX_free(ctx);
        EVP_MD_CTX_free(alt);
        return 0;
    }

    EVP_DigestInit_ex(ctx, md5, NULL);
    EVP_DigestUpdate(ctx, passwd->data, passwd->len);
    EVP_DigestUpdate(ctx, "$apr1$", 6);
    EVP_DigestUpdate(ctx, salt, slen);

    EVP_DigestInit_ex(alt, md5, NULL);
    EVP_DigestUpdate(alt, passwd->data, passwd->len);
    EVP_DigestUpdate(alt, salt, slen);
    EVP_DigestUpdate(alt, passwd->data, passwd->len);
    EVP_DigestFinal_ex(alt, fin, &len);

    for (i = passwd->len; i > 0; i -= bw_min(i, 16)) {
        EVP_DigestUpdate(ctx, fin, bw_min(i, 16));
    }
    bw_memzero(fin, sizeof(fin));
    for (i = passwd->len; i; i >>= 1) {
        EVP_DigestUpdate(ctx, (i & 1) ? fin : passwd->data, 1);
    }
    EVP_DigestFinal_ex(ctx, fin, &len);

    for (i = 0; i < 1000; i++) {
        EVP_DigestInit_ex(alt, md5, NULL);
        if (i & 1) {
            EVP_DigestUpdate(alt, passwd->data, passwd->len);
        } else {
            EVP_DigestUpdate(alt, fin, 16);
        }
        if (i % 3) {
            EVP_DigestUpdate(alt, salt, slen);
        }
        if (i % 7) {
            EVP_DigestUpdate(alt, passwd->data, passwd->len);
        }
        if (i & 1) {
            EVP_DigestUpdate(alt, fin, 16);
        } else {
            EVP_DigestUpdate(alt, passwd->data, passwd->len);
        }
        EVP_DigestFinal_ex(alt, fin, &len);
    }

    EVP_MD_CTX_free(ctx);
    EVP_MD_CTX_free(alt);

    p = out;
    p = bw_auth_to64(p, ((uint32_t) fin[0] << 16) | (fin[6] << 8) | fin[12], 4);
    p = bw_auth_to64(p, ((uint32_t) fin[1] << 16) | (fin[7] << 8) | fin[13], 4);
    p = bw_auth_to64(p, ((uint32_t) fin[2] << 16) | (fin[8] << 8) | fin[14], 4);
    p = bw_auth_to64(p, ((uint32_t) fin[3] << 16) | (fin[9] << 8) | fin[15], 4);
    p = bw_auth_to64(p, ((uint32_t) fin[4] << 16) | (fin[10] << 8) | fin[5], 4);
    p = bw_auth_to64(p, fin[11], 2);

    s++;
    return (size_t) (hash->data + hash->len - s) == 22
           && CRYPTO_memcmp(out, s, 22) == 0;
}

bw_uint_t
bw_http_auth_basic_check(bw_str_t *user, bw_str_t *passwd, bw_str_t *hash)
{
    u_char               key[32], *pw, *h;
    bw_str_t             parts[6];
    bw_uint_t            i, ok;
    const char          *res;
    struct crypt_data   *cd;

    if (hash->len > 7 && memcmp(hash->data, "{PLAIN}", 7) == 0) {
        return passwd->len == hash->len - 7
               && CRYPTO_memcmp(passwd->data, hash->data + 7,
                                passwd->len) == 0;
    }
    if (hash->len > 5 && memcmp(hash->data, "{SHA}", 5) == 0) {
        return bw_auth_sha(passwd, hash->data + 5, hash->len - 5, 0);
    }
    if (hash->len > 6 && memcmp(hash->data, "{SSHA}", 6) == 0) {
        return bw_auth_sha(passwd, hash->data + 6, hash->len - 6, 1);
    }
    if (hash->len > 6 && memcmp(hash->data, "$apr1$", 6) == 0) {
        return bw_auth_apr1(passwd, hash);
    }

    /* crypt(3): these credentials were found good before? */
    parts[0] = *user;
    parts[1].data = (u_char *) ":";
    parts[1].len = 1;
    parts[2] = *passwd;
    parts[3].data = (u_char *) ":";
    parts[3].len = 1;
    parts[4] = *hash;
    parts[5].data = NULL;
    parts[5].len = 0;
    if (bw_auth_digest("SHA256", key, parts) != 32) {
        return 0;
    }
    for (i = 0; i < BW_AUTH_GOOD; i++) {
        if (CRYPTO_memcmp(bw_auth_good[i], key, 32) == 0) {
            return 1;
        }
    }

    pw = malloc(passwd->len + 1);
    h = malloc(hash->len + 1);
    cd = calloc(1, sizeof(struct crypt_data));
    if (pw == NULL || h == NULL || cd == NULL) {
        free(pw);
        free(h);
        free(cd);
        return 0;
    }
    memcpy(pw, passwd->data, passwd->len);
    pw[passwd->len] = '\0';
    memcpy(h, hash->data, hash->len);
    h[hash->len] = '\0';

    res = crypt_r((char *) pw, (char *) h, cd);
    ok = res != NULL && res[0] != '*' && strlen(res) == hash->len
         && CRYPTO_memcmp(res, h, hash->len) == 0;

    OPENSSL_cleanse(pw, passwd->len);
    free(pw);
    free(h);
    free(cd);

    if (ok) {
        memcpy(bw_auth_good[bw_auth_good_next], key, 32);
        bw_auth_good_next = (bw_auth_good_next + 1) % BW_AUTH_GOOD;
    }

    return ok;
}

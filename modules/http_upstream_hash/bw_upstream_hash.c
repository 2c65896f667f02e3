/*
 * The two hash balancers, computed as nginx computes them so that a key
 * lands on the same server:
 *
 * plain: h += (crc32([rehash] key) >> 16) & 0x7fff, then h modulo the
 *   total weight walks the peers (Cache::Memcached's formula); a failed
 *   peer makes it hash again with the attempt number in front.
 *
 * consistent: each server line gets 160 points per unit of weight on a
 *   ring, point k = crc32(host "\0" port prev) with prev the point
 *   before (Cache::Memcached::Fast's formula); a key goes to the first
 *   point at or after crc32(key), and on to the next points while their
 *   servers are unusable. The addresses of one server share its points
 *   and take turns by weight.
 */

#include <bw_upstream_hash.h>
#include <zlib.h>

static uint32_t
bw_upstream_crc32(uint32_t crc, const void *p, size_t len)
{
    return (uint32_t) crc32(crc, p, (uInt) len);
}

bw_uint_t
bw_upstream_chash_count(bw_upstream_rr_peers_t *peers)
{
    bw_uint_t  i, n;

    n = 0;
    for (i = 0; i < peers->number; i++) {
        if (!peers->peer[i].removed) {
            n += (bw_uint_t) peers->peer[i].weight * BW_UPSTREAM_CHASH_POINTS;
        }
    }
    return n;
}

static int
bw_upstream_chash_cmp(const void *one, const void *two)
{
    const bw_upstream_chash_point_t  *a = one, *b = two;

    return (a->hash > b->hash) - (a->hash < b->hash);
}

void
bw_upstream_chash_build(bw_upstream_rr_peers_t *peers,
    bw_upstream_chash_points_t *points)
{
    u_char      c, prev[4];
    size_t      j, host_len, port_len;
    uint32_t    base, hash;
    bw_str_t   *server;
    bw_uint_t   i, k, n;
    u_char     *host, *port;

    points->number = 0;

    for (i = 0; i < peers->number; i++) {
        if (peers->peer[i].removed) {
            continue;
        }
        server = &peers->peer[i].server;

        host = server->data;
        host_len = server->len;
        port = NULL;
        port_len = 0;

        if (server->len >= 5
            && bw_strncasecmp(server->data, (u_char *) "unix:", 5) == 0)
        {
            host += 5;
            host_len -= 5;

        } else {
            for (j = 0; j < server->len; j++) {
                c = server->data[server->len - j - 1];
                if (c == ':') {
                    host_len = server->len - j - 1;
                    port = server->data + server->len - j;
                    port_len = j;
                    break;
                }
                if (c < '0' || c > '9') {
                    break;
                }
            }
        }

        base = bw_upstream_crc32(0, host, host_len);
        base = bw_upstream_crc32(base, "", 1);
        base = bw_upstream_crc32(base, port, port_len);

        hash = 0;
        n = (bw_uint_t) peers->peer[i].weight * BW_UPSTREAM_CHASH_POINTS;

        for (k = 0; k < n; k++) {
            prev[0] = (u_char) (hash & 0xff);
            prev[1] = (u_char) ((hash >> 8) & 0xff);
            prev[2] = (u_char) ((hash >> 16) & 0xff);
            prev[3] = (u_char) ((hash >> 24) & 0xff);

            hash = bw_upstream_crc32(base, prev, 4);

            points->point[points->number].hash = hash;
            points->point[points->number].server = server;
            points->number++;
        }
    }

    qsort(points->point, points->number, sizeof(bw_upstream_chash_point_t),
          bw_upstream_chash_cmp);

    /* one point per hash value: the addresses of a name repeat theirs */
    for (i = 0, j = 1; j < points->number; j++) {
        if (points->point[i].hash != points->point[j].hash) {
            points->point[++i] = points->point[j];
        }
    }
    if (points->number) {
        points->number = i + 1;
    }
}

bw_uint_t
bw_upstream_chash_find(bw_upstream_chash_points_t *points, uint32_t hash)
{
    bw_uint_t  i, j, k;

    i = 0;
    j = points->number;

    while (i < j) {
        k = (i + j) / 2;
        if (hash > points->point[k].hash) {
            i = k + 1;
        } else {
            j = k;
        }
    }

    return i;
}

void
bw_upstream_hash_init(bw_upstream_hash_t *h, bw_str_t *key,
    bw_upstream_chash_points_t *points)
{
    bw_memzero(h, sizeof(bw_upstream_hash_t));
    h->key = *key;
    h->points = points;
}

static bw_upstream_rr_peer_t *
bw_upstream_hash_plain(bw_upstream_rr_state_t *st, bw_upstream_hash_t *h,
    time_t now)
{
    u_char                   buf[BW_INT_T_LEN];
    size_t                   n;
    uint32_t                 hash;
    bw_uint_t                p;
    bw_upstream_rr_peers_t  *peers;

    peers = st->peers;

    for ( ;; ) {
        hash = 0;
        if (h->rehash > 0) {
            n = (size_t) (bw_sprint_uint(buf, h->rehash) - buf);
            hash = bw_upstream_crc32(hash, buf, n);
        }
        hash = bw_upstream_crc32(hash, h->key.data, h->key.len);

        h->hash += (hash >> 16) & 0x7fff;
        h->rehash++;

        p = bw_upstream_rr_by_weight(peers, h->hash);

        if (p < BW_UPSTREAM_RR_MAX_PEERS
            && bw_upstream_rr_usable_sticky(st, p, now))
        {
            return bw_upstream_rr_take(st, peers, p, now);
        }

        if (++h->tries > BW_UPSTREAM_HASH_TRIES) {
            return bw_upstream_rr_get(st, now);
        }
    }
}

static bw_uint_t
bw_upstream_hash_same_server(bw_upstream_rr_peer_t *peer, const void *arg)
{
    const bw_str_t  *server = arg;

    return peer->server.len == server->len
           && memcmp(peer->server.data, server->data, server->len) == 0;
}

static bw_upstream_rr_peer_t *
bw_upstream_hash_consistent(bw_upstream_rr_state_t *st, bw_upstream_hash_t *h,
    time_t now)
{
    bw_int_t     i;
    bw_str_t    *server;

    for ( ;; ) {
        server = h->points->point[h->hash % h->points->number].server;

        i = bw_upstream_rr_pick(st, st->peers, bw_upstream_hash_same_server,
                                server, now);
        if (i != -1) {
            return bw_upstream_rr_take(st, st->peers, (bw_uint_t) i, now);
        }

        h->hash++;
        if (++h->tries > BW_UPSTREAM_HASH_TRIES) {
            return bw_upstream_rr_get(st, now);
        }
    }
}

bw_upstream_rr_peer_t *
bw_upstream_hash_get(bw_upstream_rr_state_t *st, bw_upstream_hash_t *h,
    time_t now)
{
    if (h->tries > BW_UPSTREAM_HASH_TRIES || bw_upstream_rr_live(st->peers) < 2
        || h->key.len == 0 || (h->points && h->points->number == 0))
    {
        return bw_upstream_rr_get(st, now);
    }

    if (h->points) {
        /* placed at the first choice, under the lock: a zone's ring is
         * built anew when its peers change */
        if (!h->placed) {
            h->hash = bw_upstream_chash_find(h->points,
                          bw_upstream_crc32(0, h->key.data, h->key.len));
            h->placed = 1;
        }
        return bw_upstream_hash_consistent(st, h, now);
    }

    return bw_upstream_hash_plain(st, h, now);
}

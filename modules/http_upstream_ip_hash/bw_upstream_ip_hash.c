/*
 * nginx's ip_hash: the first three bytes of an IPv4 address (the whole
 * /24 sticks together) or all sixteen of an IPv6 one, hashed with
 * h = (h * 113 + byte) % 6271 from 89, then mapped onto the weights.
 * Down servers keep their share of the weights so that marking one down
 * moves only its own clients. A failed peer makes the hash go on from
 * where it was, so a client's second choice is stable too.
 */

#include <bw_upstream_ip_hash.h>

void
bw_upstream_ip_hash_init(bw_upstream_ip_hash_t *ih, const struct sockaddr *sa)
{
    bw_memzero(ih, sizeof(bw_upstream_ip_hash_t));
    ih->hash = 89;

    switch (sa->sa_family) {

    case AF_INET:
        memcpy(ih->addr, &((const struct sockaddr_in *) sa)->sin_addr, 3);
        ih->addrlen = 3;
        break;

    case AF_INET6:
        memcpy(ih->addr, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
        ih->addrlen = 16;
        break;

    default:
        /* unix-socket clients all hash alike, as in nginx */
        ih->addrlen = 3;
        break;
    }
}

bw_upstream_rr_peer_t *
bw_upstream_ip_hash_get(bw_upstream_rr_state_t *st, bw_upstream_ip_hash_t *ih,
    time_t now)
{
    bw_uint_t                i, p;
    bw_upstream_rr_peers_t  *peers;

    peers = st->peers;

    if (ih->tries > BW_UPSTREAM_HASH_TRIES || bw_upstream_rr_live(peers) == 1) {
        return bw_upstream_rr_get(st, now);
    }

    for ( ;; ) {
        for (i = 0; i < ih->addrlen; i++) {
            ih->hash = (ih->hash * 113 + ih->addr[i]) % 6271;
        }

        p = bw_upstream_rr_by_weight(peers, ih->hash);

        if (p < BW_UPSTREAM_RR_MAX_PEERS
            && bw_upstream_rr_usable_sticky(st, p, now))
        {
            return bw_upstream_rr_take(st, peers, p, now);
        }

        if (++ih->tries > BW_UPSTREAM_HASH_TRIES) {
            return bw_upstream_rr_get(st, now);
        }
    }
}

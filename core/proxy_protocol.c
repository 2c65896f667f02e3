/*
 * PROXY protocol headers, as load balancers send them before the
 * client's bytes: v1 ("PROXY TCP4 1.2.3.4 5.6.7.8 1111 80\r\n", at most
 * 107 bytes) and v2 (a 12-byte signature, then version/command, family,
 * a length and the addresses, then TLVs that are skipped). A pure
 * function over bytes, fuzzed directly.
 */

#include <bw_core.h>

static const u_char  bw_pp2_signature[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static bw_int_t
bw_pp_set(bw_proxy_protocol_t *pp, int family, const u_char *src,
    const u_char *dst, in_port_t sport, in_port_t dport)
{
    const char  *s, *d;

    s = inet_ntop(family, src, (char *) pp->text[0], INET6_ADDRSTRLEN);
    d = inet_ntop(family, dst, (char *) pp->text[1], INET6_ADDRSTRLEN);
    if (s == NULL || d == NULL) {
        return BW_ERROR;
    }

    pp->src_addr.data = pp->text[0];
    pp->src_addr.len = strlen(s);
    pp->dst_addr.data = pp->text[1];
    pp->dst_addr.len = strlen(d);
    pp->src_port = sport;
    pp->dst_port = dport;

    bw_memzero(&pp->src, sizeof(bw_sockaddr_t));
    if (family == AF_INET) {
        pp->src.sockaddr_in.sin_family = AF_INET;
        memcpy(&pp->src.sockaddr_in.sin_addr, src, 4);
        pp->src.sockaddr_in.sin_port = htons(sport);
        pp->src_len = sizeof(struct sockaddr_in);
    } else {
        pp->src.sockaddr_in6.sin6_family = AF_INET6;
        memcpy(&pp->src.sockaddr_in6.sin6_addr, src, 16);
        pp->src.sockaddr_in6.sin6_port = htons(sport);
        pp->src_len = sizeof(struct sockaddr_in6);
    }

    return BW_OK;
}

/* a decimal port, 0..65535, no sign, no leading junk */
static bw_int_t
bw_pp_port(u_char *p, size_t len)
{
    bw_int_t  n;

    if (len == 0 || len > 5) {
        return -1;
    }
    n = bw_atoi(p, len);
    return (n < 0 || n > 65535) ? -1 : n;
}

static ssize_t
bw_proxy_protocol_v1(u_char *p, size_t len, bw_proxy_protocol_t *pp)
{
    u_char      *eol, *f[4], *e, *q;
    u_char       buf[2][INET6_ADDRSTRLEN + 1], a[2][16];
    size_t       n, i, flen[4];
    int          family;
    bw_int_t     sport, dport;

    n = bw_min(len, (size_t) BW_PROXY_PROTOCOL_V1_MAX);
    eol = memchr(p, '\n', n);
    if (eol == NULL) {
        return len >= BW_PROXY_PROTOCOL_V1_MAX ? -1 : 0;
    }
    if (eol == p || eol[-1] != '\r') {
        return -1;
    }
    e = eol - 1;                    /* the '\r' */

    q = p + 6;                      /* after "PROXY " */

    if (e - q == 7 && memcmp(q, "UNKNOWN", 7) == 0) {
        pp->local = 1;
        return eol + 1 - p;
    }
    if (e - q > 7 && memcmp(q, "UNKNOWN ", 8) == 0) {
        pp->local = 1;
        return eol + 1 - p;
    }

    if (e - q < 5 || memcmp(q, "TCP", 3) != 0 || q[4] != ' ') {
        return -1;
    }
    family = q[3] == '4' ? AF_INET : q[3] == '6' ? AF_INET6 : 0;
    if (family == 0) {
        return -1;
    }
    q += 5;

    /* four fields separated by single spaces */
    for (i = 0; i < 4; i++) {
        f[i] = q;
        while (q < e && *q != ' ') {
            q++;
        }
        flen[i] = q - f[i];
        if (flen[i] == 0) {
            return -1;
        }
        if (i < 3) {
            if (q == e) {
                return -1;
            }
            q++;
        }
    }
    if (q != e) {
        return -1;
    }

    for (i = 0; i < 2; i++) {
        if (flen[i] >= sizeof(buf[i])) {
            return -1;
        }
        memcpy(buf[i], f[i], flen[i]);
        buf[i][flen[i]] = '\0';
        if (inet_pton(family, (char *) buf[i], a[i]) != 1) {
            return -1;
        }
    }

    sport = bw_pp_port(f[2], flen[2]);
    dport = bw_pp_port(f[3], flen[3]);
    if (sport < 0 || dport < 0) {
        return -1;
    }

    if (bw_pp_set(pp, family, a[0], a[1], (in_port_t) sport,
                  (in_port_t) dport) != BW_OK)
    {
        return -1;
    }

    return eol + 1 - p;
}

static ssize_t
bw_proxy_protocol_v2(u_char *p, size_t len, bw_proxy_protocol_t *pp)
{
    size_t  total, alen;

    if (len < 16) {
        return 0;
    }

    if ((p[12] & 0xf0) != 0x20) {
        return -1;                  /* version 2 only */
    }

    alen = ((size_t) p[14] << 8) | p[15];
    total = 16 + alen;
    if (total > BW_PROXY_PROTOCOL_V2_MAX) {
        return -1;
    }
    if (len < total) {
        return 0;
    }

    switch (p[12] & 0x0f) {
    case 0x00:                      /* LOCAL: the balancer's own check */
        pp->local = 1;
        return (ssize_t) total;
    case 0x01:                      /* PROXY */
        break;
    default:
        return -1;
    }

    switch (p[13]) {
    case 0x11:                      /* TCP over IPv4 */
        pp->tlvs.data = p + 16 + 12;
        if (alen < 12
            || bw_pp_set(pp, AF_INET, p + 16, p + 20,
                         (in_port_t) ((p[24] << 8) | p[25]),
                         (in_port_t) ((p[26] << 8) | p[27])) != BW_OK)
        {
            return -1;
        }
        break;
    case 0x21:                      /* TCP over IPv6 */
        pp->tlvs.data = p + 16 + 36;
        if (alen < 36
            || bw_pp_set(pp, AF_INET6, p + 16, p + 32,
                         (in_port_t) ((p[48] << 8) | p[49]),
                         (in_port_t) ((p[50] << 8) | p[51])) != BW_OK)
        {
            return -1;
        }
        break;
    default:
        /* UDP, unix, unspecified: nothing we can use, but valid */
        pp->local = 1;
    }

    if (pp->tlvs.data) {
        pp->tlvs.len = p + total - pp->tlvs.data;
    }

    return (ssize_t) total;
}

ssize_t
bw_proxy_protocol_parse(u_char *p, size_t len, bw_proxy_protocol_t *pp)
{
    size_t  n;

    bw_memzero(pp, sizeof(bw_proxy_protocol_t));

    /* a prefix of either signature: wait for more */
    n = bw_min(len, (size_t) 12);
    if (memcmp(p, bw_pp2_signature, n) == 0) {
        return n < 12 ? 0 : bw_proxy_protocol_v2(p, len, pp);
    }

    n = bw_min(len, (size_t) 6);
    if (memcmp(p, "PROXY ", n) == 0) {
        return n < 6 ? 0 : bw_proxy_protocol_v1(p, len, pp);
    }

    return -1;
}

bw_proxy_protocol_t *
bw_proxy_protocol_copy(bw_pool_t *pool, bw_proxy_protocol_t *pp)
{
    bw_proxy_protocol_t  *copy;

    copy = bw_palloc(pool, sizeof(bw_proxy_protocol_t));
    if (copy == NULL) {
        return NULL;
    }
    *copy = *pp;

    /* the texts live in the copy */
    copy->src_addr.data = copy->text[0];
    copy->dst_addr.data = copy->text[1];

    if (pp->tlvs.len) {
        copy->tlvs.data = bw_pnalloc(pool, pp->tlvs.len);
        if (copy->tlvs.data == NULL) {
            return NULL;
        }
        memcpy(copy->tlvs.data, pp->tlvs.data, pp->tlvs.len);
    } else {
        copy->tlvs.data = NULL;
    }

    return copy;
}

typedef struct {
    const char  *name;
    bw_uint_t    type;
} bw_pp_tlv_name_t;

static bw_pp_tlv_name_t  bw_pp_tlv_names[] = {
    { "alpn", 0x01 }, { "authority", 0x02 }, { "unique_id", 0x05 },
    { "ssl", 0x20 }, { "netns", 0x30 }, { NULL, 0 }
};

static bw_pp_tlv_name_t  bw_pp_ssl_tlv_names[] = {
    { "version", 0x21 }, { "cn", 0x22 }, { "cipher", 0x23 },
    { "sig_alg", 0x24 }, { "key_alg", 0x25 }, { NULL, 0 }
};

/* A type by name or "0x<hex>", or -1. */
static bw_int_t
bw_pp_tlv_type(u_char *p, size_t len, bw_pp_tlv_name_t *names)
{
    u_char     c;
    size_t     i;
    bw_int_t   n, d;

    if (len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        n = 0;
        for (i = 2; i < len; i++) {
            c = (u_char) (p[i] | 0x20);
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;
            } else {
                return -1;
            }
            n = n * 16 + d;
            if (n > 0xff) {
                return -1;
            }
        }
        return n;
    }

    for ( /* void */ ; names->name; names++) {
        if (strlen(names->name) == len && memcmp(names->name, p, len) == 0)
        {
            return (bw_int_t) names->type;
        }
    }

    return -1;
}

/* The first TLV of the type in p[0..len): BW_OK, or BW_DECLINED. Broken
 * framing ends the search: what came before it was read as it was. */
static bw_int_t
bw_pp_find_tlv(u_char *p, size_t len, bw_uint_t type, bw_str_t *value)
{
    size_t  n;

    while (len >= 3) {
        n = ((size_t) p[1] << 8) | p[2];
        if (n > len - 3) {
            return BW_DECLINED;
        }
        if (p[0] == type) {
            value->data = p + 3;
            value->len = n;
            return BW_OK;
        }
        p += 3 + n;
        len -= 3 + n;
    }

    return BW_DECLINED;
}

bw_int_t
bw_proxy_protocol_get_tlv(bw_proxy_protocol_t *pp, bw_str_t *name,
    bw_str_t *value, u_char num[BW_PROXY_PROTOCOL_TLV_NUM_LEN])
{
    u_char    *p;
    size_t     len;
    uint32_t   verify;
    bw_int_t   type;
    bw_str_t   ssl;

    p = name->data;
    len = name->len;

    if (len > 4 && memcmp(p, "ssl_", 4) == 0) {
        p += 4;
        len -= 4;

        if (len == 6 && memcmp(p, "verify", 6) == 0) {
            type = -2;
        } else {
            type = bw_pp_tlv_type(p, len, bw_pp_ssl_tlv_names);
            if (type < 0) {
                return BW_ERROR;
            }
        }

        if (pp == NULL || bw_pp_find_tlv(pp->tlvs.data, pp->tlvs.len, 0x20,
                                         &ssl) != BW_OK
            || ssl.len < 5)
        {
            return BW_DECLINED;
        }

        if (type == -2) {
            verify = ((uint32_t) ssl.data[1] << 24)
                     | ((uint32_t) ssl.data[2] << 16)
                     | ((uint32_t) ssl.data[3] << 8) | ssl.data[4];
            value->data = num;
            value->len = bw_sprint_uint(num, verify) - num;
            return BW_OK;
        }

        /* the client flags and the verify field, then sub-TLVs */
        return bw_pp_find_tlv(ssl.data + 5, ssl.len - 5, (bw_uint_t) type,
                              value);
    }

    type = bw_pp_tlv_type(p, len, bw_pp_tlv_names);
    if (type < 0) {
        return BW_ERROR;
    }

    if (pp == NULL) {
        return BW_DECLINED;
    }

    return bw_pp_find_tlv(pp->tlvs.data, pp->tlvs.len, (bw_uint_t) type,
                          value);
}

/*
 * Address ranges for allow/deny, set_real_ip_from and geo. Both families
 * are kept as byte strings with a mask, so that one loop matches them.
 */

#include <bw_core.h>

bw_int_t
bw_parse_cidr(bw_str_t *text, bw_cidr_t *cidr)
{
    u_char     buf[INET6_ADDRSTRLEN + 1], *slash;
    size_t     len, i;
    bw_int_t   bits, max, rc;

    bw_memzero(cidr, sizeof(bw_cidr_t));

    if (text->len == 3 && memcmp(text->data, "all", 3) == 0) {
        return BW_OK;
    }

    if (text->len == 5 && memcmp(text->data, "unix:", 5) == 0) {
        cidr->family = AF_UNIX;
        return BW_OK;
    }

    slash = memchr(text->data, '/', text->len);
    len = slash ? (size_t) (slash - text->data) : text->len;

    if (len == 0 || len >= sizeof(buf)) {
        return BW_ERROR;
    }
    memcpy(buf, text->data, len);
    buf[len] = '\0';

    if (inet_pton(AF_INET, (char *) buf, cidr->addr) == 1) {
        cidr->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, (char *) buf, cidr->addr) == 1) {
        cidr->family = AF_INET6;
        max = 128;
    } else {
        return BW_ERROR;
    }

    if (slash) {
        bits = bw_atoi(slash + 1, text->len - len - 1);
        if (bits == BW_ERROR || bits > max) {
            return BW_ERROR;
        }
    } else {
        bits = max;
    }
    cidr->bits = (bw_uint_t) bits;

    rc = BW_OK;
    for (i = 0; i < (size_t) max / 8; i++) {
        if (bits >= 8) {
            cidr->mask[i] = 0xff;
            bits -= 8;
        } else {
            cidr->mask[i] = (u_char) (0xff00 >> bits);
            bits = 0;
        }
        if (cidr->addr[i] & ~cidr->mask[i]) {
            cidr->addr[i] &= cidr->mask[i];
            rc = BW_DONE;
        }
    }

    return rc;
}

bw_uint_t
bw_cidr_match(bw_cidr_t *cidr, struct sockaddr *sa)
{
    size_t      i, n;
    u_char     *a;
    struct in6_addr  *a6;

    if (cidr->family == 0) {
        return 1;
    }

    switch (sa->sa_family) {

    case AF_INET:
        if (cidr->family != AF_INET) {
            return 0;
        }
        a = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
        n = 4;
        break;

    case AF_INET6:
        a6 = &((struct sockaddr_in6 *) sa)->sin6_addr;
        if (cidr->family == AF_INET && IN6_IS_ADDR_V4MAPPED(a6)) {
            a = &a6->s6_addr[12];
            n = 4;
            break;
        }
        if (cidr->family != AF_INET6) {
            return 0;
        }
        a = a6->s6_addr;
        n = 16;
        break;

    case AF_UNIX:
        return cidr->family == AF_UNIX;

    default:
        return 0;
    }

    for (i = 0; i < n; i++) {
        if ((a[i] & cidr->mask[i]) != cidr->addr[i]) {
            return 0;
        }
    }

    return 1;
}

bw_uint_t
bw_cidr_match_list(bw_array_t *list, struct sockaddr *sa)
{
    bw_uint_t   i;
    bw_cidr_t  *cidr;

    cidr = list->elts;
    for (i = 0; i < list->nelts; i++) {
        if (bw_cidr_match(&cidr[i], sa)) {
            return 1;
        }
    }
    return 0;
}

/* "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]:80" */
bw_int_t
bw_parse_addr_port(u_char *p, size_t len, bw_sockaddr_t *sa,
    socklen_t *socklen)
{
    u_char   buf[INET6_ADDRSTRLEN + 1], *colon;
    size_t   n;

    if (len && p[0] == '[') {
        colon = memchr(p, ']', len);
        if (colon == NULL) {
            return BW_ERROR;
        }
        n = colon - p - 1;
        p++;
    } else {
        colon = memchr(p, ':', len);
        /* one colon: IPv4 with a port; more: a bare IPv6 address */
        n = (colon && memchr(colon + 1, ':', len - (colon + 1 - p)) == NULL)
            ? (size_t) (colon - p) : len;
    }

    if (n == 0 || n >= sizeof(buf)) {
        return BW_ERROR;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';

    bw_memzero(sa, sizeof(bw_sockaddr_t));

    if (inet_pton(AF_INET, (char *) buf, &sa->sockaddr_in.sin_addr) == 1) {
        sa->sockaddr_in.sin_family = AF_INET;
        *socklen = sizeof(struct sockaddr_in);
        return BW_OK;
    }

    if (inet_pton(AF_INET6, (char *) buf, &sa->sockaddr_in6.sin6_addr) == 1) {
        sa->sockaddr_in6.sin6_family = AF_INET6;
        *socklen = sizeof(struct sockaddr_in6);
        return BW_OK;
    }

    return BW_ERROR;
}

/*
 * DNS messages: building a query, reading the answer to it. Everything
 * read is bounds-checked against the message; compressed names may only
 * point backwards, so a pointer loop cannot make the reader spin.
 */

#include <bw_core.h>

size_t
bw_dns_query(u_char *buf, uint16_t id, bw_str_t *name, bw_uint_t type)
{
    u_char  *p, *label, *end;
    size_t   len;

    len = name->len;
    if (len && name->data[len - 1] == '.') {
        len--;              /* "example.com." is "example.com" */
    }
    if (len == 0 || len > BW_DNS_NAME_LEN - 2) {
        return 0;
    }

    p = buf;
    *p++ = (u_char) (id >> 8);
    *p++ = (u_char) id;
    *p++ = 0x01;            /* recursion desired */
    *p++ = 0;
    *p++ = 0; *p++ = 1;     /* one question */
    *p++ = 0; *p++ = 0;
    *p++ = 0; *p++ = 0;
    *p++ = 0; *p++ = 1;     /* one additional record: OPT */

    label = name->data;
    end = name->data + len;

    while (label < end) {
        u_char  *dot;
        size_t   n;

        dot = memchr(label, '.', end - label);
        n = (dot ? dot : end) - label;
        if (n == 0 || n > 63) {
            return 0;
        }
        *p++ = (u_char) n;
        memcpy(p, label, n);
        p += n;
        label += n + (dot ? 1 : 0);
        if (dot && label == end) {
            return 0;       /* "a..": an empty label */
        }
    }
    *p++ = 0;

    *p++ = (u_char) (type >> 8);
    *p++ = (u_char) type;
    *p++ = 0; *p++ = 1;     /* class IN */

    /* OPT: root name, type 41, our UDP payload size, no flags */
    *p++ = 0;
    *p++ = 0; *p++ = 41;
    *p++ = (u_char) (BW_DNS_UDP_SIZE >> 8);
    *p++ = (u_char) (BW_DNS_UDP_SIZE & 0xff);
    *p++ = 0; *p++ = 0; *p++ = 0; *p++ = 0;
    *p++ = 0; *p++ = 0;

    return p - buf;
}

/*
 * The name at *pos, lowercased into out (dotted, without the root dot)
 * when out is not NULL; *pos moves past it in the message. BW_ERROR on
 * anything malformed.
 */
static bw_int_t
bw_dns_name(u_char *buf, size_t len, size_t *pos, u_char *out,
    size_t *out_len)
{
    size_t     p, n, olen, limit;
    bw_uint_t  jumped;

    p = *pos;
    olen = 0;
    jumped = 0;
    limit = len;    /* a pointer must go below where it was read */

    for ( ;; ) {
        if (p >= len) {
            return BW_ERROR;
        }

        n = buf[p];

        if ((n & 0xc0) == 0xc0) {
            if (p + 1 >= len) {
                return BW_ERROR;
            }
            if (!jumped) {
                *pos = p + 2;
                jumped = 1;
            }
            n = ((n & 0x3f) << 8) | buf[p + 1];
            if (n >= p || n >= limit) {
                return BW_ERROR;
            }
            limit = n;
            p = n;
            continue;
        }

        if (n & 0xc0) {
            return BW_ERROR;        /* extended label types */
        }

        p++;

        if (n == 0) {
            break;
        }

        if (p + n > len || olen + n + 1 > BW_DNS_NAME_LEN) {
            return BW_ERROR;
        }

        /* a label with a dot or a NUL inside would read as other
         * labels once dotted ("\7app.test" is not "app.test") */
        if (memchr(buf + p, '.', n) || memchr(buf + p, '\0', n)) {
            return BW_ERROR;
        }

        if (out) {
            if (olen) {
                out[olen] = '.';
            }
            bw_strlow(out + olen + (olen ? 1 : 0), buf + p, n);
        }
        olen += n + (olen ? 1 : 0);
        p += n;
    }

    if (!jumped) {
        *pos = p;
    }
    if (out_len) {
        *out_len = olen;
    }

    return BW_OK;
}

static bw_uint_t
bw_dns_same_name(u_char *a, size_t alen, bw_str_t *name)
{
    size_t  len;

    len = name->len;
    if (len && name->data[len - 1] == '.') {
        len--;
    }

    return alen == len && bw_strncasecmp(a, name->data, len) == 0;
}

bw_int_t
bw_dns_parse(u_char *buf, size_t len, uint16_t id, bw_str_t *name,
    bw_uint_t type, bw_dns_answer_t *ans)
{
    size_t     pos, n, rdlen;
    uint32_t   ttl;
    bw_uint_t  i, qd, an, rtype, rclass;
    u_char     qname[BW_DNS_NAME_LEN + 1];

    bw_memzero(ans, offsetof(bw_dns_answer_t, cname));

    if (len < 12) {
        return BW_ERROR;
    }

    if ((((bw_uint_t) buf[0] << 8) | buf[1]) != id) {
        return BW_DECLINED;
    }

    if (!(buf[2] & 0x80) || (buf[2] & 0x78)) {
        return BW_DECLINED;     /* not a response, or not to a query */
    }

    ans->truncated = (buf[2] & 0x02) ? 1 : 0;
    ans->rcode = buf[3] & 0x0f;

    qd = ((bw_uint_t) buf[4] << 8) | buf[5];
    an = ((bw_uint_t) buf[6] << 8) | buf[7];

    if (qd != 1) {
        return BW_DECLINED;
    }

    pos = 12;
    if (bw_dns_name(buf, len, &pos, qname, &n) != BW_OK) {
        return BW_ERROR;
    }
    if (pos + 4 > len) {
        return BW_ERROR;
    }
    if (!bw_dns_same_name(qname, n, name)
        || (((bw_uint_t) buf[pos] << 8) | buf[pos + 1]) != type
        || buf[pos + 2] != 0 || buf[pos + 3] != 1)
    {
        return BW_DECLINED;
    }
    pos += 4;

    ans->ttl = UINT32_MAX;

    for (i = 0; i < an; i++) {
        if (bw_dns_name(buf, len, &pos, NULL, NULL) != BW_OK
            || pos + 10 > len)
        {
            return BW_ERROR;
        }

        rtype = ((bw_uint_t) buf[pos] << 8) | buf[pos + 1];
        rclass = ((bw_uint_t) buf[pos + 2] << 8) | buf[pos + 3];
        ttl = ((uint32_t) buf[pos + 4] << 24) | ((uint32_t) buf[pos + 5] << 16)
              | ((uint32_t) buf[pos + 6] << 8) | buf[pos + 7];
        rdlen = ((size_t) buf[pos + 8] << 8) | buf[pos + 9];
        pos += 10;

        if (pos + rdlen > len) {
            return BW_ERROR;
        }

        if (ttl & 0x80000000) {
            ttl = 0;            /* RFC 2181: a negative TTL is zero */
        }

        if (rclass == 1 && rtype == type && ans->naddrs < BW_DNS_MAX_ADDRS
            && rdlen == (type == BW_DNS_A ? 4 : 16))
        {
            bw_sockaddr_t  *sa = &ans->addrs[ans->naddrs++];

            bw_memzero(sa, sizeof(bw_sockaddr_t));
            if (type == BW_DNS_A) {
                sa->sockaddr_in.sin_family = AF_INET;
                memcpy(&sa->sockaddr_in.sin_addr, buf + pos, 4);
            } else {
                sa->sockaddr_in6.sin6_family = AF_INET6;
                memcpy(&sa->sockaddr_in6.sin6_addr, buf + pos, 16);
            }
            ans->ttl = bw_min(ans->ttl, ttl);

        } else if (rclass == 1 && rtype == BW_DNS_CNAME
                   && ans->cname_len == 0)
        {
            size_t  cpos = pos;

            if (bw_dns_name(buf, pos + rdlen, &cpos, ans->cname,
                            &ans->cname_len) != BW_OK)
            {
                return BW_ERROR;
            }
            ans->cname[ans->cname_len] = '\0';
            ans->ttl = bw_min(ans->ttl, ttl);
        }

        pos += rdlen;
    }

    if (ans->naddrs) {
        ans->cname_len = 0;     /* the server followed the alias */
    }
    if (ans->ttl == UINT32_MAX) {
        ans->ttl = 0;
    }

    return BW_OK;
}

const char *
bw_dns_strerror(bw_int_t rcode)
{
    static const char *errors[] = {
        "Format error", "Server failure", "Host not found",
        "Unimplemented", "Operation refused"
    };

    if (rcode > 0 && rcode <= 5) {
        return errors[rcode - 1];
    }

    return "Unknown error";
}

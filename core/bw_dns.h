/*
 * The DNS wire format (RFC 1035), as much as a stub resolver needs: a
 * query for one name and type, and the addresses, CNAME and TTL of the
 * answer to it. Pure functions over bytes: unit-tested and fuzzed.
 */

#ifndef BW_DNS_H
#define BW_DNS_H

#define BW_DNS_A             1
#define BW_DNS_CNAME         5
#define BW_DNS_AAAA          28

#define BW_DNS_NAME_LEN      255
#define BW_DNS_MAX_ADDRS     16
/* EDNS0: answers up to this size come over UDP (no TCP fallback yet) */
#define BW_DNS_UDP_SIZE      4096
#define BW_DNS_QUERY_LEN     (12 + BW_DNS_NAME_LEN + 2 + 4 + 11)

/* rcodes */
#define BW_DNS_FORMERR       1
#define BW_DNS_SERVFAIL      2
#define BW_DNS_NXDOMAIN      3
#define BW_DNS_NOTIMP        4
#define BW_DNS_REFUSED       5

typedef struct {
    bw_uint_t      rcode;
    bw_uint_t      naddrs;
    bw_sockaddr_t  addrs[BW_DNS_MAX_ADDRS];     /* port 0 */
    uint32_t       ttl;         /* the smallest of the records used */
    size_t         cname_len;   /* an alias without its addresses */
    u_char         cname[BW_DNS_NAME_LEN + 1];
    unsigned       truncated:1;
} bw_dns_answer_t;

/* The query's length, 0 when the name cannot be one. */
size_t bw_dns_query(u_char *buf, uint16_t id, bw_str_t *name,
    bw_uint_t type);
/* BW_OK: an answer to this very question (ans filled; rcode may say
 * the name does not exist), BW_DECLINED: not the answer to it (another
 * id, another question), BW_ERROR: malformed. */
bw_int_t bw_dns_parse(u_char *buf, size_t len, uint16_t id, bw_str_t *name,
    bw_uint_t type, bw_dns_answer_t *ans);
const char *bw_dns_strerror(bw_int_t rcode);

#endif

/* Socket addresses: parsing "host:port", CIDRs, and printing. */

#ifndef BW_INET_H
#define BW_INET_H

#define BW_SOCKADDR_STRLEN  (sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:" \
                                    "255.255.255.255]:65535") - 1 + 108)

typedef union {
    struct sockaddr          sockaddr;
    struct sockaddr_in       sockaddr_in;
    struct sockaddr_in6      sockaddr_in6;
    struct sockaddr_un       sockaddr_un;
    struct sockaddr_storage  storage;
} bw_sockaddr_t;

typedef struct {
    struct sockaddr  *sockaddr;
    socklen_t         socklen;
    bw_str_t          name;         /* "127.0.0.1:8080" */
} bw_addr_t;

typedef struct {
    bw_str_t        url;
    bw_str_t        host;
    in_port_t       port;
    in_port_t       default_port;
    int             family;

    unsigned        listen:1;       /* "8080" alone means *:8080 */
    unsigned        no_port:1;
    unsigned        wildcard:1;

    bw_sockaddr_t   sockaddr;       /* the first address */
    socklen_t       socklen;
    bw_addr_t      *addrs;          /* every address the name has */
    bw_uint_t       naddrs;
    const char     *err;
} bw_url_t;

bw_int_t bw_parse_url(bw_pool_t *pool, bw_url_t *u);
bw_int_t bw_parse_local_addr(bw_pool_t *pool, bw_addr_t *addr, u_char *text,
    size_t len);
size_t bw_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, bw_uint_t port);
bw_int_t bw_cmp_sockaddr(struct sockaddr *a, socklen_t alen,
    struct sockaddr *b, socklen_t blen, bw_uint_t cmp_port);
in_port_t bw_inet_get_port(struct sockaddr *sa);
bw_uint_t bw_inet_wildcard(struct sockaddr *sa);

#endif

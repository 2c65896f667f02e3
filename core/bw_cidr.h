/* Address ranges ("192.0.2.0/24", "2001:db8::/32", "unix:", "all"). */

#ifndef BW_CIDR_H
#define BW_CIDR_H

typedef struct {
    int       family;       /* AF_INET, AF_INET6, AF_UNIX; 0: "all" */
    u_char    addr[16];     /* network byte order, host bits cleared */
    u_char    mask[16];
    bw_uint_t bits;
} bw_cidr_t;

/* BW_OK; BW_DONE when host bits were set (cleared, nginx warns about
 * them); BW_ERROR when text is no address, range, "unix:" or "all". */
bw_int_t bw_parse_cidr(bw_str_t *text, bw_cidr_t *cidr);
/* Does sa fall in the range? An IPv4-mapped IPv6 address is matched as
 * the IPv4 address it carries. */
bw_uint_t bw_cidr_match(bw_cidr_t *cidr, struct sockaddr *sa);
/* Does sa fall in any range of the list (of bw_cidr_t)? */
bw_uint_t bw_cidr_match_list(bw_array_t *list, struct sockaddr *sa);
/* An address with an optional port: "192.0.2.1", "192.0.2.1:80",
 * "2001:db8::1", "[2001:db8::1]:80" (the port is not kept). */
bw_int_t bw_parse_addr_port(u_char *p, size_t len, bw_sockaddr_t *sa,
    socklen_t *socklen);

#endif

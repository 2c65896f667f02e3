/* The PROXY protocol (v1 text and v2 binary) in front of a connection. */

#ifndef BW_PROXY_PROTOCOL_H
#define BW_PROXY_PROTOCOL_H

#define BW_PROXY_PROTOCOL_V1_MAX  107
#define BW_PROXY_PROTOCOL_V2_MAX  4096

typedef struct {
    bw_str_t        src_addr;       /* text */
    bw_str_t        dst_addr;
    in_port_t       src_port;
    in_port_t       dst_port;
    bw_sockaddr_t   src;            /* the client, for realip */
    socklen_t       src_len;
    unsigned        local:1;        /* UNKNOWN / LOCAL: no addresses */
    u_char          text[2][INET6_ADDRSTRLEN];
} bw_proxy_protocol_t;

/*
 * Parse a header at the start of p[0..len): the bytes it takes (> 0),
 * 0 when more bytes are needed, -1 when it is no valid PROXY header.
 */
ssize_t bw_proxy_protocol_parse(u_char *p, size_t len,
    bw_proxy_protocol_t *pp);

#endif

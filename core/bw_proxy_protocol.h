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
    bw_str_t        tlvs;           /* v2: the TLVs after the addresses */
    unsigned        local:1;        /* UNKNOWN / LOCAL: no addresses */
    u_char          text[2][INET6_ADDRSTRLEN];
} bw_proxy_protocol_t;

#define BW_PROXY_PROTOCOL_TLV_NUM_LEN  (sizeof("4294967295") - 1)

/*
 * Parse a header at the start of p[0..len): the bytes it takes (> 0),
 * 0 when more bytes are needed, -1 when it is no valid PROXY header.
 */
ssize_t bw_proxy_protocol_parse(u_char *p, size_t len,
    bw_proxy_protocol_t *pp);

/* A parsed header made the connection's: the texts and TLVs copied from
 * the buffer they were parsed in. */
bw_proxy_protocol_t *bw_proxy_protocol_copy(bw_pool_t *pool,
    bw_proxy_protocol_t *pp);

/*
 * The TLV named as nginx names them ($proxy_protocol_tlv_NAME): "alpn",
 * "authority", "unique_id", "ssl", "netns" or a hex type "0x01"; inside
 * the SSL TLV "ssl_version", "ssl_cn", "ssl_cipher", "ssl_sig_alg",
 * "ssl_key_alg" or "ssl_0x21", and "ssl_verify" (its verify field, in
 * decimal, written to num). BW_OK, BW_DECLINED when the header has no
 * such TLV, BW_ERROR for a name that is none of these.
 */
bw_int_t bw_proxy_protocol_get_tlv(bw_proxy_protocol_t *pp, bw_str_t *name,
    bw_str_t *value, u_char num[BW_PROXY_PROTOCOL_TLV_NUM_LEN]);

#endif

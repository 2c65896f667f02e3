/*
 * libFuzzer target: the PROXY protocol parser (v1 and v2) on arbitrary
 * bytes. What it accepts must be within the input, carry addresses that
 * parse back, and every shorter prefix of it must ask for more bytes;
 * every TLV found by name lies within the header's TLVs.
 */

#include <bw_core.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char  *tlv_names[] = {
    "alpn", "authority", "unique_id", "ssl", "netns", "0x03", "0xae",
    "0x000e", "ssl_verify", "ssl_version", "ssl_cn", "ssl_cipher",
    "ssl_sig_alg", "ssl_key_alg", "ssl_0x21", NULL
};

static void
check_tlvs(bw_proxy_protocol_t *pp)
{
    u_char       num[BW_PROXY_PROTOCOL_TLV_NUM_LEN];
    bw_str_t     name, value;
    const char **n;

    for (n = tlv_names; *n; n++) {
        name.data = (u_char *) *n;
        name.len = strlen(*n);
        if (bw_proxy_protocol_get_tlv(pp, &name, &value, num) != BW_OK) {
            continue;
        }
        if (value.data == num) {
            if (value.len == 0 || value.len > sizeof(num)) {
                __builtin_trap();
            }
            continue;
        }
        if (value.data < pp->tlvs.data
            || value.data + value.len > pp->tlvs.data + pp->tlvs.len)
        {
            __builtin_trap();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *buf, a[16];
    ssize_t               n;
    bw_proxy_protocol_t   pp, pp2;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    n = bw_proxy_protocol_parse(buf, size, &pp);

    if (n > (ssize_t) size || n < -1) {
        __builtin_trap();
    }

    if (n > 0) {
        if (!pp.local) {
            if (pp.src_addr.len == 0 || pp.dst_addr.len == 0
                || pp.src_addr.len >= INET6_ADDRSTRLEN)
            {
                __builtin_trap();
            }
            check_tlvs(&pp);
            pp.text[0][pp.src_addr.len] = '\0';
            if (inet_pton(pp.src.sockaddr.sa_family, (char *) pp.text[0], a)
                != 1)
            {
                __builtin_trap();
            }
        }
        if (bw_proxy_protocol_parse(buf, (size_t) n - 1, &pp2) != 0
            || bw_proxy_protocol_parse(buf, (size_t) n / 2, &pp2) != 0)
        {
            __builtin_trap();
        }
    }

    free(buf);
    return 0;
}

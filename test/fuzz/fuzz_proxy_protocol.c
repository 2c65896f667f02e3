/*
 * libFuzzer target: the PROXY protocol parser (v1 and v2) on arbitrary
 * bytes. What it accepts must be within the input, carry addresses that
 * parse back, and every shorter prefix of it must ask for more bytes.
 */

#include <bw_core.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

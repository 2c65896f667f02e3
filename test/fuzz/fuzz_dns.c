/*
 * libFuzzer target: DNS answers (core/dns.c) on arbitrary bytes, asked
 * both for A and AAAA of a fixed name. What it accepts must hold only
 * addresses of the asked family, a CNAME that is a proper name, and a
 * count within bounds; no input may make it read outside the message.
 */

#include <bw_core.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char           *buf;
    bw_uint_t         i, t, types[2] = { BW_DNS_A, BW_DNS_AAAA };
    uint16_t          id;
    bw_str_t          name = bw_string("app.test");
    bw_dns_answer_t   ans;

    if (size < 2) {
        return 0;
    }

    /* an exact-size copy: ASan sees any read past the end */
    buf = malloc(size);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    id = (uint16_t) ((buf[0] << 8) | buf[1]);

    for (t = 0; t < 2; t++) {
        if (bw_dns_parse(buf, size, id, &name, types[t], &ans) != BW_OK) {
            continue;
        }
        if (ans.naddrs > BW_DNS_MAX_ADDRS
            || ans.cname_len > BW_DNS_NAME_LEN
            || ans.rcode > 15)
        {
            __builtin_trap();
        }
        for (i = 0; i < ans.naddrs; i++) {
            if (ans.addrs[i].sockaddr.sa_family
                != (types[t] == BW_DNS_A ? AF_INET : AF_INET6))
            {
                __builtin_trap();
            }
        }
        if (ans.cname_len && (strlen((char *) ans.cname) != ans.cname_len
                              || ans.cname[0] == '.'))
        {
            __builtin_trap();
        }
    }

    free(buf);
    return 0;
}

/*
 * The counters behind stub_status: one page of shared anonymous memory
 * mapped by the first cycle, before any worker is forked, and kept for
 * the life of the master (reloads included), as nginx's.
 */

#include <bw_core.h>
#include <sys/mman.h>

bw_stats_t  *bw_stats;

/* the names nginx Plus's API gives these failures, where it has one */
const char  *bw_ssl_failed_names[BW_SSL_FAILED_N] = {
    "no_common_protocol", "no_common_cipher", "handshake_timeout",
    "peer_rejected_cert", "peer_closed", "other"
};

const char  *bw_ssl_verify_names[BW_SSL_VERIFY_N] = {
    "no_cert", "expired_cert", "revoked_cert", "other"
};

bw_int_t
bw_stats_init(bw_log_t *log)
{
    void  *p;

    if (bw_stats) {
        return BW_OK;
    }

    p = mmap(NULL, sizeof(bw_stats_t), PROT_READ|PROT_WRITE,
             MAP_SHARED|MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        bw_log_error(BW_LOG_EMERG, log, errno,
                     "mmap() of the connection counters failed");
        return BW_ERROR;
    }

    bw_stats = p;
    return BW_OK;
}

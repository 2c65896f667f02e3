/* Logging to syslog (RFC 3164 over UDP or a unix datagram socket). */

#ifndef BW_SYSLOG_H
#define BW_SYSLOG_H

typedef struct bw_syslog_peer_s {
    int          fd;
    bw_uint_t    facility;
    bw_uint_t    severity;       /* access_log's; error_log's follows
                                    each message's level */
    bw_str_t     tag;
    bw_str_t     server;         /* as written, for messages */
    unsigned     nohostname:1;
    unsigned     busy:1;         /* a failure is said once, not in a
                                    loop of logging about logging */
} bw_syslog_peer_t;

/* "syslog:server=...[,facility=..][,severity=..][,tag=..][,nohostname]"
 * in name: the peer, its socket opened (and closed with the cycle's
 * pool); NULL with the error logged. */
bw_syslog_peer_t *bw_syslog_parse(bw_conf_t *cf, bw_str_t *name);
/* One message; level is a BW_LOG_* level, or 0 for the peer's own
 * severity. Never blocks: a full socket drops the message. */
void bw_syslog_send(bw_syslog_peer_t *peer, bw_uint_t level, u_char *msg,
    size_t len);

#endif

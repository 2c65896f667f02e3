/*
 * Active health checks: "health_check" in a location that proxies to an
 * upstream with a zone, and "match" blocks that say what a passing
 * answer is (nginx Plus's directives). One worker probes each peer at a
 * time, coordinated through the peer's fields in the zone; the result
 * takes the peer out of rotation, or brings it back, for every worker.
 */

#ifndef BW_HTTP_UPSTREAM_CHECK_H
#define BW_HTTP_UPSTREAM_CHECK_H

#include <bw_http.h>
#include <bw_http_upstream_round_robin.h>

/* the body a match looks at, as nginx Plus: its first 256 KiB */
#define BW_HC_BODY_MAX      (256 * 1024)
#define BW_HC_HEADER_MAX    (16 * 1024)

#define BW_HC_STATUS   1
#define BW_HC_HEADER   2
#define BW_HC_BODY     3

#define BW_HC_PRESENT  1     /* header H;        */
#define BW_HC_ABSENT   2     /* header ! H;      */
#define BW_HC_EQ       3     /* =                */
#define BW_HC_NE       4     /* !=               */
#define BW_HC_RE       5     /* ~                */
#define BW_HC_NRE      6     /* !~               */

/* One line of a match block. */
typedef struct {
    bw_uint_t            type;
    bw_uint_t            op;           /* header and body */
    unsigned             negate:1;     /* status ! ... */
    bw_array_t          *ranges;       /* status: [lo, hi] pairs */
    bw_str_t             name;         /* header */
    bw_str_t             value;        /* header = / != */
    bw_regex_t          *regex;        /* ~ / !~ */
} bw_http_hc_test_t;

typedef struct {
    bw_str_t             name;
    bw_array_t           tests;        /* bw_http_hc_test_t */
    u_char              *file;
    bw_uint_t            line;
    unsigned             used:1;
    unsigned             defined:1;    /* its block has been read */
} bw_http_hc_match_t;

/* An answer as the probe read it. */
typedef struct {
    bw_uint_t            status;
    bw_str_t             headers;      /* the header lines, raw */
    bw_str_t             body;         /* decoded, at most BW_HC_BODY_MAX */
} bw_http_hc_answer_t;

/* One health_check: the upstream it checks and how. */
typedef struct {
    bw_http_upstream_srv_conf_t  *upstream;
    bw_http_upstream_conf_t      *conf;       /* the location's proxy
                                                 settings (timeouts) */
    bw_msec_t                     interval;
    bw_msec_t                     jitter;
    bw_uint_t                     fails;
    bw_uint_t                     passes;
    bw_str_t                      uri;
    in_port_t                     port;       /* 0: the peer's */
    bw_http_hc_match_t           *match;      /* NULL: 2xx and 3xx pass */
    u_char                       *file;
    bw_uint_t                     line;
    bw_uint_t                     index;      /* among its upstream's */
    unsigned                      mandatory:1;
    unsigned                      persistent:1;
    unsigned                      https:1;    /* proxy_pass https:// */
    unsigned                      ssl_sni:1;  /* ssl_name is a host name */
    bw_str_t                      ssl_name;   /* the name sent and checked */
    bw_event_t                    timer;      /* each worker's */
    bw_log_t                     *log;
    bw_cycle_t                   *cycle;      /* whose memory this is */
} bw_http_hc_t;

typedef struct {
    bw_array_t                    checks;     /* bw_http_hc_t * */
    bw_array_t                    matches;    /* bw_http_hc_match_t * */
} bw_http_hc_main_conf_t;

/* bw_http_upstream_check_match.c */
char *bw_http_hc_match_block(bw_conf_t *cf, bw_command_t *cmd, void *conf);
/* Does the answer pass (no match: a 2xx or 3xx status)? why: the first
 * test that failed, for the log. */
bw_uint_t bw_http_hc_passes(bw_http_hc_match_t *m, bw_http_hc_answer_t *a,
    const char **why);
/* Split an answer's bytes into status, headers and body (a chunked body
 * decoded); BW_AGAIN while it is not whole, BW_ERROR when it is not
 * HTTP. */
bw_int_t bw_http_hc_parse_answer(u_char *p, size_t len, bw_uint_t eof,
    bw_http_hc_answer_t *a);

/* bw_http_upstream_check_probe.c */
void bw_http_hc_tick(bw_event_t *ev);

#endif

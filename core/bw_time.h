/*
 * The cached clock: read once per event-loop turn (bw_time_update), so
 * that handlers never call into the kernel for the time.
 */

#ifndef BW_TIME_H
#define BW_TIME_H

extern volatile bw_msec_t  bw_current_msec;   /* monotonic, for timers */
extern volatile time_t     bw_time_sec;       /* wall clock seconds */
extern volatile bw_uint_t  bw_time_msec;      /* wall clock milliseconds */

extern bw_str_t  bw_cached_err_log_time;      /* 2026/11/23 09:09:34 */
extern bw_str_t  bw_cached_http_time;         /* Mon, 23 Nov 2026 09:... GMT */
extern bw_str_t  bw_cached_http_log_time;     /* 23/Nov/2026:09:09:34 +0000 */
extern bw_str_t  bw_cached_http_log_iso8601;  /* 2026-11-23T09:09:34+00:00 */

#define BW_HTTP_TIME_LEN  (sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1)

void bw_time_init(void);
void bw_time_update(void);
u_char *bw_http_time(u_char *buf, time_t t);
time_t bw_parse_http_time(u_char *value, size_t len);

#endif

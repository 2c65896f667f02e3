/*
 * Cached time strings. Updated by the event loop after every wait and
 * by the master after every signal; never from a signal handler.
 */

#include <bw_core.h>

volatile bw_msec_t  bw_current_msec;
volatile time_t     bw_time_sec;
volatile bw_uint_t  bw_time_msec;

bw_str_t  bw_cached_err_log_time;
bw_str_t  bw_cached_http_time;
bw_str_t  bw_cached_http_log_time;
bw_str_t  bw_cached_http_log_iso8601;

static u_char  cached_err_log_time[sizeof("1970/09/28 12:00:00")];
static u_char  cached_http_time[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
static u_char  cached_http_log_time[sizeof("28/Sep/1970:12:00:00 +0600")];
static u_char  cached_http_log_iso8601[sizeof("1970-09-28T12:00:00+06:00")];

static const char  *week[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
                               "Sat" };
static const char  *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static time_t  cached_sec = -1;

void
bw_time_init(void)
{
    bw_cached_err_log_time.len = sizeof(cached_err_log_time) - 1;
    bw_cached_http_time.len = sizeof(cached_http_time) - 1;
    bw_cached_http_log_time.len = sizeof(cached_http_log_time) - 1;
    bw_cached_http_log_iso8601.len = sizeof(cached_http_log_iso8601) - 1;

    bw_cached_err_log_time.data = cached_err_log_time;
    bw_cached_http_time.data = cached_http_time;
    bw_cached_http_log_time.data = cached_http_log_time;
    bw_cached_http_log_iso8601.data = cached_http_log_iso8601;

    cached_sec = -1;
    bw_time_update();
}

void
bw_time_update(void)
{
    struct tm        tm, gmt;
    struct timeval   tv;
    struct timespec  ts;
    long             off;
    char             sign;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    bw_current_msec = (bw_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    gettimeofday(&tv, NULL);
    bw_time_msec = tv.tv_usec / 1000;

    if (tv.tv_sec == cached_sec) {
        return;
    }

    cached_sec = tv.tv_sec;
    bw_time_sec = tv.tv_sec;

    gmtime_r(&cached_sec, &gmt);
    localtime_r(&cached_sec, &tm);

    snprintf((char *) cached_http_time, sizeof(cached_http_time),
             "%s, %02d %s %4d %02d:%02d:%02d GMT",
             week[gmt.tm_wday], gmt.tm_mday, months[gmt.tm_mon],
             gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min, gmt.tm_sec);

    snprintf((char *) cached_err_log_time, sizeof(cached_err_log_time),
             "%4d/%02d/%02d %02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);

    off = tm.tm_gmtoff / 60;
    sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;

    snprintf((char *) cached_http_log_time, sizeof(cached_http_log_time),
             "%02d/%s/%d:%02d:%02d:%02d %c%02ld%02ld",
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);

    snprintf((char *) cached_http_log_iso8601,
             sizeof(cached_http_log_iso8601),
             "%4d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}

u_char *
bw_http_time(u_char *buf, time_t t)
{
    struct tm       gmt;
    static time_t   last_t = -1;
    static u_char   last[BW_HTTP_TIME_LEN + 1];

    /* Last-Modified of the same few files, over and over */
    if (t == last_t) {
        return bw_cpymem(buf, last, BW_HTTP_TIME_LEN);
    }

    gmtime_r(&t, &gmt);
    snprintf((char *) buf, BW_HTTP_TIME_LEN + 1,
             "%s, %02d %s %4d %02d:%02d:%02d GMT",
             week[gmt.tm_wday], gmt.tm_mday, months[gmt.tm_mon],
             gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min, gmt.tm_sec);
    memcpy(last, buf, BW_HTTP_TIME_LEN);
    last_t = t;
    return buf + BW_HTTP_TIME_LEN;
}

/*
 * Parse an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the only form
 * a sender may generate (RFC 9110, 5.6.7); the obsolete forms are not
 * worth the parser they need for a conditional request to fail open.
 */
time_t
bw_parse_http_time(u_char *value, size_t len)
{
    struct tm  tm;
    char       buf[64], wday[4], mon[4], zone[4];
    int        i, n;

    if (len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, value, len);
    buf[len] = '\0';

    bw_memzero(&tm, sizeof(tm));
    n = 0;
    if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &tm.tm_mday,
               mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
               zone, &n) != 8 || (size_t) n != len
        || strcmp(zone, "GMT") != 0)
    {
        return -1;
    }

    for (i = 0; i < 12; i++) {
        if (strcmp(mon, months[i]) == 0) {
            break;
        }
    }
    if (i == 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23
        || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
    {
        return -1;
    }

    tm.tm_mon = i;
    tm.tm_year -= 1900;
    return timegm(&tm);
}

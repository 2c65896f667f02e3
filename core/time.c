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

static bw_int_t
bw_time_2digits(u_char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') {
        return -1;
    }
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no libc: timegm
 * costs thousands of instructions and this runs for every proxied
 * Last-Modified). */
static int64_t
bw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

/*
 * Parse an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the only form
 * a sender may generate (RFC 9110, 5.6.7); the obsolete forms are not
 * worth the parser they need for a conditional request to fail open.
 */
time_t
bw_parse_http_time(u_char *value, size_t len)
{
    bw_int_t  mday, year, hour, min, sec, hi, lo;
    bw_uint_t  i, mon;
    static const u_char  days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
                                    31, 30, 31 };

    /* "Sun, 06 Nov 1994 08:49:37 GMT": every field at its place */
    if (len != 29 || value[3] != ',' || value[4] != ' ' || value[7] != ' '
        || value[11] != ' ' || value[16] != ' ' || value[19] != ':'
        || value[22] != ':' || value[25] != ' '
        || memcmp(value + 26, "GMT", 3) != 0)
    {
        return -1;
    }

    for (i = 0; i < 7; i++) {
        if (memcmp(value, week[i], 3) == 0) {
            break;
        }
    }
    for (mon = 0; mon < 12; mon++) {
        if (memcmp(value + 8, months[mon], 3) == 0) {
            break;
        }
    }

    mday = bw_time_2digits(value + 5);
    hi = bw_time_2digits(value + 12);
    lo = bw_time_2digits(value + 14);
    hour = bw_time_2digits(value + 17);
    min = bw_time_2digits(value + 20);
    sec = bw_time_2digits(value + 23);

    if (i == 7 || mon == 12 || mday < 1 || hi < 0 || lo < 0 || hour < 0
        || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60
        || mday > days[mon])
    {
        return -1;
    }

    year = hi * 100 + lo;
    if (year < 1970) {
        return -1;
    }

    return (time_t) (bw_days_from_civil(year, (unsigned) mon + 1,
                                        (unsigned) mday) * 86400
                     + hour * 3600 + min * 60 + sec);
}

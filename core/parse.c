/* Value parsers shared by the directive setters. */

#include <bw_core.h>

ssize_t
bw_parse_size(bw_str_t *line)
{
    off_t  n;

    /* ssize_t and off_t are both 64 bits on the platforms we build for */
    n = bw_parse_offset(line);
    return (n == BW_ERROR || n > SSIZE_MAX) ? BW_ERROR : (ssize_t) n;
}

off_t
bw_parse_offset(bw_str_t *line)
{
    u_char  unit;
    off_t   offset, scale, max;
    size_t  len;

    len = line->len;
    if (len == 0) {
        return BW_ERROR;
    }

    unit = line->data[len - 1];

    switch (unit) {
    case 'K': case 'k':
        len--; max = BW_MAX_OFF_T_VALUE / 1024; scale = 1024;
        break;
    case 'M': case 'm':
        len--; max = BW_MAX_OFF_T_VALUE / (1024 * 1024); scale = 1024 * 1024;
        break;
    case 'G': case 'g':
        len--; max = BW_MAX_OFF_T_VALUE / (1024 * 1024 * 1024);
        scale = 1024 * 1024 * 1024;
        break;
    default:
        max = BW_MAX_OFF_T_VALUE; scale = 1;
    }

    offset = bw_atoof(line->data, len);
    if (offset == BW_ERROR || offset > max) {
        return BW_ERROR;
    }

    return offset * scale;
}

bw_int_t
bw_parse_time(bw_str_t *line, bw_uint_t is_sec)
{
    u_char      *p, *last;
    bw_int_t     value, total, scale, max, cutoff, cutlim;
    bw_uint_t    valid;
    enum { st_start, st_year, st_month, st_week, st_day, st_hour, st_min,
           st_sec, st_msec, st_last } step;

    valid = 0;
    value = 0;
    total = 0;
    cutoff = BW_MAX_INT_T_VALUE / 10;
    cutlim = BW_MAX_INT_T_VALUE % 10;
    step = is_sec ? st_start : st_month;

    p = line->data;
    last = p + line->len;

    while (p < last) {

        if (*p >= '0' && *p <= '9') {
            if (value >= cutoff && (value > cutoff || *p - '0' > cutlim)) {
                return BW_ERROR;
            }
            value = value * 10 + (*p++ - '0');
            valid = 1;
            continue;
        }

        switch (*p++) {
        case 'y':
            if (step > st_start) { return BW_ERROR; }
            step = st_year; max = BW_MAX_INT_T_VALUE / (60*60*24*365);
            scale = 60 * 60 * 24 * 365;
            break;
        case 'M':
            if (step >= st_month) { return BW_ERROR; }
            step = st_month; max = BW_MAX_INT_T_VALUE / (60*60*24*30);
            scale = 60 * 60 * 24 * 30;
            break;
        case 'w':
            if (step >= st_week) { return BW_ERROR; }
            step = st_week; max = BW_MAX_INT_T_VALUE / (60*60*24*7);
            scale = 60 * 60 * 24 * 7;
            break;
        case 'd':
            if (step >= st_day) { return BW_ERROR; }
            step = st_day; max = BW_MAX_INT_T_VALUE / (60*60*24);
            scale = 60 * 60 * 24;
            break;
        case 'h':
            if (step >= st_hour) { return BW_ERROR; }
            step = st_hour; max = BW_MAX_INT_T_VALUE / (60*60);
            scale = 60 * 60;
            break;
        case 'm':
            if (p < last && *p == 's') {
                if (is_sec || step >= st_msec) { return BW_ERROR; }
                p++;
                step = st_msec; max = BW_MAX_INT_T_VALUE; scale = 1;
                break;
            }
            if (step >= st_min) { return BW_ERROR; }
            step = st_min; max = BW_MAX_INT_T_VALUE / 60; scale = 60;
            break;
        case 's':
            if (step >= st_sec) { return BW_ERROR; }
            step = st_sec; max = BW_MAX_INT_T_VALUE; scale = 1;
            break;
        case ' ':
            if (step >= st_sec) { return BW_ERROR; }
            step = st_last; max = BW_MAX_INT_T_VALUE; scale = 1;
            break;
        default:
            return BW_ERROR;
        }

        if (step != st_msec && !is_sec) {
            scale *= 1000;
            max /= 1000;
        }

        if (value > max) {
            return BW_ERROR;
        }
        value *= scale;
        if (total > BW_MAX_INT_T_VALUE - value) {
            return BW_ERROR;
        }
        total += value;
        value = 0;

        while (p < last && *p == ' ') {
            p++;
        }
    }

    if (!valid) {
        return BW_ERROR;
    }

    if (!is_sec) {
        if (value > BW_MAX_INT_T_VALUE / 1000) {
            return BW_ERROR;
        }
        value *= 1000;
    }

    if (total > BW_MAX_INT_T_VALUE - value) {
        return BW_ERROR;
    }

    return total + value;
}

/* Parsers for configuration values: sizes, offsets, times. */

#ifndef BW_PARSE_H
#define BW_PARSE_H

ssize_t bw_parse_size(bw_str_t *line);
off_t bw_parse_offset(bw_str_t *line);
/* "1h 30m", "500ms", "10"; is_sec: plain numbers are seconds and the
 * result is in seconds, else milliseconds. */
bw_int_t bw_parse_time(bw_str_t *line, bw_uint_t is_sec);

#endif

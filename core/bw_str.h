/* Length-carrying strings and the byte helpers used by the parsers. */

#ifndef BW_STR_H
#define BW_STR_H

typedef struct {
    size_t      len;
    u_char     *data;
} bw_str_t;

typedef struct {
    bw_str_t    key;
    bw_str_t    value;
} bw_keyval_t;

#define bw_string(s)        { sizeof(s) - 1, (u_char *) s }
#define bw_null_string      { 0, NULL }
#define bw_str_set(str, text) \
    (str)->len = sizeof(text) - 1; (str)->data = (u_char *) text
#define bw_str_null(str)    (str)->len = 0; (str)->data = NULL

#define bw_tolower(c) (u_char) ((c >= 'A' && c <= 'Z') ? (c | 0x20) : c)
#define bw_toupper(c) (u_char) ((c >= 'a' && c <= 'z') ? (c & ~0x20) : c)

#define bw_str_eq_lit(s, lit) \
    ((s)->len == sizeof(lit) - 1 \
     && memcmp((s)->data, lit, sizeof(lit) - 1) == 0)
#define bw_str_caseeq_lit(s, lit) \
    ((s)->len == sizeof(lit) - 1 \
     && bw_strncasecmp((s)->data, (u_char *) lit, sizeof(lit) - 1) == 0)

void bw_strlow(u_char *dst, u_char *src, size_t n);
bw_int_t bw_strncasecmp(u_char *s1, u_char *s2, size_t n);
bw_int_t bw_str_eq(bw_str_t *a, bw_str_t *b);
u_char *bw_strlcasestrn(u_char *s1, u_char *last, u_char *s2, size_t n);
u_char *bw_cpystrn(u_char *dst, u_char *src, size_t n);

bw_int_t bw_atoi(u_char *line, size_t n);
off_t bw_atoof(u_char *line, size_t n);
bw_int_t bw_hex_digit(u_char ch);     /* -1 if not a hex digit */
u_char *bw_hex_dump(u_char *dst, u_char *src, size_t len);

/* Escape for access logs; return the length when dst is NULL. */
#define BW_ESCAPE_DEFAULT  0
#define BW_ESCAPE_JSON     1
#define BW_ESCAPE_NONE     2
size_t bw_escape_log(u_char *dst, u_char *src, size_t size, bw_uint_t type);
/* Escape a part of a URI again: the extra bytes it needs, the escaping */
#define BW_URI_ESCAPE_PATH  0
#define BW_URI_ESCAPE_ARGS  1
size_t bw_escape_uri_len(u_char *src, size_t size, bw_uint_t type);
u_char *bw_escape_uri(u_char *dst, u_char *src, size_t size, bw_uint_t type);


/* Integers for the hot path, where snprintf costs more than the rest of
 * a header: write at p, return the end. */
u_char *bw_sprint_uint(u_char *p, uint64_t n);
u_char *bw_sprint_hex(u_char *p, uint64_t n);

/* Bounded formatting: writes at most last - buf bytes, returns the end. */
u_char *bw_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
u_char *bw_vslprintf(u_char *buf, u_char *last, const char *fmt,
    va_list args);

bw_uint_t bw_levenshtein(u_char *a, size_t alen, u_char *b, size_t blen);

#endif

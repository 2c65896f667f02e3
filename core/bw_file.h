/* File helpers: full paths, reading a whole small file, temp files. */

#ifndef BW_FILE_H
#define BW_FILE_H

/* Make name absolute against prefix (config time only). */
bw_int_t bw_get_full_name(bw_pool_t *pool, bw_str_t *prefix,
    bw_str_t *name);
/* Read a (small, configuration-time) file into pool memory. */
bw_int_t bw_read_whole_file(bw_pool_t *pool, const char *name,
    bw_str_t *out, bw_err_t *err);

#endif

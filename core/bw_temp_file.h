/*
 * Temp paths and temp files: bodies too large for memory (client
 * request bodies, upstream responses) spill to files under a path named
 * by a directive. A temp file is unlinked as soon as it is open, so a
 * crash never leaves it behind, and closed by its pool's cleanup; only
 * one asked for by name (client_body_in_file_only) keeps its name.
 */

#ifndef BW_TEMP_FILE_H
#define BW_TEMP_FILE_H

typedef struct {
    bw_str_t     name;          /* absolute directory */
    u_char      *conf_file;     /* where it was set, for errors */
    bw_uint_t    line;
} bw_path_t;

/* "client_body_temp_path path [level1 [level2 [level3]]]" */
char *bw_conf_set_path_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_add_path(bw_conf_t *cf, bw_path_t *path);
/* Merge: an unset path gets prefix/default and is registered. */
char *bw_conf_merge_path_value(bw_conf_t *cf, bw_path_t **path,
    bw_path_t *prev, const char *def);
/* Master, every load: mkdir each registered path, owned by the user. */
bw_int_t bw_create_paths(bw_cycle_t *cycle, uid_t user, gid_t group);

bw_int_t bw_create_temp_file(bw_file_t *file, bw_path_t *path,
    bw_pool_t *pool, bw_log_t *log);
/* A temp file that keeps its name while open (client_body_in_file_only):
 * removed when its pool goes (CLEAN) or never (KEEP). */
#define BW_TEMP_FILE_UNLINK  0
#define BW_TEMP_FILE_KEEP    1
#define BW_TEMP_FILE_CLEAN   2
bw_int_t bw_create_named_temp_file(bw_file_t *file, bw_path_t *path,
    bw_pool_t *pool, bw_log_t *log, bw_uint_t keep);
/* Write all of buf at the file's offset and advance it. */
bw_int_t bw_write_temp_file(bw_file_t *file, u_char *buf, size_t size);
/* The memory buffers of a chain, appended in pwritev calls of at most
 * limit bytes each (a buffer larger than limit goes in one call). */
bw_int_t bw_write_chain_to_temp_file(bw_file_t *file, bw_chain_t *in,
    size_t limit);

#endif

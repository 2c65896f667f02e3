/*
 * The cache manager and loader's work (run by the processes of
 * core/process/cache_process.c).
 *
 * The manager removes entries nobody asked for within "inactive", and
 * while the files take more than max_size (or the disk has less than
 * min_free) the least recently used ones, at most manager_files per
 * pass or manager_threshold of time, then sleeps manager_sleep. An
 * entry a request holds is not removed: it gets another inactive
 * period, as in nginx.
 *
 * The loader walks the cache directory once after a start or an
 * upgrade, loader_files entries or loader_threshold at a time, and puts
 * what it finds in the keys zone, so that a restarted server keeps its
 * cache; until it is done the zone is "cold" and a request whose key is
 * not in it yet looks on disk itself. Files left by a writer that died
 * (NAME.PID.SEQ of a process that is gone) are removed on the way; a
 * final-named file whose header does not check out is removed too.
 */

#include <bw_http_cache.h>
#include <dirent.h>
#include <sys/statvfs.h>

/* a look at the LRU end at least this often: new entries may be due
 * before the oldest one (a lock and a compare, nothing more) */
#define BW_HTTP_CACHE_MANAGER_MAX_WAIT  1000

struct bw_http_cache_walk_s {
    DIR           *dir[4];
    size_t         len[4];          /* of path at each depth */
    bw_uint_t      depth;
    bw_uint_t      files;
    off_t          size;
    u_char         path[PATH_MAX];
};

static off_t
bw_http_cache_disk_free(bw_http_cache_t *cache)
{
    struct statvfs  fs;

    if (statvfs((char *) cache->path.data, &fs) == -1) {
        return BW_MAX_OFF_T_VALUE;
    }

    return (off_t) fs.f_bavail * (off_t) fs.f_frsize;
}

bw_msec_t
bw_http_cache_manager(void *data)
{
    bw_http_cache_t       *cache = data;

    off_t                  free_space;
    time_t                 wait;
    bw_uint_t              files, over;
    bw_msec_t              start;
    bw_queue_t            *q;
    bw_http_cache_node_t  *fcn;

    start = bw_current_msec;
    files = 0;
    free_space = cache->min_free ? bw_http_cache_disk_free(cache)
                                 : BW_MAX_OFF_T_VALUE;

    for ( ;; ) {
        bw_shmtx_lock(cache->shpool);

        if (bw_queue_empty(&cache->sh->queue)) {
            bw_shmtx_unlock(cache->shpool);
            return BW_HTTP_CACHE_MANAGER_MAX_WAIT;
        }

        q = bw_queue_last(&cache->sh->queue);
        fcn = bw_queue_data(q, bw_http_cache_node_t, queue);

        over = (cache->max_size && cache->sh->size > cache->max_size)
               || (cache->min_free && free_space < cache->min_free);

        if (!over && fcn->expire > bw_time_sec) {
            wait = fcn->expire - bw_time_sec;
            bw_shmtx_unlock(cache->shpool);
            return wait * 1000 < BW_HTTP_CACHE_MANAGER_MAX_WAIT
                   ? (bw_msec_t) wait * 1000 : BW_HTTP_CACHE_MANAGER_MAX_WAIT;
        }

        if (fcn->count || fcn->updating) {
            bw_queue_remove(q);
            bw_queue_insert_head(&cache->sh->queue, q);
            fcn->expire = bw_time_sec + cache->inactive;

        } else {
            if (cache->min_free) {
                free_space += fcn->fs_size;
            }
            bw_http_cache_delete_node(cache, fcn);
        }

        bw_shmtx_unlock(cache->shpool);

        bw_time_update();

        if (++files >= cache->manager_files
            || bw_current_msec - start >= cache->manager_threshold)
        {
            return cache->manager_sleep ? cache->manager_sleep : 1;
        }
    }
}

static bw_uint_t
bw_http_cache_hex_name(u_char *name, size_t len, u_char *md5)
{
    size_t    i;
    bw_int_t  hi, lo;

    if (len < 2 * BW_HTTP_CACHE_KEY_LEN) {
        return 0;
    }

    for (i = 0; i < BW_HTTP_CACHE_KEY_LEN; i++) {
        hi = bw_hex_digit(name[2 * i]);
        lo = bw_hex_digit(name[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return 0;
        }
        md5[i] = (u_char) (hi << 4 | lo);
    }

    return 1;
}

/* The process is gone (a zombie nobody reaped yet is gone too: a
 * container's init may never reap the workers of a killed master). */
static bw_uint_t
bw_http_cache_writer_gone(pid_t pid)
{
    int      fd;
    char     name[64], buf[256], *p;
    ssize_t  n;

    if (kill(pid, 0) == -1) {
        return errno == ESRCH;
    }

    (void) snprintf(name, sizeof(name), "/proc/%d/stat", (int) pid);
    fd = open(name, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';

    /* "pid (comm) S ...": the state after the last ')' */
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'Z';
}

/* A temp file "NAME.PID.SEQ" whose writer is gone: removed. */
static void
bw_http_cache_load_temp(bw_http_cache_t *cache, u_char *path, u_char *suffix)
{
    u_char    *dot;
    bw_int_t   pid;

    dot = (u_char *) strchr((char *) suffix, '.');
    if (dot == NULL) {
        return;
    }

    pid = bw_atoi(suffix, dot - suffix);
    if (pid <= 0 || bw_http_cache_writer_gone((pid_t) pid)) {
        if (unlink((char *) path) == 0) {
            bw_log_error(BW_LOG_NOTICE, bw_cycle->log, 0,
                         "removed the unfinished cache file \"%s\"", path);
        }
    }
}

static void
bw_http_cache_load_file(bw_http_cache_t *cache, u_char *path, u_char *name,
    struct bw_http_cache_walk_s *w)
{
    int                           fd;
    off_t                         fs;
    size_t                        len;
    ssize_t                       n;
    u_char                        md5[BW_HTTP_CACHE_KEY_LEN];
    struct stat                   st;
    bw_http_cache_node_t         *fcn;
    bw_http_cache_file_header_t   h;

    len = strlen((char *) name);

    if (!bw_http_cache_hex_name(name, len, md5)) {
        return;                 /* not ours: left alone */
    }

    if (len > 2 * BW_HTTP_CACHE_KEY_LEN) {
        if (name[2 * BW_HTTP_CACHE_KEY_LEN] == '.') {
            bw_http_cache_load_temp(cache, path,
                                    name + 2 * BW_HTTP_CACHE_KEY_LEN + 1);
        }
        return;
    }

    fd = open((char *) path, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
    if (fd == -1) {
        return;
    }

    n = pread(fd, &h, sizeof(h), 0);

    if (fstat(fd, &st) == -1 || n != (ssize_t) sizeof(h)
        || !bw_http_cache_header_valid(&h, st.st_size))
    {
        close(fd);
        bw_log_error(BW_LOG_CRIT, bw_cycle->log, 0,
                     "cache file \"%s\" is invalid, removed", path);
        (void) unlink((char *) path);
        return;
    }

    close(fd);

    fs = (st.st_size + 4095) & ~((off_t) 4095);

    bw_shmtx_lock(cache->shpool);

    fcn = bw_http_cache_find_node(cache, md5);

    /* the file may have gone since it was read (the manager removes
     * under the lock): an entry for it would count what is not there */
    if (fcn == NULL && access((char *) path, F_OK) == 0) {
        fcn = bw_http_cache_add_node(cache, md5);
        if (fcn) {
            fcn->uses = 1;
            fcn->expire = bw_time_sec + cache->inactive;
        }
    }

    /* a node made meanwhile by a request that found no file yet (it
     * counts min_uses) gets its file too */
    if (fcn && !fcn->exists) {
        fcn->exists = 1;
        fcn->fs_size = fs;
        fcn->valid_sec = (time_t) h.valid_sec;
        fcn->updating_sec = (time_t) h.updating_sec;
        fcn->error_sec = (time_t) h.error_sec;
        cache->sh->size += fs;
        w->size += fs;
    }

    bw_shmtx_unlock(cache->shpool);
}

static void
bw_http_cache_loaded(bw_http_cache_t *cache)
{
    struct bw_http_cache_walk_s  *w = cache->walk;

    bw_shmtx_lock(cache->shpool);
    cache->sh->cold = 0;
    cache->sh->loading = 0;
    bw_shmtx_unlock(cache->shpool);

    bw_log_error(BW_LOG_NOTICE, bw_cycle->log, 0,
                 "http file cache: %s %.3fM, bsize: 4096, %lu files",
                 cache->path.data, (double) w->size / (1024 * 1024),
                 (unsigned long) w->files);

    free(w);
    cache->walk = NULL;
}

bw_msec_t
bw_http_cache_loader(void *data)
{
    bw_http_cache_t              *cache = data;

    size_t                        nlen;
    bw_uint_t                     files, isdir;
    bw_msec_t                     start;
    struct stat                   st;
    struct dirent                *de;
    struct bw_http_cache_walk_s  *w;

    w = cache->walk;

    if (w == NULL) {
        bw_shmtx_lock(cache->shpool);
        if (!cache->sh->cold) {
            bw_shmtx_unlock(cache->shpool);
            return 0;           /* loaded: kept across a reload */
        }
        if (cache->sh->loading && cache->sh->loading != (bw_uint_t) bw_pid
            && !bw_http_cache_writer_gone((pid_t) cache->sh->loading))
        {
            /* the loader of the configuration before a reload still
             * walks: this one takes over if it stops half way */
            bw_shmtx_unlock(cache->shpool);
            return 1000;
        }
        /* (a loader that stopped on the way left its pid: start over) */
        cache->sh->loading = (bw_uint_t) bw_pid;
        bw_shmtx_unlock(cache->shpool);

        w = calloc(1, sizeof(struct bw_http_cache_walk_s));
        if (w == NULL || cache->path.len + 64 >= sizeof(w->path)) {
            free(w);
            return 0;
        }
        cache->walk = w;

        memcpy(w->path, cache->path.data, cache->path.len);
        w->path[cache->path.len] = '\0';
        w->len[0] = cache->path.len;
        w->dir[0] = opendir((char *) w->path);

        if (w->dir[0] == NULL) {
            bw_log_error(BW_LOG_CRIT, bw_cycle->log, errno,
                         "opendir() \"%s\" failed", w->path);
            bw_http_cache_loaded(cache);
            return 0;
        }
    }

    start = bw_current_msec;
    files = 0;

    for ( ;; ) {
        de = readdir(w->dir[w->depth]);

        if (de == NULL) {
            closedir(w->dir[w->depth]);
            if (w->depth == 0) {
                bw_http_cache_loaded(cache);
                return 0;
            }
            w->depth--;
            continue;
        }

        if (de->d_name[0] == '.') {
            continue;
        }

        nlen = strlen(de->d_name);
        if (w->len[w->depth] + 1 + nlen + 1 > sizeof(w->path)) {
            continue;
        }

        w->path[w->len[w->depth]] = '/';
        memcpy(w->path + w->len[w->depth] + 1, de->d_name, nlen + 1);

        if (de->d_type == DT_UNKNOWN) {
            isdir = lstat((char *) w->path, &st) == 0 && S_ISDIR(st.st_mode);
        } else {
            isdir = de->d_type == DT_DIR;
        }

        if (isdir) {
            if (w->depth < cache->nlevels) {
                w->dir[w->depth + 1] = opendir((char *) w->path);
                if (w->dir[w->depth + 1]) {
                    w->depth++;
                    w->len[w->depth] = w->len[w->depth - 1] + 1 + nlen;
                }
            }
            continue;
        }

        if (w->depth == cache->nlevels) {
            bw_http_cache_load_file(cache, w->path,
                                    w->path + w->len[w->depth] + 1, w);
            w->files++;
        }

        bw_time_update();

        if (++files >= cache->loader_files
            || bw_current_msec - start >= cache->loader_threshold)
        {
            return cache->loader_sleep ? cache->loader_sleep : 1;
        }
    }
}

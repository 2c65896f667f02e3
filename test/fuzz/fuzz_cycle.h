/*
 * What the fuzz targets that run a configuration share: a private temp
 * folder that is the prefix (the configuration is f.conf in it), the
 * start's sandbox (bw_cycle_sandbox: files are /dev/null, temp paths
 * and socket files in the folder, listening addresses loopback with
 * port 0), and a cycle made from the file as a start or a reload makes
 * it. Included by one target each: everything here is static.
 */

#ifndef FUZZ_CYCLE_H
#define FUZZ_CYCLE_H

#include <bw_core.h>
#include <bw_event.h>
#include <bw_process.h>
#include <ftw.h>

static char       fuzz_dir[] = "/tmp/bulwark-fuzz-XXXXXX";
static char       fuzz_file[sizeof(fuzz_dir) + 16];
static bw_log_t  *fuzz_log;
static int        fuzz_refused;     /* the sandbox said no, not the start */
static int        fuzz_ipv6;        /* ::1 can be bound here */
static char      *fuzz_files = "/dev/null";    /* every file a start opens */

/* a copy with a NUL, and a slash where dir says so (as main.c's) */
static void
fuzz_str(bw_pool_t *pool, bw_str_t *dst, const char *src, bw_uint_t dir)
{
    size_t  len;

    len = strlen(src);
    dst->data = bw_pnalloc(pool, len + 2);
    if (dst->data == NULL) {
        abort();
    }
    memcpy(dst->data, src, len);
    if (dir) {
        dst->data[len++] = '/';
    }
    dst->data[len] = '\0';
    dst->len = len;
}

static void
fuzz_copy(const char *from, const char *name)
{
    char     path[sizeof(fuzz_file) + 16];
    u_char   buf[65536];
    ssize_t  n;
    int      in, out;

    in = open(from, O_RDONLY | O_CLOEXEC);
    if (in == -1) {
        return;     /* run from elsewhere than the source tree */
    }
    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    while (out != -1 && (n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t) n) != n) {
            break;
        }
    }
    if (out != -1) {
        close(out);
    }
    close(in);
}

/* what a start left in the temp folder: temp paths, socket files */
static int
fuzz_remove(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    (void) st;
    (void) flag;

    if (ftw->level == 0) {
        return 0;
    }
    if (ftw->level == 1 && (strcmp(path, fuzz_file) == 0
                            || strcmp(path + ftw->base, "mime.types") == 0))
    {
        return 0;
    }
    (void) remove(path);
    return 0;
}

static void
fuzz_clean_sandbox(void)
{
    (void) nftw(fuzz_dir, fuzz_remove, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_cleanup(void)
{
    char  path[sizeof(fuzz_file) + 16];

    fuzz_clean_sandbox();
    snprintf(path, sizeof(path), "%s/mime.types", fuzz_dir);
    (void) unlink(path);
    (void) unlink(fuzz_file);
    (void) rmdir(fuzz_dir);
}

/*
 * The start's sandbox (bw_cycle_sandbox). Names depend only on the
 * position, so that a reload of the same file finds the same addresses
 * and takes the sockets over, as a real reload does. Starts that would
 * only measure the machine are refused (fuzz_refused): more sockets than
 * a test should bind, more connection slots than the allocator's limit,
 * more shared memory than the fuzzer's.
 */
static bw_int_t
fuzz_sandbox(bw_cycle_t *cycle)
{
    bw_uint_t         i, n;
    bw_path_t       **path;
    bw_sockaddr_t    *sa;
    bw_listening_t   *ls;
    bw_open_file_t   *file;
    bw_list_part_t   *part;
    bw_shm_zone_t    *zone;
    bw_event_conf_t  *ecf;
    size_t            shm;

    ecf = cycle->conf_ctx[bw_events_module.index]
          ? bw_event_get_conf(cycle->conf_ctx, bw_event_core_module) : NULL;

    shm = 0;
    part = &cycle->shared_memory.part;
    zone = part->elts;
    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }
        shm += zone[i].size;
    }

    if (cycle->listening.nelts > 64
        || (ecf && ecf->connections > 65536)
        || shm > 256 * 1024 * 1024)
    {
        fuzz_refused = 1;
        return BW_ERROR;
    }

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        sa = bw_pcalloc(cycle->pool, sizeof(bw_sockaddr_t));
        if (sa == NULL) {
            return BW_ERROR;
        }
        switch (ls[i].sockaddr->sa_family) {
        case AF_INET6:
            if (!fuzz_ipv6) {
                /* a host without IPv6 (containers): not the input's
                 * fault, and not a start's to be found wanting */
                fuzz_refused = 1;
                return BW_ERROR;
            }
            sa->sockaddr_in6.sin6_family = AF_INET6;
            sa->sockaddr_in6.sin6_addr = in6addr_loopback;
            ls[i].socklen = sizeof(struct sockaddr_in6);
            break;
        case AF_UNIX:
            sa->sockaddr_un.sun_family = AF_UNIX;
            snprintf(sa->sockaddr_un.sun_path, sizeof(sa->sockaddr_un.sun_path),
                     "%s/s%lu", fuzz_dir, (unsigned long) i);
            ls[i].socklen = sizeof(struct sockaddr_un);
            break;
        default:
            sa->sockaddr_in.sin_family = AF_INET;
            sa->sockaddr_in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            ls[i].socklen = sizeof(struct sockaddr_in);
            break;
        }
        ls[i].sockaddr = &sa->sockaddr;
    }

    part = &cycle->open_files.part;
    file = part->elts;
    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            file = part->elts;
            i = 0;
        }
        if (file[i].name.len) {
            file[i].name.data = (u_char *) fuzz_files;
            file[i].name.len = strlen(fuzz_files);
        }
    }

    path = cycle->paths.elts;
    for (i = 0; i < cycle->paths.nelts; i++) {
        n = sizeof(fuzz_dir) + 24;
        path[i]->name.data = bw_pnalloc(cycle->pool, n);
        if (path[i]->name.data == NULL) {
            return BW_ERROR;
        }
        path[i]->name.len = (size_t) snprintf((char *) path[i]->name.data, n,
                                              "%s/p%lu", fuzz_dir,
                                              (unsigned long) i);
    }

    return BW_OK;
}

/* a cycle for the file, from scratch (prev NULL) or as a reload; test:
 * as -t reads it (no file created, nothing bound) */
static bw_cycle_t *
fuzz_cycle(bw_cycle_t *prev, bw_uint_t test)
{
    bw_cycle_t  *cycle, init;

    bw_test_config = test;
    bw_test_no_files = test;
    bw_cycle_sandbox = test ? NULL : fuzz_sandbox;

    if (prev) {
        return bw_init_cycle(prev);
    }

    bw_memzero(&init, sizeof(bw_cycle_t));
    init.pool = bw_create_pool(1024, NULL);
    if (init.pool == NULL) {
        abort();
    }
    init.log = fuzz_log;
    init.pool->log = fuzz_log;
    fuzz_str(init.pool, &init.prefix, fuzz_dir, 1);
    fuzz_str(init.pool, &init.conf_prefix, fuzz_dir, 1);
    fuzz_str(init.pool, &init.conf_file, fuzz_file, 0);

    cycle = bw_init_cycle(&init);

    /* what the new cycle keeps of the init cycle it copied */
    if (cycle) {
        cycle->old_cycle = NULL;
    }
    bw_destroy_pool(init.pool);
    return cycle;
}

/*
 * The folder, the file's name, whether this host has IPv6, the process
 * as a master's, errors to log_name ("/dev/null" unless a target is
 * asked to show them: "stderr"), and mime.types beside the
 * configuration (the examples include it).
 */
static void
fuzz_cycle_init(const char *log_name)
{
    int                  s;
    struct sockaddr_in6  sin6;

    if (mkdtemp(fuzz_dir) == NULL) {
        abort();
    }

    s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bw_memzero(&sin6, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    fuzz_ipv6 = (s != -1
                 && bind(s, (struct sockaddr *) &sin6, sizeof(sin6)) == 0);
    if (s != -1) {
        close(s);
    }

    /* asked to show errors: what a start writes too (its error log,
     * and the access logs with it) */
    if (strcmp(log_name, "stderr") == 0) {
        fuzz_files = "/dev/stderr";
    }
    snprintf(fuzz_file, sizeof(fuzz_file), "%s/f.conf", fuzz_dir);

    bw_time_init();
    bw_preinit_modules();
    bw_pid = getpid();
    bw_process = BW_PROCESS_MASTER;
    bw_quiet_mode = 1;

    fuzz_copy("conf/mime.types", "mime.types");
    atexit(fuzz_cleanup);

    fuzz_log = bw_log_init((u_char *) "/", (u_char *) log_name);
}

/* the configuration to run */
static void
fuzz_write_conf(const uint8_t *data, size_t size)
{
    int  fd;

    fd = open(fuzz_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        abort();
    }
    if (size && write(fd, data, size) != (ssize_t) size) {
        abort();
    }
    close(fd);
}

#endif

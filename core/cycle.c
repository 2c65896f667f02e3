/*
 * Loading a configuration into a new cycle. On any error the new cycle
 * is thrown away and the old one keeps running untouched: a bad reload
 * must never close a socket or a file the running workers use.
 */

#include <bw_core.h>

bw_cycle_t           *bw_cycle;
bw_uint_t             bw_test_config;
bw_uint_t             bw_dump_config;
bw_uint_t             bw_quiet_mode;
bw_uint_t             bw_test_no_files;     /* -t touches no file: the
                                               configuration fuzzer */

/*
 * Set by a test harness only (the configuration fuzzer): called once a
 * started cycle knows its files, paths and listening addresses and
 * before it opens any of them, to point them all into a sandbox (or to
 * refuse the start, as a file that cannot be opened would).
 */
bw_int_t            (*bw_cycle_sandbox)(bw_cycle_t *cycle);

static bw_int_t bw_open_files(bw_cycle_t *cycle);
static bw_int_t bw_test_cycle(bw_cycle_t *cycle, bw_core_conf_t *ccf);
static void bw_close_files(bw_cycle_t *cycle);
static void bw_match_listening(bw_cycle_t *cycle, bw_cycle_t *old_cycle);
static bw_int_t bw_dup_str(bw_pool_t *pool, bw_str_t *dst, bw_str_t *src);

bw_int_t
bw_is_init_cycle(bw_cycle_t *cycle)
{
    return cycle->conf_ctx == NULL;
}

bw_cycle_t *
bw_init_cycle(bw_cycle_t *old_cycle)
{
    void              *rv;
    bw_uint_t          i;
    bw_log_t          *log;
    bw_conf_t          conf;
    bw_pool_t         *pool;
    bw_cycle_t        *cycle;
    bw_listening_t    *ls;
    bw_core_conf_t    *ccf;
    bw_open_file_t    *file;
    bw_list_part_t    *part;
    bw_core_module_t  *module;

    log = old_cycle->log;

    pool = bw_create_pool(BW_POOL_DEFAULT_SIZE, log);
    if (pool == NULL) {
        return NULL;
    }
    pool->log = log;

    cycle = bw_pcalloc(pool, sizeof(bw_cycle_t));
    if (cycle == NULL) {
        bw_destroy_pool(pool);
        return NULL;
    }

    cycle->pool = pool;
    cycle->log = log;
    cycle->old_cycle = old_cycle;

    if (bw_dup_str(pool, &cycle->conf_prefix, &old_cycle->conf_prefix)
        != BW_OK
        || bw_dup_str(pool, &cycle->prefix, &old_cycle->prefix) != BW_OK
        || bw_dup_str(pool, &cycle->conf_file, &old_cycle->conf_file)
           != BW_OK
        || bw_dup_str(pool, &cycle->conf_param, &old_cycle->conf_param)
           != BW_OK
        || bw_dup_str(pool, &cycle->error_log, &old_cycle->error_log)
           != BW_OK
        || bw_list_init(&cycle->open_files, pool, 16,
                        sizeof(bw_open_file_t)) != BW_OK
        || bw_list_init(&cycle->shared_memory, pool, 4,
                        sizeof(bw_shm_zone_t)) != BW_OK
        || bw_array_init(&cycle->listening, pool, 8,
                         sizeof(bw_listening_t)) != BW_OK
        || bw_array_init(&cycle->paths, pool, 4, sizeof(bw_path_t *))
           != BW_OK
        || bw_array_init(&cycle->managed, pool, 2, sizeof(bw_managed_t))
           != BW_OK
        || bw_array_init(&cycle->config_dump, pool, 4,
                         sizeof(bw_conf_dump_t)) != BW_OK)
    {
        bw_destroy_pool(pool);
        return NULL;
    }

    cycle->conf_ctx = bw_pcalloc(pool, bw_modules_n * sizeof(void *));
    if (cycle->conf_ctx == NULL) {
        bw_destroy_pool(pool);
        return NULL;
    }

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->type != BW_CORE_MODULE) {
            continue;
        }
        module = bw_modules[i]->ctx;
        if (module->create_conf) {
            rv = module->create_conf(cycle);
            if (rv == NULL) {
                bw_destroy_pool(pool);
                return NULL;
            }
            cycle->conf_ctx[bw_modules[i]->index] = rv;
        }
    }

    bw_memzero(&conf, sizeof(bw_conf_t));
    conf.args = bw_array_create(pool, 10, sizeof(bw_str_t));
    conf.temp_pool = bw_create_pool(BW_POOL_DEFAULT_SIZE, log);
    if (conf.args == NULL || conf.temp_pool == NULL) {
        if (conf.temp_pool) {
            bw_destroy_pool(conf.temp_pool);
        }
        bw_destroy_pool(pool);
        return NULL;
    }

    conf.ctx = cycle->conf_ctx;
    conf.cycle = cycle;
    conf.pool = pool;
    conf.log = log;
    conf.module_type = BW_CORE_MODULE;
    conf.cmd_type = BW_MAIN_CONF;

    if (bw_conf_param(&conf, &cycle->conf_param) != BW_CONF_OK
        || bw_conf_parse(&conf, &cycle->conf_file) != BW_CONF_OK)
    {
        bw_destroy_pool(conf.temp_pool);
        goto failed_early;
    }
    bw_destroy_pool(conf.temp_pool);

    if (bw_test_config && !bw_quiet_mode) {
        bw_log_stderr(0, "the configuration file %s syntax is ok",
                      cycle->conf_file.data);
    }

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->type != BW_CORE_MODULE) {
            continue;
        }
        module = bw_modules[i]->ctx;
        if (module->init_conf) {
            rv = module->init_conf(cycle,
                                   cycle->conf_ctx[bw_modules[i]->index]);
            if (rv != BW_CONF_OK) {
                if (rv != BW_CONF_ERROR) {
                    bw_log_error(BW_LOG_EMERG, log, 0, "%s", (char *) rv);
                }
                goto failed_early;
            }
        }
    }

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    if (bw_clone_listening(cycle, ccf->master ? ccf->worker_processes : 1)
        != BW_OK)
    {
        goto failed_early;
    }

    if (bw_test_config) {
        if (bw_test_cycle(cycle, ccf) != BW_OK) {
            goto failed_early;
        }
        return cycle;
    }

    if (!bw_is_init_cycle(old_cycle)) {
        bw_core_conf_t *occf = (bw_core_conf_t *)
                               bw_get_conf(old_cycle->conf_ctx, bw_core_module);
        if (!bw_str_eq(&ccf->pid, &occf->pid)) {
            /* the new pid file is created by the master after the reload */
            if (bw_create_pidfile(&ccf->pid, log) != BW_OK) {
                goto failed_early;
            }
            bw_delete_pidfile(old_cycle);
        }
    }

    if (cycle->new_log.file == NULL) {
        bw_str_t  name = bw_string(BW_ERROR_LOG_PATH);

        cycle->new_log.file = bw_conf_open_file(cycle, &name);
        if (cycle->new_log.file == NULL) {
            goto failed;
        }
        cycle->new_log.log_level = BW_LOG_ERR;
    }

    if (bw_cycle_sandbox && bw_cycle_sandbox(cycle) != BW_OK) {
        goto failed;
    }

    if (bw_open_files(cycle) != BW_OK) {
        goto failed;
    }

    if (bw_create_paths(cycle, ccf->user, ccf->group) != BW_OK) {
        goto failed;
    }

    if (!bw_test_config && bw_stats_init(cycle->log) != BW_OK) {
        goto failed;
    }

    if (bw_shm_init_cycle(cycle, old_cycle) != BW_OK) {
        goto failed;
    }

    bw_match_listening(cycle, old_cycle);

    if (bw_open_listening_sockets(cycle) != BW_OK) {
        goto failed;
    }

    if (!bw_test_config) {
        bw_configure_listening_sockets(cycle);
    }

    cycle->log = &cycle->new_log;
    pool->log = cycle->log;

    if (bw_init_modules(cycle) != BW_OK) {
        /* nothing may be rolled back after this point: as nginx, exit */
        exit(1);
    }

    /* commit: close what the old cycle had and the new one does not */

    ls = old_cycle->listening.elts;
    for (i = 0; i < old_cycle->listening.nelts; i++) {
        if (ls[i].remain || ls[i].fd == -1) {
            continue;
        }
        if (close(ls[i].fd) == -1) {
            bw_log_error(BW_LOG_EMERG, log, errno,
                         "close() socket %s failed", ls[i].addr_text.data);
        }
        if (ls[i].sockaddr->sa_family == AF_UNIX && !ls[i].inherited) {
            (void) unlink(((struct sockaddr_un *) ls[i].sockaddr)->sun_path);
        }
        ls[i].fd = -1;
    }

    part = &old_cycle->open_files.part;
    if (part->elts) {
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
            if (file[i].fd > STDERR_FILENO) {
                if (file[i].flush) {
                    file[i].flush(&file[i], log);
                }
                close(file[i].fd);
                file[i].fd = -1;
            }
        }
    }

    /* a single process still serves requests of the old cycle: its
     * zones are released with it (core/process/single.c) */
    if (bw_process != BW_PROCESS_SINGLE || bw_is_init_cycle(old_cycle)) {
        bw_shm_release_old(cycle, old_cycle);
    }

    return cycle;

failed:

    /* undo what this cycle opened; what it borrowed stays with the old */
    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd != -1 && ls[i].open) {
            close(ls[i].fd);
        }
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
        if (file[i].fd > STDERR_FILENO) {
            close(file[i].fd);
        }
    }

    bw_shm_release_new(cycle, old_cycle);

failed_early:

    ls = old_cycle->listening.elts;
    for (i = 0; i < old_cycle->listening.nelts; i++) {
        ls[i].remain = 0;
    }

    bw_destroy_pool(pool);
    return NULL;
}

void
bw_destroy_cycle(bw_cycle_t *cycle)
{
    bw_destroy_pool(cycle->pool);
}

/* What a started cycle holds outside its pool (listening sockets, open
 * files, shared zones) given back, for a harness that starts many
 * cycles in one process (the configuration fuzzer). */
void
bw_release_cycle(bw_cycle_t *cycle)
{
    bw_close_listening_sockets(cycle);
    bw_close_files(cycle);
    bw_shm_release_unused(cycle, NULL, 0);
}

/* What the buffered files of a cycle (access logs with buffer=) hold
 * goes out: before they are closed, reopened or their cycle freed. */
void
bw_flush_open_files(bw_cycle_t *cycle, bw_log_t *log)
{
    bw_uint_t        i;
    bw_open_file_t  *file;
    bw_list_part_t  *part;

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
        if (file[i].flush) {
            file[i].flush(&file[i], log);
        }
    }
}

static bw_int_t
bw_dup_str(bw_pool_t *pool, bw_str_t *dst, bw_str_t *src)
{
    if (src->data == NULL) {
        dst->len = 0;
        dst->data = NULL;
        return BW_OK;
    }

    dst->len = src->len;
    dst->data = bw_pstrdup(pool, src);
    return dst->data ? BW_OK : BW_ERROR;
}

/*
 * -t reports what a start would refuse, short of binding the ports: the
 * log files are opened (and created) and the temp paths made, as nginx
 * does, and each listen address must be one this host has.
 */
static bw_int_t
bw_test_cycle(bw_cycle_t *cycle, bw_core_conf_t *ccf)
{
    bw_int_t  rc;
    bw_str_t  name = bw_string(BW_ERROR_LOG_PATH);

    if (bw_test_no_files) {
        return bw_test_listening_sockets(cycle);
    }

    rc = bw_open_files(cycle);

    if (rc == BW_OK && cycle->new_log.file == NULL) {
        rc = bw_conf_open_file(cycle, &name) ? bw_open_files(cycle)
                                             : BW_ERROR;
    }

    if (rc == BW_OK) {
        rc = bw_create_paths(cycle, ccf->user, ccf->group);
    }

    if (rc == BW_OK) {
        rc = bw_test_listening_sockets(cycle);
    }

    bw_close_files(cycle);

    return rc;
}

static void
bw_close_files(bw_cycle_t *cycle)
{
    bw_uint_t        i;
    bw_open_file_t  *file;
    bw_list_part_t  *part;

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
        if (file[i].fd > STDERR_FILENO) {
            close(file[i].fd);
            file[i].fd = -1;
        }
    }
}

static bw_int_t
bw_open_files(bw_cycle_t *cycle)
{
    bw_uint_t        i;
    bw_open_file_t  *file;
    bw_list_part_t  *part;

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

        if (file[i].name.len == 0 || file[i].fd != -1) {
            continue;
        }

        file[i].fd = open((char *) file[i].name.data,
                          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (file[i].fd == -1) {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "open() \"%s\" failed", file[i].name.data);
            return BW_ERROR;
        }
    }

    return BW_OK;
}

/*
 * Take over the old cycle's sockets for the same addresses. For
 * reuseport, the socket of worker N stays the socket of worker N.
 */
static void
bw_match_listening(bw_cycle_t *cycle, bw_cycle_t *old_cycle)
{
    bw_uint_t        i, n;
    bw_listening_t  *ls, *nls;

    ls = old_cycle->listening.elts;
    for (i = 0; i < old_cycle->listening.nelts; i++) {
        ls[i].remain = 0;
    }

    nls = cycle->listening.elts;
    for (n = 0; n < cycle->listening.nelts; n++) {
        for (i = 0; i < old_cycle->listening.nelts; i++) {
            if (ls[i].fd == -1 || ls[i].remain
                || ls[i].reuseport != nls[n].reuseport
                || ls[i].worker != nls[n].worker
                || ls[i].socklen != nls[n].socklen
                || bw_cmp_sockaddr(ls[i].sockaddr, ls[i].socklen,
                                   nls[n].sockaddr, nls[n].socklen, 1)
                   != BW_OK)
            {
                continue;
            }

            nls[n].fd = ls[i].fd;
            nls[n].inherited = ls[i].inherited;
            ls[i].remain = 1;

            if (nls[n].ipv6only != ls[i].ipv6only
                && nls[n].sockaddr->sa_family == AF_INET6)
            {
                bw_log_error(BW_LOG_EMERG, cycle->log, 0,
                             "ipv6only change of %s is ignored until "
                             "restart", nls[n].addr_text.data);
            }
            break;
        }
    }
}

bw_int_t
bw_create_pidfile(bw_str_t *name, bw_log_t *log)
{
    int      fd;
    u_char   pid[BW_INT_T_LEN + 2], *p;
    ssize_t  n;

    fd = open((char *) name->data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
              0644);
    if (fd == -1) {
        bw_log_error(BW_LOG_EMERG, log, errno, "open() \"%s\" failed",
                     name->data);
        return BW_ERROR;
    }

    p = bw_slprintf(pid, pid + sizeof(pid), "%d\n", (int) getpid());
    n = write(fd, pid, p - pid);
    close(fd);

    if (n != p - pid) {
        bw_log_error(BW_LOG_EMERG, log, errno, "write() \"%s\" failed",
                     name->data);
        return BW_ERROR;
    }

    return BW_OK;
}

void
bw_delete_pidfile(bw_cycle_t *cycle)
{
    bw_core_conf_t  *ccf;
    bw_str_t        *name;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);
    name = bw_new_binary ? &ccf->oldpid : &ccf->pid;

    if (unlink((char *) name->data) == -1 && errno != ENOENT) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "unlink() \"%s\" failed", name->data);
    }
}

bw_int_t
bw_signal_process(bw_cycle_t *cycle, char *sig)
{
    int              signo;
    bw_int_t         pid;
    bw_err_t         err;
    bw_str_t         content;
    bw_core_conf_t  *ccf;
    u_char          *p;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    if (bw_read_whole_file(cycle->pool, (char *) ccf->pid.data, &content,
                           &err) != BW_OK)
    {
        bw_log_error(BW_LOG_ERR, cycle->log, err, "open() \"%s\" failed",
                     ccf->pid.data);
        return BW_ERROR;
    }

    p = content.data + content.len;
    while (p > content.data && (p[-1] == '\n' || p[-1] == '\r'
                                || p[-1] == ' '))
    {
        p--;
    }

    pid = bw_atoi(content.data, p - content.data);
    if (pid == BW_ERROR || pid <= 1) {
        bw_log_error(BW_LOG_ERR, cycle->log, 0,
                     "invalid PID number \"%.*s\" in \"%s\"",
                     (int) (p - content.data), content.data, ccf->pid.data);
        return BW_ERROR;
    }

    signo = bw_signal_number(sig);
    if (signo == 0) {
        return BW_ERROR;
    }

    if (kill((pid_t) pid, signo) == -1) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno, "kill(%d, %d) failed",
                     (int) pid, signo);
        return BW_ERROR;
    }

    return BW_OK;
}

void
bw_reopen_files(bw_cycle_t *cycle, uid_t user)
{
    int              fd;
    bw_uint_t        i;
    bw_list_part_t  *part;
    bw_open_file_t  *file;

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

        if (file[i].name.len == 0) {
            continue;
        }

        if (file[i].flush) {
            file[i].flush(&file[i], cycle->log);
        }

        fd = open((char *) file[i].name.data,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd == -1) {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "open() \"%s\" failed", file[i].name.data);
            continue;
        }

        if (user != (uid_t) BW_CONF_UNSET_UINT && user != 0) {
            /* the worker (running as user) must be able to reopen it */
            if (fchown(fd, user, (gid_t) -1) == -1) {
                bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                             "chown(\"%s\", %d) failed", file[i].name.data,
                             (int) user);
            }
        }

        if (dup2(fd, file[i].fd) == -1) {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno, "dup2() failed");
        }
        close(fd);
    }
}

void
bw_dump_cycle_config(bw_cycle_t *cycle)
{
    bw_uint_t        i;
    bw_conf_dump_t  *cd;
    ssize_t          n;
    u_char           buf[PATH_MAX + 32], *p;

    cd = cycle->config_dump.elts;
    for (i = 0; i < cycle->config_dump.nelts; i++) {
        p = bw_slprintf(buf, buf + sizeof(buf), "# configuration file %s:\n",
                        cd[i].name.data);
        n = write(STDOUT_FILENO, buf, p - buf);
        n = write(STDOUT_FILENO, cd[i].content.data, cd[i].content.len);
        if (cd[i].content.len == 0
            || cd[i].content.data[cd[i].content.len - 1] != '\n')
        {
            n = write(STDOUT_FILENO, "\n", 1);
        }
        n = write(STDOUT_FILENO, "\n", 1);
        (void) n;
    }
}

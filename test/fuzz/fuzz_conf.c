/*
 * libFuzzer target: a whole configuration as `bulwark -t` reads it: the
 * lexer, every directive's setter of the modules built in, the merges
 * and the post-configuration of each module. A bad file must give an
 * error, never a crash, a hang or a leak (a reload reads many in one
 * process, so what one configuration leaves behind adds up).
 *
 * Each input is written to a file in a private temp folder, which is
 * the prefix: relative paths (include, mime.types) stay there. Host
 * names are not looked up: getaddrinfo is replaced below, so that no
 * input makes the fuzzer ask a DNS server; numeric addresses and
 * "localhost" still resolve.
 */

#include <bw_core.h>
#include <netdb.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char       fuzz_dir[] = "/tmp/bulwark-fuzz-conf-XXXXXX";
static char       fuzz_file[sizeof(fuzz_dir) + 16];
static bw_log_t  *fuzz_log;

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

/* the only host names a configuration may resolve here */
int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo     *ai;
    struct sockaddr_in  *sin;
    struct in_addr       a;

    (void) service;

    if (node == NULL) {
        return EAI_NONAME;
    }

    if (strcmp(node, "localhost") == 0) {
        a.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, node, &a) != 1) {
        return EAI_NONAME;
    }

    if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET)
    {
        return EAI_NONAME;
    }

    ai = calloc(1, sizeof(struct addrinfo) + sizeof(struct sockaddr_in));
    if (ai == NULL) {
        return EAI_MEMORY;
    }

    sin = (struct sockaddr_in *) (ai + 1);
    sin->sin_family = AF_INET;
    sin->sin_addr = a;
    ai->ai_family = AF_INET;
    ai->ai_socktype = hints ? hints->ai_socktype : 0;
    ai->ai_protocol = hints ? hints->ai_protocol : 0;
    ai->ai_addrlen = sizeof(struct sockaddr_in);
    ai->ai_addr = (struct sockaddr *) sin;
    *res = ai;
    return 0;
}

void
freeaddrinfo(struct addrinfo *res)
{
    struct addrinfo  *next;

    for ( /* void */ ; res; res = next) {
        next = res->ai_next;
        free(res);
    }
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

static void
fuzz_cleanup(void)
{
    char  path[sizeof(fuzz_file) + 16];

    snprintf(path, sizeof(path), "%s/mime.types", fuzz_dir);
    (void) unlink(path);
    (void) unlink(fuzz_file);
    (void) rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    if (mkdtemp(fuzz_dir) == NULL) {
        abort();
    }
    snprintf(fuzz_file, sizeof(fuzz_file), "%s/f.conf", fuzz_dir);

    bw_time_init();
    bw_preinit_modules();
    bw_pid = getpid();
    bw_test_config = 1;
    bw_quiet_mode = 1;
    /* inputs name any path: none is created */
    bw_test_no_files = 1;

    /* the examples include mime.types from beside the configuration */
    fuzz_copy("conf/mime.types", "mime.types");
    atexit(fuzz_cleanup);

    /* errors go nowhere: the fuzzer reads only whether it crashed
     * (FUZZ_CONF_LOG=stderr shows them, to check what a seed reaches) */
    if (getenv("FUZZ_CONF_LOG")) {
        fuzz_log = bw_log_init((u_char *) "/",
                               (u_char *) getenv("FUZZ_CONF_LOG"));
        return 0;
    }
    fuzz_log = bw_log_init((u_char *) "/", (u_char *) "/dev/null");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          fd;
    bw_cycle_t  *cycle, init;

    fd = open(fuzz_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        abort();
    }
    if (size && write(fd, data, size) != (ssize_t) size) {
        abort();
    }
    close(fd);

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
    if (cycle) {
        cycle->old_cycle = NULL;
        bw_destroy_cycle(cycle);
    }

    bw_destroy_pool(init.pool);
    return 0;
}

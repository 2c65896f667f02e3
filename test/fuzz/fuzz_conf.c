/*
 * libFuzzer target: a whole configuration as `bulwark -t` reads it and
 * then as a start runs it: the lexer, every directive's setter of the
 * modules built in, the merges and the post-configuration of each
 * module; and for what -t passes, the start itself (files opened, temp
 * paths made, shared zones created and initialized, listening sockets
 * bound), a worker's event setup on it, then a reload of the same file
 * onto the running cycle (sockets and zones taken over). A bad file
 * must give an error, never a crash, a hang or a leak; and what -t
 * passes must start (a start or a worker's start that fails after -t
 * passed is reported as a crash). A configuration that passed -t and
 * then killed every worker at its start (no events block) was out of
 * reach of a target that stopped at parsing.
 *
 * Each input is written to a file in a private temp folder, which is
 * the prefix: relative paths (include, mime.types) stay there. A start
 * is sandboxed: every file it would open is /dev/null, every temp path
 * a folder in the temp folder, every listening address 127.0.0.1 or ::1
 * with port 0 (or a socket file in the temp folder). Host names are not
 * looked up: getaddrinfo is replaced below, so that no input makes the
 * fuzzer ask a DNS server; numeric addresses and "localhost" still
 * resolve.
 */

#include "fuzz_cycle.h"
#include <netdb.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int  fuzz_verbose;

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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char  *log_name;

    (void) argc;
    (void) argv;

    /* errors go nowhere: the fuzzer reads only whether it crashed
     * (FUZZ_CONF_LOG=stderr shows them and how far each input got) */
    log_name = getenv("FUZZ_CONF_LOG");
    fuzz_verbose = (log_name != NULL);
    fuzz_cycle_init(log_name ? log_name : "/dev/null");
    return 0;
}

/* what -t passed and a start then refused: -t must say what a start
 * would refuse (FUZZ_CONF_LOG=stderr shows the start's reason) */
static void
fuzz_start_failed(const char *what)
{
    fprintf(stderr, "fuzz_conf: -t passed, then %s failed\n", what);
    __builtin_trap();
}

/* a worker's start on the cycle (as the worker's, the running cycle),
 * undone */
static void
fuzz_worker(bw_cycle_t *cycle)
{
    int               sv[2];
    bw_int_t          rc;
    bw_connection_t  *c;

    bw_cycle = cycle;
    rc = bw_event_init_worker(cycle);

    /* and, as a worker of a master, a slot for its channel */
    if (rc == BW_OK) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
            abort();
        }
        c = bw_get_connection(sv[1], cycle->log);
        if (c == NULL) {
            rc = BW_ERROR;
        } else {
            bw_free_connection(c);
        }
        close(sv[0]);
        close(sv[1]);
    }

    bw_event_exit_worker(cycle);
    bw_cycle = NULL;

    if (rc != BW_OK) {
        fuzz_start_failed("a worker's start");
    }
}

/* a start (prev NULL) or a reload; a failure the sandbox did not cause
 * is a finding */
static bw_cycle_t *
fuzz_run(bw_cycle_t *prev, const char *what)
{
    bw_cycle_t  *cycle;

    fuzz_refused = 0;
    cycle = fuzz_cycle(prev, 0);

    if (fuzz_verbose) {
        fprintf(stderr, "%s: %s\n", what, cycle ? "ok"
                        : fuzz_refused ? "refused by the sandbox" : "failed");
    }
    if (cycle == NULL && !fuzz_refused) {
        fuzz_start_failed(what);
    }

    return cycle;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_cycle_t  *cycle, *reloaded;

    fuzz_write_conf(data, size);

    cycle = fuzz_cycle(NULL, 1);
    if (cycle == NULL) {
        return 0;
    }
    bw_destroy_cycle(cycle);

    cycle = fuzz_run(NULL, "the start");
    if (cycle == NULL) {
        fuzz_clean_sandbox();
        return 0;
    }
    fuzz_worker(cycle);

    /* the same file, onto a cycle that runs it */
    reloaded = fuzz_run(cycle, "a reload of it");
    if (reloaded) {
        /* the reload committed: what the old cycle did not hand over is
         * closed or unmapped already */
        reloaded->old_cycle = NULL;
        bw_destroy_cycle(cycle);
        cycle = reloaded;
        fuzz_worker(cycle);
    }

    bw_release_cycle(cycle);
    bw_destroy_cycle(cycle);
    fuzz_clean_sandbox();
    return 0;
}

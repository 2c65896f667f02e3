/*
 * libFuzzer target: HTTP/2 frames from a client, through the whole
 * worker. A worker is started in this process on a fixed configuration
 * (static files, return, add_trailer, gzip, auth_request, error_page, a
 * proxy to a closed port, bodies spilled to temp files); each input is
 * what one client sends after the connection preface, on a real
 * loopback connection that the worker accepts, reads through nghttp2
 * into our callbacks and answers, stream by stream, on the HTTP/1 path.
 * The client reads all that comes; once nothing moves it stops sending
 * (streams may still be open), and the worker's loop turns until the
 * connection is gone.
 *
 * Besides the sanitizers, one thing is checked: once the client has
 * gone and every timer has fired, nothing of the connection is left (a
 * connection that nothing would ever wake is a leak in a real worker).
 * Timers fire early: the loop's clock is moved a day ahead at a time.
 *
 * Input: the bytes after the preface (its length's parity picks when
 * the client stops sending, see below). The seeds were sent by real
 * clients (curl, nghttp) to a listener that only read them.
 */

#include "fuzz_cycle.h"
#include <netinet/tcp.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TURNS        4000      /* loop turns for one input at most */
#define FUZZ_IDLE_TURNS   50        /* turns without news before timers */
#define FUZZ_DAYS         16        /* clock jumps before giving up */

static const char     fuzz_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static struct linger  fuzz_linger = { 1, 0 };

static const char  fuzz_conf[] =
    "worker_processes 1;\n"
    "events { worker_connections 64; }\n"
    "http {\n"
    "    http2 on;\n"
    "    client_max_body_size 64k;\n"
    "    client_body_buffer_size 1k;\n"
    "    gzip on;\n"
    "    gzip_min_length 1;\n"
    "    gzip_types *;\n"
    "    proxy_connect_timeout 1s;\n"
    "    server {\n"
    "        listen 127.0.0.1:8080;\n"
    "        server_name localhost;\n"
    "        root html;\n"
    "        location / { }\n"
    "        location /r { return 200 \"hello\\n\"; }\n"
    "        location /t { add_trailer X-T done; return 200 \"trailer\"; }\n"
    "        location /a { auth_request /r; return 204; }\n"
    "        location /e { error_page 404 =200 /r; return 404; }\n"
    "        location /p { proxy_pass http://127.0.0.1:9; }\n"
    "        location /l { limit_rate 1k; }\n"
    "    }\n"
    "}\n";

static bw_cycle_t          *fuzz_worker_cycle;
static struct sockaddr_in   fuzz_addr;
static bw_uint_t            fuzz_free_base;
static size_t               fuzz_got;       /* bytes the worker sent */
static int                  fuzz_verbose;

static void
fuzz_make_file(const char *name, size_t size)
{
    char     path[sizeof(fuzz_dir) + 32];
    u_char   buf[4096];
    size_t   n;
    int      fd;

    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        abort();
    }
    for (n = 0; n < sizeof(buf); n++) {
        buf[n] = (u_char) ('a' + n % 26);
    }
    while (size) {
        n = bw_min(size, sizeof(buf));
        if (write(fd, buf, n) != (ssize_t) n) {
            abort();
        }
        size -= n;
    }
    close(fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char             path[sizeof(fuzz_dir) + 32];
    socklen_t        len;
    bw_listening_t  *ls;

    (void) argc;
    (void) argv;

    /* FUZZ_H2_LOG=stderr: the worker's errors, and how far each input
     * got, to check what a seed reaches */
    fuzz_verbose = (getenv("FUZZ_H2_LOG") != NULL);
    fuzz_cycle_init(fuzz_verbose ? getenv("FUZZ_H2_LOG") : "/dev/null");

    snprintf(path, sizeof(path), "%s/html", fuzz_dir);
    if (mkdir(path, 0755) == -1) {
        abort();
    }
    fuzz_make_file("html/index.html", 100);
    fuzz_make_file("html/big", 200000);     /* past the windows of a stream */
    fuzz_make_file("html/l", 3000);
    fuzz_write_conf((const uint8_t *) fuzz_conf, sizeof(fuzz_conf) - 1);

    fuzz_worker_cycle = fuzz_cycle(NULL, 0);
    if (fuzz_worker_cycle == NULL) {
        fprintf(stderr, "fuzz_http_v2_frames: the configuration did not "
                "start (FUZZ_H2_LOG=stderr says why)\n");
        abort();
    }

    bw_cycle = fuzz_worker_cycle;
    if (bw_event_init_worker(fuzz_worker_cycle) != BW_OK) {
        abort();
    }
    fuzz_free_base = fuzz_worker_cycle->free_connection_n;

    ls = fuzz_worker_cycle->listening.elts;
    len = sizeof(fuzz_addr);
    if (getsockname(ls[0].fd, (struct sockaddr *) &fuzz_addr, &len) == -1) {
        abort();
    }
    return 0;
}

/* what the worker sent, read and dropped; 1 once it closed */
static int
fuzz_drain(int fd)
{
    u_char   buf[16384];
    ssize_t  n;

    for ( ;; ) {
        n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            fuzz_got += (size_t) n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return 1;
        }
        return 0;
    }
}

/* the client's connection; a moment without local ports (or with the
 * listen queue full) is waited for, two seconds of it is the harness's
 * failure, not the worker's */
static int
fuzz_connect(void)
{
    int        fd, err;
    bw_uint_t  tries;

    err = 0;

    for (tries = 0; tries < 200; tries++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1) {
            abort();
        }
        if (connect(fd, (struct sockaddr *) &fuzz_addr, sizeof(fuzz_addr))
            == 0)
        {
            return fd;
        }
        err = errno;
        close(fd);
        usleep(10000);
    }

    fprintf(stderr, "fuzz_http_v2_frames: connect() failed: %s\n",
            strerror(err));
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          fd, one, shut, closed;
    u_char      *in;
    size_t       len, sent, before, got;
    ssize_t      n;
    bw_uint_t    turn, idle, day;

    len = sizeof(fuzz_preface) - 1 + size;
    in = malloc(len);
    if (in == NULL) {
        return 0;
    }
    memcpy(in, fuzz_preface, sizeof(fuzz_preface) - 1);
    memcpy(in + sizeof(fuzz_preface) - 1, data, size);

    fd = fuzz_connect();
    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
        abort();
    }

    sent = 0;
    fuzz_got = 0;
    shut = 0;
    closed = 0;
    idle = 0;
    day = 0;

    for (turn = 0; turn < FUZZ_TURNS; turn++) {

        before = sent;
        got = fuzz_got;

        while (sent < len) {
            n = send(fd, in + sent, len - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                if (n == -1 && errno != EAGAIN && errno != EINTR) {
                    sent = len;     /* the worker closed: the rest is lost */
                }
                break;
            }
            sent += (size_t) n;
        }

        if (!closed) {
            closed = fuzz_drain(fd);
        }

        if (closed && fuzz_worker_cycle->free_connection_n == fuzz_free_base)
        {
            break;
        }

        bw_event_process(fuzz_worker_cycle, 0);

        if (sent != before || fuzz_got != got) {
            idle = 0;
            continue;
        }

        if (++idle < FUZZ_IDLE_TURNS) {
            continue;
        }
        idle = 0;

        /*
         * All sent and nothing moves. The client stops sending, as one
         * that goes away with streams open, either at once (an input of
         * odd length) or once the timers have had their turn (even: the
         * worker's own timeouts end the connection first).
         */
        if (!shut && sent == len && (len % 2 || day == FUZZ_DAYS / 2)) {
            (void) shutdown(fd, SHUT_WR);
            shut = 1;
            continue;
        }

        /* what waits for a timer gets it now */
        if (++day > FUZZ_DAYS) {
            break;
        }
        bw_current_msec += (bw_msec_t) day * 86400000;
        bw_event_expire_timers();
        bw_event_process_posted();
    }

    if (!closed) {
        closed = fuzz_drain(fd);
    }

    if (fuzz_verbose) {
        fprintf(stderr, "sent %zu, got %zu bytes in %lu turns, %lu clock "
                "jumps\n", sent, fuzz_got, (unsigned long) turn,
                (unsigned long) day);
    }

    if (fuzz_worker_cycle->free_connection_n != fuzz_free_base) {
        fprintf(stderr, "fuzz_http_v2_frames: %lu connection(s) left after "
                "the client went and every timer fired\n",
                (unsigned long) (fuzz_free_base
                                 - fuzz_worker_cycle->free_connection_n));
        __builtin_trap();
    }

    /* a reset, not a close: thousands of inputs a second would leave
     * as many connections in TIME_WAIT and use up the local ports */
    (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &fuzz_linger,
                      sizeof(fuzz_linger));
    close(fd);
    free(in);
    return 0;
}

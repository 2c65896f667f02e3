/*
 * libFuzzer target: the FastCGI response's record parser on arbitrary
 * bytes, fed once whole and once in reads of the sizes the input picks.
 * Whatever the bytes: a piece of content lies inside the read it came
 * from, the position never moves back nor past the read's end, NEED
 * means the read was all taken, a read of n bytes gives no more than
 * n + 1 answers (no endless loop), and the reads give exactly the
 * STDOUT, STDERR and outcome (END, NEED, the error and where) of the
 * whole. END, asked again, stays where it was. Built only with the
 * http_fastcgi module.
 *
 * Input: byte 0's low 4 bits are the number of cuts n; then n pairs of
 * bytes, each (big-endian) the size of the next read, modulo what is
 * left plus one (a read may be empty); the rest is the record stream,
 * its last read whatever the cuts left.
 */

#include <bw_http_fastcgi.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CUTS_MAX  15

typedef struct {
    bw_http_fastcgi_parser_t   st;
    bw_int_t                   rc;        /* NEED, END or the error */
    size_t                     at;        /* where it stopped */
    u_char                    *out;       /* STDOUT, concatenated */
    size_t                     out_len;
    u_char                    *err;       /* STDERR, concatenated */
    size_t                     err_len;
} fuzz_run_t;

static void
fuzz_take(u_char *dst, size_t *len, size_t cap, bw_str_t *s)
{
    if (*len + s->len > cap) {
        abort();
    }
    memcpy(dst + *len, s->data, s->len);
    *len += s->len;
}

/*
 * One read: [from, from + n) of the stream, in a buffer of exactly n
 * bytes so that a read past it is reported. 1 when the run is over
 * (END or an error).
 */
static int
fuzz_read(fuzz_run_t *run, const u_char *stream, size_t from, size_t n,
    size_t cap)
{
    u_char    *buf, *pos, *before, *last;
    size_t     calls;
    bw_int_t   rc;
    bw_str_t   out;

    buf = malloc(n ? n : 1);
    if (buf == NULL) {
        abort();
    }
    memcpy(buf, stream + from, n);
    pos = buf;
    last = buf + n;

    for (calls = 0; ; calls++) {
        if (calls > n + 1) {
            abort();
        }

        before = pos;
        out.data = NULL;
        out.len = 0;
        rc = bw_http_fastcgi_parse(&run->st, &pos, last, &out);

        if (pos < before || pos > last) {
            abort();
        }

        if (rc == BW_HTTP_FASTCGI_STDOUT_DATA
            || rc == BW_HTTP_FASTCGI_STDERR_DATA)
        {
            /* inside the read, after where the call began, ending where
             * the next call begins: what decoding in place relies on */
            if (out.len == 0 || out.data < before || out.data > last
                || out.data + out.len != pos)
            {
                abort();
            }
            if (rc == BW_HTTP_FASTCGI_STDOUT_DATA) {
                fuzz_take(run->out, &run->out_len, cap, &out);
            } else {
                fuzz_take(run->err, &run->err_len, cap, &out);
            }
            continue;
        }

        run->rc = rc;
        run->at = from + (size_t) (pos - buf);

        if (rc == BW_HTTP_FASTCGI_NEED) {
            /* the caller keeps nothing of a read back */
            if (pos != last || run->st.state == bw_fcgi_st_done) {
                abort();
            }
            free(buf);
            return 0;
        }

        if (rc == BW_HTTP_FASTCGI_END) {
            if (run->st.state != bw_fcgi_st_done) {
                abort();
            }
            /* asked again: END, where it was */
            before = pos;
            if (bw_http_fastcgi_parse(&run->st, &pos, last, &out)
                != BW_HTTP_FASTCGI_END
                || pos != before)
            {
                abort();
            }

        } else if (rc != BW_HTTP_FASTCGI_BAD_VERSION
                   && rc != BW_HTTP_FASTCGI_BAD_TYPE
                   && rc != BW_HTTP_FASTCGI_BAD_ID)
        {
            abort();
        }

        free(buf);
        return 1;
    }
}

static int
fuzz_run_init(fuzz_run_t *run, size_t cap)
{
    bw_memzero(run, sizeof(fuzz_run_t));
    run->rc = BW_HTTP_FASTCGI_NEED;
    run->out = malloc(cap ? cap : 1);
    run->err = malloc(cap ? cap : 1);

    return run->out != NULL && run->err != NULL;
}

static void
fuzz_run_free(fuzz_run_t *run)
{
    free(run->out);
    free(run->err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            ok;
    size_t         i, ncuts, from, n, sizes[FUZZ_CUTS_MAX];
    const u_char  *stream;
    fuzz_run_t     whole, split;

    if (size == 0) {
        return 0;
    }

    ncuts = data[0] & 0x0f;
    if (1 + 2 * ncuts > size) {
        ncuts = (size - 1) / 2;
    }
    for (i = 0; i < ncuts; i++) {
        sizes[i] = ((size_t) data[1 + 2 * i] << 8) | data[2 + 2 * i];
    }
    stream = data + 1 + 2 * ncuts;
    size -= 1 + 2 * ncuts;

    ok = fuzz_run_init(&whole, size);
    ok &= fuzz_run_init(&split, size);
    if (!ok) {
        fuzz_run_free(&whole);
        fuzz_run_free(&split);
        return 0;
    }

    (void) fuzz_read(&whole, stream, 0, size, size);

    from = 0;
    for (i = 0; i <= ncuts; i++) {
        n = size - from;
        if (i < ncuts) {
            n = sizes[i] % (n + 1);
        }
        if (fuzz_read(&split, stream, from, n, size)) {
            break;
        }
        from += n;
    }

    /* however it was cut: the same content, the same outcome, at the
     * same place */
    if (split.out_len + split.err_len != whole.out_len + whole.err_len
        || split.out_len != whole.out_len
        || memcmp(split.out, whole.out, whole.out_len) != 0
        || split.err_len != whole.err_len
        || memcmp(split.err, whole.err, whole.err_len) != 0
        || split.rc != whole.rc
        || split.at != whole.at
        || split.st.state != whole.st.state)
    {
        abort();
    }

    /* content comes only out of the stream's bytes */
    if (whole.out_len + whole.err_len > size) {
        abort();
    }

    fuzz_run_free(&whole);
    fuzz_run_free(&split);
    return 0;
}

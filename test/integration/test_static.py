"""Static files: content, HEAD, conditional requests, ranges, index,
directory redirects, and paths that try to leave the root."""

import email.utils
import os

from conftest import built_modules, get, raw, require_module, status_of

BODY = b"".join(b"line %04d of the static test file\n" % i for i in range(300))

STATIC = """
    default_type application/octet-stream;
    include mime.types;
    server {
        listen 127.0.0.1:PORT;
        root html;
        location / { index index.html; }
        location /alias/ { alias html/sub/; }
    }
"""


def setup_static(bw):
    bw.config(STATIC)
    bw.write("html/file.txt", BODY, "wb")
    bw.write("html/index.html", "<h1>index</h1>\n")
    bw.write("html/sub/page.html", "<p>sub page</p>\n")
    bw.write("html/sub/index.html", "<p>sub index</p>\n")
    os.makedirs(bw.path("html", "empty"), exist_ok=True)
    bw.start()


def test_get_and_head(bw):
    require_module("http_static")
    setup_static(bw)
    st, h, body = get(bw.port, "/file.txt")
    assert st == 200
    assert body == BODY
    assert h["content-type"] == "text/plain"
    assert h["content-length"] == str(len(BODY))
    if "http_range" in built_modules():
        assert h["accept-ranges"] == "bytes"
    mtime = os.stat(bw.path("html", "file.txt")).st_mtime
    assert h["last-modified"] == email.utils.formatdate(mtime, usegmt=True)
    assert h["etag"] == '"%x-%x"' % (int(mtime), len(BODY))

    resp = raw(bw.port, b"HEAD /file.txt HTTP/1.0\r\n\r\n")
    head, _, rest = resp.partition(b"\r\n\r\n")
    assert status_of(resp) == 200
    assert b"Content-Length: %d" % len(BODY) in head
    assert rest == b""


def test_conditional(bw):
    require_module("http_static", "http_not_modified")
    setup_static(bw)
    _, h, _ = get(bw.port, "/file.txt")
    st, h2, body = get(bw.port, "/file.txt",
                       headers={"If-None-Match": h["etag"]})
    assert st == 304 and body == b""
    assert h2["etag"] == h["etag"]
    st, _, _ = get(bw.port, "/file.txt",
                   headers={"If-None-Match": '"other", ' + h["etag"]})
    assert st == 304
    st, _, _ = get(bw.port, "/file.txt",
                   headers={"If-Modified-Since": h["last-modified"]})
    assert st == 304
    st, _, body = get(bw.port, "/file.txt",
                      headers={"If-Modified-Since":
                               "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert st == 200 and body == BODY
    # If-None-Match decides alone when both are present
    st, _, _ = get(bw.port, "/file.txt",
                   headers={"If-None-Match": '"nope"',
                            "If-Modified-Since": h["last-modified"]})
    assert st == 200
    st, _, _ = get(bw.port, "/file.txt", headers={"If-Match": '"nope"'})
    assert st == 412


def test_ranges(bw):
    require_module("http_static", "http_range")
    setup_static(bw)
    st, h, body = get(bw.port, "/file.txt", headers={"Range": "bytes=10-19"})
    assert st == 206
    assert body == BODY[10:20]
    assert h["content-range"] == "bytes 10-19/%d" % len(BODY)

    st, h, body = get(bw.port, "/file.txt", headers={"Range": "bytes=-5"})
    assert st == 206 and body == BODY[-5:]

    # the unit is case-insensitive (RFC 9110 14.1), as nginx reads it
    st, h, body = get(bw.port, "/file.txt", headers={"Range": "Bytes=10-19"})
    assert st == 206 and body == BODY[10:20]

    st, h, body = get(bw.port, "/file.txt", headers={"Range": "bytes=100-"})
    assert st == 206 and body == BODY[100:]

    st, h, body = get(bw.port, "/file.txt",
                      headers={"Range": "bytes=0-3,20-23"})
    assert st == 206
    ctype = h["content-type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("=", 1)[1].encode()
    parts = body.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n"
    assert BODY[0:4] in parts[1] and b"bytes 0-3/" in parts[1]
    assert BODY[20:24] in parts[2] and b"bytes 20-23/" in parts[2]
    assert int(h["content-length"]) == len(body)

    st, h, _ = get(bw.port, "/file.txt", headers={"Range": "bytes=999999-"})
    assert st == 416
    assert h["content-range"] == "bytes */%d" % len(BODY)

    # If-Range with another validator: the whole body
    st, _, body = get(bw.port, "/file.txt",
                      headers={"Range": "bytes=0-3", "If-Range": '"old"'})
    assert st == 200 and body == BODY

    # an empty file: a range from its start is the whole (empty) file,
    # one beyond it is not satisfiable, as nginx
    bw.write("html/empty.bin", "")
    for rng, want in (("bytes=0-", 200), ("bytes=-5", 200),
                      ("bytes=0-0,-1", 200), ("bytes=3-", 416)):
        st, h, body = get(bw.port, "/empty.bin", headers={"Range": rng})
        assert st == want, rng
        if st == 200:
            assert body == b"" and h["content-length"] == "0"


def test_index_and_directories(bw):
    require_module("http_static", "http_index")
    setup_static(bw)
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"<h1>index</h1>\n"
    st, h, _ = get(bw.port, "/sub?x=1")
    assert st == 301
    assert h["location"] == "http://localhost:%d/sub/?x=1" % bw.port
    st, _, body = get(bw.port, "/sub/")
    assert st == 200 and body == b"<p>sub index</p>\n"
    st, _, _ = get(bw.port, "/empty/")
    assert st == 403
    st, _, _ = get(bw.port, "/missing/")
    assert st == 404
    st, _, body = get(bw.port, "/alias/page.html")
    assert st == 200 and body == b"<p>sub page</p>\n"


def test_traversal(bw):
    require_module("http_static")
    setup_static(bw)
    bw.write("secret.txt", "secret\n")
    for target in (b"/../secret.txt", b"/%2e%2e/secret.txt",
                   b"/sub/../../secret.txt", b"/%2e%2e%2fsecret.txt"):
        resp = raw(bw.port, b"GET " + target + b" HTTP/1.0\r\n\r\n")
        assert status_of(resp) == 400, (target, resp[:200])
        assert b"secret" not in resp.split(b"\r\n\r\n", 1)[1]
    st, _, _ = get(bw.port, "/sub/../file.txt")
    assert st == 200
    st, _, _ = get(bw.port, "/file.txt%00.html")
    assert st == 400


def test_keepalive_and_pipelining(bw):
    require_module("http_static", "http_index")
    setup_static(bw)
    req = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
    resp = raw(bw.port, req * 3 + b"GET /file.txt HTTP/1.1\r\nHost: a\r\n"
               b"Connection: close\r\n\r\n", timeout=5)
    assert resp.count(b"HTTP/1.1 200 OK") == 4
    assert resp.count(b"<h1>index</h1>") == 3
    assert resp.endswith(BODY)


def test_sendfile_off(bw):
    require_module("http_static", "http_range")
    bw.config(STATIC.replace("default_type", "sendfile off;\n    default_type"))
    big = bytes(range(256)) * 4096        # 1 MiB, more than one read
    bw.write("html/big.bin", big, "wb")
    bw.start()
    st, _, body = get(bw.port, "/big.bin")
    assert st == 200 and body == big
    st, _, body = get(bw.port, "/big.bin", headers={"Range": "bytes=70000-"})
    assert st == 206 and body == big[70000:]


def test_many_concurrent_clients(bw):
    """Many keepalive clients at once, mixed small and large files: every
    response is complete and correct."""
    require_module("http_static")
    import threading
    from conftest import raw as _raw
    bw.config(STATIC.replace("listen 127.0.0.1:PORT;",
                             "listen 127.0.0.1:PORT reuseport;"),
              workers=2)
    big = bytes(range(256)) * 2048        # 512 KiB
    bw.write("html/big.bin", big, "wb")
    bw.write("html/file.txt", BODY, "wb")
    bw.start()
    errors = []

    def client(n):
        small = b"GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n"
        large = b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"
        last = b"GET /file.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        for _ in range(5):
            resp = _raw(bw.port, small * 3 + large + last, timeout=20)
            if (resp.count(b"HTTP/1.1 200 OK") != 5
                    or resp.count(BODY) != 4 or big not in resp):
                errors.append((n, len(resp)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []


def test_sendfile_on_large_and_small(bw):
    require_module("http_static", "http_range")
    bw.config(STATIC.replace("default_type",
                             "sendfile on;\n    tcp_nopush on;\n"
                             "    default_type"))
    big = bytes(range(256)) * 8192        # 2 MiB: sent with sendfile
    small = b"s" * 5000                   # inlined with the header
    bw.write("html/big.bin", big, "wb")
    bw.write("html/small.bin", small, "wb")
    bw.start()
    assert get(bw.port, "/big.bin")[2] == big
    assert get(bw.port, "/small.bin")[2] == small
    st, _, body = get(bw.port, "/big.bin", headers={"Range": "bytes=1000-"})
    assert st == 206 and body == big[1000:]
    st, h, body = get(bw.port, "/big.bin",
                      headers={"Range": "bytes=0-9,2000000-2000009"})
    assert st == 206
    assert big[0:10] in body and big[2000000:2000010] in body
    st, _, body = get(bw.port, "/small.bin", headers={"Range": "bytes=-7"})
    assert st == 206 and body == small[-7:]
    # several in one connection, mixed
    req = (b"GET /small.bin HTTP/1.1\r\nHost: a\r\n\r\n"
           b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"
           b"GET /small.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    resp = raw(bw.port, req, timeout=20)
    assert resp.count(b"HTTP/1.1 200 OK") == 3
    assert resp.count(small) == 2 and big in resp

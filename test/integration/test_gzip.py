"""
gzip (modules/http_gzip): what gets compressed and what not, bodies that
decompress byte-exact (static files, proxied bodies of every size, chunked
and trickled ones), streaming with flushes, the headers of a compressed
answer, $gzip_ratio, and the same answers as Debian's nginx.
"""

import functools
import gzip
import hashlib
import os
import random
import socket
import socketserver
import threading
import time
import urllib.parse
import zlib

import pytest

from conftest import (free_port, needs_nginx, nginx_serving, recv_all,
                      require_module, rss_kb, settled_rss, wait_for)


@functools.lru_cache(maxsize=64)
def body_of(n, seed=1):
    """Compressible text of n bytes."""
    rnd = random.Random(seed)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"<p>", b"</p>", b"\n"]
    out = []
    size = 0
    while size < n:
        w = rnd.choice(words) + b" "
        out.append(w)
        size += len(w)
    return b"".join(out)[:n]


class TextOrigin:
    """An origin on loopback whose answers the path chooses:

      /len/N           N bytes of text with Content-Length
      /chunked/N/P     N bytes, chunked, in pieces of P bytes
      /stream/K?G      K pieces of 100 bytes, each after the client's
                       previous piece was seen (release(G) lets one go;
                       a gate per request, or the permit for one that
                       has not yet taken its last lets the next go)
      /encoded         Content-Encoding: br (must pass untouched)
      /hdr?...         200 with the given header lines (name=value&...)
      /status/NNN      that status with 100 bytes of text
    """

    def __init__(self):
        self.gates = {}
        self.gates_lock = threading.Lock()
        origin = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline().decode("latin-1")
                if not line:
                    return
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                path = line.split()[1]
                try:
                    origin.respond(self.wfile, path)
                except (BrokenPipeError, ConnectionResetError):
                    pass        # a client that went away (slow reader)

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def respond(self, w, path):
        parts = path.split("?")[0].strip("/").split("/")
        head = "HTTP/1.1 %d OK\r\nContent-Type: text/plain\r\n"
        if parts[0] == "len":
            data = body_of(int(parts[1]))
            w.write((head % 200 + "Content-Length: %d\r\nConnection: close"
                     "\r\n\r\n" % len(data)).encode() + data)
        elif parts[0] == "chunked":
            data = body_of(int(parts[1]))
            piece = int(parts[2])
            w.write((head % 200 + "Transfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n").encode())
            for i in range(0, len(data), piece):
                chunk = data[i:i + piece]
                w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                w.flush()
            w.write(b"0\r\n\r\n")
        elif parts[0] == "stream":
            w.write((head % 200 + "Transfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n").encode())
            for i in range(int(parts[1])):
                chunk = body_of(100, seed=i)
                w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                w.flush()
                self.gate(path.partition("?")[2]).acquire(timeout=10)
            w.write(b"0\r\n\r\n")
        elif parts[0] == "gz":
            # N bytes gzipped (in MEMBERS members), chunked in pieces of P;
            # "cut" ends it inside the stream
            n, members, piece = int(parts[1]), int(parts[2]), int(parts[3])
            data = body_of(n)
            step = max(1, n // members)
            packed = b"".join(gzip.compress(data[i:i + step])
                              for i in range(0, n, step)) if n else \
                gzip.compress(b"")
            if len(parts) > 4 and parts[4] == "cut":
                packed = packed[:len(packed) // 2]
            w.write((head % 200 + "Content-Encoding: gzip\r\n"
                     "ETag: \"z1\"\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n").encode())
            for i in range(0, len(packed), piece):
                chunk = packed[i:i + piece]
                w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                w.flush()
            w.write(b"0\r\n\r\n")
        elif parts[0] == "encoded":
            data = b"\x00not really brotli" * 10
            w.write((head % 200 + "Content-Encoding: br\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n"
                     % len(data)).encode() + data)
        elif parts[0] == "hdr":
            extra = ""
            for kv in path.split("?", 1)[1].split("&"):
                k, _, v = kv.partition("=")
                extra += "%s: %s\r\n" % (k, urllib.parse.unquote(v))
            data = body_of(1000)
            w.write((head % 200 + extra + "Content-Length: %d\r\n"
                     "Connection: close\r\n\r\n" % len(data)).encode() + data)
        elif parts[0] == "status":
            data = body_of(100)
            w.write((head % int(parts[1]) + "Content-Length: %d\r\n"
                     "Connection: close\r\n\r\n" % len(data)).encode() + data)

    def gate(self, name):
        with self.gates_lock:
            return self.gates.setdefault(name, threading.Semaphore(0))

    def release(self, name=""):
        self.gate(name).release()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def origin():
    o = TextOrigin()
    yield o
    o.stop()


HTTP = """
    include %(mime)s;
    log_format g '$uri $status $gzip_ratio';
    server {
        listen 127.0.0.1:%(port)d;
        root %(root)s;
        access_log %(log)s g;
        gzip on;
        gzip_vary on;
        gzip_types text/css text/plain;
        location /p/ { proxy_pass http://127.0.0.1:%(origin)d/; }
        location /pv/ { proxy_pass http://127.0.0.1:%(origin)d/;
                        gzip_proxied expired no-cache auth; }
        location /pany/ { proxy_pass http://127.0.0.1:%(origin)d/;
                          gzip_proxied any; }
        location /unbuffered/ { proxy_pass http://127.0.0.1:%(origin)d/;
                                proxy_buffering off; }
        location /off/ { gzip off; }
        location /ie/ { gzip_disable msie6 "Bot[0-9]"; }
        location /v10/ { gzip_http_version 1.0; }
        location /min/ { gzip_min_length 1000; }
    }
"""


def exchange(port, path, headers=(), method="GET", version="1.1"):
    """One request on its own connection: (status, headers, raw body)."""
    req = "%s %s HTTP/%s\r\nHost: x\r\nConnection: close\r\n" % (
        method, path, version)
    for h in headers:
        req += h + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((req + "\r\n").encode())
        data = recv_all(s, timeout=20)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    if "chunked" in hdrs.get("transfer-encoding", [""])[0]:
        body = dechunk(body)
    return status, hdrs, body


def dechunk(data):
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2:]


def serve(bw, origin, tmp_path):
    root = tmp_path / "html"
    root.mkdir(exist_ok=True)
    for name, size in (("big.html", 300000), ("a.css", 1500),
                       ("tiny.txt", 10), ("pic.bin", 5000)):
        (root / name).write_bytes(body_of(size))
    for d in ("off", "ie", "v10", "min"):
        (root / d).mkdir(exist_ok=True)
        (root / d / "a.txt").write_bytes(body_of(500))
    bw.config((HTTP % {"mime": bw.path("conf", "mime.types"), "port": 0,
                       "root": root, "log": bw.path("logs", "g.log"),
                       "origin": origin.port})
              .replace("127.0.0.1:0;", "127.0.0.1:PORT;"))
    bw.start()
    return root


@pytest.fixture(autouse=True)
def _need_gzip():
    require_module("http_gzip")


def test_static_and_proxied_bodies_decompress_exactly(bw, origin, tmp_path):
    root = serve(bw, origin, tmp_path)
    ae = ("Accept-Encoding: gzip, deflate",)
    st, h, body = exchange(bw.port, "/big.html", ae)
    assert st == 200 and h["content-encoding"] == ["gzip"]
    assert "content-length" not in h
    assert gzip.decompress(body) == (root / "big.html").read_bytes()
    assert len(body) < 300000 // 3

    for n in (21, 1000, 100000, 3000000):
        st, h, body = exchange(bw.port, "/p/len/%d" % n, ae)
        assert (st, h["content-encoding"]) == (200, ["gzip"]), n
        assert gzip.decompress(body) == body_of(n), n
    # chunked, and trickled in small pieces
    for n, piece in ((0, 10), (1, 1), (50000, 7), (200000, 4096)):
        st, h, body = exchange(bw.port, "/p/chunked/%d/%d" % (n, piece), ae)
        assert st == 200 and gzip.decompress(body) == body_of(n), n
    st, h, body = exchange(bw.port, "/unbuffered/chunked/70000/333", ae)
    assert gzip.decompress(body) == body_of(70000)


def test_what_is_not_compressed(bw, origin, tmp_path):
    serve(bw, origin, tmp_path)
    gz = ("Accept-Encoding: gzip",)

    def encoded(path, headers=gz, **kw):
        st, h, body = exchange(bw.port, path, headers, **kw)
        return st, h.get("content-encoding", [None])[0], body

    assert encoded("/big.html", ())[1] is None                 # not asked
    assert encoded("/big.html", ("Accept-Encoding: gzip;q=0",))[1] is None
    assert encoded("/big.html", ("Accept-Encoding: br, *;q=0.5",))[1] == "gzip"
    assert encoded("/big.html",
                   ("Accept-Encoding: gzip;q=0, *;q=1",))[1] is None
    assert encoded("/big.html", ("Accept-Encoding: GZIP;q=0.001",))[1] \
        == "gzip"
    assert encoded("/tiny.txt")[1] is None                      # < min_length
    assert encoded("/pic.bin")[1] is None                       # type
    assert encoded("/off/a.txt")[1] is None
    assert encoded("/min/a.txt")[1] is None
    assert encoded("/ie/a.txt", gz + ("User-Agent: Mozilla/4.0 (compatible;"
                                       " MSIE 6.0; Windows NT 5.1)",))[1] \
        is None
    assert encoded("/ie/a.txt", gz + ("User-Agent: Mozilla/4.0 (compatible;"
                                       " MSIE 6.0; Windows NT 5.1; SV1)",)
                   )[1] == "gzip"
    assert encoded("/ie/a.txt", gz + ("User-Agent: Bot7",))[1] is None
    # HTTP/1.0 only where gzip_http_version says so
    assert encoded("/big.html", version="1.0")[1] is None
    assert encoded("/v10/a.txt", version="1.0")[1] == "gzip"
    # HEAD: the header of a compressed answer, as nginx
    st, enc, body = encoded("/big.html", method="HEAD")
    assert (st, enc, body) == (200, "gzip", b"")
    # statuses other than 200, 403, 404
    assert encoded("/p/status/404")[1] == "gzip"
    assert encoded("/p/status/500")[1] is None
    # already encoded by the upstream
    st, enc, body = encoded("/p/encoded")
    assert enc == "br" and body == b"\x00not really brotli" * 10
    # a Range gets the whole compressed body, never a range of it
    st, h, body = exchange(bw.port, "/big.html", gz + ("Range: bytes=0-99",))
    assert st == 200 and "content-range" not in h
    assert len(gzip.decompress(body)) == 300000


def test_gzip_proxied(bw, origin, tmp_path):
    serve(bw, origin, tmp_path)
    gz = ("Accept-Encoding: gzip",)
    via = gz + ("Via: 1.1 cache",)

    def enc(path, headers):
        return exchange(bw.port, path, headers)[1].get("content-encoding",
                                                      [None])[0]

    assert enc("/p/len/500", gz) == "gzip"          # no Via: as any
    assert enc("/p/len/500", via) is None           # gzip_proxied off
    assert enc("/pany/len/500", via) == "gzip"
    assert enc("/pv/hdr?Cache-Control=no-cache", via) == "gzip"
    assert enc("/pv/hdr?Cache-Control=public", via) is None
    assert enc("/pv/hdr?Expires=Thu,%2001%20Jan%201970%2000:00:00%20GMT",
               via) == "gzip"
    assert enc("/pv/hdr?Expires=Thu,%2001%20Jan%202099%2000:00:00%20GMT",
               via) is None
    assert enc("/pv/len/500", via + ("Authorization: Basic eDp5",)) == "gzip"


def test_headers_of_a_compressed_answer(bw, origin, tmp_path):
    serve(bw, origin, tmp_path)
    st, plain, _ = exchange(bw.port, "/a.css")
    st, h, body = exchange(bw.port, "/a.css", ("Accept-Encoding: gzip",))
    assert plain["vary"] == ["Accept-Encoding"] == h["vary"]
    assert h["etag"] == ["W/" + plain["etag"][0]]
    assert "accept-ranges" not in h and "accept-ranges" in plain
    assert h["transfer-encoding"] == ["chunked"]
    st, h, _ = exchange(bw.port, "/p/hdr?ETag=%22v1%22",
                        ("Accept-Encoding: gzip",))
    assert h["etag"] == ['W/"v1"']
    st, h, _ = exchange(bw.port, "/p/hdr?ETag=W/%22v2%22",
                        ("Accept-Encoding: gzip",))
    assert h["etag"] == ['W/"v2"']

    def logged():
        with open(bw.path("logs", "g.log")) as f:
            return f.read().splitlines()
    wait_for(lambda: len(logged()) >= 4, what="log lines")
    ratios = [l.split()[2] for l in logged()]
    assert ratios[0] == "-"                    # not compressed
    whole, frac = ratios[1].split(".")
    assert whole.isdigit() and len(frac) == 2 and float(ratios[1]) > 1.5


def test_a_streamed_answer_comes_piece_by_piece(bw, origin, tmp_path):
    """Each piece of an upstream that pauses reaches the client
    compressed before the next is sent (a sync flush per pause)."""
    serve(bw, origin, tmp_path)
    for prefix in ("/p/", "/unbuffered/"):
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=10) as s:
            s.sendall(("GET %sstream/4?%s HTTP/1.1\r\nHost: x\r\n"
                       "Accept-Encoding: gzip\r\n\r\n"
                       % (prefix, prefix)).encode())
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = b""
            text = b""
            for i in range(4):
                want = b"".join(body_of(100, seed=k) for k in range(i + 1))

                def got_piece():
                    nonlocal raw, text
                    s.settimeout(0.2)
                    try:
                        raw += s.recv(65536)
                    except socket.timeout:
                        pass
                    head, sep, rest = raw.partition(b"\r\n\r\n")
                    if not sep:
                        return False
                    # the chunks so far, without the framing
                    data, body = b"", rest
                    while body:
                        line, sep2, body = body.partition(b"\r\n")
                        if not sep2 or not line:
                            break
                        size = int(line, 16)
                        if size == 0 or len(body) < size + 2:
                            break
                        data += body[:size]
                        body = body[size + 2:]
                    text = zlib.decompressobj(16 + zlib.MAX_WBITS) \
                        .decompress(data)
                    return text == want
                wait_for(got_piece, timeout=10,
                         what="piece %d before the next" % i)
                origin.release(prefix)


def test_slow_reader_holds_the_upstream_back(bw, origin, tmp_path):
    """A client that reads nothing: the worker keeps at most its
    gzip_buffers of compressed output, so the rest of a large proxied
    body stays with the upstream (or in temp files), and the worker's
    memory does not grow with the body."""
    serve(bw, origin, tmp_path)
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    before = rss_kb(worker)
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /unbuffered/len/8000000 HTTP/1.1\r\nHost: x\r\n"
                      b"Accept-Encoding: gzip\r\n\r\n")
            socks.append(s)
        # the upstream fills what the path holds, then stops: the
        # worker's size settles
        after = settled_rss(worker, 64)
        # 10 x 8 MB of answers; far less than one of them is held
        assert after - before < 20 * 1024, (before, after)
    finally:
        for s in socks:
            s.close()


@needs_nginx
def test_same_answers_as_nginx(bw, origin, tmp_path):
    root = serve(bw, origin, tmp_path)
    nport = free_port()
    http = HTTP % {"mime": bw.path("conf", "mime.types"), "port": nport,
                   "root": root, "log": tmp_path / "ng.log",
                   "origin": origin.port}
    cases = []
    for path in ("/big.html", "/a.css", "/tiny.txt", "/pic.bin",
                 "/off/a.txt", "/min/a.txt", "/p/len/21", "/p/len/5000",
                 "/p/chunked/3000/100", "/p/status/404", "/p/status/500",
                 "/p/encoded", "/pv/hdr?Cache-Control=no-cache",
                 "/pv/hdr?Cache-Control=public", "/pany/len/500",
                 "/p/hdr?ETag=%22v1%22", "/ie/a.txt", "/v10/a.txt"):
        for hdrs in ((), ("Accept-Encoding: gzip",),
                     ("Accept-Encoding: gzip;q=0",),
                     ("Accept-Encoding: gzip", "Via: 1.1 x"),
                     ("Accept-Encoding: gzip", "User-Agent: MSIE 5.5; x"),
                     ("Accept-Encoding: gzip", "Range: bytes=0-9")):
            for method in ("GET", "HEAD"):
                cases.append((path, hdrs, method))

    def observe(port):
        out = []
        for path, hdrs, method in cases:
            st, h, body = exchange(port, path, hdrs, method)
            if h.get("content-encoding") == ["gzip"] and body:
                body = gzip.decompress(body)
            out.append((path, hdrs, method, st,
                        h.get("content-encoding"), h.get("vary"),
                        [e.startswith("W/") for e in h.get("etag", [])],
                        "content-length" in h, "content-range" in h,
                        hashlib.md5(body).hexdigest()))
        return out

    ours = observe(bw.port)
    with nginx_serving(tmp_path, http, nport):
        theirs = observe(nport)
    diff = ["\n ours:   %r\n theirs: %r" % (a, b)
            for a, b in zip(ours, theirs) if a != b]
    assert not diff, "".join(diff[:6])


STATIC = """
    include %(mime)s;
    server {
        listen 127.0.0.1:%(port)d;
        root %(root)s;
        gzip_vary on;
        location /on/ { gzip_static on; }
        location /always/ { gzip_static always; }
        location /off/ { gzip_static off; }
        location /proxied/ { gzip_static on; gzip_proxied off; }
    }
"""


def static_tree(tmp_path):
    root = tmp_path / "static"
    for d in ("on", "always", "off", "proxied"):
        (root / d).mkdir(parents=True)
        (root / d / "app.js").write_bytes(body_of(4000))
        # one .gz for all: mtime=0, or two written across a second differ
        (root / d / "app.js.gz").write_bytes(
            gzip.compress(body_of(4000), mtime=0))
        (root / d / "plain.js").write_bytes(body_of(3000))
    return root


def test_gzip_static(bw, tmp_path):
    require_module("http_gzip_static")
    root = static_tree(tmp_path)
    bw.config((STATIC % {"mime": bw.path("conf", "mime.types"), "port": 0,
                         "root": root})
              .replace("127.0.0.1:0;", "127.0.0.1:PORT;"))
    bw.start()
    gz = ("Accept-Encoding: gzip",)
    packed = (root / "on" / "app.js.gz").read_bytes()

    st, h, body = exchange(bw.port, "/on/app.js", gz)
    assert (st, h["content-encoding"], body) == (200, ["gzip"], packed)
    assert h["content-type"] == ["application/javascript"]
    assert h["content-length"] == [str(len(packed))]
    assert h["vary"] == ["Accept-Encoding"]
    # a client without gzip gets the file itself, and Vary
    st, h, body = exchange(bw.port, "/on/app.js")
    assert ("content-encoding" not in h, body, h["vary"]) == (
        True, body_of(4000), ["Accept-Encoding"])
    # no .gz: the file, and no Vary (the answer does not depend on it)
    st, h, body = exchange(bw.port, "/on/plain.js", gz)
    assert ("content-encoding" in h, "vary" in h, body) == (
        False, False, body_of(3000))
    # always: whoever asks
    st, h, body = exchange(bw.port, "/always/app.js")
    assert (h["content-encoding"], body) == (["gzip"], packed)
    assert exchange(bw.port, "/off/app.js", gz)[2] == body_of(4000)
    # gzip_proxied off: through a proxy, the file itself
    st, h, body = exchange(bw.port, "/proxied/app.js", gz + ("Via: 1.1 x",))
    assert body == body_of(4000)
    # no ranges of the .gz, as nginx
    st, h, body = exchange(bw.port, "/on/app.js", gz + ("Range: bytes=0-9",))
    assert (st, body) == (200, packed)


@needs_nginx
def test_gzip_static_same_answers_as_nginx(bw, tmp_path):
    require_module("http_gzip_static")
    root = static_tree(tmp_path)
    nport = free_port()
    bw.config((STATIC % {"mime": bw.path("conf", "mime.types"), "port": 0,
                         "root": root})
              .replace("127.0.0.1:0;", "127.0.0.1:PORT;"))
    bw.start()
    cases = [(d + f, hdrs, m)
             for d in ("/on/", "/always/", "/off/", "/proxied/")
             for f in ("app.js", "plain.js", "missing.js")
             for hdrs in ((), ("Accept-Encoding: gzip",),
                          ("Accept-Encoding: gzip", "Via: 1.1 x"),
                          ("Accept-Encoding: gzip", "Range: bytes=2-5"))
             for m in ("GET", "HEAD")]

    def observe(port):
        out = []
        for path, hdrs, method in cases:
            st, h, body = exchange(port, path, hdrs, method)
            out.append((path, hdrs, method, st, h.get("content-encoding"),
                        h.get("vary"), h.get("content-type"),
                        # an error page names the server
                        h.get("content-length") if st < 300 else "",
                        h.get("content-range"),
                        hashlib.md5(body).hexdigest() if st < 300 else ""))
        return out

    ours = observe(bw.port)
    with nginx_serving(tmp_path, STATIC % {
            "mime": bw.path("conf", "mime.types"), "port": nport,
            "root": root}, nport):
        theirs = observe(nport)
    diff = ["\n ours:   %r\n theirs: %r" % (a, b)
            for a, b in zip(ours, theirs) if a != b]
    assert not diff, "".join(diff[:6])


GUNZIP = """
    gzip_vary on;
    server {
        listen 127.0.0.1:%(port)s;
        location / { gunzip on; proxy_pass http://127.0.0.1:%(origin)d; }
        location /off/ { proxy_pass http://127.0.0.1:%(origin)d/; }
    }
"""


def test_gunzip(bw, origin):
    require_module("http_gunzip")
    bw.config(GUNZIP % {"port": "PORT", "origin": origin.port})
    bw.start()
    gz = ("Accept-Encoding: gzip",)
    for n, members, piece in ((0, 1, 10), (1, 1, 1), (5000, 1, 7),
                              (300000, 3, 4096), (100000, 1, 100000)):
        path = "/gz/%d/%d/%d" % (n, members, piece)
        st, h, body = exchange(bw.port, path)
        assert (st, body) == (200, body_of(n)), (path, len(body))
        assert "content-encoding" not in h and "content-length" not in h
        assert h["vary"] == ["Accept-Encoding"] and h["etag"] == ['W/"z1"']
        # a client that takes gzip gets it as it is
        st, h, body = exchange(bw.port, path, gz)
        assert h["content-encoding"] == ["gzip"] and h["etag"] == ['"z1"']
        assert gzip.decompress(body) == body_of(n)
    # gunzip off: passed as it is to everyone
    st, h, body = exchange(bw.port, "/off/gz/500/1/50")
    assert h["content-encoding"] == ["gzip"]
    # a gzip stream cut short: never a complete answer
    with socket.create_connection(("127.0.0.1", bw.port), timeout=10) as s:
        s.sendall(b"GET /gz/20000/1/100/cut HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        raw = recv_all(s, timeout=10)
    # nothing, or a 200 whose body never ends: the client sees the fault
    assert raw == b"" or (raw.startswith(b"HTTP/1.1 200")
                          and not raw.endswith(b"0\r\n\r\n")), raw[-40:]
    with open(bw.errlog) as f:
        assert "gunzip: the gzipped body ends inside a member" in f.read()


@needs_nginx
def test_gunzip_same_answers_as_nginx(bw, origin, tmp_path):
    require_module("http_gunzip")
    bw.config(GUNZIP % {"port": "PORT", "origin": origin.port})
    bw.start()
    nport = free_port()
    cases = [(p, h) for p in ("/gz/0/1/10", "/gz/3000/1/100",
                              "/gz/90000/2/1000", "/off/gz/500/1/50")
             for h in ((), ("Accept-Encoding: gzip",),
                       ("Accept-Encoding: gzip;q=0",))]

    def observe(port):
        out = []
        for path, hdrs in cases:
            st, h, body = exchange(port, path, hdrs)
            if h.get("content-encoding") == ["gzip"]:
                body = gzip.decompress(body)
            out.append((path, hdrs, st, h.get("content-encoding"),
                        h.get("vary"), h.get("etag"),
                        "content-length" in h,
                        hashlib.md5(body).hexdigest()))
        return out

    ours = observe(bw.port)
    with nginx_serving(tmp_path, GUNZIP % {"port": nport,
                                           "origin": origin.port}, nport):
        theirs = observe(nport)
    diff = ["\n ours:   %r\n theirs: %r" % (a, b)
            for a, b in zip(ours, theirs) if a != b]
    assert not diff, "".join(diff[:6])

"""
HTTP/2 to clients: cleartext with prior knowledge and TLS with ALPN,
each stream a request on the HTTP/1 path (static files, proxy with
request bodies of known and unknown length, redirects, errors), the
connection's limits (concurrent streams, keepalive_requests), the
attacks nghttp2 and bulwark stop (rapid reset, CONTINUATION and empty
DATA floods, malformed requests), a reload with a stream in flight, and
the same answers as Debian's nginx.

Clients: curl and h2load from Debian (nghttp2), and for frames no client
would send, a few written here by hand (HPACK literals without Huffman).
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import wait_for, free_port, require_module, needs_nginx, \
    nginx_serving, children, pid_alive
from origin import Origin, pattern

pytestmark = pytest.mark.skipif(shutil.which("curl") is None,
                                reason="curl is not installed")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, REFUSED_STREAM, CANCEL, \
    ENHANCE_YOUR_CALM = 0, 1, 2, 7, 8, 11


@pytest.fixture(autouse=True)
def _needs_module():
    require_module("http_v2")


@pytest.fixture
def origin():
    o = Origin("o1")
    yield o
    o.stop()


def curl(*args, timeout=30):
    """curl's output and what -w said after a NUL."""
    r = subprocess.run(["curl", "-sS", "-k", "--max-time", "20"]
                       + list(args), capture_output=True, timeout=timeout)
    return r


def h2c(port, path, *args):
    return curl("--http2-prior-knowledge",
                "http://127.0.0.1:%d%s" % (port, path), *args)


def parse_head(text):
    """Status and {name: [values]} from curl -D output (last response)."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b]
    lines = blocks[-1].split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    return status, headers


def fetch(port, path, version, *extra, tls=False):
    """(status, headers, body) over HTTP/1.1 or HTTP/2 with curl."""
    if tls:
        url = "https://127.0.0.1:%d%s" % (port, path)
        flag = "--http2" if version == 2 else "--http1.1"
    else:
        url = "http://127.0.0.1:%d%s" % (port, path)
        flag = "--http2-prior-knowledge" if version == 2 else "--http1.1"
    r = curl(flag, "-D", "-", "-o", "/dev/stderr", url, *extra)
    status, headers = parse_head(r.stdout.decode("latin-1"))
    return status, headers, r.stderr


# --- a client of frames ------------------------------------------------------

def hpack_int(n, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if n < limit:
        return bytes([first | n])
    out = [first | limit]
    n -= limit
    while n >= 128:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def hpack(headers):
    """Literal fields without indexing, no Huffman: any decoder reads it."""
    out = b""
    for name, value in headers:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        out += b"\x00" + hpack_int(len(name), 7) + name \
            + hpack_int(len(value), 7) + value
    return out


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) \
        + struct.pack(">I", sid) + payload


def req_headers(port, path="/", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", "127.0.0.1:%d" % port)] + list(extra)


class Frames:
    """A raw HTTP/2 connection: send frames, read frames with a deadline."""

    def __init__(self, port, settings=b""):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        # a connection window that never runs out: the tests read what
        # they need and drop the rest
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0, settings)
                       + frame(WINDOW_UPDATE, 0, 0,
                               struct.pack(">I", 1 << 30)))

    def send(self, data):
        self.s.sendall(data)

    def read_frame(self, deadline):
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + n:
                    f = (self.buf[3], self.buf[4],
                         int.from_bytes(self.buf[5:9], "big") & 0x7fffffff,
                         self.buf[9:9 + n])
                    self.buf = self.buf[9 + n:]
                    if f[0] == SETTINGS and not f[1] & ACK:
                        self.s.sendall(frame(SETTINGS, ACK, 0))
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def frames_until(self, pred, timeout=10):
        """Frames read until pred(frame) is true (it included) or the
        connection ends; the list, and whether pred was met."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(deadline)
            if f is None:
                return got, False
            got.append(f)
            if pred(f):
                return got, True

    def close(self):
        self.s.close()


def log_text(bw, name):
    """A log file of the prefix, "" until it exists."""
    try:
        with open(bw.path("logs", name)) as fh:
            return fh.read()
    except OSError:
        return ""


def goaway_code(f):
    return int.from_bytes(f[3][4:8], "big")


def rst_code(f):
    return int.from_bytes(f[3][:4], "big")


def header_of(got, name):
    """A header of an /echo answer (its headers: [name, value] pairs)."""
    for k, v in got["headers"]:
        if k.lower() == name.lower():
            return v
    return None


def h2_conf(extra_server="", extra_http="", listen="listen 127.0.0.1:PORT;"):
    return """
        access_log logs/access.log;
        %s
        server {
            %s
            http2 on;
            root html;
            location = /ok { return 200 "ok"; }
            %s
        }
    """ % (extra_http, listen, extra_server)


# --- cleartext, prior knowledge ----------------------------------------------

def test_static_files_same_over_http2_as_http1(bw):
    bw.write("html/index.html", "hello\n")
    big = pattern(300000)
    bw.write("html/big.bin", big, "wb")
    bw.config(h2_conf("location = /r { return 301 /index.html; }"))
    bw.start()

    for path in ("/index.html", "/big.bin", "/missing", "/r"):
        s1, h1, b1 = fetch(bw.port, path, 1)
        s2, h2, b2 = fetch(bw.port, path, 2)
        assert s1 == s2, path
        assert b1 == b2, path
        for name in ("connection", "keep-alive", "transfer-encoding",
                     "date"):
            h1.pop(name, None)
            h2.pop(name, None)
        assert h1 == h2, path
    assert fetch(bw.port, "/big.bin", 2)[2] == big

    # HEAD: the header alone, END_STREAM on it
    r = h2c(bw.port, "/big.bin", "-I")
    assert r.returncode == 0
    status, headers = parse_head(r.stdout.decode())
    assert status == 200 and headers["content-length"] == ["300000"]

    # a range
    s, h, b = fetch(bw.port, "/big.bin", 2, "-r", "10-19")
    assert s == 206 and b == big[10:20]

    # several: the file is read at offsets out of order, in frames
    ranges = "0-9,200000-200099,100000-199999"
    s1, h1, b1 = fetch(bw.port, "/big.bin", 1, "-r", ranges)
    s2, h2, b2 = fetch(bw.port, "/big.bin", 2, "-r", ranges)
    assert s1 == s2 == 206
    sep1 = h1["content-type"][0].split("boundary=")[1].encode()
    sep2 = h2["content-type"][0].split("boundary=")[1].encode()
    assert b1.replace(sep1, b"B") == b2.replace(sep2, b"B")
    assert big[100000:200000] in b2 and big[200000:200100] in b2


def test_http1_still_served_beside_prior_knowledge(bw):
    bw.write("html/index.html", "hi\n")
    bw.config(h2_conf())
    bw.start()
    r = curl("--http1.1", "-w", "%{http_version}",
             "http://127.0.0.1:%d/index.html" % bw.port)
    assert r.stdout == b"hi\n1.1"
    r = h2c(bw.port, "/index.html", "-w", "%{http_version}")
    assert r.stdout == b"hi\n2"


def test_prior_knowledge_needs_http2(bw):
    """Without "http2 on" the preface is an HTTP/1 request line of a
    version not spoken here (505), and no HTTP/2 frame comes back."""
    bw.write("html/index.html", "hi\n")
    bw.config("server { listen 127.0.0.1:PORT; root html; }")
    bw.start()
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        got = b""
        deadline = time.monotonic() + 5
        while b"\r\n" not in got and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 505 "), got


def test_variables_and_log(bw):
    bw.config(h2_conf(
        'location /v { return 200 "$http2|$server_protocol|$request|'
        '$scheme\\n"; }',
        'log_format h2 "$request $status $body_bytes_sent $http2";'
        'access_log logs/h2.log h2;'))
    bw.start()
    r = h2c(bw.port, "/v?a=1")
    assert r.stdout == b"h2c|HTTP/2.0|GET /v?a=1 HTTP/2.0|http\n"
    r = curl("--http1.1", "http://127.0.0.1:%d/v" % bw.port)
    assert r.stdout == b"|HTTP/1.1|GET /v HTTP/1.1|http\n"

    def logged():
        return log_text(bw, "h2.log").splitlines()
    wait_for(lambda: len(logged()) >= 2, what="access log lines")
    assert logged()[0] == "GET /v?a=1 HTTP/2.0 200 %d h2c" % len(
        "h2c|HTTP/2.0|GET /v?a=1 HTTP/2.0|http\n")


# --- request bodies through the proxy ---------------------------------------

@pytest.mark.parametrize("buffering", ["on", "off"])
def test_request_bodies_to_upstream(bw, origin, buffering):
    bw.config(h2_conf("""
        client_max_body_size 10m;
        location / {
            proxy_request_buffering %s;
            proxy_http_version 1.1;
            proxy_pass http://127.0.0.1:%d;
        }""" % (buffering, origin.port)))
    bw.start()
    body = os.urandom(1500000)
    bw.write("body.bin", body, "wb")
    md5 = hashlib.md5(body).hexdigest()

    # with Content-Length
    r = h2c(bw.port, "/echo", "--data-binary", "@" + bw.path("body.bin"))
    got = json.loads(r.stdout)
    assert got["body_len"] == len(body) and got["body_md5"] == md5
    assert header_of(got, "Content-Length") == str(len(body))

    # without: the end of the stream ends it
    r = h2c(bw.port, "/echo", "--data-binary", "@" + bw.path("body.bin"),
            "-H", "Content-Length:")
    got = json.loads(r.stdout)
    assert got["body_len"] == len(body) and got["body_md5"] == md5
    if buffering == "on":
        # read whole first, so the length is known, as nginx
        assert header_of(got, "Content-Length") == str(len(body))
    else:
        assert header_of(got, "Transfer-Encoding") == "chunked"

    # too large
    bw.write("big.bin", b"x" * (11 * 1024 * 1024), "wb")
    # (nghttp: curl 7.88 may take the RST_STREAM NO_ERROR that ends the
    # upload after a complete answer for an error, RFC 9113 8.1)
    if shutil.which("nghttp"):
        r = subprocess.run(["nghttp", "-v", "-d", bw.path("big.bin"),
                            "http://127.0.0.1:%d/echo" % bw.port],
                           capture_output=True, text=True, timeout=60)
        assert ":status: 413" in r.stdout, r.stdout[-2000:]
        assert "error_code=NO_ERROR" in r.stdout

    # the worker still serves
    r = h2c(bw.port, "/size/100000")
    assert r.stdout == pattern(100000)


def test_proxied_responses_of_many_sizes(bw, origin):
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port))
    bw.start()
    for n in (0, 1, 16383, 16384, 16385, 1000000):
        s1, h1, b1 = fetch(bw.port, "/size/%d" % n, 1)
        s2, h2, b2 = fetch(bw.port, "/size/%d" % n, 2)
        assert (s1, b1) == (s2, b2) == (200, pattern(n))
    s2, h2, b2 = fetch(bw.port, "/chunked/50000", 2)
    assert s2 == 200 and b2 == pattern(50000)
    assert "transfer-encoding" not in h2
    s2, h2, b2 = fetch(bw.port, "/status/404", 2)
    assert s2 == 404


def test_trailers_end_the_stream(bw):
    if shutil.which("nghttp") is None:
        pytest.skip("nghttp is not installed")
    bw.write("html/index.html", "hello\n")
    bw.config(h2_conf('location / { add_trailer X-Trail "t-$status"; }'))
    bw.start()
    r = subprocess.run(["nghttp", "-v", "http://127.0.0.1:%d/index.html"
                        % bw.port], capture_output=True, text=True,
                       timeout=30)
    lines = r.stdout.splitlines()
    at = [i for i, line in enumerate(lines) if "x-trail: t-200" in line]
    assert at, r.stdout
    # the trailers' HEADERS frame carries END_STREAM; the body came before
    assert "END_STREAM" in " ".join(lines[at[0] + 1:at[0] + 3])
    assert "hello" in r.stdout[:r.stdout.index("x-trail: t-200")]


def test_many_streams_on_few_connections(bw, origin):
    if shutil.which("h2load") is None:
        pytest.skip("h2load is not installed")
    bw.write("html/f.bin", pattern(200000), "wb")
    bw.config(h2_conf("""
        location /p/ { proxy_pass http://127.0.0.1:%d/; }
        """ % origin.port))
    bw.start()
    for path, n in (("/f.bin", 400), ("/p/size/3000", 1000)):
        r = subprocess.run(["h2load", "-n", str(n), "-c", "2", "-m", "100",
                            "http://127.0.0.1:%d%s" % (bw.port, path)],
                           capture_output=True, text=True, timeout=120)
        assert "%d succeeded, 0 failed, 0 errored" % n in r.stdout, r.stdout
        assert "status codes: %d 2xx" % n in r.stdout, r.stdout


def test_cookies_joined_and_crumb_floods_bounded(bw, origin):
    """Cookie crumbs reach the upstream as one line; thousands of tiny
    indexed fields (a few bytes each on the wire) count against
    large_client_header_buffers like big ones."""
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port))
    bw.start()
    r = h2c(bw.port, "/echo", "-H", "Cookie: a=1", "-H", "Cookie: b=2",
            "-H", "Cookie: c=3")
    got = json.loads(r.stdout)
    assert [v for k, v in got["headers"] if k.lower() == "cookie"] == \
        ["a=1; b=2; c=3"]

    f = Frames(bw.port)
    # "cookie: a" with incremental indexing (static index 32), then the
    # same field 4,600 times as a one-byte reference to the dynamic table
    block = hpack(req_headers(bw.port, "/echo", "POST")) \
        + b"\x60\x01a" + b"\xbe" * 4600
    f.send(frame(HEADERS, END_HEADERS, 1, block))
    got, ok = f.frames_until(lambda fr: fr[2] == 1 and fr[0] in (
        HEADERS, RST_STREAM))
    assert ok and got[-1][0] == HEADERS
    # an error status, from the static table: 400 (0x8c) or a literal 431
    assert got[-1][3][:1] != b"\x88"
    f.close()
    assert origin.requests[-1]["method"] == "GET"
    wait_for(lambda: "client sent too large header" in bw.logs(),
             what="log line")


def test_unfinished_header_block_times_out(bw):
    bw.config(h2_conf("", "client_header_timeout 1s;"
                      "keepalive_timeout 30s;"))
    bw.start()
    f = Frames(bw.port)
    # the SETTINGS exchange first (any frame of ours after the HEADERS
    # would be a protocol error), then HEADERS without END_HEADERS, and
    # no CONTINUATION ever
    seen = set()
    got, ok = f.frames_until(lambda fr: fr[0] == SETTINGS
                             and (seen.add(fr[1] & ACK) or seen == {0, 1}))
    assert ok
    f.send(frame(HEADERS, 0, 1, hpack(req_headers(bw.port))))
    t0 = time.monotonic()
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=10)
    assert ok, bw.logs()
    assert time.monotonic() - t0 >= 0.5
    f.close()
    wait_for(lambda: "client timed out sending a header block"
             in bw.logs(), what="log line")


def test_subrequest_does_not_stall_the_body(bw, origin):
    """auth_request's subrequest waits on its upstream while the body
    comes: the body reader still hears of it."""
    bw.config(h2_conf("""
        location = /auth { internal;
            proxy_pass http://127.0.0.1:%d/slow/500; }
        location / { auth_request /auth;
            proxy_pass http://127.0.0.1:%d; }""" % (origin.port,
                                                      origin.port),
                      "client_body_timeout 5s;"))
    bw.start()
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_HEADERS, 1, hpack(req_headers(
        bw.port, "/echo", "POST", [("content-length", "5")]))))
    # the body after the subrequest has gone out
    wait_for(lambda: any("/slow/" in q["path"] for q in origin.requests),
             what="subrequest at origin")
    f.send(frame(DATA, END_STREAM, 1, b"hello"))
    t0 = time.monotonic()
    got, ok = f.frames_until(lambda fr: fr[2] == 1 and fr[1] & END_STREAM
                             and fr[0] in (DATA, HEADERS), timeout=10)
    assert ok
    assert time.monotonic() - t0 < 4
    body = b"".join(fr[3] for fr in got if fr[0] == DATA)
    assert json.loads(body)["body_len"] == 5
    f.close()


def test_limit_rate_holds_over_http2(bw):
    bw.write("html/f.bin", pattern(300000), "wb")
    bw.config(h2_conf("location /f.bin { limit_rate 100k; }"))
    bw.start()
    t0 = time.monotonic()
    s, h, b = fetch(bw.port, "/f.bin", 2)
    assert s == 200 and b == pattern(300000)
    # 100k a second with a second's head start: at least 1.5 s
    assert time.monotonic() - t0 >= 1.4


def stream_in_flight_then_reload(bw, origin, ms):
    """A proxied stream the origin answers after ms, and a reload while
    it is in flight: the frames client, the master, the old workers."""
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port))
    master = bw.start()
    old = bw.workers(master)
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 hpack(req_headers(bw.port, "/slow/%d" % ms))))
    wait_for(lambda: len(origin.requests) == 1, what="request at origin")
    bw.signal(signal.SIGHUP)
    return f, master, old


def test_busy_connection_told_to_go_at_reload(bw, origin):
    f, master, old = stream_in_flight_then_reload(bw, origin, 1500)
    wait_for(lambda: "gracefully shutting down" in bw.logs(),
             what="old worker told")
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 3,
                 hpack(req_headers(bw.port, "/size/3"))))
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY)
    assert ok
    last = int.from_bytes(got[-1][3][:4], "big") & 0x7fffffff
    assert last == 3
    got, ok = f.frames_until(lambda fr: fr[2] == 1 and fr[1] & END_STREAM
                             and fr[0] in (DATA, HEADERS))
    assert ok
    f.close()
    wait_for(lambda: not set(old) & set(bw.workers(master)),
             what="old worker to exit")


def test_hundred_streams_held_by_their_windows_all_complete(bw):
    """100 streams of 200 KB on one connection whose reader opens each
    stream's window only 48 KB at a time: every stream stalls on its
    window again and again, and each one completes, byte for byte."""
    size = 200000
    bw.write("html/f.bin", pattern(size), "wb")
    bw.config(h2_conf())
    bw.start()
    f = Frames(bw.port)
    ids = [1 + 2 * i for i in range(100)]
    for sid in ids:
        f.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                     hpack(req_headers(bw.port, "/f.bin"))))
    got = {sid: [] for sid in ids}
    owed = dict.fromkeys(ids, 0)
    done = set()
    deadline = time.monotonic() + 60
    while len(done) < len(ids):
        fr = f.read_frame(deadline)
        assert fr is not None, "stalled with %d of %d done" % (
            len(done), len(ids))
        assert fr[0] not in (RST_STREAM, GOAWAY), fr
        if fr[0] != DATA:
            continue
        got[fr[2]].append(fr[3])
        owed[fr[2]] += len(fr[3])
        if fr[1] & END_STREAM:
            done.add(fr[2])
        elif owed[fr[2]] >= 48 * 1024:
            f.send(frame(WINDOW_UPDATE, 0, fr[2],
                         struct.pack(">I", owed[fr[2]])))
            owed[fr[2]] = 0
    f.close()
    want = pattern(size)
    for sid in ids:
        assert b"".join(got[sid]) == want, sid


# --- TLS and ALPN -------------------------------------------------------------

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("h2certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    str(d / "k.pem"), "-out", str(d / "c.pem"), "-days", "2",
                    "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    return str(d / "c.pem"), str(d / "k.pem")


def test_alpn_h2_over_tls(bw, cert):
    require_module("http_ssl")
    bw.write("html/index.html", "hi\n")
    plain = free_port()
    bw.config("""
        server {
            listen 127.0.0.1:PORT ssl;
            http2 on;
            ssl_certificate %s; ssl_certificate_key %s;
            root html;
            location /v { return 200 "$http2 $https\\n"; }
            location /r { return 301 /index.html; }
        }
        server {
            listen 127.0.0.1:%d ssl;
            ssl_certificate %s; ssl_certificate_key %s;
            root html;
        }""" % (cert[0], cert[1], plain, cert[0], cert[1]))
    bw.start()

    url = "https://127.0.0.1:%d" % bw.port
    r = curl("--http2", "-w", "%{http_version}", url + "/index.html")
    assert r.stdout == b"hi\n2"
    r = curl("--http2", url + "/v")
    assert r.stdout == b"h2 on\n"
    r = curl("--http1.1", "-w", "%{http_version}", url + "/index.html")
    assert r.stdout == b"hi\n1.1"
    # a redirect made absolute names the scheme the client used
    status, headers, _ = fetch(bw.port, "/r", 2, tls=True)
    assert status == 301
    assert headers["location"] == [url + "/index.html"]

    # a server without http2 does not offer it
    r = curl("--http2", "-w", "%{http_version}",
             "https://127.0.0.1:%d/index.html" % plain)
    assert r.stdout == b"hi\n1.1"

    # what ALPN chose, as openssl sees it
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            assert t.selected_alpn_protocol() == "h2"


def test_listen_http2_parameter(bw, cert):
    require_module("http_ssl")
    bw.write("html/index.html", "hi\n")
    bw.config("""
        server {
            listen 127.0.0.1:PORT ssl http2;
            ssl_certificate %s; ssl_certificate_key %s;
            root html;
        }""" % cert)
    r = bw.run("-t")
    assert r.returncode == 0
    assert 'the "listen ... http2" directive is deprecated, use the ' \
        '"http2" directive instead in' in r.stderr
    bw.start()
    r = curl("--http2", "-w", "%{http_version}",
             "https://127.0.0.1:%d/index.html" % bw.port)
    assert r.stdout == b"hi\n2"


def test_obsolete_directives_load_with_warnings(bw):
    bw.config(h2_conf(extra_http="""
        http2_idle_timeout 30s; http2_max_requests 10;
        http2_max_field_size 4k; http2_max_header_size 16k;
        http2_push_preload on; http2_recv_timeout 5s;
        http2_max_concurrent_streams 64; http2_chunk_size 16k;
        http2_body_preread_size 128k; http2_recv_buffer_size 128k;"""))
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    assert 'the "http2_idle_timeout" directive is obsolete, use the ' \
        '"keepalive_timeout" directive instead' in r.stderr
    assert 'the "http2_push_preload" directive is obsolete, ignored' \
        in r.stderr
    bw.config(h2_conf(extra_http="http2_chunk_size 0;"))
    r = bw.run("-t")
    assert r.returncode != 0
    assert "the http2_chunk_size must be greater than 0" in r.stderr


# --- the connection's limits ------------------------------------------------

def test_concurrent_streams_past_the_limit_are_refused(bw, origin):
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port,
                      "http2_max_concurrent_streams 2;"))
    bw.start()
    f = Frames(bw.port)
    for sid in (1, 3, 5):
        f.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                     hpack(req_headers(bw.port, "/slow/300"))))
    got, ok = f.frames_until(lambda fr: fr[0] == RST_STREAM)
    assert ok and got[-1][2] == 5 and rst_code(got[-1]) == REFUSED_STREAM
    # the two others are answered
    ends = set()
    got, ok = f.frames_until(
        lambda fr: (fr[0] in (DATA, HEADERS) and fr[1] & END_STREAM
                    and (ends.add(fr[2]) or ends == {1, 3})))
    assert ok, got
    f.close()
    wait_for(lambda: "client exceeded http2_max_concurrent_streams"
             in bw.logs(), what="log line")


def test_keepalive_requests_ends_with_goaway(bw):
    bw.config(h2_conf("location / { return 204; }",
                      "keepalive_requests 3;"))
    bw.start()
    f = Frames(bw.port)
    for sid in (1, 3, 5):
        f.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                     hpack(req_headers(bw.port))))
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY)
    assert ok
    assert goaway_code(got[-1]) == NO_ERROR
    last = int.from_bytes(got[-1][3][:4], "big") & 0x7fffffff
    assert last == 5
    answered = {fr[2] for fr in got if fr[0] == HEADERS}
    # the GOAWAY may come before the last answers: read on to the close
    more, _ = f.frames_until(lambda fr: False, timeout=5)
    answered |= {fr[2] for fr in more if fr[0] == HEADERS}
    assert answered == {1, 3, 5}
    f.close()


def test_idle_connection_closed_after_keepalive_timeout(bw):
    bw.config(h2_conf("location / { return 204; }", "keepalive_timeout 1s;"))
    bw.start()
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 hpack(req_headers(bw.port))))
    t0 = time.monotonic()
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=10)
    assert ok and goaway_code(got[-1]) == NO_ERROR
    assert time.monotonic() - t0 >= 0.9
    f.close()


# --- attacks --------------------------------------------------------------

def served(port):
    r = h2c(port, "/ok", "-o", "/dev/null", "-w", "%{http_code}")
    return r.stdout == b"200"


def test_rapid_reset_ends_the_connection(bw):
    bw.config(h2_conf('location / { return 200 "ok"; }'))
    bw.start()
    f = Frames(bw.port)
    payload = b""
    for i in range(3000):
        sid = 1 + 2 * i
        payload += frame(HEADERS, END_STREAM | END_HEADERS, sid,
                         hpack(req_headers(bw.port))) \
            + frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
    try:
        f.send(payload)
    except OSError:
        pass
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=15)
    assert ok and goaway_code(got[-1]) == ENHANCE_YOUR_CALM, bw.logs()
    f.close()
    assert served(bw.port)
    wait_for(lambda: "client reset too many streams" in bw.logs(),
             what="log line")
    assert bw.logs().count("client reset too many streams") == 1
    assert bw.logs().count("client closed stream") <= 1


def test_continuation_flood_ends_the_connection(bw):
    bw.config(h2_conf('location / { return 200 "ok"; }'))
    bw.start()
    f = Frames(bw.port)
    block = hpack(req_headers(bw.port))
    data = frame(HEADERS, END_STREAM, 1, block)
    for i in range(200):
        data += frame(CONTINUATION, 0, 1, hpack([("x-a%d" % i, "b")]))
    try:
        f.send(data)
    except OSError:
        pass
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=10)
    assert ok and goaway_code(got[-1]) != NO_ERROR
    assert not [fr for fr in got if fr[0] == HEADERS]
    f.close()
    assert served(bw.port)


def test_huge_header_block_is_refused(bw):
    """Fields past large_client_header_buffers: the request is answered
    with the error HTTP/1 gets for a head too large; nothing else."""
    bw.config(h2_conf('location / { return 200 "ok"; }',
                      "large_client_header_buffers 4 1k;"))
    bw.start()
    big = []
    for i in range(8):
        big += ["-H", "x-big-%d: %s" % (i, "v" * 900)]
    r = h2c(bw.port, "/", "-o", "/dev/null", "-w", "%{http_code}", *big)
    r1 = curl("--http1.1", "-o", "/dev/null", "-w", "%{http_code}",
              "http://127.0.0.1:%d/" % bw.port, *big)
    assert r.stdout == r1.stdout
    assert r.stdout in (b"400", b"431"), r.stdout
    assert served(bw.port)
    wait_for(lambda: "client sent too large header" in bw.logs(),
             what="log line")


def test_empty_data_flood_ends_the_connection(bw, origin):
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port))
    bw.start()
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_HEADERS, 1,
                 hpack(req_headers(bw.port, "/echo", "POST"))))
    try:
        f.send(b"".join(frame(DATA, 0, 1) for i in range(1000)))
    except OSError:
        pass
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY)
    assert ok and goaway_code(got[-1]) == ENHANCE_YOUR_CALM
    f.close()
    assert served(bw.port)
    wait_for(lambda: "client sent too many empty DATA frames" in bw.logs(),
             what="log line")


def test_zero_window_stall_ends_at_send_timeout(bw):
    """A client that never opens its window holds a stream only until
    send_timeout; the worker serves others meanwhile."""
    bw.write("html/big.bin", pattern(200000), "wb")
    bw.config(h2_conf("", "send_timeout 1s;"
                      'log_format st "$request $status $body_bytes_sent";'
                      "access_log logs/st.log st;"))
    bw.start()
    # SETTINGS_INITIAL_WINDOW_SIZE 0: not a byte of DATA may come
    f = Frames(bw.port, settings=struct.pack(">HI", 4, 0))
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 hpack(req_headers(bw.port, "/big.bin"))))
    assert served(bw.port)
    got, ok = f.frames_until(lambda fr: fr[0] in (RST_STREAM, GOAWAY),
                             timeout=15)
    assert ok, got
    assert not [fr for fr in got if fr[0] == DATA]
    f.close()

    def logged():
        return log_text(bw, "st.log")
    wait_for(lambda: "GET /big.bin HTTP/2.0" in logged(), what="log line")
    assert "GET /big.bin HTTP/2.0 200 0" in logged()
    assert "client timed out" in bw.logs()


def test_ping_flood_ends_the_connection(bw):
    """PINGs whose answers the client never reads: nghttp2 stops queueing
    them and the connection ends with a GOAWAY."""
    bw.config(h2_conf())
    bw.start()
    f = Frames(bw.port)
    # a window of 0 on our side of the socket is not needed: the answers
    # pile up in the server while the client sends faster than it reads
    ping = frame(PING, 0, 0, b"12345678")
    sent = 0
    try:
        for i in range(50):
            f.send(ping * 1000)
            sent += 1000
    except OSError:
        pass
    got, ok = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=15)
    assert ok, "no GOAWAY after %d PINGs" % sent
    assert goaway_code(got[-1]) == ENHANCE_YOUR_CALM
    f.close()
    assert served(bw.port)
    wait_for(lambda: "Flooding was detected" in bw.logs(), what="log line")


@pytest.mark.parametrize("bad", [
    [("Upper", "x")],
    [("connection", "keep-alive")],
    [("te", "gzip")],
    [("content-length", "5")],          # with END_STREAM and no DATA
])
def test_malformed_requests_are_stream_errors(bw, origin, bad):
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port))
    bw.start()
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 hpack(req_headers(bw.port, "/echo", extra=bad))))
    got, ok = f.frames_until(lambda fr: fr[0] in (RST_STREAM, GOAWAY,
                                                  HEADERS))
    assert ok and got[-1][0] in (RST_STREAM, GOAWAY)
    code = rst_code(got[-1]) if got[-1][0] == RST_STREAM \
        else goaway_code(got[-1])
    assert code == PROTOCOL_ERROR
    f.close()
    assert origin.requests == []
    assert served(bw.port)


def test_client_reset_mid_response_ends_the_request(bw, origin):
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port,
                      'log_format st "$request $status";'
                      'access_log logs/st.log st;'))
    bw.start()
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 hpack(req_headers(bw.port, "/size/50000000"))))
    got, ok = f.frames_until(lambda fr: fr[0] == DATA)
    assert ok
    f.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)))

    def logged():
        return log_text(bw, "st.log")
    wait_for(lambda: "GET /size/50000000 HTTP/2.0" in logged(),
             what="the request's end")
    assert "GET /size/50000000 HTTP/2.0 200" in logged() \
        or "GET /size/50000000 HTTP/2.0 499" in logged()
    # the connection goes on
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 3,
                 hpack(req_headers(bw.port, "/size/10"))))
    got, ok = f.frames_until(lambda fr: fr[2] == 3 and fr[1] & END_STREAM)
    assert ok
    f.close()


# --- reload ------------------------------------------------------------------

def test_reload_finishes_streams_in_flight(bw, origin):
    f, master, old = stream_in_flight_then_reload(bw, origin, 800)
    got, ok = f.frames_until(lambda fr: fr[2] == 1 and fr[1] & END_STREAM
                             and fr[0] in (DATA, HEADERS))
    assert ok
    body = b"".join(fr[3] for fr in got if fr[0] == DATA and fr[2] == 1)
    assert body == b"slow"
    # told to go elsewhere, then closed
    more, _ = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=10)
    assert any(fr[0] == GOAWAY for fr in got + more)
    f.close()
    wait_for(lambda: not set(old) & set(bw.workers(master)),
             what="old worker to exit")
    r = h2c(bw.port, "/size/5")
    assert r.stdout == pattern(5)


def test_binary_upgrade_finishes_streams_in_flight(bw, origin):
    """USR2, WINCH, QUIT with an HTTP/2 stream in flight: the stream
    finishes on the old worker, the client is told to go (GOAWAY), and
    new connections reach the new binary."""
    bw.config(h2_conf("""
        location / { proxy_pass http://127.0.0.1:%d; }""" % origin.port),
        workers=1)
    old_master = bw.start()
    f = Frames(bw.port)
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 hpack(req_headers(bw.port, "/slow/1000"))))
    wait_for(lambda: len(origin.requests) == 1, what="request at origin")

    bw.signal(signal.SIGUSR2, old_master)
    new_master = wait_for(lambda: (bw.read_pid() not in (None, old_master)
                                   and bw.read_pid()), what="new pid file")
    bw.pids.add(new_master)
    wait_for(lambda: len(children(new_master)) == 1, what="new worker")
    old_workers = [p for p in children(old_master) if p != new_master]
    bw.signal(signal.SIGWINCH, old_master)

    got, ok = f.frames_until(lambda fr: fr[2] == 1 and fr[1] & END_STREAM
                             and fr[0] in (DATA, HEADERS))
    assert ok, got
    assert b"".join(fr[3] for fr in got
                    if fr[0] == DATA and fr[2] == 1) == b"slow"
    more, _ = f.frames_until(lambda fr: fr[0] == GOAWAY, timeout=10)
    assert any(fr[0] == GOAWAY for fr in got + more)
    f.close()
    wait_for(lambda: not any(pid_alive(p) for p in old_workers),
             what="old worker to exit")

    bw.signal(signal.SIGQUIT, old_master)
    wait_for(lambda: not pid_alive(old_master), what="old master to exit")
    r = h2c(bw.port, "/size/7")
    assert r.stdout == pattern(7)


# --- parity with nginx -------------------------------------------------------

@needs_nginx
def test_same_answers_as_nginx(bw, tmp_path):
    bw.write("html/index.html", "hello\n")
    bw.write("html/b.bin", pattern(70000), "wb")
    body = """
        server {
            listen 127.0.0.1:%d http2;
            root %s;
            location = /r { return 302 /index.html; }
            location = /t { return 200 "text"; }
        }"""
    ng_port = free_port()
    bw.config(body % (bw.port, bw.path("html")))
    bw.start()
    with nginx_serving(tmp_path, body % (ng_port, bw.path("html")), ng_port):
        for path in ("/index.html", "/b.bin", "/none", "/r", "/t"):
            for extra in ((), ("-I",), ("-r", "5-9")):
                a = fetch(bw.port, path, 2, *extra)
                b = fetch(ng_port, path, 2, *extra)
                assert a[0] == b[0], (path, extra)
                if "-I" not in extra and a[0] < 300:
                    assert a[2] == b[2], (path, extra)
                ha, hb = a[1], b[1]
                for h in ("server", "date", "etag", "last-modified"):
                    ha.pop(h, None)
                    hb.pop(h, None)
                if "location" in ha:
                    ha["location"] = [v.replace(str(bw.port), "P")
                                      for v in ha["location"]]
                    hb["location"] = [v.replace(str(ng_port), "P")
                                      for v in hb.get("location", [])]
                if a[0] >= 300:
                    # the pages name the server
                    ha.pop("content-length", None)
                    hb.pop("content-length", None)
                assert ha == hb, (path, extra)


@needs_nginx
def test_same_proxied_answers_as_nginx(bw, tmp_path, origin):
    """Proxied answers and request bodies over h2, bulwark and nginx side
    by side: statuses, bodies, the header fields (less the servers' own),
    and what the origin saw of the body."""
    body = os.urandom(200000)
    bw.write("body.bin", body, "wb")
    conf = """
        server {
            listen 127.0.0.1:%%d http2;
            client_max_body_size 1m;
            location / { proxy_pass http://127.0.0.1:%d; }
        }""" % origin.port
    ng_port = free_port()
    bw.config(conf % bw.port)
    bw.start()
    with nginx_serving(tmp_path, conf % ng_port, ng_port):
        for path in ("/size/0", "/size/70000", "/chunked/30000",
                     "/status/404", "/status/204"):
            a = fetch(bw.port, path, 2)
            b = fetch(ng_port, path, 2)
            assert a[0] == b[0] and a[2] == b[2], path
            for h in ("server", "date", "x-origin"):
                a[1].pop(h, None)
                b[1].pop(h, None)
            assert a[1] == b[1], path
        for extra in ((), ("-H", "Content-Length:")):
            seen = []
            for port in (bw.port, ng_port):
                r = h2c(port, "/echo", "--data-binary",
                        "@" + bw.path("body.bin"), *extra)
                got = json.loads(r.stdout)
                seen.append((got["body_len"], got["body_md5"],
                             header_of(got, "Content-Length"),
                             header_of(got, "Transfer-Encoding")))
            assert seen[0] == seen[1], (extra, seen)
            assert seen[0][0] == len(body)

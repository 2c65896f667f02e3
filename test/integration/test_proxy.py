"""
proxy_pass against real origins on loopback: URI rules, headers both
ways, bodies of every framing, errors and retries, balancing, WebSocket.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import get, raw, status_of, wait_for, free_port, recv_all, \
    limited_lines, needs_nginx, nginx_serving, \
    require_module
from origin import Origin, pattern, ws_frame, ws_read


@pytest.fixture(autouse=True)
def _proxy_built():
    require_module("http_proxy")


@pytest.fixture
def origin():
    o = Origin("o1")
    yield o
    o.stop()


@pytest.fixture
def origins():
    os_ = [Origin("o%d" % i) for i in range(1, 4)]
    yield os_
    for o in os_:
        o.stop()


def echo(port, path, **kw):
    st, h, body = get(port, path, **kw)
    assert st == 200, (st, body)
    return json.loads(body), h


def test_basic_get_and_default_headers(bw, origin):
    bw.config("""
    log_format o '$upstream_http_x_origin $upstream_http_content_type';
    server { listen 127.0.0.1:PORT;
        access_log logs/o.log o;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    e, h = echo(bw.port, "/echo/x?a=1", host="front.example")
    assert e["path"] == "/echo/x?a=1"
    assert e["version"] == "HTTP/1.0"
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert hdr["host"] == "127.0.0.1:%d" % origin.port
    assert hdr["connection"] == "close"
    assert h["x-origin"] == "o1"
    assert h["server"].startswith("bulwark")
    assert wait_for(lambda: open(bw.path("logs", "o.log")).read(),
                    what="access log") == "o1 application/json\n"


def test_ipv6_upstream_address(bw):
    origin6 = Origin("v6", host="::1")
    try:
        bw.config("""
        server { listen 127.0.0.1:PORT;
            location /lit/ { proxy_pass http://[::1]:%d/; }
            location /var/ { proxy_pass http://[::1]:$arg_p/echo-var; } }
        """ % origin6.port)
        bw.start()
        e, h = echo(bw.port, "/lit/echo")
        assert e["path"] == "/echo" and h["x-origin"] == "v6"
        hdr = {k.lower(): v for k, v in e["headers"]}
        assert hdr["host"] == "[::1]:%d" % origin6.port
        e, _ = echo(bw.port, "/var/?p=%d" % origin6.port)
        assert e["path"] == "/echo-var"
    finally:
        origin6.stop()


def test_tiny_buffers_still_stream(bw, origin):
    # two buffers below postpone_output: the proxy must flush them itself
    bw.config("""
    server { listen 127.0.0.1:PORT;
        proxy_buffer_size 512;
        proxy_buffers 2 512;
        proxy_busy_buffers_size 512;
        proxy_read_timeout 30s;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    assert "[warn]" not in r.stderr
    bw.start()
    for path, size in (("/size/200000", 200000), ("/chunked/50000", 50000)):
        st, _, body = get(bw.port, path, timeout=10)
        assert st == 200 and body == pattern(size)


def temp_files(pid):
    """The worker's open, unlinked response temp files: their sizes."""
    sizes = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        p = "/proc/%d/fd/%s" % (pid, fd)
        try:
            target = os.readlink(p)
            if "/proxy_temp/" in target and target.endswith("(deleted)"):
                sizes.append(os.stat(p).st_size)
        except OSError:
            pass
    return sizes


def dechunk(data):
    out = []
    while True:
        line, _, data = data.partition(b"\r\n")
        n = int(line, 16)
        if n == 0:
            return b"".join(out)
        out.append(data[:n])
        assert data[n:n + 2] == b"\r\n"
        data = data[n + 2:]


def slow_download(bw, path, size, worker, pause_until=None):
    """Request path on a socket with a small receive buffer; read nothing
    until pause_until() is true, then everything, sampling the worker's
    temp files. Returns the largest temp file seen."""
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
              % path.encode())
    peak = 0
    if pause_until:
        wait_for(pause_until, timeout=30, what="the read-ahead")
    data = b""
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        data += b
        peak = max([peak] + temp_files(worker))
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    assert len(body) == size
    assert hashlib.md5(body).digest() == hashlib.md5(pattern(size)).digest()
    return peak


def test_client_that_catches_up_is_not_held_back(bw, origin):
    """A client that was behind for a moment (its socket full, or a send
    put off to the end of the loop's turn) gets the buffers that waited
    for it as soon as it has taken its backlog; the response does not
    wait out the 100 ms after which a stuck client's response goes to
    the temp file. Read from the debug log of a debug build."""
    if "--with-debug" not in bw.run("-V").stderr:
        pytest.skip("needs a build with --with-debug")
    bw.config("""
    error_log logs/debug.log debug;
    server { listen 127.0.0.1:PORT; proxy_buffers 4 8k;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    size = 1 << 20
    for _ in range(5):
        st, _, body = get(bw.port, "/size/%d" % size, timeout=10)
        assert st == 200 and body == pattern(size)
    stuck = "http upstream: the client took nothing for 100 ms"
    with open(bw.path("logs", "debug.log")) as f:
        assert stuck not in f.read()

    # a client that does stop reading is seen: the check above can fail
    def seen():
        with open(bw.path("logs", "debug.log")) as f:
            return stuck in f.read()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    slow_download(bw, "/size/%d" % (8 * size), 8 * size, worker, seen)


def test_body_the_upstream_pauses_is_not_held(bw, origin):
    """While the upstream has more at once, the body goes to the client
    as "more to come" (MSG_MORE) so that batches leave as full segments;
    when the upstream pauses, what it sent is pushed out. Here the first
    part fills the buffers exactly (full reads, then nothing to read):
    without the push the kernel holds it until its probe timer. Seen in
    the worker's system calls while the origin still holds the rest: the
    last send of the first part is followed by a push (TCP_CORK off) or
    is itself sent without MSG_MORE. (With buffering off this kernel
    sends the single-buffer batches at once even without the push, so
    that case could not fail and is not here.)"""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (scripts/deps test)")
    bw.config("""
    server { listen 127.0.0.1:PORT;
        proxy_buffer_size 4k; proxy_buffers 8 4k;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    trace = bw.path("logs", "strace.log")
    tracer = subprocess.Popen(["strace", "-qq", "-o", trace, "-e",
                               "trace=sendmsg,writev,sendfile,setsockopt",
                               "-p", str(worker)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def traced():
        try:
            with open(trace) as f:
                return f.read()
        except OSError:
            return ""
    try:
        # strace says nothing until the first call: a request that needs
        # no upstream shows it attached
        def attached():
            get(bw.port, "/nowhere", timeout=5)
            return "sendmsg(" in traced() or "writev(" in traced()
        wait_for(attached, what="strace attached to the worker")
        # the header buffer and one batch of the eight buffers, exactly
        fill = 4096 + 8 * 4096
        rest = 5000
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=10) as s:
            mark = len(traced())
            s.sendall(b"GET /hold/%d/%d HTTP/1.1\r\nHost: x\r\n\r\n"
                      % (fill, rest))

            def pushed():
                # the client's socket is the one written with MSG_MORE
                calls = [l for l in traced()[mark:].splitlines()
                         if re.match(r"(sendmsg|writev|setsockopt)\(", l)]
                fds = [re.match(r"\w+\((\d+),", l).group(1)
                       for l in calls if "MSG_MORE" in l]
                if not fds:
                    return False
                mine = [l for l in calls
                        if l.split("(", 1)[1].startswith(fds[0] + ",")]
                sends = [i for i, l in enumerate(mine)
                         if not l.startswith("setsockopt")]
                last = sends[-1]
                return "MSG_MORE" not in mine[last] or any(
                    "TCP_CORK, [0]" in l for l in mine[last + 1:])
            wait_for(pushed, timeout=5,
                     what="the first part pushed while the origin waits")
            origin.release()
            data = b""
            while True:
                head, _, body = data.partition(b"\r\n\r\n")
                if body and head:
                    length = int(head.lower().split(b"content-length:")[1]
                                 .split(b"\r\n")[0])
                    if len(body) >= length:
                        break
                got = s.recv(65536)
                assert got, data[:200]
                data += got
        assert head.startswith(b"HTTP/1.1 200"), head
        assert length > fill - 100 + rest and body == pattern(length)
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)


def test_response_temp_files(bw, origin):
    """A client slower than the upstream: the rest of the response goes
    to a temp file (up to proxy_max_temp_file_size), the upstream is
    read to its end at once, the client still gets every byte."""
    # a small send buffer: the kernel holds little of the response, the
    # read-ahead beyond it is the file's
    bw.config("""
    server { listen 127.0.0.1:PORT sndbuf=64k; proxy_buffers 4 8k;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /small/ { proxy_max_temp_file_size 256k; sendfile off;
                           proxy_temp_file_write_size 16k;
                           proxy_pass http://127.0.0.1:%d/; }
        location /none/ { proxy_max_temp_file_size 0;
                          proxy_pass http://127.0.0.1:%d/; }
        location /unbuf/ { proxy_buffering off;
                           proxy_pass http://127.0.0.1:%d/; } }
    """ % ((origin.port,) * 4))
    bw.start()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    size = 20 * 1024 * 1024

    # the client reads nothing until most of the body sits in the file
    peak = slow_download(bw, "/size/%d" % size, size, worker,
                         lambda: max(temp_files(worker) + [0]) > size // 2)
    assert peak > size // 2
    assert bw.logs().count("an upstream response is buffered to a "
                           "temporary file") == 1

    # chunked from the upstream, chunked to the client: the file's
    # ranges are framed like memory
    n = 3000000
    peak = slow_download(bw, "/chunked/%d" % n, n, worker,
                         lambda: max(temp_files(worker) + [0]) > n // 2)
    assert peak > n // 2

    # capped: the file stops growing at the limit, the rest waits in
    # the upstream's socket as without a file (and without sendfile the
    # file's part is read back with pread)
    peak = slow_download(bw, "/small/size/%d" % size, size, worker,
                         lambda: temp_files(worker))
    assert 0 < peak <= 256 * 1024

    for path in ("/none/size/%d", "/unbuf/size/%d"):
        peak = slow_download(bw, path % 4000000, 4000000, worker,
                             lambda: origin.requests)
        assert peak == 0, path
    # three answers went through a file; the message is written at most
    # once a second (the first of them always), a later line counting
    # those left out
    logged = bw.logs().count("buffered to a temporary file")
    suppressed = sum(int(n) for n in re.findall(
        r"buffered to a temporary file \S+ while reading upstream \((\d+) "
        r"similar messages suppressed\)", bw.logs()))
    assert 1 <= logged <= 3 and logged + suppressed <= 3
    assert not temp_files(worker)


def test_response_temp_files_are_logged_once_a_second(bw, origin):
    """Clients that read slowly make a response temp file each, and as
    many "buffered to a temporary file" warnings: written at most once a
    second per worker, with the count of those left out."""
    bw.config("""
    server { listen 127.0.0.1:PORT sndbuf=16k; proxy_buffers 4 8k;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    size = 2 * 1024 * 1024
    message = "an upstream response is buffered to a temporary file"
    socks = []
    start = time.monotonic()
    files = 0

    def batch():
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
            socks.append(s)
        wait_for(lambda: len(temp_files(worker)) > 0,
                 what="a response in a temp file")

    try:
        # a burst: one line, the rest left out; then, past the second
        # (the clients of the burst gone, so that connections stay
        # below worker_connections), bursts until a line says how many
        # were left out
        batch()
        files = len(temp_files(worker))
        while ("similar messages suppressed" not in bw.logs()
               and time.monotonic() < start + 20):
            second = time.monotonic()
            wait_for(lambda: time.monotonic() > second + 1.1,
                     what="the next second")
            for s in socks:
                s.close()
            del socks[:]
            batch()
            files = max(files, len(temp_files(worker)))
        elapsed = time.monotonic() - start
    finally:
        for s in socks:
            s.close()
    logs = bw.logs()
    lines = limited_lines(logs, message, r" \S+ while reading upstream")
    assert files > 2, files
    assert 1 <= len(lines) <= elapsed + 2, lines


def test_temp_file_directives(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_temp_path proxy_tmp 1 2;
                     proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    assert "[warn]" not in r.stderr
    for bad, msg in (
            ("proxy_max_temp_file_size 4k; proxy_buffers 8 8k;",
             '"proxy_max_temp_file_size" must be equal to zero to disable'),
            ("proxy_temp_file_write_size 4k; proxy_buffers 8 8k;",
             '"proxy_temp_file_write_size" must be equal to or greater'),
            ("proxy_temp_path t 3;", '"proxy_temp_path" directive invalid value')):
        bw.config("""
        server { listen 127.0.0.1:PORT;
            location / { %s proxy_pass http://127.0.0.1:%d; } }
        """ % (bad, origin.port))
        r = bw.run("-t")
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)
        assert "bulwark.conf:" in r.stderr


URI_CASES = [
    # location, proxy_pass suffix, request, what the origin sees
    ("/app/", "", "/app/echo?q=1", "/app/echo?q=1"),
    ("/app/", "/", "/app/echo?q=1", "/echo?q=1"),
    ("/app/", "/base/", "/app/echo", "/base/echo"),
    ("/app", "/x", "/app/echo", "/x/echo"),
    ("= /exact", "/echo-exact", "/exact", "/echo-exact"),
    ("/sp/", "/", "/sp/echo%20a%3Fb", "/echo%20a%3Fb"),
]


@pytest.mark.parametrize("loc,suffix,req,want", URI_CASES)
def test_uri_replacement(bw, origin, loc, suffix, req, want):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location %s { proxy_pass http://127.0.0.1:%d%s; } }
    """ % (loc, origin.port, suffix))
    bw.start()
    e, _ = echo(bw.port, req)
    assert e["path"] == want


def test_rewritten_and_raw_uris_reach_the_upstream(bw, origin):
    """After "rewrite ... break" the new URI goes whole, without
    proxy_pass's URI part (as nginx documents). Bytes above 0x7e in the
    request line (raw UTF-8 from clients that do not escape) are served
    as nginx serves them: as they came without a URI part, escaped when
    the URI is rebuilt. A "#fragment" is served (as nginx) but not
    passed on: the URI sent is built from $uri and $args."""
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location /rw/ { rewrite ^/rw/(.*)$ /echo/$1 break;
                        proxy_pass http://127.0.0.1:%(p)d/z/; }
        location /part/ { proxy_pass http://127.0.0.1:%(p)d/echo/; }
        location / { proxy_pass http://127.0.0.1:%(p)d; } }
    """ % {"p": origin.port})
    bw.start()
    for req, want in ((b"/rw/a%20b?q=1", "/echo/a%20b?q=1"),
                      (b"/echo/caf\xc3\xa9?n=\xc3\xa9",
                       "/echo/caf\xc3\xa9?n=\xc3\xa9"),
                      (b"/part/caf\xc3\xa9", "/echo/caf%C3%A9")):
        resp = raw(bw.port, b"GET %s HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n" % req)
        assert resp.startswith(b"HTTP/1.1 200 "), (req, resp[:60])
        assert origin.requests[-1]["path"] == want, req
    for req, want in ((b"/echo/a?q=1#b", "/echo/a?q=1"),
                      (b"/echo/a%20b#b?q", "/echo/a%20b"),
                      (b"/part/x#y", "/echo/x")):
        resp = raw(bw.port, b"GET %s HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n" % req)
        assert resp.startswith(b"HTTP/1.1 200 "), (req, resp[:60])
        assert origin.requests[-1]["path"] == want, req


def test_location_without_its_slash_redirects(bw, origin):
    """As nginx: "/x" where "location /x/" (or "= /x/") proxies gets a
    301 to "/x/" with the arguments, ahead of regex locations, unless
    "/x" is a location itself; from an error_page too, and in a nested
    location."""
    bw.config("""
    server { listen 127.0.0.1:PORT; server_name h;
        location /app/ { proxy_pass http://127.0.0.1:%(p)d/; }
        location /both { return 200 "both"; }
        location /both/ { proxy_pass http://127.0.0.1:%(p)d/; }
        location = /ex/ { proxy_pass http://127.0.0.1:%(p)d/echo; }
        location ~ ^/rx { return 200 "regex"; }
        location /rx/ { proxy_pass http://127.0.0.1:%(p)d/; }
        location /outer/ { location /outer/in/ {
                               proxy_pass http://127.0.0.1:%(p)d/; }
                           return 200 "outer"; }
        location /ep { error_page 404 /app; return 404; }
        location / { return 200 "root"; } }
    """ % {"p": origin.port})
    bw.start()
    base = "http://h:%d" % bw.port
    for path, want in (("/app", "/app/"), ("/app?a=1&b", "/app/?a=1&b"),
                       ("/ex", "/ex/"), ("/rx", "/rx/"),
                       ("/outer/in", "/outer/in/"), ("/ep", "/app/"),
                       ("/%61pp", "/app/")):
        st, h, _ = get(bw.port, path, host="h")
        assert (st, h.get("location")) == (301, base + want), path
    for path, body in (("/both", b"both"), ("/App", b"root"),
                       ("/ap", b"root")):
        st, _, got = get(bw.port, path, host="h")
        assert (st, got) == (200, body), path
    e, _ = echo(bw.port, "/app/echo")
    assert e["path"] == "/echo"


def test_uri_part_in_regex_location_is_refused(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location ~ ^/r/ { proxy_pass http://127.0.0.1:%d/x/; } }
    """ % origin.port)
    r = bw.run("-t")
    assert r.returncode != 0
    assert "cannot have URI part in location given by regular " \
        "expression" in r.stderr
    assert "bulwark.conf:" in r.stderr


def test_proxy_pass_with_variables(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:$arg_p; }
        location /full/ { proxy_pass http://127.0.0.1:$arg_p/echo-fixed; }
        location /name/ { proxy_pass http://$arg_h:%d; } }
    """ % origin.port)
    bw.start()
    e, _ = echo(bw.port, "/echo/v?p=%d" % origin.port)
    assert e["path"] == "/echo/v?p=%d" % origin.port
    e, _ = echo(bw.port, "/full/zzz?p=%d" % origin.port)
    assert e["path"] == "/echo-fixed"
    st, _, _ = get(bw.port, "/name/?h=somewhere.invalid")
    assert st == 502
    assert "no resolver defined to resolve somewhere.invalid" in bw.logs()


@pytest.mark.parametrize("path,size", [
    ("/size/0", 0), ("/size/1000", 1000), ("/size/300000", 300000),
    ("/chunked/200000", 200000), ("/chunked/5", 5), ("/close/100000", 100000),
])
def test_response_bodies(bw, origin, path, size):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    for version in ("1.1", "1.0"):
        conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=10)
        conn._http_vsn_str = "HTTP/" + version
        conn._http_vsn = 11 if version == "1.1" else 10
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == 200
        assert body == pattern(size)
        if path.startswith("/chunked") and version == "1.1":
            assert resp.getheader("Transfer-Encoding") == "chunked"


def test_head_204_304_have_no_body(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    st, h, body = get(bw.port, "/size/5000", method="HEAD")
    assert st == 200 and body == b"" and h["content-length"] == "5000"
    # keepalive to the client survives a HEAD and a 204
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /size/3 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        deadline = time.monotonic() + 5
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(
                pattern(3)):
            assert time.monotonic() < deadline, data
            data += s.recv(65536)
    assert data.startswith(b"HTTP/1.1 204")
    assert data.endswith(b"\r\n\r\n" + pattern(3))


@pytest.mark.parametrize("size", [0, 100, 16384, 50000, 3 * 1024 * 1024])
def test_request_bodies(bw, origin, size):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        client_max_body_size 10m;
        client_body_buffer_size 16k;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    body = os.urandom(size)
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=20)
    conn.request("POST", "/echo", body=body)
    resp = conn.getresponse()
    e = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert e["body_len"] == size
    assert e["body_md5"] == hashlib.md5(body).hexdigest()
    # as nginx: only a body larger than client_body_buffer_size goes to
    # a file (one that came with the header, or filled the buffer to
    # the byte, did too)
    if size > 16384:
        assert "buffered to a temporary file" in bw.logs()
    else:
        assert "buffered to a temporary file" not in bw.logs()


def read_response(s, timeout=20):
    """A whole response with Content-Length from socket s."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"\r\n\r\n" in data:
            head, body = data.split(b"\r\n\r\n", 1)
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    if len(body) >= int(line.split(b":")[1]):
                        return head, body
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


STREAMING = """
    upstream pair { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT;
        client_max_body_size 50m;
        client_body_buffer_size 16k;
        proxy_request_buffering off;
        location / { proxy_pass http://127.0.0.1:%d;
                     proxy_http_version 1.1; }
        location /v10/ { proxy_pass http://127.0.0.1:%d/; }
        location /pair/ { proxy_pass http://pair/; } }
"""


def test_request_buffering_off_streams_the_body(bw, origin):
    dead = free_port()
    bw.config(STREAMING % (dead, origin.port, origin.port, origin.port))
    bw.start()
    body = os.urandom(8 * 1024 * 1024)

    # Content-Length: the upstream is connected while the client still
    # sends, which a buffered body would not allow
    with socket.create_connection(("127.0.0.1", bw.port), timeout=20) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        s.sendall(body[:1024 * 1024])
        wait_for(lambda: origin.connections == 1, what="early connect")
        s.sendall(body[1024 * 1024:])
        head, resp = read_response(s)
    assert head.startswith(b"HTTP/1.1 200")
    e = json.loads(resp)
    assert e["body_len"] == len(body)
    assert e["body_md5"] == hashlib.md5(body).hexdigest()
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert hdr["content-length"] == str(len(body))

    # chunked, in HTTP/1.1: passed on chunked, in pieces as they come
    pieces = [os.urandom(n) for n in (1, 5000, 70000, 300000, 17)]
    with socket.create_connection(("127.0.0.1", bw.port), timeout=20) as s:
        s.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for p in pieces:
            s.sendall(b"%x\r\n%s\r\n" % (len(p), p))
        wait_for(lambda: origin.connections == 2, what="early connect")
        s.sendall(b"0\r\n\r\n")
        head, resp = read_response(s)
    e = json.loads(resp)
    whole = b"".join(pieces)
    assert e["body_len"] == len(whole)
    assert e["body_md5"] == hashlib.md5(whole).hexdigest()
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert hdr["transfer-encoding"] == "chunked"
    assert "content-length" not in hdr

    # a chunked body that came whole with the header is not streamed,
    # as nginx: it goes with its length (and could go to a next peer)
    with socket.create_connection(("127.0.0.1", bw.port), timeout=20) as s:
        s.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                  b"2\r\n!!\r\n0\r\n\r\n")
        head, resp = read_response(s)
    e = json.loads(resp)
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert e["body_len"] == 7 and hdr["content-length"] == "7"
    assert "transfer-encoding" not in hdr

    # chunked to an HTTP/1.0 upstream: read whole first, as nginx does
    with socket.create_connection(("127.0.0.1", bw.port), timeout=20) as s:
        s.sendall(b"POST /v10/echo HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                  b"0\r\n\r\n")
        head, resp = read_response(s)
    e = json.loads(resp)
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert e["body_len"] == 5 and hdr["content-length"] == "5"

    # a refused connection comes before any byte of the body: retried
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=10)
    conn.request("PUT", "/pair/echo", body=b"abc")
    r1 = conn.getresponse()
    e = json.loads(r1.read())
    conn.close()
    assert r1.status == 200 and e["body_len"] == 3
    assert "buffered to a temporary file" not in bw.logs()


def test_request_buffering_off_client_gives_up(bw, origin):
    bw.config(STREAMING % (origin.port, origin.port, origin.port,
                           origin.port))
    bw.start()
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 1000000\r\n\r\n" + b"x" * 100000)
    wait_for(lambda: origin.connections == 1, what="early connect")
    s.close()
    wait_for(lambda: "client prematurely closed connection" in bw.logs(),
             what="abort logged")
    # the worker goes on serving
    e, _ = echo(bw.port, "/echo")
    assert e["method"] == "GET"
    bw.check_sanitizers()


def test_request_buffering_off_early_answer(bw):
    """An upstream that answers before it read the body: the answer goes
    to the client, and the connection, whose body was not all read, is
    closed after it."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def serve():
        c, _ = ls.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.recv(4096)
        c.sendall(b"HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n"
                  b"Connection: close\r\n\r\nnope")
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = ls.getsockname()[1]
    bw.config(STREAMING % (port, port, port, port))
    bw.start()
    try:
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=10) as s:
            s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 1000000\r\n\r\n" + b"y" * 10000)
            head, body = read_response(s)
        assert head.startswith(b"HTTP/1.1 413")
        assert body == b"nope"
        assert b"connection: close" in head.lower()
    finally:
        t.join(timeout=10)
        ls.close()
    bw.check_sanitizers()


def test_early_answer_before_a_reset_is_not_lost(bw):
    """An upstream that answers (413) as soon as it has the header and
    closes, or resets, with the body unread: sending the body then fails,
    but the answer is in the socket and goes to the client instead of a
    502 (nginx answers 502 when its send fails first). Buffered and
    streamed bodies, a few times each: the race is the kernel's."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    stop = threading.Event()

    def serve():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.sendall(b"HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n"
                      b"Connection: close\r\n\r\nnope")
            if b"/rst" in data:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = ls.getsockname()[1]
    bw.config("""
    server { listen 127.0.0.1:PORT; client_max_body_size 10m;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /nb/ { proxy_request_buffering off;
                        proxy_pass http://127.0.0.1:%d; } }
    """ % (port, port))
    bw.start()
    body = b"z" * 3000000
    try:
        for path in ("/close", "/rst", "/nb/close", "/nb/rst") * 3:
            with socket.create_connection(("127.0.0.1", bw.port),
                                          timeout=10) as s:
                s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: %d\r\n\r\n"
                          % (path.encode(), len(body)))
                try:
                    s.sendall(body)
                except OSError:
                    pass        # the proxy stopped reading: it answered
                head, got = read_response(s)
            assert head.startswith(b"HTTP/1.1 413"), (path, head[:40])
            assert got == b"nope"
    finally:
        stop.set()
        t.join(timeout=10)
        ls.close()


def test_chunked_request_body_and_expect(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p)
                    for p in (b"hello ", b"chunked", b" world")) + \
        b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        first = s.recv(100)
        assert first == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        data = b""
        while b"}" not in data:
            chunk = s.recv(65536)
            assert chunk
            data += chunk
    e = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert e["body_len"] == len(b"hello chunked world")
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert hdr["content-length"] == str(len(b"hello chunked world"))
    assert "transfer-encoding" not in hdr and "expect" not in hdr


def test_request_length_counts_the_body(bw, origin):
    """$request_length is the request line, the header and the body as
    read, whether the body came with the header, after it or chunked,
    buffered or streamed (it used to leave out what came with the
    header). A body that is only discarded is not counted, as in
    nginx."""
    bw.config("""
    log_format n '$request_length';
    server { listen 127.0.0.1:PORT; access_log logs/n.log n;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /nb/ { proxy_request_buffering off;
                        proxy_pass http://127.0.0.1:%d/; }
        location /ret { return 200 "r"; } }
    """ % (origin.port, origin.port))
    bw.start()

    def logged():
        with open(bw.path("logs", "n.log")) as f:
            return f.read().split()
    chunked = b"Transfer-Encoding: chunked\r\n\r\n" \
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    length = b"Content-Length: 11\r\n\r\nhello world"
    cases = (
        (b"POST /echo HTTP/1.1\r\nHost: x\r\n" + length, None, True),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\n" + chunked, None, True),
        (b"POST /nb/echo HTTP/1.1\r\nHost: x\r\n" + chunked, None, True),
        (b"POST /nb/echo HTTP/1.1\r\nHost: x\r\n" + length, None, True),
        # the body after "100 Continue": read from the socket, not with
        # the header
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
         b"Content-Length: 11\r\n\r\n", b"hello world", True),
        (b"POST /ret HTTP/1.1\r\nHost: x\r\n" + length, None, False),
    )
    for head, later, counted in cases:
        n = len(logged())
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=5) as s:
            s.sendall(head)
            if later:
                assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
                s.sendall(later)
            f = s.makefile("rb")
            assert f.readline().split()[1] == b"200"
            size = None
            for line in iter(f.readline, b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    size = int(line.split(b":")[1])
            assert len(f.read(size)) == size
        wait_for(lambda: len(logged()) > n, what="the log line")
        sent = head + (later or b"")
        want = len(sent) if counted else sent.index(b"\r\n\r\n") + 4
        assert int(logged()[n]) == want, (head, logged()[n])


def test_set_header_hide_and_pass(bw, origin):
    bw.config("""
    proxy_set_header X-Top top;
    server { listen 127.0.0.1:PORT;
        location /inherit/ { proxy_pass http://127.0.0.1:%(p)d/echo; }
        location /own/ {
            proxy_set_header X-Own own;
            proxy_set_header User-Agent "";
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Host $host;
            proxy_hide_header X-Origin;
            proxy_pass http://127.0.0.1:%(p)d/echo; }
        location /pass/ {
            proxy_pass_header Server;
            proxy_pass http://127.0.0.1:%(p)d/echo; } }
    """ % {"p": origin.port})
    bw.start()
    e, h = echo(bw.port, "/inherit/", headers={"User-Agent": "ua1"})
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert hdr["x-top"] == "top" and hdr["user-agent"] == "ua1"
    assert h["x-origin"] == "o1"

    e, h = echo(bw.port, "/own/", host="site.example",
                headers={"User-Agent": "ua1",
                         "X-Forwarded-For": "10.0.0.1"})
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert "x-top" not in hdr            # not inherited: the level sets its own
    assert hdr["x-own"] == "own"
    assert "user-agent" not in hdr        # empty value removes
    assert hdr["x-real-ip"] == "127.0.0.1"
    assert hdr["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert hdr["host"] == "site.example"
    assert "x-origin" not in h

    e, h = echo(bw.port, "/pass/")
    assert h["server"] == "origin"
    # Date is always ours: the origin's clock is not the client's business
    assert not h["date"].startswith("Thu, 01 Jan 2026")


def test_intercept_errors_and_error_pages(bw, origin):
    """proxy_intercept_errors with error_page, each case compared with
    nginx 1.22: the upstream's own answer without it or without a page
    for the status, the page (a file, "=code", a named location whose
    $status is its own, a URL, another proxied location) with it. The
    attempts of both upstreams stay in the log, " : " between them."""
    bw.write("html/err.html", "custom error page")
    bw.config("""
    log_format up '$uri $status [$upstream_status] [$upstream_addr]';
    server { listen 127.0.0.1:PORT; root html; access_log logs/up.log up;
        location /plain/ { error_page 404 /err.html;
                           proxy_pass http://127.0.0.1:%(p)d/; }
        location /ic/ { proxy_intercept_errors on;
                        error_page 404 500 /err.html;
                        error_page 502 =200 /err.html;
                        error_page 503 = @named;
                        error_page 504 http://example.com/down;
                        error_page 410 /px/size/3;
                        error_page 401 /err.html;
                        proxy_pass http://127.0.0.1:%(p)d/; }
        location /px/ { proxy_pass http://127.0.0.1:%(p)d/; }
        location @named { return 200 "named $status"; }
        location = /err.html { } }
    """ % {"p": origin.port})
    bw.start()
    addr = "127.0.0.1:%d" % origin.port
    for path, status, body in (
            ("/plain/status/404", 404, b"status 404 from o1"),
            ("/ic/status/404", 404, b"custom error page"),
            ("/ic/status/500", 500, b"custom error page"),
            ("/ic/status/502", 200, b"custom error page"),
            ("/ic/status/503", 200, b"named 200"),
            ("/ic/status/403", 403, b"status 403 from o1"),
            ("/ic/status/410", 410, pattern(3))):
        st, _, got = get(bw.port, path)
        assert (st, got) == (status, body), path
    st, h, _ = get(bw.port, "/ic/status/504")
    assert st == 302 and h["location"] == "http://example.com/down"
    # an intercepted 401 keeps the upstream's challenges, in order (nginx
    # 1.22 keeps the first, later nginx all)
    resp = raw(bw.port, b"GET /ic/auth HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 401")
    assert resp.endswith(b"custom error page")
    assert re.findall(rb"WWW-Authenticate: ([^\r]*)", resp) == [
        b'Bearer realm="api"', b'Basic realm="api"']

    def lines():
        with open(bw.path("logs", "up.log")) as f:
            return [l.replace(addr, "A") for l in f.read().splitlines()]
    wait_for(lambda: len(lines()) == 9, what="nine log lines")
    assert lines() == [
        "/plain/status/404 404 [404] [A]",
        "/err.html 404 [404] [A]",
        "/err.html 500 [500] [A]",
        "/err.html 200 [502] [A]",
        "/ic/status/503 200 [503] [A]",
        "/ic/status/403 403 [403] [A]",
        "/px/size/3 410 [410 : 200] [A : A]",
        "/ic/status/504 302 [504] [A]",
        "/err.html 401 [401] [A]"]


def test_proxy_redirect(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location /one/ { proxy_pass http://127.0.0.1:%(p)d/redirect/; }
        location /two/ { proxy_redirect http://127.0.0.1:%(p)d/ /mapped/;
                         proxy_pass http://127.0.0.1:%(p)d/redirect/; }
        location /off/ { proxy_redirect off;
                         proxy_pass http://127.0.0.1:%(p)d/redirect/; } }
    """ % {"p": origin.port})
    bw.start()
    st, h, _ = get(bw.port, "/one/a/b")
    assert st == 302
    assert h["location"] == "http://localhost:%d/one/a/b" % bw.port
    st, h, _ = get(bw.port, "/two/c")
    assert h["location"].endswith("/mapped/redirect/c")
    st, h, _ = get(bw.port, "/off/d")
    assert h["location"] == "http://127.0.0.1:%d/redirect/d" % origin.port
    # a relative Location that no rule rewrote goes as it came (as
    # nginx: absolute_redirect is for the server's own redirects)
    for path in ("/one/a/b?rel", "/off/d?rel"):
        st, h, _ = get(bw.port, path)
        assert st == 302
        assert h["location"] == "/redirect/" + path.split("/", 2)[2][:-4]


def test_proxy_redirect_regex_and_variables(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location /re/ {
            proxy_redirect ~*^HTTP://127\\.0\\.0\\.1:\\d+/redirect/(.*)$ /re/$1;
            proxy_pass http://127.0.0.1:%(p)d/redirect/; }
        location /var/ {
            proxy_redirect http://$proxy_host/redirect/ /v/;
            proxy_pass http://127.0.0.1:%(p)d/redirect/; }
        location /both/ {
            proxy_pass http://127.0.0.1:%(p)d/redirect/;
            proxy_redirect http://nowhere/ /n/;
            proxy_redirect default; } }
    """ % {"p": origin.port})
    bw.start()
    st, h, _ = get(bw.port, "/re/c/d")
    assert st == 302 and h["location"].endswith("/re/c/d"), h
    st, h, _ = get(bw.port, "/var/e")
    assert h["location"].endswith("/v/e"), h
    # "default" next to other rules keeps its meaning
    st, h, _ = get(bw.port, "/both/f")
    assert h["location"].endswith("/both/f"), h

    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_redirect default; proxy_pass http://127.0.0.1:1; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"default" should be placed after the "proxy_pass"' in r.stderr


def set_cookies(port, path, cookies):
    q = "&".join("c=" + urllib.parse.quote(c) for c in cookies)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path + ("&" if "?" in path else "?") + q)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]


def test_proxy_cookie_domain_and_path(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        proxy_cookie_domain .backend.internal example.com;
        proxy_cookie_domain ~^([a-z]+)\\.svc\\.local$ $1.example.org;
        proxy_cookie_path /app/ /;
        proxy_cookie_path ~*^/USERS/(\\d+) /u/$1;
        location /ck/ { proxy_pass http://127.0.0.1:%(p)d/; }
        location /nock/ { proxy_cookie_domain off; proxy_cookie_path off;
                          proxy_pass http://127.0.0.1:%(p)d/; } }
    """ % {"p": origin.port})
    bw.start()
    sent = ["a=1; Domain=backend.internal; Path=/app/x",
            "b=2; domain=.BACKEND.internal; path=/other",
            "c=3; Path=/users/42/profile; HttpOnly",
            "d=4; Secure; Domain=api.svc.local",
            "e=5",
            "f=6; Domain=other.org; Path=/application"]
    assert set_cookies(bw.port, "/ck/cookies", sent) == [
        "a=1; Domain=example.com; Path=/x",
        "b=2; domain=.example.com; path=/other",
        "c=3; Path=/u/42; HttpOnly",
        "d=4; Secure; Domain=api.example.org",
        "e=5",
        "f=6; Domain=other.org; Path=/application"]
    assert set_cookies(bw.port, "/nock/cookies", sent) == sent

    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_cookie_path /a /b; proxy_cookie_path off;
                     proxy_pass http://127.0.0.1:1; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0 and '"proxy_cookie_path" directive is ' \
        'duplicate' in r.stderr


def test_proxy_cookie_flags(bw, origin):
    """proxy_cookie_flags as nginx 1.22 edits (each case compared with
    it): the first rule naming the cookie (any case, or a regex) adds or
    removes Secure, HttpOnly and SameSite in that order, a SameSite
    already so stays as written, and a cookie a rule matched is put
    back together with "; " between its parts. Flags may come from
    variables; "off" drops the inherited rules."""
    bw.config("""
    server { listen 127.0.0.1:PORT;
        proxy_cookie_flags one secure httponly;
        proxy_cookie_flags ~^t nosecure samesite=strict;
        location /ck/ { proxy_pass http://127.0.0.1:%(p)d/; }
        location /var/ { proxy_cookie_flags $arg_n $arg_f;
                         proxy_pass http://127.0.0.1:%(p)d/; }
        location /mix/ { proxy_cookie_flags ~ samesite=none secure;
                         proxy_cookie_path / /p/;
                         proxy_cookie_domain a.b c.d;
                         proxy_pass http://127.0.0.1:%(p)d/; }
        location /off/ { proxy_cookie_flags off;
                         proxy_pass http://127.0.0.1:%(p)d/; } }
    """ % {"p": origin.port})
    bw.start()
    sent = ["one=1", "ONE=1;secure;HttpOnly", "two=2; SameSite=Lax; Secure",
            "two=2; samesite=strict; secure", "three=3;  Path=/x ;Domain=a.b",
            "tee=1; samesite", "other=1;  Path=/", "novalue"]
    assert set_cookies(bw.port, "/ck/cookies", sent) == [
        "one=1; Secure; HttpOnly",
        "ONE=1; secure; HttpOnly",
        "two=2; SameSite=Strict",
        "two=2; samesite=strict",
        "three=3; Path=/x; Domain=a.b; SameSite=Strict",
        "tee=1; SameSite=Strict",
        "other=1;  Path=/",
        "novalue"]
    assert set_cookies(bw.port, "/mix/cookies", sent[4:6]) == [
        "three=3; Path=/p/x; Domain=c.d; Secure; SameSite=None",
        "tee=1; SameSite=None; Secure"]
    assert set_cookies(bw.port, "/var/cookies?n=one&f=samesite=lax",
                       sent[:1]) == ["one=1; SameSite=Lax"]
    assert set_cookies(bw.port, "/off/cookies", sent) == sent

    for bad, msg in (("proxy_cookie_flags one sekure;",
                      'invalid parameter "sekure"'),
                     ("proxy_cookie_flags one secure; proxy_cookie_flags off;",
                      "is duplicate")):
        bw.config("""
        server { listen 127.0.0.1:PORT;
            location / { %s proxy_pass http://127.0.0.1:1; } }
        """ % bad)
        r = bw.run("-t")
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)


def test_proxy_protocol_to_upstream(bw, origin):
    bw.config("""
    upstream k { server 127.0.0.1:%(p)d; keepalive 4; }
    server { listen 127.0.0.1:PORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /pp/ { proxy_pass http://k/; proxy_protocol on; }
        location /plain/ { proxy_pass http://k/; } }
    """ % {"p": origin.port})
    bw.start()
    for _ in range(3):
        e, _ = echo(bw.port, "/plain/echo")
    assert origin.connections == 1 and origin.server.proxy_lines == []
    # each request with a PROXY header has a connection of its own, and
    # never takes a pooled one
    for i in range(3):
        e, _ = echo(bw.port, "/pp/echo")
    assert origin.connections == 4
    lines = origin.server.proxy_lines
    assert len(lines) == 3
    for line in lines:
        f = line.split()
        assert f[:4] == ["PROXY", "TCP4", "127.0.0.1", "127.0.0.1"], line
        assert f[5] == str(bw.port) and f[4].isdigit()
    # and the pool still serves the others
    echo(bw.port, "/plain/echo")
    assert origin.connections == 4


def test_refused_and_timeout_answers(bw, origin):
    dead = free_port()
    bw.config("""
    log_format up '$status $upstream_addr $upstream_status';
    server { listen 127.0.0.1:PORT;
        access_log logs/up.log up;
        proxy_read_timeout 300ms;
        location /dead/ { proxy_pass http://127.0.0.1:%d; }
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % (dead, origin.port))
    bw.start()
    st, _, _ = get(bw.port, "/dead/")
    assert st == 502
    st, _, _ = get(bw.port, "/slow/3000")
    assert st == 504
    logs = bw.logs()
    assert "connect() failed (111: Connection refused) while connecting " \
        "to upstream" in logs
    assert 'upstream: "http://127.0.0.1:%d"' % dead in logs
    assert "upstream timed out" in logs
    assert 'upstream: "http://127.0.0.1:%d' % origin.port in logs
    log = wait_for(lambda: open(bw.path("logs", "up.log")).read()
                   .count("\n") >= 2 and open(bw.path("logs", "up.log"))
                   .read(), what="access log")
    assert "502 127.0.0.1:%d 502" % dead in log
    assert "504 127.0.0.1:%d 504" % origin.port in log


def test_invalid_upstream_header_is_502(bw):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    replies = [b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
               b"Transfer-Encoding: chunked\r\n\r\nabc",
               b"garbage\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
               b"\r\n\r\nab",
               # the same length twice too, as nginx since 1.23
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2"
               b"\r\n\r\nab"]

    def serve():
        for reply in replies:
            c, _ = srv.accept()
            c.recv(65536)
            c.sendall(reply)
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % port)
    bw.start()
    for _ in replies:
        st, _, _ = get(bw.port, "/")
        assert st == 502
    t.join(5)
    srv.close()
    assert "upstream sent" in bw.logs()
    assert 'upstream sent duplicate header line: "Content-Length: 2", ' \
        'previous value: "Content-Length: 2"' in bw.logs()


def test_body_cut_short_reaches_the_client(bw, origin):
    """An upstream that closes in the middle of the body: the client gets
    the status, the header and the bytes that came, then the close (as
    from nginx), not an empty reply; the log keeps the upstream's
    status, and $request_completion stays empty. The whole answer comes in one write, so that the close is
    seen in the same pass as the first bytes of the body."""
    bw.config("""
    log_format c '$status $upstream_status [$request_completion]';
    server { listen 127.0.0.1:PORT; access_log logs/c.log c;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    for n, m in ((10, 5), (100000, 1000), (100000, 60000)):
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", bw.port),
                                          timeout=5) as s:
                s.sendall(b"GET /cut/%d/%d HTTP/1.1\r\nHost: x\r\n\r\n"
                          % (n, m))
                data = recv_all(s)
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), (n, m, data[:100])
            assert b"\r\nContent-Length: %d\r\n" % n in head + b"\r\n"
            assert body == pattern(m), (n, m, len(body))
    assert "upstream prematurely closed connection" in bw.logs()

    def logged():
        with open(bw.path("logs", "c.log")) as f:
            return f.read().splitlines()
    wait_for(lambda: len(logged()) == 15, what="15 log lines")
    assert set(logged()) == {"200 200 []"}


def test_no_live_upstreams_logged_as_nginx(bw, origins):
    """When every peer is out, the attempt that finds none is logged
    with the upstream's name and 502, as nginx ($upstream_addr showed
    the last peer again and $upstream_status "-")."""
    a, b, _ = origins
    a.answer_all(502)
    b.answer_all(503)
    bw.config("""
    log_format up '$status [$upstream_addr] [$upstream_status]';
    upstream pair { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    upstream gone { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT; access_log logs/up.log up;
        proxy_next_upstream error timeout http_502 http_503;
        location /pair/ { proxy_pass http://pair/; }
        location /gone/ { proxy_pass http://gone/; } }
    """ % (a.port, b.port, free_port(), free_port()))
    bw.start()
    addr = "127.0.0.1:%d"
    st, _, _ = get(bw.port, "/pair/size/1")
    assert st == 503
    # both failed once (max_fails=1): the next request finds b first,
    # then nobody
    st, _, _ = get(bw.port, "/pair/size/1")
    assert st == 502
    st, _, _ = get(bw.port, "/gone/")
    assert st == 502
    st, _, _ = get(bw.port, "/gone/")
    assert st == 502

    def lines():
        with open(bw.path("logs", "up.log")) as f:
            return f.read().splitlines()
    wait_for(lambda: len(lines()) == 4, what="four log lines")
    log = lines()
    assert log[0] == "503 [%s, %s] [502, 503]" % (addr % a.port,
                                                  addr % b.port)
    assert log[1] == "502 [%s, pair] [503, 502]" % (addr % b.port)
    assert log[3] == "502 [gone] [502]"


def test_round_robin_weights_and_next_upstream(bw, origins):
    a, b, c = origins
    dead = free_port()
    bw.config("""
    upstream w { server 127.0.0.1:%d weight=1; server 127.0.0.1:%d weight=2;
                 server 127.0.0.1:%d weight=3; }
    upstream withdead { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT;
        location /w/ { proxy_pass http://w/; }
        location /d/ { proxy_pass http://withdead/; } }
    """ % (a.port, b.port, c.port, dead, a.port))
    bw.start()
    counts = {"o1": 0, "o2": 0, "o3": 0}
    for _ in range(600):
        _, h, _ = get(bw.port, "/w/size/1")
        counts[h["x-origin"]] += 1
    # smooth weighted round robin is exact over whole cycles
    assert counts == {"o1": 100, "o2": 200, "o3": 300}
    # one peer refuses: every request still succeeds on the other
    for _ in range(20):
        st, h, _ = get(bw.port, "/d/size/1")
        assert st == 200 and h["x-origin"] == "o1"


def test_next_upstream_on_status_and_post_not_retried(bw, origins):
    a, b, _ = origins
    a.answer_all(502)
    bw.config("""
    log_format up '$request_method $status $upstream_status';
    upstream u { server 127.0.0.1:%d max_fails=0;
                 server 127.0.0.1:%d max_fails=0; }
    server { listen 127.0.0.1:PORT;
        access_log logs/up.log up;
        location /retry/ { proxy_next_upstream error timeout http_502;
                           proxy_pass http://u/; }
        location /plain/ { proxy_pass http://u/; } }
    """ % (a.port, b.port))
    bw.start()
    for _ in range(4):
        st, h, _ = get(bw.port, "/retry/size/2")
        assert st == 200 and h["x-origin"] == "o2"
    # without http_502 in the list the 502 goes to the client as it is
    seen = set()
    for _ in range(4):
        st, h, body = get(bw.port, "/plain/size/2")
        seen.add((st, h["x-origin"]))
    assert (502, "o1") in seen and (200, "o2") in seen
    # a POST is retried only with non_idempotent
    for _ in range(4):
        st, h, _ = get(bw.port, "/retry/echo", method="POST")
        if st == 502:
            break
    else:
        raise AssertionError("POST was retried")
    log = open(bw.path("logs", "up.log")).read()
    assert "GET 200 502, 200" in log


def test_no_request_lost_while_a_backend_dies(bw, origins):
    a, b, c = origins
    bw.config("""
    upstream u { server 127.0.0.1:%d; server 127.0.0.1:%d;
                 server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://u; } }
    """ % (a.port, b.port, c.port))
    bw.start()
    failures = []
    for i in range(300):
        if i == 100:
            b.stop()
        st, _, body = get(bw.port, "/size/100")
        if st != 200 or body != pattern(100):
            failures.append((i, st))
    assert failures == []


def test_upstream_block_errors(bw):
    bw.config("""
    upstream u { server 127.0.0.1:1 weight=0; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'invalid parameter "weight=0"' in r.stderr
    bw.config("""
    upstream u { }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """)
    r = bw.run("-t")
    assert "no servers are inside upstream" in r.stderr
    bw.config("""
    upstream u { server 127.0.0.1:1; }
    upstream u { server 127.0.0.1:2; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """)
    r = bw.run("-t")
    assert 'duplicate upstream "u"' in r.stderr


def test_websocket_echo(bw, origin):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location /ws {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    f = s.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += f.read(1)
    assert head.startswith(b"HTTP/1.1 101")
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    # what a browser checks before it takes the tunnel (RFC 6455 4.1):
    # the upstream's Upgrade, and Connection: upgrade (not keep-alive)
    fields = {}
    for line in head.split(b"\r\n")[1:-2]:
        k, _, v = line.partition(b":")
        fields.setdefault(k.strip().lower(), []).append(v.strip().lower())
    assert fields.get(b"upgrade") == [b"websocket"], head
    assert fields.get(b"connection") == [b"upgrade"], head
    for msg in (b"hello", b"x" * 70000, b"bye"):
        s.sendall(ws_frame(msg))
        assert ws_read(f) == msg
    s.close()


def test_slow_client_keeps_worker_memory_bounded(bw, origin):
    size = 100 * 1024 * 1024
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]

    def rss():
        with open("/proc/%d/status" % worker) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    before = rss()
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
    got = 0
    peak = before
    md5 = hashlib.md5()
    head = b""
    while b"\r\n\r\n" not in head:
        data = s.recv(65536)
        assert data, head
        head += data
    data = head.split(b"\r\n\r\n", 1)[1]
    got = len(data)
    md5.update(data)
    deadline = time.monotonic() + 120
    while got < size and time.monotonic() < deadline:
        data = s.recv(65536)
        if not data:
            break
        got += len(data)
        md5.update(data)
        if got < 2 * 1024 * 1024:
            time.sleep(0.002)   # slow at first: the buffers fill up
        peak = max(peak, rss())
    s.close()
    assert got == size
    assert md5.hexdigest() == hashlib.md5(pattern(size)).hexdigest()
    # the worker held a few proxy buffers, never the body
    assert peak - before < 8 * 1024, (before, peak)


KEEPALIVE_CONF = """
upstream ka { server 127.0.0.1:%d; keepalive 8; keepalive_timeout 30s; }
server { listen 127.0.0.1:PORT;
    location / { proxy_http_version 1.1;
                 proxy_set_header Connection "";
                 proxy_pass http://ka; } }
"""


def test_keepalive_pool_reuses_connections(bw, origin):
    require_module("http_upstream_keepalive")
    bw.config(KEEPALIVE_CONF % origin.port)
    bw.start()
    for i in range(100):
        path = ("/size/%d", "/chunked/%d", "/echo/%d")[i % 3] % (i + 1)
        st, _, body = get(bw.port, path)
        assert st == 200
    # one worker, one request at a time: one connection does it all
    assert origin.connections == 1
    assert len(origin.requests) == 100
    assert origin.requests[0]["version"] == "HTTP/1.1"


def tcp_timers_to(port):
    """The timer kinds (/proc/net/tcp "tr": 2 is keepalive) of the
    established loopback connections to port."""
    kinds = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].split(":")[1], 16) == port:
                kinds.append(int(fields[5].split(":")[0], 16))
    return kinds


def test_socket_keepalive_and_send_lowat(bw, origins):
    """proxy_socket_keepalive on sets SO_KEEPALIVE on the upstream's
    sockets (the kernel then keeps a keepalive timer on the idle pooled
    connection); off by default. proxy_send_lowat loads with nginx's
    warning on Linux."""
    require_module("http_upstream_keepalive")
    a, b = origins[0], origins[1]
    bw.config("""
    upstream on { server 127.0.0.1:%d; keepalive 2; }
    upstream off { server 127.0.0.1:%d; keepalive 2; }
    server { listen 127.0.0.1:PORT;
        proxy_http_version 1.1; proxy_set_header Connection "";
        proxy_send_lowat 1k;
        location /on/ { proxy_socket_keepalive on; proxy_pass http://on/; }
        location /off/ { proxy_pass http://off/; } }
    """ % (a.port, b.port))
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    assert '"proxy_send_lowat" is not supported, ignored' in r.stderr
    bw.start()
    for path in ("/on/size/1", "/off/size/1"):
        st, _, _ = get(bw.port, path)
        assert st == 200
    wait_for(lambda: tcp_timers_to(a.port) and tcp_timers_to(b.port),
             what="the pooled connections")
    assert tcp_timers_to(a.port) == [2]
    assert tcp_timers_to(b.port) == [0]


def test_keepalive_backend_closing_idle_connections(bw, origin):
    require_module("http_upstream_keepalive")
    bw.config(KEEPALIVE_CONF % origin.port)
    bw.start()
    for i in range(30):
        st, _, body = get(bw.port, "/size/10")
        assert st == 200 and body == pattern(10)
        if i % 2:
            # the backend drops its idle connections (a restart, a
            # keepalive timeout shorter than ours)
            origin.close_connections()
    for _ in range(5):
        st, _, _ = get(bw.port, "/refuse-keepalive")
        assert st == 200
    assert origin.connections > 10


def test_keepalive_needs_http11_to_be_used(bw, origin):
    require_module("http_upstream_keepalive")
    bw.config("""
    upstream ka { server 127.0.0.1:%d; keepalive 8; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://ka; } }
    """ % origin.port)
    bw.start()
    for _ in range(5):
        assert get(bw.port, "/size/1")[0] == 200
    # HTTP/1.0 with "Connection: close", as nginx's defaults send
    assert origin.connections == 5


def test_request_pipelined_while_upstream_works(bw, origin):
    """The next request arrives while the upstream still works on the
    first: it is served right after, not left in the socket until the
    keepalive timeout."""
    bw.config("""
    server { listen 127.0.0.1:PORT; keepalive_timeout 60s;
        location / { proxy_pass http://127.0.0.1:%d; } }
    """ % origin.port)
    bw.start()
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=3)
    try:
        s.sendall(b"GET /slow/300 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: any(r["path"] == "/slow/300"
                             for r in origin.requests), what="first request")
        s.sendall(b"GET /size/5 HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data = recv_all(s)
    finally:
        s.close()
    assert data.count(b"HTTP/1.1 200") == 2
    assert data.index(b"slow") < data.rindex(b"HTTP/1.1 200")


def test_client_abort_while_the_upstream_works(bw, origin):
    """A client that closes its connection while the upstream prepares
    the answer: 499 in the log, and the upstream connection is given
    up, as nginx; with proxy_ignore_client_abort on the upstream's
    answer is awaited and its status logged."""
    bw.config("""
    log_format s '$uri $status $upstream_status';
    server { listen 127.0.0.1:PORT; access_log logs/s.log s;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /keep/ { proxy_ignore_client_abort on;
                          proxy_pass http://127.0.0.1:%d/; } }
    """ % (origin.port, origin.port))
    bw.start()

    def logged():
        with open(bw.path("logs", "s.log")) as f:
            return f.read().splitlines()
    for path, want in (("/slow/1500", "/slow/1500 499 -"),
                       ("/keep/slow/300", "/keep/slow/300 200 200")):
        n = len(logged())
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=5) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
                      % path.encode())
            wait_for(lambda: any(r["path"].endswith(path.split("/", 2)[2])
                                 for r in origin.requests),
                     what="the request at the origin")
        wait_for(lambda: len(logged()) > n, timeout=10,
                 what="the log line of %s" % path)
        assert logged()[n] == want

    # a client that shuts its side down as it sends the request (its EOF
    # comes with the request): the same, whatever the upstream's speed.
    # The request and the FIN go in one segment (TCP_CORK holds the
    # request until the shutdown adds the FIN to it): in two, the server
    # may rightly answer a fast upstream before it sees the FIN.
    for path, want in (("/slow/300", "/slow/300 499 -"),
                       ("/size/5", "/size/5 499 -"),
                       ("/keep/slow/300", "/keep/slow/300 200 200")):
        n = len(logged())
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            s.sendall(b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path.encode())
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
        wait_for(lambda: len(logged()) > n, timeout=10,
                 what="the log line of %s" % path)
        assert logged()[n] == want
        # with proxy_ignore_client_abort the answer still goes out
        assert got.startswith(b"HTTP/1.1 200") == want.endswith("200 200")


def read_kept_response(f):
    """One response from a keep-alive connection: status, fields, body."""
    status = int(f.readline().split()[1])
    fields = {}
    for line in iter(f.readline, b"\r\n"):
        k, _, v = line.decode("latin-1").partition(":")
        fields.setdefault(k.strip().lower(), []).append(v.strip())
    if "content-length" in fields:
        return status, fields, f.read(int(fields["content-length"][0]))
    body = b""
    for size in iter(lambda: int(f.readline(), 16), 0):
        body += f.read(size)
        f.readline()
    f.readline()
    return status, fields, body


def test_proxy_force_ranges(bw, origin):
    """proxy_force_ranges: one range is cut from what the upstream sends
    (in as many reads as it comes), as nginx: 206 with Content-Range,
    416 for a range past the end (to an error_page location too, even
    a proxied one), the whole body for several ranges, a failed If-Range
    or a body of unknown length. The upstream's body is read and dropped
    around the range; the connection serves the next request."""
    bw.config("""
    server { listen 127.0.0.1:PORT;
        proxy_force_ranges on;
        location / { proxy_pass http://127.0.0.1:%(p)d; }
        location /e/ { error_page 416 /echo/416; proxy_pass http://127.0.0.1:%(p)d/; }
        location /off/ { proxy_force_ranges off;
                         proxy_pass http://127.0.0.1:%(p)d/; } }
    """ % {"p": origin.port})
    bw.start()
    big = pattern(300000)
    cases = (
        ("/size/100", "bytes=10-19", 206, pattern(100)[10:20]),
        ("/size/100", "bytes=-5", 206, pattern(100)[95:]),
        ("/size/300000", "bytes=150000-150009", 206, big[150000:150010]),
        ("/size/300000", "bytes=1000-250000", 206, big[1000:250001]),
        ("/size/300000", "bytes=299990-", 206, big[299990:]),
        ("/size/100", "bytes=200-", 416, None),
        ("/e/size/100", "bytes=200-", 416, b"echo"),
        ("/size/100", "bytes=0-1,4-5", 200, pattern(100)),
        ("/chunked/100", "bytes=1-2", 200, pattern(100)),
        ("/off/size/100", "bytes=1-2", 200, pattern(100)),
    )
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        f = s.makefile("rb")
        for path, rng, status, want in cases:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nRange: %s\r\n\r\n"
                      % (path.encode(), rng.encode()))
            st, fields, body = read_kept_response(f)
            assert st == status, (path, rng, st)
            if want == b"echo":
                assert json.loads(body)["path"] == "/echo/416"
            elif want is not None:
                assert body == want, (path, rng, len(body))
            if status == 206:
                assert fields["content-range"][0].endswith(
                    "/%s" % path.split("/")[-1])
            if status == 200 and not path.startswith(("/off", "/chunked")):
                assert fields["accept-ranges"] == ["bytes"]
        # If-Range that does not match (the origin sends no validators)
        s.sendall(b"GET /size/100 HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\n"
                  b"If-Range: \"abc\"\r\n\r\n")
        st, _, body = read_kept_response(f)
        assert st == 200 and body == pattern(100)


def test_x_accel_redirect(bw, origin):
    """X-Accel-Redirect, as nginx: the named URI or named location
    answers instead of the upstream (an internal location too), with
    the upstream's Content-Type, Set-Cookie and Content-Disposition and
    none of its other headers; a POST becomes a GET there; "." and ".."
    segments get 404; proxy_ignore_headers X-Accel-Redirect turns it
    off (and the header is hidden from the client either way)."""
    bw.write("html/files/f.bin", "secret")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        location /app/ { proxy_pass http://127.0.0.1:%d/; }
        location /protected/ { internal; alias html/files/; }
        location @named { return 200 "named $uri"; }
        location = /r.html { return 200 "r"; }
        location /keep/ { proxy_ignore_headers X-Accel-Redirect;
                          proxy_pass http://127.0.0.1:%d/; } }
    """ % (origin.port, origin.port))
    bw.start()
    st, h, body = get(bw.port, "/app/accel?to=/protected/f.bin")
    assert (st, body) == (200, b"secret"), (st, body)
    assert h["content-type"] == "application/x-test"
    assert h["set-cookie"] == "s=1"
    assert h["content-disposition"] == "attachment"
    assert "x-other" not in h and "x-accel-redirect" not in h
    st, _, _ = get(bw.port, "/protected/f.bin")
    assert st == 404
    st, h, body = get(bw.port, "/app/accel?to=/protected/f.bin",
                      method="POST")
    assert (st, body) == (200, b"secret"), (st, body)
    # "return" keeps a type already set, as nginx; else the extension's
    st, h, body = get(bw.port, "/app/accel?to=@named")
    assert (st, body) == (200, b"named /app/accel")
    assert h["content-type"] == "application/x-test"
    st, h, body = get(bw.port, "/r.html")
    assert (st, h["content-type"]) == (200, "text/html")
    st, _, _ = get(bw.port, "/app/accel?to=/protected/../files/f.bin")
    assert st == 404
    assert "unsafe URI" in bw.logs()
    st, h, body = get(bw.port, "/keep/accel?to=/protected/f.bin")
    assert (st, body) == (200, b"body")
    assert "x-accel-redirect" not in h and h["x-other"] == "o"


def test_keepalive_close_crossing_the_request(bw):
    """The backend closes a pooled connection just as the next request
    goes out on it (it read the request and answered nothing): an
    idempotent request is sent again on a new connection, also to a
    lone server (nginx answers 502 there); a POST is not sent twice."""
    require_module("http_upstream_keepalive")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    ls.settimeout(0.2)
    stop = threading.Event()
    seen = []

    def one(c):
        # answers the first request of a connection, drops the second
        f = c.makefile("rb")
        for n in range(2):
            line = f.readline()
            if not line:
                break
            while f.readline() not in (b"\r\n", b""):
                pass
            seen.append(line.split()[0])
            if n == 0:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        c.close()

    def serve():
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            threading.Thread(target=one, args=(c,), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    bw.config("""
    upstream lone { server 127.0.0.1:%d; keepalive 4; }
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://lone; proxy_http_version 1.1;
                     proxy_set_header Connection ""; } }
    """ % ls.getsockname()[1])
    bw.start()
    try:
        for _ in range(6):
            st, _, body = get(bw.port, "/g")
            assert (st, body) == (200, b"ok")
        assert seen.count(b"GET") == 11     # 6 answered, 5 dropped
        st, _, _ = get(bw.port, "/p", method="POST")
        assert st == 502
        assert seen.count(b"POST") == 1
    finally:
        stop.set()
        t.join(timeout=10)
        ls.close()


def test_upstream_lengths_in_the_log(bw, origin):
    """$upstream_response_length (the body as it came), and
    $upstream_bytes_sent (the request as it went), per attempt."""
    dead = free_port()
    bw.config("""
    log_format n '$uri [$upstream_response_length] [$upstream_bytes_sent] '
                 '[$upstream_bytes_received]';
    upstream two { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT; access_log logs/n.log n;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /two/ { proxy_pass http://two/; } }
    """ % (dead, origin.port, origin.port))
    bw.start()
    sent = (b"GET /size/1000 HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
            b"Connection: close\r\n\r\n" % origin.port)
    for path in ("/size/1000", "/chunked/3000", "/two/size/1000"):
        resp = raw(bw.port, b"GET %s HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n" % path.encode())
        assert resp.startswith(b"HTTP/1.1 200"), resp[:40]
    log = wait_for(lambda: len(open(bw.path("logs", "n.log")).readlines())
                   == 3 and open(bw.path("logs", "n.log")).read(),
                   what="the log").splitlines()
    uri, length, out, got = log[0].split()
    assert (uri, length, out) == ("/size/1000", "[1000]",
                                  "[%d]" % len(sent))
    assert int(got[1:-1]) > 1000
    # a chunked body counts as it came, framing and all
    assert int(log[1].split()[1][1:-1]) > 3000
    # the refused first attempt sent and got nothing
    assert log[2].split()[1:3] == ["[0,", "1000]"]
    assert log[2].split()[3] == "[0,"


def test_proxy_pass_in_limit_except(bw, origin):
    """limit_except's methods go to the upstream, the others stay (nginx
    allows proxy_pass in limit_except)."""
    bw.config("""
        server {
            listen 127.0.0.1:PORT;
            location / {
                limit_except GET { proxy_pass http://127.0.0.1:%d; }
                return 200 "here";
            }
        }""" % origin.port)
    bw.start()
    status, _, body = get(bw.port, "/echo")
    assert status == 200 and body == b"here"
    status, _, body = get(bw.port, "/echo", method="DELETE")
    assert status == 200
    assert json.loads(body)["method"] == "DELETE"


BIND_HTTP = """
    server {
        listen 127.0.0.1:UP;
        return 200 "$remote_addr:$remote_port";
    }
    server {
        listen 127.0.0.1:PORT;
        location /fixed { proxy_bind 127.0.0.3;
                          proxy_pass http://127.0.0.1:UP; }
        location /var { proxy_bind $arg_b;
                        proxy_pass http://127.0.0.1:UP; }
        location /off { proxy_bind off;
                        proxy_pass http://127.0.0.1:UP; }
    }"""


def bind_sources(port):
    """The source address (and port, where asked for) each case gave."""
    bport = free_port()
    out = []
    for path in ("/fixed", "/var?b=127.0.0.4", "/var?b=127.0.0.5:%d" % bport,
                 "/var", "/var?b=nowhere", "/off"):
        status, _, body = get(port, path)
        assert status == 200, path
        addr, p = body.decode().rsplit(":", 1)
        out.append(addr + (":port" if p == str(bport) else ""))
    return out


BIND_EXPECTED = ["127.0.0.3", "127.0.0.4", "127.0.0.5:port", "127.0.0.1",
                 "127.0.0.1", "127.0.0.1"]


def test_proxy_bind(bw):
    """proxy_bind: the upstream connection's source address, given or
    made of variables (an address and an optional port; empty: none;
    not an address: logged, none), as nginx. The upstream here is a
    server of the same configuration that answers $remote_addr."""
    bw.config(BIND_HTTP.replace("UP", str(free_port())))
    bw.start()
    assert bind_sources(bw.port) == BIND_EXPECTED
    assert 'invalid local address "nowhere"' in bw.logs()


@needs_nginx
def test_proxy_bind_as_nginx(tmp_path):
    port = free_port()
    http = BIND_HTTP.replace("UP", str(free_port())).replace("PORT",
                                                             str(port))
    with nginx_serving(tmp_path, http, port):
        assert bind_sources(port) == BIND_EXPECTED

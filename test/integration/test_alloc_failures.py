"""
Allocation failures on purpose (debug builds, BULWARK_FAIL_ALLOC): every
allocation of a configuration load, and of a few kinds of request, is
made to fail in turn. Each must end in a clean error (a message and exit
code 1 for -t; an error answer or a closed connection for a request)
with the worker still serving, never a crash, and no sanitizer report.
"""

import os
import socket
import subprocess

import pytest

from conftest import BIN, get, wait_for
from origin import Origin, pattern

PURPOSE = "failed on purpose (BULWARK_FAIL_ALLOC)"


def debug_build():
    r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
    return "--with-debug" in r.stderr


pytestmark = pytest.mark.skipif(not debug_build(),
                                reason="allocation failures need --with-debug")

CONF = """
    upstream app { server 127.0.0.1:%(port)d max_fails=0; keepalive 4; }
    map $uri $kind { default plain; ~^/api api; }
    log_format main '$remote_addr "$request" $status $kind $upstream_addr';
    access_log logs/access.log main buffer=4k;
    server {
        listen 127.0.0.1:PORT;
        root html;
        error_page 404 /404.html;
        location / { index index.html; }
        location /api/ { proxy_pass http://app/; proxy_set_header X-K $kind; }
        location /r/ { rewrite ^/r/(.*)$ /$1 last; }
        location = /ret { return 200 "kind $kind\\n"; }
        location = /404.html { internal; }
    }
"""

SANITIZERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")


def sanitizer_report(text):
    return [m for m in SANITIZERS if m in text]


@pytest.fixture
def origin():
    o = Origin("o1")
    yield o
    o.stop()


def test_every_allocation_of_a_configuration_load(bw, origin):
    bw.write("html/index.html", "index\n")
    bw.config(CONF % {"port": origin.port})
    assert bw.run("-t").returncode == 0
    steps = list(range(1, 80)) + list(range(80, 100000, 61))
    hits = 0
    for n in steps:
        before = logged(bw)
        r = subprocess.run([BIN, "-p", bw.prefix, "-c", bw.conf, "-t"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, BULWARK_FAIL_ALLOC=str(n)))
        assert not sanitizer_report(r.stderr), (n, r.stderr[-3000:])
        assert r.returncode in (0, 1), (n, r.returncode, r.stderr[-2000:])
        # said on stderr before the error log is open, in it after
        if PURPOSE not in r.stderr and logged(bw) == before:
            assert r.returncode == 0, (n, r.stderr)
            break
        hits += 1
        # the load fails
        assert r.returncode == 1, (n, r.stderr)
    else:
        pytest.fail("more allocations than the sweep covers")
    assert hits > 50


def logged(bw):
    try:
        with open(bw.errlog, errors="replace") as f:
            return f.read().count(PURPOSE)
    except OSError:
        return 0


def exchange(port, request):
    """One request on a new connection: whatever came back (b"" when the
    server closed or reset it at once), and whether the server ended the
    connection (a close or a reset, not the client's timeout)."""
    chunks = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(request)
            while True:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    return b"".join(chunks), False
                if not b:
                    break
                chunks.append(b)
    except (ConnectionResetError, BrokenPipeError):
        pass
    return b"".join(chunks), True


def complete(answer, closed):
    """A whole HTTP answer with a status line, or nothing at all; or a
    whole header whose body the server cut short by closing the
    connection (an allocation that failed after the header had gone,
    as when the upstream's body comes in a read of its own: nginx too
    can only close then)."""
    if not answer:
        return True
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 "):
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return len(body) == int(value) or (
                closed and len(body) < int(value))
    return True     # chunked or to the close: read to the end


@pytest.mark.parametrize("request_line", [
    b"GET / HTTP/1.1",
    b"GET /api/size/3000 HTTP/1.1",
    b"GET /r/ret?x=1 HTTP/1.1",
    b"GET /missing HTTP/1.1",
], ids=["static-index", "proxy", "rewrite-return", "error-page"])
def test_every_allocation_of_a_request(bw, origin, monkeypatch,
                                       request_line):
    monkeypatch.setenv("BULWARK_FAIL_ALLOC", "connection")
    bw.write("html/index.html", "index\n")
    bw.config(CONF % {"port": origin.port})
    bw.start()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    request = request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n"

    def failures():
        with open(bw.errlog, errors="replace") as f:
            return f.read().count(PURPOSE)

    for k in range(1, 400):
        before = failures()
        answer, closed = exchange(bw.port, request)
        assert complete(answer, closed), (k, answer[:300])
        if not complete(answer, False):
            # cut short: only by this connection's failure, and right as
            # far as it went (a proxied /size/N is the pattern)
            assert failures() == before + 1, (k, answer[:300])
            _, _, body = answer.partition(b"\r\n\r\n")
            if b"/api/size/" in request_line:
                assert body == pattern(len(body)), (k, answer[:300])
        # the kth connection failed its kth allocation, or the request
        # needed fewer than k: the sweep is over
        if failures() < k:
            break
        assert bw.workers() == [worker], (k, bw.logs()[-3000:])
    else:
        pytest.fail("more allocations than the sweep covers")
    assert k > 10
    # and the worker still serves, the failures behind it
    monkeypatch.delenv("BULWARK_FAIL_ALLOC")
    status, _, _ = get(bw.port, "/ret")
    assert status == 200
    assert bw.workers() == [worker]
    assert not sanitizer_report(bw.logs()), bw.logs()[-3000:]

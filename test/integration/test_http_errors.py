"""Malformed and hostile requests: each gets the right status, the
connection is closed, and the worker goes on serving everyone else."""

import socket
import time

import pytest

from conftest import get, raw, status_of, wait_for

CONF = """
    access_log logs/rejected.log;
    client_header_buffer_size 1k;
    large_client_header_buffers 2 2k;
    client_max_body_size 100;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "ok\\n"; }
    }
"""

CASES = [
    ("cl and te",
     b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("duplicate content-length",
     b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     b"Content-Length: 6\r\n\r\nhello", 400),
    ("same content-length twice",
     b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     b"Content-Length: 5\r\n\r\nhello", 400),
    ("bad content-length",
     b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello", 400),
    ("negative content-length",
     b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    ("unknown transfer coding",
     b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
     b"\r\n", 501),
    ("te in http/1.0",
     b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs-fold",
     b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
    ("bare cr in header",
     b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400),
    ("nul in header",
     b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", 400),
    ("control byte in header",
     b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x07c\r\n\r\n", 400),
    ("space before colon",
     b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
     400),
    ("invalid header name",
     b"GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400),
    ("no host in 1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("duplicate host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("bad host", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ("http/2.0 line", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("http/0.9", b"GET /\r\n\r\n", 400),
    ("lowercase method", b"get / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("space in uri", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("trace", b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    # nginx 1.29's rules: a well-formed CONNECT is not served, any other
    # is malformed (Debian's 1.22 has them the other way round)
    ("connect", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    ("connect origin-form", b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("connect no port", b"CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n",
     400),
    ("port of six digits",
     b"GET http://a:123456/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("uri too long",
     b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    ("header line too long",
     b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n",
     431),
    ("too many header bytes",
     b"GET / HTTP/1.1\r\nHost: a\r\n"
     + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 900) for i in range(8))
     + b"\r\n", 431),
    ("body too large",
     b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n"
     + b"x" * 101, 413),
    ("bad chunk framing",
     b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,request_bytes,status", CASES,
                         ids=[c[0] for c in CASES])
def test_rejected(bw, name, request_bytes, status):
    bw.config(CONF)
    bw.start()
    resp = raw(bw.port, request_bytes)
    assert status_of(resp) == status, resp[:300]
    assert b"Connection: close" in resp.split(b"\r\n\r\n")[0]
    # nothing after the error response: the connection was closed, and
    # what followed a bad body never became a second request
    assert resp.count(b"HTTP/1.") == 1
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"ok\n"
    # logged, with the request line as far as it was read (as nginx)
    def lines():
        with open(bw.path("logs", "rejected.log")) as f:
            return f.read().splitlines()
    wait_for(lambda: len(lines()) == 2, what="two log lines")
    assert '" %d ' % status in lines()[0], lines()
    assert request_bytes.split(b" ")[0].decode() in lines()[0]


def test_chunked_body_then_keepalive(bw):
    bw.config(CONF)
    bw.start()
    req = (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\n\r\n"
           b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
           b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    resp = raw(bw.port, req)
    assert resp.count(b"HTTP/1.1 200 OK") == 3
    assert resp.count(b"ok\n") == 3


def test_body_sent_slowly_is_discarded(bw):
    bw.config(CONF)
    bw.start()
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
                  b"12345")
        time.sleep(0.1)
        s.sendall(b"67890GET / HTTP/1.1\r\nHost: a\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    assert data.count(b"HTTP/1.1 200 OK") == 2


def test_header_timeout(bw):
    bw.config(CONF.replace("client_max_body_size 100;",
                           "client_max_body_size 100;\n"
                           "    client_header_timeout 300ms;"))
    bw.start()
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        start = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - start < 4
    st, _, _ = get(bw.port, "/")
    assert st == 200


def test_pipelining_through_large_header_buffers(bw):
    bw.config(CONF)
    bw.start()
    big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 1500 + b"\r\n\r\n"
    resp = raw(bw.port, big + big + b"GET / HTTP/1.1\r\nHost: a\r\n"
                                    b"Connection: close\r\n\r\n")
    assert resp.count(b"HTTP/1.1 200 OK") == 3


def test_header_timeout_after_keepalive(bw):
    bw.config(CONF.replace("client_max_body_size 100;",
                           "client_max_body_size 100;\n"
                           "    client_header_timeout 300ms;\n"
                           "    keepalive_timeout 30s;"))
    bw.start()
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.sendall(b"GET / HTTP/1.1\r\n")     # and then nothing
        start = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - start < 4

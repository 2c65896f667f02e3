"""
scgi_pass against an SCGI server written here (a thread on loopback that
reads one netstring request per connection and answers by the path):
the variables the application sees (CONTENT_LENGTH first, SCGI next,
the parameters, the client's header lines), request bodies, the answer's
Status and Location, and broken answers, each a 502 with a log line
while the worker goes on serving.
"""

import hashlib
import json
import os
import socket
import threading
import time

import pytest

from conftest import SRC, free_port, get, raw, require_module, wait_for


class ScgiServer:
    """One request per connection: the netstring header, then as many
    body bytes as its CONTENT_LENGTH says; the answer is what the
    request's DOCUMENT_URI names. Every socket has a timeout, and the
    server stops with the test."""

    def __init__(self, unix_path=None):
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(unix_path)
            os.chmod(unix_path, 0o666)
            self.port = None
        else:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.stop_flag = False
        self.seen = []          # (pairs, body) of each request, in order
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop_flag:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    @staticmethod
    def parse(buf):
        """(pairs, rest) once the netstring is whole, else None."""
        colon = buf.find(b":")
        if colon < 0:
            return None
        n = int(buf[:colon])
        if len(buf) < colon + 1 + n + 1:
            return None
        head = buf[colon + 1:colon + 1 + n]
        assert buf[colon + 1 + n:colon + 2 + n] == b",", "no comma"
        assert head.endswith(b"\0")
        items = head[:-1].split(b"\0")
        assert len(items) % 2 == 0
        pairs = [(items[i].decode(), items[i + 1].decode("latin-1"))
                 for i in range(0, len(items), 2)]
        return pairs, buf[colon + 2 + n:]

    def one(self, c):
        c.settimeout(10)
        buf = b""
        try:
            while True:
                parsed = self.parse(buf)
                if parsed:
                    break
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            pairs, body = parsed
            env = dict(pairs)
            want = int(env["CONTENT_LENGTH"])
            while len(body) < want:
                d = c.recv(65536)
                if not d:
                    break
                body += d
            self.seen.append((pairs, body))
            for piece in self.answer(env.get("DOCUMENT_URI", ""), pairs,
                                     body):
                c.sendall(piece)
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            c.close()

    def answer(self, uri, pairs, body):
        if uri == "/env":
            data = json.dumps({"pairs": pairs, "body_len": len(body),
                               "body_md5": hashlib.md5(body).hexdigest()})
            return [b"Status: 200 OK\r\nContent-Type: application/json\r\n"
                    b"\r\n" + data.encode()]
        if uri == "/plain":
            return [b"Content-Type: text/plain\r\n\r\nhello\n"]
        if uri == "/status":
            return [b"Status: 404 Not Found\r\nX-App: yes\r\n\r\nnope\n"]
        if uri == "/created":
            return [b"Status: 201\r\n\r\nmade\n"]
        if uri == "/location":
            return [b"Location: /elsewhere\r\n\r\n"]
        if uri == "/httpline":
            return [b"HTTP/1.1 202 Accepted\r\nX-Way: line\r\n\r\nqueued\n"]
        if uri == "/split":
            # the header in pieces, cut anywhere
            return [b"Stat", b"us: 200 OK\r\nContent-Ty", b"pe: text/plain",
                    b"\r", b"\n\r", b"\nin pieces\n"]
        if uri == "/length":
            return [b"Content-Length: 5\r\n\r\nhelloEXTRA"]
        if uri == "/chunked":
            return [b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                    b"6\r\n world\r\n0\r\n\r\n"]
        if uri == "/big":
            block = hashlib.md5(b"x").digest() * 65536        # 1 MiB
            return [b"Content-Type: application/octet-stream\r\n\r\n"] + \
                [block] * 8
        if uri == "/badstatus":
            return [b"Status: abc\r\n\r\n"]
        if uri == "/bighead":
            return [b"X-Big: " + b"a" * 60000 + b"\r\n\r\nx"]
        if uri == "/cuthead":
            return [b"Content-Type: text/pl"]
        if uri == "/badheader":
            return [b"Content-Type: text/plain\r\nno colon here\r\n\r\nx"]
        if uri == "/twolengths":
            return [b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"]
        if uri == "/cut":
            return [b"Content-Length: 100\r\n\r\nshort"]
        return [b"Status: 500 Internal Server Error\r\n\r\nunknown\n"]

    def close(self):
        self.stop_flag = True
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def scgi():
    s = ScgiServer()
    yield s
    s.close()


def serve(bw, body):
    with open(os.path.join(SRC, "conf", "scgi_params")) as f:
        bw.write("conf/scgi_params", f.read())
    bw.config(body)
    bw.start()


def env_of(port, path="/env", **kw):
    status, headers, body = get(port, path, **kw)
    assert status == 200, body
    return json.loads(body)


def test_variables_in_order_and_headers(bw, scgi):
    require_module("http_scgi")
    serve(bw, """
    server { listen 127.0.0.1:PORT; server_name front;
        location / {
            include scgi_params;
            scgi_param APP_TAG "t-$request_method";
            scgi_param EMPTY_SKIPPED "" if_not_empty;
            scgi_param HTTP_X_REPLACED from-config;
            scgi_pass 127.0.0.1:%d;
        }
    }""" % scgi.port)

    d = env_of(bw.port, "/env?a=1&b=two",
               headers={"X-Custom-Thing": "v1", "X-Replaced": "client"})
    names = [k for k, _ in d["pairs"]]
    env = dict(d["pairs"])
    # the protocol's two first, each once, whatever scgi_params says
    assert names[:2] == ["CONTENT_LENGTH", "SCGI"]
    assert env["CONTENT_LENGTH"] == "0" and env["SCGI"] == "1"
    assert names.count("SCGI") == 1 and names.count("CONTENT_LENGTH") == 1
    assert len(names) == len(set(names))
    # then scgi_params, in its order, then the location's own
    assert names[2:6] == ["REQUEST_METHOD", "REQUEST_URI", "QUERY_STRING",
                          "CONTENT_TYPE"]
    assert names.index("APP_TAG") > names.index("SERVER_NAME")
    assert env["REQUEST_METHOD"] == "GET"
    assert env["REQUEST_URI"] == "/env?a=1&b=two"
    assert env["QUERY_STRING"] == "a=1&b=two"
    assert env["DOCUMENT_URI"] == "/env"
    assert env["SERVER_PORT"] == str(bw.port)
    assert env["SERVER_NAME"] == "front"
    assert env["APP_TAG"] == "t-GET"
    assert "EMPTY_SKIPPED" not in env and "HTTPS" not in env
    # the client's header lines last, as HTTP_*
    assert names.index("HTTP_X_CUSTOM_THING") > names.index("APP_TAG")
    assert env["HTTP_X_CUSTOM_THING"] == "v1"
    assert env["HTTP_X_REPLACED"] == "from-config"
    assert env["HTTP_HOST"] == "localhost"

    # repeated lines joined, Cookie with "; "
    resp = raw(bw.port, b"GET /env HTTP/1.0\r\nHost: h.example\r\n"
               b"X-Many: 1\r\nCookie: a=1\r\nX-Many: 2\r\nCookie: b=2\r\n"
               b"\r\n")
    assert resp.startswith(b"HTTP/1.1 200")
    env = dict(json.loads(resp.split(b"\r\n\r\n", 1)[1])["pairs"])
    assert env["HTTP_X_MANY"] == "1, 2"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_HOST"] == "h.example"


def test_request_bodies(bw, scgi):
    require_module("http_scgi")
    serve(bw, """
    client_max_body_size 20m;
    server { listen 127.0.0.1:PORT;
        location / {
            include scgi_params;
            scgi_pass 127.0.0.1:%d;
        }
        location /nobody/ {
            rewrite ^/nobody(/.*)$ $1 break;
            include scgi_params;
            scgi_pass_request_body off;
            scgi_pass 127.0.0.1:%d;
        }
        location /s/ {
            rewrite ^/s(/.*)$ $1 break;
            include scgi_params;
            scgi_request_buffering off;
            scgi_pass 127.0.0.1:%d;
        }
    }""" % (scgi.port, scgi.port, scgi.port))

    import http.client
    # streamed as it comes (scgi_request_buffering off): the length the
    # client gave goes first
    payload = os.urandom(2 << 20)
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=30)
    conn.request("POST", "/s/env", body=payload)
    resp = conn.getresponse()
    d = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert dict(d["pairs"])["CONTENT_LENGTH"] == str(len(payload))
    assert d["body_md5"] == hashlib.md5(payload).hexdigest()

    payload = os.urandom(3 << 20)                # through a temp file
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=30)
    conn.request("POST", "/env", body=payload,
                 headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    d = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    env = dict(d["pairs"])
    assert env["CONTENT_LENGTH"] == str(len(payload))
    assert env["CONTENT_TYPE"] == "application/octet-stream"
    assert d["body_len"] == len(payload)
    assert d["body_md5"] == hashlib.md5(payload).hexdigest()

    # chunked from the client: the length of what goes
    form = b"k=" + b"v" * 50000
    req = (b"POST /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")
    for i in range(0, len(form), 20000):
        piece = form[i:i + 20000]
        req += b"%x\r\n" % len(piece) + piece + b"\r\n"
    req += b"0\r\n\r\n"
    resp = raw(bw.port, req, timeout=10)
    assert resp.startswith(b"HTTP/1.1 200")
    body = resp.split(b"\r\n\r\n", 1)[1]
    body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    d = json.loads(body)
    assert dict(d["pairs"])["CONTENT_LENGTH"] == str(len(form))
    assert d["body_md5"] == hashlib.md5(form).hexdigest()

    # the body stays here: the application is told there is none
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=10)
    conn.request("POST", "/nobody/env", body=b"x" * 1000)
    resp = conn.getresponse()
    d = json.loads(resp.read())
    conn.close()
    assert dict(d["pairs"])["CONTENT_LENGTH"] == "0"
    assert d["body_len"] == 0


def test_status_location_and_framing(bw, scgi):
    require_module("http_scgi")
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include scgi_params;
            scgi_buffers 4 8k;
            scgi_pass 127.0.0.1:%d;
        }
    }""" % scgi.port)

    status, headers, body = get(bw.port, "/plain")
    assert status == 200 and body == b"hello\n"
    assert headers["content-type"] == "text/plain"

    resp = raw(bw.port, b"GET /status HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"\r\nX-App: yes\r\n" in resp
    assert b"\r\nStatus:" not in resp          # hidden, as nginx
    assert resp.endswith(b"\r\n\r\nnope\n")

    resp = raw(bw.port, b"GET /created HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 201 Created\r\n")

    status, headers, _ = get(bw.port, "/location")
    assert status == 302 and headers["location"] == "/elsewhere"

    # an HTTP status line instead of CGI's Status, as nginx takes it
    status, headers, body = get(bw.port, "/httpline")
    assert status == 202 and headers["x-way"] == "line"
    assert body == b"queued\n"

    status, headers, body = get(bw.port, "/split")
    assert status == 200 and body == b"in pieces\n"
    assert headers["content-type"] == "text/plain"

    status, _, body = get(bw.port, "/length")
    assert status == 200 and body == b"hello"
    wait_for(lambda: "upstream sent more data than specified" in
             bw.logs(), what="excess logged")

    status, headers, body = get(bw.port, "/chunked")
    assert status == 200 and body == b"hello world"

    status, _, body = get(bw.port, "/big", timeout=30)
    assert status == 200 and len(body) == 8 << 20
    assert body == hashlib.md5(b"x").digest() * 65536 * 8

    resp = raw(bw.port, b"HEAD /plain HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200") and resp.endswith(b"\r\n\r\n")


def test_broken_answers_get_502(bw, scgi):
    require_module("http_scgi")
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include scgi_params;
            scgi_buffer_size 4k;
            scgi_pass 127.0.0.1:%d;
        }
    }""" % scgi.port)

    cases = {
        "/badstatus": "upstream sent invalid status \"abc\"",
        "/bighead": "upstream sent too big header",
        "/cuthead": "upstream prematurely closed connection",
        "/badheader": "upstream sent invalid header",
        "/twolengths": "upstream sent duplicate header line",
    }
    for uri, message in cases.items():
        status, _, _ = get(bw.port, uri)
        assert status == 502, uri
        wait_for(lambda: message in bw.logs(), what=message)
        line = [l for l in bw.logs().splitlines() if message in l][-1]
        assert 'upstream: "scgi://127.0.0.1:%d' % scgi.port in line, line
        # the worker goes on serving
        status, _, body = get(bw.port, "/plain")
        assert status == 200 and body == b"hello\n"

    # a body shorter than its Content-Length: the client sees it cut
    before = len(bw.logs())
    resp = raw(bw.port, b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200")
    assert resp.endswith(b"short")
    wait_for(lambda: "upstream prematurely closed connection" in
             bw.logs()[before:], what="cut logged")
    status, _, body = get(bw.port, "/plain")
    assert status == 200 and body == b"hello\n"


def test_unix_socket_variables_and_intercept(bw, scgi, tmp_path):
    require_module("http_scgi")
    sock = str(tmp_path / "scgi.sock")
    other = ScgiServer(unix_path=sock)
    try:
        bw.write("html/sorry.html", "custom not found\n")
        serve(bw, """
        server { listen 127.0.0.1:PORT;
            error_page 404 /sorry.html;
            location = /sorry.html { root %s; }
            location /u/ {
                rewrite ^/u(/.*)$ $1 break;
                include scgi_params;
                scgi_pass unix:%s;
            }
            location /v/ {
                set $app 127.0.0.1:%d;
                rewrite ^/v(/.*)$ $1 break;
                include scgi_params;
                scgi_pass $app;
            }
            location /i/ {
                rewrite ^/i(/.*)$ $1 break;
                include scgi_params;
                scgi_intercept_errors on;
                scgi_hide_header X-App;
                scgi_pass 127.0.0.1:%d;
            }
        }""" % (bw.path("html"), sock, scgi.port, scgi.port))

        status, _, body = get(bw.port, "/u/plain")
        assert status == 200 and body == b"hello\n"
        assert other.seen and not scgi.seen
        status, _, body = get(bw.port, "/v/plain")
        assert status == 200 and body == b"hello\n"
        assert scgi.seen

        status, headers, body = get(bw.port, "/i/status")
        assert status == 404 and body == b"custom not found\n"
        status, headers, body = get(bw.port, "/v/status")
        assert status == 404 and body == b"nope\n"
        assert headers["x-app"] == "yes"
    finally:
        other.close()


def test_next_upstream_and_timeout(bw, scgi):
    require_module("http_scgi")
    dead = free_port()
    # a server that reads the request and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        serve(bw, """
        upstream pair { server 127.0.0.1:%d; server 127.0.0.1:%d; }
        server { listen 127.0.0.1:PORT;
            location / {
                include scgi_params;
                scgi_pass pair;
            }
            location /t/ {
                include scgi_params;
                scgi_read_timeout 1s;
                scgi_pass 127.0.0.1:%d;
            }
        }""" % (dead, scgi.port, silent.getsockname()[1]))

        for i in range(4):
            status, _, body = get(bw.port, "/plain")
            assert status == 200 and body == b"hello\n"
        assert "connect() failed" in bw.logs()

        t0 = time.monotonic()
        status, _, _ = get(bw.port, "/t/plain", timeout=10)
        assert status == 504
        assert time.monotonic() - t0 < 5
        assert "upstream timed out" in bw.logs()
    finally:
        silent.close()


def test_scgi_cache(bw, scgi):
    require_module("http_scgi", "http_cache")
    serve(bw, """
    scgi_cache_path %s keys_zone=app:1m;
    server { listen 127.0.0.1:PORT;
        location / {
            include scgi_params;
            scgi_cache app;
            scgi_cache_key $request_uri;
            scgi_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
            scgi_pass 127.0.0.1:%d;
        }
    }""" % (bw.path("cache"), scgi.port))

    # the application's answer names the client's port: a new one each
    # time it runs
    status, h1, body1 = get(bw.port, "/env?c")
    assert status == 200 and h1["x-cache"] == "MISS"
    status, h2, body2 = get(bw.port, "/env?c")
    assert status == 200 and h2["x-cache"] == "HIT"
    assert body2 == body1

    bw.config("""
    scgi_cache_path %s keys_zone=app:1m;
    server { listen 127.0.0.1:PORT;
        location / { scgi_cache app; scgi_pass 127.0.0.1:9; } }
    """ % bw.path("cache"))
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'no "scgi_cache_key" for "scgi_cache"' in r.stderr


def test_config_errors_name_file_and_line(bw):
    require_module("http_scgi")
    cases = [
        ("scgi_buffers 1 4k;", 'there must be at least 2 "scgi_buffers"'),
        ("scgi_param A b maybe;", 'invalid parameter "maybe"'),
        ("scgi_busy_buffers_size 1k;",
         '"scgi_busy_buffers_size" must be equal to or greater than'),
        ("scgi_pass 127.0.0.1:10;", '"scgi_pass" directive is duplicate'),
    ]
    for line, message in cases:
        bw.config("""
    server { listen 127.0.0.1:PORT;
        location / {
            scgi_pass 127.0.0.1:9;
            %s
        }
    }""" % line)
        r = bw.run("-t")
        assert r.returncode != 0
        assert message in r.stderr, r.stderr
        assert "bulwark.conf:" in r.stderr, r.stderr

    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { scgi_pass nowhere; } }""")
    r = bw.run("-t")
    assert r.returncode != 0 and 'no port in upstream "nowhere"' in r.stderr

"""
uwsgi_pass against Debian's uWSGI (python3 plugin), started here on
loopback and on a unix socket with a small WSGI application written by
the test: the environ the application sees, request bodies, large
answers to a slow reader, status and headers, intercepted errors,
retries and timeouts. A uwsgi server written here checks the packet
itself (modifiers, the vars block's size) and broken answers.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import SRC, free_port, get, raw, require_module, wait_for

UWSGI = shutil.which("uwsgi")
HAVE_PY3 = os.path.exists("/usr/lib/uwsgi/plugins/python3_plugin.so")

APP = r'''
import hashlib, json, time

def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    body = environ["wsgi.input"].read()

    if path == "/env":
        out = {k: v for k, v in environ.items() if isinstance(v, str)}
        out["_body_len"] = len(body)
        out["_body_md5"] = hashlib.md5(body).hexdigest()
        data = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    if path == "/created":
        start_response("201 Created", [("X-App", "yes"),
                                       ("X-Multi", "one"),
                                       ("X-Multi", "two"),
                                       ("X-Accel-Expires", "10")])
        return [b"made\n"]

    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"app says no\n"]

    if path == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or "3"))
        start_response("200 OK", [])
        return [b"late\n"]

    if path == "/ws":
        import uwsgi
        uwsgi.websocket_handshake(environ["HTTP_SEC_WEBSOCKET_KEY"],
                                  environ.get("HTTP_ORIGIN", ""))
        msg = uwsgi.websocket_recv()
        uwsgi.websocket_send(b"echo: " + msg)
        return []

    if path == "/big":
        n = int(environ.get("QUERY_STRING") or "1")
        block = hashlib.md5(b"x").digest() * 65536         # 1 MiB
        start_response("200 OK", [("Content-Type",
                                   "application/octet-stream")])
        return (block for i in range(n))

    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from wsgi\n"]
'''


class Uwsgi:
    """uWSGI with one master and one worker of four threads (so that a
    request that sleeps does not hold up the others), on a TCP port and
    a unix socket, stopped by pid."""

    def __init__(self, base):
        self.base = str(base)
        with open(os.path.join(self.base, "app.py"), "w") as f:
            f.write(APP)
        self.port = free_port()
        self.sock = os.path.join(self.base, "uwsgi.sock")
        self.logfile = os.path.join(self.base, "uwsgi.log")
        args = [UWSGI, "--plugin", "python3",
                "--socket", "127.0.0.1:%d" % self.port,
                "--socket", self.sock, "--chmod-socket=666",
                "--wsgi-file", os.path.join(self.base, "app.py"),
                "--master", "--processes", "1", "--threads", "4",
                "--buffer-size", "65535", "--need-app", "--die-on-term",
                "--chdir", self.base]
        with open(self.logfile, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL,
                                         start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                return True
            if "spawned uWSGI worker" not in self.log():
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return os.path.exists(self.sock)
            except OSError:
                return False
        wait_for(up, timeout=20, what="uwsgi")
        assert self.proc.poll() is None, self.log()

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def uwsgi(tmp_path_factory):
    require_module("http_uwsgi")
    if not UWSGI or not HAVE_PY3:
        pytest.skip("uwsgi and uwsgi-plugin-python3 are not installed")
    u = Uwsgi(tmp_path_factory.mktemp("uwsgi"))
    yield u
    u.stop()


def serve(bw, body):
    with open(os.path.join(SRC, "conf", "uwsgi_params")) as f:
        bw.write("conf/uwsgi_params", f.read())
    bw.config(body)
    bw.start()


def env_of(port, path="/env", **kw):
    status, headers, body = get(port, path, **kw)
    assert status == 200, body
    return json.loads(body)


def test_environ_headers_and_params(bw, uwsgi):
    serve(bw, """
    server { listen 127.0.0.1:PORT; server_name front;
        location / {
            include uwsgi_params;
            uwsgi_param APP_TAG "t-$request_method";
            uwsgi_param EMPTY_SKIPPED "" if_not_empty;
            uwsgi_param HTTP_X_REPLACED from-config;
            uwsgi_param HTTP_X_DROPPED "";
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % uwsgi.port)

    d = env_of(bw.port, "/env?a=1&b=two",
               headers={"X-Custom-Thing": "v1", "X-Replaced": "client",
                        "X-Dropped": "client"})
    assert d["REQUEST_METHOD"] == "GET"
    assert d["PATH_INFO"] == "/env"
    assert d["QUERY_STRING"] == "a=1&b=two"
    assert d["REQUEST_URI"] == "/env?a=1&b=two"
    assert d["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert d["SERVER_PORT"] == str(bw.port)
    assert d["SERVER_NAME"] == "front"
    assert d["REMOTE_ADDR"] == "127.0.0.1"
    assert d["REQUEST_SCHEME"] == "http"
    assert d["APP_TAG"] == "t-GET"
    assert "EMPTY_SKIPPED" not in d and "HTTPS" not in d
    assert d["HTTP_X_CUSTOM_THING"] == "v1"
    assert d["HTTP_X_REPLACED"] == "from-config"
    # an empty "HTTP_..." param only keeps the client's line away
    assert "HTTP_X_DROPPED" not in d
    assert d["HTTP_HOST"] == "localhost"
    assert d["CONTENT_LENGTH"] == "" and d["_body_len"] == 0

    # repeated lines joined, Cookie with "; "
    resp = raw(bw.port, b"GET /env HTTP/1.0\r\nHost: h.example\r\n"
               b"X-Many: 1\r\nCookie: a=1\r\nX-Many: 2\r\nCookie: b=2\r\n"
               b"\r\n")
    assert resp.startswith(b"HTTP/1.1 200")
    d = json.loads(resp.split(b"\r\n\r\n", 1)[1])
    assert d["HTTP_X_MANY"] == "1, 2"
    assert d["HTTP_COOKIE"] == "a=1; b=2"
    assert d["HTTP_HOST"] == "h.example"


def test_request_bodies(bw, uwsgi):
    serve(bw, """
    client_max_body_size 20m;
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_pass 127.0.0.1:%d;
        }
        location /s/ {
            rewrite ^/s(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_request_buffering off;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % (uwsgi.port, uwsgi.port))

    import http.client
    # streamed as it comes (uwsgi_request_buffering off)
    payload = os.urandom(3 << 20)
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=60)
    conn.request("POST", "/s/env", body=payload,
                 headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    d = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert d["CONTENT_LENGTH"] == str(len(payload))
    assert d["_body_md5"] == hashlib.md5(payload).hexdigest()

    payload = os.urandom(5 << 20)                # through a temp file
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=60)
    conn.request("POST", "/env", body=payload,
                 headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    d = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert d["REQUEST_METHOD"] == "POST"
    assert d["CONTENT_LENGTH"] == str(len(payload))
    assert d["CONTENT_TYPE"] == "application/octet-stream"
    assert d["_body_len"] == len(payload)
    assert d["_body_md5"] == hashlib.md5(payload).hexdigest()

    # a small one, in memory, sent chunked by the client
    form = b"name=value&other=" + b"x" * 20000
    req = (b"POST /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")
    for i in range(0, len(form), 7000):
        piece = form[i:i + 7000]
        req += b"%x\r\n" % len(piece) + piece + b"\r\n"
    req += b"0\r\n\r\n"
    resp = raw(bw.port, req, timeout=10)
    assert resp.startswith(b"HTTP/1.1 200")
    d = json.loads(resp.split(b"\r\n\r\n", 1)[1])
    assert d["CONTENT_LENGTH"] == str(len(form))
    assert d["_body_md5"] == hashlib.md5(form).hexdigest()


def test_large_answer_to_slow_reader(bw, uwsgi):
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_buffers 4 16k;
            uwsgi_pass 127.0.0.1:%d;
        }
        location /nb/ {
            rewrite ^/nb(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_buffering off;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % (uwsgi.port, uwsgi.port))

    expected = hashlib.md5(hashlib.md5(b"x").digest() * 65536 * 24)
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(b"GET /big?24 HTTP/1.0\r\nHost: x\r\n\r\n")
    data = bytearray()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        chunk = s.recv(16384)
        if not chunk:
            break
        data += chunk
        if len(data) < 2 << 20:
            time.sleep(0.002)       # slow at first: the rest spills
    s.close()
    head, body = bytes(data).split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert len(body) == 24 << 20
    assert hashlib.md5(body).hexdigest() == expected.hexdigest()

    # unbuffered, as it comes
    status, _, body = get(bw.port, "/nb/big?3", timeout=30)
    assert status == 200 and len(body) == 3 << 20
    assert body == hashlib.md5(b"x").digest() * 65536 * 3


def test_status_headers_and_hidden_ones(bw, uwsgi):
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_pass 127.0.0.1:%d;
        }
        location /nb/ {
            rewrite ^/nb(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_buffering off;
            uwsgi_hide_header X-App;
            uwsgi_pass_header X-Accel-Expires;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % (uwsgi.port, uwsgi.port))

    resp = raw(bw.port, b"GET /created HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"\r\nX-App: yes\r\n" in resp
    assert b"X-Multi: one\r\n" in resp and b"X-Multi: two\r\n" in resp
    assert b"X-Accel-Expires" not in resp        # nginx's default
    assert resp.endswith(b"\r\n\r\nmade\n")

    resp = raw(bw.port, b"GET /nb/created HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"X-App" not in resp
    assert b"\r\nX-Accel-Expires: 10\r\n" in resp
    assert resp.endswith(b"\r\n\r\nmade\n")

    resp = raw(bw.port, b"HEAD /created HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 201") and resp.endswith(b"\r\n\r\n")

    status, _, body = get(bw.port, "/missing")
    assert status == 404 and body == b"app says no\n"


def test_websocket_through_upgrade(bw, uwsgi):
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % uwsgi.port)

    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    try:
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(4096)
            assert d, data
            data += d
        head, rest = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head

        payload = b"hi there"
        mask = os.urandom(4)
        s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                  + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7f):
            d = s.recv(4096)
            assert d, rest
            rest += d
        assert rest[0] == 0x81
        assert rest[2:2 + (rest[1] & 0x7f)] == b"echo: hi there"
    finally:
        s.close()


def test_intercept_errors_unix_socket_and_variables(bw, uwsgi):
    bw.write("html/sorry.html", "custom not found\n")
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        error_page 404 /sorry.html;
        location = /sorry.html { root %s; }
        location /i/ {
            rewrite ^/i(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_intercept_errors on;
            uwsgi_pass unix:%s;
        }
        location /v/ {
            set $app uwsgi://127.0.0.1:%d;
            rewrite ^/v(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_pass $app;
        }
        location /s/ {
            rewrite ^/s(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_pass uwsgi://127.0.0.1:%d;
        }
    }""" % (bw.path("html"), uwsgi.sock, uwsgi.port, uwsgi.port))

    status, _, body = get(bw.port, "/i/missing")
    assert status == 404 and body == b"custom not found\n"
    status, _, body = get(bw.port, "/i/")
    assert status == 200 and body == b"hello from wsgi\n"
    status, _, body = get(bw.port, "/v/missing")
    assert status == 404 and body == b"app says no\n"
    status, _, body = get(bw.port, "/s/")
    assert status == 200 and body == b"hello from wsgi\n"


def test_next_upstream_and_timeout(bw, uwsgi):
    dead = free_port()
    serve(bw, """
    upstream pair { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_pass pair;
        }
        location /t/ {
            rewrite ^/t(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_read_timeout 1s;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % (dead, uwsgi.port, uwsgi.port))

    for i in range(4):
        status, _, body = get(bw.port, "/")
        assert status == 200 and body == b"hello from wsgi\n"
    assert "connect() failed" in bw.logs()

    t0 = time.monotonic()
    status, _, _ = get(bw.port, "/t/slow?3", timeout=30)
    assert status == 504
    assert time.monotonic() - t0 < 2.8
    wait_for(lambda: "upstream timed out" in bw.logs(), what="timeout")
    line = [l for l in bw.logs().splitlines()
            if "upstream timed out" in l][0]
    assert 'upstream: "uwsgi://127.0.0.1:%d"' % uwsgi.port in line


# --- a uwsgi server written here: the packet, and broken answers ----------

class PacketServer:
    """Reads one uwsgi packet per connection (the header, the vars, the
    body as CONTENT_LENGTH says) and answers by PATH_INFO."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop_flag = False
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
    def recv_exact(c, n, buf):
        while len(buf) < n:
            d = c.recv(65536)
            if not d:
                raise OSError("closed")
            buf += d
        return buf

    def one(self, c):
        c.settimeout(10)
        try:
            buf = self.recv_exact(c, 4, b"")
            m1, size, m2 = struct.unpack("<BHB", buf[:4])
            buf = self.recv_exact(c, 4 + size, buf)
            vars_, body = buf[4:4 + size], buf[4 + size:]
            pairs = []
            i = 0
            while i < len(vars_):
                kl = struct.unpack("<H", vars_[i:i + 2])[0]
                k = vars_[i + 2:i + 2 + kl].decode()
                i += 2 + kl
                vl = struct.unpack("<H", vars_[i:i + 2])[0]
                v = vars_[i + 2:i + 2 + vl].decode("latin-1")
                i += 2 + vl
                pairs.append((k, v))
            env = dict(pairs)
            want = int(env.get("CONTENT_LENGTH") or 0)
            body = self.recv_exact(c, want, body)
            for piece in self.answer(env.get("PATH_INFO", ""), m1, m2, size,
                                     pairs, body):
                c.sendall(piece)
                time.sleep(0.05)
        except (OSError, ValueError, struct.error):
            pass
        finally:
            c.close()

    def answer(self, path, m1, m2, size, pairs, body):
        if path == "/packet":
            data = json.dumps({"modifier1": m1, "modifier2": m2,
                               "size": size, "pairs": pairs,
                               "body_len": len(body)}).encode()
            return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"\r\n" + data]
        if path == "/ok":
            return [b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                    b"fine\n"]
        if path == "/split":
            return [b"HTTP/1.1 2", b"00 OK\r\nContent-Ty", b"pe: text/plain",
                    b"\r\n\r", b"\nfi", b"ne\n"]
        if path == "/cgi":
            # no status line: CGI-style, as nginx takes it
            return [b"Status: 203 Partial\r\nX-Way: cgi\r\n\r\ncgi\n"]
        if path == "/interim":
            return [b"HTTP/1.1 100 Continue\r\n\r\n"
                    b"HTTP/1.1 200 OK\r\n\r\nafter\n"]
        if path == "/length":
            return [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfineEXTRA"]
        if path == "/chunked":
            return [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"4\r\nfine\r\n0\r\n\r\n"]
        if path == "/cut":
            return [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"]
        if path == "/badstatus":
            return [b"HTTP/1.1 2x0 OK\r\n\r\n"]
        if path == "/badheader":
            return [b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"]
        if path == "/bighead":
            return [b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 60000
                    + b"\r\n\r\nx"]
        if path == "/cuthead":
            return [b"HTTP/1.1 200 OK\r\nContent-Ty"]
        if path == "/both":
            return [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n4\r\nfine\r\n0\r\n\r\n"]
        return [b"HTTP/1.1 500 Internal Server Error\r\n\r\n"]

    def close(self):
        self.stop_flag = True
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def packets():
    s = PacketServer()
    yield s
    s.close()


def test_packet_modifiers_and_size_limit(bw, packets):
    require_module("http_uwsgi")
    serve(bw, """
    large_client_header_buffers 4 80k;
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_pass 127.0.0.1:%d;
        }
        location /m/ {
            rewrite ^/m(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_modifier1 30;
            uwsgi_modifier2 255;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % (packets.port, packets.port))

    status, _, body = get(bw.port, "/packet")
    d = json.loads(body)
    assert status == 200
    assert d["modifier1"] == 0 and d["modifier2"] == 0
    size = sum(4 + len(k) + len(v.encode("latin-1")) for k, v in d["pairs"])
    assert d["size"] == size
    names = [k for k, _ in d["pairs"]]
    assert names[0] == "QUERY_STRING" and names[-1].startswith("HTTP_")

    d = json.loads(get(bw.port, "/m/packet")[2])
    assert d["modifier1"] == 30 and d["modifier2"] == 255

    # near the limit: the vars block still fits its 16 bits
    status, _, body = get(bw.port, "/packet",
                          headers={"X-Fill": "f" * 60000})
    assert status == 200 and json.loads(body)["size"] > 60000

    # over it: refused here, as nginx, never sent
    before = len(bw.logs())
    status, _, _ = get(bw.port, "/packet",
                       headers={"X-Fill": "f" * 40000, "X-More": "m" * 30000})
    assert status == 500
    wait_for(lambda: "uwsgi request is too big: " in bw.logs()[before:],
             what="too big logged")
    status, _, _ = get(bw.port, "/ok")
    assert status == 200


def test_answers_framing_and_broken_ones(bw, packets):
    require_module("http_uwsgi")
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_buffer_size 4k;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % packets.port)

    status, headers, body = get(bw.port, "/split")
    assert status == 200 and body == b"fine\n"
    assert headers["content-type"] == "text/plain"
    status, headers, body = get(bw.port, "/cgi")
    assert status == 203 and headers["x-way"] == "cgi"
    assert headers["status"] == "203 Partial"     # not hidden for uwsgi
    assert body == b"cgi\n"
    status, _, body = get(bw.port, "/interim")
    assert status == 200 and body == b"after\n"
    status, _, body = get(bw.port, "/length")
    assert status == 200 and body == b"fine"
    status, _, body = get(bw.port, "/chunked")
    assert status == 200 and body == b"fine"

    cases = {
        "/badstatus": "upstream sent invalid status line",
        "/badheader": "upstream sent invalid header",
        "/bighead": "upstream sent too big header",
        "/cuthead": "upstream prematurely closed connection",
        "/both": "\"Content-Length\" and \"Transfer-Encoding\"",
    }
    for uri, message in cases.items():
        before = len(bw.logs())
        status, _, _ = get(bw.port, uri)
        assert status == 502, uri
        wait_for(lambda: message in bw.logs()[before:], what=message)
        status, _, body = get(bw.port, "/ok")
        assert status == 200 and body == b"fine\n"

    resp = raw(bw.port, b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200") and resp.endswith(b"short")


def test_uwsgi_cache(bw, uwsgi):
    require_module("http_uwsgi", "http_cache")
    serve(bw, """
    uwsgi_cache_path %s keys_zone=app:1m;
    server { listen 127.0.0.1:PORT;
        location / {
            include uwsgi_params;
            uwsgi_cache app;
            uwsgi_cache_key $request_uri;
            uwsgi_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
            uwsgi_pass 127.0.0.1:%d;
        }
    }""" % (bw.path("cache"), uwsgi.port))

    # the application's answer names the client's port: a new one each
    # time it runs
    status, h1, body1 = get(bw.port, "/env?c")
    assert status == 200 and h1["x-cache"] == "MISS"
    status, h2, body2 = get(bw.port, "/env?c")
    assert status == 200 and h2["x-cache"] == "HIT"
    assert body2 == body1

    bw.config("""
    uwsgi_cache_path %s keys_zone=app:1m;
    server { listen 127.0.0.1:PORT;
        location / { uwsgi_cache app; uwsgi_pass 127.0.0.1:9; } }
    """ % bw.path("cache"))
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'no "uwsgi_cache_key" for "uwsgi_cache"' in r.stderr


def test_config_errors_name_file_and_line(bw):
    require_module("http_uwsgi")
    cases = [
        ("uwsgi_buffers 1 4k;", 'there must be at least 2 "uwsgi_buffers"'),
        ("uwsgi_param A b maybe;", 'invalid parameter "maybe"'),
        ("uwsgi_modifier1 256;", "value must be between 0 and 255"),
        ("uwsgi_modifier2 x;", "invalid number"),
        ("uwsgi_busy_buffers_size 1k;",
         '"uwsgi_busy_buffers_size" must be equal to or greater than'),
        ("uwsgi_max_temp_file_size 1k;",
         '"uwsgi_max_temp_file_size" must be equal to zero'),
    ]
    for line, message in cases:
        bw.config("""
    server { listen 127.0.0.1:PORT;
        location / {
            %s
            uwsgi_pass 127.0.0.1:9;
        }
    }""" % line)
        r = bw.run("-t")
        assert r.returncode != 0
        assert message in r.stderr, r.stderr
        assert "bulwark.conf:" in r.stderr, r.stderr

    for target, message in (("nowhere", 'no port in upstream "nowhere"'),
                            ("suwsgi://127.0.0.1:9",
                             "suwsgi protocol is not supported")):
        bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { uwsgi_pass %s; } }""" % target)
        r = bw.run("-t")
        assert r.returncode != 0 and message in r.stderr, r.stderr

    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { uwsgi_ssl_verify on; uwsgi_pass 127.0.0.1:9; } }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'unknown directive "uwsgi_ssl_verify"' in r.stderr

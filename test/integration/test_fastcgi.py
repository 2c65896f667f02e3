"""
fastcgi_pass against Debian's PHP-FPM, started here on loopback and on a
unix socket with small PHP scripts written by the test: the parameters
PHP sees (the same as through Debian's nginx with the same
configuration), fastcgi_split_path_info, try_files in front of PHP,
status and headers set by the script, uploads, large output, keepalive
connections counted at PHP-FPM's status page, intercepted errors,
retries and timeouts; and a FastCGI server written here that sends
broken record streams, each answered with 502 and a log line while the
worker keeps serving.
"""

import glob
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import (NGINX, SRC, free_port, get, nginx_serving, pid_alive,
                      raw, require_module, wait_for)

FPM = sorted(glob.glob("/usr/sbin/php-fpm*"))

pytestmark = pytest.mark.skipif(
    not FPM, reason="php-fpm is not installed (scripts/deps test)")

SCRIPTS = {
    "info.php": r"""<?php
header('Content-Type: application/json');
$out = array();
foreach ($_SERVER as $k => $v) { if (is_string($v)) $out[$k] = $v; }
$body = file_get_contents('php://input');
$out['_body_len'] = strlen($body);
$out['_body_md5'] = md5($body);
$out['_post'] = $_POST;
echo json_encode($out);
""",
    "status.php": r"""<?php
http_response_code(404);
header('X-Script: status');
error_log('note from the script');
echo "not here\n";
""",
    "created.php": r"""<?php
header('Status: 201 Created');
header('X-Multi: one');
header('X-Multi: two', false);
echo "made\n";
""",
    "redirect.php": r"""<?php
header('Location: /elsewhere');
""",
    "big.php": r"""<?php
header('Content-Type: application/octet-stream');
$n = intval($_GET['mb']);
$block = str_repeat(md5('x', true), 65536);   /* 1 MiB */
for ($i = 0; $i < $n; $i++) { echo $block; }
""",
    "slow.php": r"""<?php
sleep(intval($_GET['s']));
echo "late\n";
""",
    "finish.php": r"""<?php
echo "done early\n";
fastcgi_finish_request();
sleep(4);
""",
    "counter.php": r"""<?php
/* a new number each time the script runs */
$f = sys_get_temp_dir() . '/bw-counter-' . getmypid();
$n = intval(@file_get_contents($f)) + 1;
file_put_contents($f, $n);
header('Cache-Control: max-age=60');
echo getmypid() . ':' . $n . ':' . microtime(true) . "\n";
""",
    "index.php": r"""<?php
echo "front controller: " . $_SERVER['REQUEST_URI'] . "\n";
""",
}


def php_fpm_conf(base, listen):
    user = "user = root\ngroup = root\n" if os.geteuid() == 0 else ""
    return """[global]
pid = {base}/fpm.pid
error_log = {base}/fpm-error.log
daemonize = no
[www]
{user}listen = {listen}
pm = static
pm.max_children = 3
pm.status_path = /fpm-status
catch_workers_output = no
php_admin_value[post_max_size] = 100M
php_admin_value[upload_max_filesize] = 100M
php_admin_value[memory_limit] = 256M
php_admin_flag[log_errors] = on
""".format(base=base, user=user, listen=listen)


class PhpFpm:
    def __init__(self, base):
        self.base = str(base)
        self.www = os.path.join(self.base, "www")
        os.makedirs(self.www, exist_ok=True)
        for name, text in SCRIPTS.items():
            with open(os.path.join(self.www, name), "w") as f:
                f.write(text)
        self.port = free_port()
        self.sock = os.path.join(self.base, "fpm.sock")
        # one pool on TCP, a second one on a unix socket
        self.conf = os.path.join(self.base, "fpm.conf")
        with open(self.conf, "w") as f:
            f.write(self.pools_conf())
        args = [FPM[0], "-y", self.conf, "-F"]
        if os.geteuid() == 0:
            args.append("-R")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                return True
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return os.path.exists(self.sock)
            except OSError:
                return False
        wait_for(up, what="php-fpm")
        assert self.proc.poll() is None, self.log()

    def pools_conf(self):
        head, pool = php_fpm_conf(self.base, "X").split("[www]\n", 1)
        tcp = pool.replace("listen = X", "listen = 127.0.0.1:%d" % self.port)
        unix = pool.replace("listen = X", "listen = %s" % self.sock)
        if os.geteuid() == 0:
            unix = unix.replace("listen = %s" % self.sock,
                                "listen = %s\nlisten.mode = 0666" % self.sock)
        return head + "[tcp]\n" + tcp + "[unix]\n" + unix

    def log(self):
        try:
            with open(os.path.join(self.base, "fpm-error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def fpm(tmp_path_factory):
    require_module("http_fastcgi")
    f = PhpFpm(tmp_path_factory.mktemp("fpm"))
    yield f
    f.stop()


def php_location(fpm, extra=""):
    return """
        location ~ [^/]\\.php(/|$) {
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            include fastcgi.conf;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            %s
            fastcgi_pass 127.0.0.1:%d;
        }
    """ % (extra, fpm.port)


def serve(bw, body):
    for name in ("fastcgi_params", "fastcgi.conf"):
        with open(os.path.join(SRC, "conf", name)) as f:
            bw.write("conf/" + name, f.read())
    bw.config(body)
    bw.start()


def info(port, path, **kw):
    status, headers, body = get(port, path, **kw)
    assert status == 200, body
    return json.loads(body)


def test_params_path_info_and_headers(bw, fpm):
    serve(bw, """
    server { listen 127.0.0.1:PORT; server_name front; root %s;
        %s
    }""" % (fpm.www, php_location(fpm)))

    d = info(bw.port, "/info.php/some/path?a=1&b=two",
             headers={"X-Custom-Thing": "v1", "Cookie": "c=1"})
    assert d["SCRIPT_NAME"] == "/info.php"
    assert d["PATH_INFO"] == "/some/path"
    assert d["SCRIPT_FILENAME"] == fpm.www + "/info.php"
    assert d["QUERY_STRING"] == "a=1&b=two"
    assert d["REQUEST_URI"] == "/info.php/some/path?a=1&b=two"
    assert d["DOCUMENT_URI"] == "/info.php/some/path"
    assert d["DOCUMENT_ROOT"] == fpm.www
    assert d["REQUEST_METHOD"] == "GET"
    assert d["SERVER_PORT"] == str(bw.port)
    assert d["SERVER_NAME"] == "front"
    assert d["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert d["SERVER_SOFTWARE"].startswith("bulwark/")
    assert d["HTTP_X_CUSTOM_THING"] == "v1"
    assert d["HTTP_COOKIE"] == "c=1"
    assert d["HTTP_HOST"] == "localhost"
    assert "HTTPS" not in d          # if_not_empty
    assert d["CONTENT_LENGTH"] == ""


def test_repeated_headers_joined_and_http_params_replace(bw, fpm):
    serve(bw, """
    server { listen 127.0.0.1:PORT; root %s;
        %s
    }""" % (fpm.www, php_location(
        fpm, "fastcgi_param HTTP_X_REPLACED from-config;")))

    req = (b"GET /info.php HTTP/1.1\r\nHost: h.example\r\n"
           b"X-Many: 1\r\nCookie: a=1\r\nX-Many: 2\r\nCookie: b=2\r\n"
           b"X-Replaced: from-client\r\nConnection: close\r\n\r\n")
    resp = raw(bw.port, req)
    body = json.loads(resp.split(b"\r\n\r\n", 1)[1].split(b"\r\n", 1)[1]
                      .rsplit(b"\r\n0\r\n", 1)[0])
    assert body["HTTP_X_MANY"] == "1, 2"
    assert body["HTTP_COOKIE"] == "a=1; b=2"
    assert body["HTTP_X_REPLACED"] == "from-config"
    assert body["HTTP_HOST"] == "h.example"


def test_parameters_across_several_records(bw, fpm):
    serve(bw, """
    large_client_header_buffers 8 16k;
    server { listen 127.0.0.1:PORT; root %s;
        %s
    }""" % (fpm.www, php_location(fpm)))

    # some 85k of parameters: two PARAMS records, each of whole pairs
    headers = {"X-Big-%d" % i: chr(97 + i) * (5000 + 37 * i)
               for i in range(16)}
    d = info(bw.port, "/info.php?q=1", headers=headers)
    for name, value in headers.items():
        assert d["HTTP_" + name.upper().replace("-", "_")] == value
    assert d["QUERY_STRING"] == "q=1"
    assert d["SCRIPT_NAME"] == "/info.php"


def test_status_headers_redirect_and_stderr(bw, fpm):
    serve(bw, """
    server { listen 127.0.0.1:PORT; root %s;
        %s
    }""" % (fpm.www, php_location(fpm)))

    status, headers, body = get(bw.port, "/status.php")
    assert status == 404 and headers["x-script"] == "status"
    assert body == b"not here\n"
    wait_for(lambda: "FastCGI sent in stderr" in bw.logs()
             and "note from the script" in bw.logs(), what="stderr logged")
    line = [l for l in bw.logs().splitlines() if "FastCGI sent" in l][0]
    assert 'upstream: "fastcgi://127.0.0.1:%d"' % fpm.port in line

    resp = raw(bw.port, b"GET /created.php HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"X-Multi: one\r\n" in resp and b"X-Multi: two\r\n" in resp
    assert b"\r\nStatus:" not in resp

    status, headers, _ = get(bw.port, "/redirect.php")
    assert status == 302 and headers["location"] == "/elsewhere"

    # HEAD: the header only
    resp = raw(bw.port, b"HEAD /created.php HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 201") and resp.endswith(b"\r\n\r\n")


def test_http2_clients(bw, fpm, tmp_path):
    require_module("http_v2")
    import shutil
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    serve(bw, """
    client_max_body_size 20m;
    server { listen 127.0.0.1:PORT; http2 on; root %s;
        %s
    }""" % (fpm.www, php_location(fpm)))

    def curl(*args):
        r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge",
                            "--max-time", "30"] + list(args),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    d = json.loads(curl("http://127.0.0.1:%d/info.php/p?x=1" % bw.port))
    assert d["SERVER_PROTOCOL"] == "HTTP/2.0"
    assert d["PATH_INFO"] == "/p" and d["QUERY_STRING"] == "x=1"

    # a body with its length, and one streamed without (chunks of DATA):
    # PHP reads CONTENT_LENGTH bytes either way
    payload = os.urandom(3 << 20)
    (tmp_path / "body").write_bytes(payload)
    for extra in ([], ["-H", "Content-Length:"]):
        out = curl("--data-binary", "@" + str(tmp_path / "body"),
                   "-H", "Content-Type: application/octet-stream",
                   *extra, "http://127.0.0.1:%d/info.php" % bw.port)
        d = json.loads(out)
        assert d["_body_len"] == len(payload), extra
        assert d["_body_md5"] == hashlib.md5(payload).hexdigest()
        assert d["CONTENT_LENGTH"] == str(len(payload))


def test_try_files_front_controller(bw, fpm):
    serve(bw, """
    server { listen 127.0.0.1:PORT; root %s; index index.php;
        location / { try_files $uri $uri/ /index.php?$args; }
        location ~ \\.php$ {
            try_files $uri =404;
            include fastcgi.conf;
            fastcgi_pass 127.0.0.1:%d;
        }
    }""" % (fpm.www, fpm.port))

    status, _, body = get(bw.port, "/pretty/url?x=1")
    assert status == 200
    assert body == b"front controller: /pretty/url?x=1\n"
    status, _, _ = get(bw.port, "/missing.php")
    assert status == 404
    status, _, body = get(bw.port, "/")
    assert status == 200 and body == b"front controller: /\n"


def test_uploads_buffered_and_chunked(bw, fpm):
    serve(bw, """
    client_max_body_size 100m;
    server { listen 127.0.0.1:PORT; root %s;
        %s
    }""" % (fpm.www, php_location(fpm)))

    payload = os.urandom(1 << 20) * 50           # 50 MiB, through a file
    d = info(bw.port, "/info.php", method="POST", timeout=120)
    assert d["_body_len"] == 0
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=120)
    conn.request("POST", "/info.php", body=payload,
                 headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    d = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert d["_body_len"] == len(payload)
    assert d["_body_md5"] == hashlib.md5(payload).hexdigest()
    assert d["CONTENT_LENGTH"] == str(len(payload))

    # a form, sent chunked: PHP parses it from the decoded body
    form = b"name=value&other=" + b"x" * 70000
    req = (b"POST /info.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")
    for i in range(0, len(form), 30000):
        piece = form[i:i + 30000]
        req += b"%x\r\n" % len(piece) + piece + b"\r\n"
    req += b"0\r\n\r\n"
    resp = raw(bw.port, req, timeout=30)
    assert resp.startswith(b"HTTP/1.1 200")
    text = resp.split(b"\r\n\r\n", 1)[1]
    assert b'"name":"value"' in text
    assert b'"_body_len":%d' % len(form) in text


def test_request_buffering_off_streams_records(bw, fpm):
    serve(bw, """
    client_max_body_size 100m;
    server { listen 127.0.0.1:PORT; root %s;
        location /s/ {
            rewrite ^/s(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_request_buffering off;
            client_body_buffer_size 100k;
            fastcgi_pass 127.0.0.1:%d;
        }
    }""" % (fpm.www, fpm.port))

    import http.client
    for size in (1, 32768, 100 * 1024 + 7, 3 << 20):
        payload = os.urandom(size)
        conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=60)
        conn.request("POST", "/s/info.php", body=payload,
                     headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        d = json.loads(resp.read())
        conn.close()
        assert resp.status == 200, size
        assert d["_body_len"] == size
        assert d["_body_md5"] == hashlib.md5(payload).hexdigest()

    # streamed: PHP-FPM has the request while the client still sends
    payload = os.urandom(300000)
    before = connections_to(fpm.port)
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=30)
    s.sendall(b"POST /s/info.php HTTP/1.0\r\nHost: x\r\n"
              b"Content-Length: %d\r\n\r\n" % len(payload)
              + payload[:150000])
    wait_for(lambda: connections_to(fpm.port) - before,
             what="the upstream connection before the body's end")
    s.sendall(payload[150000:])
    resp = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    d = json.loads(resp.split(b"\r\n\r\n", 1)[1])
    assert d["_body_md5"] == hashlib.md5(payload).hexdigest()


def test_large_output_to_slow_reader(bw, fpm):
    serve(bw, """
    server { listen 127.0.0.1:PORT; root %s;
        %s
    }""" % (fpm.www, php_location(fpm, "fastcgi_buffers 4 16k;")))

    expected = hashlib.md5(hashlib.md5(b"x").digest() * 65536 * 24)
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(b"GET /big.php?mb=24 HTTP/1.0\r\nHost: x\r\n\r\n")
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


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def test_100mb_to_a_slow_reader_keeps_memory_bounded(bw, fpm):
    # no temp file: only back-pressure keeps the worker small
    serve(bw, """
    server { listen 127.0.0.1:PORT; root %s;
        %s
    }""" % (fpm.www, php_location(fpm, "fastcgi_max_temp_file_size 0;")))

    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    get(bw.port, "/created.php")
    before = vm_kib(worker, "VmRSS")

    s = socket.create_connection(("127.0.0.1", bw.port), timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /big.php?mb=100 HTTP/1.0\r\nHost: x\r\n\r\n")
    got = 0
    peak = before
    digest = hashlib.md5()
    head = None
    raw_head = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        if head is None:
            raw_head += chunk
            if b"\r\n\r\n" not in raw_head:
                continue
            head, chunk = raw_head.split(b"\r\n\r\n", 1)
        got += len(chunk)
        digest.update(chunk)
        if got % (4 << 20) < len(chunk):
            peak = max(peak, vm_kib(worker, "VmRSS"))
            time.sleep(0.05)    # a slow reader: PHP is faster
    s.close()
    assert head.startswith(b"HTTP/1.1 200")
    assert got == 100 << 20
    expected = hashlib.md5()
    block = hashlib.md5(b"x").digest() * 65536
    for i in range(100):
        expected.update(block)
    assert digest.hexdigest() == expected.hexdigest()
    # the buffers of one response, not the response
    assert peak - before < 32 * 1024, (before, peak)


def fpm_accepted(port):
    """PHP-FPM's count of the requests its pool accepted."""
    status, _, body = get(port, "/fpm-status")
    assert status == 200, body
    m = re.search(rb"accepted conn:\s+(\d+)", body)
    return int(m.group(1))


def connections_to(port):
    """The client ports of every TCP connection to port on this host,
    open or in TIME_WAIT (whichever side closed first keeps it)."""
    seen = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local = int(fields[1].split(":")[1], 16)
            remote = int(fields[2].split(":")[1], 16)
            if local == port and remote:
                seen.add(remote)
            elif remote == port:
                seen.add(local)
    return seen


def test_keep_conn_reuses_connections(bw, fpm):
    serve(bw, """
    upstream php { server 127.0.0.1:%d; keepalive 2; }
    server { listen 127.0.0.1:PORT; root %s;
        location = /fpm-status {
            include fastcgi.conf;
            fastcgi_pass php; fastcgi_keep_conn on;
        }
        location /ka/ {
            rewrite ^/ka(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass php; fastcgi_keep_conn on;
        }
        location /close/ {
            rewrite ^/close(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass php;
        }
    }""" % (fpm.port, fpm.www))

    before = connections_to(fpm.port)
    accepted = fpm_accepted(bw.port)
    for i in range(20):
        status, _, body = get(bw.port, "/ka/created.php")
        assert status == 201 and body == b"made\n"
    kept = connections_to(fpm.port) - before
    assert fpm_accepted(bw.port) == accepted + 21

    before = connections_to(fpm.port)
    for i in range(20):
        status, _, _ = get(bw.port, "/close/created.php")
        assert status == 201
    closed = connections_to(fpm.port) - before
    # one new connection per request without keep_conn (the first may
    # take the pool's last one, which PHP-FPM then closes); one or two
    # with it. Counted by client port: Linux reuses a port still in
    # TIME_WAIT for a new loopback connection (tcp_tw_reuse=2), so a
    # new one may hide behind an old one's port now and then
    assert len(closed) >= 15, closed
    assert len(kept) <= 2, kept


def test_fastcgi_cache(bw, fpm):
    require_module("http_cache")
    serve(bw, """
    fastcgi_cache_path %s keys_zone=php:1m;
    server { listen 127.0.0.1:PORT; root %s;
        location / {
            include fastcgi.conf;
            fastcgi_cache php;
            fastcgi_cache_key $scheme$request_method$host$request_uri;
            fastcgi_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
            fastcgi_pass 127.0.0.1:%d;
        }
    }""" % (bw.path("cache"), fpm.www, fpm.port))

    status, h1, body1 = get(bw.port, "/counter.php?a")
    assert status == 200 and h1["x-cache"] == "MISS"
    status, h2, body2 = get(bw.port, "/counter.php?a")
    assert status == 200 and h2["x-cache"] == "HIT"
    assert body2 == body1
    assert h2["content-type"] == h1["content-type"]
    status, h3, body3 = get(bw.port, "/counter.php?b")
    assert h3["x-cache"] == "MISS" and body3 != body1
    # a HEAD is not answered from, nor stored as, the GET's entry
    resp = raw(bw.port, b"HEAD /counter.php?c HTTP/1.0\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200") and resp.endswith(b"\r\n\r\n")

    bw.config("""
    fastcgi_cache_path %s keys_zone=php:1m;
    server { listen 127.0.0.1:PORT;
        location / { fastcgi_cache php; fastcgi_pass 127.0.0.1:9; } }
    """ % bw.path("cache"))
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'no "fastcgi_cache_key" for "fastcgi_cache"' in r.stderr


def test_intercept_errors_and_unix_socket(bw, fpm):
    bw.write("html/sorry.html", "custom not found\n")
    serve(bw, """
    server { listen 127.0.0.1:PORT; root %s;
        error_page 404 /sorry.html;
        location = /sorry.html { root %s; }
        location /i/ {
            rewrite ^/i(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_intercept_errors on;
            fastcgi_pass unix:%s;
        }
        location /v/ {
            set $app unix:%s;
            rewrite ^/v(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass $app;
        }
    }""" % (fpm.www, bw.path("html"), fpm.sock, fpm.sock))

    status, _, body = get(bw.port, "/i/status.php")
    assert status == 404 and body == b"custom not found\n"
    status, _, body = get(bw.port, "/v/status.php")
    assert status == 404 and body == b"not here\n"
    status, _, body = get(bw.port, "/v/created.php")
    assert status == 201 and body == b"made\n"


def test_next_upstream_and_timeout(bw, fpm):
    dead = free_port()
    serve(bw, """
    upstream pair { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT; root %s;
        location /r/ {
            rewrite ^/r(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass pair;
        }
        location /t/ {
            rewrite ^/t(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_read_timeout 1s;
            fastcgi_pass 127.0.0.1:%d;
        }
        location /f/ {
            rewrite ^/f(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass 127.0.0.1:%d;
        }
    }""" % (dead, fpm.port, fpm.www, fpm.port, fpm.port))

    for i in range(4):
        status, _, body = get(bw.port, "/r/created.php")
        assert status == 201 and body == b"made\n"
    assert "connect() failed" in bw.logs()

    status, _, _ = get(bw.port, "/t/slow.php?s=3", timeout=30)
    assert status == 504
    assert "upstream timed out" in bw.logs()

    # fastcgi_finish_request(): the answer is complete before the
    # script ends (it sleeps 4 s afterwards)
    t0 = time.monotonic()
    status, _, body = get(bw.port, "/f/finish.php", timeout=30)
    assert status == 200 and body == b"done early\n"
    assert time.monotonic() - t0 < 3.5


# --- a FastCGI server that misbehaves ------------------------------------

def record(rtype, content, rid=1, version=1, padding=0):
    return struct.pack(">BBHHBB", version, rtype, rid, len(content),
                       padding, 0) + content + b"\0" * padding


END = record(3, b"\0\0\0\0\0\0\0\0")


class BadServer:
    """Reads one FastCGI request per connection (up to the empty STDIN
    record) and answers with what the request's URI names."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop_flag = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answers(self, uri):
        ok = b"Content-Type: text/plain\r\n\r\nfine\n"
        if uri == "/ok":
            return record(6, ok) + record(6, b"") + END
        if uri == "/split":
            # records split anywhere, padding, an empty STDOUT between
            return (record(6, b"Content-Ty", padding=6)
                    + record(6, b"") + record(6, b"pe: text/plain\r\n")
                    + record(7, b"warning\n", padding=3)
                    + record(6, b"\r\nfi") + record(6, b"ne\n", padding=5)
                    + END)
        if uri == "/version":
            return record(6, ok, version=2) + END
        if uri == "/type":
            return record(9, b"xx") + END
        if uri == "/id":
            return record(6, ok, rid=7) + END
        if uri == "/noend":
            return record(6, b"Content-Type: text/pl")
        if uri == "/bighead":
            return record(6, b"X-Big: " + b"a" * 60000 + b"\r\n\r\nx") + END
        if uri == "/stderr":
            flood = b"".join(record(7, b"e" * 8000) for i in range(200))
            return flood + record(6, ok) + END
        if uri == "/status":
            return record(6, b"Status: abc\r\n\r\n") + END
        if uri == "/cut":
            return record(6, b"Content-Length: 100\r\n\r\nshort") + END
        return record(6, b"Status: 404\r\n\r\n") + END

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop_flag:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        c.settimeout(5)
        buf = b""
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
                params, done = self.scan(buf)
                if done:
                    break
            uri = params.get(b"DOCUMENT_URI", b"").decode()
            c.sendall(self.answers(uri))
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def scan(buf):
        params = b""
        pos = 0
        while pos + 8 <= len(buf):
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB",
                                                       buf[pos:pos + 8])
            if pos + 8 + clen + plen > len(buf):
                break
            content = buf[pos + 8:pos + 8 + clen]
            if rtype == 4:
                params += content
            if rtype == 5 and clen == 0:
                return BadServer.pairs(params), True
            pos += 8 + clen + plen
        return {}, False

    @staticmethod
    def pairs(data):
        out = {}
        i = 0

        def length():
            nonlocal i
            if data[i] < 128:
                i += 1
                return data[i - 1]
            n = struct.unpack(">I", data[i:i + 4])[0] & 0x7fffffff
            i += 4
            return n
        while i < len(data):
            kl = length()
            vl = length()
            out[data[i:i + kl]] = data[i + kl:i + kl + vl]
            i += kl + vl
        return out

    def close(self):
        self.stop_flag = True
        self.sock.close()


@pytest.fixture
def bad():
    s = BadServer()
    yield s
    s.close()


def test_broken_record_streams_get_502(bw, bad):
    require_module("http_fastcgi")
    serve(bw, """
    server { listen 127.0.0.1:PORT;
        location / {
            include fastcgi_params;
            fastcgi_buffer_size 4k;
            fastcgi_pass 127.0.0.1:%d;
        }
        location /caught/ {
            rewrite ^/caught(/.*)$ $1 break;
            include fastcgi_params;
            fastcgi_catch_stderr "eeee";
            fastcgi_pass 127.0.0.1:%d;
        }
    }""" % (bad.port, bad.port))

    status, _, body = get(bw.port, "/ok")
    assert status == 200 and body == b"fine\n"
    status, headers, body = get(bw.port, "/split")
    assert status == 200 and body == b"fine\n"
    assert headers["content-type"] == "text/plain"

    cases = {
        "/version": "unsupported FastCGI protocol version",
        "/type": "invalid FastCGI record type: 9",
        "/id": "unexpected FastCGI request id",
        "/noend": "upstream prematurely closed",
        "/bighead": "upstream sent too big header",
        "/status": "upstream sent invalid status \"abc\"",
    }
    for uri, message in cases.items():
        status, _, _ = get(bw.port, uri)
        assert status == 502, uri
        wait_for(lambda: message in bw.logs(), what=message)
        # the worker goes on serving
        status, _, body = get(bw.port, "/ok")
        assert status == 200 and body == b"fine\n"

    status, _, body = get(bw.port, "/stderr")
    assert status == 200 and body == b"fine\n"
    # fastcgi_catch_stderr: the same answer is a failure
    status, _, _ = get(bw.port, "/caught/stderr")
    assert status == 502
    wait_for(lambda: 'matched "fastcgi_catch_stderr"' in bw.logs(),
             what="catch_stderr logged")

    # a body shorter than its Content-Length: the client sees it cut
    resp = raw(bw.port, b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200")
    assert resp.endswith(b"short")
    wait_for(lambda: "upstream prematurely closed FastCGI stdout" in
             bw.logs(), what="cut logged")
    status, _, body = get(bw.port, "/ok")
    assert status == 200


def test_config_errors_name_file_and_line(bw):
    require_module("http_fastcgi")
    cases = [
        ("fastcgi_split_path_info ^(.+\\.php)$;",
         'pattern "^(.+\\.php)$" must have 2 captures'),
        ("fastcgi_param A b maybe;", 'invalid parameter "maybe"'),
        ("fastcgi_buffers 1 4k;",
         'there must be at least 2 "fastcgi_buffers"'),
        ("fastcgi_busy_buffers_size 1k;",
         '"fastcgi_busy_buffers_size" must be equal to or greater than'),
    ]
    for line, message in cases:
        bw.config("""
    server { listen 127.0.0.1:PORT;
        location ~ \\.php$ {
            %s
            fastcgi_pass 127.0.0.1:9;
        }
    }""" % line)
        r = bw.run("-t")
        assert r.returncode != 0
        assert message in r.stderr, r.stderr
        assert "bulwark.conf:" in r.stderr, r.stderr

    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { fastcgi_pass nowhere; } }""")
    r = bw.run("-t")
    assert r.returncode != 0 and 'no port in upstream "nowhere"' in r.stderr


# --- the same requests through Debian's nginx -----------------------------

PARITY_SKIP = {"REMOTE_PORT", "SERVER_PORT", "SERVER_SOFTWARE",
               "REQUEST_TIME", "REQUEST_TIME_FLOAT", "HTTP_HOST"}


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_params_parity_with_nginx(bw, fpm, tmp_path):
    with open(os.path.join(SRC, "conf", "fastcgi.conf")) as f:
        params = f.read().replace("bulwark/$bulwark_version",
                                  "nginx/$nginx_version")
    ngport = free_port()
    server = """
    server { listen 127.0.0.1:%%d; server_name parity; root %s;
        location / { try_files $uri $uri/ /index.php?$args; }
        location = /idx/ {
            include %%s;
            fastcgi_index index.php;
            fastcgi_pass 127.0.0.1:%d;
        }
        location ~ [^/]\\.php(/|$) {
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            include %%s;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param HTTP_PROXY "";
            fastcgi_index index.php;
            fastcgi_pass 127.0.0.1:%d;
        }
    }""" % (fpm.www, fpm.port, fpm.port)
    (tmp_path / "nginx").mkdir(exist_ok=True)
    (tmp_path / "nginx" / "fcgi.conf").write_text(params)
    bw.write("conf/fcgi.conf", params)
    bw.config(server.replace("%%", "%") % (bw.port, "fcgi.conf",
                                           "fcgi.conf"))
    bw.start()

    requests = [
        ("GET", "/info.php", {}, None),
        ("GET", "/info.php/a/b%20c?x=1&y=%2F", {"X-Dash-Name": "1",
                                                 "Proxy": "evil:1"}, None),
        ("POST", "/info.php?q", {"Content-Type":
                                 "application/x-www-form-urlencoded"},
         b"k=v&k2=v2"),
        ("GET", "/dir/info.php", {}, None),
        ("GET", "/info.php/", {"Accept": "text/html",
                               "Accept-Language": "en"}, None),
        # fastcgi_index after a script name that ends with "/"
        ("GET", "/idx/", {}, None),
    ]
    for d in ("dir", "idx"):
        os.makedirs(os.path.join(fpm.www, d), exist_ok=True)
    with open(os.path.join(fpm.www, "dir", "info.php"), "w") as f:
        f.write(SCRIPTS["info.php"])
    with open(os.path.join(fpm.www, "idx", "index.php"), "w") as f:
        f.write(SCRIPTS["info.php"])

    ours = []
    for method, path, headers, body in requests:
        ours.append(fetch(bw.port, method, path, headers, body))
    ngparams = str(tmp_path / "nginx" / "fcgi.conf")
    with nginx_serving(tmp_path, server.replace("%%", "%") % (
            ngport, ngparams, ngparams), ngport):
        theirs = [fetch(ngport, m, p, h, b) for m, p, h, b in requests]

    for (method, path, _, _), a, b in zip(requests, ours, theirs):
        assert a[0] == b[0], path
        ka = {k: v for k, v in a[1].items() if k not in PARITY_SKIP}
        kb = {k: v for k, v in b[1].items() if k not in PARITY_SKIP}
        assert ka == kb, (method, path)
        assert a[1]["SERVER_SOFTWARE"].startswith("nginx/")
    assert ours[-1][1]["SCRIPT_NAME"] == "/idx/index.php"
    # 'fastcgi_param HTTP_PROXY "";' keeps the client's Proxy away
    assert "HTTP_PROXY" not in ours[1][1]


def fetch(port, method, path, headers, body):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        h = {"Host": "parity.example"}
        h.update(headers)
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if resp.status == 200 else {}
    finally:
        conn.close()

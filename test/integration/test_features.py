"""Access logs, headers and expires, listen variants, keepalive limits,
and the command-line paths."""

import json
import os
import random
import socket
import signal
import threading
import time

from conftest import get, pid_alive, raw, require_module, status_of, wait_for


def test_access_log_formats(bw):
    require_module("http_log", "http_rewrite")
    bw.config(r"""
    log_format js escape=json '{"uri":"$request_uri","ua":"$http_user_agent",'
                              '"status":$status,"id":"$request_id",'
                              '"bytes":$body_bytes_sent,"t":"$time_iso8601"}';
    server {
        listen 127.0.0.1:PORT;
        access_log logs/json.log js;
        access_log logs/buffered.log combined buffer=64k flush=200ms;
        location / { return 200 "hello\n"; }
        location /quiet/ { access_log off; return 204; }
    }
""")
    bw.start()
    raw(bw.port, b'GET /a?q=1 HTTP/1.0\r\nUser-Agent: evil"\\agent\xc3\xa9'
                 b'\r\n\r\n')
    get(bw.port, "/quiet/x")
    jl = bw.path("logs", "json.log")
    wait_for(lambda: os.path.exists(jl) and open(jl).read().strip(),
             what="json log line")
    lines = open(jl).read().strip().split("\n")
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["uri"] == "/a?q=1"
    assert entry["ua"] == 'evil"\\agent\u00e9'
    assert entry["status"] == 200 and entry["bytes"] == 6
    assert len(entry["id"]) == 32 and int(entry["id"], 16) >= 0
    # the buffered log is written by its flush timer
    bl = bw.path("logs", "buffered.log")
    wait_for(lambda: os.path.exists(bl) and '"GET /a?q=1 HTTP/1.0" 200 6'
             in open(bl).read(), what="buffered log flush")
    assert "/quiet/" not in open(bl).read()


def test_access_log_gzip_and_variables_in_path(bw):
    require_module("http_log", "http_rewrite", "http_gzip")
    import gzip
    os.makedirs(bw.path("html", "a.example"), exist_ok=True)
    bw.config(r"""
    log_format short '$host $request_uri $status';
    server {
        listen 127.0.0.1:PORT;
        server_name ~^(?<site>[a-z.]+)$;
        root html/$site;
        access_log logs/$site.log short;
        access_log logs/all.log.gz short gzip=6 flush=200ms;
        access_log logs/small.log.gz short gzip buffer=1k;
        location / { return 200 "ok\n"; }
        location /q/ {
            root html;
            access_log logs/$arg_f.log short;
            return 200 "q\n";
        }
    }
""")
    bw.start()
    get(bw.port, "/one", host="a.example")
    get(bw.port, "/two", host="a.example")
    # no such site's root: no log file made for it (nginx's rule)
    get(bw.port, "/three", host="b.example")

    per_site = bw.path("logs", "a.example.log")
    wait_for(lambda: os.path.exists(per_site)
             and open(per_site).read().count("\n") == 2, what="site log")
    assert open(per_site).read() == ("a.example /one 200\n"
                                     "a.example /two 200\n")
    wait_for(lambda: 'b.example" existence failed' in bw.logs(),
             what="the missing root logged")
    # a path that climbs out of where it was put is not opened
    get(bw.port, "/q/?f=../../escaped", host="a.example")
    wait_for(lambda: 'access_log path "logs/../../escaped.log" is refused'
             in bw.logs(), what="the refused path logged")
    assert not os.path.exists(os.path.join(bw.prefix, "..", "escaped.log"))
    assert not os.path.exists(bw.path("logs", "b.example.log"))

    # each flush a gzip member: the file reads whole at every point
    gz = bw.path("logs", "all.log.gz")

    def unzipped():
        if not os.path.exists(gz):
            return ""
        return gzip.decompress(open(gz, "rb").read()).decode()
    wait_for(lambda: unzipped().count("\n") >= 3, what="gzip log flush")
    text = unzipped()
    # (/q/ has access_log of its own: the server's are not inherited)
    assert text.splitlines() == ["a.example /one 200", "a.example /two 200",
                                 "b.example /three 200"]
    get(bw.port, "/four", host="a.example")
    wait_for(lambda: "/four" in unzipped(), what="another gzip member")

    # a line longer than the buffer: a member of its own, not raw bytes
    long_uri = "/" + "x" * 2000
    get(bw.port, long_uri, host="a.example")
    get(bw.port, "/after", host="a.example")
    bw.signal(signal.SIGUSR1)       # reopen: what is buffered goes out
    small = bw.path("logs", "small.log.gz")
    wait_for(lambda: os.path.exists(small) and "/after" in gzip.decompress(
        open(small, "rb").read()).decode(), what="the small gzip log")
    lines = gzip.decompress(open(small, "rb").read()).decode().splitlines()
    assert "a.example %s 200" % long_uri in lines

    # a request refused before it has a URI: no root to test, no crash
    resp = raw(bw.port, b"GARBAGE\r\n\r\n")
    assert status_of(resp) == 400
    assert get(bw.port, "/five", host="a.example")[0] == 200

    for line, message in (
            ("access_log logs/$host.log combined buffer=4k;",
             "buffered logs cannot have variables in name"),
            ("access_log logs/x.gz combined gzip=10;",
             'invalid compression level "10"')):
        bw.config("server { listen 127.0.0.1:PORT; %s }" % line)
        r = bw.run("-t")
        assert r.returncode != 0 and message in r.stderr, r.stderr


def test_add_header_and_expires(bw):
    require_module("http_headers", "http_rewrite")
    bw.config("""
    add_header X-Outer outer;
    server {
        listen 127.0.0.1:PORT;
        server_tokens off;
        location / { return 200 "a"; }
        location /own/ {
            add_header X-Own own;
            add_header X-Always yes always;
            expires 1h;
            return 200 "b";
        }
        location /missing/ { add_header X-Always yes always;
                             add_header X-Ok only-ok; return 404; }
        location /epoch/ { expires epoch; return 200 "c"; }
    }
""")
    bw.start()
    st, h, _ = get(bw.port, "/")
    assert h["x-outer"] == "outer"
    assert h["server"] == "bulwark"
    st, h, _ = get(bw.port, "/own/")
    # a level with its own add_header does not inherit the outer ones
    assert "x-outer" not in h and h["x-own"] == "own"
    assert h["cache-control"] == "max-age=3600"
    assert "expires" in h
    st, h, _ = get(bw.port, "/missing/")
    assert st == 404 and h["x-always"] == "yes" and "x-ok" not in h
    st, h, _ = get(bw.port, "/epoch/")
    assert h["expires"] == "Thu, 01 Jan 1970 00:00:01 GMT"
    assert h["cache-control"] == "no-cache"


def test_sent_http_joins_and_duplicate_expires(bw):
    """As nginx since 1.23: $sent_http_NAME of a header that goes out
    more than once is all of them, joined with ", " ("; " for
    Set-Cookie); an upstream's second Expires is dropped (with a
    warning), so expires and caches see one."""
    require_module("http_headers_filter", "http_proxy")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    answer = (b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-M: 1\r\n"
              b"Expires: Thu, 01 Jan 2037 00:00:00 GMT\r\nSet-Cookie: b=2"
              b"\r\nExpires: Fri, 02 Jan 2037 00:00:00 GMT\r\nX-M: 2\r\n"
              b"Content-Length: 2\r\nConnection: close\r\n\r\nok")

    def serve():
        for _ in range(2):
            c, _ = srv.accept()
            with c:
                c.recv(65536)
                c.sendall(answer)
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:%d;
            add_header X-S
                "$sent_http_x_m|$sent_http_set_cookie|$sent_http_expires"; }
        location /exp/ { proxy_pass http://127.0.0.1:%d; expires 1h; } }
    """ % (srv.getsockname()[1], srv.getsockname()[1]))
    bw.start()
    resp = raw(bw.port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close"
                        b"\r\n\r\n")
    head = resp.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert b"X-S: 1, 2|a=1; b=2|Thu, 01 Jan 2037 00:00:00 GMT" in head, head
    assert [l for l in head if l.startswith(b"Expires:")] == [
        b"Expires: Thu, 01 Jan 2037 00:00:00 GMT"]
    resp = raw(bw.port, b"GET /exp/ HTTP/1.1\r\nHost: a\r\n"
                        b"Connection: close\r\n\r\n")
    head = resp.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert len([l for l in head if l.startswith(b"Expires:")]) == 1, head
    assert b"Cache-Control: max-age=3600" in head, head
    t.join(timeout=5)
    srv.close()
    assert "upstream sent duplicate header line" in bw.logs()


def test_client_body_in_file_only(bw):
    """"on" leaves the body's file behind, named by $request_body_file,
    "clean" removes it when the request is done, "off" (the default)
    names none; the file holds the body."""
    require_module("http_proxy", "http_rewrite")
    bw.config("""
    log_format f '$request_body_file';
    server { listen 127.0.0.1:PORT;
        access_log logs/files.log f;
        client_body_temp_path body;
        location /sink { return 200 "sunk"; }
        location /on/ { client_body_in_file_only on;
                        proxy_pass http://127.0.0.1:PORT/sink; }
        location /clean/ { client_body_in_file_only clean;
                           proxy_pass http://127.0.0.1:PORT/sink; }
        location /off/ { client_body_in_file_only off;
                         proxy_pass http://127.0.0.1:PORT/sink; } }
    """)
    bw.start()

    def logged():
        with open(bw.path("logs", "files.log")) as f:
            return [l for l in f.read().splitlines() if l != "-"]
    for where in ("on", "clean", "off"):
        resp = raw(bw.port, b"POST /%s/ HTTP/1.1\r\nHost: a\r\n"
                            b"Content-Length: 4\r\nConnection: close\r\n"
                            b"\r\nbody" % where.encode())
        assert resp.endswith(b"sunk"), resp
    wait_for(lambda: len(logged()) == 2, what="two file names logged")
    kept, cleaned = logged()
    assert os.path.dirname(kept) == bw.path("body")
    with open(kept) as f:
        assert f.read() == "body"
    assert not os.path.exists(cleaned)
    assert os.listdir(bw.path("body")) == [os.path.basename(kept)]
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    bw.write("conf/bulwark.conf", open(bw.conf).read().replace(
        "client_body_in_file_only off", "client_body_in_file_only maybe"))
    r = bw.run("-t")
    assert r.returncode != 0 and "invalid value \"maybe\"" in r.stderr, \
        r.stderr


def free_port_range(n):
    """n consecutive free loopback ports (a bounded search), below the
    ephemeral range where outgoing connections take their ports."""
    rng = random.Random()
    for _ in range(50):
        base = rng.randrange(20000, 32000)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d free ports in a row" % n)


def test_listen_port_range(bw):
    """"listen 127.0.0.1:A-B" listens on each port of the range, as
    nginx; a range that is none is refused."""
    require_module("http_rewrite")
    base = free_port_range(3)
    bw.config("""
    server { listen 127.0.0.1:%d-%d; listen 127.0.0.1:PORT;
             return 200 "$server_port\n"; }
    """ % (base, base + 2))
    bw.start()
    for p in range(base, base + 3):
        bw.wait_port(p)
        st, _, body = get(p, "/")
        assert (st, body) == (200, b"%d\n" % p)
    bw.config("server { listen 127.0.0.1:9002-9001; }")
    r = bw.run("-t")
    assert r.returncode != 0 and "invalid port range" in r.stderr, r.stderr


def test_listen_unix_and_ipv6(bw):
    sock = bw.path("logs", "b.sock")
    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        listen unix:%s;
        return 200 "any\\n";
    }
""" % sock)
    bw.start()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    assert status_of(data) == 200 and data.endswith(b"any\n")


def test_ipv6_loopback(bw):
    if not socket.has_ipv6:
        return
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        # no ::1 on this machine: the v4 listener alone is tested
        bw.config('server { listen 127.0.0.1:PORT; return 200 "v4"; }')
        bw.start()
        assert get(bw.port, "/")[0] == 200
        return
    bw.config("""
    server { listen [::1]:PORT ipv6only=on; return 200 "v6\\n"; }
""")
    bw.start(wait_port=False)
    def up():
        try:
            socket.create_connection(("::1", bw.port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, what="ipv6 listener")
    resp = raw(bw.port, b"GET / HTTP/1.0\r\n\r\n", host="::1")
    assert resp.endswith(b"v6\n")


def test_keepalive_limits(bw):
    bw.config("""
    keepalive_requests 2;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "k\\n"; }
        location /nokeep/ { keepalive_timeout 0; return 200 "n\\n"; }
    }
""")
    bw.start()
    req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    resp = raw(bw.port, req * 3)
    # the second response announces the close; the third never comes
    assert resp.count(b"HTTP/1.1 200") == 2
    assert resp.count(b"Connection: keep-alive") == 1
    assert resp.count(b"Connection: close") == 1
    resp = raw(bw.port, b"GET /nokeep/ HTTP/1.1\r\nHost: a\r\n\r\n" + req)
    assert resp.count(b"HTTP/1.1 200") == 1
    # HTTP/1.0 keeps alive only when asked
    resp = raw(bw.port, b"GET / HTTP/1.0\r\n\r\n" + req)
    assert resp.count(b"HTTP/1.") == 1
    resp = raw(bw.port, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
               b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert resp.count(b"HTTP/1.") == 2


def test_keepalive_timeout_closes_idle(bw):
    bw.config("""
    keepalive_timeout 300ms;
    server { listen 127.0.0.1:PORT; return 200 "t\\n"; }
""")
    bw.start()
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        first = s.recv(4096)
        assert status_of(first) == 200
        start = time.monotonic()
        assert s.recv(4096) == b""
        assert time.monotonic() - start < 4


def test_expect_continue_without_body_reader(bw):
    bw.config('server { listen 127.0.0.1:PORT; return 200 "e\\n"; }')
    bw.start()
    resp = raw(bw.port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                        b"Expect: 100-continue\r\n\r\n")
    # answered without "100 Continue"; the body framing is unknown, so
    # the connection is not reused
    assert status_of(resp) == 200
    assert b"100 Continue" not in resp
    assert b"Connection: close" in resp


def test_error_log_option_and_relative_prefix(bw, tmp_path):
    bw.config('server { listen 127.0.0.1:PORT; return 200; }')
    r = bw.run("-t", "-e", "logs/other.log")
    assert r.returncode == 0
    assert os.path.exists(bw.path("logs", "other.log"))
    r = bw.run("-t", "-e", "stderr")
    assert r.returncode == 0


def test_location_error_log(bw):
    require_module("http_static")
    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        root html;
        location /loud/ { error_log logs/loud.log info; }
    }
""")
    bw.start()
    assert get(bw.port, "/loud/nothing")[0] == 404
    loud = bw.path("logs", "loud.log")
    wait_for(lambda: os.path.exists(loud) and "nothing" in open(loud).read(),
             what="location error log")


def test_worker_connections_reuses_idle(bw):
    bw.config('server { listen 127.0.0.1:PORT; return 200 "w\\n"; }')
    bw.write("conf/bulwark.conf", open(bw.conf).read().replace(
        "worker_connections 256;", "worker_connections 4;"))
    bw.start()
    # the listener and the master channel take two slots: two clients
    idle = []
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert status_of(s.recv(4096)) == 200
        idle.append(s)
    # a third client gets a slot by closing the oldest idle connection
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"w\n"
    assert "worker_connections are not enough" in bw.logs()
    # the oldest one went
    idle[0].settimeout(5)
    try:
        assert idle[0].recv(10) == b""
    except ConnectionResetError:
        pass
    for s in idle:
        s.close()


def test_debug_log(bw):
    r = bw.run("-V")
    if "--with-debug" not in r.stderr:
        return      # debug logging is compiled out of this build
    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        location /dbg/ { error_log logs/debug.log debug; return 200; }
    }
""")
    bw.start()
    get(bw.port, "/dbg/x")
    log = bw.path("logs", "debug.log")
    wait_for(lambda: os.path.exists(log) and "http write filter" in
             open(log).read(), what="debug lines")
    text = open(log).read()
    assert '[debug]' in text and 'using configuration "/dbg/"' in text


def test_charset_and_redirect_names(bw):
    require_module("http_charset", "http_static")
    bw.config("""
    include mime.types;
    charset utf-8;
    server {
        listen 127.0.0.1:PORT;
        server_name canonical.test;
        root html;
        location /named/ { server_name_in_redirect on; }
        location /bin/ { charset off; }
        location /js/ { charset_types application/json; }
    }
""")
    for d in ("dir", "named/dir", "bin", "js"):
        os.makedirs(bw.path("html", d), exist_ok=True)
    bw.write("html/a.html", "a")
    bw.write("html/a.png", "p")
    bw.write("html/bin/a.html", "b")
    bw.write("html/js/a.json", "{}")
    bw.write("html/js/a.txt", "t")
    bw.start()
    assert get(bw.port, "/a.html")[1]["content-type"] == \
        "text/html; charset=utf-8"
    assert get(bw.port, "/a.png")[1]["content-type"] == "image/png"
    assert get(bw.port, "/bin/a.html")[1]["content-type"] == "text/html"
    assert get(bw.port, "/js/a.json")[1]["content-type"] == \
        "application/json; charset=utf-8"
    # charset_types replaces the default list (text/html stays)
    assert get(bw.port, "/js/a.txt")[1]["content-type"] == "text/plain"

    st, h, _ = get(bw.port, "/dir", host="other.test")
    assert h["location"] == "http://other.test:%d/dir/" % bw.port
    st, h, _ = get(bw.port, "/named/dir", host="other.test")
    assert h["location"] == "http://canonical.test:%d/named/dir/" % bw.port


def test_buffered_log_after_a_failed_reload(bw):
    """A configuration that fails after a buffered access_log line must
    leave nothing behind: the next one's pool may take the same memory
    (the list of buffered logs outlived it and was written into)."""
    require_module("http_log", "http_rewrite")
    good = """
    server {
        listen 127.0.0.1:PORT;
        access_log logs/buffered.log combined buffer=64k flush=1h;
        access_log logs/other.log combined buffer=8k;
        location / { return 200 "%s\\n"; }
    }
"""
    bw.config(good % "one")
    master = bw.start()
    for i in range(3):
        # fails in the parser, after both buffered logs were set up
        bw.config((good % "bad") + "\n    retrun 200;\n")
        bw.signal(signal.SIGHUP)
        wait_for(lambda: bw.logs().count("configuration reload failed")
                 > i, what="the failed reload")
        bw.config(good % ("v%d" % i))
        bw.signal(signal.SIGHUP)
        wait_for(lambda: get(bw.port, "/x%d" % i)[2] == b"v%d\n" % i,
                 what="the new configuration")
    # the buffer flushes at exit: a long flush time, a graceful stop
    get(bw.port, "/last")
    bw.signal(signal.SIGQUIT)
    wait_for(lambda: not pid_alive(master), what="the master to exit")
    text = open(bw.path("logs", "buffered.log")).read()
    assert '"GET /last HTTP/1.1" 200 3' in text, text
    assert '"GET /last HTTP/1.1" 200 3' in open(
        bw.path("logs", "other.log")).read()

"""
Upstream behaviours shown side by side with Debian's nginx, the same
configuration and origins behind both: servers marked down, the
X-Accel-Redirect URI, proxy_pass with variables naming a unix socket,
an upstream server written 0.0.0.0:port.
"""

import json
import os

from conftest import free_port, needs_nginx, nginx_serving, raw, \
    require_module
from origin import Origin

pytestmark = needs_nginx

HTTP = """
    upstream down3 { server 127.0.0.1:%(dead)d down; server 127.0.0.1:%(o1)d;
                     server 127.0.0.1:%(o2)d; }
    upstream alldown { server 127.0.0.1:%(o1)d down;
                       server 127.0.0.1:%(o2)d down; }
    upstream any { server 0.0.0.0:%(o1)d; }
    server { listen 127.0.0.1:%(port)d;
        location /d/ { proxy_pass http://down3/;
                       proxy_next_upstream error http_502; }
        location /ad/ { proxy_pass http://alldown/; }
        location /any/ { proxy_pass http://any/; }
        location /v/ { set $t unix:%(sock)s:/echo/v;
                       proxy_pass http://$t; }
        location /vu/ { set $t unix:%(sock)s:/echo;
                        proxy_pass http://$t$request_uri; }
        location /acc/ { proxy_pass http://127.0.0.1:%(o1)d/; }
        location /in/ { internal; return 200 "in:$uri|$args\\n"; }
        location @named { return 200 "named:$uri\\n"; }
    }
"""

REQUESTS = [
    # down servers are no attempts: with the others failed, the client
    # gets the last answer; then both are out for fail_timeout
    "/d/status/200", "/d/status/502", "/d/status/502", "/d/status/200",
    "/ad/status/200",
    "/any/status/200", "/v/x", "/vu/a?b=1",
    # the origin URL-decodes "to" once: %2520 reaches the header as %20
    "/acc/accel?to=/in/a%2520b", "/acc/accel?to=/in/%2541?x=%2541",
    "/acc/accel?to=/in/foo/.%252e/x", "/acc/accel?to=/in/foo/%252e%252e",
    "/acc/accel?to=/in/foo/../x", "/acc/accel?to=/in/%252fx",
    "/acc/accel?to=@named", "/acc/accel?to=/in/%2500x",
]


def view(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    keep = [l for l in lines[1:]
            if not l.lower().startswith((b"date:", b"server:"))]
    if body.startswith(b"{"):
        echo = json.loads(body)
        # the Host each proxy sends names the origin's port: the same
        body = (echo["method"], echo["path"], echo["name"])
    elif b"<hr><center>" in body:
        body = body.split(b"<hr>")[0]
        keep = [l for l in keep if not l.lower().startswith(
            b"content-length:")]
    return lines[0], keep, body


def test_upstreams_as_nginx(bw, tmp_path):
    require_module("http_proxy", "http_rewrite")
    o1, o2 = Origin("o1"), Origin("o2")
    sock = str(tmp_path / "o.sock")
    ou = Origin("ou", unix=sock)
    dead = free_port()
    conf = {"dead": dead, "o1": o1.port, "o2": o2.port, "sock": sock}
    bw.config(HTTP % dict(conf, port=bw.port))
    bw.start()
    port = free_port()
    try:
        with nginx_serving(tmp_path, HTTP % dict(conf, port=port), port):
            for path in REQUESTS:
                req = b"GET %s HTTP/1.1\r\nHost: h\r\nConnection: close" \
                      b"\r\n\r\n" % path.encode()
                ours = view(raw(bw.port, req))
                theirs = view(raw(port, req))
                assert ours == theirs, (path, ours, theirs)
    finally:
        for o in (o1, o2, ou):
            o.stop()
    assert os.path.exists(sock)


LIMIT_HTTP = """
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        location /p/ { proxy_pass http://127.0.0.1:%(o)d/echo/;
                       limit_except GET { deny all; } }
        location /s/ { limit_except GET POST { allow 10.0.0.1; deny all; } }
        location /a/ { limit_except OPTIONS PROPFIND {
                           auth_basic "x"; auth_basic_user_file %(users)s;
                           access_log %(log)s; }
                       return 200 "a\\n"; }
    }
"""

AUTH = b"Authorization: Basic dTpwdw==\r\n"     # u:pw

LIMIT_REQUESTS = [
    b"GET /p/x", b"HEAD /p/x", b"POST /p/x", b"DELETE /p/x",
    b"GET /s/f", b"POST /s/f", b"DELETE /s/f", b"PUT /s/f",
    b"GET /a/", b"OPTIONS /a/", b"DELETE /a/",
]


def test_limit_except_as_nginx(bw, tmp_path):
    """limit_except: the block's allow/deny, auth_basic and access_log are
    for the methods it does not name (GET names HEAD too); the
    location's proxy_pass serves them all."""
    require_module("http_proxy", "http_access", "http_auth_basic")
    o = Origin()
    bw.write("html/s/f", "sf")
    users = bw.write("conf/users", "u:{PLAIN}pw\n")
    conf = {"root": bw.path("html"), "o": o.port, "users": users}
    bw.config(LIMIT_HTTP % dict(conf, port=bw.port,
                                log=bw.path("logs", "lmt.log")))
    bw.start()
    port = free_port()
    try:
        with nginx_serving(tmp_path, LIMIT_HTTP % dict(
                conf, port=port, log=tmp_path / "lmt.log"), port):
            for line in LIMIT_REQUESTS:
                for extra in (b"", AUTH):
                    req = line + b" HTTP/1.1\r\nHost: h\r\n" + extra + \
                        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                    ours = view(raw(bw.port, req))
                    theirs = view(raw(port, req))
                    assert ours == theirs, (req, ours, theirs)
    finally:
        o.stop()
    # a WebDAV method bulwark does not parse is never excepted: the
    # block applies (nginx, which parses it, would except it)
    resp = raw(bw.port, b"PROPFIND /a/ HTTP/1.1\r\nHost: h\r\n"
                        b"Connection: close\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 401 ")
    with open(bw.path("logs", "lmt.log")) as f:
        assert "PROPFIND /a/" in f.read()

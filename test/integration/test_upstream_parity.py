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

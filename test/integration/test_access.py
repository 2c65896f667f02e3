"""
Who may ask: allow/deny in order with satisfy all|any, and the client
address recovered by realip behind trusted proxies (X-Real-IP,
X-Forwarded-For with and without real_ip_recursive).
"""

import socket
import time

from conftest import recv_all, require_module


def ask(port, path, src="127.0.0.1", headers=()):
    """(status, body) of one request sent from source address src; the
    body is X-Addr when the response has one (the address seen)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(src, 0))
    try:
        req = "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" % path
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        s.sendall((req + "\r\n").encode())
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.lower() == b"x-addr":
            body = v.strip() + b"\n"
    return int(head.split(b" ")[1]), body


def site(bw, *dirs):
    """A page "in" at / and at each directory: access runs before the
    content phase, but after "return" (rewrite phase), as in nginx."""
    bw.write("html/index.html", "in\n")
    for d in dirs:
        bw.write("html/%s/index.html" % d, d + "\n")


def test_allow_deny_order_and_inheritance(bw):
    require_module("http_access")
    site(bw, "own", "v6")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        allow 127.0.0.1;
        allow 127.1.0.0/16;
        deny  127.1.2.0/24;
        deny  all;
        location / { }
        location /own/ { deny 127.0.0.1; allow all; }
        location /v6/ { allow ::1; deny all; }
        location /early/ { return 200 "rewrite phase first\\n"; } }
    """)
    bw.start()
    assert ask(bw.port, "/", "127.0.0.1") == (200, b"in\n")
    assert ask(bw.port, "/", "127.1.9.9") == (200, b"in\n")
    # the first rule that matches decides: allow 127.1/16 comes first
    assert ask(bw.port, "/", "127.1.2.3") == (200, b"in\n")
    assert ask(bw.port, "/", "127.2.0.1")[0] == 403
    # a level with rules of its own inherits none
    assert ask(bw.port, "/own/", "127.0.0.1")[0] == 403
    assert ask(bw.port, "/own/", "127.2.0.1") == (200, b"own\n")
    assert ask(bw.port, "/v6/", "127.0.0.1")[0] == 403
    assert "access forbidden by rule" in bw.logs()
    # "return" runs in the rewrite phase, before access (nginx's trap)
    assert ask(bw.port, "/early/", "127.2.0.1")[0] == 200

    bw.config("""
    server { listen 127.0.0.1:PORT; location / { allow 10.0.0.0/8x; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0 and 'invalid parameter "10.0.0.0/8x"' in r.stderr
    bw.config("""
    server { listen 127.0.0.1:PORT; location / { allow 10.1.2.3/8; } }
    """)
    r = bw.run("-t")
    assert r.returncode == 0
    assert "low address bits of 10.1.2.3/8 are meaningless" in r.stderr


def test_satisfy_any_with_realip(bw):
    require_module("http_access")
    require_module("http_realip")
    site(bw, "one", "xff", "rec", "gate")
    bw.config("""
    log_format real "$remote_addr $realip_remote_addr";
    server { listen 127.0.0.1:PORT; root html;
        access_log logs/real.log real;
        add_header X-Addr "$remote_addr $realip_remote_addr";
        set_real_ip_from 127.0.0.0/8;
        location /one/ { }
        location /xff/ { real_ip_header X-Forwarded-For;
                         add_header X-Addr $remote_addr; }
        location /rec/ { real_ip_header X-Forwarded-For;
                         real_ip_recursive on;
                         set_real_ip_from 10.0.0.0/8;
                         set_real_ip_from 127.0.0.0/8;
                         add_header X-Addr $remote_addr; }
        location /gate/ { real_ip_header X-Forwarded-For;
                          allow 198.51.100.0/24; deny all; } }
    """)
    bw.start()
    xri = [("X-Real-IP", "203.0.113.7")]
    assert ask(bw.port, "/one/", headers=xri)[1] == \
        b"203.0.113.7 127.0.0.1\n"
    assert ask(bw.port, "/one/")[1] == b"127.0.0.1 127.0.0.1\n"
    # garbage is ignored, the peer stays
    assert ask(bw.port, "/one/", headers=[("X-Real-IP", "nope")])[1] == \
        b"127.0.0.1 127.0.0.1\n"

    two_hops = [("X-Forwarded-For", "198.51.100.9, 10.1.1.1"),
                ("X-Forwarded-For", "10.2.2.2")]
    # not recursive: the last address, whatever it is
    assert ask(bw.port, "/xff/", headers=two_hops)[1] == b"10.2.2.2\n"
    # recursive: trusted hops skipped, across both header lines
    assert ask(bw.port, "/rec/", headers=two_hops)[1] == b"198.51.100.9\n"
    assert ask(bw.port, "/rec/",
               headers=[("X-Forwarded-For", "[2001:db8::5]:443, 10.0.0.1")]
               )[1] == b"2001:db8::5\n"

    # access is checked against the recovered address
    assert ask(bw.port, "/gate/",
               headers=[("X-Forwarded-For", "198.51.100.20")])[0] == 200
    assert ask(bw.port, "/gate/",
               headers=[("X-Forwarded-For", "192.0.2.1")])[0] == 403

    # the same connection's next request starts from the peer again
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
    s.sendall(b"GET /one/ HTTP/1.1\r\nHost: a\r\nX-Real-IP: 203.0.113.8\r\n"
              b"\r\nGET /one/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
              b"\r\n")
    data = recv_all(s)
    s.close()
    assert b"X-Addr: 203.0.113.8 127.0.0.1\r\n" in data
    assert data.count(b"X-Addr: 127.0.0.1 127.0.0.1\r\n") == 1
    assert "203.0.113.7 127.0.0.1" in open(bw.path("logs", "real.log")).read()


def test_satisfy_any(bw):
    require_module("http_access")
    site(bw, "any", "all")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        location /any/ { satisfy any; deny 127.0.0.2; deny all; }
        location /all/ { satisfy all; allow 127.0.0.1; deny all; } }
    """)
    bw.start()
    # one module only: "any" still needs it to allow
    assert ask(bw.port, "/any/", "127.0.0.1")[0] == 403
    assert ask(bw.port, "/all/", "127.0.0.1") == (200, b"all\n")
    assert ask(bw.port, "/all/", "127.0.0.3")[0] == 403
    assert "access forbidden by rule" in bw.logs()

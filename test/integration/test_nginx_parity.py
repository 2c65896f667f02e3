"""
The same configuration served by bulwark and by Debian's nginx, the
same requests sent to both from several client addresses: map, geo,
realip, allow/deny, satisfy and auth_basic must answer alike.
"""

import base64
import email.utils
import json
import os
import re
import socket
import threading

from conftest import built_modules, free_port, get, needs_nginx, \
    nginx_serving, raw, recv_all, require_module, wait_for
from origin import Origin

pytestmark = needs_nginx

HTTP = """
    map $http_host $h {
        hostnames;
        default other;
        example.com exact;
        *.example.com wild;
        .example.org dotted;
        www.test.* tail;
        ~^(?<sub>[a-z]+)\\.re\\.net$ "re-$sub";
    }
    map $arg_k $k { default "d:$arg_k"; ~*^A(\\d)$ "a$1"; "" empty; }
    geo $g { default none; 127.0.0.0/8 loop; 127.1.0.0/16 one;
             127.1.2.0/24 two; 127.1.2.3 three; }
    geo $arg_ip $gi { default def; 10.0.0.0/8 ten; 2001:db8::/32 six; }
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        add_header X-V "$h|$k|$g|$gi|$remote_addr|$realip_remote_addr";
        set_real_ip_from 127.0.0.0/8;
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
        location / { }
        location /acl/ { allow 203.0.113.0/24; allow 127.1.0.0/16;
                         deny 127.1.9.0/24; deny all; }
        location /any/ { satisfy any; allow 198.51.100.1; deny all;
                         auth_basic "r"; auth_basic_user_file %(users)s; }
    }
"""

REQUESTS = [
    ("/", {"Host": "example.com"}),
    ("/", {"Host": "a.b.example.com"}),
    ("/", {"Host": "example.org"}),
    ("/", {"Host": "x.example.org"}),
    ("/", {"Host": "www.test.io"}),
    ("/", {"Host": "abc.re.net"}),
    ("/", {"Host": "EXAMPLE.COM."}),
    ("/?k=a7", {}), ("/?k=A7", {}), ("/?k=zz", {}), ("/?k=", {}),
    ("/?ip=10.1.2.3", {}), ("/?ip=2001:db8::1", {}), ("/?ip=bad", {}),
    ("/", {"X-Forwarded-For": "203.0.113.5"}),
    ("/", {"X-Forwarded-For": "203.0.113.5, 127.0.0.9"}),
    ("/", {"X-Forwarded-For": "198.51.100.1, 10.0.0.1, 127.0.0.2"}),
    ("/", {"X-Forwarded-For": "junk, 127.0.0.2"}),
    ("/acl/", {}),
    ("/acl/", {"X-Forwarded-For": "203.0.113.5"}),
    ("/acl/", {"X-Forwarded-For": "192.0.2.1"}),
    ("/any/", {}),
    ("/any/", {"X-Forwarded-For": "198.51.100.1"}),
    ("/any/", {"Authorization": "Basic "
               + base64.b64encode(b"u:pw").decode()}),
    ("/any/", {"Authorization": "Basic "
               + base64.b64encode(b"u:nope").decode()}),
]

SOURCES = ["127.0.0.1", "127.1.2.3", "127.1.2.9", "127.1.9.9", "127.1.5.5"]


def ask(port, path, headers, src):
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(src, 0))
    try:
        req = "GET %s HTTP/1.1\r\nConnection: close\r\n" % path
        if "Host" not in headers:
            req += "Host: h\r\n"
        for k, v in headers.items():
            req += "%s: %s\r\n" % (k, v)
        s.sendall((req + "\r\n").encode())
        data = recv_all(s)
    finally:
        s.close()
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    xv = [l.split(":", 1)[1].strip() for l in head
          if l.lower().startswith("x-v:")]
    auth = [l.split(":", 1)[1].strip() for l in head
            if l.lower().startswith("www-authenticate:")]
    return int(head[0].split()[1]), xv, auth


def test_same_answers_as_nginx(bw, tmp_path):
    for m in ("http_map", "http_geo", "http_realip", "http_access",
              "http_auth_basic"):
        require_module(m)
    users = bw.write("conf/users", "u:{PLAIN}pw\n")
    for d in ("", "acl/", "any/"):
        bw.write("html/%sindex.html" % d, "x")
    bw.config(HTTP.replace("%(port)d", "PORT") % {
        "root": bw.path("html"), "users": users})
    bw.start()

    port = free_port()
    with nginx_serving(tmp_path, HTTP % {"port": port, "root": bw.path("html"),
                                       "users": users}, port):
        seen = set()
        for src in SOURCES:
            for path, headers in REQUESTS:
                ours = ask(bw.port, path, headers, src)
                theirs = ask(port, path, headers, src)
                assert ours == theirs, (src, path, headers, ours, theirs)
                seen.add(str(ours))
        # the cases differ from one another (the test sees real values)
        assert len(seen) > 40, seen


LOG_HTTP = """
    log_format v '$remote_user|$http_referer|$http_x_empty|$args|'
                 '$query_string|$is_args|$arg_a|$arg_none|$cookie_c|'
                 '$request_uri|$uri|$status|$body_bytes_sent|'
                 '$content_length|$content_type|$request_method|'
                 '$server_protocol|$scheme|$e|$m|$upstream_addr|'
                 '$upstream_status|$sent_http_x_none|$http_cookie|'
                 '$https|$binary_remote_addr|$pipe|$request_completion|'
                 '$ssl_protocol|$ssl_cipher|$ssl_server_name|$http2|'
                 '$request_length';
    map $uri $m { default ""; /m mapped; }
    server {
        listen 127.0.0.1:%(port)d;
        access_log %(log)s v;
        location / { set $e ""; return 200 "ok"; }
    }
"""

LOG_REQUESTS = [
    b"GET /a?a=1&b= HTTP/1.1\r\nHost: h\r\nReferer: http://r/\r\n"
    b"X-Empty: \r\nCookie: c=v; d=\r\nConnection: close\r\n\r\n",
    b"GET /b? HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"GET /m HTTP/1.0\r\n\r\n",
    b"POST /p?a= HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 2\r\nAuthorization: Basic dTpw\r\n"
    b"Connection: close\r\n\r\nhi",
    # two requests in one write: the second is pipelined ($pipe), and
    # the first is logged before the second takes its buffer
    b"GET /1?x HTTP/1.1\r\nHost: h\r\n\r\n"
    b"GET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"HEAD /h HTTP/1.1\r\nHost: h\r\nCookie: \r\nConnection: close\r\n\r\n",
    # LF-only line ends, and empty lines before the request line
    b"GET /lf?a=1 HTTP/1.1\nHost: h\nCookie: c=lf\nConnection: close\n\n",
    b"\r\n\nGET /lf10 HTTP/1.0\nReferer: r\n\n",
    b"POST /lfp HTTP/1.0\nContent-Length: 2\n\nhi",
]


def test_access_log_values_as_nginx(bw, tmp_path):
    """The access log writes what nginx writes: "-" for a value that is
    not there, nothing for one that is there and empty."""
    ours_log = bw.path("logs", "values.log")
    http = LOG_HTTP
    if "http_ssl" not in built_modules():
        # a build without TLS knows no $ssl_* variable, as nginx's
        http = http.replace("'$ssl_protocol|$ssl_cipher|$ssl_server_name|",
                            "'")
    bw.config(http.replace("%(port)d", "PORT") % {"log": ours_log})
    bw.start()
    port = free_port()
    theirs_log = str(tmp_path / "nginx-values.log")
    with nginx_serving(tmp_path, http % {"port": port,
                                       "log": theirs_log}, port):
        for req in LOG_REQUESTS:
            for p in (bw.port, port):
                with socket.create_connection(("127.0.0.1", p),
                                              timeout=5) as s:
                    s.sendall(req)
                    recv_all(s)

        def lines(path):
            with open(path) as f:
                return f.read().splitlines()
        # a request that had a body is logged after its lingering close
        for log in (ours_log, theirs_log):
            wait_for(lambda: len(lines(log)) == len(LOG_REQUESTS) + 1,
                     what="the log lines in %s" % log)
    ours = lines(ours_log)
    theirs = lines(theirs_log)
    assert len(ours) == len(theirs) == len(LOG_REQUESTS) + 1
    for a, b in zip(ours, theirs):
        assert a == b, "\n%s\n%s" % (a, b)


ESCAPE_HTTP = """
    log_format d '"$uri"|$arg_none|"$http_x_none"';
    log_format j escape=json '{"u":"$uri","n":"$arg_none"}';
    log_format n escape=none '$uri';
    log_format c 'constant text';
    server {
        listen 127.0.0.1:%(port)d;
        access_log %(log)s.d d;
        access_log %(log)s.j j;
        access_log %(log)s.n n;
        access_log %(log)s.c c;
        location / { return 204; }
    }
"""

# the decoded path brings every kind of byte into $uri: controls (with
# JSON's short forms and without), quotes, backslashes, DEL, UTF-8
ESCAPE_PATHS = [
    b"/plain",
    b"/a%09b%01c%22d%5Ce%C3%A9f%7Fg",
    b"/n%0Ar%0Db%08f%0Cu%1F%1E",
    b"/%27%20%7B%7D%25",
]


def test_access_log_escapes_as_nginx(bw, tmp_path):
    """Each escape= of log_format writes bytes as nginx writes them, and a
    format without variables is its text."""
    require_module("http_log", "http_rewrite")
    ours_log = bw.path("logs", "esc")
    bw.config(ESCAPE_HTTP.replace("%(port)d", "PORT") % {"log": ours_log})
    bw.start()
    port = free_port()
    theirs_log = str(tmp_path / "nginx-esc")
    with nginx_serving(tmp_path, ESCAPE_HTTP % {"port": port,
                                              "log": theirs_log}, port):
        for path in ESCAPE_PATHS:
            for p in (bw.port, port):
                with socket.create_connection(("127.0.0.1", p),
                                              timeout=5) as s:
                    s.sendall(b"GET " + path + b" HTTP/1.0\r\n\r\n")
                    recv_all(s)
    for fmt in "djnc":
        with open(ours_log + "." + fmt, "rb") as f:
            ours = f.read().split(b"\n")
        with open(theirs_log + "." + fmt, "rb") as f:
            theirs = f.read().split(b"\n")
        # escape=none writes a decoded newline as it is
        assert len(ours) == len(theirs) >= len(ESCAPE_PATHS) + 1, fmt
        for a, b in zip(ours, theirs):
            assert a == b, "%s:\n%r\n%r" % (fmt, a, b)
    # the JSON lines are JSON, with the bytes they stand for
    with open(ours_log + ".j", "rb") as f:
        second = f.read().split(b"\n")[1]
    assert json.loads(second)["u"] == "/a\tb\x01c\"d\\e\u00e9f\x7fg"

WIRE_HTTP = """
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        location / { }
        location /r { return 200 "$uri|$args|$request_uri|$host\\n"; }
        location /end { return 200 "end\\n"; }
        location /r300 { return 300; }
        location /r304 { return 304; }
        location /r305 { return 305 "x"; }
        location /r306 { return 306 /y; }
        location /r302 { return 302; }
        location /r204 { return 204; }
        location /e { error_page 404 /n204; return 404; }
        location /n204 { return 204; }
        location /p/ { proxy_pass http://127.0.0.1:%(dead)d; }
        location "/s p/" { proxy_pass http://127.0.0.1:%(dead)d; }
    }
    server { listen 127.0.0.1:%(port2)d; root %(root)s;
        error_page 400 /d;
        location /r { return 200 "$host\\n"; }
    }
"""

END = b"GET /end HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

# each one followed by END on the same connection: an answer whose end
# is unclear shows in the answer to END
WIRE_REQUESTS = [
    (1, b"GET /r HTTP/1.0\r\n\r\n"),
    (1, b"GET /r?a=1 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"),
    (1, b"GET /r\x01 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\nHost: lf\n\n"),
    (1, b"\r\nGET /r?lf HTTP/1.0\nConnection: keep-alive\n\n"),
    (1, b"GET /r?x=1#frag HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r#frag?x HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r/%23#a#b HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://ex.com:80/r?y#f HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://Ex.Com/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://ex.com?a=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://[::1]:80/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://extra[abcd/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://ex.com:80x/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://a_b.com/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://ex.com#f/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET http://[::1/r HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\r\nHost: a..b\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\r\nHost: a/b\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\r\nHost: [::1\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\r\nHost: a_b:80x\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\r\nHost: EX.com.\r\n\r\n"),
    (1, b"GET /r300 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r304 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r305 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r306 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r302 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /r204 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"POST /end HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
        b"Content-Length: 0\r\n\r\n"),
    (1, b"GET /r HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"),
    (1, b"GET /d HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /d%20x?a=%20 HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /d%3Fy HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n"),
    (1, b"GET /s%20p?q HTTP/1.1\r\nHost: h\r\n\r\n"),
    (2, b"GET /r HTTP/1.1\r\nHost: a..b\r\n\r\n"),
    (2, b"GET /r HTTP/1.1\r\nHost: ok\r\n\r\n"),
]


def read_answers(data):
    """The answers in a connection's bytes: [(status line, [header lines],
    body)], the rest as a last element when it is not an answer."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            out.append(data)
            break
        lines = head.split(b"\r\n")
        fields = {}
        for l in lines[1:]:
            k, _, v = l.partition(b":")
            fields[k.strip().lower()] = v.strip()
        code = int(lines[0].split()[1])
        n = 0
        if code >= 200 and code not in (204, 304):
            n = int(fields.get(b"content-length", b"0"))
        if fields.get(b"transfer-encoding") == b"chunked":
            body, data = dechunk(rest)
            out.append((lines[0], lines[1:], body))
            continue
        out.append((lines[0], lines[1:], rest[:n]))
        data = rest[n:]
    return out


def dechunk(data):
    """A chunked body and its trailer lines (after a "|"), and what
    follows it; all of it when it does not end."""
    body = b""
    while True:
        line, sep, rest = data.partition(b"\r\n")
        if not sep or not line:
            return body + b"|unfinished" + data, b""
        size = int(line.split(b";")[0], 16)
        if size == 0:
            trailers, sep, rest = (b"\r\n" + rest).partition(b"\r\n\r\n")
            return body + b"|" + trailers.strip(), rest
        body += rest[:size]
        data = rest[size + 2:]


def wire_view(data, ports):
    out = []
    for a in read_answers(data):
        if isinstance(a, bytes):
            out.append(a)
            continue
        status, lines, body = a
        page = ERROR_SIGNATURE.search(body)
        body = ERROR_SIGNATURE.sub(b"", body)
        keep = []
        for l in lines:
            if l.lower().startswith((b"date:", b"server:")):
                continue
            if page and l.lower().startswith(b"content-length:"):
                continue
            for p in ports:
                l = l.replace(b":%d" % p, b":P")
            keep.append(l)
        out.append((status, keep, body))
    return out


ERROR_SIGNATURE = re.compile(rb"<hr><center>[^<]*</center>")


def test_wire_answers_as_nginx(bw, tmp_path):
    """Raw requests, HTTP/1.0 and LF-only ones among them, each followed
    by another on the same connection: the same status lines, headers
    and bodies as nginx, and the connection in step after each."""
    require_module("http_rewrite", "http_proxy", "http_static")
    bw.write("html/d/index.html", "d")
    bw.write("html/d x/index.html", "dx")
    bw.write("html/d?y/index.html", "dy")
    dead = free_port()
    ours = {1: bw.port, 2: free_port()}
    theirs = {1: free_port(), 2: free_port()}
    bw.config(WIRE_HTTP % {"port": ours[1], "port2": ours[2],
                           "root": bw.path("html"), "dead": dead})
    bw.start()
    with nginx_serving(tmp_path, WIRE_HTTP % {
            "port": theirs[1], "port2": theirs[2], "root": bw.path("html"),
            "dead": dead}, theirs[1]):
        for which, req in WIRE_REQUESTS:
            a = wire_view(raw(ours[which], req + END), ours.values())
            b = wire_view(raw(theirs[which], req + END), theirs.values())
            assert a == b, (req, a, b)


HEADERS_HTTP = """
    map $arg_e $exp { default off; a 1h; b epoch; c max; d bad; e @23h59m;
                      f -1m; }
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        add_trailer X-Srv "s";
        location /et/ { add_header ETag '"mine"'; }
        location /etn/ { add_header ETag ""; }
        location /lm/ { add_header Last-Modified
                            "Wed, 21 Oct 2015 07:28:00 GMT"; }
        location /lmn/ { add_header Last-Modified ""; }
        location /ex/ { expires @0h0m1s; }
        location /exm/ { expires modified 1h; }
        location /exr/ { expires modified 1h; return 200 "r"; }
        location /exv/ { expires $exp; }
        location /up/ { proxy_pass http://127.0.0.1:%(o)d; expires 1h; }
        location /upe/ { proxy_pass http://127.0.0.1:%(o)d; expires epoch; }
        location /upv/ { proxy_pass http://127.0.0.1:%(o)d; expires $exp; }
        location /tr/ { add_trailer X-T "t:$status:$body_bytes_sent";
                        add_trailer X-E ""; add_trailer X-A "a" always; }
        location /trn/ { add_trailer X-A "a" always; add_trailer X-B b;
                         return 404; }
        location /trr/ { return 200 "hello"; }
        location /end { return 200 "end\n"; }
    }
"""

HEADERS_REQUESTS = [
    "/et/f", "/etn/f", "/lm/f", "/lmn/f", "/ex/f", "/exm/f", "/exr/f",
    "/exv/f?e=a", "/exv/f?e=b", "/exv/f?e=c", "/exv/f?e=d", "/exv/f?e=e",
    "/exv/f?e=f", "/exv/f", "/up/o", "/upe/o", "/upv/o?e=a", "/upv/o?e=d",
    "/upv/o", "/tr/f", "/trn/f", "/trr/",
]


def one_origin_answer():
    """An origin giving every request the same answer (one Expires, two
    Cache-Control lines); stopped when the process ends."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve():
        while True:
            c, _ = srv.accept()
            with c:
                data = b""
                while b"\r\n\r\n" not in data:
                    more = c.recv(4096)
                    if not more:
                        break
                    data += more
                c.sendall(b"HTTP/1.1 200 OK\r\nCache-Control: private\r\n"
                          b"X-A: 1\r\nExpires: Thu, 01 Jan 2037 00:00:00 GMT"
                          b"\r\nCache-Control: no-store\r\n"
                          b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def times_close(a, b):
    """Header lines that say a time: equal but for a second or two (the
    servers answer one after the other)."""
    if a == b:
        return True
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        kx, _, vx = x.partition(b": ")
        ky, _, vy = y.partition(b": ")
        if kx != ky:
            return False
        if kx.lower() == b"cache-control" and vx.startswith(b"max-age="):
            if abs(int(vx[8:]) - int(vy[8:])) > 2:
                return False
        elif kx.lower() in (b"expires", b"last-modified"):
            tx = email.utils.parsedate_to_datetime(vx.decode())
            ty = email.utils.parsedate_to_datetime(vy.decode())
            if abs((tx - ty).total_seconds()) > 2:
                return False
        else:
            return False
    return True


def test_headers_and_expires_as_nginx(bw, tmp_path):
    """add_header ETag and Last-Modified replace the response's own (an
    empty value removes it); expires with @time, modified, variables, in
    place of the upstream's Cache-Control and Expires; add_trailer."""
    require_module("http_headers_filter", "http_proxy", "http_map")
    for d in ("et", "etn", "lm", "lmn", "ex", "exm", "exv", "tr", "trn"):
        bw.write("html/%s/f" % d, "file")
    o = one_origin_answer()
    bw.config(HEADERS_HTTP % {"port": bw.port, "root": bw.path("html"),
                              "o": o})
    bw.start()
    port = free_port()
    with nginx_serving(tmp_path, HEADERS_HTTP % {
            "port": port, "root": bw.path("html"), "o": o}, port):
        for path in HEADERS_REQUESTS:
            req = b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path.encode()
            a = wire_view(raw(bw.port, req + END), (bw.port,))
            b = wire_view(raw(port, req + END), (port,))
            assert len(a) == len(b) == 2, (path, a, b)
            assert a[0][0] == b[0][0] and a[1:] == b[1:], (path, a, b)
            assert times_close(a[0][1], b[0][1]), (path, a, b)
            assert a[0][2] == b[0][2], (path, a, b)


BODY_HTTP = """
    log_format b '$request_uri|$request_body|$request_body_file|$status';
    server { listen 127.0.0.1:%(port)d;
        access_log %(log)s b;
        client_body_buffer_size 16;
        location /p/ { proxy_pass http://127.0.0.1:%(o)d/echo/;
                       proxy_set_header X-B $request_body; }
        location /on/ { client_body_in_file_only on;
                        proxy_pass http://127.0.0.1:%(o)d/echo/;
                        proxy_set_header X-F $request_body_file; }
        location /clean/ { client_body_in_file_only clean;
                           client_body_in_single_buffer on;
                           proxy_pass http://127.0.0.1:%(o)d/echo/; }
        location /r/ { return 200 "[$request_body]"; }
    }
"""

BODY_REQUESTS = [
    b"POST /p/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /p/b HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n\r\n" + b"x" * 40,
    b"POST /p/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    b"POST /p/d HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    b"GET /p/e HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /on/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /clean/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /r/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
]


def test_request_body_variables_as_nginx(bw, tmp_path):
    """$request_body (logged, and passed in a header) and
    $request_body_file with client_body_in_file_only, as nginx: what
    the upstream gets, what the client gets and what the log says."""
    require_module("http_proxy", "http_rewrite", "http_log")
    origin = Origin()
    ours_log = bw.path("logs", "body.log")
    theirs_log = str(tmp_path / "nginx-body.log")
    bw.config(BODY_HTTP % {"port": bw.port, "log": ours_log,
                           "o": origin.port})
    bw.start()
    port = free_port()
    seen = []
    with nginx_serving(tmp_path, BODY_HTTP % {"port": port, "o": origin.port,
                                              "log": theirs_log}, port):
        for req in BODY_REQUESTS:
            req = req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n",
                              1)
            answers = []
            for p in (bw.port, port):
                n = len(origin.requests)
                resp = raw(p, req)
                got = dict(origin.requests[-1]["headers"]) \
                    if len(origin.requests) > n else {}
                body = resp.split(b"\r\n\r\n", 1)[-1]
                if body.startswith(b"{"):
                    # the echo: the file's name is each server's own
                    body = json.loads(body)
                    body["headers"] = [[k, "FILE" if k == "X-F" else v]
                                       for k, v in body["headers"]]
                answers.append((body, got.get("X-B"), "X-F" in got))
            assert answers[0] == answers[1], (req, answers)
            seen.append(answers[0])

        def lines(path):
            with open(path) as f:
                return f.read().splitlines()
        for log in (ours_log, theirs_log):
            wait_for(lambda: len(lines(log)) == len(BODY_REQUESTS),
                     what="the log lines in %s" % log)
    path = re.compile(r"\|/[^|]+\|")
    ours = [path.sub("|FILE|", l) for l in lines(ours_log)]
    theirs = [path.sub("|FILE|", l) for l in lines(theirs_log)]
    assert ours == theirs
    assert "/p/b|" + "x" * 40 + "|-|200" in ours
    assert "/on/a|-|FILE|200" in ours and "/p/d||-|200" in ours
    origin.stop()


NAMES_HTTP = """
    server { listen 127.0.0.1:%(port)d default_server; root %(root)s;
        server_name .example.com;
        set $MAGE_DIR %(root)s;
        location /m/ { root $MAGE_DIR/pub; }
        location /v/ { set $Foo bar; return 200
                "$foo|$FOO|$Foo|$ARG_A|$Arg_a|$HTTP_HOST|$Server_Name\\n"; }
        location /a/ { return 200 "[$arg_]\\n"; }
        location /x/ { if (-x %(root)s/x/script) { return 200 "file\\n"; }
                       if (-x %(root)s/x/dir) { return 200 "dir\\n"; }
                       return 200 "no\\n"; }
        location /xe/ { if (-x %(root)s/x/exe) { return 200 "exe\\n"; }
                        return 200 "no\\n"; }
    }
    server { listen 127.0.0.1:%(port)d; server_name "";
        return 200 "empty:$server_name\\n"; }
    server { listen 127.0.0.1:%(port)d;
        server_name ~^(?<sub>[a-z]+)\\.re\\.net$ ~^(w+)\\.num\\.net$;
        location / { return 200 "[$sub|$1|$server_name]\\n"; } }
"""

NAMES_REQUESTS = [
    b"GET /m/f HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
    b"GET /v/?a=1 HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
    b"GET /v/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET /x/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
    b"GET /xe/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
    b"GET /v/ HTTP/1.0\r\n\r\n",
    b"GET /v/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: abc.re.net\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: www.num.net\r\n\r\n",
]


def test_names_and_variables_as_nginx(bw, tmp_path):
    """Variable names in any case are one variable ("set $MAGE_ROOT" as
    Magento's configuration has it); "server_name ''" takes requests
    without Host; $server_name of ".example.com"; a server_name regex's
    captures; "-x" is the execute bit, directories included."""
    require_module("http_rewrite")
    bw.write("html/pub/m/f", "pubfile")
    bw.write("html/x/script", "#!/bin/sh\n")
    bw.write("html/x/dir/f", "x")
    bw.write("html/x/exe", "#!/bin/sh\n")
    os.chmod(bw.path("html/x/exe"), 0o755)
    os.chmod(bw.path("html/x/script"), 0o644)
    bw.config(NAMES_HTTP % {"port": bw.port, "root": bw.path("html")})
    bw.start()
    port = free_port()
    with nginx_serving(tmp_path, NAMES_HTTP % {
            "port": port, "root": bw.path("html")}, port):
        seen = set()
        for req in NAMES_REQUESTS:
            req = req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
            a = wire_view(raw(bw.port, req), (bw.port,))
            b = wire_view(raw(port, req), (port,))
            assert a == b, (req, a, b)
            seen.add(a[0][2])
        assert len(seen) == len(NAMES_REQUESTS), seen
        # "$arg_" (an argument without a name) is a variable: it loads
        a = wire_view(raw(bw.port, b"GET /a/?=e HTTP/1.0\r\n\r\n"), ())
        assert a[0][0] == b"HTTP/1.1 200 OK", a


FILTER_HTTP = """
    map $status $loggable { ~^[23] 1; default 0; }
    log_format s '$request_uri $status';
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        access_log %(log)s s if=$loggable;
        access_log %(all)s s if=$arg_log;
        location / { }
        location /quiet/ { log_not_found off; }
    }
"""


def test_access_log_if_and_log_not_found_as_nginx(bw, tmp_path):
    """access_log if= (nothing logged when the value is empty or "0"),
    and log_not_found off honoured where index looks for a directory."""
    require_module("http_map", "http_index", "http_log")
    bw.write("html/index.html", "i")
    logs = {"ours": (bw.path("logs", "f.log"), bw.path("logs", "a.log")),
            "theirs": (str(tmp_path / "f.log"), str(tmp_path / "a.log"))}
    bw.config(FILTER_HTTP % {"port": bw.port, "root": bw.path("html"),
                             "log": logs["ours"][0], "all": logs["ours"][1]})
    bw.start()
    port = free_port()
    reqs = ["/", "/missing", "/nodir/", "/quiet/nodir/", "/?log=1",
            "/missing?log=0", "/nodir/?log=yes"]
    with nginx_serving(tmp_path, FILTER_HTTP % {
            "port": port, "root": bw.path("html"), "log": logs["theirs"][0],
            "all": logs["theirs"][1]}, port):
        for path in reqs:
            req = b"GET %s HTTP/1.0\r\n\r\n" % path.encode()
            for p in (bw.port, port):
                raw(p, req)

        def lines(path):
            with open(path) as f:
                return f.read().splitlines()
        for log in logs["ours"] + logs["theirs"]:
            wait_for(lambda: os.path.exists(log) and len(lines(log)) >= 2,
                     what="lines in %s" % log)
        theirs_err = (tmp_path / "nginx" / "error.log").read_text()
    for ours, theirs in zip(logs["ours"], logs["theirs"]):
        assert lines(ours) == lines(theirs)
    assert lines(logs["ours"][0]) == ["/ 200", "/?log=1 200"]
    assert lines(logs["ours"][1]) == ["/?log=1 200", "/nodir/?log=yes 404"]
    ours_err = bw.logs()
    for err in (ours_err, theirs_err):
        found = [l for l in err.splitlines() if "is not found" in l]
        assert [l for l in found if "/html/nodir/" in l], err
        assert not [l for l in found if "/quiet/" in l], err


MISC_HTTP = """
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        location / { }
        location /ka/ { return 200 "ka\n"; }
        location /none/ { keepalive_disable none; return 200 "none\n"; }
        location /saf/ { keepalive_disable safari; return 200 "saf\n"; }
        location /r0/ { max_ranges 0; }
        location /r1/ { max_ranges 1; }
        location /auth/ { auth_basic "r"; auth_basic_user_file users.$arg_f; }
        location /tok/ { server_tokens build; return 200 "t"; }
        location /rip/ { set_real_ip_from localhost;
                         real_ip_header X-Real-IP;
                         add_header X-R $remote_addr; }
        location /end { return 200 "end\n"; }
    }
"""

MSIE6 = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"
MSIE6_SV1 = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
          "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
          "Safari/605.1.15")
CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
          "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
          "Safari/537.36")

MISC_REQUESTS = [
    ("POST", "/ka/", {"User-Agent": MSIE6, "Content-Length": "0"}),
    ("GET", "/ka/", {"User-Agent": MSIE6}),
    ("POST", "/ka/", {"User-Agent": MSIE6_SV1, "Content-Length": "0"}),
    ("POST", "/none/", {"User-Agent": MSIE6, "Content-Length": "0"}),
    ("GET", "/saf/", {"User-Agent": SAFARI}),
    ("GET", "/saf/", {"User-Agent": CHROME}),
    ("GET", "/ka/", {"User-Agent": SAFARI}),
    ("GET", "/r0/f", {"Range": "bytes=0-1"}),
    ("GET", "/r1/f", {"Range": "bytes=0-1"}),
    ("GET", "/r1/f", {"Range": "bytes=0-1,3-4"}),
    ("GET", "/f", {"Range": "bytes=0-1,3-4"}),
    ("GET", "/auth/f?f=a", {"Authorization": "Basic "
                            + base64.b64encode(b"u:pw").decode()}),
    ("GET", "/auth/f?f=a", {"Authorization": "Basic "
                            + base64.b64encode(b"u:no").decode()}),
    ("GET", "/rip/f", {"X-Real-IP": "192.0.2.9"}),
]


def test_misc_directives_as_nginx(bw, tmp_path):
    """keepalive_disable (msie6 by default, safari), max_ranges,
    auth_basic_user_file with variables naming a file relative to the
    configuration's directory, server_tokens build, set_real_ip_from
    with a host name."""
    require_module("http_static", "http_auth_basic",
                   "http_range_header_filter", "http_rewrite", "http_realip")
    for d in ("", "r0/", "r1/", "auth/", "rip/"):
        bw.write("html/%sf" % d, "0123456789")
    ng = tmp_path / "nginx"
    ng.mkdir()
    for where in (bw.path("conf"), str(ng)):
        with open(os.path.join(where, "users.a"), "w") as f:
            f.write("u:{PLAIN}pw\n")
    bw.config(MISC_HTTP % {"port": bw.port, "root": bw.path("html")})
    bw.start()
    port = free_port()
    with nginx_serving(tmp_path, MISC_HTTP % {
            "port": port, "root": bw.path("html")}, port):
        for method, path, headers in MISC_REQUESTS:
            req = "%s %s HTTP/1.1\r\nHost: h\r\n" % (method, path)
            req += "".join("%s: %s\r\n" % h for h in headers.items())
            req = (req + "\r\n").encode()
            a = wire_view(raw(bw.port, req + END), (bw.port,))
            b = wire_view(raw(port, req + END), (port,))
            if b"multipart" in b"".join(b[0][1]):
                # the boundary is each server's own
                a, b = a[0][0], b[0][0]
            assert a == b, (method, path, headers, a, b)
            if path == "/rip/f":
                assert b"X-R: 192.0.2.9" in a[0][1], a
    _, h, _ = get(bw.port, "/tok/")
    assert h["server"] == "bulwark/0.1.0"


ALIAS_HTTP = """
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        location ~ ^/img/(.+)$ { alias %(root)s/pics/$1; try_files $uri =404; }
        location ~ ^/im2/(.+)$ { alias %(root)s/pics/$1; }
        location ~ ^/im3/(.+)$ { alias %(root)s/pics/$1;
                                 try_files $uri $uri/ /fallback; }
        location /pre/ { alias %(root)s/pics/; location ~ \\.txt$ { } }
        location /pre2/ { alias %(root)s/pics/; try_files $uri =404; }
        location = /fallback { return 200 "fb:$uri\\n"; }
    }
"""


def test_alias_in_regex_locations_as_nginx(bw, tmp_path):
    """A regex location's own alias is the whole path (try_files tries
    names under it); a regex location nested in a prefix location with
    alias inherits it with the parent's prefix length."""
    require_module("http_static", "http_rewrite")
    bw.write("html/pics/a.txt", "A")
    bw.write("html/pics/sub/b.txt", "B")
    bw.write("html/img/a.txt", "not this")
    bw.write("html/pre/a.txt", "nor this")
    bw.config(ALIAS_HTTP % {"port": bw.port, "root": bw.path("html")})
    bw.start()
    port = free_port()
    with nginx_serving(tmp_path, ALIAS_HTTP % {
            "port": port, "root": bw.path("html")}, port):
        for path in ("/img/a.txt", "/img/missing", "/im2/a.txt",
                     "/im2/sub/b.txt", "/im3/a.txt", "/im3/zz",
                     "/pre/a.txt", "/pre/sub/b.txt", "/pre2/a.txt"):
            req = b"GET %s HTTP/1.0\r\n\r\n" % path.encode()
            a = wire_view(raw(bw.port, req), (bw.port,))
            b = wire_view(raw(port, req), (port,))
            assert a == b, (path, a, b)

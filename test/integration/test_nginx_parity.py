"""
The same configuration served by bulwark and by Debian's nginx, the
same requests sent to both from several client addresses: map, geo,
realip, allow/deny, satisfy and auth_basic must answer alike.
"""

import base64
import json
import socket

from conftest import built_modules, free_port, needs_nginx, nginx_serving, \
    recv_all, require_module

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
                 '$ssl_protocol|$ssl_cipher|$ssl_server_name|$http2';
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
    with open(ours_log) as f:
        ours = f.read().splitlines()
    with open(theirs_log) as f:
        theirs = f.read().splitlines()
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

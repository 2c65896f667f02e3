"""Location matching order and virtual server selection, as nginx."""

from conftest import get, raw, status_of

LOCATIONS = """
    server {
        listen 127.0.0.1:PORT;
        location = / { return 200 "exact root\\n"; }
        location / { return 200 "prefix root\\n"; }
        location /images/ { return 200 "prefix images\\n"; }
        location ^~ /static/ { return 200 "noregex static\\n"; }
        location ~* \\.(gif|jpg)$ { return 200 "regex image $1\\n"; }
        location ~ ^/api/(v\\d+)/ { return 200 "regex api $1\\n"; }
        location /nested/ {
            location /nested/deep/ { return 200 "nested deep\\n"; }
            location ~ \\.php$ { return 200 "nested regex\\n"; }
            return 200 "nested outer\\n";
        }
        location /try/ {
            try_files $uri @fallback;
        }
        location @fallback { return 200 "named $uri\\n"; }
        location /err/ { error_page 404 = @fallback; return 404; }
        location /errpage/ { error_page 404 /custom404.html; return 404; }
        location = /custom404.html { internal; return 200 "custom page\\n"; }
        location /redir { return 301 http://example.com/new; }
        location /loop/ { error_page 404 /loop/x; recursive_error_pages on;
                          return 404; }
    }
"""


def body(bw, path, host="localhost"):
    st, _, b = get(bw.port, path, host=host)
    return st, b.decode()


def test_location_order(bw):
    bw.config(LOCATIONS)
    bw.start()
    assert body(bw, "/") == (200, "exact root\n")
    assert body(bw, "/index.html") == (200, "prefix root\n")
    assert body(bw, "/images/a.png") == (200, "prefix images\n")
    # a regex beats a plain prefix ...
    assert body(bw, "/images/a.GIF") == (200, "regex image GIF\n")
    # ... but not a ^~ prefix
    assert body(bw, "/static/a.gif") == (200, "noregex static\n")
    assert body(bw, "/api/v2/users") == (200, "regex api v2\n")
    assert body(bw, "/nested/x") == (200, "nested outer\n")
    assert body(bw, "/nested/deep/x") == (200, "nested deep\n")
    assert body(bw, "/nested/deep/x.php") == (200, "nested regex\n")


def test_named_internal_and_error_pages(bw):
    bw.config(LOCATIONS)
    bw.start()
    assert body(bw, "/try/missing") == (200, "named /try/missing\n")
    assert body(bw, "/err/x") == (200, "named /err/x\n")
    st, b = body(bw, "/errpage/x")
    assert (st, b) == (404, "custom page\n")
    # internal locations are not reachable from outside
    assert body(bw, "/custom404.html")[0] == 404
    st, h, _ = get(bw.port, "/redir")
    assert st == 301 and h["location"] == "http://example.com/new"
    # an error_page loop ends with 500
    assert body(bw, "/loop/y")[0] == 500
    assert "rewrite or internal redirection cycle" in bw.logs()


SERVERS = """
    server {
        listen 127.0.0.1:PORT;
        server_name first.test;
        return 200 "first\\n";
    }
    server {
        listen 127.0.0.1:PORT default_server;
        server_name default.test;
        return 200 "default\\n";
    }
    server {
        listen 127.0.0.1:PORT;
        server_name www.example.com *.example.com;
        return 200 "example $host\\n";
    }
    server {
        listen 127.0.0.1:PORT;
        server_name .example.org mail.*;
        return 200 "wild\\n";
    }
    server {
        listen 127.0.0.1:PORT;
        server_name ~^(?<sub>[a-z]+)\\.regex\\.test$;
        return 200 "regex\\n";
    }
"""


def test_server_names(bw):
    bw.config(SERVERS)
    bw.start()
    assert body(bw, "/", "first.test") == (200, "first\n")
    assert body(bw, "/", "FIRST.test:80") == (200, "first\n")
    assert body(bw, "/", "unknown.test") == (200, "default\n")
    assert body(bw, "/", "www.example.com") == (200, "example www.example.com\n")
    assert body(bw, "/", "a.b.example.com") == (200, "example a.b.example.com\n")
    assert body(bw, "/", "example.org") == (200, "wild\n")
    assert body(bw, "/", "x.example.org") == (200, "wild\n")
    assert body(bw, "/", "mail.example.net") == (200, "wild\n")
    assert body(bw, "/", "abc.regex.test") == (200, "regex\n")
    # an HTTP/1.0 request without Host goes to the default server
    resp = raw(bw.port, b"GET / HTTP/1.0\r\n\r\n")
    assert status_of(resp) == 200 and resp.endswith(b"default\n")
    # an absolute-form target's host wins over the Host header
    resp = raw(bw.port, b"GET http://first.test/ HTTP/1.1\r\n"
                        b"Host: other\r\nConnection: close\r\n\r\n")
    assert resp.endswith(b"first\n")


def test_return_forms(bw):
    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        location /ok { return 200; }
        location /nc { return 204; }
        location /text404 { return 404 "gone $uri\\n"; }
        location /url { return http://example.com/x; }
        location /close { return 444; }
        location /code { return 503; }
    }
""")
    bw.start()
    st, h, b = get(bw.port, "/ok")
    assert (st, b, h["content-length"]) == (200, b"", "0")
    st, h, b = get(bw.port, "/nc")
    assert st == 204 and b == b"" and "content-length" not in h
    assert body(bw, "/text404") == (404, "gone /text404\n")
    st, h, _ = get(bw.port, "/url")
    assert st == 302 and h["location"] == "http://example.com/x"
    assert raw(bw.port, b"GET /close HTTP/1.0\r\n\r\n") == b""
    st, _, b = get(bw.port, "/code")
    assert st == 503 and b"503 Service Temporarily Unavailable" in b

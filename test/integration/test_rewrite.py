"""
The rewrite module: rewrite with every flag, captures and arguments,
set, break, if with each kind of condition, return, the internal
redirect limit; each case checked against what nginx answers for the
same configuration when Debian's nginx is installed.
"""


import pytest

from conftest import (free_port, needs_nginx, nginx_serving, raw,
                      require_module, wait_for)
from origin import Origin

SERVER = """
    server { listen 127.0.0.1:%(port)d; server_name rw;
        root %(root)s;
        rewrite ^/srv/(.*)$ /s/$1 last;
        location /s/ { return 200 "s:$uri?$args"; }
        location /a/ { rewrite ^/a/(\\d+)$ /b/$1 last; return 200 "a-not"; }
        location /b/ { return 200 "b:$uri?$args"; }
        location /brk/ { rewrite ^/brk/(.*)$ /echo/$1 break;
                         return 200 "after break";
                         proxy_pass http://127.0.0.1:%(origin)d; }
        location /noflag/ { rewrite ^/noflag/(.*)$ /b/$1;
                            rewrite ^/b/x$ /b/y; }
        location /args/ { rewrite ^/args/(.*)$ /b/$1?new=1; }
        location /drop/ { rewrite ^/drop/(.*)$ /b/$1?; }
        location /red/ { rewrite ^/red/(.*)$ /b/$1 redirect; }
        location /perm/ { rewrite ^ http://example.com/p permanent; }
        location /abs/ { rewrite ^/abs/(.*) https://example.com/$1; }
        location /loop/ { rewrite ^ /loop/ last; }
        location ~ ^/named/(?<section>[a-z]+)/(?<id>\\d+)$ {
            return 200 "$section-$id"; }
        location /nm/ { rewrite ^/nm/(?<who>\\w+)$ /b/$who last; }
        location /st/ { rewrite ^/st/(.*)$ /page.html?x=$1 last; }
        location /stb/ { rewrite ^/stb/(.*)$ /page.html break; }
        location /set/ { set $a "1"; set $b "$a-2"; return 200 "$a $b"; }
        location /setargs/ { set $args "${args}&added=1";
                             rewrite ^ /b/ last; }
        location /if/ {
            if ($arg_x = yes) { return 200 "x is yes"; }
            if ( $arg_e = "" ) { set $e "no-e"; }
            if ($arg_q = "") { set $e "$e no-q"; }
            if ($arg_y ~ ^(\\d+)$) { set $n $1; }
            if ($arg_w !~* ^abc) { set $w "not-abc"; }
            if ($http_z) { return 200 "z set $n"; }
            if (-f $document_root/file.txt) { return 200 "file $n $w|$e"; }
            return 200 "none $n $w $e";
        }
        location /ifproxy/ {
            if ($arg_go) { proxy_pass http://127.0.0.1:%(origin)d; }
            return 200 "stayed";
        }
        location /ifpass/ {
            if ($arg_go) { proxy_pass http://127.0.0.1:%(origin)d; }
        }
        location /esc/ { rewrite ^/esc/(.*)$ /b/x?v=$1 last; }
        location /escr/ { rewrite ^/escr/(.*)$ /b/$1 redirect; }
        location /lit/ { rewrite ^/lit/(.*)$ /x%%41/$1?k=%%41 redirect; }
        location /tf/ { try_files $uri $uri/ =404; }
    }
"""

CASES = [
    "/srv/one?q=1", "/a/42", "/a/x", "/brk/p?k=v", "/noflag/x",
    "/noflag/z", "/args/t?old=2", "/drop/t?old=2", "/red/r?q=3",
    "/perm/?q=4", "/abs/path?z=1", "/loop/", "/set/", "/if/?x=yes",
    "/if/?y=12", "/if/?y=12&w=ABCd", "/if/?w=zz", "/ifproxy/echo?go=1",
    "/ifproxy/echo", "/ifpass/echo?go=1", "/ifpass/echo",
    "/named/abc/42", "/nm/zed", "/setargs/?x=1", "/if/?w=xy&e=1", "/if/?w=xy&q=1",
    "/st/x", "/stb/y",
    "/esc/a%26b%20c%22;", "/esc/p+q", "/escr/a%26b%20c%3B%22", "/escr/p+q;",
    "/lit/%C3%A9", "/tf/dir", "/tf/dir/",
    "/brk/a%3Fb?k=v", "/drop/x%3F?old=2", "/abs/%3F?z=1",
]


def answers(port, cases):
    out = {}
    for path in cases:
        resp = raw(port, b"GET %s HTTP/1.1\r\nHost: rw\r\nConnection: close"
                   b"\r\nZ: %s\r\n\r\n" % (path.encode(),
                                           b"1" if "z" in path else b""))
        head, _, body = resp.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        loc = [l.split(":", 1)[1].strip() for l in lines
               if l.lower().startswith("location:")]
        # a rewritten URI's file gets the type of its own extension
        ctype = [l.split(":", 1)[1].strip() for l in lines
                 if l.lower().startswith("content-type:")]
        if status == 200 and b'"path"' in body:
            import json
            body = json.loads(body)["path"].encode()
        out[path] = (status, loc[0] if loc else None,
                     body.decode() if status == 200 else None,
                     ctype[0] if status == 200 and ctype else None)
    return out


@pytest.fixture
def origin():
    o = Origin("o1")
    yield o
    o.stop()


def configure(bw, origin, port=None):
    text = SERVER % {"port": port or bw.port, "root": bw.path("html"),
                     "origin": origin.port}
    return text


def start_rewrites(bw, origin):
    """bulwark on SERVER, with the files its locations serve."""
    require_module("http_rewrite")
    require_module("http_proxy")
    bw.write("html/file.txt", "f")
    bw.write("html/page.html", "p")
    bw.write("html/tf/dir/index.html", "i")
    bw.config(configure(bw, origin).replace(str(bw.port), "PORT"))
    bw.start()


def test_rewrite_cases(bw, origin):
    start_rewrites(bw, origin)
    full = answers(bw.port, CASES)
    got = {k: v[:3] for k, v in full.items()}
    # the rewritten URI's extension gives the type (last and break)
    assert full["/st/x"] == (200, None, "p", "text/html")
    assert full["/stb/y"] == (200, None, "p", "text/html")

    assert got["/srv/one?q=1"] == (200, None, "s:/s/one?q=1")
    assert got["/a/42"] == (200, None, "b:/b/42?")
    assert got["/a/x"] == (200, None, "a-not")
    # break: no more rewrite directives, the same location, the new URI
    assert got["/brk/p?k=v"] == (200, None, "/echo/p?k=v")
    assert got["/noflag/x"] == (200, None, "b:/b/y?")
    assert got["/noflag/z"] == (200, None, "b:/b/z?")
    assert got["/args/t?old=2"] == (200, None, "b:/b/t?new=1&old=2")
    assert got["/drop/t?old=2"] == (200, None, "b:/b/t?")
    assert got["/red/r?q=3"][0] == 302
    assert got["/red/r?q=3"][1].endswith("/b/r?q=3")
    assert got["/perm/?q=4"] == (301, "http://example.com/p?q=4", None)
    assert got["/abs/path?z=1"] == (302, "https://example.com/path?z=1",
                                    None)
    assert got["/loop/"][0] == 500
    assert "rewrite or internal redirection cycle" in bw.logs()
    assert got["/set/"] == (200, None, "1 1-2")
    assert got["/setargs/?x=1"] == (200, None, "b:/b/?x=1&added=1")
    assert got["/named/abc/42"] == (200, None, "abc-42")
    assert got["/nm/zed"] == (200, None, "b:/b/zed?")
    assert got["/if/?x=yes"] == (200, None, "x is yes")
    assert got["/if/?y=12"] == (200, None, "file 12 not-abc|no-e no-q")
    assert got["/if/?y=12&w=ABCd"] == (200, None, "file 12 |no-e no-q")
    # ( $a = "" ) with the parentheses apart and an empty quoted value
    assert got["/if/?w=xy&e=1"] == (200, None, "file  not-abc| no-q")
    assert got["/if/?w=xy&q=1"] == (200, None, "file  not-abc|no-e")
    # what follows an "if" block runs too, as in nginx
    assert got["/ifproxy/echo?go=1"] == (200, None, "stayed")
    assert got["/ifproxy/echo"] == (200, None, "stayed")
    assert got["/ifpass/echo?go=1"] == (200, None, "/ifpass/echo?go=1")
    assert got["/ifpass/echo"][0] == 404
    # a client's escaped path: captures are escaped again where they land
    # in arguments or a Location, as nginx (whose redirect then decodes
    # what is printable above '%')
    assert got["/esc/a%26b%20c%22;"] == (200, None,
                                          "b:/b/x?v=a%26b%20c%22%3B")
    assert got["/esc/p+q"] == (200, None, "b:/b/x?v=p%2Bq")
    assert got["/escr/a%26b%20c%3B%22"][1].endswith("/b/a&b%20c;%22")
    assert got["/escr/p+q;"][1].endswith("/b/p+q;")
    assert got["/lit/%C3%A9"][1].endswith("/xA/%C3%A9?k=%41")
    # a "?" that a capture brings stays in the path: only the one written
    # in the replacement starts its arguments
    assert got["/brk/a%3Fb?k=v"] == (200, None, "/echo/a%3Fb?k=v")
    assert got["/drop/x%3F?old=2"] == (200, None, "b:/b/x??")
    assert got["/abs/%3F?z=1"][1] == "https://example.com/??z=1"
    # try_files "$uri/" goes on with the directory's name: asked for
    # without the slash, a 301 to it (relative links in its index)
    assert got["/tf/dir"][:2] == (301, "http://rw:%d/tf/dir/" % bw.port)
    assert got["/tf/dir/"] == (200, None, "i")

    for bad, msg in (('location / { if ($uri ~ ) { } }', "invalid condition"),
                     ('location / { if $uri { } }', "invalid condition"),
                     ('location / { if ($uri ? x) { } }',
                      "invalid condition"),
                     ('location / { rewrite ^ /x sometimes; }',
                      'invalid parameter "sometimes"'),
                     ('location / { set a 1; }', 'invalid variable name "a"'),
                     ('location / { rewrite ( /x; }', "missing closing parenthesis"),
                     ('location / { if ($uri) { proxy_set_header A b; } }',
                      '"proxy_set_header" directive is not allowed here')):
        bw.config("server { listen 127.0.0.1:PORT; %s }" % bad)
        r = bw.run("-t")
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)
        assert "bulwark.conf:" in r.stderr


@needs_nginx
def test_rewrite_same_as_nginx(bw, origin, tmp_path):
    start_rewrites(bw, origin)

    port = free_port()
    with nginx_serving(tmp_path, configure(bw, origin, port), port):
        ours = answers(bw.port, CASES)
        theirs = answers(port, CASES)
        for path in CASES:
            o, t = ours[path], theirs[path]
            if o[1] and t[1]:
                # absolute Location: our port differs from nginx's
                o = (o[0], o[1].replace(str(bw.port), "P"), o[2], o[3])
                t = (t[0], t[1].replace(str(port), "P"), t[2], t[3])
            assert o == t, (path, o, t)


def test_rewrite_log_and_uninitialized_warning(bw):
    require_module("http_rewrite")
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location /a/ { set $later "x"; return 200 "a"; }
        location /warn/ { return 200 "[$later]"; }
        location /quiet/ { uninitialized_variable_warn off;
                           return 200 "[$later]"; }
        location /log/ { rewrite_log on;
                         rewrite ^/log/(.*)$ /a/$1 last; } }
    """)
    bw.start()
    assert raw(bw.port, b"GET /quiet/ HTTP/1.0\r\n\r\n").endswith(b"[]")
    assert 'using uninitialized "later" variable' not in bw.logs()
    assert raw(bw.port, b"GET /warn/ HTTP/1.0\r\n\r\n").endswith(b"[]")
    wait_for(lambda: 'using uninitialized "later" variable' in bw.logs(),
             what="the warning")
    assert raw(bw.port, b"GET /log/z HTTP/1.0\r\n\r\n").endswith(b"a")
    wait_for(lambda: '"^/log/(.*)$" matches "/log/z", rewritten to '
             '"/a/z"' in bw.logs(), what="the rewrite log line")


PREFIXES = ["/srv/", "/a/", "/b/", "/brk/", "/noflag/", "/args/", "/drop/",
            "/red/", "/perm/", "/abs/", "/named/abc/", "/nm/", "/st/",
            "/stb/", "/set/", "/setargs/", "/if/", "/esc/", "/escr/",
            "/lit/", "/tf/", "/tf/dir", "/"]
PIECES = ["x", "42", "7", "b", "%20", "%2F", "%41", "a+b", "%25", "%3F",
          "%26", ";p", "dir", "%C3%A9", "..", ".", "", "zed", "file.txt",
          "page.html", "%7E", "a%2Bb", "%22"]
ARGS = ["", "?", "?x=yes", "?y=12", "?w=ABCd", "?w=zz&e=1", "?q=1&q=2",
        "?old=2", "?k=%41", "?go=1", "?a=%20b", "?e=&q="]


@needs_nginx
def test_random_rewrites_same_as_nginx(bw, origin, tmp_path):
    """Random paths and arguments through the same locations, captures
    with escapes in them: the same status, Location, body and type as
    nginx (a fixed seed)."""
    import random
    start_rewrites(bw, origin)

    rng = random.Random(11)
    cases = sorted({rng.choice(PREFIXES)
                    + "/".join(rng.choice(PIECES)
                               for _ in range(rng.randint(0, 3)))
                    + rng.choice(ARGS) for _ in range(400)})
    port = free_port()
    with nginx_serving(tmp_path, configure(bw, origin, port), port):
        ours = answers(bw.port, cases)
        theirs = answers(port, cases)
    diffs = []
    for path in cases:
        o, t = ours[path], theirs[path]
        if o[1] and t[1]:
            o = (o[0], o[1].replace(str(bw.port), "P"), o[2], o[3])
            t = (t[0], t[1].replace(str(port), "P"), t[2], t[3])
        if o != t:
            diffs.append((path, o, t))
    assert not diffs, "%d of %d differ: %s" % (len(diffs), len(cases),
                                                diffs[:6])

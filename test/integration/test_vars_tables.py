"""
Variables from tables: map (exact, hostnames wildcards, regexes with
captures, default, include, volatile) and split_clients (percentages,
stable, the same split as nginx's MurmurHash2).
"""

import re
import socket

from conftest import (free_port, get, needs_nginx, nginx_serving,
                      recv_all, require_module)


def bodies(port, paths, host="a", batch=200):
    """Bodies of GET requests for paths, pipelined on one connection."""
    out = []
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        buf = b""
        for i in range(0, len(paths), batch):
            chunk = paths[i:i + batch]
            s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                               % (p.encode(), host.encode()) for p in chunk))
            got = 0
            while got < len(chunk):
                head, sep, rest = buf.partition(b"\r\n\r\n")
                if sep:
                    n = int(re.search(rb"Content-Length: (\d+)", head,
                                      re.I).group(1))
                    if len(rest) >= n:
                        out.append(rest[:n].decode())
                        buf = rest[n:]
                        got += 1
                        continue
                b = s.recv(65536)
                assert b, "connection closed"
                buf += b
    finally:
        s.close()
    return out


def test_map(bw):
    require_module("http_map")
    bw.write("conf/more.map", "/included inc;\n")
    bw.config("""
    map $http_host $h {
        hostnames;
        default       other;
        example.com   exact;
        *.example.com wild;
        www.test.*    tail;
    }
    map $uri $u {
        default          none;
        ~^/user/(\\d+)$   "user-$1";
        ~*^/CASE/        ci;
        /exact/Path      exactpath;
        \\default         escaped;
        include          more.map;
    }
    map $arg_v $m { volatile; a A; ~^n(?<num>\\d+)$ "n=$num";
                    default "d-$arg_v"; }
    map $http_x $e { "" empty; default set; }
    server { listen 127.0.0.1:PORT;
        location / { return 200 "$h|$u|$m|$e"; } }
    """)
    bw.start()

    def one(path, host="a", headers=None):
        st, _, body = get(bw.port, path, host=host, headers=headers)
        assert st == 200
        return body.decode().split("|")

    assert one("/", "example.com")[0] == "exact"
    assert one("/", "EXAMPLE.com.")[0] == "exact"
    assert one("/", "a.b.example.com")[0] == "wild"
    assert one("/", "www.test.org")[0] == "tail"
    assert one("/", "example.org")[0] == "other"

    assert one("/user/42")[1] == "user-42"
    assert one("/user/x")[1] == "none"
    assert one("/case/1")[1] == "ci"
    assert one("/EXACT/path")[1] == "exactpath"
    assert one("/default")[1] == "none"
    assert one("/included")[1] == "inc"

    assert one("/?v=a")[2] == "A"
    assert one("/?v=zz")[2] == "d-zz"
    assert one("/?v=n42")[2] == "n=42"
    assert one("/")[3] == "empty"
    assert one("/", headers={"X": "1"})[3] == "set"

    for bad, msg in (("map $uri $x { a 1; a 2; }", 'conflicting parameter "a"'),
                     ("map $uri $x { default 1; default 2; }",
                      "duplicate default map parameter"),
                     ("map $uri $x { a b c; }",
                      "invalid number of the map parameters"),
                     ("map $uri x { a 1; }", 'invalid variable name "x"')):
        bw.config(bad + " server { listen 127.0.0.1:PORT; }")
        r = bw.run("-t")
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)
        assert "bulwark.conf:" in r.stderr


SPLIT = """
    split_clients "${arg_k}salt" $variant {
        10%%    a;
        20.5%%  b;
        0.5%%   c;
        *       d;
    }
"""


def test_split_clients(bw):
    require_module("http_split_clients")
    bw.config(SPLIT.replace("%%", "%") + """
    server { listen 127.0.0.1:PORT; keepalive_requests 100000;
        location / { return 200 "$variant"; } }
    """)
    bw.start()
    keys = ["/?k=user%d" % i for i in range(10000)]
    got = bodies(bw.port, keys)
    counts = {v: got.count(v) for v in "abcd"}
    # 1000, 2050, 50 and 6900 expected; bounds are 5 sigma or more away
    assert 850 < counts["a"] < 1150, counts
    assert 1850 < counts["b"] < 2250, counts
    assert 20 < counts["c"] < 90, counts
    assert 6650 < counts["d"] < 7150, counts

    # stable: the same keys after a restart
    bw.stop()
    bw.start()
    assert bodies(bw.port, keys[:500]) == got[:500]

    bw.config("""
    split_clients $uri $x { 60% a; 50% b; }
    server { listen 127.0.0.1:PORT; }
    """)
    r = bw.run("-t")
    assert "percent total is greater than 100%" in r.stderr
    bw.config("""
    split_clients $uri $x { 1.234% a; }
    server { listen 127.0.0.1:PORT; }
    """)
    r = bw.run("-t")
    assert 'invalid percent value "1.234%"' in r.stderr


@needs_nginx
def test_split_clients_same_as_nginx(bw, tmp_path):
    require_module("http_split_clients")
    body = SPLIT.replace("%%", "%") + """
    server { listen 127.0.0.1:%d; keepalive_requests 100000;
        location / { return 200 "$variant"; } }
    """
    bw.config(body.replace("%d", "PORT"))
    bw.start()

    port = free_port()
    with nginx_serving(tmp_path, body.replace("%d", str(port)), port):
        keys = ["/?k=%d-%s" % (i, "x" * (i % 7)) for i in range(2000)]
        assert bodies(bw.port, keys) == bodies(port, keys)


def ask_from(port, path, src, headers=()):
    """X-G of a response to a request from source address src."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(src, 0))
    try:
        req = "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" % path
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        s.sendall((req + "\r\n").encode())
        data = recv_all(s)
    finally:
        s.close()
    m = re.search(rb"\r\nX-G: ([^\r]*)\r\n", data)
    return m.group(1).decode()


def test_geo(bw):
    require_module("http_geo")
    bw.write("html/index.html", "x")
    bw.write("conf/nets.geo", "127.1.2.3 host;\n")
    bw.config("""
    geo $g {
        default        none;
        127.1.2.0/24   one-two;
        127.0.0.0/8    loop;
        127.1.0.0/16   one;
        include        nets.geo;
        delete         127.1.0.0/16;
        ::1            six;
    }
    geo $arg_ip $ga { default def; 10.0.0.0/8 ten; 2001:db8::/32 doc6;
                      255.255.255.255 junk; }
    geo $gp { proxy 127.0.0.0/8; proxy_recursive; default none;
              198.51.100.0/24 cust; 10.0.0.0/8 internal; }
    geo $gr { ranges; default zz;
              127.0.0.0-127.0.0.255 low; 127.0.0.10-127.0.0.20 mid;
              127.1.0.0/16 net; delete 127.1.2.0-127.1.2.255; }
    server { listen 127.0.0.1:PORT; root html;
        location / { add_header X-G "$g|$ga|$gp|$gr"; } }
    """)
    bw.start()
    # the longest prefix wins, whatever the order; deleted ones are gone
    assert ask_from(bw.port, "/", "127.1.2.3").split("|")[0] == "host"
    assert ask_from(bw.port, "/", "127.1.2.9").split("|")[0] == "one-two"
    assert ask_from(bw.port, "/", "127.1.9.9").split("|")[0] == "loop"
    assert ask_from(bw.port, "/", "127.0.0.1").split("|")[0] == "loop"

    assert ask_from(bw.port, "/?ip=10.9.8.7", "127.0.0.1").split("|")[1] \
        == "ten"
    assert ask_from(bw.port, "/?ip=2001:db8::5", "127.0.0.1").split("|")[1] \
        == "doc6"
    assert ask_from(bw.port, "/?ip=nonsense", "127.0.0.1").split("|")[1] \
        == "junk"
    assert ask_from(bw.port, "/?ip=192.0.2.1", "127.0.0.1").split("|")[1] \
        == "def"

    # ranges: a later range wins where two overlap; deleted ones are gone
    for src, want in (("127.0.0.1", "low"), ("127.0.0.15", "mid"),
                      ("127.0.0.21", "low"), ("127.1.1.1", "net"),
                      ("127.1.2.3", "zz"), ("127.2.0.1", "zz")):
        assert ask_from(bw.port, "/", src).split("|")[3] == want, src

    xff = [("X-Forwarded-For", "198.51.100.7, 127.0.0.5")]
    assert ask_from(bw.port, "/", "127.0.0.1", xff).split("|")[2] == "cust"
    xff = [("X-Forwarded-For", "198.51.100.7, 10.0.0.1")]
    assert ask_from(bw.port, "/", "127.0.0.1", xff).split("|")[2] \
        == "internal"

    for bad, msg in (("geo $x { 10.0.0.0/33 a; }",
                      'invalid network "10.0.0.0/33"'),
                     ("geo $x { 10.0.0.0/8 a; ranges; }",
                      '"ranges" must come first in geo'),
                     ("geo $x { ranges; 10.0.0.9-10.0.0.1 a; }",
                      'invalid range "10.0.0.9-10.0.0.1"'),
                     ("geo $x { 10.0.0.0/8 a b; }",
                      "invalid number of the geo parameters")):
        bw.config(bad + " server { listen 127.0.0.1:PORT; }")
        r = bw.run("-t")
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)
    bw.config("geo $x { 10.0.0.0/8 a; 10.0.0.0/8 b; } "
              "server { listen 127.0.0.1:PORT; }")
    r = bw.run("-t")
    assert r.returncode == 0
    assert 'duplicate network "10.0.0.0/8", value: "b", old value: "a"' \
        in r.stderr

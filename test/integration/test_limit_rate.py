"""
limit_rate, limit_rate_after and $limit_rate, as nginx: a response goes
no faster than the rate (after a second's head start and past
limit_rate_after), for static files and proxied responses alike, and
the connection serves its next request normally. Only lower bounds on
time are checked: a slow machine cannot make them fail.
"""

import http.client
import socket
import threading
import time

from conftest import free_port, recv_all, require_module
from origin import Origin, pattern

SIZE = 300000


def timed_get(port, path, out, key):
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        # the same connection goes on: no wait is left behind
        conn.request("GET", "/free/f.bin")
        again = conn.getresponse()
        again_body = again.read()
    finally:
        conn.close()
    out[key] = (resp.status, body, time.monotonic() - start,
                resp.getheader("X-L"), again.status, len(again_body))


def timed_gets(port, paths):
    """timed_get of each {key: path} at once: {key: its result}."""
    out = {}
    threads = [threading.Thread(target=timed_get, args=(port, p, out, k))
               for k, p in paths.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_limit_rate(bw):
    require_module("http_proxy")
    require_module("http_rewrite")
    require_module("http_headers")
    origin = Origin("o")
    try:
        data = pattern(SIZE)
        for d in ("plain", "set", "after", "if", "free"):
            bw.write("html/%s/f.bin" % d, data, mode="wb")
        bw.config("""
        server { listen 127.0.0.1:PORT; root html;
            add_header X-L $limit_rate always;
            location /plain/ { limit_rate 100k; }
            location /set/ { set $limit_rate 100k; }
            location /after/ { limit_rate 1; limit_rate_after 400k; }
            location /if/ { if ($arg_slow) { limit_rate 100k; } }
            location /proxy/ { limit_rate 100k;
                               proxy_pass http://127.0.0.1:%d/; }
            location /free/ { }
        }
        """ % origin.port)
        bw.start()

        paths = {"plain": "/plain/f.bin", "set": "/set/f.bin",
                 "if": "/if/f.bin?slow=1", "after": "/after/f.bin",
                 "proxy": "/proxy/size/%d" % SIZE}
        out = timed_gets(bw.port, paths)

        for key, (st, body, elapsed, xl, st2, n2) in out.items():
            assert (st, body) == (200, data), key
            assert (st2, n2) == (200, SIZE), key
            if key != "after":
                # 300 kB at 100 kB/s with a second's head start: 2 s
                assert elapsed >= 1.5, (key, elapsed)
                assert xl == "102400", key
        assert len(out) == 5
        # one byte a second, but only past 400 kB: the 300 kB file is
        # not held back (ignoring limit_rate_after would take days and
        # leave "after" out, by the client's timeout)
        assert out["after"][3] == "1"
    finally:
        origin.stop()


def test_limit_rate_config(bw):
    bw.config("""
    server { listen 127.0.0.1:PORT; limit_rate fast; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"limit_rate" directive invalid value' in r.stderr
    assert "bulwark.conf:" in r.stderr


def test_rate_from_the_upstream(bw):
    """X-Accel-Limit-Rate from the application sets the response's rate
    (and is not passed on), unless proxy_ignore_headers says so."""
    require_module("http_proxy")
    require_module("http_headers")
    bw.write("html/free/f.bin", pattern(SIZE), mode="wb")
    app = free_port()
    bw.config("""
    server { listen 127.0.0.1:%d; root html;
        add_header X-Accel-Limit-Rate 102400; }
    server { listen 127.0.0.1:PORT; root html;
        location /app/ { proxy_pass http://127.0.0.1:%d/; }
        location /free/ { } }
    """ % (app, app))
    bw.start()
    out = {}
    timed_get(bw.port, "/app/free/f.bin", out, "app")
    st, body, elapsed, _, st2, n2 = out["app"]
    assert (st, body, st2, n2) == (200, pattern(SIZE), 200, SIZE)
    assert elapsed >= 1.5, elapsed
    # the header is the proxy's business, not the client's
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=10)
    conn.request("HEAD", "/app/free/f.bin")
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.getheader("X-Accel-Limit-Rate") is None


def test_proxy_limit_rate(bw):
    """proxy_limit_rate, as nginx: the upstream's response is read no
    faster than the rate (a second's head start) while buffering is on,
    and the connection then serves the next request."""
    require_module("http_proxy")
    origin = Origin("o")
    try:
        bw.write("html/free/f.bin", pattern(SIZE), mode="wb")
        bw.config("""
        server { listen 127.0.0.1:PORT; root html;
            location /app/ { proxy_limit_rate 100k;
                             proxy_pass http://127.0.0.1:%d/; }
            location /free/ { } }
        """ % origin.port)
        bw.start()
        out = {}
        timed_get(bw.port, "/app/size/%d" % SIZE, out, "app")
        st, body, elapsed, _, st2, n2 = out["app"]
        assert (st, body, st2, n2) == (200, pattern(SIZE), 200, SIZE)
        # 300 kB at 100 kB/s, counted in whole seconds from the second
        # the body began (as nginx): the third 100 kB comes two second
        # boundaries later, at least one second on (unlimited: ~10 ms)
        assert elapsed >= 0.95, elapsed
    finally:
        origin.stop()


def test_proxy_limit_rate_with_variables(bw):
    """proxy_limit_rate with variables (nginx 1.27): the request's value;
    none or one that is no size limits nothing (the latter logged)."""
    require_module("http_proxy")
    origin = Origin("o")
    try:
        bw.write("html/free/f.bin", pattern(SIZE), mode="wb")
        bw.config("""
        server { listen 127.0.0.1:PORT; root html;
            location /app/ { proxy_limit_rate $arg_r;
                             proxy_pass http://127.0.0.1:%d/; }
            location /free/ { } }
        """ % origin.port)
        bw.start()
        paths = {"slow": "/app/size/%d?r=100k" % SIZE,
                 "none": "/app/size/%d" % SIZE,
                 "bad": "/app/size/%d?r=fast" % SIZE}
        out = timed_gets(bw.port, paths)
        for k in paths:
            st, body, elapsed, _, st2, n2 = out[k]
            assert (st, body, st2, n2) == (200, pattern(SIZE), 200, SIZE), k
        assert out["slow"][2] >= 0.95, out["slow"][2]
        # unlimited: about 10 ms; the limited one took a second at least
        assert out["none"][2] < out["slow"][2]
        assert out["bad"][2] < out["slow"][2]
        assert 'invalid rate value "fast"' in bw.logs()
    finally:
        origin.stop()


def test_limit_rate_with_variables(bw):
    """limit_rate and limit_rate_after with variables (nginx 1.17): the
    value is the request's; one that is no size limits nothing."""
    require_module("http_headers")
    data = pattern(SIZE)
    bw.write("html/var/f.bin", data, mode="wb")
    bw.write("html/free/f.bin", data, mode="wb")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        add_header X-L $limit_rate always;
        location /var/ { limit_rate $arg_r; limit_rate_after $arg_a; }
        location /free/ { } }
    """)
    bw.start()
    paths = {"slow": "/var/f.bin?r=100k", "after": "/var/f.bin?r=1&a=400k",
             "none": "/var/f.bin", "bad": "/var/f.bin?r=fast"}
    out = timed_gets(bw.port, paths)
    assert len(out) == 4
    for key, (st, body, elapsed, xl, st2, n2) in out.items():
        assert (st, body, st2, n2) == (200, data, 200, SIZE), key
    assert out["slow"][2] >= 1.5 and out["slow"][3] == "102400"
    assert out["after"][3] == "1"
    assert out["none"][3] == "0" and out["bad"][3] == "0"
    assert 'invalid rate value "fast"' in bw.logs()


def test_huge_rates_from_variables_limit_nothing(bw):
    """A rate or limit_rate_after a client chooses through variables may
    be as large as a size can be: it limits nothing, and the arithmetic
    with the seconds gone by does not overflow (a client that reads
    slowly makes the writer count them)."""
    require_module("http_static")
    data = pattern(3000000)
    bw.write("html/var/f.bin", data, mode="wb")
    bw.config("""
    server { listen 127.0.0.1:PORT sndbuf=65536; root html;
        location /var/ { limit_rate $arg_r; limit_rate_after $arg_a; } }
    """)
    bw.start()
    for query in ("r=8589934591G", "r=1k&a=8589934591G"):
        s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /var/f.bin?%s HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n" % query.encode())
        time.sleep(1.5)     # the writer waits on a full socket meanwhile
        got = recv_all(s, timeout=30)
        s.close()
        assert got.endswith(data), (query, len(got))
    assert "[alert]" not in bw.logs()

"""
proxy_cache (modules/http_cache): hits after a miss, the validity rules
(X-Accel-Expires, Cache-Control, Expires, proxy_cache_valid, and what
proxy_ignore_headers switches off), what is never stored (Set-Cookie,
private, no-store, Vary), bypass and no_cache, min_uses, methods, HEAD
as GET, ranges and conditionals from a stored answer, the cache across
a restart (the loader), a reload and a binary upgrade, the manager
(inactive entries, max_size), crash safety (kill -9 in the middle of
writes: never a short or mixed answer), configuration errors.

The origin (origin.py's /cache/ path) says in each body how many times
it was asked for that target, so a hit shows as an older count; the
cache status is sent to the client with add_header X-Cache.
"""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import get, require_module, wait_for
from origin import Origin, pattern

pytestmark = pytest.mark.usefixtures("_need_cache")


@pytest.fixture
def _need_cache():
    require_module("http_cache")
    require_module("http_proxy")


@pytest.fixture
def origin():
    o = Origin()
    yield o
    o.stop()


HTTP = """
    proxy_cache_path %(cache)s levels=1:2 keys_zone=one:1m %(params)s;
    map $request_method $purge { PURGE 1; default 0; }
    server {
        listen 127.0.0.1:PORT;
        add_header X-Cache $upstream_cache_status always;
        location / {
            proxy_pass http://127.0.0.1:%(o)d;
            proxy_cache %(zone)s;
            deny 127.0.0.2;
            %(extra)s
        }
        location /off/ {
            proxy_pass http://127.0.0.1:%(o)d/cache/;
            proxy_cache off;
        }
    }
"""


def start(bw, origin, extra="", params="", workers=1, zone="one"):
    bw.config(HTTP % {"cache": bw.path("cache"), "o": origin.port,
                      "extra": extra, "params": params, "zone": zone},
              workers=workers)
    bw.start()


def fetch(bw, path, headers=None, method="GET"):
    status, h, body = get(bw.port, path, headers=headers, method=method)
    return status, h.get("x-cache", ""), body


def fetch_from(bw, path, source, method="GET"):
    """A request from another loopback address."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=5,
                                      source_address=(source, 0))
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def asked(origin, target):
    return sum(1 for r in origin.requests if r["path"] == target)


def cache_files(bw):
    out = []
    for d, _, files in os.walk(bw.path("cache")):
        out.extend(os.path.join(d, f) for f in files)
    return out


CC60 = "h=Cache-Control:max-age%3D60"


def test_hit_after_miss(bw, origin):
    start(bw, origin)
    t = "/cache/a?" + CC60
    assert fetch(bw, t) == (200, "MISS", b"/cache/a #1")
    assert fetch(bw, t) == (200, "HIT", b"/cache/a #1")
    assert fetch(bw, t) == (200, "HIT", b"/cache/a #1")
    assert asked(origin, t) == 1
    # the file: under levels 1:2, named by the MD5 of the key
    files = cache_files(bw)
    assert len(files) == 1
    name = os.path.basename(files[0])
    assert len(name) == 32
    rel = os.path.relpath(files[0], bw.path("cache")).split(os.sep)
    assert rel == [name[-1], name[-3:-1], name]
    with open(files[0], "rb") as f:
        data = f.read()
    # the key, as nginx's default: the upstream's URL and the URI sent
    assert b"\nKEY: http://127.0.0.1:%d%s\n" % (origin.port, t.encode()) \
        in data
    # no cache: no status
    assert fetch(bw, "/off/x") == (200, "", b"/cache/x #1")


def test_hit_headers_and_body(bw, origin):
    start(bw, origin, extra="proxy_hide_header X-Hidden;")
    t = ("/cache/h?" + CC60 + "&h=X-Kept:k&h=X-Hidden:h"
         "&h=Content-Type:text/x-test")
    miss = get(bw.port, t)
    hit = get(bw.port, t)
    assert miss[0] == hit[0] == 200
    assert hit[2] == miss[2]
    for h in (miss[1], hit[1]):
        assert h["x-kept"] == "k"
        assert "x-hidden" not in h
        assert h["content-type"] == "text/x-test"
        assert h["content-length"] == str(len(miss[2]))
    # a large body, served from the file
    big = "/cache/big?n=300000&" + CC60
    s1, x1, b1 = fetch(bw, big)
    s2, x2, b2 = fetch(bw, big)
    assert (x1, x2) == ("MISS", "HIT")
    assert b1 == b2 == pattern(300000)


@pytest.mark.parametrize("hdr,cached", [
    ("h=Cache-Control:max-age%3D60", True),
    ("h=Cache-Control:public,%20s-maxage%3D60,%20max-age%3D0", True),
    ("h=Cache-Control:max-age%3D0", False),
    ("h=Cache-Control:no-cache", False),
    ("h=Cache-Control:no-store", False),
    ("h=Cache-Control:private,%20max-age%3D60", False),
    ("h=X-Accel-Expires:60&h=Cache-Control:no-store", True),
    ("h=X-Accel-Expires:0&h=Cache-Control:max-age%3D60", False),
    ("h=Expires:Thu,%2001%20Jan%202099%2000:00:00%20GMT", True),
    ("h=Expires:Thu,%2001%20Jan%202015%2000:00:00%20GMT", False),
    ("h=Set-Cookie:a%3D1&" + CC60, False),
    ("h=Vary:*&" + CC60, False),
    ("h=Vary:Accept-Encoding&" + CC60, True),
    ("", False),                        # nothing says how long
])
def test_validity_rules(bw, origin, hdr, cached):
    start(bw, origin)
    t = "/cache/v?" + hdr
    assert fetch(bw, t)[1] == "MISS"
    s, x, body = fetch(bw, t)
    assert (x == "HIT") == cached, (x, body)
    assert body == (b"/cache/v #1" if cached else b"/cache/v #2")


def test_x_accel_expires_absolute_and_ignored_headers(bw, origin):
    start(bw, origin, extra="""
        proxy_ignore_headers Cache-Control Set-Cookie;
        proxy_cache_valid 200 1m;""")
    at = int(time.time()) + 3600
    t1 = "/cache/abs?h=X-Accel-Expires:@%d" % at
    fetch(bw, t1)
    assert fetch(bw, t1)[1] == "HIT"
    # Cache-Control and Set-Cookie ignored: proxy_cache_valid decides
    t2 = "/cache/ign?h=Cache-Control:no-store&h=Set-Cookie:a%3D1"
    fetch(bw, t2)
    s, x, body = fetch(bw, t2)
    assert (x, body) == ("HIT", b"/cache/ign #1")


def test_intercepted_error_kept(bw, origin):
    """As nginx: an error the location intercepts is kept for
    proxy_cache_valid's time; error_page answers without the origin."""
    start(bw, origin, extra="""
        proxy_cache_valid 404 1m;
        proxy_intercept_errors on;
        error_page 404 = @fallback;
        error_page 410 = @gone;
    }
    location @gone { return 410; }
    location @fallback {
        return 200 "fallback";""")
    for _ in range(3):
        assert get(bw.port, "/cache/ie?s=404")[0::2] == (200, b"fallback")
    assert asked(origin, "/cache/ie?s=404") == 1
    # one proxy_cache_valid does not name is asked for each time
    for _ in range(2):
        assert get(bw.port, "/cache/ie2?s=410")[0] == 410
    assert asked(origin, "/cache/ie2?s=410") == 2


def test_cache_valid_codes(bw, origin):
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_valid 404 1m;""")
    fetch(bw, "/cache/ok")
    assert fetch(bw, "/cache/ok")[1] == "HIT"
    fetch(bw, "/cache/nf?s=404")
    assert fetch(bw, "/cache/nf?s=404")[:2] == (404, "HIT")
    fetch(bw, "/cache/err?s=500")
    assert fetch(bw, "/cache/err?s=500")[:2] == (500, "MISS")


def test_expiry(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1s;")
    t = "/cache/exp"
    assert fetch(bw, t)[1] == "MISS"
    assert fetch(bw, t)[1] == "HIT"
    seen = []

    def expired():
        seen.append(fetch(bw, t)[1])
        return seen[-1] == "EXPIRED"
    wait_for(expired, timeout=5, interval=0.2, what="EXPIRED")
    assert asked(origin, t) == 2
    assert fetch(bw, t) == (200, "HIT", b"/cache/exp #2")


def test_bypass_and_no_cache(bw, origin):
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_bypass $arg_nocache $http_x_bypass;
        proxy_no_cache $arg_nostore;""")
    assert fetch(bw, "/cache/b?nocache=1")[1] == "BYPASS"
    # a bypassed answer is stored
    assert fetch(bw, "/cache/b?nocache=1")[:2] == (200, "BYPASS")
    fetch(bw, "/cache/b2")
    assert fetch(bw, "/cache/b2", {"X-Bypass": "yes"})[1] == "BYPASS"
    assert fetch(bw, "/cache/b2", {"X-Bypass": "0"})[1] == "HIT"
    assert fetch(bw, "/cache/ns?nostore=1")[1] == "MISS"
    assert fetch(bw, "/cache/ns?nostore=1")[1] == "MISS"
    assert asked(origin, "/cache/ns?nostore=1") == 2


def test_min_uses(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m; proxy_cache_min_uses 3;")
    xs = [fetch(bw, "/cache/m")[1] for _ in range(5)]
    assert xs == ["MISS", "MISS", "MISS", "HIT", "HIT"]
    assert asked(origin, "/cache/m") == 3


def test_methods_and_head(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    # HEAD goes to the origin as GET, and the stored answer serves GETs
    s, h, body = get(bw.port, "/cache/hd", method="HEAD")
    assert (s, h["x-cache"], body) == (200, "MISS", b"")
    assert h["content-length"] == str(len(b"/cache/hd #1"))
    assert [r["method"] for r in origin.requests] == ["GET"]
    assert fetch(bw, "/cache/hd") == (200, "HIT", b"/cache/hd #1")
    s, h, body = get(bw.port, "/cache/hd", method="HEAD")
    assert (h["x-cache"], body) == ("HIT", b"")
    # POST is not cached
    s, h, body = get(bw.port, "/cache/p", method="POST")
    assert h.get("x-cache") is None
    s, h, body = get(bw.port, "/cache/p", method="POST")
    assert body == b"/cache/p #2"


def test_head_without_convert_is_not_stored(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m; "
                            "proxy_cache_convert_head off;")
    get(bw.port, "/cache/nh", method="HEAD")
    assert origin.requests[-1]["method"] == "HEAD"
    # the empty answer to the HEAD did not become the GET's
    assert fetch(bw, "/cache/nh") == (200, "MISS", b"/cache/nh #2")
    assert fetch(bw, "/cache/nh") == (200, "HIT", b"/cache/nh #2")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_client_gone_the_answer_is_still_stored(bw, origin, method):
    """As nginx: a client that goes after the header does not cost the
    cache the answer (a HEAD sent as GET, a player that seeks)."""
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    n = 3000000
    t = "/cache/gone?n=%d" % n
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\n\r\n"
                  % (method.encode(), t.encode()))
        head = b""
        while b"\r\n\r\n" not in head:
            piece = s.recv(4096)
            assert piece
            head += piece
    assert b"X-Cache: MISS" in head
    wait_for(lambda: [f for f in cache_files(bw)
                      if len(os.path.basename(f)) == 32],
             what="the answer stored")
    s, x, body = fetch(bw, t)
    assert (s, x, len(body)) == (200, "HIT", n)
    assert body == pattern(n)
    assert asked(origin, t) == 1


def test_post_cached_when_listed(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m; "
                            "proxy_cache_methods POST;")
    get(bw.port, "/cache/pp", method="POST")
    s, h, body = get(bw.port, "/cache/pp", method="POST")
    assert (h["x-cache"], body) == ("HIT", b"/cache/pp #1")


def test_cache_key(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m; proxy_cache_key $uri;")
    fetch(bw, "/cache/k?a=1")
    s, x, body = fetch(bw, "/cache/k?a=2")
    assert (x, body) == ("HIT", b"/cache/k #1")


def test_ranges_and_conditionals_from_cache(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    t = ("/cache/r?h=ETag:%22e1%22&h=Accept-Ranges:bytes"
         "&h=Last-Modified:Thu,%2001%20Jan%202026%2000:00:00%20GMT")
    fetch(bw, t)
    s, h, body = get(bw.port, t, headers={"Range": "bytes=0-3"})
    assert (s, h["x-cache"], body) == (206, "HIT", b"/cac")
    assert h["content-range"] == "bytes 0-3/%d" % len(b"/cache/r #1")
    s, h, body = get(bw.port, t, headers={"If-None-Match": '"e1"'})
    assert (s, h["x-cache"], body) == (304, "HIT", b"")
    s, h, body = get(bw.port, t, headers={
        "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert (s, body) == (304, b"")
    # the origin was asked once, and for the whole answer
    reqs = [r for r in origin.requests if r["path"] == t]
    assert len(reqs) == 1
    names = [k.lower() for k, _ in reqs[0]["headers"]]
    assert "range" not in names and "if-none-match" not in names


def test_max_range_offset(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m; "
                            "proxy_cache_max_range_offset 5;")
    t = "/cache/mro?h=Accept-Ranges:bytes"
    # a miss for a range beyond the offset: to the origin with its
    # Range, and not stored (as nginx)
    s, h, body = get(bw.port, t, headers={"Range": "bytes=8-"})
    assert h["x-cache"] == "MISS"
    sent = {k.lower(): v for k, v in origin.requests[-1]["headers"]}
    assert sent["range"] == "bytes=8-"
    assert fetch(bw, t)[1] == "MISS"
    # once stored, any range is cut from it
    s, h, body = get(bw.port, t, headers={"Range": "bytes=8-"})
    assert (s, h["x-cache"], body) == (206, "HIT", b"/cache/mro #2"[8:])
    assert len(origin.requests) == 2


@pytest.mark.parametrize("keepalive", [False, True])
def test_background_update(bw, origin, keepalive):
    """The stale answer at once, one refresh by a subrequest behind it;
    the client's connection goes on once the refresh is done."""
    import http.client
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_key $uri;
        proxy_cache_use_stale updating;
        proxy_cache_background_update on;""")
    # stored expired already (X-Accel-Expires in the past, as nginx)
    assert fetch(bw, "/cache/bg?h=X-Accel-Expires:@1000000000")[1] == "MISS"
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=10)
    try:
        t0 = time.monotonic()
        conn.request("GET", "/cache/bg?d=1000&h=X-Fresh:1")
        resp = conn.getresponse()
        body = resp.read()
        took = time.monotonic() - t0
        assert (resp.status, resp.getheader("X-Cache"), body) == \
            (200, "STALE", b"/cache/bg #1")
        assert took < 0.9, took     # not after the refresh's second
        wait_for(lambda: asked(origin, "/cache/bg?d=1000&h=X-Fresh:1") == 1,
                 what="the refresh asked")
        if keepalive:
            # the same connection, once the refresh is over
            conn.request("GET", "/cache/bg?again")
            resp = conn.getresponse()
            assert (resp.getheader("X-Cache"), resp.read()) == \
                ("HIT", b"/cache/bg #1")
    finally:
        conn.close()
    # the refresh's answer is the one stored now
    wait_for(lambda: get(bw.port, "/cache/bg?x")[1].get("x-fresh") == "1",
             what="refreshed")
    assert fetch(bw, "/cache/bg?y")[1] == "HIT"
    assert len(origin.requests) == 2


def test_background_update_failing_keeps_the_connection(bw):
    """The refresh fails at once (the upstream is down): the client's
    connection goes on, a pipelined request after it is answered."""
    o = Origin()
    start(bw, o, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_key $uri;
        proxy_cache_use_stale updating error;
        proxy_cache_background_update on;""")
    assert fetch(bw, "/cache/bf?h=X-Accel-Expires:@1000000000")[1] == "MISS"
    o.stop()
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"GET /cache/bf?1 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /cache/bf?2 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while data.count(b"/cache/bf #1") < 2:
            piece = s.recv(65536)
            assert piece, data
            data += piece
    assert data.count(b"HTTP/1.1 200") == 2, data


def test_purge_kept_error(bw, origin):
    start(bw, origin, extra="""
        proxy_cache_valid 404 1m;
        proxy_cache_key $uri;
        proxy_intercept_errors on;
        proxy_cache_purge $purge;
        error_page 404 = @fallback;
    }
    location @fallback {
        return 200 "fallback";""")
    get(bw.port, "/cache/pe?s=404")
    get(bw.port, "/cache/pe?s=404")
    assert len(origin.requests) == 1
    s, h, body = get(bw.port, "/cache/pe", method="PURGE")
    assert (s, body) == (200, b'{"purged": 1}\n')
    get(bw.port, "/cache/pe?s=404")
    assert len(origin.requests) == 2


def test_client_timed_out_the_answer_is_still_stored(bw, origin):
    """A client that stops reading until send_timeout, with no temp file
    to take the answer: the cache still gets all of it (as nginx)."""
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_max_temp_file_size 0;
        send_timeout 1s;""")
    n = 8000000
    t = "/cache/slow?n=%d" % n
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        s.connect(("127.0.0.1", bw.port))
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % t.encode())
        s.recv(4096)
        # and reads no more: the server gives it up after send_timeout
        wait_for(lambda: [f for f in cache_files(bw)
                          if len(os.path.basename(f)) == 32],
                 timeout=15, what="the answer stored")
    s, x, body = fetch(bw, t)
    assert (x, len(body)) == ("HIT", n)
    assert asked(origin, t) == 1


def test_zone_from_variable(bw, origin):
    start(bw, origin, zone="$z", extra="""
        proxy_cache_valid 200 1m;
        set $z one;
        if ($arg_z) { set $z $arg_z; }
        if ($arg_none) { set $z ""; }""")
    fetch(bw, "/cache/zv")
    assert fetch(bw, "/cache/zv")[1] == "HIT"
    # "off" or nothing: no cache, as nginx; a name that is no zone: 500
    assert fetch(bw, "/cache/zv?z=off") == (200, "", b"/cache/zv #1")
    assert fetch(bw, "/cache/zv?none=1") == (200, "", b"/cache/zv #1")
    assert fetch(bw, "/cache/zv?z=nope")[0] == 500


def test_vary_variant_refreshed_after_expiry(bw, origin):
    start(bw, origin, extra="proxy_cache_use_stale updating;")
    t = "/cache/vx?h=Vary:Accept-Encoding&h=Cache-Control:max-age%3D1"
    gz = {"Accept-Encoding": "gzip"}
    br = {"Accept-Encoding": "br"}
    assert fetch(bw, t, gz)[1] == "MISS"
    assert fetch(bw, t, br)[1] == "MISS"
    for enc in (br, gz):
        seen = []

        def refreshed():
            seen.append(fetch(bw, t, enc))
            return seen[-1][1] != "HIT"
        wait_for(refreshed, timeout=5, interval=0.2, what="expiry")
        assert seen[-1][1] == "EXPIRED"
        # refreshed: a hit again, never "updating" for good
        assert fetch(bw, t, enc) == (200, "HIT", seen[-1][2])


def test_vary_variants_kept_apart(bw, origin):
    start(bw, origin)
    t = "/cache/vy?h=Vary:Accept-Encoding&" + CC60
    gz = {"Accept-Encoding": "gzip"}
    br = {"Accept-Encoding": "br"}
    assert fetch(bw, t, gz) == (200, "MISS", b"/cache/vy #1")
    assert fetch(bw, t, gz) == (200, "HIT", b"/cache/vy #1")
    assert fetch(bw, t, br) == (200, "MISS", b"/cache/vy #2")
    assert fetch(bw, t, br) == (200, "HIT", b"/cache/vy #2")
    assert fetch(bw, t, gz) == (200, "HIT", b"/cache/vy #1")
    assert fetch(bw, t) == (200, "MISS", b"/cache/vy #3")
    assert fetch(bw, t) == (200, "HIT", b"/cache/vy #3")
    assert fetch(bw, t, br) == (200, "HIT", b"/cache/vy #2")


def concurrently(n, fn):
    results = [None] * n
    start_gate = threading.Barrier(n)

    def run(i):
        start_gate.wait(5)
        results[i] = fn()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_lock_one_fetch_for_many(bw, origin):
    start(bw, origin, workers=2, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_lock on;""")
    t = "/cache/lk?d=300"
    results = concurrently(50, lambda: fetch(bw, t))
    assert all(r[0] == 200 and r[2] == b"/cache/lk #1" for r in results), \
        results
    assert asked(origin, t) == 1
    assert sorted(r[1] for r in results) == ["HIT"] * 49 + ["MISS"]


def test_lock_timeout_goes_to_the_upstream(bw, origin):
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_lock on;
        proxy_cache_lock_timeout 100ms;""")
    t = "/cache/lt?d=1000"
    results = concurrently(2, lambda: fetch(bw, t))
    assert asked(origin, t) == 2
    assert sorted(r[2] for r in results) == [b"/cache/lt #1",
                                             b"/cache/lt #2"]


def expire(bw, t):
    """Polls until the 1 s entry of t has expired (no request goes to the
    origin meanwhile: each is a HIT until then)."""
    seen = []

    def stale():
        seen.append(fetch(bw, t)[1])
        return seen[-1] != "HIT"
    wait_for(stale, timeout=5, interval=0.2, what="expiry")
    return seen[-1]


@pytest.mark.parametrize("failure", ["down", "500"])
def test_use_stale(bw, failure):
    o = Origin()
    try:
        start(bw, o, extra="""
            proxy_cache_valid 200 1s;
            proxy_cache_use_stale error timeout http_500;
            proxy_next_upstream off;""")
        t = "/cache/st"
        assert fetch(bw, t) == (200, "MISS", b"/cache/st #1")
        if failure == "down":
            o.stop()
        else:
            o.answer_all(500)
        assert expire(bw, t) == "STALE"
        assert fetch(bw, t) == (200, "STALE", b"/cache/st #1")
    finally:
        if failure != "down":
            o.stop()


def test_no_stale_without_use_stale_but_stale_if_error(bw):
    o = Origin()
    try:
        start(bw, o)
        plain = "/cache/ns?h=Cache-Control:max-age%3D1"
        sie = "/cache/sie?h=Cache-Control:max-age%3D1,%20stale-if-error%3D60"
        fetch(bw, plain)
        fetch(bw, sie)
        o.answer_all(502)
        wait_for(lambda: fetch(bw, plain)[0] == 502, timeout=5,
                 interval=0.2, what="expiry")
        assert fetch(bw, sie) == (200, "STALE", b"/cache/sie #1")
    finally:
        o.stop()


def test_use_stale_updating(bw, origin):
    # one key for any query: the first answer is stored expired already
    # (X-Accel-Expires in the past, as nginx), the refresh takes its time
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_key $uri;
        proxy_cache_use_stale updating;""")
    first = "/cache/upd?h=X-Accel-Expires:@1000000000"
    assert fetch(bw, first) == (200, "MISS", b"/cache/upd #1")
    slow = "/cache/upd?d=1500"
    refreshed = []
    refresh = threading.Thread(
        target=lambda: refreshed.append(fetch(bw, slow)))
    refresh.start()
    wait_for(lambda: asked(origin, slow) == 1, what="the refresh asked")
    # meanwhile: the stale answer at once
    assert fetch(bw, "/cache/upd?other") == (200, "UPDATING",
                                             b"/cache/upd #1")
    refresh.join(10)
    assert refreshed[0] == (200, "EXPIRED", b"/cache/upd #1")
    assert fetch(bw, "/cache/upd") == (200, "HIT", b"/cache/upd #1")
    assert len(origin.requests) == 2


@pytest.mark.parametrize("validator", [
    "h=ETag:%22e1%22",
    "h=Last-Modified:Thu,%2001%20Jan%202026%2000:00:00%20GMT"])
def test_revalidate(bw, origin, validator):
    start(bw, origin, extra="""
        proxy_cache_valid 200 1s;
        proxy_cache_revalidate on;""")
    t = "/cache/rv?cond=1&" + validator
    assert fetch(bw, t) == (200, "MISS", b"/cache/rv #1")
    assert expire(bw, t) == "REVALIDATED"
    reqs = [r for r in origin.requests if r["path"] == t]
    assert len(reqs) == 2
    sent = {k.lower(): v for k, v in reqs[1]["headers"]}
    if "ETag" in validator:
        assert sent["if-none-match"] == '"e1"'
    else:
        assert sent["if-modified-since"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    # the stored answer, renewed
    assert fetch(bw, t) == (200, "HIT", b"/cache/rv #1")
    assert asked(origin, t) == 2


def test_purge(bw, origin):
    start(bw, origin, extra="""
        proxy_cache_valid 200 1m;
        proxy_cache_key $uri;
        proxy_cache_purge $purge;""")
    for t in ("/cache/p1", "/cache/pre1", "/cache/pre2", "/cache/other"):
        fetch(bw, t)
        assert fetch(bw, t)[1] == "HIT"
    # refused where access is (the location denies 127.0.0.2)
    assert fetch_from(bw, "/cache/p1", "127.0.0.2", "PURGE")[0] == 403
    assert fetch(bw, "/cache/p1")[1] == "HIT"
    s, h, body = get(bw.port, "/cache/p1", method="PURGE")
    assert (s, body) == (200, b'{"purged": 1}\n')
    assert fetch(bw, "/cache/p1") == (200, "MISS", b"/cache/p1 #2")
    s, h, body = get(bw.port, "/cache/nothing", method="PURGE")
    assert s == 404
    # a prefix
    s, h, body = get(bw.port, "/cache/pre*", method="PURGE")
    assert (s, body) == (200, b'{"purged": 2}\n')
    assert fetch(bw, "/cache/pre1")[1] == "MISS"
    assert fetch(bw, "/cache/pre2")[1] == "MISS"
    assert fetch(bw, "/cache/other")[1] == "HIT"
    assert len(cache_files(bw)) == 4
    # an answer that varies: every variant goes
    v = "/cache/var?h=Vary:Accept-Encoding"
    for enc in ("gzip", "br"):
        fetch(bw, v, {"Accept-Encoding": enc})
        assert fetch(bw, v, {"Accept-Encoding": enc})[1] == "HIT"
    s, h, body = get(bw.port, v, method="PURGE")
    assert (s, body) == (200, b'{"purged": 2}\n')
    assert fetch(bw, v, {"Accept-Encoding": "br"})[1] == "MISS"
    assert fetch(bw, v, {"Accept-Encoding": "gzip"})[1] == "MISS"


def test_huge_lifetimes(bw, origin):
    start(bw, origin)
    for v in ("9223372036854775807", "@9223372036854775807"):
        t = "/cache/huge?h=X-Accel-Expires:" + v
        fetch(bw, t)
        assert fetch(bw, t)[1] == "HIT"
    t = ("/cache/huge2?h=Cache-Control:max-age%3D99999999999999999999,"
         "%20stale-if-error%3D99999999999999999999")
    fetch(bw, t)
    assert fetch(bw, t)[1] == "HIT"


def test_reload_with_other_levels_is_refused(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    fetch(bw, "/cache/lv")
    bw.config(HTTP.replace("levels=1:2", "levels=2")
              % {"cache": bw.path("cache"), "o": origin.port, "extra":
                 "proxy_cache_valid 200 1m;", "params": "", "zone": "one"})
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "had previously different levels" in bw.logs(),
             what="the reload refused")
    assert fetch(bw, "/cache/lv")[1] == "HIT"


def test_reload_while_loading(bw, origin):
    """A reload in the middle of the loader's walk: the new loader takes
    over when the old one stops, and the cache is loaded whole."""
    start(bw, origin, extra="proxy_cache_valid 200 1m;",
          params="loader_files=1 loader_sleep=300ms")
    for i in range(8):
        fetch(bw, "/cache/rw%d" % i)
    bw.signal(signal.SIGQUIT)
    wait_for(lambda: bw.read_pid() is None, what="stop")
    bw.start()
    wait_for(lambda: "cache loader process started" in bw.logs(),
             what="the loader")
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "8 files" in bw.logs(), timeout=15,
             what="the cache loaded whole")


def test_restart_keeps_the_cache(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    for i in range(20):
        fetch(bw, "/cache/rs%d" % i)
    bw.signal(signal.SIGQUIT)
    wait_for(lambda: bw.read_pid() is None, what="stop")
    bw.start()
    # every entry is a hit at once (the zone is cold: files are looked
    # up), and the loader counts them all
    for i in range(20):
        assert fetch(bw, "/cache/rs%d" % i)[1] == "HIT"
    wait_for(lambda: "20 files" in bw.logs(), what="the loader")
    assert len(origin.requests) == 20


def test_reload_keeps_the_zone(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    fetch(bw, "/cache/rl")
    old = set(bw.workers())
    bw.signal(signal.SIGHUP)
    wait_for(lambda: not (set(bw.workers()) & old), what="new workers")
    assert fetch(bw, "/cache/rl")[1] == "HIT"
    # the cache manager runs again, a loader has nothing to load
    assert bw.logs().count("cache manager process started") == 2


def test_binary_upgrade_keeps_the_cache(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    fetch(bw, "/cache/up")
    old = bw.read_pid()
    bw.signal(signal.SIGUSR2)
    wait_for(lambda: bw.read_pid() not in (None, old), what="new master")
    new = bw.read_pid()
    bw.pids.add(new)
    bw.signal(signal.SIGQUIT, old)
    wait_for(lambda: not os.path.exists(bw.pidfile + ".oldbin"),
             what="old master gone")
    assert fetch(bw, "/cache/up")[1] == "HIT"
    assert asked(origin, "/cache/up") == 1


def test_manager_removes_inactive(bw, origin):
    start(bw, origin, extra="proxy_cache_valid 200 1m;",
          params="inactive=1s")
    fetch(bw, "/cache/in")
    assert len(cache_files(bw)) == 1
    wait_for(lambda: not cache_files(bw), timeout=10, interval=0.1,
             what="the inactive entry removed")
    assert fetch(bw, "/cache/in")[1] == "MISS"


def test_manager_holds_max_size(bw, origin):
    # entries of 100 KB, at most 1 MB
    start(bw, origin, extra="proxy_cache_valid 200 1m;",
          params="max_size=1m manager_sleep=50ms", workers=2)

    def total():
        # (the manager removes files while they are summed)
        n = 0
        for f in cache_files(bw):
            try:
                n += os.path.getsize(f)
            except FileNotFoundError:
                pass
        return n
    for i in range(30):
        fetch(bw, "/cache/ms%d?n=100000" % i)
    wait_for(lambda: total() <= 1024 * 1024 + 64 * 1024, timeout=10,
             interval=0.1, what="max_size held")
    # the newest stayed
    assert fetch(bw, "/cache/ms29?n=100000")[1] == "HIT", \
        (total(), len(cache_files(bw)))
    assert fetch(bw, "/cache/ms0?n=100000")[1] == "MISS", \
        (total(), len(cache_files(bw)))


@pytest.mark.parametrize("victims", ["workers", "all"])
def test_kill_during_writes_never_serves_a_short_body(bw, origin, victims):
    """kill -9 the worker (or the whole server) while it writes large
    entries for many clients; after a restart every key is the whole
    body or a miss."""
    start(bw, origin, extra="proxy_cache_valid 200 1m;")
    n = 400000
    keys = ["/cache/cr%d?n=%d" % (i, n) for i in range(12)]
    errors = []

    def client(k):
        try:
            get(bw.port, k, timeout=10)
        except Exception as e:      # the worker is killed under us
            errors.append(e)
    threads = [threading.Thread(target=client, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    # kill as soon as some entries are being written
    wait_for(lambda: any("." in os.path.basename(f) for f in cache_files(bw))
             or len(origin.requests) >= 6, timeout=10, interval=0.005,
             what="writes in progress")
    master = bw.read_pid()
    kids = bw.workers()
    if victims == "all":
        os.kill(master, signal.SIGKILL)
    for w in kids:
        os.kill(w, signal.SIGKILL)
    for t in threads:
        t.join(15)
    if victims == "all":
        wait_for(lambda: not any(os.path.exists("/proc/%d" % p)
                                 and open("/proc/%d/stat" % p).read()
                                 .split()[2] != "Z"
                                 for p in kids + [master]),
                 what="the server gone")
        os.unlink(bw.pidfile)
    else:
        bw.signal(signal.SIGTERM)
        wait_for(lambda: bw.read_pid() is None, what="stop")
    bw.start()
    for k in keys:
        s, x, body = fetch(bw, k)
        assert s == 200
        assert body == pattern(n), (k, x, len(body))
    # and the unfinished temp files of the dead worker are gone
    wait_for(lambda: not [f for f in cache_files(bw)
                          if "." in os.path.basename(f)],
             what="temp files removed by the loader")


@pytest.mark.parametrize("line,message", [
    ("proxy_cache_path %(c)s levels=1;",
     '"proxy_cache_path" must have "keys_zone" parameter'),
    ("proxy_cache_path %(c)s keys_zone=z;", 'invalid keys zone size'),
    ("proxy_cache_path %(c)s keys_zone=z:1m levels=3;", 'invalid "levels"'),
    ("proxy_cache_path %(c)s keys_zone=z:1m levels=1:2:2:2;",
     'invalid "levels"'),
    ("proxy_cache_path %(c)s keys_zone=z:1m bogus=1;",
     'invalid parameter "bogus=1"'),
    ("proxy_cache_path %(c)s keys_zone=z:1m inactive=x;",
     'invalid inactive value'),
    ("server { location / { proxy_pass http://127.0.0.1:1; "
     "proxy_cache nope; } }", '"proxy_cache" zone "nope" is unknown'),
    ("server { location / { proxy_cache_valid 200 xyz; } }",
     'invalid time value "xyz"'),
    ("server { location / { proxy_cache_methods PUT; } }",
     'invalid value "PUT"'),
])
def test_config_errors(bw, line, message):
    bw.check_modules = False
    bw.config(line % {"c": bw.path("cache")})
    r = bw.run("-t")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "bulwark.conf:" in r.stderr

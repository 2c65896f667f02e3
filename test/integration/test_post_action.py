"""
post_action: after the client has its answer, the request goes on to the
URI or named location given (a proxied notification); the client sees
nothing of it, its connection stays kept alive; "post_action off" in
a location undoes the server's. The same requests through Debian's nginx: the same answers to the client and
the same requests at the origin.
"""

import http.client

import pytest

from conftest import (free_port, needs_nginx, nginx_serving, require_module,
                      wait_for)
from origin import Origin

pytestmark = pytest.mark.usefixtures("_need_proxy")


@pytest.fixture
def _need_proxy():
    require_module("http_proxy")


HTTP = """
    server {
        listen 127.0.0.1:%(port)d;
        location /a { post_action /done; return 200 "answer a"; }
        location /b { post_action @named; return 201 "answer b"; }
        location /c { return 200 "c"; }
        location /p { post_action /done;
                      proxy_pass http://127.0.0.1:%(o)d/cache/p; }
        location = /done { proxy_pass http://127.0.0.1:%(o)d/cache/done; }
        location @named { proxy_pass http://127.0.0.1:%(o)d; }
    }
"""

# nginx 1.22 takes "post_action off" for a named location called "off"
# (and loops on it): bulwark takes it as documented, so it is tested
# apart from the comparison
OFF = """
    server {
        listen 127.0.0.1:%(port)d;
        post_action /done;
        location /a { return 200 "answer a"; }
        location /b { post_action @named; return 201 "answer b"; }
        location /c { post_action off; return 200 "c"; }
        location /p { proxy_pass http://127.0.0.1:%(o)d/cache/p; }
        location = /done { post_action off;
                           proxy_pass http://127.0.0.1:%(o)d/cache/done; }
        location @named { post_action off;
                          proxy_pass http://127.0.0.1:%(o)d; }
    }
"""


def run(port, origin):
    """Four requests on one kept-alive connection: what the client saw,
    then what the origin was asked."""
    seen = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for path in ("/a", "/b", "/c", "/p"):
            conn.request("GET", path)
            resp = conn.getresponse()
            seen.append((path, resp.status, resp.read()))
    finally:
        conn.close()
    return seen


def origin_saw(origin, n):
    """What the origin was asked, once it has been asked n times (the
    post_action requests come after the client's answers)."""
    wait_for(lambda: len(origin.requests) >= n,
             what="%d requests at the origin" % n)
    return sorted((r["method"], r["path"]) for r in origin.requests)


@pytest.mark.parametrize("conf", [HTTP, OFF])
def test_post_action(bw, conf):
    o = Origin()
    try:
        bw.config(conf % {"port": bw.port, "o": o.port})
        bw.start()
        seen = run(bw.port, o)
        assert seen == [("/a", 200, b"answer a"), ("/b", 201, b"answer b"),
                        ("/c", 200, b"c"), ("/p", 200, b"/cache/p #1")]
        # (a named location gets the request's own URI)
        assert origin_saw(o, 4) == [("GET", "/b"),
                                    ("GET", "/cache/done"),
                                    ("GET", "/cache/done"),
                                    ("GET", "/cache/p")]
        # a client that closes as soon as it has its answer does not
        # stop it (as nginx)
        for _ in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", bw.port,
                                              timeout=5)
            conn.request("GET", "/p")
            assert conn.getresponse().status == 200
            conn.close()
        assert origin_saw(o, 10).count(("GET", "/cache/done")) == 5
    finally:
        o.stop()


@needs_nginx
def test_post_action_as_nginx(bw, tmp_path):
    results = []
    o = Origin()
    try:
        bw.config(HTTP % {"port": bw.port, "o": o.port})
        bw.start()
        results.append((run(bw.port, o), origin_saw(o, 4)))
        o.server.requests.clear()
        port = free_port()
        with nginx_serving(tmp_path, HTTP % {"port": port, "o": o.port},
                           port):
            results.append((run(port, o), origin_saw(o, 4)))
    finally:
        o.stop()
    assert results[0] == results[1]

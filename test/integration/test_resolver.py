"""
resolver: host names in proxy_pass with variables are asked of a real
DNS server on loopback at run time, cached for their TTL, followed
through CNAMEs, failed over to the next name server and to the next
address; NXDOMAIN and silence are 502s with nginx's log lines.
"""

import socket

import pytest

from conftest import get, require_module, wait_for
from dns import DNS
from origin import Origin


@pytest.fixture(autouse=True)
def _proxy_built():
    require_module("http_proxy")


@pytest.fixture
def dns():
    servers = []

    def make(zone, silent=(), slow=None):
        d = DNS(zone, silent, slow)
        servers.append(d)
        return d
    yield make
    for d in servers:
        d.stop()


def conf(resolver, port, timeout="5s"):
    return """
    server { listen 127.0.0.1:PORT;
        resolver %s;
        resolver_timeout %s;
        location / { proxy_pass http://$arg_h:%d/echo; } }
    """ % (resolver, timeout, port)


def test_names_resolved_and_cached(bw, dns):
    o1 = Origin("o1")
    o2 = Origin("o2", host="127.0.0.2", port=o1.port)
    try:
        d = dns({
            "app.test": [("A", "127.0.0.1", 300)],
            "alias.test": [("CNAME", "app.test", 300)],
            # the first address refuses: the next one answers
            "two.test": [("A", "127.0.0.3", 300), ("A", "127.0.0.2", 300)],
        })
        bw.config(conf("127.0.0.1:%d" % d.port, o1.port))
        bw.start()

        for i in range(3):
            st, h, _ = get(bw.port, "/?h=app.test")
            assert (st, h["x-origin"]) == (200, "o1")
        # asked once (A and AAAA), then from the cache
        assert d.count("app.test", "A") == 1
        assert d.count("app.test", "AAAA") == 1

        st, h, _ = get(bw.port, "/?h=alias.test")
        assert (st, h["x-origin"]) == (200, "o1")
        assert d.count("alias.test") == 1

        st, h, _ = get(bw.port, "/?h=two.test")
        assert (st, h["x-origin"]) == (200, "o2")
        assert 'upstream: "http://127.0.0.3:%d"' % o1.port in bw.logs()

        # the Host header is the name as written; the cache ignores case
        n = d.count("app.test", "A")
        st, _, body = get(bw.port, "/?h=App.Test")
        assert st == 200 and b'"App.Test:%d"' % o1.port in body
        assert d.count("app.test", "A") == n
    finally:
        o1.stop()
        o2.stop()


def test_ttl_expiry_asks_again(bw, dns):
    o = Origin("o")
    try:
        d = dns({"short.test": [("A", "127.0.0.1", 1)]})
        bw.config(conf("127.0.0.1:%d ipv6=off" % d.port, o.port))
        bw.start()
        assert get(bw.port, "/?h=short.test")[0] == 200
        assert d.count("short.test", "A") == 1
        assert d.count("short.test", "AAAA") == 0

        def asked_again():
            assert get(bw.port, "/?h=short.test")[0] == 200
            return d.count("short.test", "A") == 2
        wait_for(asked_again, timeout=10, interval=0.2, what="a new query")
    finally:
        o.stop()


def test_failures(bw, dns):
    o = Origin("o")
    try:
        silent = dns({}, silent={"app.test"})
        good = dns({"app.test": [("A", "127.0.0.1", 300)]})
        bad = dns({}, silent={"slow.test"})
        bw.config("""
        server { listen 127.0.0.1:PORT;
            resolver 127.0.0.1:%d 127.0.0.1:%d;
            resolver_timeout 3s;
            location / { proxy_pass http://$arg_h:%d/echo; }
            location /slow/ { resolver 127.0.0.1:%d;
                              resolver_timeout 300ms;
                              proxy_pass http://$arg_h:%d/echo; }
        }
        """ % (silent.port, good.port, o.port, bad.port, o.port))
        bw.start()

        # the first server says nothing: after a second, the next one
        st, _, _ = get(bw.port, "/?h=app.test")
        assert st == 200
        assert silent.count("app.test") >= 1 and good.count("app.test") == 1

        st, _, _ = get(bw.port, "/?h=nx.test")
        assert st == 502
        assert "nx.test could not be resolved (3: Host not found)" \
            in bw.logs()

        st, _, _ = get(bw.port, "/slow/?h=slow.test")
        assert st == 502
        assert "slow.test could not be resolved (110: Operation timed out)" \
            in bw.logs()
    finally:
        o.stop()


def test_no_resolver_and_client_gone(bw, dns):
    o = Origin("o")
    try:
        d = dns({}, silent={"slow.test"})
        bw.config("""
        server { listen 127.0.0.1:PORT;
            location /nores/ { proxy_pass http://$arg_h:%d/echo; }
            location / { resolver 127.0.0.1:%d; resolver_timeout 2s;
                         proxy_pass http://$arg_h:%d/echo; } }
        """ % (o.port, d.port, o.port))
        bw.start()
        st, _, _ = get(bw.port, "/nores/?h=app.test")
        assert st == 502
        assert "no resolver defined to resolve app.test" in bw.logs()

        # the client leaves while the name is asked: nothing waits for
        # the answer any more, and the worker goes on serving
        s = socket.create_connection(("127.0.0.1", bw.port))
        s.sendall(b"GET /?h=slow.test HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: d.count("slow.test"), what="the query")
        s.close()
        wait_for(lambda: "client prematurely closed" in bw.logs(),
                 what="the abort")
        wait_for(lambda: "resolver timed out asking for \"slow.test\""
                 in bw.logs(), timeout=10, what="the timeout")
        st, _, _ = get(bw.port, "/nores/?h=127.0.0.1")
        assert st == 200
    finally:
        o.stop()


def test_resolver_config_errors(bw):
    for args, msg in (("127.0.0.1 valid=abc", "invalid parameter"),
                      ("127.0.0.1 ipv4=off ipv6=off",
                       '"ipv4" and "ipv6" cannot both be "off"'),
                      ("valid=10s", "no name servers defined"),
                      ("127.0.0.1:99999", "resolver")):
        bw.config("""
        server { listen 127.0.0.1:PORT; resolver %s; }
        """ % args)
        r = bw.run("-t")
        assert r.returncode != 0, args
        assert msg in r.stderr and "bulwark.conf:" in r.stderr, \
            (args, r.stderr)
    bw.config("""
    server { listen 127.0.0.1:PORT; resolver [::1]:5353 127.0.0.1
             valid=30s ipv6=off; resolver_timeout 5s; }
    """)
    r = bw.run("-t")
    assert r.returncode == 0 and "[warn]" not in r.stderr, r.stderr


def test_requests_wait_for_one_answer(bw, dns):
    """Requests for a name being asked wait for the same answer: one
    question for all of them."""
    import threading
    o = Origin("o")
    try:
        d = dns({"wait.test": [("A", "127.0.0.1", 300)]},
                slow={"wait.test": 0.3})
        bw.config(conf("127.0.0.1:%d ipv6=off" % d.port, o.port))
        bw.start()
        got = []

        def client():
            got.append(get(bw.port, "/?h=wait.test", timeout=10)[0])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert got == [200] * 8
        assert d.count("wait.test", "A") == 1
    finally:
        o.stop()


def test_auth_service_found_by_name(bw, dns):
    """An auth_request subrequest whose proxy_pass names its host through
    a variable: the answer from the resolver wakes the subrequest, whose
    end wakes the request."""
    require_module("http_auth_request")
    auth, app = Origin("auth"), Origin("app")
    try:
        d = dns({"auth.test": [("A", "127.0.0.1", 300)]},
                slow={"auth.test": 0.1})
        bw.config("""
        server { listen 127.0.0.1:PORT;
            resolver 127.0.0.1:%d ipv6=off;
            set $authhost auth.test;
            location / { auth_request /_auth;
                         proxy_pass http://127.0.0.1:%d; }
            location = /_auth { internal;
                                proxy_pass http://$authhost:%d/auth; } }
        """ % (d.port, app.port, auth.port))
        bw.start()
        for code, want in (("200", 200), ("403", 403), ("204", 200)):
            st, h, _ = get(bw.port, "/echo", headers={"X-Auth": code})
            assert st == want, code
        assert d.count("auth.test", "A") == 1
        assert len(auth.requests) == 3
    finally:
        auth.stop()
        app.stop()

"""
"server name resolve" in an upstream with a zone (nginx 1.27.3): the
name's addresses are followed at run time through the resolver, without
a reload; a name missing at start is an upstream that answers 502 until
it exists; a failed lookup keeps the last addresses. A DNS server of the
test's own on loopback, origins on 127.0.0.1-3.
"""

import pytest

from conftest import get, require_module, wait_for
from dns import DNS
from origin import Origin
from test_api import api


@pytest.fixture(autouse=True)
def _built():
    require_module("http_proxy", "http_upstream_zone", "http_api")


@pytest.fixture
def setup():
    made = []

    def make(zone):
        d = DNS(zone)
        made.append(d)
        return d
    yield make
    for d in made:
        d.stop()


@pytest.fixture
def origins():
    o1 = Origin("o1")
    os_ = [o1] + [Origin("o%d" % i, host="127.0.0.%d" % i, port=o1.port)
                  for i in (2, 3)]
    yield os_
    for o in os_:
        o.stop()


def conf(dns_port, port, where="http", extra=""):
    resolver = "resolver 127.0.0.1:%d;" % dns_port
    return """
    %s
    upstream b { zone b 64k; server app.test:%d resolve; %s %s }
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass http://b; }
        location /api { api write=on; }
    }
    """ % (resolver if where == "http" else "", port,
           resolver if where == "upstream" else "", extra)


def answered_by(port, n=6):
    out = set()
    for i in range(n):
        st, h, _ = get(port, "/status/200/r%d" % i)
        out.add(h.get("x-origin") if st == 200 else st)
    return out


@pytest.mark.parametrize("where", ["http", "upstream"])
def test_peers_follow_the_name(bw, setup, origins, where):
    d = setup({"app.test": [("A", "127.0.0.1", 1)]})
    bw.config(conf(d.port, origins[0].port, where), workers=2)
    bw.start()
    wait_for(lambda: answered_by(bw.port) == {"o1"}, what="o1 from DNS")

    d.zone["app.test"] = [("A", "127.0.0.2", 1), ("A", "127.0.0.3", 1)]
    wait_for(lambda: answered_by(bw.port) == {"o2", "o3"}, timeout=15,
             what="the new addresses")
    assert "app.test:%d has 2 address(es) now" % origins[0].port \
        in bw.logs()

    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    assert sorted(p["server"] for p in up["peers"]) == \
        ["127.0.0.2:%d" % origins[0].port, "127.0.0.3:%d" % origins[0].port]
    assert {p["name"] for p in up["peers"]} == \
        {"app.test:%d" % origins[0].port}

    # a resolved server is the name's: the API neither moves nor
    # removes it
    pid = up["peers"][0]["id"]
    st, err, _ = api(bw.port, "DELETE",
                     "/api/9/http/upstreams/b/servers/%d" % pid)
    assert st == 400 and err["error"]["code"] == "UpstreamServerImmutable"
    st, err, _ = api(bw.port, "PATCH",
                     "/api/9/http/upstreams/b/servers/%d" % pid,
                     {"server": "127.0.0.1:1"})
    assert st == 400 and err["error"]["code"] == "UpstreamServerImmutable"
    # but it can be taken down
    st, _, _ = api(bw.port, "PATCH",
                   "/api/9/http/upstreams/b/servers/%d" % pid,
                   {"down": True})
    assert st == 200
    bw.check_sanitizers()


def test_a_name_missing_at_start(bw, setup, origins):
    d = setup({})
    bw.config(conf(d.port, origins[0].port))
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    bw.start()
    assert get(bw.port, "/status/200")[0] == 502
    d.zone["app.test"] = [("A", "127.0.0.1", 1)]
    wait_for(lambda: answered_by(bw.port, 2) == {"o1"}, timeout=15,
             what="the name to appear")


def test_a_failed_lookup_keeps_the_addresses(bw, setup, origins):
    d = setup({"app.test": [("A", "127.0.0.1", 1)]})
    bw.config(conf(d.port, origins[0].port, extra="resolver_timeout 1s;"))
    bw.start()
    wait_for(lambda: answered_by(bw.port) == {"o1"}, what="o1 from DNS")
    d.silent.add("app.test")
    wait_for(lambda: "app.test could not be resolved" in bw.logs(),
             timeout=15, what="a failed lookup")
    assert answered_by(bw.port) == {"o1"}


@pytest.mark.parametrize("text,message", [
    ("resolver 127.0.0.1:53; upstream b { server app.test:80 resolve; }",
     'resolving names at run time requires upstream "b"'),
    ("upstream b { zone b 64k; server app.test:80 resolve; }",
     'no resolver defined to resolve names at run time in upstream "b"'),
])
def test_configuration_errors(bw, text, message):
    bw.config(text + """
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr

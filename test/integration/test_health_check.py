"""
Active health checks (health_check, match): a peer whose probe fails
leaves rotation before a client request reaches it and comes back after
its passes; match on status, headers and body; mandatory keeps a peer
out until its first pass; two workers do not double the probes. Real
origins on loopback, the state read through the admin API.
"""

import signal
import time

import pytest

from conftest import get, pid_alive, require_module, wait_for
from origin import Origin
from test_api import api, served_by
from test_proxy_ssl import certs  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def _built():
    require_module("http_upstream_check", "http_api", "http_proxy",
                   "http_upstream_zone")


@pytest.fixture
def origins():
    os_ = [Origin("o%d" % i) for i in range(1, 4)]
    yield os_
    for o in os_:
        o.stop()


def conf(origins, check, extra="", servers=None):
    servers = servers if servers is not None else \
        "".join("server 127.0.0.1:%d;" % o.port for o in origins)
    return """
    %s
    upstream b { zone b 64k; %s }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://b;
            %s
        }
        location /api { api write=on; }
    }
    """ % (extra, servers, check)


def peer_states(bw):
    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    assert st == 200
    return {p["server"]: p["state"] for p in up["peers"]}


def addr(o):
    return "127.0.0.1:%d" % o.port


def client_requests(o, probe_path):
    return [r for r in o.requests if r["path"] != probe_path]


def test_failing_peer_leaves_before_clients_reach_it(bw, origins):
    o1, o2 = origins[0], origins[1]
    bw.config(conf([o1, o2], "health_check interval=200ms fails=2 passes=2 "
                   "uri=/status/204;"), workers=2)
    bw.start()
    wait_for(lambda: all(s == "up" for s in peer_states(bw).values()),
             what="peers up")
    wait_for(lambda: len(o1.requests) >= 2, what="probes")
    assert all(r["path"] == "/status/204" for r in o1.requests)
    assert ["User-Agent", "bulwark health check"] in \
        [list(h) for h in o1.requests[0]["headers"]]

    o1.answer_all(503)
    wait_for(lambda: peer_states(bw)[addr(o1)] == "unhealthy",
             what="o1 unhealthy")
    seen = len(client_requests(o1, "/status/204"))
    assert {served_by(bw.port, "/status/200/c%d" % i)[0]
            for i in range(20)} == {"o2"}
    assert len(client_requests(o1, "/status/204")) == seen
    assert 'peer %s (id 0) is unhealthy, was up: health check failed on ' \
        'status' % addr(o1) in bw.logs()

    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    hc = up["peers"][0]["health_checks"]
    assert hc["fails"] >= 2 and hc["unhealthy"] == 1
    assert hc["last_passed"] is False

    # back after two passes
    o1.answer_all(0)
    wait_for(lambda: peer_states(bw)[addr(o1)] == "up", what="o1 back")
    assert "peer %s (id 0) is up, was unhealthy" % addr(o1) in bw.logs()
    assert {served_by(bw.port, "/status/200/d%d" % i)[0]
            for i in range(8)} == {"o1", "o2"}
    bw.check_sanitizers()


def test_a_dead_peer_is_found_by_the_probe(bw, origins):
    o1, o2 = origins[0], origins[1]
    bw.config(conf([o1, o2], "health_check interval=200ms uri=/status/200;"))
    bw.start()
    wait_for(lambda: all(s == "up" for s in peer_states(bw).values()),
             what="peers up")
    o1.stop()
    wait_for(lambda: peer_states(bw)[addr(o1)] == "unhealthy",
             what="o1 unhealthy")
    # no client request was tried on it: every one is answered by o2 at
    # its first attempt, and the peer has no passive failure
    for i in range(10):
        st, h, _ = get(bw.port, "/status/200/x%d" % i)
        assert st == 200 and h["x-origin"] == "o2"
    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    assert up["peers"][0]["fails"] == 0


MATCHES = """
    match json_o1 {
        status 200;
        header Content-Type = application/json;
        header ! X-Nope;
        body ~ "\\"name\\": \\"o1\\"";
    }
"""


def test_match_on_status_header_and_body(bw, origins):
    bw.config(conf(origins[:2], "health_check interval=200ms uri=/echo "
                   "match=json_o1;", extra=MATCHES))
    bw.start()
    wait_for(lambda: peer_states(bw) == {addr(origins[0]): "up",
                                         addr(origins[1]): "unhealthy"},
             what="states by the match")
    assert "health check failed on body" in bw.logs()


@pytest.mark.parametrize("test,passes", [
    ("status 200-299;", True),
    ("status ! 200-299;", False),
    ("status 500 200;", True),
    ("status ! 404 500;", True),
    ("header Content-Type ~ ^application/;", True),
    ("header Content-Type !~ json;", False),
    ("header Content-Type != text/html;", True),
    ("header Content-Length;", True),
    ("header ! Content-Type;", False),
    ("body !~ \"name\";", False),
])
def test_match_tests(bw, origins, test, passes):
    bw.config(conf(origins[:1], "health_check interval=100ms uri=/echo "
                   "match=m;", extra="match m { %s }" % test))
    bw.start()
    want = "up" if passes else "unhealthy"
    wait_for(lambda: peer_states(bw)[addr(origins[0])] == want
             and len(origins[0].requests) >= 2, what=want)
    assert peer_states(bw)[addr(origins[0])] == want


def test_mandatory_keeps_new_peers_out_until_they_pass(bw, origins):
    o1, o2, o3 = origins
    o2.answer_all(500)
    bw.config(conf([o1, o2], "health_check interval=300ms uri=/slow/600 "
                   "mandatory;"), workers=2)
    bw.start()
    # from the start: the failing one never takes a client request
    wait_for(lambda: peer_states(bw) == {addr(o1): "up",
                                         addr(o2): "unhealthy"},
             what="first checks")
    assert client_requests(o2, "/slow/600") == []

    # a peer added through the API waits for its first pass
    st, _, _ = api(bw.port, "POST", "/api/9/http/upstreams/b/servers",
                   {"server": addr(o3)})
    assert st == 201
    assert peer_states(bw)[addr(o3)] == "checking"
    assert {served_by(bw.port, "/status/200/m%d" % i)[0]
            for i in range(6)} == {"o1"}
    wait_for(lambda: peer_states(bw)[addr(o3)] == "up", what="o3 up")
    assert {served_by(bw.port, "/status/200/n%d" % i)[0]
            for i in range(6)} == {"o1", "o3"}
    assert client_requests(o2, "/slow/600") == []


def test_two_workers_do_not_double_the_probes(bw, origins):
    o1 = origins[0]
    bw.config(conf([o1], "health_check interval=250ms uri=/status/200;"),
              workers=2)
    bw.start()
    wait_for(lambda: len(bw.workers()) == 2, what="workers")
    wait_for(lambda: len(o1.requests) >= 1, what="first probe")
    t0 = time.monotonic()
    n0 = len(o1.requests)
    wait_for(lambda: time.monotonic() - t0 > 2.5, timeout=5,
             what="a window of probes")
    n = len(o1.requests) - n0
    window = time.monotonic() - t0
    # one probe an interval at most (plus the one at each end); doubled
    # would be twice that
    assert n <= window / 0.25 + 2, (n, window)
    assert n >= 3, n


@pytest.mark.parametrize("text,message", [
    ("upstream u { server 127.0.0.1:1; } server { listen 127.0.0.1:PORT; "
     "location / { proxy_pass http://u; health_check; } }",
     "health_check needs proxy_pass to an upstream with a zone"),
    ("upstream u { zone u 64k; server 127.0.0.1:1; } server { listen "
     "127.0.0.1:PORT; location / { proxy_pass http://u; "
     "health_check match=nope; } }",
     'match "nope" of a health_check is not defined'),
    ("upstream u { zone u 64k; server 127.0.0.1:1; } server { listen "
     "127.0.0.1:PORT; location / { proxy_pass http://u; "
     "health_check interval=0; } }",
     'invalid parameter "interval=0"'),
    ("upstream u { zone u 64k; server 127.0.0.1:1; } server { listen "
     "127.0.0.1:PORT; "
     + " ".join("location /%d { proxy_pass http://u; health_check; }" % i
                for i in range(5)) + " }",
     'upstream "u" has more than 4 health_checks'),
    ("match m { status 99; }",
     'invalid status "99"'),
    ("match m { body = x; }",
     'invalid "body" in match'),
    ("match m { colour red; }",
     'unknown directive "colour" in match'),
])
def test_configuration_errors(bw, text, message):
    bw.config(text)
    r = bw.run("-t")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "bulwark.conf" in r.stderr, r.stderr


def test_single_process_reloads_with_health_checks(bw, origins):
    """master_process off: a reload leaves the old configuration's
    probes to end and starts the new one's."""
    bw.config(conf(origins[:1], "health_check interval=100ms "
                   "uri=/status/200;"),
              head_extra="master_process off;\n")
    pid = bw.start()
    wait_for(lambda: peer_states(bw) == {addr(origins[0]): "up"},
             what="up")
    for _ in range(3):
        n = len(origins[0].requests)
        bw.signal(signal.SIGHUP)
        wait_for(lambda: len(origins[0].requests) > n + 3,
                 what="probes after the reload")
    # the old configurations are released (their memory freed) and the
    # probes go on
    wait_for(lambda: bw.logs().count("previous configuration released")
             == 3, what="the old configurations' release")
    n = len(origins[0].requests)
    wait_for(lambda: len(origins[0].requests) > n + 3, what="more probes")
    assert pid_alive(pid)
    assert peer_states(bw) == {addr(origins[0]): "up"}
    bw.check_sanitizers()


def tls_conf(tls, plain, name):
    return """
    match sni { status 200; body ~ "\\"sni\\": \\"origin.test\\""; }
    upstream b { zone b 64k; server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass https://b;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate ca.crt;
            proxy_ssl_server_name on;
            proxy_ssl_name %s;
            # a plain origin waits for a line the handshake never sends
            proxy_connect_timeout 1s;
            health_check interval=200ms uri=/hc match=sni;
        }
        location /api { api; }
    }
    """ % (tls.port, plain.port, name)


@pytest.mark.parametrize("name,tls_state,why", [
    ("origin.test", "up", None),
    # as a request takes it: the host part is sent and checked
    ("origin.test:443", "up", None),
    ("wrong.test", "unhealthy", "certificate"),
])
def test_probes_speak_tls_as_the_location_does(bw, certs, origins, name,
                                               tls_state, why):
    from test_proxy_ssl import TLSOrigin, install
    tls = TLSOrigin(certs)
    try:
        install(bw, certs)
        bw.config(tls_conf(tls, origins[0], name))
        bw.start()
        want = {"127.0.0.1:%d" % tls.port: tls_state,
                addr(origins[0]): "unhealthy"}
        wait_for(lambda: peer_states(bw) == want, what="TLS probes")
        # the plain origin got the TLS handshake, never an HTTP request
        assert [r for r in origins[0].requests
                if r["method"] == "GET"] == []
        assert "health check failed on TLS handshake" in bw.logs()
        if why:
            assert "health check failed on " + why in bw.logs()
        else:
            st, h, _ = get(bw.port, "/x")
            assert st == 200
    finally:
        tls.stop()


@pytest.mark.parametrize("persistent", [True, False])
def test_mandatory_persistent_across_a_reload(bw, origins, persistent):
    o1, o2 = origins[0], origins[1]
    o2.answer_all(500)
    bw.config(conf([o1, o2], "health_check interval=2s uri=/slow/2000 "
                   "mandatory%s;" % (" persistent" if persistent else "")),
              workers=1)
    bw.start()
    wait_for(lambda: peer_states(bw) == {addr(o1): "up",
                                         addr(o2): "unhealthy"},
             what="first checks")
    old = set(bw.workers())
    bw.signal(signal.SIGHUP)
    wait_for(lambda: set(bw.workers()) and
             set(bw.workers()).isdisjoint(old), what="the new worker")
    # the new worker's first probes take 2 s: what serves meanwhile
    # is what persisted
    # (o2 fails at once, so it may be unhealthy already either way)
    states = peer_states(bw)
    assert states[addr(o2)] in ("checking", "unhealthy")
    if persistent:
        assert states[addr(o1)] == "up"
        assert served_by(bw.port)[0] == "o1"
    else:
        assert states[addr(o1)] == "checking"
        assert get(bw.port, "/status/200")[0] == 502
    wait_for(lambda: peer_states(bw) == {addr(o1): "up",
                                         addr(o2): "unhealthy"},
             what="checks after the reload")


def test_several_checks_of_one_upstream(bw, origins):
    """Two locations check the same upstream, each its own way: a peer
    is out while either says so."""
    o1, o2 = origins[0], origins[1]
    bw.config("""
    match o1_only { body ~ "\\"name\\": \\"o1\\""; }
    upstream b { zone b 64k; server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://b;
            health_check interval=100ms uri=/status/200;
        }
        location /echo {
            proxy_pass http://b;
            health_check interval=100ms uri=/echo match=o1_only;
        }
        location /api { api; }
    }
    """ % (o1.port, o2.port))
    bw.start()
    # o2 passes the first check and fails the second
    wait_for(lambda: peer_states(bw) == {addr(o1): "up",
                                         addr(o2): "unhealthy"},
             what="states by both checks")
    paths = {r["path"] for r in o2.requests}
    assert {"/status/200", "/echo"} <= paths
    assert {served_by(bw.port, "/status/200/s%d" % i)[0]
            for i in range(6)} == {"o1"}
    # o1 failing the first check is out too
    o1.answer_all(503)
    wait_for(lambda: peer_states(bw)[addr(o1)] == "unhealthy",
             what="o1 out by the first check")
    o1.answer_all(0)
    wait_for(lambda: peer_states(bw)[addr(o1)] == "up", what="o1 back")


def test_single_process_reloads_close_together(bw, origins):
    """master_process off, reloads a little less than a second apart: a
    configuration is released while its health check's timer is still
    set (the timer must go with it)."""
    bw.config(conf(origins[:1], "health_check interval=2s "
                   "uri=/status/200;"),
              head_extra="master_process off;\n")
    pid = bw.start()
    wait_for(lambda: peer_states(bw) == {addr(origins[0]): "up"},
             what="up")
    for i in range(5):
        bw.signal(signal.SIGHUP)
        # the spacing is the point: just under the release period
        time.sleep(0.85)
    wait_for(lambda: bw.logs().count("previous configuration released")
             == 5, what="every old configuration released")
    assert pid_alive(pid)
    assert peer_states(bw) == {addr(origins[0]): "up"}
    bw.check_sanitizers()


def test_interim_answers_are_not_judged(bw):
    """A peer that sends 103 Early Hints before its 200 passes: the
    check judges the final answer."""
    import socket
    import threading as th
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    stop = th.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            with c:
                c.settimeout(2)
                try:
                    c.recv(4096)
                    c.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>"
                              b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2"
                              b"\r\n\r\nok")
                except OSError:
                    pass

    t = th.Thread(target=serve, daemon=True)
    t.start()
    try:
        bw.config("""
        match ok { status 200; body ~ "^ok$"; }
        upstream b { zone b 64k; server 127.0.0.1:%d; }
        server {
            listen 127.0.0.1:PORT;
            location / { proxy_pass http://b;
                         health_check interval=100ms match=ok; }
            location /api { api; }
        }
        """ % port)
        bw.start()
        wait_for(lambda: peer_states(bw) == {"127.0.0.1:%d" % port: "up"}
                 and "failed on" not in bw.logs(), what="a passing check")
        st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
        assert up["peers"][0]["health_checks"]["last_passed"] is True
    finally:
        stop.set()
        t.join(5)
        srv.close()

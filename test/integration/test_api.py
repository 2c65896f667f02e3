"""
The admin API (api [write=on]) in nginx Plus's shape: listing upstreams
and their peers, adding, changing, draining and removing servers at run
time, seen by every worker at once and by every balancer, with the
errors nginx Plus answers. Real origins on loopback; two workers.
"""

import http.client
import json
import re
import threading
import time

import pytest

from conftest import get, require_module, wait_for
from origin import Origin


@pytest.fixture(autouse=True)
def _built():
    require_module("http_api", "http_proxy", "http_upstream_zone")


@pytest.fixture
def origins():
    os_ = [Origin("o%d" % i) for i in range(1, 5)]
    yield os_
    for o in os_:
        o.stop()


def api(port, method, path, body=None, timeout=5.0):
    """(status, parsed JSON or None, raw body) of one API call."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None
        headers = {"Host": "localhost"}
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else \
                json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        parsed = None
        if raw:
            parsed = json.loads(raw)
        return resp.status, parsed, raw
    finally:
        conn.close()


def served_by(port, path="/status/200", host="localhost"):
    """(x-origin, worker pid) of one request that must succeed."""
    st, h, _ = get(port, path, host=host)
    assert st == 200, (st, path)
    return h.get("x-origin"), h.get("x-worker")


def conf(origins, balancer="", extra_servers="", write="on", workers=2,
         location=""):
    servers = "".join("server 127.0.0.1:%d;" % o.port for o in origins)
    return """
    upstream b { zone b 64k; %s %s %s }
    upstream fixed { server 127.0.0.1:1; }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://b;
            add_header X-Worker $pid;
            %s
        }
        location /api { api write=%s; }
        location /ro { api; }
    }
    """ % (balancer, servers, extra_servers, location, write)


def start(bw, origins, workers=2, **kw):
    bw.config(conf(origins, **kw), workers=workers)
    bw.start()
    wait_for(lambda: len(bw.workers()) == workers, what="workers")


def server_of(o):
    return "127.0.0.1:%d" % o.port


def test_lists_and_shapes(bw, origins):
    start(bw, origins[:2])
    assert api(bw.port, "GET", "/api")[1] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert api(bw.port, "GET", "/api/")[1] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert api(bw.port, "GET", "/api/9")[1] == ["http"]
    assert api(bw.port, "GET", "/api/9/http/")[1] == ["upstreams"]

    st, ups, _ = api(bw.port, "GET", "/api/9/http/upstreams")
    assert st == 200
    # an upstream without a zone is static: not listed
    assert list(ups) == ["b"]
    b = ups["b"]
    assert b["zone"] == "b" and b["zombies"] == 0
    assert [p["id"] for p in b["peers"]] == [0, 1]
    p0 = b["peers"][0]
    assert p0["server"] == server_of(origins[0])
    assert p0["name"] == server_of(origins[0])
    assert p0["state"] == "up" and p0["backup"] is False
    assert p0["weight"] == 1 and p0["active"] == 0

    st, servers, _ = api(bw.port, "GET", "/api/9/http/upstreams/b/servers")
    assert st == 200
    assert servers[1] == {"id": 1, "server": server_of(origins[1]),
                          "weight": 1, "max_conns": 0, "max_fails": 1,
                          "fail_timeout": "10s", "slow_start": "0s",
                          "route": "", "backup": False, "down": False}
    st, one, _ = api(bw.port, "GET", "/api/9/http/upstreams/b/servers/1")
    assert st == 200 and one == servers[1]

    # HEAD: the headers of a GET, no body
    st, _, raw = api(bw.port, "HEAD", "/api/9/http/upstreams/b")
    assert st == 200 and raw == b""


def error_of(port, method, path, body=None):
    st, obj, raw = api(port, method, path, body)
    assert obj is not None, raw
    err = obj["error"]
    assert err["status"] == st, obj
    assert re.fullmatch(r"[0-9a-f]{32}", obj["request_id"]), obj
    assert obj["href"].startswith("https://nginx.org/"), obj
    return st, err["code"], err["text"]


def test_errors(bw, origins):
    start(bw, origins[:2], extra_servers="")
    p = bw.port
    u = "/api/9/http/upstreams/b/servers"
    assert error_of(p, "GET", "/api/10/http") == \
        (404, "UnknownVersion", "unknown version")
    assert error_of(p, "GET", "/api/9/stream")[:2] == (404, "PathNotFound")
    assert error_of(p, "GET", "/api/9/http/upstreams/b/peers")[:2] == \
        (404, "PathNotFound")
    assert error_of(p, "GET", "/api/9/http/upstreams/nope")[:2] == \
        (404, "UpstreamNotFound")
    assert error_of(p, "GET", "/api/9/http/upstreams/fixed")[:2] == \
        (400, "UpstreamStatic")
    assert error_of(p, "PUT", u)[:2] == (405, "MethodNotSupported")
    assert error_of(p, "POST", "/ro/9/http/upstreams/b/servers",
                    {"server": "127.0.0.1:9"})[:2] == (405, "MethodDisabled")
    assert error_of(p, "DELETE", "/ro/9/http/upstreams/b/servers/0")[:2] == \
        (405, "MethodDisabled")
    assert error_of(p, "GET", u + "/x1")[:2] == (400, "UpstreamBadServerId")
    assert error_of(p, "PATCH", u + "/7", {"down": True})[:2] == \
        (404, "UpstreamServerNotFound")
    assert error_of(p, "DELETE", u + "/7")[:2] == \
        (404, "UpstreamServerNotFound")
    assert error_of(p, "POST", u, {"weight": 2}) == \
        (400, "UpstreamConfFormatError", 'missing "server" argument')
    assert error_of(p, "POST", u, "{\"server\": ")[:2] == (415, "JsonError")
    assert error_of(p, "POST", u, "[1]")[:2] == (415, "JsonError")
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9", "colour": 1}) \
        == (400, "UpstreamConfFormatError", 'unknown parameter "colour"')
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9", "x": {"y": 1}}) \
        == (400, "UpstreamConfFormatError", "nested object or list")
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9", "weight": 0}) \
        == (400, "UpstreamBadWeight", 'invalid "weight"')
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9",
                                   "weight": "2"})[:2] == \
        (400, "UpstreamBadWeight")
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9",
                                   "max_fails": -1})[:2] == \
        (400, "UpstreamBadMaxFails")
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9",
                                   "fail_timeout": "ten"})[:2] == \
        (400, "UpstreamBadFailTimeout")
    assert error_of(p, "POST", u, {"server": "127.0.0.1:9",
                                   "down": "yes"})[:2] == \
        (400, "UpstreamConfFormatError")
    assert error_of(p, "POST", u, {"server": "backend.example:80"})[:2] == \
        (400, "UpstreamBadAddress")
    assert error_of(p, "POST", u, {"server": "127.0.0.1:99999"})[:2] == \
        (400, "UpstreamBadAddress")
    assert error_of(p, "POST", u, {"server": server_of(origins[0])}) == \
        (409, "EntryExists", "entry exists")
    assert error_of(p, "PATCH", u + "/0", {"backup": True})[:2] == \
        (400, "UpstreamServerImmutable")
    assert error_of(p, "PATCH", u + "/0", {"id": 5})[:2] == \
        (400, "UpstreamConfFormatError")
    # a refused write changed nothing
    st, servers, _ = api(p, "GET", u)
    assert [s["server"] for s in servers] == \
        [server_of(o) for o in origins[:2]]
    assert all(s["weight"] == 1 and not s["down"] for s in servers)


def test_backup_needs_a_balancer_that_has_it(bw, origins):
    start(bw, origins[:2], balancer="hash $uri;")
    assert error_of(bw.port, "POST", "/api/9/http/upstreams/b/servers",
                    {"server": "127.0.0.1:9", "backup": True})[:2] == \
        (400, "UpstreamNoBackup")


def test_add_seen_by_every_worker(bw, origins):
    start(bw, origins[:1])
    st, added, _ = api(bw.port, "POST", "/api/9/http/upstreams/b/servers",
                       {"server": server_of(origins[1]), "weight": 1})
    assert st == 201, added
    assert added["id"] == 1 and added["server"] == server_of(origins[1])

    # requests on new connections land on both workers; each worker
    # sends to the new server from the first request it takes
    seen = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        origin, worker = served_by(bw.port)
        seen.setdefault(worker, set()).add(origin)
        if len(seen) == 2 and all(len(v) == 2 for v in seen.values()):
            break
    assert len(seen) == 2, seen
    assert all(v == {"o1", "o2"} for v in seen.values()), seen
    bw.check_sanitizers()


def test_weights_and_down_follow_changes(bw, origins):
    start(bw, origins[:2])
    u = "/api/9/http/upstreams/b/servers"
    st, s, _ = api(bw.port, "PATCH", u + "/0", {"weight": 3})
    assert st == 200 and s["weight"] == 3 and s["id"] == 0
    # the round robin position is shared by the workers: exact shares
    counts = {"o1": 0, "o2": 0}
    for _ in range(40):
        counts[served_by(bw.port)[0]] += 1
    assert counts == {"o1": 30, "o2": 10}

    st, s, _ = api(bw.port, "PATCH", u + "/0", {"down": True})
    assert st == 200 and s["down"] is True
    assert {served_by(bw.port)[0] for _ in range(10)} == {"o2"}
    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    assert up["peers"][0]["state"] == "down"

    api(bw.port, "PATCH", u + "/0", {"down": False, "weight": 1})
    assert {served_by(bw.port)[0] for _ in range(10)} == {"o1", "o2"}


def test_drain_finishes_requests_in_flight(bw, origins):
    start(bw, origins[:2])
    u = "/api/9/http/upstreams/b/servers"
    api(bw.port, "PATCH", u + "/1", {"down": True})

    result = {}

    def slow():
        result["r"] = get(bw.port, "/slow/1500", timeout=10)

    t = threading.Thread(target=slow)
    t.start()
    wait_for(lambda: any(r["path"] == "/slow/1500"
                         for r in origins[0].requests), what="slow request")
    api(bw.port, "PATCH", u + "/1", {"down": False})

    st, s, _ = api(bw.port, "PATCH", u + "/0", {"drain": True})
    assert st == 200 and s.get("drain") is True
    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    assert up["peers"][0]["state"] == "draining"
    assert up["peers"][0]["active"] == 1

    before = len(origins[0].requests)
    assert {served_by(bw.port)[0] for _ in range(10)} == {"o2"}
    assert len(origins[0].requests) == before

    t.join(10)
    st, h, body = result["r"]
    assert st == 200 and body == b"slow" and h["x-origin"] == "o1"

    # idle now: it has left
    def left():
        return [s["id"] for s in api(bw.port, "GET", u)[1]] == [1]
    wait_for(left, what="drained server to leave")


def test_delete_under_a_steady_loop_loses_nothing(bw, origins):
    start(bw, origins[:3])
    failures = []
    done = threading.Event()
    count = [0]

    def loop():
        while not done.is_set():
            try:
                st, _, _ = get(bw.port, "/slow/5")
            except OSError as e:
                failures.append(repr(e))
                continue
            count[0] += 1
            if st != 200:
                failures.append(st)

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: count[0] > 50, what="traffic")
        st, rest, _ = api(bw.port, "DELETE",
                          "/api/9/http/upstreams/b/servers/0")
        assert st == 200 and [s["id"] for s in rest] == [1, 2]
        after_delete = count[0]
        wait_for(lambda: count[0] > after_delete + 100, what="more traffic")
        # whatever was running on it when it left finished; nothing new
        # went there after
        n = len(origins[0].requests)
        wait_for(lambda: count[0] > after_delete + 200, what="more traffic")
        assert len(origins[0].requests) == n
    finally:
        done.set()
        for t in threads:
            t.join(10)
    assert failures == []
    bw.check_sanitizers()


def test_blue_green_switch_through_the_api(bw, origins):
    blue, green = origins[0], origins[1]
    start(bw, [blue])
    failures = []
    done = threading.Event()
    log = []

    def loop():
        while not done.is_set():
            try:
                st, h, _ = get(bw.port, "/slow/2")
            except OSError as e:
                failures.append(repr(e))
                continue
            if st != 200:
                failures.append(st)
            log.append((time.monotonic(), h.get("x-origin")))

    threads = [threading.Thread(target=loop) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(log) > 30, what="traffic")
        u = "/api/9/http/upstreams/b/servers"
        st, _, _ = api(bw.port, "POST", u, {"server": server_of(green)})
        assert st == 201
        st, _, _ = api(bw.port, "PATCH", u + "/0", {"drain": True})
        assert st == 200
        switched = time.monotonic()
        wait_for(lambda: log and log[-1][0] > switched + 1.5,
                 what="traffic after the switch")
    finally:
        done.set()
        for t in threads:
            t.join(10)
    assert failures == []
    late = [o for t0, o in log if t0 > switched + 1.0]
    assert late and set(late) == {"o2"}, late[:20]
    st, servers, _ = api(bw.port, "GET", "/api/9/http/upstreams/b/servers")
    assert [s["server"] for s in servers] == [server_of(green)]


def keys_map(port, keys):
    return {k: served_by(port, "/status/200/%s" % k)[0] for k in keys}


def test_consistent_hash_moves_only_the_changed_peers_keys(bw, origins):
    start(bw, origins[:3], balancer="hash $uri consistent;")
    keys = ["key%d" % i for i in range(120)]
    before = keys_map(bw.port, keys)
    assert set(before.values()) == {"o1", "o2", "o3"}

    st, _, _ = api(bw.port, "POST", "/api/9/http/upstreams/b/servers",
                   {"server": server_of(origins[3])})
    assert st == 201
    after = keys_map(bw.port, keys)
    moved = {k for k in keys if before[k] != after[k]}
    assert moved, "the new server took no key"
    assert {after[k] for k in moved} == {"o4"}

    # removing it gives back exactly the keys it took
    st, _, _ = api(bw.port, "DELETE", "/api/9/http/upstreams/b/servers/3")
    assert st == 200
    assert keys_map(bw.port, keys) == before


@pytest.mark.parametrize("balancer", ["least_conn;", "ip_hash;",
                                      "random;", "random two;",
                                      "hash $request_uri;"])
def test_balancers_see_added_and_removed_servers(bw, origins, balancer):
    start(bw, origins[:1], balancer=balancer)
    u = "/api/9/http/upstreams/b/servers"
    st, _, _ = api(bw.port, "POST", u, {"server": server_of(origins[1])})
    assert st == 201
    st, _, _ = api(bw.port, "PATCH", u + "/0", {"down": True})
    assert st == 200
    assert {served_by(bw.port, "/status/200/p%d" % i)[0] for i in range(12)} == {"o2"}
    st, _, _ = api(bw.port, "DELETE", u + "/1")
    assert st == 200
    # only a down server is left: 502, and the worker goes on
    assert get(bw.port, "/x")[0] == 502
    api(bw.port, "PATCH", u + "/0", {"down": False})
    assert served_by(bw.port)[0] == "o1"


def test_backup_added_serves_when_primaries_are_down(bw, origins):
    start(bw, origins[:1])
    u = "/api/9/http/upstreams/b/servers"
    st, s, _ = api(bw.port, "POST", u, {"server": server_of(origins[1]),
                                        "backup": True})
    assert st == 201 and s["backup"] is True
    assert {served_by(bw.port)[0] for _ in range(6)} == {"o1"}
    api(bw.port, "PATCH", u + "/0", {"down": True})
    assert {served_by(bw.port)[0] for _ in range(6)} == {"o2"}
    st, up, _ = api(bw.port, "GET", "/api/9/http/upstreams/b")
    assert [p["backup"] for p in up["peers"]] == [False, True]


def test_readdress_a_server(bw, origins):
    start(bw, origins[:1])
    u = "/api/9/http/upstreams/b/servers"
    st, s, _ = api(bw.port, "PATCH", u + "/0",
                   {"server": server_of(origins[2])})
    assert st == 200 and s["server"] == server_of(origins[2])
    assert {served_by(bw.port)[0] for _ in range(4)} == {"o3"}


def test_kept_connections_to_a_removed_server_are_closed(bw, origins):
    o1, o2 = origins[0], origins[1]
    bw.config(conf([o1, o2], extra_servers="keepalive 8;",
                   location="proxy_http_version 1.1; "
                            "proxy_set_header Connection \"\";"),
              workers=1)
    bw.start()
    for i in range(6):
        served_by(bw.port)
    wait_for(lambda: len(o1.server.active) >= 1, what="a kept connection")
    st, _, _ = api(bw.port, "DELETE", "/api/9/http/upstreams/b/servers/0")
    assert st == 200
    # the worker's next request sees the change and lets them go
    assert served_by(bw.port)[0] == "o2"
    wait_for(lambda: len(o1.server.active) == 0,
             what="connections to the removed server closed")
    # those to the server that stays are kept
    assert len(o2.server.active) >= 1


def test_upstream_addr_of_a_request_whose_server_moved_or_left(bw, origins):
    """A request keeps its own copy of its server's address: growing the
    set (which moves its slots) and deleting the server while it runs
    leave the log line right."""
    o1, o2 = origins[0], origins[1]
    bw.config("""
    log_format a "$status $upstream_addr";
    upstream b { zone b 64k; server 127.0.0.1:%d; server 127.0.0.1:%d down; }
    server {
        listen 127.0.0.1:PORT;
        access_log logs/a.log a;
        location / { proxy_pass http://b; }
        location /api { api write=on; access_log off; }
    }
    """ % (o1.port, o2.port), workers=1)
    bw.start()
    result = {}

    def slow():
        result["r"] = get(bw.port, "/slow/1500", timeout=10)

    t = threading.Thread(target=slow)
    t.start()
    wait_for(lambda: any(r["path"] == "/slow/1500" for r in o1.requests),
             what="the slow request")
    u = "/api/9/http/upstreams/b/servers"
    for o in origins[2:]:
        st, _, _ = api(bw.port, "POST", u, {"server": server_of(o)})
        assert st == 201
    # a long name takes the room the moved slots left
    st, _, _ = api(bw.port, "POST", u, {"server": "unix:/tmp/" + "x" * 88})
    assert st == 201
    st, _, _ = api(bw.port, "DELETE", u + "/0")
    assert st == 200
    t.join(10)
    assert result["r"][0] == 200

    def logged():
        with open(bw.path("logs", "a.log")) as f:
            return f.read().splitlines()
    wait_for(lambda: logged(), what="the access log line")
    assert logged() == ["200 " + server_of(o1)]
    bw.check_sanitizers()


def test_metrics_count_each_server_added(bw, origins):
    require_module("http_metrics")
    bw.config("""
    upstream b { zone b 64k; server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass http://b; }
        location /api { api write=on; }
        location = /metrics { metrics; }
    }
    """ % origins[0].port, workers=1)
    bw.start()
    u = "/api/9/http/upstreams/b/servers"
    for o in origins[1:3]:
        assert api(bw.port, "POST", u, {"server": server_of(o)})[0] == 201
    api(bw.port, "PATCH", u + "/0", {"down": True})
    for i in range(10):
        assert get(bw.port, "/status/200/m%d" % i)[0] == 200
    assert len(origins[1].requests) == 5 and len(origins[2].requests) == 5
    _, _, text = get(bw.port, "/metrics")
    text = text.decode()
    for o in origins[1:3]:
        assert ('bulwark_upstream_requests_total{upstream="b",peer="%s",'
                'code="2xx"} 5' % server_of(o)) in text, text


def test_bounds_a_state_file_keeps(bw, origins):
    start(bw, origins[:1])
    u = "/api/9/http/upstreams/b/servers"
    assert error_of(bw.port, "POST", u, {"server": "127.0.0.1:9",
                                         "fail_timeout": "100y"})[:2] == \
        (400, "UpstreamBadFailTimeout")
    assert error_of(bw.port, "POST", u, {"server": "127.0.0.1:9",
                                         "weight": 10001})[:2] == \
        (400, "UpstreamBadWeight")

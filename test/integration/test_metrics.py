"""
metrics and status_zone: exact counts after a known mix of requests
through two workers, kept across a reload; the Prometheus text checked
by promtool (Debian's prometheus package), the JSON the same numbers;
the state of upstream peers; access rules; configuration errors.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import http.client

import pytest

from conftest import wait_for, free_port
from origin import Origin


@pytest.fixture
def origin():
    o = Origin("o1")
    yield o
    o.stop()


def fetch(port, path, method="GET", body=None):
    """Status and body, on a connection of its own (redirects are not
    followed)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def val(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


def conf(bw, origin, dead, mport):
    bw.config("""
        upstream app {
            zone app 64k;
            server 127.0.0.1:%d;
            server 127.0.0.1:%d max_fails=1 fail_timeout=60s;
        }
        server {
            listen 127.0.0.1:PORT;
            status_zone site;
            root html;
            location /app/ { proxy_pass http://app/;
                             proxy_next_upstream error; }
            location /e { return 503; }
            location /r { return 302 /; }
            location /other { status_zone other; return 200 "o"; }
            location /slow/ { status_zone slow;
                              proxy_pass http://127.0.0.1:%d/slow/; }
        }
        server {
            listen 127.0.0.1:%d;
            location /metrics { metrics; }
            location /closed { metrics; deny all; }
        }""" % (origin.port, dead, origin.port, mport), workers=2)


def test_exact_counts_across_workers_and_reload(bw, origin):
    dead = free_port()
    mport = free_port()
    conf(bw, origin, dead, mport)
    bw.write("html/index.html", "x" * 100)
    master = bw.start()
    bw.wait_port(mport)

    mix = [("/index.html", 200)] * 7 + [("/none", 404)] * 3 \
        + [("/e", 503)] * 2 + [("/r", 302)] * 2 + [("/other", 200)] * 4 \
        + [("/app/size/10", 200)] * 6
    for path, status in mix:
        assert fetch(bw.port, path)[0] == status, path

    def counts():
        st, body = fetch(mport, "/metrics")
        assert st == 200
        return samples(body.decode())

    def settled():
        s = counts()
        return val(s, "bulwark_http_request_duration_seconds_count",
                   server_zone="site") == 20 and s
    s = wait_for(settled, what="every request counted")

    def code(zone, c):
        return val(s, "bulwark_http_requests_total", server_zone=zone,
                   code=c)
    assert code("site", "2xx") == 7 + 6
    assert code("site", "3xx") == 2
    assert code("site", "4xx") == 3
    assert code("site", "5xx") == 2
    assert code("site", "1xx") == 0
    assert code("other", "2xx") == 4

    def exact(zone, c):
        return val(s, "bulwark_http_responses_by_code_total",
                   server_zone=zone, code=c)
    assert exact("site", "200") == 13
    assert exact("site", "404") == 3
    assert exact("site", "503") == 2
    assert exact("site", "302") == 2
    assert exact("site", "500") == 0
    assert val(s, "bulwark_http_requests_processing",
               server_zone="site") == 0
    assert val(s, "bulwark_http_request_duration_seconds_bucket",
               server_zone="site", le="+Inf") == 20
    assert val(s, "bulwark_http_received_bytes_total",
               server_zone="site") > 20 * 30

    # the upstream: the live peer answered every request; the dead one
    # was tried at most once (max_fails=1) and is down
    up = "127.0.0.1:%d" % origin.port
    down = "127.0.0.1:%d" % dead
    assert val(s, "bulwark_upstream_requests_total", upstream="app",
               peer=up, code="2xx") == 6
    tried = val(s, "bulwark_upstream_failures_total", upstream="app",
                peer=down)
    assert tried in (None, 1)
    if tried:
        assert val(s, "bulwark_upstream_peer_up", upstream="app",
                   peer=down) == 0
    assert val(s, "bulwark_upstream_peer_up", upstream="app", peer=up) == 1

    # the JSON says the same
    st, body = fetch(mport, "/metrics?format=json")
    j = json.loads(body)
    assert j["server_zones"]["site"]["requests"] == 20
    assert j["server_zones"]["site"]["responses"]["4xx"] == 3
    assert j["server_zones"]["other"]["responses"]["2xx"] == 4
    peers = {p["peer"]: p for p in j["upstream_peers"]}
    assert peers[up]["responses"]["2xx"] == 6

    # a reload keeps every count
    old = bw.workers(master)
    bw.signal(signal.SIGHUP)
    wait_for(lambda: not set(old) & set(bw.workers(master))
             and len(bw.workers(master)) == 2, what="new workers")
    s2 = counts()
    for key in (("bulwark_http_requests_total",
                 frozenset({("server_zone", "site"), ("code", "2xx")})),
                ("bulwark_http_requests_total",
                 frozenset({("server_zone", "other"), ("code", "2xx")})),
                ("bulwark_upstream_requests_total",
                 frozenset({("upstream", "app"), ("peer", up),
                            ("code", "2xx")}))):
        assert s2[key] == s[key], key
    assert fetch(bw.port, "/index.html")[0] == 200
    wait_for(lambda: code_of(counts(), "site", "2xx") == 14,
             what="a request after the reload counted")


def test_requests_processing(bw, origin):
    """A request of a zone is "processing" while it runs, and not after
    it, whichever worker serves the metrics."""
    mport = free_port()
    conf(bw, origin, free_port(), mport)
    bw.start()
    bw.wait_port(mport)
    done = []
    t = threading.Thread(target=lambda: done.append(
        fetch(bw.port, "/slow/1500")[0]))
    t.start()

    def processing():
        s = samples(fetch(mport, "/metrics")[1].decode())
        return val(s, "bulwark_http_requests_processing",
                   server_zone="slow")
    wait_for(lambda: processing() == 1, what="one request processing")
    t.join(timeout=20)
    assert done == [200]
    wait_for(lambda: processing() == 0, what="none processing")


def test_peer_active_connections(bw, origin):
    """A peer's active connections: those requests use now, as the
    upstream's zone counts them for every worker."""
    mport = free_port()
    conf(bw, origin, free_port(), mport)
    bw.start()
    bw.wait_port(mport)
    peer = "127.0.0.1:%d" % origin.port
    done = []
    t = threading.Thread(target=lambda: done.append(
        fetch(bw.port, "/app/slow/1500")[0]))
    t.start()

    def active():
        s = samples(fetch(mport, "/metrics")[1].decode())
        return val(s, "bulwark_upstream_peer_active_connections",
                   upstream="app", peer=peer)
    wait_for(lambda: active() == 1, what="one connection to the peer")
    states = json.loads(fetch(mport, "/metrics?format=json")[1])
    assert [p["active"] for p in states["peer_state"]
            if p["peer"] == peer] == [1]
    t.join(timeout=20)
    assert done == [200]
    wait_for(lambda: active() == 0, what="none")


def code_of(s, zone, c):
    return val(s, "bulwark_http_requests_total", server_zone=zone, code=c)


def test_reloads_and_worker_restarts(bw, origin):
    """The master counts configurations loaded by a reload (not one that
    failed to load) and workers that exited unasked; a reload keeps the
    counts."""
    mport = free_port()
    conf(bw, origin, free_port(), mport)
    bw.start()
    bw.wait_port(mport)

    def counts():
        st, body = fetch(mport, "/metrics")
        s = samples(body.decode())
        return (val(s, "bulwark_reloads_total"),
                val(s, "bulwark_worker_restarts_total"))

    assert counts() == (0, 0)
    for n in (1, 2):
        workers = set(bw.workers())
        bw.signal(signal.SIGHUP)
        wait_for(lambda: counts()[0] == n, what="reload %d counted" % n)
        wait_for(lambda: not workers & set(bw.workers()),
                 what="old workers gone")
    # a configuration that does not load is no reload
    good = open(bw.conf).read()
    bw.write("conf/bulwark.conf", good + "\nbroken;\n")
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reload failed" in bw.logs(),
             what="the failed reload")
    bw.write("conf/bulwark.conf", good)
    assert counts() == (2, 0)

    victim = bw.workers()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in bw.workers()
             and len(bw.workers()) == 2, what="the worker respawned")
    wait_for(lambda: counts() == (2, 1), what="the restart counted")
    st, body = fetch(mport, "/metrics?format=json")
    assert json.loads(body)["processes"] == {"reloads": 2,
                                             "worker_restarts": 1}


def test_promtool_accepts_the_text(bw, origin):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian's prometheus package) is missing")
    dead = free_port()
    mport = free_port()
    conf(bw, origin, dead, mport)
    bw.write("html/index.html", "x")
    bw.start()
    bw.wait_port(mport)
    for path in ("/index.html", "/none", "/app/size/5", "/other"):
        fetch(bw.port, path)
    st, body = fetch(mport, "/metrics")
    assert st == 200
    r = subprocess.run([promtool, "check", "metrics"], input=body,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()


def test_access_rules_and_methods(bw, origin):
    mport = free_port()
    conf(bw, origin, free_port(), mport)
    bw.start()
    bw.wait_port(mport)
    assert fetch(mport, "/closed")[0] == 403
    assert fetch(mport, "/metrics", "POST", b"x")[0] == 405


def test_configuration_errors(bw):
    bw.config("""
        server { listen 127.0.0.1:PORT; status_zone a; status_zone b; }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"status_zone" directive is duplicate' in r.stderr
    bw.config("""
        server { listen 127.0.0.1:PORT; location / { metrics on; } }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'invalid number of arguments in "metrics" directive' in r.stderr


def test_cache_statuses_by_zone(bw, origin):
    from conftest import require_module
    require_module("http_metrics", "http_proxy", "http_cache")
    mport = free_port()
    bw.config("""
        proxy_cache_path %s keys_zone=c:1m;
        server {
            listen 127.0.0.1:PORT;
            status_zone cached;
            location / { proxy_pass http://127.0.0.1:%d;
                         proxy_cache c; proxy_cache_valid 200 1m; }
            location /nocache/ { proxy_pass http://127.0.0.1:%d/; }
        }
        server {
            listen 127.0.0.1:%d;
            location /metrics { metrics; }
        }""" % (bw.path("cache"), origin.port, origin.port, mport))
    bw.start()

    for path in ("/size/7", "/size/7", "/size/7", "/size/8",
                 "/nocache/size/7"):
        assert fetch(bw.port, path)[0] == 200

    _, text = fetch(mport, "/metrics")
    s = samples(text.decode())
    assert val(s, "bulwark_http_cache_responses_total",
               server_zone="cached", cache_status="MISS") == 2
    assert val(s, "bulwark_http_cache_responses_total",
               server_zone="cached", cache_status="HIT") == 2
    assert val(s, "bulwark_http_cache_responses_total",
               server_zone="cached", cache_status="EXPIRED") == 0
    _, body = fetch(mport, "/metrics?format=json")
    zone = json.loads(body)["server_zones"]["cached"]
    assert zone["cache"]["HIT"] == 2 and zone["cache"]["MISS"] == 2
    assert zone["requests"] == 5


def test_limit_decisions_by_zone(bw):
    from conftest import require_module
    require_module("http_metrics", "http_limit_req", "http_limit_conn",
                   "http_static")
    mport = free_port()
    bw.config("""
        limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
        limit_conn_zone $binary_remote_addr zone=addr:1m;
        server {
            listen 127.0.0.1:PORT;
            status_zone limited;
            root html;
            location / { limit_req zone=one; limit_conn addr 10; }
            location /dry/ { limit_req zone=one; limit_req_dry_run on; }
        }
        server {
            listen 127.0.0.1:%d;
            location /metrics { metrics; }
        }""" % mport)
    bw.write("html/a.txt", "a")
    bw.write("html/dry/a.txt", "a")
    bw.start()

    # (return would answer before the limits' phase: static files)
    got = [fetch(bw.port, "/a.txt")[0] for i in range(3)]
    assert got == [200, 503, 503]
    assert fetch(bw.port, "/dry/a.txt")[0] == 200

    _, text = fetch(mport, "/metrics")
    s = samples(text.decode())
    req = {st: val(s, "bulwark_http_limit_req_total", server_zone="limited",
                   status=st)
           for st in ("PASSED", "REJECTED", "REJECTED_DRY_RUN", "DELAYED")}
    assert req == {"PASSED": 1, "REJECTED": 2, "REJECTED_DRY_RUN": 1,
                   "DELAYED": 0}
    # limit_conn runs after limit_req: only the request let through
    assert val(s, "bulwark_http_limit_conn_total", server_zone="limited",
               status="PASSED") == 1
    _, body = fetch(mport, "/metrics?format=json")
    zone = json.loads(body)["server_zones"]["limited"]
    assert zone["limit_req"]["REJECTED"] == 2
    assert zone["limit_conn"]["PASSED"] == 1


# --- the status page, in headless Chromium ---------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """The Chrome DevTools protocol over a WebSocket, as much of it as a
    test needs: commands and their answers (events are skipped)."""

    def __init__(self, url):
        import base64
        import os
        import socket
        import urllib.parse
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (u.path, u.hostname, u.port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "DevTools closed the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        self.next_id = 0

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "DevTools went away"
            data += chunk
        return data

    def _send(self, text):
        import os
        import struct
        payload = text.encode()
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4]
                                              for i, b in enumerate(payload)))

    def _recv(self):
        import struct
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            message += self._exact(n)
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method,
                               "params": params}))
        for _ in range(10000):
            m = self._recv()
            if m.get("id") == self.next_id:
                assert "error" not in m, m
                return m["result"]
        raise AssertionError("no answer to " + method)

    def value(self, expression):
        r = self.call("Runtime.evaluate", expression=expression,
                      returnByValue=True)
        return r["result"].get("value")


@pytest.mark.skipif(CHROMIUM is None,
                    reason="chromium is not installed (scripts/deps test)")
def test_status_page_in_chromium(bw, origin, tmp_path):
    import base64
    import urllib.request
    from conftest import require_module
    require_module("http_metrics", "http_proxy", "http_upstream_zone")

    dying = Origin("o2")
    mport = free_port()
    bw.config("""
        upstream app {
            zone app 64k;
            server 127.0.0.1:%d;
            server 127.0.0.1:%d max_fails=1 fail_timeout=60s;
        }
        server {
            listen 127.0.0.1:PORT;
            status_zone site;
            location /app/ { proxy_pass http://app/;
                             proxy_next_upstream error; }
        }
        server {
            listen 127.0.0.1:%d;
            location = /status { status_page /api/metrics; }
            location = /api/metrics { metrics; }
        }""" % (origin.port, dying.port, mport), workers=2)
    bw.start()
    for i in range(6):
        assert fetch(bw.port, "/app/size/10")[0] == 200

    status, page = fetch(mport, "/status")
    assert status == 200
    # self-contained: nothing from elsewhere
    assert not re.search(rb"(src|href)=\"?https?:", page)
    assert b'data-src="/api/metrics"' in page

    dport = free_port()
    chrome = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run",
         "--remote-debugging-port=%d" % dport,
         "--user-data-dir=%s" % (tmp_path / "chrome"),
         "--window-size=1280,800", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def page_target():
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d/json/list" % dport,
                        timeout=2) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
                return pages[0]["webSocketDebuggerUrl"] if pages else None
            except OSError:
                return None
        cdp = DevTools(wait_for(page_target, timeout=30, what="chromium"))
        cdp.call("Page.navigate", url="http://127.0.0.1:%d/status" % mport)

        row = 'document.querySelector(\'tr[data-peer="127.0.0.1:%d"]\')'
        live, doomed = row % origin.port, row % dying.port
        wait_for(lambda: cdp.value("(%s||{dataset:{}}).dataset.state"
                                   % doomed) == "up",
                 timeout=20, what="the page filled by its polling")
        assert cdp.value("(%s||{dataset:{}}).dataset.state" % live) == "up"
        assert cdp.value("document.querySelector('tr[data-zone=\"site\"]')"
                         " !== null")
        assert cdp.value("document.getElementById('updated').className") \
            == ""

        # the second peer dies: its first failure takes it out
        dying.stop()
        deadline = 20
        for i in range(deadline * 10):
            fetch(bw.port, "/app/size/10")
            _, body = fetch(mport, "/api/metrics?format=json")
            states = json.loads(body)["peer_state"]
            if any(s["peer"] == "127.0.0.1:%d" % dying.port and not s["up"]
                   for s in states):
                break
        polls = int(cdp.value("document.body.dataset.polls") or 0)
        # on the page within two polls of the metrics saying so
        wait_for(lambda: cdp.value("(%s||{dataset:{}}).dataset.state"
                                   % doomed) == "down",
                 timeout=10, what="the peer shown down")
        assert int(cdp.value("document.body.dataset.polls")) <= polls + 2
        assert cdp.value("(%s||{dataset:{}}).dataset.state" % live) == "up"

        shot = cdp.call("Page.captureScreenshot", format="png")
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG")
        # BULWARK_STATUS_SHOT=path keeps it (docs/status-page.png)
        import os
        (tmp_path / "status-page.png").write_bytes(png)
        if os.environ.get("BULWARK_STATUS_SHOT"):
            with open(os.environ["BULWARK_STATUS_SHOT"], "wb") as f:
                f.write(png)
    finally:
        chrome.terminate()
        try:
            chrome.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chrome.kill()
            chrome.wait(timeout=5)


def test_peer_header_time_histogram(bw, origin):
    """Each peer's time to the answer's header, a histogram beside the
    response time's: an origin that waits 300 ms before its header puts
    every attempt above the 250 ms bound."""
    mport = free_port()
    bw.config("""
    upstream app { server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://app; } }
    server { listen 127.0.0.1:%d; location / { metrics; } }
    """ % (origin.port, mport))
    bw.start()
    for _ in range(4):
        assert fetch(bw.port, "/slow/300")[0] == 200
    peer = "127.0.0.1:%d" % origin.port

    def counted():
        s = samples(fetch(mport, "/metrics")[1].decode())
        return val(s, "bulwark_upstream_header_duration_seconds_count",
                   upstream="app", peer=peer) == 4 and s
    s = wait_for(counted, what="four attempts counted") or counted()
    name = "bulwark_upstream_header_duration_seconds"
    assert val(s, name + "_bucket", upstream="app", peer=peer,
               le="0.250") == 0
    assert val(s, name + "_bucket", upstream="app", peer=peer,
               le="+Inf") == 4
    assert val(s, name + "_sum", upstream="app", peer=peer) >= 1.2
    # the header comes before the end: never later
    assert val(s, name + "_sum", upstream="app", peer=peer) <= val(
        s, "bulwark_upstream_response_duration_seconds_sum", upstream="app",
        peer=peer)
    j = json.loads(fetch(mport, "/metrics?format=json")[1])
    p = [x for x in j["upstream_peers"] if x["peer"] == peer][0]
    assert sum(p["header_buckets"]) == 4 and p["header_time_ms"] >= 1200

"""
The upstream state file ("state file;" in an upstream with a zone): the
servers are read from it at start and reload, every change through the
admin API rewrites it (by the master, atomically), and what the API set
is what serves after a reload, a restart and a binary upgrade. A file
that does not parse names its line; a reload keeps the running set.
"""

import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import pid_alive, require_module, wait_for
from origin import Origin
from test_api import api, served_by


@pytest.fixture(autouse=True)
def _built():
    require_module("http_api", "http_proxy", "http_upstream_zone")


@pytest.fixture
def origins():
    os_ = [Origin("o%d" % i) for i in range(1, 4)]
    yield os_
    for o in os_:
        o.stop()


TOKEN = re.compile(r'\s*(?:(#[^\n]*|//[^\n]*)|("(?:[^"\\]|\\.)*")|'
                   r'([A-Za-z_][A-Za-z0-9_\-]*)|(-?\d+)|([=:;,(){}\[\]]))')


def parse_libconfig(text):
    """The part of libconfig's grammar the server writes: settings of
    groups, lists, integers, strings and booleans. Raises ValueError on
    anything else, so a torn file is caught."""
    toks = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError("bad text at %d" % pos)
        pos = m.end()
        if m.group(1):
            continue
        toks.append(m.group(0).strip())
    i = [0]

    def peek():
        return toks[i[0]] if i[0] < len(toks) else None

    def take(expect=None):
        t = peek()
        if t is None or (expect and t != expect):
            raise ValueError("expected %r, got %r" % (expect, t))
        i[0] += 1
        return t

    def value():
        t = take()
        if t == "{":
            return settings("}")
        if t == "(":
            items = []
            while peek() != ")":
                items.append(value())
                if peek() == ",":
                    take()
            take(")")
            return items
        if t.startswith('"'):
            return t[1:-1].encode().decode("unicode_escape")
        if t in ("true", "false"):
            return t == "true"
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        raise ValueError("bad value %r" % t)

    def settings(end):
        out = {}
        while peek() != end:
            name = take()
            sep = take()
            if sep not in ("=", ":"):
                raise ValueError("expected =")
            out[name] = value()
            if peek() in (";", ","):
                take()
        if end:
            take(end)
        return out

    return settings(None)


def state_servers(path):
    with open(path) as f:
        return parse_libconfig(f.read())["servers"]


def conf(state, balancer=""):
    return """
    upstream b { zone b 64k; %s state %s; }
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass http://b; }
        location /api { api write=on; }
    }
    """ % (balancer, state)


def servers_of(bw):
    st, servers, _ = api(bw.port, "GET", "/api/9/http/upstreams/b/servers")
    assert st == 200
    return servers


def setup_state(bw, origins):
    """Start with an empty state; add three servers, change them."""
    state = bw.path("state", "b.conf")
    os.makedirs(os.path.dirname(state), exist_ok=True)
    bw.config(conf(state), workers=2)
    bw.start()
    assert servers_of(bw) == []
    assert not os.path.exists(state)
    u = "/api/9/http/upstreams/b/servers"
    for o in origins:
        st, _, _ = api(bw.port, "POST", u, {"server": "127.0.0.1:%d" % o.port})
        assert st == 201
    api(bw.port, "PATCH", u + "/0", {"weight": 4, "max_fails": 3,
                                     "fail_timeout": "30s"})
    api(bw.port, "PATCH", u + "/1", {"down": True})
    api(bw.port, "DELETE", u + "/2")
    st, _, _ = api(bw.port, "POST", u, {"server": "127.0.0.1:%d"
                                        % origins[2].port, "max_conns": 7})
    assert st == 201
    return state


def expected(origins):
    return [
        {"id": 0, "server": "127.0.0.1:%d" % origins[0].port, "weight": 4,
         "max_conns": 0, "max_fails": 3, "fail_timeout": "30s",
         "slow_start": "0s", "route": "", "backup": False, "down": False},
        {"id": 1, "server": "127.0.0.1:%d" % origins[1].port, "weight": 1,
         "max_conns": 0, "max_fails": 1, "fail_timeout": "10s",
         "slow_start": "0s", "route": "", "backup": False, "down": True},
        {"id": 3, "server": "127.0.0.1:%d" % origins[2].port, "weight": 1,
         "max_conns": 7, "max_fails": 1, "fail_timeout": "10s",
         "slow_start": "0s", "route": "", "backup": False, "down": False},
    ]


def test_changes_are_written_to_the_file(bw, origins):
    state = setup_state(bw, origins)
    assert servers_of(bw) == expected(origins)

    def written():
        try:
            return state_servers(state)
        except (OSError, ValueError, KeyError):
            return None
    want = [{"id": s["id"], "server": s["server"], "weight": s["weight"],
             "max_conns": s["max_conns"], "max_fails": s["max_fails"],
             "fail_timeout": int(s["fail_timeout"][:-1]),
             "backup": s["backup"], "down": s["down"]}
            for s in expected(origins)]
    wait_for(lambda: written() == want, what="state file")
    # the master wrote it, not a worker (it logs once the file is in
    # place)
    master = bw.read_pid()
    wait_for(lambda: re.search(r"\] %d#0: upstream \"b\": state file \"%s\" "
                               r"written, 3 servers" % (master,
                                                        re.escape(state)),
                               bw.logs()), what="the master's log line")
    assert [n for n in os.listdir(os.path.dirname(state))
            if n.endswith(".tmp")] == []


def test_state_survives_reload_restart_and_upgrade(bw, origins):
    state = setup_state(bw, origins)
    want = expected(origins)

    def final():
        try:
            servers = state_servers(state)
        except OSError:
            return False
        return [(s["id"], s["max_conns"]) for s in servers] == \
            [(0, 0), (1, 0), (3, 7)]
    wait_for(final, what="the last change in the state file")

    master = bw.read_pid()
    old_workers = set(bw.workers())
    bw.signal(signal.SIGHUP)
    wait_for(lambda: set(bw.workers()).isdisjoint(old_workers)
             and len(bw.workers()) == 2, what="new workers")
    assert servers_of(bw) == want
    # and it serves as it says: server 1 is down
    assert {served_by(bw.port)[0] for _ in range(6)} == {"o1", "o3"}

    # a binary upgrade: the new master reads the file
    bw.signal(signal.SIGUSR2)
    wait_for(lambda: os.path.exists(bw.pidfile + ".oldbin")
             and bw.read_pid() not in (None, master), what="new master")
    new_master = bw.read_pid()
    bw.pids.add(new_master)
    wait_for(lambda: len(bw.workers(new_master)) == 2, what="new workers")
    os.kill(master, signal.SIGQUIT)
    wait_for(lambda: not pid_alive(master), what="old master to exit")
    assert servers_of(bw) == want

    # a change after the upgrade, then a restart
    st, _, _ = api(bw.port, "PATCH", "/api/9/http/upstreams/b/servers/1",
                   {"down": False})
    assert st == 200
    want[1]["down"] = False
    wait_for(lambda: state_servers(state)[1]["down"] is False,
             what="state file")
    bw.stop()
    bw.start()
    wait_for(lambda: len(bw.workers()) == 2, what="workers")
    assert servers_of(bw) == want
    # ids go on from the largest kept
    st, s, _ = api(bw.port, "POST", "/api/9/http/upstreams/b/servers",
                   {"server": "127.0.0.1:9"})
    assert st == 201 and s["id"] == 4


def test_a_bad_state_file_names_its_line(bw, origins):
    state = bw.path("state", "b.conf")
    os.makedirs(os.path.dirname(state), exist_ok=True)
    with open(state, "w") as f:
        f.write('servers = (\n  { id = 0; server = "127.0.0.1:%d"; },\n'
                '  { id = 1; server = "127.0.0.1:%d"; weight = ; }\n);\n'
                % (origins[0].port, origins[1].port))
    bw.config(conf(state))
    r = bw.run("-t")
    assert r.returncode != 0
    assert re.search(r'invalid state file "%s": syntax error in line 3'
                     % re.escape(state), r.stderr), r.stderr

    cases = [
        ('servers = ( { server = "127.0.0.1:1"; weight = 0; } );',
         'invalid "weight" in state file "%s" in line 1'),
        ('servers = ( { server = "127.0.0.1:1"; colour = 1; } );',
         'unknown "colour" in state file "%s" in line 1'),
        ('servers = ( { weight = 2; } );',
         'a server without "server" in state file "%s" in line 1'),
        ('servers = ( { id = 1; server = "127.0.0.1:1"; },\n'
         '{ id = 1; server = "127.0.0.1:2"; } );',
         'duplicate "id" 1 in state file "%s" in line 2'),
        ('servers = ( { server = "127.0.0.1:1"; down = 1; } );',
         'invalid "down" in state file "%s" in line 1'),
        ('peers = ( );', 'state file "%s" has no "servers" list'),
    ]
    for text, message in cases:
        with open(state, "w") as f:
            f.write(text + "\n")
        r = bw.run("-t")
        assert r.returncode != 0, text
        assert message % state in r.stderr, (text, r.stderr)
        # the directive's own place is named too
        assert "bulwark.conf:" in r.stderr

    # at reload: the error is logged, the running servers stay
    with open(state, "w") as f:
        f.write('servers = ( { id = 0; server = "127.0.0.1:%d"; } );\n'
                % origins[0].port)
    bw.start()
    wait_for(lambda: len(bw.workers()) == 1, what="the worker")
    workers = set(bw.workers())
    with open(state, "w") as f:
        f.write("servers = ( {\n")
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "invalid state file" in bw.logs(), what="reload error")
    assert set(bw.workers()) == workers
    assert [s["server"] for s in servers_of(bw)] == \
        ["127.0.0.1:%d" % origins[0].port]
    assert served_by(bw.port)[0] == "o1"


def test_state_and_server_lines_do_not_mix(bw):
    state = bw.path("state.conf")
    bw.config("""
    upstream b { zone b 64k; server 127.0.0.1:1; state %s; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; } }
    """ % state)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"state" directive is incompatible with "server"' in r.stderr, r.stderr

    bw.config("""
    upstream b { zone b 64k; state %s; server 127.0.0.1:1; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; } }
    """ % state)
    r = bw.run("-t")
    assert '"server" directive is incompatible with "state"' in r.stderr, r.stderr

    bw.config("""
    upstream b { state %s; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; } }
    """ % state)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"state" requires "zone" in upstream "b"' in r.stderr, r.stderr


def test_master_killed_during_a_storm_of_writes_leaves_a_whole_file(
        bw, origins):
    state = bw.path("state", "b.conf")
    os.makedirs(os.path.dirname(state), exist_ok=True)
    bw.config(conf(state), workers=2)
    master = bw.start()
    u = "/api/9/http/upstreams/b/servers"
    for o in origins:
        api(bw.port, "POST", u, {"server": "127.0.0.1:%d" % o.port})

    def three():
        try:
            return len(state_servers(state)) == 3
        except OSError:
            return False
    wait_for(three, what="state file with the three servers")

    stop = threading.Event()
    errors = []

    def storm(k):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                api(bw.port, "PATCH", u + "/%d" % (n % 3),
                    {"weight": 1 + (n + k) % 9}, timeout=2)
            except OSError:
                # the workers go once the master is gone
                return
            except ValueError as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=storm, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    seen = set()
    try:
        # the file is read while it is being replaced, again and again
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            servers = state_servers(state)
            assert len(servers) == 3
            seen.add(tuple(s["weight"] for s in servers))
        os.kill(master, signal.SIGKILL)
        bw.pids.discard(master)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert errors == []
    assert len(seen) > 1, "the file never changed"
    servers = state_servers(state)
    assert [s["id"] for s in servers] == [0, 1, 2]

    # the workers leave on their own once the master is gone
    for w in bw.workers(master) or []:
        wait_for(lambda: not pid_alive(w), what="worker to exit")
    # a new start reads what was last written
    bw.start()
    assert [s["weight"] for s in servers_of(bw)] == \
        [s["weight"] for s in state_servers(state)]


def test_large_ids_are_kept(bw, origins):
    state = bw.path("state", "b.conf")
    os.makedirs(os.path.dirname(state), exist_ok=True)
    with open(state, "w") as f:
        f.write('servers = ( { id = 70000; server = "127.0.0.1:%d"; },\n'
                '{ server = "127.0.0.1:%d"; } );\n'
                % (origins[0].port, origins[1].port))
    bw.config(conf(state))
    bw.start()
    assert [s["id"] for s in servers_of(bw)] == [70000, 70001]
    st, s, _ = api(bw.port, "POST", "/api/9/http/upstreams/b/servers",
                   {"server": "127.0.0.1:%d" % origins[2].port,
                    "fail_timeout": "1y"})
    assert st == 201 and s["id"] == 70002
    wait_for(lambda: len(state_servers(state)) == 3, what="state file")
    # what was written loads again
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr


def test_writes_across_a_reload_are_kept_or_refused(bw, origins):
    """During a reload the old workers still answer: a write there is
    refused (503, to be retried) or kept; none is acknowledged and then
    lost. Each writer adds a server and removes it again, so that what
    must be there at the end is what was added and not removed."""
    state = bw.path("state", "b.conf")
    os.makedirs(os.path.dirname(state), exist_ok=True)
    bw.config(conf(state), workers=2)
    bw.start()
    wait_for(lambda: len(bw.workers()) == 2, what="workers")
    u = "/api/9/http/upstreams/b/servers"
    present = set()
    done = [0]
    refused = [0]
    other = []
    stop = threading.Event()

    def call(method, path, body=None):
        try:
            return api(bw.port, method, path, body, timeout=5)
        except OSError:
            return None, None, None

    def writer(k):
        n = 0
        while not stop.is_set():
            port = 20000 + k * 20000 + n % 20000
            n += 1
            if port in present:
                continue
            st, s, _ = call("POST", u, {"server": "127.0.0.1:%d" % port})
            if st == 503 or st is None:
                # a client's backoff before it retries
                refused[0] += 1
                stop.wait(0.01)
                continue
            if st != 201:
                other.append((st, s))
                continue
            present.add(port)
            # a refused removal is retried, as a client would: else the
            # servers left over could fill the zone
            for _ in range(500):
                st, _, _ = call("DELETE", u + "/%d" % s["id"])
                if st not in (503, None):
                    break
                refused[0] += 1
                stop.wait(0.01)
            if st == 200:
                present.discard(port)
                done[0] += 1
            else:
                other.append((st, "DELETE"))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: done[0] > 10, what="writes")
    old = set(bw.workers())
    bw.signal(signal.SIGHUP)
    wait_for(lambda: set(bw.workers()).isdisjoint(old)
             and len(bw.workers()) == 2, what="new workers")
    stop.set()
    for t in threads:
        t.join(20)
    ports = {int(s["server"].rsplit(":", 1)[1]) for s in servers_of(bw)}
    assert ports == present, (sorted(ports ^ present), refused[0])
    assert other == [], (len(other), other[:3])

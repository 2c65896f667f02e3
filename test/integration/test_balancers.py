"""
The balancers of upstream blocks against real origins on loopback:
least_conn, ip_hash, hash, hash consistent, random, random two, and
zone (health shared by workers). Where Debian's nginx is installed, the
hash balancers are compared with it key by key.
"""

import os
import signal
import socket
import threading

import pytest

from conftest import (free_port, get, needs_nginx, nginx_serving, pid_alive,
                      raw, recv_all, require_module, wait_for)
from origin import Origin


@pytest.fixture(autouse=True)
def _proxy_built():
    require_module("http_proxy")


@pytest.fixture
def origins():
    os_ = [Origin("o%d" % i) for i in range(1, 5)]
    yield os_
    for o in os_:
        o.stop()


def answer_of(port, path, src="127.0.0.1"):
    """(status, x-origin or None) of one request sent from the source
    address src."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(src, 0))
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                  % path.encode())
        data = recv_all(s)
    finally:
        s.close()
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    origin = None
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.lower() == "x-origin":
            origin = v.strip()
    return int(lines[0].split()[1]), origin


def origin_of(port, path, src="127.0.0.1"):
    """x-origin of one request that must succeed."""
    st, origin = answer_of(port, path, src)
    assert st == 200 and origin, (path, st, origin)
    return origin


def process_state(pid):
    """Signal masks and open files of a process, for a failure report."""
    try:
        with open("/proc/%d/status" % pid) as f:
            sig = [l.strip() for l in f if l.startswith(("Sig", "Shd", "State"))]
        fds = {}
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                fds[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                pass
        return "pid %d %s fds %s" % (pid, sig, sorted(fds.items()))
    except (OSError, TypeError) as e:
        return "pid %r: %r" % (pid, e)


def servers(os_, weights=None):
    weights = weights or [1] * len(os_)
    return " ".join("server 127.0.0.1:%d weight=%d;" % (o.port, w)
                    for o, w in zip(os_, weights))


def reload(bw, text):
    old = bw.workers()
    bw.config(text)
    bw.signal(signal.SIGHUP)
    wait_for(lambda: not any(pid_alive(p) for p in old),
             what="old workers to exit")


def test_least_conn_by_weight_and_load(bw, origins):
    o1, o2, o3, _ = origins
    bw.config("""
    upstream lc { least_conn; %s }
    upstream two { least_conn; %s }
    server { listen 127.0.0.1:PORT;
        location /lc/ { proxy_pass http://lc/; }
        location /two/ { proxy_pass http://two/; } }
    """ % (servers([o1, o2, o3], [1, 2, 3]), servers([o1, o2])))
    bw.start()

    # one request at a time: all idle, ties shared by weight exactly
    counts = {"o1": 0, "o2": 0, "o3": 0}
    for _ in range(600):
        counts[origin_of(bw.port, "/lc/size/1")] += 1
    assert counts == {"o1": 100, "o2": 200, "o3": 300}

    # a request held open on one server sends the next ones elsewhere
    held = threading.Thread(target=origin_of,
                            args=(bw.port, "/two/slow/1500"))
    held.start()
    wait_for(lambda: any(r for o in (o1, o2) for r in o.requests
                         if "/slow/" in str(r)), what="slow request")
    busy = "o1" if any("/slow/" in str(r) for r in o1.requests) else "o2"
    seen = {origin_of(bw.port, "/two/size/1") for _ in range(10)}
    held.join(timeout=10)
    assert seen == {"o2" if busy == "o1" else "o1"}


def test_ip_hash_sticks_per_24(bw, origins):
    o1, o2, o3, _ = origins
    bw.config("""
    upstream ip { ip_hash; %s }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://ip; } }
    """ % servers([o1, o2, o3]))
    bw.start()

    names = ["o1", "o2", "o3"]
    chosen = set()
    for n in range(24):
        src = "127.0.%d.1" % n
        first = origin_of(bw.port, "/size/1", src)
        # the rest of the /24 and later requests stick to it
        for host in (1, 77, 200):
            assert origin_of(bw.port, "/size/1", "127.0.%d.%d"
                             % (n, host)) == first
        # nginx's formula over the first three bytes
        h = 89
        for b in (127, 0, n):
            h = (h * 113 + b) % 6271
        assert first == names[h % 3], src
        chosen.add(first)
    assert chosen == set(names)


def keys_map(port, prefix, keys):
    return {k: origin_of(port, "%s/size/1?k=%s" % (prefix, k)) for k in keys}


def test_hash_and_consistent_hash(bw, origins):
    o1, o2, o3, o4 = origins
    conf = """
    upstream h { hash $arg_k; %s }
    upstream hc { hash $arg_k consistent; %s }
    server { listen 127.0.0.1:PORT;
        location /h/ { proxy_pass http://h/; }
        location /hc/ { proxy_pass http://hc/; } }
    """
    bw.config(conf % (servers(origins), servers(origins)))
    bw.start()
    keys = ["user%d" % i for i in range(400)]

    plain = keys_map(bw.port, "/h", keys)
    assert plain == keys_map(bw.port, "/h", keys[:50]) | \
        {k: plain[k] for k in keys[50:]}
    assert set(plain.values()) == {"o1", "o2", "o3", "o4"}

    before = keys_map(bw.port, "/hc", keys)
    assert set(before.values()) == {"o1", "o2", "o3", "o4"}

    # o3 leaves: only its keys move, about a quarter of them
    three = [o1, o2, o4]
    reload(bw, conf % (servers(three), servers(three)))
    after = keys_map(bw.port, "/hc", keys)
    moved = [k for k in keys if before[k] != after[k]]
    assert all(before[k] == "o3" for k in moved)
    assert "o3" not in after.values()
    assert 0.10 < len(moved) / len(keys) < 0.40, len(moved)


def test_random_and_random_two(bw, origins):
    o1, o2, o3, _ = origins
    bw.config("""
    upstream r { random; %s }
    upstream r2 { random two least_conn; %s }
    server { listen 127.0.0.1:PORT;
        location /r/ { proxy_pass http://r/; }
        location /r2/ { proxy_pass http://r2/; } }
    """ % (servers([o1, o2, o3], [1, 2, 3]), servers([o1, o2, o3])))
    bw.start()
    counts = {"o1": 0, "o2": 0, "o3": 0}
    for _ in range(600):
        counts[origin_of(bw.port, "/r/size/1")] += 1
    # 100/200/300 expected; the bounds are more than 4 sigma away
    assert 50 < counts["o1"] < 150
    assert 140 < counts["o2"] < 260
    assert 230 < counts["o3"] < 370
    assert {origin_of(bw.port, "/r2/size/1") for _ in range(60)} == \
        {"o1", "o2", "o3"}


def test_balancer_errors_and_keepalive_order(bw, origins):
    o1 = origins[0]
    bw.config("""
    upstream u { server 127.0.0.1:1 backup; server 127.0.0.1:2; hash $uri; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'balancing method "hash" does not support parameter "backup"' \
        in r.stderr and "bulwark.conf:" in r.stderr
    bw.config("""
    upstream u { ip_hash; server 127.0.0.1:1 backup; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """)
    r = bw.run("-t")
    assert 'balancing method does not support parameter "backup"' in r.stderr
    for bad, msg in (("random three;", 'invalid parameter "three"'),
                     ("random two fastest;", 'invalid parameter "fastest"'),
                     ("hash $uri fast;", 'invalid parameter "fast"'),
                     ("zone z 1k;", 'zone "z" is too small'),
                     ("least_conn x;", 'invalid number of arguments')):
        bw.config("""
        upstream u { %s server 127.0.0.1:1; }
        server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
        """ % bad)
        r = bw.run("-t")
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)
    bw.config("""
    upstream u { least_conn; hash $uri; server 127.0.0.1:1; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """)
    r = bw.run("-t")
    assert r.returncode == 0 and "load balancing method redefined" in r.stderr

    # keepalive before the balancer still pools (nginx would drop it)
    bw.config("""
    upstream u { keepalive 4; hash $arg_k; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT; location / {
        proxy_pass http://u; proxy_http_version 1.1;
        proxy_set_header Connection ""; } }
    """ % o1.port)
    bw.start()
    for i in range(30):
        st, _, _ = get(bw.port, "/size/10?k=%d" % i)
        assert st == 200
    assert o1.connections == 1


def test_zone_shares_failures_between_workers(bw, origins):
    o1 = origins[0]
    dead = free_port()
    bw.config("""
    log_format up "$pid $upstream_addr";
    upstream z { zone peers 64k; server 127.0.0.1:%d max_fails=1
                 fail_timeout=60s; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT reuseport;
        access_log logs/up.log up;
        location / { proxy_pass http://z; } }
    """ % (dead, o1.port), workers=2)
    bw.start()
    wait_for(lambda: len(bw.workers()) == 2, what="two workers")
    for _ in range(60):
        st, h, _ = get(bw.port, "/size/1")
        assert st == 200 and h["x-origin"] == "o1"

    log = bw.path("logs", "up.log")
    wait_for(lambda: os.path.exists(log)
             and len(open(log).read().splitlines()) == 60, what="log")
    lines = open(log).read().splitlines()
    pids = {line.split()[0] for line in lines}
    tried_dead = [line for line in lines if ":%d" % dead in line]
    # both workers served, and only one request in all tried the dead peer
    assert len(pids) == 2, pids
    assert len(tried_dead) == 1, tried_dead


def test_unix_socket_upstream(bw, tmp_path):
    path = str(tmp_path / "origin.sock")
    o = Origin("ou", unix=path)
    try:
        bw.config("""
        upstream u { server unix:%s; }
        server { listen 127.0.0.1:PORT;
            location /u/ { proxy_pass http://u/; }
            location /d/ { proxy_pass http://unix:%s:/; } }
        """ % (path, path))
        bw.start()
        for prefix in ("/u/", "/d/"):
            st, h, body = get(bw.port, prefix + "size/5000")
            assert st == 200 and h["x-origin"] == "ou" and len(body) == 5000
    finally:
        o.stop()


@needs_nginx
def test_same_choices_as_nginx(bw, origins, tmp_path):
    ups = """
    upstream h { hash $arg_k; %s }
    upstream hc { hash $arg_k consistent; %s }
    upstream ip { ip_hash; %s }
    """ % ((servers(origins, [1, 2, 1, 3]),) * 3)
    locs = """
        location /h/ { proxy_pass http://h/; }
        location /hc/ { proxy_pass http://hc/; }
        location /ip/ { proxy_pass http://ip/; }
    """
    bw.config(ups + "server { listen 127.0.0.1:PORT; %s }" % locs)
    bw.start()

    port = free_port()
    with nginx_serving(tmp_path, ups + "server { listen 127.0.0.1:%d; %s }"
                       % (port, locs), port):
        keys = ["k%d" % i for i in range(150)]
        for prefix in ("/h", "/hc"):
            assert keys_map(bw.port, prefix, keys) == \
                keys_map(port, prefix, keys), prefix
        for n in range(0, 256, 16):
            src = "127.0.%d.9" % n
            assert origin_of(bw.port, "/ip/size/1", src) == \
                origin_of(port, "/ip/size/1", src), src


def test_zone_and_balancers_survive_reloads_under_load(bw, origins):
    """Reloads re-create the zone (fresh peers) while clients keep
    coming; in single-process mode the old zone stays mapped until the
    requests that use it are done."""
    import signal as sig
    o1, o2, o3, _ = origins
    conf = """
    upstream z { zone peers 64k; %s %s keepalive 8; }
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://z; proxy_http_version 1.1;
                     proxy_set_header Connection ""; } }
    """
    for head in ("", "master_process off;\n"):
        bw.stop()
        bw.procs.clear()
        bw.pids.clear()
        bw.config(conf % ("least_conn;", servers([o1, o2])), workers=2,
                  head_extra=head)
        bw.start()
        errors = []
        stop = threading.Event()

        def loop():
            n = 0
            while not stop.is_set() and n < 5000:
                n += 1
                try:
                    st, _, _ = get(bw.port, "/size/100")
                    if st != 200:
                        errors.append(st)
                except OSError as e:
                    errors.append(repr(e))

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        for balancer, pool in (("random two;", [o1, o2, o3]),
                               ("hash $uri consistent;", [o2, o3]),
                               ("", [o1, o3])):
            before = len(o1.requests) + len(o2.requests)
            reloads = bw.logs().count("reconfiguring")
            bw.config(conf % (balancer, servers(pool)), workers=2,
                      head_extra=head)
            bw.signal(sig.SIGHUP)
            try:
                wait_for(lambda: bw.logs().count("reconfiguring") > reloads,
                         what="reload")
                wait_for(lambda: len(o1.requests) + len(o2.requests)
                         + len(o3.requests) > before + 50, what="traffic")
            except AssertionError as e:
                # what the server said and its signal state are what tell
                # a lost signal from a stuck process
                raise AssertionError("%s (%s); client errors %r; %s; log:\n%s"
                                     % (e, balancer, errors[:5],
                                        process_state(bw.read_pid()),
                                        bw.logs()[-3000:]))
        stop.set()
        t.join(timeout=30)
        assert errors == [], errors[:5]
        assert "reload failed" not in bw.logs()
        bw.check_sanitizers()


@needs_nginx
def test_same_rotation_and_retries_as_nginx(bw, origins, tmp_path):
    """Weighted round robin, least_conn, a refused server, a server that
    answers 502, backups, proxy_next_upstream and its tries: request by
    request, the same server answers (or the same error comes) as with
    nginx, whose smooth weighted rotation and failure rules these
    follow."""
    o1, o2, o3, o4 = origins
    o4.answer_all(502)
    dead = free_port()

    def at(o, extra=""):
        return "server 127.0.0.1:%d%s;" % (o if isinstance(o, int)
                                            else o.port, extra)
    ups = """
    upstream w { %s %s %s }
    upstream f { %s %s %s %s }
    upstream e { %s %s %s }
    upstream lc { least_conn; %s %s %s }
    upstream t { %s %s }
    """ % (at(o1, " weight=3"), at(o2), at(o3, " weight=2"),
           at(o1), at(dead), at(o2, " weight=2"), at(o3, " backup"),
           at(o4), at(o1), at(o2, " max_fails=2"),
           at(o1), at(o2, " weight=2"), at(o3),
           at(o4), at(o1))
    locs = """
        access_log %s/ups.log ups;
        location /w/ { proxy_pass http://w/; }
        location /f/ { proxy_pass http://f/; }
        location /e/ { proxy_pass http://e/;
                       proxy_next_upstream error http_502; }
        location /lc/ { proxy_pass http://lc/; }
        location /t1/ { proxy_pass http://t/;
                        proxy_next_upstream error http_502;
                        proxy_next_upstream_tries 1; }
        location /off/ { proxy_pass http://t/; proxy_next_upstream off; }
    """
    ups += """
    log_format ups '$request_uri $status "$upstream_addr" "$upstream_status"'
                   ' "$upstream_response_length" $upstream_bytes_sent';
    """
    ours_log = tmp_path / "ours"
    theirs_log = tmp_path / "theirs"
    ours_log.mkdir()
    theirs_log.mkdir()
    bw.config(ups + "server { listen 127.0.0.1:PORT; %s }"
              % (locs % ours_log))
    bw.start()

    port = free_port()
    with nginx_serving(tmp_path, ups + "server { listen 127.0.0.1:%d; %s }"
                       % (port, locs % theirs_log), port):
        for prefix in ("/w", "/f", "/e", "/lc", "/t1", "/off"):
            ours = [answer_of(bw.port, prefix + "/size/1") for _ in range(24)]
            theirs = [answer_of(port, prefix + "/size/1") for _ in range(24)]
            assert ours == theirs, (prefix, ours, theirs)
            assert len({o for _, o in ours}) > 1 or prefix == "/off", ours
        n = 6 * 24
        # and the upstream variables of each attempt, in the log
        wait_for(lambda: len((ours_log / "ups.log").read_text()
                             .splitlines()) == n, what="our log")
    mine = (ours_log / "ups.log").read_text().splitlines()
    their = (theirs_log / "ups.log").read_text().splitlines()
    assert len(their) == n
    for a, b in zip(mine, their):
        assert a == b, (a, b)
    assert any(", " in line for line in mine), mine


def test_max_conns_shared_by_workers(bw, origins):
    """max_conns with a zone holds across workers: two workers, each
    taking requests (reuseport), never have more than max_conns open to
    the server between them; a lone server at its limit gives 502."""
    require_module("http_upstream_zone")
    o1, o2, o3, _ = origins
    bw.config("""
    upstream m { zone m 64k; server 127.0.0.1:%d max_conns=2;
                 server 127.0.0.1:%d; }
    upstream one { zone one 64k; server 127.0.0.1:%d max_conns=1; }
    server { listen 127.0.0.1:PORT reuseport;
        location /m/ { proxy_pass http://m/; }
        location /one/ { proxy_pass http://one/; } }
    """ % (o1.port, o2.port, o3.port), workers=2)
    bw.start()
    wait_for(lambda: len(bw.workers()) == 2, what="two workers")

    def hold(path):
        s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                  % path.encode())
        return s

    n = 12
    socks = [hold("/m/hold/2000/100") for _ in range(n)]
    try:
        wait_for(lambda: len(o1.requests) + len(o2.requests) == n,
                 what="every request at an origin")
        # each worker alone would let two through: four or more at o1
        assert len(o1.requests) == 2, (len(o1.requests), len(o2.requests))
        assert len(o2.requests) == n - 2
    finally:
        o1.release()
        o2.release()
        for s in socks:
            recv_all(s)
            s.close()

    first = hold("/one/hold/2000/100")
    try:
        wait_for(lambda: len(o3.requests) == 1, what="the first request")
        st, _, _ = get(bw.port, "/one/size/1")
        assert st == 502
        assert "no live upstreams" in bw.logs()
    finally:
        o3.release()
        recv_all(first)
        first.close()
    assert get(bw.port, "/one/size/1")[0] == 200


def test_body_cut_short_is_not_a_failed_attempt(bw, origins):
    """As nginx: max_fails counts what proxy_next_upstream calls
    unsuccessful, up to the response header. A body that breaks off
    after it does not take the server out for fail_timeout."""
    o1, o2, _, _ = origins
    bw.config("""
    upstream u { server 127.0.0.1:%d max_fails=1 fail_timeout=30s;
                 server 127.0.0.1:%d; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://u; } }
    """ % (o1.port, o2.port))
    bw.start()
    # the first goes to o1, which cuts its body short
    resp = raw(bw.port, b"GET /cut/1000/10 HTTP/1.1\r\nHost: a\r\n"
               b"Connection: close\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200") and len(resp.split(
        b"\r\n\r\n", 1)[1]) == 10
    assert "upstream prematurely closed connection" in bw.logs()
    # o1 stays in the rotation
    got = [origin_of(bw.port, "/size/1") for _ in range(4)]
    assert got == ["o2", "o1", "o2", "o1"], got

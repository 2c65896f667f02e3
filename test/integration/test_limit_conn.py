"""
limit_conn (modules/http_limit_conn): requests in progress per key,
counted across workers, given back when a request ends; refusals with
limit_conn_status, $limit_conn_status, dry runs, configuration errors.
Requests are held in progress by an origin that answers only when told.
"""

import os
import socket

import pytest

from conftest import get, recv_all, require_module, status_of, wait_for
from origin import Origin

HTTP = """
    limit_conn_zone $binary_remote_addr zone=perip:1m;
    limit_conn_zone $arg_k zone=bykey:1m;
    log_format l '$uri $status $limit_conn_status';
    server {
        listen 127.0.0.1:PORT%(reuseport)s;
        access_log logs/l.log l;
        location / { limit_conn perip 2; proxy_pass http://127.0.0.1:%(o)d; }
        location /k/ { limit_conn bykey 1; limit_conn_status 429;
                       limit_conn_log_level warn;
                       proxy_pass http://127.0.0.1:%(o)d/; }
        location /dry/ { limit_conn bykey 1; limit_conn_dry_run on;
                         proxy_pass http://127.0.0.1:%(o)d/; }
    }
"""


@pytest.fixture
def origin():
    require_module("http_limit_conn")
    require_module("http_proxy")
    o = Origin("o1")
    yield o
    o.stop()


def start(bw, origin, workers=1, reuseport=""):
    bw.config(HTTP % {"o": origin.port, "reuseport": reuseport},
              workers=workers)
    bw.start()


def hold(bw, origin, path):
    """A request the origin holds: returns its socket once the origin
    has it."""
    n = len(origin.requests)
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
              % path.encode())
    wait_for(lambda: len(origin.requests) > n, what="the origin's request")
    return s


def finish(sockets, origin):
    for _ in sockets:
        origin.release()
    out = []
    for s in sockets:
        out.append(status_of(recv_all(s, timeout=3)))
        s.close()
    return out


def logged(bw, n):
    def lines():
        with open(bw.path("logs", "l.log")) as f:
            got = [l.split() for l in f.read().splitlines()]
        return got if len(got) >= n else None
    return wait_for(lines, what="%d log lines" % n)


def test_requests_in_progress_are_counted_and_given_back(bw, origin):
    start(bw, origin)
    held = [hold(bw, origin, "/hold/300/10"), hold(bw, origin, "/hold/300/10")]
    try:
        assert get(bw.port, "/size/1")[0] == 503
        with open(bw.errlog) as f:
            assert 'limiting connections by zone "perip"' in f.read()
    finally:
        assert finish(held, origin) == [200, 200]
    # given back: two at once again
    held = [hold(bw, origin, "/hold/300/10"), hold(bw, origin, "/hold/300/10")]
    assert finish(held, origin) == [200, 200]
    lines = logged(bw, 5)
    assert sorted(l[2] for l in lines) == ["PASSED"] * 4 + ["REJECTED"]


def test_workers_share_the_count(bw, origin):
    start(bw, origin, workers=2, reuseport=" reuseport")
    wait_for(lambda: len(bw.workers()) == 2, what="two workers")
    held = [hold(bw, origin, "/hold/300/10"), hold(bw, origin, "/hold/300/10")]
    try:
        # whichever worker takes them, the third of the address waits
        for _ in range(6):
            assert get(bw.port, "/size/1")[0] == 503
    finally:
        finish(held, origin)
    assert get(bw.port, "/size/1")[0] == 200


def test_status_key_and_dry_run(bw, origin):
    start(bw, origin)
    held = [hold(bw, origin, "/k/hold/300/10?k=a")]
    try:
        assert get(bw.port, "/k/size/1?k=a")[0] == 429
        assert get(bw.port, "/k/size/1?k=b")[0] == 200      # another key
        assert get(bw.port, "/k/size/1")[0] == 200          # no key
    finally:
        finish(held, origin)
    with open(bw.errlog) as f:
        assert "[warn]" in f.read().split("limiting connections")[0] \
            .splitlines()[-1]
    held = [hold(bw, origin, "/dry/hold/300/10?k=d")]
    try:
        assert get(bw.port, "/dry/size/1?k=d")[0] == 200
    finally:
        finish(held, origin)
    statuses = [l[2] for l in logged(bw, 6)]
    assert "REJECTED_DRY_RUN" in statuses and "-" in statuses
    with open(bw.errlog) as f:
        assert "limiting connections, dry run, by zone" in f.read()


@pytest.mark.parametrize("directives, message", [
    ("limit_conn nowhere 1;", 'unknown limit_conn_zone "nowhere"'),
    ("limit_conn perip 0;", 'invalid number of connections "0"'),
    ("limit_conn perip 70000;", "connection limit must be less 65536"),
    ("limit_conn perip 1; limit_conn perip 2;", "is duplicate"),
    ("limit_conn_status 200;", "value must be between 400 and 599"),
])
def test_configuration_errors(bw, directives, message):
    require_module("http_limit_conn")
    bw.config("""
    limit_conn_zone $binary_remote_addr zone=perip:1m;
    server { listen 127.0.0.1:PORT; location / { %s } }
    """ % directives)
    r = bw.run("-t")
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_counts_come_back_however_requests_end(bw, origin):
    """Client aborts, upstream timeouts turned by error_page into an
    internal redirect, and plain requests, 150 of them (10,000 under
    make soak): then the address still has both of its places, and no
    third."""
    bw.config("""
    limit_conn_zone $binary_remote_addr zone=perip:1m;
    server {
        listen 127.0.0.1:PORT;
        limit_conn perip 2;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /t/ { proxy_read_timeout 100ms; error_page 504 = /size/3;
                       proxy_pass http://127.0.0.1:%d/; }
    }
    """ % (origin.port, origin.port))
    bw.start()
    for i in range(10000 if os.environ.get("BULWARK_SOAK") else 150):
        kind = i % 3
        if kind == 0:
            assert get(bw.port, "/size/10")[0] == 200
        elif kind == 1:
            assert get(bw.port, "/t/slow/1000")[0] == 200    # the fallback
        else:
            s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
            s.sendall(b"GET /slow/300 HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
    # every count was given back (the aborted ones once their upstream
    # answered, or the timeouts fired): two held, the third refused
    def two_places():
        try:
            held = [hold(bw, origin, "/hold/300/10")]
            held.append(hold(bw, origin, "/hold/300/10"))
        except AssertionError:
            return False
        try:
            return get(bw.port, "/size/1")[0] == 503
        finally:
            finish(held, origin)
    wait_for(two_places, timeout=15, interval=0.2,
             what="both places back and no third")

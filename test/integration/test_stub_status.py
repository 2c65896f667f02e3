"""
stub_status (modules/http_stub_status): nginx's text byte for byte, the
counters of all workers (accepted, handled, requests; active, reading,
writing, waiting) for a known set of connections, $connections_*, the
counters across a reload, 405 for other methods, and the same text as
Debian's nginx for the same connections and requests.
"""

import re
import signal
import socket

import pytest

from conftest import (free_port, get, needs_nginx, nginx_serving,
                      require_module, wait_for)

pytestmark = pytest.mark.usefixtures("_need_stub_status")


@pytest.fixture
def _need_stub_status():
    require_module("http_stub_status")


TEXT = re.compile(rb"\AActive connections: (\d+) \n"
                  rb"server accepts handled requests\n"
                  rb" (\d+) (\d+) (\d+) \n"
                  rb"Reading: (\d+) Writing: (\d+) Waiting: (\d+) \n\Z")

HTTP = """
    server {
        listen 127.0.0.1:%(port)d;
        location = /status { stub_status; }
        location = /old { stub_status on; }
        location = /vars {
            return 200 "$connections_active $connections_reading $connections_writing $connections_waiting";
        }
        location / { return 200 "ok"; }
    }
"""


last_body = [b""]


def status(port, path="/status"):
    s, h, body = get(port, path)
    assert s == 200, (s, body)
    assert h["content-type"] == "text/plain"
    m = TEXT.match(body)
    assert m, body
    last_body[0] = body
    return tuple(int(x) for x in m.groups())


class Held:
    """Connections held open: idle ones (not a byte sent) and ones in the
    middle of their request's head."""

    def __init__(self, port, idle, reading):
        self.socks = []
        for _ in range(idle):
            self.socks.append(socket.create_connection(("127.0.0.1", port)))
        for _ in range(reading):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            self.socks.append(s)

    def close(self):
        for s in self.socks:
            s.close()


def settled(port, active, states=None, polls=None, path="/status"):
    """The counters once every connection but the ones held and the
    status request itself are gone (the probes of the start, and the
    requests just answered, which a worker may still be finishing while
    another answers this one): active is as expected, and so are
    reading, writing, waiting if given. polls, a list, gets how many
    status requests it took (each one is a request and a connection)."""
    seen = []

    def ok():
        seen.append(status(port, path))
        return seen[-1][0] == active and \
            (states is None or seen[-1][4:] == states)
    wait_for(ok, what="%d active connections" % active)
    if polls is not None:
        polls.append(len(seen))
    return seen[-1]


def test_counts(bw):
    bw.config(HTTP % {"port": bw.port}, workers=2)
    bw.start()
    held = Held(bw.port, idle=2, reading=1)
    try:
        # the held ones and the status request itself, wherever each
        # worker took them
        ac, ap, hn, rq, rd, wr, wa = settled(bw.port, 4, (1, 1, 2))
        assert ap == hn
        # three more requests: three more of each, and one for each
        # status request it took to see them all done
        for _ in range(3):
            assert get(bw.port, "/")[2] == b"ok"
        polls = []
        ac2, ap2, hn2, rq2, rd2, wr2, wa2 = settled(bw.port, 4, (1, 1, 2),
                                                    polls)
        assert (ap2 - ap, hn2 - hn, rq2 - rq) == (3 + polls[0],) * 3
        # the variables (once the status requests before are done with,
        # which the other worker may still be finishing)
        wait_for(lambda: get(bw.port, "/vars")[2].decode().split()
                 == ["4", "1", "1", "2"], what="the variables")
    finally:
        held.close()
    assert settled(bw.port, 1, (0, 1, 0), path="/old")[4:] == (0, 1, 0)
    assert get(bw.port, "/status", method="POST")[0] == 405


def test_reload_keeps_the_counters(bw):
    bw.config(HTTP % {"port": bw.port})
    bw.start()
    for _ in range(5):
        get(bw.port, "/")
    before = settled(bw.port, 1)
    old = set(bw.workers())
    bw.signal(signal.SIGHUP)
    wait_for(lambda: not (set(bw.workers()) & old), what="new workers")
    after = settled(bw.port, 1)
    assert after[1] >= before[1] + 1 and after[3] >= before[3] + 1


@needs_nginx
def test_same_text_as_nginx(bw, tmp_path):
    """The same connections and requests through both: the same lines
    (the totals since start differ by the probes each start made: their
    increments must not)."""
    results = []

    def run(port):
        held = Held(port, idle=2, reading=1)
        try:
            first = settled(port, 4, (1, 1, 2))
            for _ in range(3):
                get(port, "/")
            polls = []
            second = settled(port, 4, (1, 1, 2), polls)
            body = last_body[0]
        finally:
            held.close()
        # the totals' increments, less the status requests it took
        return ([b - a - polls[0] for a, b in zip(first[1:4], second[1:4])],
                body.split(b"\n")[0], body.split(b"\n")[3])

    bw.config(HTTP % {"port": bw.port})
    bw.start()
    results.append(run(bw.port))

    port = free_port()
    with nginx_serving(tmp_path, HTTP % {"port": port}, port):
        results.append(run(port))

    ours, theirs = results
    assert ours[0] == theirs[0] == [3, 3, 3]
    # the lines whose numbers do not depend on the start, byte for byte
    assert ours[1:] == theirs[1:]

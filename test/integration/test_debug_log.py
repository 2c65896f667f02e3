"""
The debug log (a --with-debug build, error_log ... debug): one proxied
request is traced through the event loop, the connection, the head, the
phases, the upstream attempt, the filters and the close, so that a
newcomer can follow a request by reading it.
"""

import subprocess

import pytest

from conftest import BIN, get, require_module, wait_for
from origin import Origin


def debug_build():
    r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
    return "--with-debug" in r.stderr


@pytest.mark.skipif(not debug_build(), reason="needs --with-debug")
def test_a_proxied_request_is_traced(bw):
    require_module("http_proxy")
    origin = Origin("o1")
    try:
        # the event loop logs to the main error_log, requests to their
        # server's: both debug here
        bw.config("""
        server {
            listen 127.0.0.1:PORT;
            error_log logs/debug.log debug;
            location / { proxy_pass http://127.0.0.1:%d; }
        }
        """ % origin.port)
        with open(bw.conf) as f:
            text = f.read()
        bw.write("conf/bulwark.conf", text.replace(
            "error_log logs/error.log info;", "error_log logs/error.log debug;"))
        bw.start()
        assert get(bw.port, "/size/10")[0] == 200

        def loop_traced():
            with open(bw.errlog) as f:
                text = f.read()
            return "epoll: " in text
        wait_for(loop_traced, what="the event loop in the main error log")

        want = ["http request line: \"GET /size/10",
                "http header: \"Host: localhost\"", "http header done",
                "using configuration \"/\"", "content handler",
                "http upstream connect: ", "http upstream process header: ",
                "http header:\nHTTP/1.1 200", "http write filter: ",
                "http finalize request: ", "finalize http upstream request",
                "close http connection"]

        def traced():
            with open(bw.path("logs", "debug.log")) as f:
                text = f.read()
            return [w for w in want if w not in text] == [] and text
        text = wait_for(traced, what="every step in the debug log")
        # in the order a request takes them
        positions = [text.index(w) for w in want]
        assert positions[:5] == sorted(positions[:5])
    finally:
        origin.stop()

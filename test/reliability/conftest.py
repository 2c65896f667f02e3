"""The reliability suite runs on the integration tests' fixtures: real
bulwark processes in a temporary prefix, on loopback, stopped by pid.
BULWARK_SOAK=1 (make soak) runs the long form."""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "bulwark_integration_conftest",
    os.path.join(os.path.dirname(__file__), "..", "integration",
                 "conftest.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)

bw = _base.bw
Bulwark = _base.Bulwark
NGINX = _base.NGINX
nginx_serving = _base.nginx_serving
children = _base.children
free_port = _base.free_port
get = _base.get
pid_alive = _base.pid_alive
raw = _base.raw
recv_all = _base.recv_all
require_module = _base.require_module
rss_kb = _base.rss_kb
settled_rss = _base.settled_rss
status_of = _base.status_of
wait_for = _base.wait_for

SOAK = os.environ.get("BULWARK_SOAK") == "1"


def scale(short, long):
    """The size of a run: short under make test, long under make soak."""
    return long if SOAK else short

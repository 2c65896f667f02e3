"""
auth_request / auth_request_set: a subrequest to an internal location
proxied to an authentication service decides, as nginx: 2xx lets the
request through, 401 (with the service's challenges) and 403 go to the
client, anything else or a dead service is 500; satisfy any with
allow/deny and auth_basic; variables copied out of the subrequest; the
client's body stays the main request's.
"""

import http.client
import json
import socket

import pytest

from conftest import get, raw, require_module, wait_for, free_port, \
    needs_nginx, nginx_serving
from origin import Origin


@pytest.fixture(autouse=True)
def _modules():
    require_module("http_auth_request")
    require_module("http_proxy")


@pytest.fixture
def svc():
    """The authentication service and the application, two origins."""
    auth, app = Origin("auth"), Origin("app")
    yield auth, app
    auth.stop()
    app.stop()


CONF = """
    log_format a '$request_method $uri $status user=$user st=$auth_st';
    server { listen 127.0.0.1:PORT;
        access_log logs/a.log a;
        location / {
            auth_request /_auth;
            auth_request_set $user $upstream_http_x_user;
            auth_request_set $auth_st $upstream_status;
            proxy_set_header X-User $user;
            proxy_pass http://127.0.0.1:%(app)d;
        }
        location /open/ { auth_request off;
                          proxy_pass http://127.0.0.1:%(app)d; }
        location /any/ {
            satisfy any; allow 127.0.0.2; deny all;
            auth_request /_auth;
            proxy_pass http://127.0.0.1:%(app)d;
        }
        location /anybasic/ {
            satisfy any;
            auth_basic "basic"; auth_basic_user_file users;
            auth_request /_auth;
            proxy_pass http://127.0.0.1:%(app)d;
        }
        location /dead/ { auth_request /_dead;
                          proxy_pass http://127.0.0.1:%(app)d; }
        location /static/ { auth_request /_auth; root html; }
        location /nested/ { auth_request /_nested; root html; }
        location = /_auth {
            internal;
            proxy_pass http://127.0.0.1:%(auth)d/auth/check;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Req-Id $request_id;
        }
        location = /_dead { internal;
                            proxy_pass http://127.0.0.1:%(dead)d; }
        location = /_nested { internal; return 204; }
    }
    """


def start(bw, svc, extra=None):
    auth, app = svc
    bw.write("conf/users", "u:{PLAIN}pw\n")
    bw.write("html/static/f.txt", "static file")
    bw.write("html/nested/f.txt", "nested ok")
    bw.config(CONF % {"app": app.port, "auth": auth.port,
                      "dead": free_port()})
    bw.start()


def answer(port, path, headers):
    """One GET: status, WWW-Authenticate values in order, X-U, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    return (resp.status, resp.headers.get_all("WWW-Authenticate"),
            resp.headers.get("X-U"), body)


def log_lines(bw, n):
    path = bw.path("logs", "a.log")

    def lines():
        try:
            got = open(path).read().splitlines()
        except OSError:
            return None
        return got if len(got) >= n else None
    return wait_for(lines, what="access log")


def test_allow_deny_and_challenge(bw, svc):
    auth, app = svc
    start(bw, svc)

    st, h, body = get(bw.port, "/echo/a?x=1", headers={
        "X-Auth": "200", "X-Auth-User": "alice"})
    assert st == 200, body
    e = json.loads(body)
    assert e["name"] == "app"
    hdr = {k.lower(): v for k, v in e["headers"]}
    assert hdr["x-user"] == "alice"

    # what the service saw: a GET of its own URI, the client's headers,
    # the original URI and method in the configured headers, no body
    a = auth.requests[-1]
    ah = {k.lower(): v for k, v in a["headers"]}
    assert a["method"] == "GET" and a["path"] == "/auth/check"
    assert ah["x-original-uri"] == "/echo/a?x=1"
    assert ah["x-original-method"] == "GET"
    assert ah["x-auth-user"] == "alice"
    assert len(ah["x-req-id"]) == 32

    st, h, body = get(bw.port, "/echo/b", headers={"X-Auth": "403"})
    assert st == 403
    assert b"403 Forbidden" in body

    # 401 with both of the service's challenges, in order
    st, challenges, _, _ = answer(bw.port, "/echo/c", {"X-Auth": "401"})
    assert st == 401
    assert challenges == ['Bearer realm="api"', 'Basic realm="api"']

    # anything else from the service is the server's error
    for code in ("404", "302", "500"):
        st, _, _ = get(bw.port, "/echo/d", headers={"X-Auth": code})
        assert st == 500, code
    assert "auth request unexpected status: 404" in bw.logs()

    # the app saw only the allowed request
    assert [r["path"] for r in app.requests] == ["/echo/a?x=1"]

    lines = log_lines(bw, 6)
    assert lines[0] == "GET /echo/a 200 user=alice st=200"
    # the service sent no X-User: auth_request_set stored an empty value,
    # which the log writes as nothing (as nginx; "-" is for not found)
    assert lines[1] == "GET /echo/b 403 user= st=403"


def test_off_static_and_nested_locations(bw, svc):
    auth, app = svc
    start(bw, svc)
    st, _, body = get(bw.port, "/open/echo", headers={"X-Auth": "403"})
    assert st == 200 and json.loads(body)["name"] == "app"
    assert auth.requests == []

    # the decision does not depend on what serves the content
    st, _, body = get(bw.port, "/static/f.txt", headers={"X-Auth": "204"})
    assert (st, body) == (200, b"static file")
    st, _, _ = get(bw.port, "/static/f.txt", headers={"X-Auth": "403"})
    assert st == 403

    # an auth location answered by the server itself ("return 204")
    st, _, body = get(bw.port, "/nested/f.txt")
    assert (st, body) == (200, b"nested ok")


def test_auth_service_down(bw, svc):
    start(bw, svc)
    st, _, _ = get(bw.port, "/dead/echo", headers={"X-Auth": "200"})
    assert st == 500
    logs = bw.logs()
    assert "auth request unexpected status: 502" in logs

    # the service's status and headers came whole, its body did not:
    # the decision stands, the client gets an answer
    for code, want in (("200", 200), ("403", 403)):
        st, _, _ = get(bw.port, "/echo/cut", headers={
            "X-Auth": code, "X-Auth-Body": "100000", "X-Auth-Cut": "1"})
        assert st == want
    assert "upstream prematurely closed connection" in bw.logs()
    # the worker keeps serving
    st, _, _ = get(bw.port, "/echo/x", headers={"X-Auth": "200"})
    assert st == 200


def test_satisfy_any(bw, svc):
    auth, app = svc
    start(bw, svc)
    # deny all refuses 127.0.0.1: the service decides
    st, _, _ = get(bw.port, "/any/echo", headers={"X-Auth": "200"})
    assert st == 200
    st, _, _ = get(bw.port, "/any/echo", headers={"X-Auth": "403"})
    assert st == 403

    # basic auth or the service: either is enough
    n = len(auth.requests)
    st, _, _ = get(bw.port, "/anybasic/echo", headers={
        "X-Auth": "403", "Authorization": "Basic dTpwdw=="})
    assert st == 200
    assert len(auth.requests) == n    # basic allowed: never asked
    st, _, _ = get(bw.port, "/anybasic/echo", headers={"X-Auth": "204"})
    assert st == 200
    st, challenges, _, _ = answer(bw.port, "/anybasic/echo",
                                  {"X-Auth": "401"})
    assert st == 401
    assert challenges == ['Basic realm="basic"', 'Bearer realm="api"',
                          'Basic realm="api"']


def test_request_body_stays_with_the_request(bw, svc):
    auth, app = svc
    start(bw, svc)
    body = b"x" * 300000
    conn = http.client.HTTPConnection("127.0.0.1", bw.port, timeout=10)
    for code in ("200", "403", "200"):
        conn.request("POST", "/echo/post", body=body,
                     headers={"X-Auth": code, "X-Auth-Body": "70000"})
        resp = conn.getresponse()
        data = resp.read()
        if code == "200":
            assert resp.status == 200, data
            assert json.loads(data)["body_len"] == len(body)
        else:
            assert resp.status == 403
    conn.close()
    # the service got the method in a header, a GET and no body
    for a in auth.requests:
        ah = {k.lower(): v for k, v in a["headers"]}
        assert a["method"] == "GET" and a["body_len"] == 0
        assert ah["content-length"] == "0"
        assert ah["x-original-method"] == "POST"


def test_pipelined_and_keepalive(bw, svc):
    start(bw, svc)
    req = (b"GET /echo/p1 HTTP/1.1\r\nHost: x\r\nX-Auth: 200\r\n\r\n"
           b"GET /echo/p2 HTTP/1.1\r\nHost: x\r\nX-Auth: 403\r\n\r\n"
           b"GET /echo/p3 HTTP/1.1\r\nHost: x\r\nX-Auth: 200\r\n"
           b"Connection: close\r\n\r\n")
    out = raw(bw.port, req)
    assert out.count(b"HTTP/1.1 200") == 2
    assert out.count(b"HTTP/1.1 403") == 1
    assert out.index(b"p1") < out.index(b"403 Forbidden") < out.index(b"p3")


def test_client_gone_while_asking(bw, svc):
    auth, app = svc
    start(bw, svc)
    s = socket.create_connection(("127.0.0.1", bw.port))
    s.sendall(b"GET /echo/slow HTTP/1.1\r\nHost: x\r\nX-Auth: 200\r\n"
              b"X-Auth-Delay: 300\r\n\r\n")
    wait_for(lambda: any(r["path"] == "/auth/check" for r in auth.requests),
             what="the auth request")
    s.close()
    wait_for(lambda: "client prematurely closed connection" in bw.logs(),
             what="the abort in the log")
    # never reached the app, and the worker is fine
    assert not any(r["path"] == "/echo/slow" for r in app.requests)
    st, _, _ = get(bw.port, "/echo/after", headers={"X-Auth": "200"})
    assert st == 200


def test_config_errors(bw):
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { auth_request /a; auth_request /b; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"auth_request" directive is duplicate in' in r.stderr
    assert "bulwark.conf:11" in r.stderr
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { auth_request_set user $x; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'invalid variable name "user"' in r.stderr


PARITY = """
    server { listen 127.0.0.1:%(port)d; root %(root)s;
        location / { auth_request /_auth;
                     auth_request_set $user $upstream_http_x_user;
                     auth_request_set $st $upstream_status;
                     add_header X-U "$user|$st" always; }
        location /ep/ { auth_request /_auth; error_page 401 = /signin; }
        location = /signin { return 200 "sign in from $request_uri"; }
        location /anyb/ { satisfy any; auth_request /_auth;
                          auth_basic "b"; auth_basic_user_file %(users)s; }
        location /dead/ { auth_request /_dead; }
        location /self/ { auth_request /_self; }
        location = /_auth { internal;
                            proxy_pass http://127.0.0.1:%(auth)d/auth;
                            proxy_pass_request_body off;
                            proxy_set_header Content-Length "";
                            proxy_set_header X-Original-URI $request_uri; }
        location = /_dead { internal; proxy_pass http://127.0.0.1:%(dead)d; }
        location = /_self { internal; if ($arg_no) { return 403; }
                            return 204; }
    }
"""

PARITY_CASES = [
    ("/", {"X-Auth": "200", "X-Auth-User": "bob"}),
    ("/", {"X-Auth": "204"}),
    ("/", {"X-Auth": "401"}),
    ("/", {"X-Auth": "403", "X-Auth-User": "eve"}),
    ("/", {"X-Auth": "404"}),
    ("/", {"X-Auth": "301"}),
    ("/", {"X-Auth": "503"}),
    ("/", {"X-Auth": "200", "X-Auth-Body": "100000"}),
    ("/ep/?a=1", {"X-Auth": "401"}),
    ("/ep/", {"X-Auth": "200"}),
    ("/anyb/", {"X-Auth": "401"}),
    ("/anyb/", {"X-Auth": "403"}),
    ("/anyb/", {"X-Auth": "403", "Authorization": "Basic dTpwdw=="}),
    ("/anyb/", {"X-Auth": "200"}),
    ("/dead/", {}),
    ("/self/", {}),
    ("/self/?no=1", {}),
]


def ask(port, path, headers):
    # nginx before 1.23 passes only the first of the service's
    # challenges (bulwark passes all, as later nginx)
    st, challenges, xu, body = answer(
        port, path, dict(headers, **{"X-Auth-Challenges": "1"}))
    if st >= 400:
        body = b""      # the servers' error pages differ by name
    return st, challenges, xu, body


@needs_nginx
def test_same_answers_as_nginx(bw, svc, tmp_path):
    require_module("http_auth_basic")
    require_module("http_headers")
    require_module("http_rewrite")
    auth, app = svc
    users = bw.write("conf/users", "u:{PLAIN}pw\n")
    for d in ("", "ep/", "anyb/", "dead/", "self/"):
        bw.write("html/%sindex.html" % d, "page " + d)
    args = {"root": bw.path("html"), "users": users, "auth": auth.port,
            "dead": free_port()}
    bw.config(PARITY.replace("%(port)d", "PORT") % args)
    bw.start()
    port = free_port()
    with nginx_serving(tmp_path, PARITY % dict(args, port=port), port):
        seen = set()
        for path, headers in PARITY_CASES:
            ours = ask(bw.port, path, headers)
            theirs = ask(port, path, headers)
            assert ours == theirs, (path, headers, ours, theirs)
            seen.add(str(ours))
        assert len(seen) > 10, seen


def test_auth_service_connections_kept_alive(bw, svc):
    auth, app = svc
    bw.config("""
    upstream authsvc { server 127.0.0.1:%d; keepalive 4; }
    server { listen 127.0.0.1:PORT;
        location / { auth_request /_auth;
                     proxy_pass http://127.0.0.1:%d; }
        location = /_auth { internal; proxy_pass http://authsvc/auth;
                            proxy_http_version 1.1;
                            proxy_set_header Connection ""; } }
    """ % (auth.port, app.port))
    bw.start()
    for i in range(10):
        # a body the subrequest must read through (and drop) for the
        # connection to go back to the pool
        st, _, body = get(bw.port, "/echo", headers={
            "X-Auth": "200" if i % 2 else "403", "X-Auth-Body": "20000"})
        assert st == (200 if i % 2 else 403)
    assert len(auth.requests) == 10
    assert auth.connections == 1


def test_many_clients_at_once(bw, svc):
    """Subrequests of many connections interleave in one worker: each
    request gets its own decision."""
    import threading
    start(bw, svc)
    codes = ["200", "403", "401", "500", "204"]
    want = {"200": 200, "204": 200, "401": 401, "403": 403, "500": 500}
    errors = []

    def client(k):
        try:
            for i in range(10):
                code = codes[(k + i) % len(codes)]
                st, _, body = get(bw.port, "/echo/%d-%d" % (k, i), headers={
                    "X-Auth": code, "X-Auth-Delay": str((k * 7 + i) % 30),
                    "X-Auth-Body": str(1000 * (i % 3))})
                if st != want[code]:
                    errors.append((k, i, code, st))
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    allowed = [r for r in svc[1].requests if r["path"].startswith("/echo/")]
    assert len(allowed) == 40     # 200 and 204: 4 of every 10 requests

"""
TLS to upstreams (proxy_pass https://, proxy_ssl_*): the handshake,
the server name sent (SNI) and checked against the certificate,
verification against trusted CAs, a client certificate presented,
sessions resumed on the next connection, TLS connections kept in the
keepalive pool, a failed handshake tried on the next peer, and
configuration errors.

The upstream is a TLS server of the test's own (Python's ssl module on
OpenSSL) that tells, per request, what it saw of the handshake; its
certificates are made with the openssl command.
"""

import contextlib
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading

import pytest

from conftest import free_port, get, needs_nginx, nginx_serving, \
    require_module, wait_for


@pytest.fixture(autouse=True)
def _proxy_built():
    require_module("http_proxy")


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def make_cert(d, name, cn, sans, ca="ca", client=False):
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
            "-out", name + ".key", cwd=d)
    openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn,
            "-out", name + ".csr", cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        if client:
            f.write("extendedKeyUsage=clientAuth\n")
        else:
            f.write("subjectAltName=" + ",".join(sans) + "\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-days", "30", "-out", name + ".crt",
            "-extfile", name + ".ext", "-CAcreateserial", cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("upstream-certs"))
    for ca in ("ca", "otherca"):
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", ca + ".key", cwd=d)
        openssl("req", "-x509", "-new", "-key", ca + ".key", "-days", "30",
                "-subj", "/CN=Test " + ca, "-out", ca + ".crt", cwd=d)
    make_cert(d, "origin", "origin.test",
              ["DNS:origin.test", "DNS:secure", "IP:127.0.0.1"])
    make_cert(d, "client", "client one", None, client=True)
    # the client key again, under a password
    openssl("ec", "-in", "client.key", "-aes256", "-passout", "pass:s3cret",
            "-out", "client-pw.key", cwd=d)
    with open(os.path.join(d, "passwords"), "w") as f:
        f.write("wrong\ns3cret\n")
    return d


class TLSOrigin:
    """An HTTPS origin on loopback. Each answer is JSON: the SNI the
    client sent, whether the session was resumed, the client
    certificate's CN, the TLS connection's number and the path."""

    def __init__(self, certs, verify_client=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, "origin.crt"),
                            os.path.join(certs, "origin.key"))
        if verify_client:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
        self.snis = {}
        self.connections = 0
        self.lock = threading.Lock()
        origin = self

        def sni_callback(sslobj, name, context):
            origin.snis[id(sslobj)] = name

        ctx.sni_callback = sni_callback

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    s = ctx.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                with origin.lock:
                    origin.connections += 1
                    number = origin.connections
                sni = origin.snis.pop(id(s), origin.snis.pop(id(s._sslobj), None))
                cert = s.getpeercert()
                cn = dict(x[0] for x in cert["subject"])["commonName"] \
                    if cert else None
                f = s.makefile("rb")
                try:
                    while True:
                        line = f.readline()
                        if not line:
                            return
                        keep = True
                        while True:
                            h = f.readline()
                            if h in (b"\r\n", b"\n", b""):
                                break
                            if h.lower().startswith(b"connection:") \
                                    and b"close" in h.lower():
                                keep = False
                        body = json.dumps({
                            "sni": sni, "resumed": s.session_reused,
                            "cn": cn, "connection": number,
                            "path": line.split()[1].decode()}).encode()
                        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                                  b"Content-Type: application/json\r\n\r\n"
                                  % len(body) + body)
                        if not keep:
                            return
                except (ssl.SSLError, OSError):
                    return
                finally:
                    try:
                        s.close()
                    except OSError:
                        pass

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def origin(certs):
    o = TLSOrigin(certs, verify_client=True)
    yield o
    o.stop()


def install(bw, certs):
    for n in ("ca.crt", "otherca.crt", "client.crt", "client.key",
              "client-pw.key", "passwords"):
        shutil.copy(os.path.join(certs, n), bw.path("conf", n))


def answer(bw, path):
    status, _, body = get(bw.port, path)
    return status, (json.loads(body) if status == 200 else None)


def serve(bw, certs, origin, extra="", http_extra=""):
    install(bw, certs)
    bw.config(config(origin, "PORT", extra, http_extra))
    bw.start()


def config(origin, port, extra="", http_extra=""):
    return """
    %(http_extra)s
    upstream secure { server 127.0.0.1:%(o)d; }
    upstream pooled { server 127.0.0.1:%(o)d; keepalive 4; }
    server {
        listen 127.0.0.1:%(port)s;
        location /ip/ { proxy_pass https://127.0.0.1:%(o)d; }
        location /block/ { proxy_pass https://secure;
                           proxy_ssl_server_name on; }
        location /named/ { proxy_pass https://secure;
                           proxy_ssl_server_name on;
                           proxy_ssl_name origin.test; }
        location /verified/ { proxy_pass https://secure;
                              proxy_ssl_verify on;
                              proxy_ssl_trusted_certificate ca.crt;
                              proxy_ssl_name origin.test; }
        location /wrongname/ { proxy_pass https://secure;
                               proxy_ssl_verify on;
                               proxy_ssl_trusted_certificate ca.crt;
                               proxy_ssl_name other.test; }
        location /wrongca/ { proxy_pass https://secure;
                             proxy_ssl_verify on;
                             proxy_ssl_trusted_certificate otherca.crt; }
        location /ipverified/ { proxy_pass https://127.0.0.1:%(o)d;
                                proxy_ssl_verify on;
                                proxy_ssl_trusted_certificate ca.crt; }
        location /cert/ { proxy_pass https://secure;
                          proxy_ssl_certificate client.crt;
                          proxy_ssl_certificate_key client.key; }
        location /certpw/ { proxy_pass https://secure;
                            proxy_ssl_certificate client.crt;
                            proxy_ssl_certificate_key client-pw.key;
                            proxy_ssl_password_file passwords; }
        location /noreuse/ { proxy_pass https://secure;
                             proxy_ssl_session_reuse off; }
        location /pooled/ { proxy_pass https://pooled;
                            proxy_http_version 1.1;
                            proxy_set_header Connection ""; }
        location /pooledstrict/ { proxy_pass https://pooled;
                                  proxy_http_version 1.1;
                                  proxy_set_header Connection "";
                                  proxy_ssl_verify on;
                                  proxy_ssl_trusted_certificate ca.crt;
                                  proxy_ssl_name wrong.test; }
        location /percert/ { proxy_pass https://pooled;
                             proxy_http_version 1.1;
                             proxy_set_header Connection "";
                             proxy_ssl_certificate $arg_crt;
                             proxy_ssl_certificate_key $arg_key; }
        location /inherit/ {
            proxy_ssl_certificate client.crt;
            proxy_ssl_certificate_key client-pw.key;
            proxy_ssl_password_file passwords;
            location /inherit/keyonly/ { proxy_pass https://secure;
                                         proxy_ssl_certificate_key
                                             client.key; }
        }
        location /var/ { set $o 127.0.0.1:%(o)d;
                         proxy_pass https://$o; }
        location /tls12/ { proxy_pass https://secure;
                           proxy_ssl_protocols TLSv1.2; }
        location /noticket/ { proxy_pass https://secure;
                              proxy_ssl_protocols TLSv1.2;
                              proxy_ssl_conf_command Options -SessionTicket; }
        %(extra)s
    }
""" % {"o": origin.port, "extra": extra, "http_extra": http_extra,
       "port": port}


def test_https_upstream_and_the_name_sent(bw, certs, origin):
    serve(bw, certs, origin)
    st, a = answer(bw, "/ip/x")
    # an address is never sent as a server name
    assert (st, a["path"], a["sni"]) == (200, "/ip/x", None)
    # proxy_ssl_server_name on: the upstream's name, or proxy_ssl_name
    assert answer(bw, "/block/")[1]["sni"] == "secure"
    assert answer(bw, "/named/")[1]["sni"] == "origin.test"
    # with variables
    st, a = answer(bw, "/var/y")
    assert (st, a["path"]) == (200, "/var/y")


def test_certificate_verification(bw, certs, origin):
    serve(bw, certs, origin)
    assert answer(bw, "/verified/")[0] == 200
    # an address is checked against the certificate's IP addresses
    assert answer(bw, "/ipverified/")[0] == 200

    assert answer(bw, "/wrongname/")[0] == 502
    wait_for(lambda: 'upstream SSL certificate does not match "other.test"'
             in bw.logs(), what="the name mismatch in the log")
    assert answer(bw, "/wrongca/")[0] == 502
    # (19: the origin sends its CA along, which this trust store lacks)
    wait_for(lambda: "upstream SSL certificate verify error: (19:"
             in bw.logs(), what="the verify error in the log")


def test_client_certificate(bw, certs, origin):
    serve(bw, certs, origin)
    assert answer(bw, "/cert/")[1]["cn"] == "client one"
    # the key under a password: each line of the file is tried
    assert answer(bw, "/certpw/")[1]["cn"] == "client one"
    assert answer(bw, "/block/")[1]["cn"] is None


def test_sessions_are_resumed(bw, certs, origin):
    serve(bw, certs, origin)
    # a new connection each time (no keepalive): the first is a full
    # handshake, the next ones resume (TLS 1.3 and TLS 1.2 tickets)
    got = [answer(bw, "/block/") for _ in range(3)]
    assert [a["resumed"] for _, a in got] == [False, True, True]
    assert len({a["connection"] for _, a in got}) == 3
    got = [answer(bw, "/tls12/") for _ in range(3)]
    assert [a["resumed"] for _, a in got] == [False, True, True]
    # proxy_ssl_conf_command reaches OpenSSL: without tickets, TLS 1.2
    # could resume only by session id, which this origin does not keep
    got = [answer(bw, "/noticket/") for _ in range(2)]
    assert [a["resumed"] for _, a in got] == [False, False]
    # proxy_ssl_session_reuse off: never
    got = [answer(bw, "/noreuse/") for _ in range(3)]
    assert [a["resumed"] for _, a in got] == [False, False, False]


def test_tls_connections_are_kept_alive(bw, certs, origin):
    serve(bw, certs, origin)
    got = [answer(bw, "/pooled/%d" % i) for i in range(4)]
    assert [st for st, _ in got] == [200] * 4
    assert len({a["connection"] for _, a in got}) == 1
    # a location of the same upstream with other TLS settings never
    # takes a connection made under the first one's: it checks the
    # certificate for its own name (and fails)
    assert answer(bw, "/pooledstrict/")[0] == 502
    assert answer(bw, "/pooled/again")[0] == 200


def test_client_certificate_named_by_variables(bw, certs, origin):
    """proxy_ssl_certificate with variables: the certificate of each
    request's names; an empty name sends none; never a connection or a
    session of another request's identity."""
    serve(bw, certs, origin)
    got = [answer(bw, "/percert/" + q) for q in (
        "?crt=client.crt&key=client.key", "", "?crt=client.crt&key=client.key",
        "?crt=")]
    assert [a["cn"] for _, a in got] == ["client one", None,
                                          "client one", None]
    assert len({a["connection"] for _, a in got}) == 4
    assert not any(a["resumed"] for _, a in got)
    # a name without files: 500, as nginx
    assert answer(bw, "/percert/?crt=nobody.crt&key=nobody.key")[0] == 500


def test_certificate_and_key_are_inherited_each_on_its_own(bw, certs,
                                                           origin):
    serve(bw, certs, origin)
    assert answer(bw, "/inherit/keyonly/")[1]["cn"] == "client one"


@contextlib.contextmanager
def plain_server(talk_first):
    """A plain HTTP server where TLS is expected (its port): it answers
    each connection in plain text, before reading the request when
    talk_first, else after it."""
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(32)
    plain.settimeout(0.2)
    stop = threading.Event()

    def serve_plain():
        while not stop.is_set():
            try:
                c, _ = plain.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                if not talk_first:
                    c.recv(4096)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
                          b"PLAINTEXT")
                if talk_first:
                    c.recv(4096)
            except OSError:
                pass
            c.close()

    t = threading.Thread(target=serve_plain, daemon=True)
    t.start()
    try:
        yield plain.getsockname()[1]
    finally:
        stop.set()
        t.join(5)
        plain.close()


def test_a_plain_answer_never_passes_for_a_tls_one(bw, certs, origin):
    """An upstream that talks first, in plain HTTP: whether its bytes
    come with the connect or after, the answer is 502, never its body."""
    with plain_server(talk_first=True) as port:
        serve(bw, certs, origin,
              extra="location /talker/ { proxy_pass https://127.0.0.1:%d; }"
                    % port)
        statuses = [get(bw.port, "/talker/%d" % i)[0] for i in range(20)]
        assert statuses == [502] * 20


def test_a_failed_handshake_goes_to_the_next_peer(bw, certs, origin):
    # a plain HTTP server where TLS is expected: its answer is no
    # ServerHello, the handshake fails, the next peer serves
    with plain_server(talk_first=False) as port:
        serve(bw, certs, origin,
              http_extra="upstream mixed { server 127.0.0.1:%d; "
                         "server 127.0.0.1:%d; }" % (port, origin.port),
              extra="location /mixed/ { proxy_pass https://mixed; }")
        # round robin: each request starts on the other peer; every one
        # ends on the TLS origin
        got = [answer(bw, "/mixed/%d" % i) for i in range(4)]
        assert [(st, a["path"]) for st, a in got] == [
            (200, "/mixed/%d" % i) for i in range(4)]
        wait_for(lambda: "SSL_do_handshake() failed" in bw.logs(),
                 what="the failed handshake in the log")


@needs_nginx
def test_same_answers_as_nginx(bw, certs, tmp_path):
    """Statuses, the server name sent and the client certificate shown,
    location by location, as Debian's nginx does them. (Not which
    handshakes resume: nginx resumes a session made for one server name
    on a connection for another, which we do not; see
    docs/compatibility.md. Nor an address checked against a certificate:
    nginx looks for it among the DNS names, RFC 2818 says the IP
    addresses, which is where we look.)"""
    paths = ["/ip/", "/block/", "/named/", "/verified/", "/wrongname/",
             "/wrongca/", "/cert/", "/certpw/", "/var/",
             "/tls12/", "/noreuse/"]

    def observe(port):
        out = []
        for p in paths:
            for _ in range(2):
                status, _, body = get(port, p)
                a = json.loads(body) if status == 200 else {}
                out.append((p, status, a.get("sni"), a.get("cn")))
        return out

    o = TLSOrigin(certs, verify_client=True)
    try:
        install(bw, certs)
        bw.write("conf/bulwark.conf", "")
        # every handshake a full one: on resumption the origin reports
        # the name of the session's first handshake, not the one sent
        absolute = "proxy_ssl_session_reuse off;\n" + config(o, "PORT")
        for n in ("otherca.crt", "ca.crt", "client.crt", "client.key",
                  "client-pw.key", "passwords"):
            absolute = absolute.replace(" %s;" % n,
                                        " %s;" % bw.path("conf", n))
        bw.config(absolute)
        bw.start()
        ours = observe(bw.port)
        nport = free_port()
        with nginx_serving(tmp_path, absolute.replace("PORT", str(nport)),
                           nport):
            theirs = observe(nport)
    finally:
        o.stop()
    assert ours == theirs


def test_configuration_errors(bw, certs):
    install(bw, certs)
    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass https://127.0.0.1:1;
                     proxy_ssl_verify on; }
    }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert "no proxy_ssl_trusted_certificate for proxy_ssl_verify" in \
        r.stderr

    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass https://127.0.0.1:1;
                     proxy_ssl_certificate client.crt; }
    }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'no "proxy_ssl_certificate_key" is defined for certificate ' \
        '"client.crt"' in r.stderr

    bw.config("""
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass https://127.0.0.1:1;
                     proxy_ssl_certificate client.crt;
                     proxy_ssl_certificate_key client-pw.key; }
    }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'cannot load certificate key' in r.stderr

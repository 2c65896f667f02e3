"""
HTTPS termination (http_ssl): listen ... ssl serves static files and
proxied responses over TLS with keepalive and pipelining; SNI picks the
server (exact, wildcard, regex, default, none), the client's offer picks
ECDSA or RSA; plain HTTP on the TLS port is a 400 (497 for error_page);
client certificates (495/496) and the 421 of a Host past them; peers that
stall, send garbage or vanish in the handshake cost one connection and an
info line; configuration errors name file and line; a reload re-reads
certificates and a bad one keeps the running configuration.

Certificates are made here with the openssl command; clients are Python's
ssl module, openssl s_client and curl.
"""

import hashlib
import json
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import free_port, needs_nginx, nginx_serving, recv_all, \
    require_module, wait_for
from origin import Origin, pattern, ws_frame, ws_read


@pytest.fixture(autouse=True)
def _ssl_built():
    require_module("http_ssl")


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def make_cert(d, name, cn, sans, key="ec", ca="ca", days=30, serial=None):
    """A key and a certificate for cn, signed by ca (in directory d)."""
    if key == "ec":
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", name + ".key", cwd=d)
    else:
        openssl("genrsa", "-out", name + ".key", "2048", cwd=d)
    openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn,
            "-out", name + ".csr", cwd=d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        if sans:
            f.write("subjectAltName=" + ",".join("DNS:" + s for s in sans)
                    + "\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-days", str(days), "-out",
            name + ".crt", "-extfile", ext,
            *(["-set_serial", str(serial)] if serial else
              ["-CAcreateserial"]), cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("certs"))
    for ca in ("ca", "otherca"):
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", ca + ".key", cwd=d)
        openssl("req", "-x509", "-new", "-key", ca + ".key", "-days", "30",
                "-subj", "/CN=Test " + ca, "-out", ca + ".crt", cwd=d)
    make_cert(d, "a", "a.test", ["a.test"])
    make_cert(d, "a-rsa", "a.test rsa", ["a.test"], key="rsa")
    make_cert(d, "b", "b.test", ["b.test"])
    make_cert(d, "wild", "*.wild.test", ["*.wild.test"])
    make_cert(d, "re", "regex", ["re1.test", "re2.test"])
    make_cert(d, "default", "default", ["default.test"])
    make_cert(d, "client", "client one", None, serial=4660)
    make_cert(d, "stranger", "stranger", None, ca="otherca")
    make_cert(d, "revoked", "revoked", None, serial=4661)
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\n"
                "crlnumber = crlnumber\ndefault_md = sha256\n"
                "default_crl_days = 30\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("01\n")
    openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert",
            "ca.crt", "-revoke", "revoked.crt", cwd=d)
    openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert",
            "ca.crt", "-gencrl", "-out", "ca.crl", cwd=d)
    return d


def install(bw, certs, *names):
    for n in names:
        for ext in ("crt", "key"):
            shutil.copy(os.path.join(certs, "%s.%s" % (n, ext)),
                        bw.path("conf", "%s.%s" % (n, ext)))


def client_ctx(certs, cert=None, ciphers=None, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    if cert:
        ctx.load_cert_chain(os.path.join(certs, cert + ".crt"),
                            os.path.join(certs, cert + ".key"))
    return ctx


def tls_socket(port, certs, sni="a.test", **kw):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return client_ctx(certs, **kw).wrap_socket(s, server_hostname=sni)


def peer_cn(s):
    subject = dict(x[0] for x in s.getpeercert()["subject"])
    return subject["commonName"]


def request(port, certs, path="/", host="a.test", sni="a.test",
            headers=None, method="GET", body=None, **kw):
    """One request on a new TLS connection: (status, headers, body, cn)."""
    ctx = client_ctx(certs, **kw)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                       context=ctx)
    # the name for SNI is the connection's host: give it explicitly
    conn.host = sni
    conn._create_connection = lambda addr, timeout, src: \
        socket.create_connection(("127.0.0.1", port), timeout)
    try:
        conn.connect()
        cn = peer_cn(conn.sock)
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
            data, cn
    finally:
        conn.close()


def read_response(f):
    """One HTTP/1.1 response with Content-Length from a file object."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = f.read(1)
        assert c, head
        head += c
    n = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    return head, f.read(n)


SERVERS = """
    server { listen 127.0.0.1:PORT ssl;
        server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "a $scheme $https\\n"; } }
"""


def test_static_over_tls_and_variables_in_the_log(bw, certs):
    require_module("http_static")     # files are served
    install(bw, certs, "a")
    bw.write("html/index.html", "hello over tls\n")
    plain = free_port()
    bw.config("""
    log_format t '$scheme|$https|$ssl_protocol|$ssl_cipher|$ssl_server_name|'
                 '$ssl_alpn_protocol|$ssl_session_reused|$ssl_client_verify|'
                 '$ssl_curve|$ssl_early_data|$status';
    access_log logs/t.log t;
    server { listen 127.0.0.1:PORT ssl; listen 127.0.0.1:%d;
        server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key; }
    """ % plain)
    bw.start()

    st, h, body, cn = request(bw.port, certs, "/index.html")
    assert (st, body, cn) == (200, b"hello over tls\n", "a.test")
    assert h["content-length"] == "15"

    # curl, with ALPN: it asks for h2 and http/1.1, and gets http/1.1
    r = subprocess.run(["curl", "-sS", "--cacert",
                        os.path.join(certs, "ca.crt"), "--resolve",
                        "a.test:%d:127.0.0.1" % bw.port,
                        "https://a.test:%d/index.html" % bw.port],
                       capture_output=True, timeout=20)
    assert r.stdout == b"hello over tls\n", r.stderr

    with socket.create_connection(("127.0.0.1", plain), timeout=5) as s:
        s.sendall(b"GET /index.html HTTP/1.0\r\nHost: a.test\r\n\r\n")
        assert recv_all(s).endswith(b"hello over tls\n")

    log = bw.path("logs", "t.log")
    wait_for(lambda: os.path.exists(log)
             and len(open(log).read().splitlines()) == 3, what="log")
    lines = open(log).read().splitlines()
    f = lines[0].split("|")
    assert f[:3] == ["https", "on", "TLSv1.3"], lines
    assert f[3].startswith("TLS_") and f[4] == "a.test", lines
    assert f[5] == "-" and f[6] == "." and f[7] == "NONE", lines
    assert f[8] and f[9] == "-" and f[10] == "200", lines
    assert lines[1].split("|")[5] == "http/1.1", lines
    assert lines[2] == "http||-|-|-|-|-|-|-|-|200", lines


def test_sni_picks_the_server(bw, certs):
    install(bw, certs, "a", "wild", "re", "default")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl default_server;
        server_name default.test;
        ssl_certificate default.crt; ssl_certificate_key default.key;
        location / { return 200 "default $ssl_server_name"; } }
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "a $ssl_server_name"; } }
    server { listen 127.0.0.1:PORT ssl; server_name *.wild.test;
        ssl_certificate wild.crt; ssl_certificate_key wild.key;
        location / { return 200 "wild $ssl_server_name"; } }
    server { listen 127.0.0.1:PORT ssl; server_name ~^re\\d\\.test$;
        ssl_certificate re.crt; ssl_certificate_key re.key;
        location / { return 200 "re $ssl_server_name"; } }
    """)
    bw.start()

    for sni, cn, body in (("a.test", "a.test", b"a a.test"),
                          ("A.Test", "a.test", b"a A.Test"),
                          ("x.wild.test", "*.wild.test",
                           b"wild x.wild.test"),
                          ("re2.test", "regex", b"re re2.test"),
                          ("nowhere.test", "default",
                           b"default nowhere.test")):
        st, _, data, got = request(bw.port, certs, host=sni, sni=sni)
        assert (st, got, data) == (200, cn, body), sni

    # no SNI at all (an IP address is never sent as a name)
    st, _, data, got = request(bw.port, certs, host="default.test",
                               sni="127.0.0.1")
    assert (st, got, data) == (200, "default", b"default ")

    # openssl s_client sees the same choice
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % bw.port, "-servername",
                        "y.wild.test"], input=b"", capture_output=True,
                       timeout=20)
    assert b"CN = *.wild.test" in r.stdout, r.stdout


def test_ecdsa_or_rsa_as_the_client_offers(bw, certs):
    install(bw, certs, "a", "a-rsa")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_certificate a-rsa.crt; ssl_certificate_key a-rsa.key;
        location / { return 200 "$ssl_protocol $ssl_cipher"; } }
    """)
    bw.start()

    # TLS 1.2: the cipher suite names the key type
    st, _, body, cn = request(bw.port, certs, tls12=True,
                              ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    assert (st, cn) == (200, "a.test"), body
    assert body == b"TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"
    st, _, body, cn = request(bw.port, certs, tls12=True,
                              ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    assert (st, cn) == (200, "a.test rsa"), body

    # TLS 1.3: the signature algorithms do
    for sigalgs, cn in (("ecdsa_secp256r1_sha256", "a.test"),
                        ("rsa_pss_rsae_sha256", "a.test rsa")):
        r = subprocess.run(["openssl", "s_client", "-connect",
                            "127.0.0.1:%d" % bw.port, "-servername",
                            "a.test", "-tls1_3", "-sigalgs", sigalgs],
                           input=b"", capture_output=True, timeout=20)
        assert ("CN = " + cn + "\n").encode() in r.stdout, r.stdout


def test_keepalive_and_pipelining_over_tls(bw, certs):
    require_module("http_static")     # files are served
    install(bw, certs, "a")
    bw.write("html/one.txt", "one\n")
    bw.write("html/two.txt", "two" * 5000 + "\n")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location /c { return 200 "$connection:$connection_requests"; } }
    """)
    bw.start()

    s = tls_socket(bw.port, certs)
    f = s.makefile("rb")
    s.sendall(b"GET /one.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"
              b"GET /two.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"
              b"GET /c HTTP/1.1\r\nHost: a.test\r\n\r\n")
    _, b1 = read_response(f)
    _, b2 = read_response(f)
    _, b3 = read_response(f)
    assert b1 == b"one\n" and b2 == b"two" * 5000 + b"\n"
    conn, n = b3.split(b":")
    assert n == b"3"

    # and later on the same connection, after it went idle
    s.sendall(b"GET /c HTTP/1.1\r\nHost: a.test\r\n\r\n")
    _, b4 = read_response(f)
    assert b4 == conn + b":4"
    s.close()


def test_large_bodies_both_ways_with_a_slow_reader(bw, certs):
    require_module("http_static")     # files are served
    install(bw, certs, "a")
    origin = Origin("o1")
    try:
        big = os.urandom(3 * 1024 * 1024)
        bw.write("html/big.bin", big, mode="wb")
        bw.config("""
        server { listen 127.0.0.1:PORT ssl; server_name a.test;
            ssl_certificate a.crt; ssl_certificate_key a.key;
            client_max_body_size 10m;
            location /p/ { proxy_pass http://127.0.0.1:%d/; } }
        """ % origin.port)
        bw.start()

        def slow_get(path, size):
            s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            s = client_ctx(certs).wrap_socket(s, server_hostname="a.test")
            s.sendall(("GET %s HTTP/1.1\r\nHost: a.test\r\n"
                       "Connection: close\r\n\r\n" % path).encode())
            chunks = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
                if len(chunks) % 50 == 0:
                    # a reader slower than the server: its socket fills
                    time.sleep(0.02)
            s.close()
            head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            assert len(body) == size
            return body

        assert slow_get("/big.bin", len(big)) == big
        assert slow_get("/p/size/2500000", 2500000) == pattern(2500000)

        st, _, body, _ = request(bw.port, certs, "/p/echo", method="POST",
                                 body=big)
        assert st == 200, body
        assert hashlib.md5(big).hexdigest().encode() in body
    finally:
        origin.stop()


def test_websocket_over_tls(bw, certs):
    install(bw, certs, "a")
    origin = Origin("o1")
    try:
        bw.config("""
        server { listen 127.0.0.1:PORT ssl; server_name a.test;
            ssl_certificate a.crt; ssl_certificate_key a.key;
            location /ws {
                proxy_http_version 1.1;
                proxy_set_header Upgrade $http_upgrade;
                proxy_set_header Connection "upgrade";
                proxy_pass http://127.0.0.1:%d; } }
        """ % origin.port)
        bw.start()
        s = tls_socket(bw.port, certs)
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket"
                  b"\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        f = s.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += f.read(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        for msg in (b"hello", b"x" * 70000, b"bye"):
            s.sendall(ws_frame(msg))
            assert ws_read(f) == msg
        s.close()
    finally:
        origin.stop()


PLAIN_HTTP = """
    server { listen 127.0.0.1:%(port)d ssl; server_name a.test;
        ssl_certificate %(dir)s/a.crt; ssl_certificate_key %(dir)s/a.key;
        location / { return 200 "ok"; } }
    server { listen 127.0.0.1:%(port2)d ssl; server_name a.test;
        ssl_certificate %(dir)s/a.crt; ssl_certificate_key %(dir)s/a.key;
        error_page 497 https://$host:%(port2)d$request_uri; }
    server { listen 127.0.0.1:%(port3)d ssl; server_name a.test;
        ssl_certificate %(dir)s/a.crt; ssl_certificate_key %(dir)s/a.key;
        error_page 497 =200 /page;
        location = /page { return 200 "497 page $scheme $status\\n"; } }
"""


def plain_answers(ports):
    out = []
    for port, path in zip(ports, ("/", "/r/x?y=1", "/c")):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n" % path)
                      .encode())
            r = recv_all(s)
        head, _, body = r.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        keep = [l.replace(b"%d" % port, b"P") for l in lines[1:]
                if l.lower().split(b":")[0] in
                (b"location", b"content-type", b"connection")]
        out.append((lines[0], sorted(keep),
                    re.sub(rb"(bulwark|nginx)(/[\d.]+)?", b"SERVER", body)))
    return out


def plain_conf(ports, d=""):
    return PLAIN_HTTP % {"port": ports[0], "port2": ports[1],
                         "port3": ports[2], "dir": d}


def test_plain_http_to_the_tls_port(bw, certs):
    install(bw, certs, "a")
    ports = [bw.port, free_port(), free_port()]
    bw.config(plain_conf(ports).replace("/a.", "a."))
    bw.start()
    for p in ports:
        bw.wait_port(p)
    got = plain_answers(ports)
    assert got[0][0] == b"HTTP/1.1 400 Bad Request"
    assert b"<title>400 The plain HTTP request was sent to HTTPS port" \
        b"</title>" in got[0][2]
    assert b"<center>The plain HTTP request was sent to HTTPS port" \
        b"</center>" in got[0][2]
    assert got[1][0] == b"HTTP/1.1 302 Moved Temporarily"
    assert b"Location: https://a.test:P/r/x?y=1" in got[1][1]
    assert got[2][0] == b"HTTP/1.1 200 OK"
    assert got[2][2] == b"497 page http 200\n"
    # and TLS still works on the port
    assert request(bw.port, certs)[2] == b"ok"
    assert "client sent plain HTTP request to HTTPS port" in bw.logs()


@needs_nginx
def test_plain_http_answers_as_nginx(bw, certs, tmp_path):
    install(bw, certs, "a")
    ports = [bw.port, free_port(), free_port()]
    bw.config(plain_conf(ports).replace("/a.", "a."))
    bw.start()
    for p in ports:
        bw.wait_port(p)
    ours = plain_answers(ports)
    ports = [free_port(), free_port(), free_port()]
    with nginx_serving(tmp_path, plain_conf(ports, certs), ports[0]):
        theirs = plain_answers(ports)
    for o, t in zip(ours, theirs):
        assert o == t


VERIFY = """
    server { listen 127.0.0.1:%(port)d ssl; server_name a.test;
        ssl_certificate %(dir)s/a.crt; ssl_certificate_key %(dir)s/a.key;
        location / { return 200 "a\\n"; } }
    server { listen 127.0.0.1:%(port)d ssl; server_name b.test;
        ssl_certificate %(dir)s/b.crt; ssl_certificate_key %(dir)s/b.key;
        ssl_client_certificate %(dir)s/ca.crt;
        ssl_verify_client on;
        location / { return 200 "b $ssl_client_verify $ssl_client_s_dn"; } }
    server { listen 127.0.0.1:%(port)d ssl; server_name opt.test;
        ssl_certificate %(dir)s/b.crt; ssl_certificate_key %(dir)s/b.key;
        ssl_client_certificate %(dir)s/ca.crt;
        ssl_verify_client optional;
        location / { return 200 "opt $ssl_client_verify\\n"; } }
"""


def verify_answers(port, certs):
    out = []
    for sni, host, cert in (("a.test", "b.test", None),
                            ("a.test", "b.test", "client"),
                            ("b.test", "a.test", "client"),
                            ("b.test", "b.test", "client"),
                            ("b.test", "b.test", None),
                            ("opt.test", "opt.test", None),
                            ("opt.test", "opt.test", "stranger")):
        st, _, body, _ = request(port, certs, host=host, sni=sni, cert=cert)
        title = re.search(rb"<title>(.*)</title>", body)
        out.append((st, title.group(1) if title else body))
    return out


def test_client_certificates_and_421(bw, certs):
    install(bw, certs, "a", "b")
    shutil.copy(os.path.join(certs, "ca.crt"), bw.path("conf", "ca.crt"))
    bw.config(VERIFY.replace("%(port)d", "PORT").replace("%(dir)s/", ""))
    bw.start()
    got = verify_answers(bw.port, certs)
    assert got[0] == (421, b"421 Misdirected Request"), got
    assert got[1] == (421, b"421 Misdirected Request"), got
    # a Host without client certificates after SNI of one with: allowed
    assert got[2] == (200, b"a\n"), got
    assert got[3] == (200, b"b SUCCESS CN=client one"), got
    assert got[4] == (400, b"400 No required SSL certificate was sent"), got
    assert got[5] == (200, b"opt NONE\n"), got
    assert got[6] == (400, b"400 The SSL certificate error"), got
    logs = bw.logs()
    assert "client attempted to request the server name different" in logs
    assert "client sent no required SSL certificate" in logs
    assert "client SSL certificate verify error" in logs


@needs_nginx
def test_client_certificates_as_nginx(bw, certs, tmp_path):
    install(bw, certs, "a", "b")
    shutil.copy(os.path.join(certs, "ca.crt"), bw.path("conf", "ca.crt"))
    bw.config(VERIFY.replace("%(port)d", "PORT").replace("%(dir)s/", ""))
    bw.start()
    ours = verify_answers(bw.port, certs)
    port = free_port()
    with nginx_serving(tmp_path, VERIFY % {"port": port, "dir": certs},
                       port):
        theirs = verify_answers(port, certs)
    for o, t in zip(ours, theirs):
        assert o == t


def test_client_certificate_variables(bw, certs):
    install(bw, certs, "a")
    shutil.copy(os.path.join(certs, "ca.crt"), bw.path("conf", "ca.crt"))
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_client_certificate ca.crt; ssl_verify_client on;
        location / { return 200 "$ssl_client_i_dn|$ssl_client_serial|\
$ssl_client_fingerprint|$ssl_client_v_remain|$ssl_client_v_end|\
$ssl_client_escaped_cert"; } }
    """)
    bw.start()
    st, _, body, _ = request(bw.port, certs, cert="client")
    assert st == 200, body
    i_dn, serial, fp, remain, v_end, esc = body.decode().split("|")
    assert i_dn == "CN=Test ca"
    assert serial == "1234"
    der = ssl.PEM_cert_to_DER_cert(open(os.path.join(certs, "client.crt"))
                                   .read())
    assert fp == hashlib.sha1(der).hexdigest()
    assert remain in ("29", "30")
    assert v_end.endswith(" GMT")
    import urllib.parse
    pem = urllib.parse.unquote(esc)
    assert ssl.PEM_cert_to_DER_cert(pem) == der


def test_handshake_timeout_garbage_and_vanishing_clients(bw, certs):
    install(bw, certs, "a")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_handshake_timeout 1s;
        location / { return 200 "ok"; } }
    """)
    bw.start()

    # a client that connects and says nothing, and one that stops in the
    # middle of its ClientHello: both closed at the handshake timeout
    hello = ssl_client_hello(certs)
    for first in (b"", hello[:20]):
        s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
        start = time.monotonic()
        if first:
            s.sendall(first)
        assert recv_all(s, timeout=8) == b""
        took = time.monotonic() - start
        assert 0.8 < took < 5, took
        s.close()

    # garbage after a handshake record type, and a client that vanishes
    # after half a ClientHello
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x10" + b"\xff" * 16)
        r = recv_all(s)
        assert r == b"" or r[0] == 0x15     # nothing, or a TLS alert
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(hello[:len(hello) // 2])
    # (closed by us at once)

    assert request(bw.port, certs)[2] == b"ok"
    logs = bw.logs()
    assert "client timed out" in logs or "SSL handshake timed out" in logs
    assert "SSL_do_handshake() failed" in logs
    for level in ("[error]", "[crit]", "[alert]", "[emerg]"):
        assert level not in logs, logs


def ssl_client_hello(certs):
    """The first flight of a real client, taken from a memory BIO."""
    ctx = client_ctx(certs)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def test_data_values_password_file_and_reject_handshake(bw, certs):
    d = bw.path("conf")
    cert = open(os.path.join(certs, "a.crt")).read()
    openssl("ec", "-in", os.path.join(certs, "a.key"), "-aes256",
            "-passout", "pass:s3cret", "-out", "a-enc.key", cwd=d)
    bw.write("conf/pw", "wrong\ns3cret\n")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl default_server;
        ssl_reject_handshake on; }
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate "data:%s";
        ssl_certificate_key a-enc.key; ssl_password_file pw;
        location / { return 200 "ok"; } }
    """ % cert)
    bw.start()
    st, _, body, cn = request(bw.port, certs)
    assert (st, body, cn) == (200, b"ok", "a.test")
    for sni in ("other.test", "127.0.0.1"):
        with pytest.raises(ssl.SSLError) as e:
            request(bw.port, certs, sni=sni)
        assert "UNRECOGNIZED_NAME" in str(e.value).upper()


def test_configuration_errors_name_file_and_line(bw, certs):
    install(bw, certs, "a")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt;
        ssl_certificate_key missing.key; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'cannot load certificate key "missing.key"' in r.stderr, r.stderr
    assert re.search(r"in \S+bulwark\.conf:\d+", r.stderr), r.stderr

    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'no "ssl_certificate" is defined for the "listen ... ssl" ' \
        'directive in' in r.stderr, r.stderr

    bw.config("""
    server { listen 127.0.0.1:PORT; ssl on;
        ssl_certificate a.crt; ssl_certificate_key a.key; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'unknown directive "ssl"' in r.stderr, r.stderr

    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_protocols TLSv1.2 TLSv1.9; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0 and 'invalid value "TLSv1.9"' in r.stderr


def test_reload_reads_certificates_again(bw, certs):
    install(bw, certs, "a", "b")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate cur.crt; ssl_certificate_key cur.key;
        location / { return 200 "ok"; } }
    """)
    for ext in ("crt", "key"):
        shutil.copy(bw.path("conf", "a." + ext), bw.path("conf", "cur." + ext))
    bw.start()
    assert request(bw.port, certs)[3] == "a.test"

    for ext in ("crt", "key"):
        shutil.copy(bw.path("conf", "b." + ext), bw.path("conf", "cur." + ext))
    bw.signal(signal.SIGHUP)
    wait_for(lambda: request(bw.port, certs)[3] == "b.test",
             what="the new certificate")

    # a key that does not match: the reload fails, b.test stays
    shutil.copy(bw.path("conf", "a.key"), bw.path("conf", "cur.key"))
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "SSL_CTX_use_PrivateKey" in bw.logs()
             or "key values mismatch" in bw.logs(), what="reload error")
    assert request(bw.port, certs)[3] == "b.test"


def assert_both_workers_resume(bw, ctx, sess):
    """reuseport spreads connections over both workers by their ports:
    each of them resumes the session."""
    pids = set()
    for _ in range(40):
        reused, body, _ = resumed(bw.port, ctx, "a.test", sess)
        assert reused and body.endswith(b" r"), body
        pids.add(body.split()[0])
        if len(pids) == 2:
            break
    assert len(pids) == 2, pids


def resumed(port, ctx, sni, session=None):
    """(reused?, body, session) of one request on a new connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(s, server_hostname=sni, session=session)
    s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % sni).encode())
    _, body = read_response(s.makefile("rb"))
    reused = s.session_reused
    sess = s.session
    s.close()
    return reused, body, sess


@pytest.mark.parametrize("tickets", ["on", "off"])
def test_sessions_are_resumed_only_where_they_were_made(bw, certs, tickets):
    install(bw, certs, "a", "b")
    shutil.copy(os.path.join(certs, "ca.crt"), bw.path("conf", "ca.crt"))
    bw.config("""
    ssl_session_cache builtin:1000;
    ssl_session_tickets %s;
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "a $ssl_session_reused"; } }
    server { listen 127.0.0.1:PORT ssl; server_name b.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_client_certificate ca.crt; ssl_verify_client optional;
        location / { return 200 "b $ssl_session_reused"; } }
    """ % tickets)
    bw.start()
    # TLS 1.2: the session (or ticket) is there at the end of the
    # handshake, so resumption is certain when the server allows it
    ctx = client_ctx(certs, tls12=True)
    reused, body, sess = resumed(bw.port, ctx, "a.test")
    assert (reused, body) == (False, b"a .")
    reused, body, _ = resumed(bw.port, ctx, "a.test", sess)
    assert (reused, body) == (True, b"a r")
    # the same certificate, but another client certificate policy
    reused, body, _ = resumed(bw.port, ctx, "b.test", sess)
    assert (reused, body) == (False, b"b .")


def reload_and_wait(bw):
    old = set(bw.workers())
    mark = len(bw.logs())
    bw.signal(signal.SIGHUP)

    def done():
        if "emerg" in bw.logs()[mark:]:
            raise AssertionError(bw.logs()[mark:])
        return set(bw.workers()) and not set(bw.workers()) & old
    wait_for(done, what="new workers")


@pytest.mark.parametrize("tls12", [True, False], ids=["tls1.2", "tls1.3"])
def test_session_ticket_keys_rotate_by_reload(bw, certs, tls12):
    """The first ssl_session_ticket_key seals, every one opens: a ticket
    of a key moved to second place still resumes, one whose key is gone
    does not."""
    install(bw, certs, "a")
    with open(bw.path("conf", "ticket-a.bin"), "wb") as f:
        f.write(os.urandom(80))
    with open(bw.path("conf", "ticket-b.bin"), "wb") as f:
        f.write(os.urandom(48))
    conf = """
    ssl_session_cache off;
    %s
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "$ssl_session_reused"; } }
    """
    bw.config(conf % "ssl_session_ticket_key ticket-a.bin;")
    bw.start()
    ctx = client_ctx(certs, tls12=tls12)
    reused, body, sess = resumed(bw.port, ctx, "a.test")
    assert (reused, body) == (False, b".")
    assert resumed(bw.port, ctx, "a.test", sess)[:2] == (True, b"r")

    bw.config(conf % "ssl_session_ticket_key ticket-b.bin;\n"
                     "    ssl_session_ticket_key ticket-a.bin;")
    reload_and_wait(bw)
    assert resumed(bw.port, ctx, "a.test", sess)[:2] == (True, b"r")

    bw.config(conf % "ssl_session_ticket_key ticket-b.bin;")
    reload_and_wait(bw)
    assert resumed(bw.port, ctx, "a.test", sess)[:2] == (False, b".")


def test_ticket_keys_of_its_own_survive_a_reload(bw, certs):
    """Without key files: one key for every worker, kept by the master
    across reloads."""
    install(bw, certs, "a")
    bw.config("""
    ssl_session_cache off;
    server { listen 127.0.0.1:PORT ssl reuseport; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "$pid $ssl_session_reused"; } }
    """, workers=2)
    bw.start()
    ctx = client_ctx(certs)
    reused, body, sess = resumed(bw.port, ctx, "a.test")
    assert not reused and body.endswith(b" .")
    assert_both_workers_resume(bw, ctx, sess)
    reload_and_wait(bw)
    reused, body, _ = resumed(bw.port, ctx, "a.test", sess)
    assert reused and body.endswith(b" r"), body


@pytest.mark.parametrize("tls12", [True, False], ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize("keys", ["own", "file"])
def test_a_client_that_keeps_its_newest_ticket_resumes_every_time(
        bw, certs, tls12, keys):
    install(bw, certs, "a")
    with open(bw.path("conf", "ticket.bin"), "wb") as f:
        f.write(os.urandom(80))
    bw.config("""
    ssl_session_cache off;
    %s
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "$ssl_session_reused"; } }
    """ % ("ssl_session_ticket_key ticket.bin;" if keys == "file" else ""))
    bw.start()
    ctx = client_ctx(certs, tls12=tls12)
    seen = []
    sess = None
    for _ in range(6):
        reused, body, new = resumed(bw.port, ctx, "a.test", sess)
        seen.append(body)
        sess = new
    assert seen == [b"."] + [b"r"] * 5


@pytest.mark.parametrize("proto", ["-tls1_2", "-tls1_3"])
def test_a_resumed_connection_gets_a_new_ticket(bw, certs, tmp_path, proto):
    """A client that uses each ticket once (as TLS 1.3 clients should)
    resumes every time: a resumed handshake hands out a new ticket."""
    install(bw, certs, "a")
    bw.config("""
    ssl_session_cache off;
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "$ssl_session_reused"; } }
    """)
    bw.start()
    seen = []
    for i in range(4):
        # TLS 1.3: each connection offers the ticket of the one before;
        # TLS 1.2 (whose resumed sessions s_client does not write out):
        # the first one's, and the new ticket is seen on the wire
        args = ["-sess_out", str(tmp_path / ("s%d.pem" % i))]
        if i:
            args += ["-sess_in", str(tmp_path / ("s%d.pem" % (
                i - 1 if proto == "-tls1_3" else 0)))]
        r = subprocess.run(["openssl", "s_client", proto, "-connect",
                            "127.0.0.1:%d" % bw.port, "-servername",
                            "a.test", "-ign_eof", "-msg"] + args,
                           input="GET / HTTP/1.0\r\n\r\n",
                           capture_output=True, text=True, timeout=30)
        seen.append((re.search(r"^(New|Reused),", r.stdout, re.M).group(1),
                     "NewSessionTicket" in r.stdout))
    assert seen == [("New", True)] + [("Reused", True)] * 3


def test_a_ticket_key_file_of_the_wrong_size(bw, certs):
    install(bw, certs, "a")
    with open(bw.path("conf", "short.bin"), "wb") as f:
        f.write(os.urandom(47))
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_session_ticket_key short.bin; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"%s" must be 48 or 80 bytes' % bw.path("conf", "short.bin") \
        in r.stderr


def test_proxy_protocol_and_ipv6_listeners(bw, certs):
    install(bw, certs, "a")
    v6 = socket.has_ipv6
    if v6:
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            v6 = False
    port6 = free_port()
    bw.config("""
    server { listen 127.0.0.1:PORT ssl proxy_protocol;
        %s
        server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "$proxy_protocol_addr $scheme $server_addr";
        } }
    """ % ("listen [::1]:%d ssl;" % port6 if v6 else ""))
    bw.start()

    s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
    s.sendall(b"PROXY TCP4 192.0.2.7 198.51.100.2 56324 443\r\n")
    s = client_ctx(certs).wrap_socket(s, server_hostname="a.test")
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    _, body = read_response(s.makefile("rb"))
    assert body == b"192.0.2.7 https 127.0.0.1"
    s.close()

    # a broken PROXY header closes that connection, logged
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x10" + b"\xff" * 16)
        assert recv_all(s) == b""
    wait_for(lambda: "broken header" in bw.logs(), what="broken header")

    if v6:
        s = socket.create_connection(("::1", port6), timeout=5)
        s = client_ctx(certs).wrap_socket(s, server_hostname="a.test")
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        _, body = read_response(s.makefile("rb"))
        assert body == b" https ::1"
        s.close()


def test_shared_session_cache_across_workers_and_reload(bw, certs):
    install(bw, certs, "a")
    bw.config("""
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets off;
    server { listen 127.0.0.1:PORT ssl reuseport; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        location / { return 200 "$pid $ssl_session_reused"; } }
    """, workers=2)
    bw.start()
    ctx = client_ctx(certs, tls12=True)
    reused, body, sess = resumed(bw.port, ctx, "a.test")
    assert not reused and body.endswith(b" .")

    assert_both_workers_resume(bw, ctx, sess)

    # the zone outlives a reload: new workers resume the old session
    old = set(bw.workers())
    bw.signal(signal.SIGHUP)
    wait_for(lambda: set(bw.workers()) and not set(bw.workers()) & old,
             what="new workers")
    reused, body, _ = resumed(bw.port, ctx, "a.test", sess)
    assert reused and body.endswith(b" r"), body


def test_crl_and_directives_nginx_configurations_carry(bw, certs):
    install(bw, certs, "a")
    for f in ("ca.crt", "ca.crl"):
        shutil.copy(os.path.join(certs, f), bw.path("conf", f))
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_client_certificate ca.crt; ssl_verify_client on;
        ssl_crl ca.crl;
        ssl_trusted_certificate ca.crt;
        ssl_stapling on; ssl_stapling_verify on;
        ssl_early_data off;
        location / { return 200 "$ssl_client_verify"; } }
    """)
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    assert '"ssl_stapling" ignored: OCSP responses are stapled from ' \
        '"ssl_stapling_file" only' in r.stderr
    bw.start()
    assert request(bw.port, certs, cert="client")[:3:2] == (200, b"SUCCESS")
    st, _, body, _ = request(bw.port, certs, cert="revoked")
    assert st == 400 and b"The SSL certificate error" in body
    assert "certificate revoked" in bw.logs()


def ocsp_response(certs, d, name):
    """A DER OCSP response saying certs/name.crt is good, signed by the
    CA, made with the openssl command (no responder needed)."""
    index = os.path.join(d, "ocsp-index.txt")
    serial = subprocess.run(
        ["openssl", "x509", "-in", os.path.join(certs, name + ".crt"),
         "-noout", "-serial"], capture_output=True, text=True,
        check=True).stdout.strip().split("=")[1]
    with open(index, "w") as f:
        f.write("V\t301231235959Z\t\t%s\tunknown\t/CN=x\n" % serial)
    openssl("ocsp", "-issuer", os.path.join(certs, "ca.crt"), "-cert",
            os.path.join(certs, name + ".crt"), "-reqout", "req.der",
            "-no_nonce", cwd=d)
    openssl("ocsp", "-index", index, "-rsigner",
            os.path.join(certs, "ca.crt"), "-rkey",
            os.path.join(certs, "ca.key"), "-CA",
            os.path.join(certs, "ca.crt"), "-reqin", "req.der",
            "-respout", name + ".ocsp", "-ndays", "1", cwd=d)
    return os.path.join(d, name + ".ocsp")


def s_client_status(port, sni):
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % port, "-servername", sni,
                        "-status"], input="", capture_output=True,
                       text=True, timeout=30)
    return r.stdout


def test_ocsp_stapling_from_a_file(bw, certs, tmp_path):
    install(bw, certs, "a", "b")
    good = ocsp_response(certs, str(tmp_path), "a")
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_stapling on; ssl_stapling_file %s;
        location / { return 200 "a"; } }
    server { listen 127.0.0.1:PORT ssl; server_name b.test;
        ssl_certificate b.crt; ssl_certificate_key b.key;
        location / { return 200 "b"; } }
    """ % good)
    bw.start()
    out = s_client_status(bw.port, "a.test")
    assert "OCSP Response Status: successful" in out, out
    assert "Cert Status: good" in out, out
    # a server without stapling (chosen by SNI) staples nothing
    out = s_client_status(bw.port, "b.test")
    assert "OCSP response: no response sent" in out, out

    # a file that is no OCSP response keeps the running configuration
    with open(bw.path("conf", "junk.ocsp"), "wb") as f:
        f.write(b"not DER")
    with open(bw.conf) as f:
        conf = f.read()
    bw.write("conf/bulwark.conf", conf.replace(good, "junk.ocsp"))
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'd2i_OCSP_RESPONSE("%s") failed' % bw.path("conf", "junk.ocsp") \
        in r.stderr


SNI_FILES = """
    server { listen 127.0.0.1:%(port)s ssl default_server;
        ssl_certificate %(dir)s$ssl_server_name.crt;
        ssl_certificate_key %(dir)s${ssl_server_name}.key;
        location / { return 200 "$ssl_server_name"; } }
"""


def sni_answers(port, certs):
    out = []
    for name in ("a.test", "b.test", "c.test", "a.test"):
        try:
            st, _, body, cn = request(port, certs, host=name, sni=name)
            out.append((name, st, body, cn))
        except (ssl.SSLError, OSError) as e:
            out.append((name, "handshake failed", type(e).__name__))
    return out


def test_certificates_named_by_the_server_name(bw, certs, tmp_path):
    """ssl_certificate with $ssl_server_name: the files of the name the
    client sent, loaded during the handshake; a name without files
    fails the handshake, logged at info."""
    os.makedirs(bw.path("conf", "sni"))
    for n in ("a", "b"):
        for ext in ("crt", "key"):
            shutil.copy(os.path.join(certs, "%s.%s" % (n, ext)),
                        bw.path("conf", "sni", "%s.test.%s" % (n, ext)))
    bw.config(SNI_FILES % {"port": "PORT", "dir": "sni/"})
    bw.start()
    got = sni_answers(bw.port, certs)
    assert got[0] == ("a.test", 200, b"a.test", "a.test")
    assert got[1] == ("b.test", 200, b"b.test", "b.test")
    assert got[2][:2] == ("c.test", "handshake failed")
    assert got[3] == got[0]
    wait_for(lambda: "c.test.crt" in bw.logs(), what="the missing file")

    # only $ssl_server_name: there is no request at handshake time
    bw.config(SNI_FILES.replace("$ssl_server_name.crt", "$host.crt")
              % {"port": "PORT", "dir": "sni/"})
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'only $ssl_server_name can be used in "ssl_certificate"' \
        in r.stderr


@needs_nginx
def test_certificates_named_by_the_server_name_as_nginx(bw, certs,
                                                        tmp_path):
    d = tmp_path / "sni"
    d.mkdir()
    for n in ("a", "b"):
        for ext in ("crt", "key"):
            shutil.copy(os.path.join(certs, "%s.%s" % (n, ext)),
                        str(d / ("%s.test.%s" % (n, ext))))
    bw.config(SNI_FILES % {"port": "PORT", "dir": str(d) + "/"})
    bw.start()
    ours = sni_answers(bw.port, certs)
    nport = free_port()
    with nginx_serving(tmp_path, SNI_FILES % {"port": nport,
                                              "dir": str(d) + "/"}, nport):
        theirs = sni_answers(nport, certs)
    assert ours == theirs


TLS_LOG = """
    log_format t '$scheme|$https|$ssl_protocol|$ssl_cipher|$ssl_curve|'
                 '$ssl_server_name|$ssl_alpn_protocol|$ssl_session_reused|'
                 '$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|'
                 '$ssl_client_serial|$ssl_client_v_end|$ssl_early_data|'
                 '$status';
    server { listen 127.0.0.1:%(port)d ssl; server_name a.test;
        ssl_certificate %(dir)s/a.crt; ssl_certificate_key %(dir)s/a.key;
        ssl_client_certificate %(dir)s/ca.crt; ssl_verify_client optional;
        ssl_protocols TLSv1.2 TLSv1.3;
        access_log %(log)s t;
        location / { return 200 "ok"; } }
"""


@needs_nginx
def test_variables_in_the_log_as_nginx(bw, certs, tmp_path):
    install(bw, certs, "a")
    shutil.copy(os.path.join(certs, "ca.crt"), bw.path("conf", "ca.crt"))
    ours_log = bw.path("logs", "tls.log")
    bw.config(TLS_LOG.replace("%(port)d", "PORT").replace("%(dir)s/", "")
              % {"log": ours_log})
    bw.start()
    theirs_log = str(tmp_path / "nginx-tls.log")
    port = free_port()

    def clients(p):
        request(p, certs)
        request(p, certs, cert="client", tls12=True,
                ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
        request(p, certs, sni="127.0.0.1", host="a.test")

    clients(bw.port)
    with nginx_serving(tmp_path, TLS_LOG % {"port": port, "dir": certs,
                                           "log": theirs_log}, port):
        clients(port)
    wait_for(lambda: len(open(ours_log).read().splitlines()) == 3,
             what="our log")
    ours = open(ours_log).read().splitlines()
    theirs = open(theirs_log).read().splitlines()
    assert len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert a == b, "\n%s\n%s" % (a, b)


def tls10_client_hello():
    """A ClientHello that offers TLS 1.0 only (no supported_versions):
    what a server with TLS 1.2 at the least cannot take."""
    body = (b"\x03\x01" + os.urandom(32) + b"\x00" + b"\x00\x02\x00\x2f"
            + b"\x01\x00")
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def test_handshake_counters_in_the_metrics(bw, certs):
    """Each kind of failed handshake of a client is counted once under
    its reason; successful ones and resumed sessions too."""
    require_module("http_metrics")
    install(bw, certs, "a")
    for f in ("ca.crt", "ca.crl"):
        shutil.copy(os.path.join(certs, f), bw.path("conf", f))
    vport, mport = free_port(), free_port()
    bw.config("""
    server { listen 127.0.0.1:PORT ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
        ssl_session_cache shared:S:1m;
        ssl_handshake_timeout 1s;
        location / { return 200 "ok"; } }
    server { listen 127.0.0.1:%d ssl; server_name a.test;
        ssl_certificate a.crt; ssl_certificate_key a.key;
        ssl_verify_client on; ssl_client_certificate ca.crt;
        ssl_crl ca.crl;
        location / { return 200 "ok"; } }
    server { listen 127.0.0.1:%d; location / { metrics; } }
    """ % (vport, mport))
    bw.start()

    # two that succeed, the second resuming the first one's session
    ctx = client_ctx(certs, tls12=True)
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="a.test") as first:
            session = first.session
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="a.test",
                             session=session) as again:
            assert again.session_reused

    def refused(port, **kw):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_socket(port, certs, **kw).close()

    # no common protocol: TLS 1.0 only
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(tls10_client_hello())
        r = recv_all(s)
        assert r == b"" or r[0] == 0x15
    # no common cipher
    refused(bw.port, tls12=True, ciphers="AES256-SHA")
    # the client does not trust our certificate (unknown CA alert)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(certs, "otherca.crt"))
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(s, server_hostname="a.test")
    # refused client certificates: the handshake goes through and the
    # request gets 400 (496 or 495 in the log), as nginx
    for cert in (None, "revoked", "stranger"):
        assert request(vport, certs, cert=cert)[0] == 400
    # a client that stops in its ClientHello: timed out
    hello = ssl_client_hello(certs)
    with socket.create_connection(("127.0.0.1", bw.port), timeout=10) as s:
        s.sendall(hello[:20])
        assert recv_all(s, timeout=8) == b""
    # one that goes away in it
    with socket.create_connection(("127.0.0.1", bw.port), timeout=5) as s:
        s.sendall(hello[:len(hello) // 2])

    expected = {"no_common_protocol": 1, "no_common_cipher": 1,
                "handshake_timeout": 1, "peer_rejected_cert": 1,
                "peer_closed": 1, "other": 0}
    verify = {"no_cert": 1, "expired_cert": 0, "revoked_cert": 1,
              "other": 1}

    def counts():
        conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=5)
        conn.request("GET", "/")
        text = conn.getresponse().read().decode()
        conn.close()
        return text, {k: metric(text, 'bulwark_ssl_handshakes_failed_total'
                                '{reason="%s"}' % k) for k in expected}

    wait_for(lambda: counts()[1] == expected, timeout=10,
             what="failed handshakes counted: %s" % counts()[1])
    text = counts()[0]
    # the two above and the three with client certificates
    assert metric(text, "bulwark_ssl_handshakes_total") == 5
    assert metric(text, "bulwark_ssl_session_reuses_total") == 1
    for k, n in verify.items():
        assert metric(text, 'bulwark_ssl_verify_failures_total'
                      '{reason="%s"}' % k) == n, k
    conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=5)
    conn.request("GET", "/?format=json")
    j = json.loads(conn.getresponse().read())
    conn.close()
    assert j["ssl"] == {"handshakes": 5, "session_reuses": 1,
                        "handshakes_failed": expected,
                        "verify_failures": verify}

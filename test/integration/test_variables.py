"""Variables in return texts and headers, as nginx computes them."""

import os
import socket

from conftest import get, raw, wait_for

CONF = r"""
    server {
        listen 127.0.0.1:PORT;
        server_name vars.test;
        location /v/ {
            add_header X-Sent "$sent_http_content_type";
            return 200 "host=$host uri=$uri args=$args is=$is_args a=$arg_a c=$cookie_sess h=$http_x_test m=$request_method ru=$request_uri proto=$server_protocol sn=$server_name addr=$remote_addr sport=$server_port saddr=$server_addr scheme=$scheme cr=$connection_requests\n";
        }
        location ~ ^/cap/(\w+)/(\d+)$ { return 200 "$2-$1"; }
    }
"""


def test_request_variables(bw):
    bw.config(CONF)
    bw.start()
    st, h, body = get(bw.port, "/v/x%20y?a=1&b=2", host="Vars.Test:8",
                      headers={"Cookie": "other=1; sess=abc",
                               "X-Test": "hi"})
    text = body.decode()
    assert st == 200
    for part in ("host=vars.test", "uri=/v/x y", "args=a=1&b=2", "is=?",
                 "a=1", "c=abc", "h=hi", "m=GET", "ru=/v/x%20y?a=1&b=2",
                 "proto=HTTP/1.1", "sn=vars.test", "addr=127.0.0.1",
                 "sport=%d" % bw.port, "saddr=127.0.0.1", "scheme=http",
                 "cr=1"):
        assert part in text, (part, text)
    assert h["x-sent"] == "text/plain"


def test_captures_and_connection_requests(bw):
    bw.config(CONF)
    bw.start()
    st, _, body = get(bw.port, "/cap/abc/42")
    assert st == 200 and body == b"42-abc"
    req = b"GET /v/ HTTP/1.1\r\nHost: vars.test\r\n\r\n"
    resp = raw(bw.port, req + req[:-2] + b"Connection: close\r\n\r\n")
    assert b"cr=1" in resp and b"cr=2" in resp


def test_file_connection_and_tcp_variables(bw, tmp_path):
    """$request_filename (root and alias), $realpath_root through a
    symbolic link, $https (empty without TLS), $binary_remote_addr,
    $connection_time and $tcpinfo_*, as nginx computes them."""
    real = tmp_path / "releases" / "r1"
    real.mkdir(parents=True)
    (tmp_path / "current").symlink_to(real)
    bw.config("""
    server { listen 127.0.0.1:PORT;
        location /f/ { root %(link)s;
            return 200 "fn=$request_filename rp=$realpath_root dr=$document_root https=[$https] ct=$connection_time rtt=$tcpinfo_rtt cwnd=$tcpinfo_snd_cwnd sp=$tcpinfo_rcv_space\\n"; }
        location /al/ { alias %(link)s/x/; return 200 "fn=$request_filename"; }
        location /bin { return 200 "$binary_remote_addr"; }
        location /gone/ { root %(tmp)s/nowhere; return 200 "rp=[$realpath_root]"; } }
    """ % {"link": tmp_path / "current", "tmp": tmp_path})
    bw.start()
    st, _, body = get(bw.port, "/f/a.html")
    assert st == 200, body
    fields = dict(f.split("=", 1) for f in body.decode().split())
    assert fields["fn"] == "%s/f/a.html" % (tmp_path / "current")
    assert fields["dr"] == str(tmp_path / "current")
    assert fields["rp"] == str(real.resolve())
    assert fields["https"] == "[]"
    secs, ms = fields["ct"].split(".")
    assert secs.isdigit() and len(ms) == 3 and ms.isdigit()
    for k in ("rtt", "cwnd", "sp"):
        assert fields[k].isdigit() and int(fields[k]) > 0, (k, fields)
    st, _, body = get(bw.port, "/al/b/c")
    assert body.decode() == "fn=%s/x/b/c" % (tmp_path / "current")
    st, _, body = get(bw.port, "/bin")
    assert body == bytes([127, 0, 0, 1])
    # a root that is not there: empty, as in nginx, and said in the log
    st, _, body = get(bw.port, "/gone/x")
    assert st == 200 and body == b"rp=[]"
    assert 'realpath() "%s/nowhere" failed' % tmp_path in bw.logs()


def test_request_completion(bw):
    """$request_completion: empty while the request runs, "OK" in the
    log once the whole response went out, empty for a client that went
    away in the middle of it. Such a request is finalized when the send
    fails (it used to wait for send_timeout with its unsent rest)."""
    html = bw.path("html")
    os.makedirs(html, exist_ok=True)
    with open(os.path.join(html, "big"), "wb") as f:
        f.write(b"b" * (32 << 20))
    bw.config("""
    log_format c '$uri $limit_rate [$request_completion]';
    server { listen 127.0.0.1:PORT; root html; access_log logs/c.log c;
        send_timeout 60s;
        location /r { return 200 "[$request_completion]"; }
        location /slow/ { alias html/; limit_rate 1m; } }
    """)
    bw.start()
    st, _, body = get(bw.port, "/r")
    assert st == 200 and body == b"[]"

    def logged():
        try:
            with open(bw.path("logs", "c.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []
    # the log line comes after the answer: wait for it, or it may land
    # among the lines counted below
    wait_for(lambda: len(logged()) == 1, what="the log line of /r")
    # a file larger than the socket buffers, and one sent at a set rate:
    # the rest waits for the write event, which then finds the client gone
    for path, line in (("/big", "/big 0 []"), ("/slow/big", "/slow/big 1048576 []")):
        n = len(logged())
        with socket.create_connection(("127.0.0.1", bw.port),
                                      timeout=5) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        wait_for(lambda: len(logged()) > n, timeout=10,
                 what="the log line of %s" % path)
        assert logged()[n] == line
    assert logged()[0] == "/r 0 [OK]"

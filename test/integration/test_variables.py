"""Variables in return texts and headers, as nginx computes them."""

from conftest import get, raw

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

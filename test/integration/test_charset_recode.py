"""
charset, source_charset, override_charset and charset_map: bodies
recoded between one-byte charsets and to and from UTF-8 (a character
the one-byte charset lacks becomes an HTML entity), static files read in
pieces, proxied answers that name their own charset, the maps shipped
in conf/; the same bytes and header fields as Debian's nginx.
"""

import http.client
import os
import shutil

import pytest

from conftest import SRC, free_port, needs_nginx, nginx_serving

RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю."


def fetch(port, path, method="GET", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        headers = {k.lower(): v for k, v in r.getheaders()}
        return r.status, headers, r.read()
    finally:
        c.close()


def site(bw):
    """Files in three charsets, and the maps, in bw's prefix."""
    for name in ("koi-utf", "koi-win", "win-utf"):
        shutil.copy(os.path.join(SRC, "conf", name), bw.path("conf", name))
    text = (RUSSIAN + "\n") * 3000        # about 300 KB: many pieces
    bw.write("html/koi.html", text.encode("koi8-r"), "wb")
    bw.write("html/utf.html", (RUSSIAN + " € 中 ü\n").encode("utf-8"), "wb")
    bw.write("html/win.txt", RUSSIAN.encode("cp1251"), "wb")
    return text


def conf_body(prefix, port, back):
    return """
        include %(p)s/conf/koi-utf;
        include %(p)s/conf/koi-win;
        include %(p)s/conf/win-utf;
        server {
            listen 127.0.0.1:%(port)d;
            root %(p)s/html;
            location /koi2utf/ { alias %(p)s/html/;
                source_charset koi8-r; charset utf-8; }
            location /koi2win/ { alias %(p)s/html/;
                source_charset koi8-r; charset windows-1251; }
            location /utf2win/ { alias %(p)s/html/;
                source_charset utf-8; charset windows-1251; }
            location /win2koi/ { alias %(p)s/html/;
                source_charset windows-1251; charset koi8-r;
                charset_types text/plain; }
            location /label/ { alias %(p)s/html/; charset utf-8; }
            location /override/ { proxy_pass http://127.0.0.1:%(back)d/;
                charset utf-8; override_charset on; }
            location /keep/ { proxy_pass http://127.0.0.1:%(back)d/;
                charset utf-8; }
        }
        server {
            listen 127.0.0.1:%(back)d;
            root %(p)s/html;
            charset koi8-r;
        }""" % {"p": prefix, "port": port, "back": back}


CASES = ["/koi2utf/koi.html", "/koi2win/koi.html", "/utf2win/utf.html",
         "/win2koi/win.txt", "/label/utf.html",
         "/override/koi.html", "/keep/koi.html"]


def test_recoded_bodies(bw):
    text = site(bw)
    back = free_port()
    bw.config(conf_body(bw.prefix, bw.port, back))
    bw.start()
    bw.wait_port(back)

    s, h, b = fetch(bw.port, "/koi2utf/koi.html")
    assert s == 200 and h["content-type"] == "text/html; charset=utf-8"
    assert b == text.encode("utf-8")
    assert "content-length" not in h and "accept-ranges" not in h

    s, h, b = fetch(bw.port, "/koi2win/koi.html")
    assert b == text.encode("cp1251")
    assert h["content-type"] == "text/html; charset=windows-1251"

    s, h, b = fetch(bw.port, "/utf2win/utf.html")
    assert b == RUSSIAN.encode("cp1251") + b" \x88 &#20013; &#252;\n"

    s, h, b = fetch(bw.port, "/win2koi/win.txt")
    assert b == RUSSIAN.encode("koi8-r")

    # a label only where no recoding is asked for
    s, h, b = fetch(bw.port, "/label/utf.html")
    assert h["content-type"] == "text/html; charset=utf-8"
    assert h["content-length"] == str(len(b))

    # a proxied answer in koi8-r: recoded with override_charset only
    s, h, b = fetch(bw.port, "/override/koi.html")
    assert b == text.encode("utf-8")
    assert h["content-type"] == "text/html; charset=utf-8"
    s, h, b = fetch(bw.port, "/keep/koi.html")
    assert b == text.encode("koi8-r")
    assert h["content-type"] == "text/html; charset=koi8-r"


def test_map_errors(bw):
    # recoding asked for without a map: refused at load, as nginx
    bw.config("""
        server { listen 127.0.0.1:PORT;
                 location / { source_charset iso-8859-5; charset utf-8; } }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'no "charset_map" between the charsets "iso-8859-5" and ' \
        '"utf-8"' in r.stderr
    bw.config("""
        charset_map koi8-r utf-8 { C0 ZZ; }
        server { listen 127.0.0.1:PORT; }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'invalid value "C0" in "charset_map"' in r.stderr
    bw.config("""
        charset_map utf-8 koi8-r { C0 C1; }
        server { listen 127.0.0.1:PORT; }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"charset_map" between the same charsets' in r.stderr \
        or "charset_map" in r.stderr


@needs_nginx
def test_same_bytes_as_nginx(bw, tmp_path):
    site(bw)
    back, ng_port, ng_back = free_port(), free_port(), free_port()
    bw.config(conf_body(bw.prefix, bw.port, back))
    bw.start()
    bw.wait_port(back)
    with nginx_serving(tmp_path, conf_body(bw.prefix, ng_port, ng_back),
                       ng_port):
        for path in CASES:
            for method, hdrs in (("GET", None), ("HEAD", None),
                                 ("GET", {"Range": "bytes=10-19"})):
                a = fetch(bw.port, path, method, hdrs)
                b = fetch(ng_port, path, method, hdrs)
                assert a[0] == b[0], (path, method)
                assert a[2] == b[2], (path, method)
                for name in ("content-type", "content-length",
                             "accept-ranges", "transfer-encoding",
                             "content-range"):
                    assert a[1].get(name) == b[1].get(name), (path, method,
                                                              name)

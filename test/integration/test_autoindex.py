"""
autoindex (modules/http_autoindex): directory listings in HTML, XML, JSON
and JSONP; names escaped and cut as nginx does, sizes exact or rounded,
dates in GMT or local time, hidden names left out, symbolic links
followed; the statuses around it (no listing without autoindex, 403 for
a directory that cannot be read, 400 for a bad JSONP callback, 301 for a
missing slash); and the same answers as Debian's nginx.
"""

import json
import os
import socket
import xml.etree.ElementTree as ET

import pytest

from conftest import (free_port, needs_nginx, nginx_serving, recv_all,
                      require_module)

# 2026-12-07 10:07:33 UTC, and a second date in another month and year
MTIME = 1796638053
OLD = 1609459199          # 2020-12-31 23:59:59 UTC

LONG = "n" * 60
UTF8 = "\u00e9" * 55      # 55 characters, 110 bytes
EDGE = "e" * 50           # exactly the column's width


def exchange(port, path, method="GET", version="1.1", headers=()):
    """One request on its own connection: (status, headers, body)."""
    req = "%s %s HTTP/%s\r\nHost: x\r\nConnection: close\r\n" % (
        method, path, version)
    for h in headers:
        req += h + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((req + "\r\n").encode("utf-8", "surrogateescape"))
        data = recv_all(s, timeout=10)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    if "chunked" in hdrs.get("transfer-encoding", [""])[0]:
        body = dechunk(body)
    return status, hdrs, body


def dechunk(data):
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2:]


def put(root, rel, size=0, mtime=MTIME):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        if size:
            f.truncate(size)          # sparse: a "1G" file costs nothing
    os.utime(p, (mtime, mtime))
    return p


def tree(tmp_path):
    """A directory with what a listing has to get right."""
    root = str(tmp_path / "www")
    d = os.path.join(root, "d")
    os.makedirs(d)
    put(d, "plain.txt", 3)
    put(d, "with space.txt", 1)
    put(d, 'x&<>"q.txt', 2)
    put(d, "c:d", 0)
    put(d, "h\u00e9llo.txt", 5)
    put(d, LONG, 1)
    put(d, UTF8, 1)
    put(d, EDGE, 7)
    put(d, "Zeta", 1)
    put(d, "alpha", 1, OLD)
    put(d, ".hidden", 1)
    put(d, "sub/.keep", 1)
    put(d, "x" * 49 + "/inner", 1)
    put(d, "y" * 50 + "/inner", 1)
    put(d, "%41 #?;+.txt", 1)
    put(d, "ctl\x01\ttab\\bs", 1)
    put(d, os.fsdecode(b"bad\xff\xfe.bin"), 1)
    os.mkdir(os.path.join(d, ".git"))
    os.mkdir(os.path.join(d, "a b&c"))
    os.symlink("sub", os.path.join(d, "link-to-dir"))
    os.symlink("plain.txt", os.path.join(d, "link-to-file"))
    os.symlink("nowhere", os.path.join(d, "dangling"))
    os.symlink("loop2", os.path.join(d, "loop1"))
    os.symlink("loop1", os.path.join(d, "loop2"))
    os.mkfifo(os.path.join(d, "fifo"))
    for name in os.listdir(d):
        os.utime(os.path.join(d, name), (MTIME, MTIME), follow_symlinks=False)
        if not os.path.islink(os.path.join(d, name)):
            os.utime(os.path.join(d, name), (MTIME, MTIME))
    os.utime(os.path.join(d, "alpha"), (OLD, OLD))
    # sizes around nginx's rounding steps
    s = os.path.join(root, "sizes")
    for n in (0, 9999, 10000, 10751, 10752, 1048575, 1048576, 1572863,
              1572864, 2 ** 30 - 1, 2 ** 30, 3 * 2 ** 30 // 2):
        put(s, "s%010d" % n, n)
    # many entries
    for i in range(300):
        put(root, "many/f%03d" % (299 - i), i)
    put(root, "many/dir/x", 1)
    put(root, "indexed/index.html", 0)
    put(root, "indexed/other", 0)
    put(root, "file.txt", 3)
    os.makedirs(os.path.join(root, "empty"))
    return root


HTTP = """
    include %(mime)s;
    server {
        listen 127.0.0.1:%(port)s;
        root %(root)s;
        autoindex on;
        location /off/ { alias %(root)s/d/; autoindex off; }
        location /json/ { alias %(root)s/d/; autoindex_format json; }
        location /jsonp/ { alias %(root)s/d/; autoindex_format jsonp; }
        location /xml/ { alias %(root)s/d/; autoindex_format xml; }
        location /utf8/ { alias %(root)s/d/; charset utf-8; }
        location /round/ { alias %(root)s/sizes/;
                           autoindex_exact_size off; }
        location /local/ { alias %(root)s/d/; autoindex_localtime on;
                           autoindex_exact_size off; charset utf-8; }
        location /xmllocal/ { alias %(root)s/d/; autoindex_format xml;
                              autoindex_localtime on; }
    }
"""


@pytest.fixture
def served(bw, tmp_path):
    root = tree(tmp_path)
    bw.config(HTTP % {"mime": bw.path("conf", "mime.types"), "port": "PORT",
                      "root": root})
    bw.start()
    return root


def lines_of(body):
    text = body.decode("utf-8", "surrogateescape")
    return text.split("\r\n")


def test_html_page(bw, served):
    st, h, body = exchange(bw.port, "/d/")
    assert st == 200
    assert h["content-type"] == ["text/html"]
    lines = lines_of(body)
    assert lines[:3] == ["<html>", "<head><title>Index of /d/</title></head>",
                         "<body>"]
    assert lines[3] == '<h1>Index of /d/</h1><hr><pre><a href="../">../</a>'
    assert lines[-3:] == ["</pre><hr></body>", "</html>", ""]
    entries = lines[4:-3]
    names = [l[l.index('">') + 2:l.index("</a>")] for l in entries]
    # directories first, then byte order; names with "." left out
    assert names == [
        "a b&amp;c/", "link-to-dir/", "sub/", "x" * 49 + "/",
        "y" * 50,
        "%41 #?;+.txt", "Zeta", "alpha", "bad\udcff\udcfe.bin", "c:d",
        "ctl\x01\ttab\\bs", "dangling", "e" * 50, "fifo",
        "h\u00e9llo.txt", "link-to-file", "loop1", "loop2", "n" * 47 + "..&gt;",
        "plain.txt", "with space.txt", "x&amp;&lt;&gt;&quot;q.txt",
        # without charset=utf-8 the column counts bytes, cut mid-character
        "\u00e9" * 23 + "\udcc3..&gt;"]
    date = " 07-Dec-2026 10:07 "
    assert '<a href="a%20b%26c/">a b&amp;c/</a>' + " " * 44 + date + \
        "%19s" % "-" in entries
    assert '<a href="plain.txt">plain.txt</a>' + " " * 41 + date + \
        "%19d" % 3 in entries
    assert '<a href="alpha">alpha</a>' + " " * 45 + \
        " 31-Dec-2020 23:59 " + "%19d" % 1 in entries
    assert '<a href="%2541%20%23%3F%3B%2B.txt">' in "".join(entries)
    assert '<a href="c%3Ad">' in "".join(entries)
    assert '<a href="h%C3%A9llo.txt">' in "".join(entries)
    assert '<a href="x%26%3C%3E%22q.txt">' in "".join(entries)
    # a name of exactly 50 characters fills the column; a directory of 49
    # gets its "/" and no padding; one of 50 has no room for the "/"
    assert '<a href="%s">%s</a> 07-Dec' % ("e" * 50, "e" * 50) in \
        "".join(entries)
    assert '<a href="%s/">%s/</a> 07-Dec' % ("x" * 49, "x" * 49) in \
        "".join(entries)
    assert '<a href="%s/">%s</a> 07-Dec' % ("y" * 50, "y" * 50) in \
        "".join(entries)


def test_utf8_names_counted_in_characters(bw, served):
    st, h, body = exchange(bw.port, "/utf8/")
    assert st == 200 and h["content-type"] == ["text/html; charset=utf-8"]
    text = body.decode("utf-8", "surrogateescape")
    assert "Index of /utf8/" in text
    assert '<a href="h%C3%A9llo.txt">h\u00e9llo.txt</a>' + " " * 41 + \
        " 07-Dec" in text
    assert ">" + "\u00e9" * 47 + "..&gt;</a> 07-Dec" in text
    # not UTF-8: counted in bytes after all
    assert ">bad\udcff\udcfe.bin</a>" + " " * 41 + " 07-Dec" in text


def test_uri_is_escaped_in_the_page(bw, served, tmp_path):
    os.makedirs(os.path.join(served, "a<b>&c"))
    st, _, body = exchange(bw.port, "/a%3Cb%3E&c/")
    assert st == 200
    assert b"<title>Index of /a&lt;b&gt;&amp;c/</title>" in body
    assert b"<h1>Index of /a&lt;b&gt;&amp;c/</h1>" in body


def test_empty_directory(bw, served):
    st, _, body = exchange(bw.port, "/empty/")
    assert st == 200
    assert body == (b"<html>\r\n<head><title>Index of /empty/</title></head>"
                    b"\r\n<body>\r\n<h1>Index of /empty/</h1><hr><pre>"
                    b'<a href="../">../</a>\r\n</pre><hr></body>\r\n'
                    b"</html>\r\n")


def test_sizes_rounded(bw, served):
    st, _, body = exchange(bw.port, "/round/")
    assert st == 200
    got = {}
    for line in lines_of(body):
        if line.startswith('<a href="s'):
            got[int(line[10:20])] = line[-7:]
    assert got == {
        0: "      0", 9999: "   9999", 10000: "    10K", 10751: "    10K",
        10752: "    11K", 1048575: "  1024K", 1048576: "     1M",
        1572863: "     1M", 1572864: "     2M", 2 ** 30 - 1: "  1024M",
        2 ** 30: "     1G", 3 * 2 ** 30 // 2: "     2G"}
    st, _, body = exchange(bw.port, "/sizes/")
    assert (" 07-Dec-2026 10:07 %19d\r\n" % 2 ** 30).encode() in body


def test_localtime(bw, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "XYZ-5:30")
    root = tree(tmp_path)
    bw.config(HTTP % {"mime": bw.path("conf", "mime.types"), "port": "PORT",
                      "root": root})
    bw.start()
    _, _, body = exchange(bw.port, "/local/")
    text = body.decode("utf-8", "surrogateescape")
    assert '<a href="alpha">alpha</a>' + " " * 45 + \
        " 01-Jan-2021 05:29       1\r\n" in text
    assert '<a href="sub/">sub/</a>' + " " * 46 + \
        " 07-Dec-2026 15:37       -\r\n" in text
    # without the directive, and in XML whatever it says: GMT
    _, _, body = exchange(bw.port, "/d/")
    assert b" 07-Dec-2026 10:07 " in body
    _, _, body = exchange(bw.port, "/xmllocal/")
    assert b'<file mtime="2020-12-31T23:59:59Z" size="1">alpha</file>' in body


def test_json(bw, served):
    st, h, body = exchange(bw.port, "/json/")
    assert st == 200 and h["content-type"] == ["application/json"]
    assert body.startswith(b"[\r\n{ ") and body.endswith(b" }\r\n]")
    items = json.loads(body.decode("utf-8", "surrogateescape"))
    by_name = {i["name"]: i for i in items}
    assert by_name["sub"] == {"name": "sub", "type": "directory",
                              "mtime": "Mon, 07 Dec 2026 10:07:33 GMT"}
    assert by_name["plain.txt"] == {
        "name": "plain.txt", "type": "file",
        "mtime": "Mon, 07 Dec 2026 10:07:33 GMT", "size": 3}
    assert by_name["alpha"]["mtime"] == "Thu, 31 Dec 2020 23:59:59 GMT"
    assert by_name["fifo"]["type"] == "other" and "size" not in \
        by_name["fifo"]
    assert by_name["link-to-dir"]["type"] == "directory"
    assert by_name["link-to-file"]["type"] == "file"
    assert by_name["dangling"]["type"] == "other"
    assert 'x&<>"q.txt' in by_name and "ctl\x01\ttab\\bs" in by_name
    assert b'"name":"ctl\\u0001\\ttab\\\\bs"' in body
    assert LONG in by_name and UTF8 in by_name
    assert [i["name"] for i in items][:5] == [
        "a b&c", "link-to-dir", "sub", "x" * 49, "y" * 50]
    assert not any(i["name"].startswith(".") for i in items)


def test_jsonp(bw, served):
    st, h, body = exchange(bw.port, "/jsonp/?callback=my_fn.x1")
    assert st == 200 and h["content-type"] == ["application/javascript"]
    assert body.startswith(b"/* callback */\r\nmy_fn.x1([\r\n{ ")
    assert body.endswith(b" }\r\n]);")
    inner = body[len(b"/* callback */\r\nmy_fn.x1("):-2]
    assert len(json.loads(inner.decode("utf-8", "surrogateescape"))) == 23
    # no callback: plain JSON
    st, h, body = exchange(bw.port, "/jsonp/?a=1")
    assert st == 200 and h["content-type"] == ["application/json"]
    assert body.startswith(b"[\r\n")
    st, h, body = exchange(bw.port, "/jsonp/?callback=")
    assert st == 200 and h["content-type"] == ["application/json"]
    # a name that could inject script is refused
    for bad in ("a-b", "a%28%29", "f(1)", "x" * 129):
        st, _, _ = exchange(bw.port, "/jsonp/?callback=" + bad)
        assert st == 400, bad
    st, _, _ = exchange(bw.port, "/jsonp/?callback=" + "x" * 128)
    assert st == 200
    assert "client sent invalid callback name" in bw.logs()
    assert "client sent too long callback name" in bw.logs()


def test_xml(bw, served):
    st, h, body = exchange(bw.port, "/xml/")
    assert st == 200 and h["content-type"] == ["text/xml; charset=utf-8"]
    assert body.startswith(b'<?xml version="1.0"?>\r\n<list>\r\n'
                           b'<directory mtime="2026-12-07T10:07:33Z">'
                           b"a b&amp;c</directory>\r\n")
    assert body.endswith(b"</list>\r\n")
    assert b'<file mtime="2026-12-07T10:07:33Z" size="3">plain.txt</file>' \
        in body
    assert b'<other mtime="2026-12-07T10:07:33Z">fifo</other>' in body
    assert b'size="2">x&amp;&lt;&gt;&quot;q.txt</file>' in body
    clean = body.replace(b"\x01", b"").replace(b"\xff\xfe", b"")
    items = ET.fromstring(clean)
    assert len(items) == 23
    assert {e.tag for e in items} == {"directory", "file", "other"}


def test_many_entries(bw, served):
    st, _, body = exchange(bw.port, "/many/")
    lines = lines_of(body)[4:-3]
    assert len(lines) == 301
    assert lines[0].startswith('<a href="dir/">dir/</a>')
    names = [l[9:l.index('"', 9)] for l in lines[1:]]
    assert names == ["f%03d" % i for i in range(300)]
    st, _, body = exchange(bw.port, "/json/")
    assert st == 200


def test_head(bw, served):
    for path, ctype in (("/d/", "text/html"), ("/json/", "application/json"),
                        ("/xml/", "text/xml; charset=utf-8")):
        st, h, body = exchange(bw.port, path, "HEAD")
        assert st == 200 and body == b""
        assert h["content-type"] == [ctype]
        assert "content-length" not in h and "last-modified" not in h


def test_http10_closes_instead_of_chunking(bw, served):
    st, h, body = exchange(bw.port, "/d/", version="1.0")
    assert st == 200 and "transfer-encoding" not in h
    assert body.endswith(b"</html>\r\n")


def test_statuses(bw, served):
    # the redirect, the 405 and the index file are other modules' work
    require_module("http_static", "http_index")
    # the static module's redirect for a directory without its slash
    st, h, _ = exchange(bw.port, "/d")
    assert st == 301 and h["location"] == ["http://x:%d/d/" % bw.port]
    st, h, _ = exchange(bw.port, "/a%20b/?q=1")
    assert st == 404
    st, h, _ = exchange(bw.port, "/d/a%20b%26c?q=1")
    assert st == 301 and h["location"][0].endswith("/d/a%20b&c/?q=1")
    # an index file wins
    st, _, body = exchange(bw.port, "/indexed/")
    assert st == 200 and body == b""
    # off in a location: 403, as with no autoindex at all
    st, _, _ = exchange(bw.port, "/off/")
    assert st == 403
    assert 'directory index of "/off/" is forbidden' in bw.logs()
    # missing, and a file named as a directory
    assert exchange(bw.port, "/nothere/")[0] == 404
    assert exchange(bw.port, "/file.txt/")[0] == 404
    # only GET and HEAD are listings: a POST finds no handler, other
    # methods are the static module's 405
    assert exchange(bw.port, "/d/", "POST",
                    headers=("Content-Length: 0",))[0] == 403
    assert exchange(bw.port, "/d/", "DELETE")[0] == 405


def test_inheritance(bw, tmp_path):
    root = tree(tmp_path)
    bw.config("""
        autoindex on;
        autoindex_format json;
        autoindex_exact_size off;
        server {
            listen 127.0.0.1:PORT;
            root %(root)s;
            autoindex_format xml;
            location /d/ { }
            location /round/ { alias %(root)s/sizes/;
                               autoindex_format html; }
            location /no/ { alias %(root)s/d/; autoindex off; }
        }
    """ % {"root": root})
    bw.start()
    st, h, _ = exchange(bw.port, "/d/")
    assert st == 200 and h["content-type"] == ["text/xml; charset=utf-8"]
    st, h, body = exchange(bw.port, "/round/")
    assert st == 200 and h["content-type"] == ["text/html"]
    assert b"     2G\r\n" in body
    assert exchange(bw.port, "/no/")[0] == 403


def test_directives(bw):
    cases = (
        ("autoindex_format yaml;", 'invalid value "yaml"'),
        ("autoindex_format html; autoindex_format json;",
         '"autoindex_format" directive is duplicate'),
        ("autoindex on; autoindex off;", '"autoindex" directive is duplicate'),
        ("autoindex_exact_size 1;",
         'invalid value "1" in "autoindex_exact_size" directive, it must '
         'be "on" or "off"'),
        ("autoindex_localtime;",
         'invalid number of arguments in "autoindex_localtime" directive'),
        ("autoindex_format;",
         'invalid number of arguments in "autoindex_format" directive'),
    )
    for directive, message in cases:
        bw.config("server { listen 127.0.0.1:PORT; location / { %s } }"
                  % directive)
        r = bw.run("-t")
        assert r.returncode == 1, directive
        assert message in r.stderr, (directive, r.stderr)
    bw.config("server { listen 127.0.0.1:PORT; autoindex_format JSONP;"
              " autoindex_localtime on; autoindex_exact_size off; }")
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    bw.config("server { listen 127.0.0.1:PORT; if ($args) { autoindex on; } }")
    r = bw.run("-t")
    assert r.returncode == 1
    assert '"autoindex" directive is not allowed here' in r.stderr


@pytest.mark.skipif(os.geteuid() == 0,
                    reason="as root, permissions do not keep a reader out")
def test_unreadable_directory(bw, served):
    d = os.path.join(served, "locked")
    os.makedirs(d)
    put(d, "secret", 1)
    try:
        # searchable but not readable: the index lookup passes, the
        # listing is refused
        os.chmod(d, 0o311)
        assert exchange(bw.port, "/locked/")[0] == 403
        assert "opendir()" in bw.logs()
        # not even searchable: refused before it
        os.chmod(d, 0o000)
        assert exchange(bw.port, "/locked/")[0] == 403
        # an entry that cannot be looked at is left out
        os.chmod(d, 0o755)
        inner = os.path.join(d, "inner")
        os.makedirs(inner)
        put(inner, "x", 1)
        os.chmod(inner, 0o000)
        st, _, body = exchange(bw.port, "/locked/")
        assert st == 200 and b"secret" in body and b"inner" in body
    finally:
        os.chmod(d, 0o755)
        for sub in ("inner",):
            p = os.path.join(d, sub)
            if os.path.isdir(p):
                os.chmod(p, 0o755)


@needs_nginx
def test_same_answers_as_nginx(bw, tmp_path, monkeypatch):
    require_module("http_static", "http_index")
    monkeypatch.setenv("TZ", "XYZ-5:30")
    root = tree(tmp_path)
    args = {"mime": bw.path("conf", "mime.types"), "root": root}
    bw.config(HTTP % dict(args, port="PORT"))
    bw.start()
    nport = free_port()

    cases = []
    for path in ("/d/", "/utf8/", "/json/", "/xml/", "/round/", "/local/",
                 "/xmllocal/", "/sizes/", "/many/", "/empty/", "/indexed/",
                 "/off/", "/nothere/", "/file.txt/", "/d", "/d/sub/",
                 "/jsonp/", "/jsonp/?callback=cb", "/jsonp/?callback=a.b_9",
                 "/jsonp/?callback=", "/jsonp/?callback=a-b",
                 "/jsonp/?callback=" + "c" * 129, "/json/?callback=x",
                 "/d/a%20b%26c/", "/d/link-to-dir/", "/d/x%2e/../",
                 "/d/%C3%A9/", "/d//sub/", "/d/dangling/"):
        for method in ("GET", "HEAD"):
            for version in ("1.1", "1.0"):
                cases.append((path, method, version))
    cases.append(("/d/", "POST", "1.1", ("Content-Length: 0",)))
    cases.append(("/d/", "DELETE", "1.1"))
    # a listing has no ranges and no validators
    cases.append(("/d/", "GET", "1.1", ("Range: bytes=0-10",)))
    cases.append(("/d/", "GET", "1.1",
                  ("If-Modified-Since: Mon, 07 Dec 2026 10:07:33 GMT",)))

    def observe(port):
        out = []
        for path, method, version, *extra in cases:
            hdrs = extra[0] if extra else ()
            st, h, body = exchange(port, path, method, version, hdrs)
            location = h.get("location", [""])[0]
            out.append((path, method, version, st,
                        h.get("content-type"), h.get("transfer-encoding"),
                        # an error page names the server
                        h.get("content-length") if st < 300 else "",
                        location.split(":%d" % port)[-1],
                        "last-modified" in h, "etag" in h,
                        body if st < 300 else b""))
        return out

    ours = observe(bw.port)
    with nginx_serving(tmp_path, HTTP % dict(args, port=nport), nport):
        theirs = observe(nport)
    # the comparison compared listings, not error pages
    assert sum(1 for o in theirs if o[3] == 200 and o[-1]) >= 40
    diff = ["\n ours:   %r\n theirs: %r" % (a, b)
            for a, b in zip(ours, theirs) if a != b]
    assert not diff, "".join(diff[:4])

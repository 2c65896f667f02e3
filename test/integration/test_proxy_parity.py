"""
Random proxied requests, the same ones through bulwark and through
Debian's nginx with the same configuration, in front of one origin that
keeps every request as it came and answers from a list of responses
(the request says which): what the origin receives (request line, header
lines in order, body) and what the client receives (status, header
lines, body) must be the same. A fixed seed: the same requests every
run; a failure names the request.

The differences docs/compatibility.md lists are kept out of the
requests and responses drawn here (interim answers, Upgrade and Trailer
from the upstream, raw bytes above 0x7e in a URI that is replaced).
Some requests are HTTP/1.0 ones, some end their head's lines in LF
alone.
"""

import random
import re
import socket
import socketserver
import threading

from conftest import (free_port, needs_nginx, nginx_serving, require_module,
                      wait_for)

pytestmark = needs_nginx

ROUNDS = 600
SEED = 20261202

HTTP = """
    upstream origin { server 127.0.0.1:%(o)d; keepalive 4; }
    upstream pair { server 127.0.0.1:%(dead)d; server 127.0.0.1:%(o)d;
                    server 127.0.0.1:%(o)d backup; }
    log_format up '$request_uri $status "$upstream_status" '
                  '"$upstream_bytes_sent" "$upstream_bytes_received" '
                  '$request_length "$upstream_addr"';
    server { listen 127.0.0.1:%(port)d; server_name front;
        access_log %(log)s up;
        location /ka/ { proxy_pass http://origin;
                        proxy_http_version 1.1;
                        proxy_set_header Connection ""; }
        location /uri/ { proxy_pass http://127.0.0.1:%(o)d/new/; }
        location /hdr/ { proxy_pass http://origin;
                         proxy_set_header Host $host;
                         proxy_set_header X-Real-IP $remote_addr;
                         proxy_set_header X-Forwarded-For
                                          $proxy_add_x_forwarded_for;
                         proxy_set_header X-Empty "";
                         proxy_hide_header X-Secret;
                         proxy_pass_header Server;
                         proxy_redirect http://o.example/ /hdr/;
                         proxy_redirect ~^http://(?<hh>[a-z]+)\\.named/(.*)$
                                        /n/$hh/$2; }
        location ~ ^/re/(.*)$ { proxy_pass http://origin/r/$1$is_args$args; }
        location /nobody/ { proxy_pass http://origin;
                            proxy_pass_request_body off;
                            proxy_set_header Content-Length "";
                            proxy_pass_request_headers off; }
        location /int/ { proxy_pass http://origin;
                         proxy_intercept_errors on;
                         error_page 500 = /fallback;
                         error_page 404 = @named;
                         error_page 418 =200 /fallback;
                         error_page 401 http://login.example/?from=int;
                         error_page 302 =204 /fallback; }
        location @named { return 200 "named:$uri|$args|$status\\n"; }
        location = /fallback { return 299 "fallback:$uri|$args\\n"; }
        location / { return 404; }
        location /pair/ { proxy_pass http://pair;
                          proxy_next_upstream error timeout invalid_header
                                              http_502 http_500; }
        location /var/ { proxy_pass http://origin/v$request_uri;
                         proxy_set_header X-U
                             "$uri|$args|$http_user_agent|$is_args";
                         proxy_set_header X-Host "$host:$server_port"; }
        location /body/ { proxy_pass http://origin;
                          proxy_method POST;
                          proxy_set_body "b=$arg_b"; }
        location /ck/ { proxy_pass http://origin;
                        proxy_cookie_path / /ck/;
                        proxy_cookie_domain o.example front;
                        proxy_cookie_domain
                            ~^(?<sub>[a-z]+)\\.svc\\.example$ $sub.front;
                        add_header X-Added yes;
                        add_header X-Uc
                            "$upstream_cookie_s|$upstream_cookie_T|$upstream_cookie_a|$upstream_cookie_b"; }
        location /unbuf/ { proxy_pass http://origin;
                           proxy_http_version 1.1;
                           proxy_buffering off;
                           proxy_request_buffering off; }
        location /ign/ { proxy_pass http://origin;
                         proxy_ignore_headers X-Accel-Buffering Expires;
                         proxy_hide_header ETag; }
    }
"""

# what the origin answers: X-R picks one; {n} is the request's number
RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6"
    b"\r\nX-N: {n}\r\n\r\nhello\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1; "
    b"Path=/\r\nSet-Cookie: b=2\r\nX-N: {n}\r\n\r\n"
    b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    b"HTTP/1.1 302 Found\r\nLocation: http://o.example/moved?x=1\r\n"
    b"Content-Length: 0\r\nX-N: {n}\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nX-N: {n}\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\nX-N: {n}\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nServer: origin/1\r\nX-Secret: s\r\n"
    b"X-Powered-By: p\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n"
    b"X-N: {n}\r\n\r\nok",
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
    b"X-N: {n}\r\n\r\nerr\n",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-N: {n}\r\n\r\n"
    b"until the close",
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nVary: Accept\r\n"
    b"Cache-Control: no-cache\r\nX-N: {n}\r\n\r\nno\n",
    b"HTTP/1.1 301 Moved\r\nLocation: /rel/path\r\nContent-Length: 0\r\n"
    b"X-N: {n}\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nLast-Modified: Wed, 21 Oct 2015 "
    b"07:28:00 GMT\r\nAccept-Ranges: bytes\r\nContent-Length: 10\r\n"
    b"X-N: {n}\r\n\r\n0123456789",
    # one challenge: an intercepted 401 keeps only the first in nginx 1.22
    # (all of them in later nginx and bulwark); two below, not intercepted
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\n"
    b"Content-Length: 0\r\nX-N: {n}\r\n\r\n",
    b"HTTP/1.1 303 See Other\r\nLocation: http://origin/ka/x\r\n"
    b"Refresh: 5; url=http://o.example/r\r\nContent-Length: 0\r\n"
    b"X-N: {n}\r\n\r\n",
    b"HTTP/1.1 307 Temporary\r\nLocation: http://127.0.0.1:{o}/new/a?b\r\n"
    b"Content-Length: 0\r\nX-N: {n}\r\n\r\n",
    b"HTTP/1.1 200\r\ncontent-type: Text/Plain; Charset=UTF-8\r\n"
    b"content-length: 3\r\nx-n: {n}\r\n\r\nabc",
    b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nX-N: {n}\r\n\r\n",
    # (a repeated Content-Length, even the same, is a 502 since nginx
    # 1.23: test_proxy.py)
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Dup: 1\r\nX-Dup: 2\r\n"
    b"X-N: {n}\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nX-Accel-Buffering: no\r\nExpires: Thu, 01 Jan "
    b"2037 00:00:00 GMT\r\nCache-Control: max-age=1\r\n"
    b"Transfer-Encoding: chunked\r\nX-N: {n}\r\n\r\n"
    b"1\r\na\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Domain=o.example; Path=/; "
    b"HttpOnly\r\nSet-Cookie: t=2; path=/sub; domain=.o.example\r\n"
    b"Content-Length: 1\r\nX-N: {n}\r\n\r\nc",
    b"HTTP/1.1 407 Proxy Auth\r\nWWW-Authenticate: Basic realm=y\r\n"
    b"WWW-Authenticate: Bearer\r\nContent-Length: 0\r\nX-N: {n}\r\n\r\n",
    # every Domain and Path of a cookie is rewritten; named captures
    b"HTTP/1.1 301 Moved\r\nLocation: http://api.named/x?y=1\r\n"
    b"Set-Cookie: m=1; Domain=o.example; domain=API.svc.example; "
    b"Domain=x\r\nSet-Cookie: n=2;Path=/a; Domain=.o.example;  path=/b\r\n"
    b"Content-Length: 0\r\nX-N: {n}\r\n\r\n",
]
BROKEN = [
    # broken answers, each followed by the close (those where nginx 1.22
    # and later nginx differ are left out: both Content-Length and
    # Transfer-Encoding, an invalid or a repeated Content-Length)
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-N: {n}\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nBad Header Line\r\nX-N: {n}\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
    b"",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-N: {n}\r\n\r\n"
    b"3\r\nabc\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-N: {n}\r\n",
]
CLOSE_DELIMITED = {7} | set(range(len(RESPONSES), len(RESPONSES)
                                   + len(BROKEN)))
RESPONSES += BROKEN


class Origin(socketserver.ThreadingTCPServer):
    """Keeps each request's raw head and body by its X-N number."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), OriginHandler)
        self.seen = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()


class OriginHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        while True:
            try:
                head = []
                line = self.rfile.readline(65537)
                if not line:
                    return
                while line not in (b"\r\n", b"\n", b""):
                    head.append(line.rstrip(b"\r\n"))
                    line = self.rfile.readline(65537)
                fields = [h.split(b":", 1) for h in head[1:]]
                get = {k.strip().lower(): v.strip() for k, v in fields}
                body = b""
                if b"content-length" in get:
                    body = self.rfile.read(int(get[b"content-length"]))
                elif get.get(b"transfer-encoding", b"").lower() == b"chunked":
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n",
                                                                b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
            except (OSError, ValueError):
                return
            n = get.get(b"x-n", b"?")
            with self.server.lock:
                self.server.seen[n] = (head, body)
            k = int(get.get(b"x-r", b"0"))
            resp = RESPONSES[k].replace(b"{n}", n).replace(
                b"{o}", b"%d" % self.server.server_address[1])
            if head[0].startswith(b"HEAD "):
                resp = resp.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                if k in CLOSE_DELIMITED and resp.startswith(b"HTTP/1.1"):
                    # said, or a proxy may pool the connection and meet
                    # the close with its next request (a race: nginx
                    # answers 502 then, compatibility.md)
                    resp = resp.replace(b"\r\n", b"\r\nConnection: close"
                                        b"\r\n", 1)
            self.wfile.write(resp)
            if k in CLOSE_DELIMITED:
                return


def read_response(f, method):
    """One response from the file f: (status, [header lines], body)."""
    status = f.readline()
    if not status:
        return None, [], b""        # closed without an answer
    head = []
    line = f.readline()
    while line not in (b"\r\n", b"\n", b""):
        head.append(line.rstrip(b"\r\n"))
        line = f.readline()
    code = int(status.split()[1])
    head.insert(0, status.split()[0])     # the version said
    get = {}
    for h in head:
        k, _, v = h.partition(b":")
        get[k.strip().lower()] = v.strip()
    body = b""
    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
        pass
    elif b"content-length" in get:
        body = f.read(int(get[b"content-length"]))
    elif get.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                f.readline()
                break
            body += f.read(size)
            f.readline()
    else:
        body = f.read()
    return code, head, body


PATHS = ["http://front/ka/absolute", "/ka/", "/ka/a/b", "/ka/a%20b?x=1&y=%41",
         "/ka/%7Euser/..%2fx",
         "/uri/", "/uri/deep/er?q", "/uri/a%2Fb", "/uri/x;p=1",
         "/hdr/", "/hdr/p?k=v", "/re/one?two=2", "/re/a%20b",
         "/nobody/x", "/int/e", "/int/f", "/int/g", "/ka//double//slash", "/uri/a/./b/../c",
         "/ka/plus+sign", "/re/", "/var/a%20b?x=1", "/var/",
         "/body/?b=1", "/ck/c", "/unbuf/u?q=1", "/ign/i"]
METHODS = ["GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
           "PATCH"]
EXTRA = [
    ("Connection", "keep-alive"), ("Connection", "close, x-hop"),
    ("X-Hop", "1"), ("Keep-Alive", "timeout=9"), ("TE", "trailers"),
    ("Proxy-Connection", "keep-alive"), ("X-Forwarded-For", "192.0.2.7"),
    ("X-Forwarded-For", "198.51.100.1, 192.0.2.8"), ("Cookie", "c=1; d=2"),
    ("Accept-Encoding", "gzip, br"), ("X-Dup", "one"), ("X-Dup", "two"),
    ("X-Empty-Value", ""), ("User-Agent", "ua/1.0 (x; y)"),
    ("X-Long", "v" * 100), ("Accept", "*/*"), ("Referer", "http://r/"),
    ("If-None-Match", '"e1"'), ("Range", "bytes=0-1"),
    ("X-Under_score", "u"), ("Authorization", "Basic dTpw"),
    ("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("Range", "bytes=2-4,6-"),
    ("x-lower", "case"), ("X-Forwarded-Proto", "https"),
    ("Forwarded", "for=192.0.2.60"), ("Max-Forwards", "3"),
]


PREFIXES = ["/ka/", "/uri/", "/hdr/", "/re/", "/var/", "/ck/", "/ign/",
            "/unbuf/", "/uri", "/ka", "/pair/", "/pair/"]
PIECES = ["x", "a%20b", "%2F", "%3F", "%25", "..", ".", "", "%2e%2e",
          "a+b", "%7E", "%C3%A9", ";p=1", "%23", "%00x", "deep", "%41"]
QUERIES = ["", "?", "?a=1", "?a=%20&b", "?x=%3F%26", "?%41=b"]


def random_path(rng):
    """A path through one of the locations, escapes and dot segments in
    it (no raw byte above 0x7e: compatibility.md)."""
    return (rng.choice(PREFIXES)
            + "/".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
            + rng.choice(QUERIES))


def draw(rng, n, last=True):
    """The n-th random request: (method, raw bytes)."""
    method = rng.choice(METHODS)
    path = rng.choice(PATHS) if rng.random() < 0.5 else random_path(rng)
    version = rng.choice(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"])
    headers = [("Host", rng.choice(["front", "front:8080", "Other.Name"]))]
    headers += [h for h in rng.sample(EXTRA, rng.randint(0, 6))
                if last or h[0] != "Connection"]
    if not last:
        # an HTTP/1.0 client keeps the connection only when it asks
        if version == "HTTP/1.0":
            headers.append(("Connection", "keep-alive"))
    headers.append(("X-N", str(n)))
    k = rng.randrange(len(RESPONSES))
    if method == "HEAD" and RESPONSES[k] == b"":
        # nginx takes a HEAD answered by nothing for an HTTP/0.9 answer
        # (and sends nothing): compatibility.md
        k = 0
    headers.append(("X-R", str(k)))
    body = b""
    chunked = False
    if method in ("POST", "PUT", "PATCH") or rng.random() < 0.1:
        body = bytes(rng.choice(b"abcxyz") for _ in range(rng.randint(0, 300)))
        chunked = version == "HTTP/1.1" and rng.random() < 0.3
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
    # the last request of a connection closes it, so that reading to
    # the close ends
    if last:
        headers.append(("Connection", "close"))
    rng.shuffle(headers)
    req = "%s %s %s\r\n" % (method, path, version)
    req += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
    if n % 7 == 3:
        # LF-only line ends (chosen by number: the draws stay the same)
        req = req.replace("\r\n", "\n")
    data = req.encode()
    if chunked:
        half = len(body) // 2
        for part in (body[:half], body[half:]):
            if part:
                data += b"%x\r\n%s\r\n" % (len(part), part)
        data += b"0\r\n\r\n"
    else:
        data += body
    return method, data


def ask(port, reqs):
    """The requests on one connection (sent one after the other, or all
    at once: pipelined), the answers read."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        out = []
        if reqs[0][2]:
            s.sendall(b"".join(data for _, data, _ in reqs))
        for method, data, piped in reqs:
            try:
                if not piped:
                    s.sendall(data)
                out.append(read_response(f, method))
            except OSError:
                # the server closed after the last answer: the two
                # servers must agree on that too
                out.append((None, [], b""))
        return out


# header lines that differ between any two servers by nature
VOLATILE = (b"date:", b"server:", b"x-n:")


ERROR_PAGE_SIGNATURE = re.compile(rb"<hr><center>[^<]*</center>")


def client_view(resp, ports):
    code, head, body = resp
    lines = []
    if code is None:
        return resp
    page = ERROR_PAGE_SIGNATURE.search(body) or (
        code >= 300 and not body and b"Content-Type: text/html" in head)
    body = ERROR_PAGE_SIGNATURE.sub(b"", body)
    for h in head:
        if h.lower().startswith(VOLATILE):
            continue
        if page and h.lower().startswith(b"content-length:"):
            continue            # the error page names the server
        for p in ports:
            h = h.replace(b":%d" % p, b":P")
        lines.append(h)
    return code, lines, body


def origin_view(seen, ports):
    if seen is None:
        return None
    head, body = seen
    out = []
    for h in head:
        for p in ports:
            h = h.replace(b":%d" % p, b":P")
        out.append(h)
    return out, body


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def collapse_retries(line):
    """The upstream fields of a log line with an attempt dropped where the
    next went to the same address: which pooled connection the upstream
    had closed (so that the request went again on a new one) depends on
    timing, in nginx as here."""
    parts = line.split('"')
    # uri status "st" "sent" "recv" length "addr"
    if len(parts) < 9:
        return line
    lists = [parts[i].split(", ") for i in (1, 3, 5, 7)]
    addrs = lists[3]
    keep = [i for i in range(len(addrs))
            if i + 1 == len(addrs) or addrs[i] != addrs[i + 1]]
    for n, i in enumerate((1, 3, 5, 7)):
        if len(lists[n]) == len(addrs):
            parts[i] = ", ".join(lists[n][k] for k in keep)
    return '"'.join(parts)


def test_random_requests_as_nginx(bw, tmp_path):
    require_module("http_proxy", "http_rewrite")
    origin = Origin()
    o = origin.server_address[1]
    dead = free_port()
    bw.config(HTTP % {"o": o, "port": bw.port, "dead": dead,
                      "log": tmp_path / "ours.log"})
    bw.start()
    port = free_port()

    rng = random.Random(SEED)
    conns = []
    n = 0
    while n < ROUNDS:
        # one request a connection, or up to three kept alive, pipelined
        # at times
        k = 1 if rng.random() < 0.6 else rng.randint(2, 3)
        piped = k > 1 and rng.random() < 0.4
        reqs = []
        for i in range(k):
            method, data = draw(rng, n + i, last=(i == k - 1))
            reqs.append((method, data, piped))
        closing = [int(re.search(rb"X-R: (\d+)", d).group(1))
                   in CLOSE_DELIMITED for _, d, _ in reqs[:-1]]
        if any(closing) and piped:
            # an answer that ends the connection with requests unread
            # behind it ends in a reset, which may take the answer with
            # it: not pipelined
            reqs = [(m, d, False) for m, d, _ in reqs]
        conns.append((n + k - len(reqs), reqs))
        n += k

    with nginx_serving(tmp_path, HTTP % {"o": o, "port": port, "dead": dead,
                                         "log": tmp_path / "theirs.log"},
                       port):
        diffs = []
        answered = [0, 0]
        for first, reqs in conns:
            ours = [client_view(r, (bw.port, o)) for r in ask(bw.port, reqs)]
            mine = [origin_view(origin.seen.pop(b"%d" % (first + i), None)
                                or origin.seen.pop(b"?", None), (bw.port, o))
                    for i in range(len(reqs))]
            theirs = [client_view(r, (port, o)) for r in ask(port, reqs)]
            their = [origin_view(origin.seen.pop(b"%d" % (first + i), None)
                                 or origin.seen.pop(b"?", None), (port, o))
                     for i in range(len(reqs))]
            answered[0] += sum(1 for a in ours if a[0] is not None)
            answered[1] += sum(1 for a in theirs if a[0] is not None)
            for i, req in enumerate(reqs):
                if ours[i] != theirs[i] or mine[i] != their[i]:
                    diffs.append((req[1].split(b"\r\n\r\n")[0], ours[i],
                                  theirs[i], mine[i], their[i]))
        # the upstream variables of each request, in the access log
        # (every answered request is there; one cut off may be too)
        wait_for(lambda: len(lines(tmp_path / "ours.log")) >= answered[0],
                 what="our log")
        wait_for(lambda: len(lines(tmp_path / "theirs.log")) >= answered[1],
                 what="nginx's log")
    origin.shutdown()
    origin.server_close()
    for a, b in zip(lines(tmp_path / "ours.log"),
                    lines(tmp_path / "theirs.log")):
        a, b = collapse_retries(a), collapse_retries(b)
        if a.split(" ", 2)[1:2] == ["400"]:
            # a path refused as invalid: nginx logs its $request_uri as
            # "-", bulwark as it came (compatibility.md)
            a, b = a.split(" ", 1)[1], b.split(" ", 1)[1]
        if a != b:
            diffs.append((a, b))
    assert not diffs, "%d of %d differ:\n%s" % (
        len(diffs), ROUNDS, "\n\n".join("\n".join(repr(x) for x in d)
                                        for d in diffs[:4]))

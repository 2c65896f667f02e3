"""
proxy_cache as nginx: the same sequences of requests through bulwark and
through Debian's nginx with the same http{} configuration, in front of
one origin on loopback that counts what it receives. For each request
the client's status, the X-Cache header (add_header ... always of
$upstream_cache_status: MISS, HIT, EXPIRED, BYPASS, or none), the body,
the origin's count of requests so far in the case and what the origin
saw (method, and any Range or If-* header it was sent) must be the
same; where a case says so, the cache's file names and the access log's
$upstream_cache_status too. Whether a response is stored, and for how
long, decides whether the origin is asked again, so the counts are what
tell a cache that works from one that only says HIT.

Each case is a function of a "server runner" (a context manager that
serves an http{} configuration and yields the front) returning what it
observed, so that the nginx half runs alone:

  BULWARK_REF_NGINX=$(scripts/reference-nginx) \\
      python3 test/integration/test_cache_parity.py [case...] [-n RUNS]

prints what nginx does, checked against EXPECTED below (the values seen
running Debian's nginx 1.22.1). The pytest cases skip while bulwark is
built without the http_cache module.

Expiry is polled with a deadline: the request is repeated until its
cache status changes; recorded are its first answer (a HIT), the first
with another status, and any in between that was not that HIT again.
"""

import contextlib
import hashlib
import itertools
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse

import pytest

from conftest import (NGINX, free_port, get, needs_nginx, nginx_serving,
                      raw, require_module, wait_for)

pytestmark = needs_nginx

# a date well in the future, and one in the past, in HTTP's form
FUTURE = "Thu, 01 Jan 2037 00:00:00 GMT"
PAST = "Thu, 01 Jan 2015 00:00:00 GMT"
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
FIXED = b"0123456789abcdef"
ERROR_PAGE_SIGNATURE = re.compile(rb"<hr><center>[^<]*</center>")


# ---------------------------------------------------------------- origin

class CountingOrigin(socketserver.ThreadingTCPServer):
    """Answers each request as its query says, counting the requests and
    keeping each one's method and Range and If-* headers:

      s=NNN           the status (default 200; 204 and 304 without a
                      body)
      h=Name:Value    a header line of the answer (repeatable)
      b=fixed         the body is FIXED (else "<path> #<n>\\n", n being
                      the request's number since the last reset)
    """
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _OriginHandler)
        self.port = self.server_address[1]
        self.lock = threading.Lock()
        self.seen = []
        threading.Thread(target=self.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()

    def reset(self):
        with self.lock:
            self.seen = []

    @property
    def count(self):
        with self.lock:
            return len(self.seen)

    def since(self, n):
        with self.lock:
            return list(self.seen[n:])

    def stop(self):
        self.shutdown()
        self.server_close()


# the request headers the origin reports: a cache asks its upstream for
# the whole response, without the client's Range and conditionals
REPORTED = ("range", "if-range", "if-none-match", "if-modified-since")


class _OriginHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        while True:
            try:
                line = self.rfile.readline(65537)
                if not line:
                    return
                method, target, version = line.decode("latin-1").split()
                hmap = {}
                while True:
                    h = self.rfile.readline(65537)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    hmap[k.strip().lower()] = v.strip()
                if "content-length" in hmap:
                    self.rfile.read(int(hmap["content-length"]))
            except (OSError, ValueError):
                return
            path, _, query = target.partition("?")
            args = urllib.parse.parse_qs(query, keep_blank_values=True)
            with self.server.lock:
                self.server.seen.append(
                    " ".join([method] + ["%s=%s" % (k, hmap[k])
                                         for k in REPORTED if k in hmap]))
                n = len(self.server.seen)
            status = int(args.get("s", ["200"])[0])
            body = FIXED if args.get("b") == ["fixed"] else \
                b"%s #%d\n" % (path.encode(), n)
            out = ["HTTP/1.1 %d X" % status, "Server: origin"]
            if status in (204, 304):
                body = b""
            else:
                out.append("Content-Length: %d" % len(body))
            out += [h.replace(":", ": ", 1) for h in args.get("h", [])]
            keep = version == "HTTP/1.1" and \
                hmap.get("connection", "").lower() != "close"
            if not keep:
                out.append("Connection: close")
            head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
            try:
                self.wfile.write(head + (b"" if method == "HEAD" else body))
                self.wfile.flush()
            except OSError:
                return
            if not keep:
                return


def url(path, *headers, status=None, fixed=False, **args):
    """The path with the query that makes the origin answer with these
    header lines ("Name: value") and status; other args are passed on."""
    q = [("s", str(status))] if status else []
    q += [("h", h.replace(": ", ":", 1)) for h in headers]
    if fixed:
        q.append(("b", "fixed"))
    q += sorted(args.items())
    return path + ("?" + urllib.parse.urlencode(q) if q else "")


# ----------------------------------------------------------------- front

class Front:
    """The server under test, as a case sees it."""

    def __init__(self, port, origin, cache, log):
        self.port = port
        self.origin = origin
        self.cache = cache
        self.log = log

    def ask(self, path, method="GET", headers=None):
        """One request: (request, status, X-Cache, body, the origin's
        count after it, what the origin saw for it, and the Content-Range
        and Set-Cookie of the answer where there are any)."""
        n = self.origin.count
        status, h, body = get(self.port, path, host="front",
                              headers=headers, method=method)
        desc = " ".join([method, path] + ["%s: %s" % kv for kv in
                                          sorted((headers or {}).items())])
        extra = tuple("%s: %s" % (k, h[k]) for k in
                      ("content-range", "set-cookie") if k in h)
        # the error pages name the server
        body = ERROR_PAGE_SIGNATURE.sub(b"", body)
        return (desc, status, h.get("x-cache"), body.decode("latin-1"),
                self.origin.count, tuple(self.origin.since(n))) + extra

    def ask_to_close(self, path, method="GET"):
        """One request with Connection: close, read to the close, for an
        answer whose body may fall short of its Content-Length: as ask(),
        with the Content-Length said."""
        n = self.origin.count
        resp = raw(self.port, b"%s %s HTTP/1.1\r\nHost: front\r\n"
                   b"Connection: close\r\n\r\n" % (method.encode(),
                                                    path.encode()))
        head, _, body = resp.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        h = dict((k.strip().lower(), v.strip()) for k, _, v in
                 (line.partition(":") for line in lines[1:]))
        return ("%s %s (to the close)" % (method, path),
                int(lines[0].split()[1]), h.get("x-cache"),
                body.decode("latin-1"), self.origin.count,
                tuple(self.origin.since(n)),
                "content-length: %s" % h.get("content-length"))

    def until_changed(self, path, timeout=6.0, **kw):
        """The request, then the same again while its cache status stays
        (a HIT, polled): the first answer, the answers (if any) in
        between that differ from it other than by being asked again, and
        the first answer with another status."""
        still = self.ask(path, **kw)
        out = [still]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.ask(path, **kw)
            if now[2] != still[2]:
                return out + [now]
            if now != still and now not in out:
                out.append(now)
        raise AssertionError("no change after %.0f s: %r" % (timeout, out))

    def cache_files(self, *keys):
        """The files under the cache folder, relative, sorted: a name that
        is the MD5 of one of these keys written as md5(key) ({o} in a
        key stands for the origin's port), and each folder above it that is
        the right piece of the MD5 for levels= (the first level the last
        characters) as the piece's length."""
        names = {}
        for k in keys:
            real = k.replace("{o}", str(self.origin.port)).encode()
            names[hashlib.md5(real).hexdigest()] = "md5(%s)" % k

        def listing():
            out = []
            for root, _, files in os.walk(self.cache):
                for f in files:
                    parts = os.path.relpath(os.path.join(root, f),
                                            self.cache).split(os.sep)
                    end = len(f)
                    for i in range(1, len(parts) - 1):
                        d = parts[i]
                        if f in names and f[end - len(d):end] == d:
                            end -= len(d)
                            parts[i] = str(len(d))
                    parts[-1] = names.get(f, f)
                    out.append("/".join(parts))
            return sorted(out)
        # a file may be renamed into place a moment after the answer:
        # the listing once every key named is there (or the deadline)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            out = listing()
            if all(any(o.endswith("/" + n) for o in out)
                   for n in names.values()):
                break
            time.sleep(0.02)
        return out

    def log_lines(self, n):
        def read():
            try:
                with open(self.log) as f:
                    lines = f.read().splitlines()
            except OSError:
                return None
            return lines if len(lines) >= n else None
        return wait_for(read, what="%d log lines in %s" % (n, self.log))


# the http{} contents every case shares; a case adds its locations
HTTP = """
    proxy_cache_path %(cache)s/one levels=1:2 keys_zone=one:1m;
    proxy_cache_path %(cache)s/two levels=2 keys_zone=two:1m
                     use_temp_path=off inactive=1h;
    proxy_cache_path %(cache)s/three keys_zone=three:1m max_size=10m;
    log_format cache '$request_method $uri $status "$upstream_cache_status"';
    server { listen 127.0.0.1:%(port)d; server_name front;
        access_log %(log)s cache;
        add_header X-Cache $upstream_cache_status always;
        %(locations)s
    }
"""


def serving(run, origin):
    """A runner(locations, tmp) -> context manager yielding a Front, from
    a function run(http_of) -> context manager serving the http{} text
    http_of(port) and yielding the port: each call its own cache folder
    and log, the origin's count reset."""
    numbers = itertools.count()

    @contextlib.contextmanager
    def serve(locations, tmp):
        k = next(numbers)
        cache = os.path.join(str(tmp), "cache-%d" % k)
        log = os.path.join(str(tmp), "access-%d.log" % k)
        os.makedirs(cache)
        with run(lambda port: HTTP % {
                "cache": cache, "log": log, "port": port,
                "locations": locations % {"o": origin.port}}) as port:
            origin.reset()
            yield Front(port, origin, cache, log)
    return serve


P = "proxy_pass http://127.0.0.1:%(o)d;"


# ----------------------------------------------------------------- cases
# Each case: case(serve) -> the list of what it observed.

def case_hit_after_miss(serve):
    """Two GETs: MISS then HIT, the origin asked once; in each zone
    (levels=1:2, levels=2 with use_temp_path=off, no levels), the cache
    file named by the MD5 of the key in folders by its last digits."""
    with serve("""
        location /c1/ { %s proxy_cache one; proxy_cache_valid 200 10m; }
        location /c1two/ { %s proxy_cache two; proxy_cache_valid 10m; }
        location /c1three/ { %s proxy_cache three;
                             proxy_cache_valid 10m; }
    """ % (P, P, P)) as f:
        out = [f.ask("/c1/a"), f.ask("/c1/a"), f.ask("/c1/a?q"),
               f.ask("/c1two/a"), f.ask("/c1two/a"),
               f.ask("/c1three/a"), f.ask("/c1three/a")]
        # the key without proxy_cache_key is the proxy_pass URL with
        # the URI sent: "http://", not $scheme$proxy_host$request_uri
        out.append(f.cache_files(*["http://127.0.0.1:{o}" + u for u in (
            "/c1/a", "/c1/a?q", "/c1two/a", "/c1three/a")]))
        return out


def case_valid(serve):
    """proxy_cache_valid: without it (and without the origin's
    Cache-Control, Expires or X-Accel-Expires) nothing is stored; the
    codes it names are stored, the others not; no code is 200 301 302;
    "any" is every code."""
    with serve("""
        location /c2none/ { %s proxy_cache one; }
        location /c2n404/ { %s proxy_cache one; proxy_cache_valid 404 1m; }
        location /c2def/ { %s proxy_cache one; proxy_cache_valid 5m; }
        location /c2any/ { %s proxy_cache one; proxy_cache_valid any 1m; }
        location /c2mix/ { %s proxy_cache one;
                           proxy_cache_valid 200 302 10m;
                           proxy_cache_valid 404 1m; }
    """ % (P, P, P, P, P)) as f:
        out = []
        for path in ["/c2none/a", url("/c2none/nf", status=404),
                     url("/c2n404/nf", status=404), "/c2n404/ok",
                     "/c2def/ok", url("/c2def/mv", "Location: /x",
                                      status=301),
                     url("/c2def/fd", "Location: /x", status=302),
                     url("/c2def/nf", status=404),
                     url("/c2def/nc", status=204),
                     "/c2any/ok", url("/c2any/nf", status=404),
                     url("/c2any/err", status=500),
                     url("/c2any/nc", status=204),
                     url("/c2any/gone", status=410),
                     "/c2mix/ok", url("/c2mix/fd", "Location: /x",
                                      status=302),
                     url("/c2mix/nf", status=404),
                     url("/c2mix/mv", "Location: /x", status=301),
                     url("/c2mix/err", status=503)]:
            out += [f.ask(path), f.ask(path)]
        return out


def case_expiry(serve):
    """proxy_cache_valid 200 1s, X-Accel-Expires: 1 and
    Cache-Control: max-age=1: MISS, HIT, then (polled) EXPIRED with the
    origin asked again, and a HIT of the new response."""
    with serve("""
        location /c2s/ { %s proxy_cache one; proxy_cache_valid 200 1s; }
        location /c2h/ { %s proxy_cache one; proxy_cache_valid 200 1h; }
    """ % (P, P)) as f:
        out = []
        for path in ["/c2s/a", url("/c2h/xae", "X-Accel-Expires: 1"),
                     url("/c2h/cc", "Cache-Control: max-age=1")]:
            out += [f.ask(path)] + f.until_changed(path) + [f.ask(path)]
        return out


def case_origin_headers(serve):
    """The origin's headers decide: X-Accel-Expires (seconds, 0,
    @absolute time), Cache-Control (max-age, s-maxage, no-cache,
    no-store, private, max-age=0, public), Expires in the past and the
    future, invalid values; Set-Cookie and Vary: * are not stored;
    Vary: Accept keeps a variant by Accept. /c3/ has no
    proxy_cache_valid, /c3v/ 200 1m. (No response carries both
    X-Accel-Expires and Cache-Control or Expires: which wins changed in
    nginx 1.23.)"""
    with serve("""
        location /c3/ { %s proxy_cache one; }
        location /c3v/ { %s proxy_cache one; proxy_cache_valid 200 1m; }
    """ % (P, P)) as f:
        out = []
        for path in [url("/c3/xae60", "X-Accel-Expires: 60"),
                     url("/c3v/xae0", "X-Accel-Expires: 0"),
                     url("/c3/xaeat", "X-Accel-Expires: @2000000000"),
                     url("/c3v/xaepast", "X-Accel-Expires: @1000000000"),
                     url("/c3/max", "Cache-Control: max-age=60"),
                     url("/c3/smax", "Cache-Control: s-maxage=60"),
                     url("/c3/both",
                         "Cache-Control: public, max-age=0, s-maxage=60"),
                     url("/c3v/max0", "Cache-Control: max-age=0"),
                     url("/c3v/nocache", "Cache-Control: no-cache"),
                     url("/c3v/nostore", "Cache-Control: no-store"),
                     url("/c3v/private", "Cache-Control: private"),
                     url("/c3v/privmax",
                         "Cache-Control: private, max-age=60"),
                     url("/c3/public", "Cache-Control: public"),
                     url("/c3v/public", "Cache-Control: public"),
                     url("/c3v/expast", "Expires: " + PAST),
                     url("/c3/exfuture", "Expires: " + FUTURE),
                     url("/c3/exbad", "Expires: not a date"),
                     url("/c3v/exbad", "Expires: not a date"),
                     url("/c3v/maxbad", "Cache-Control: max-age=soon"),
                     url("/c3v/xaebad", "X-Accel-Expires: soon"),
                     url("/c3v/cookie", "Set-Cookie: a=1"),
                     url("/c3/cookiemax", "Set-Cookie: a=1",
                         "Cache-Control: max-age=60"),
                     url("/c3v/varystar", "Vary: *"),
                     url("/c3v/varyenc", "Vary: Accept-Encoding")]:
            out += [f.ask(path), f.ask(path)]
        vary = url("/c3v/vary", "Vary: Accept")
        for accept in ["text/a", "text/a", "text/b", "text/b", "text/a"]:
            out.append(f.ask(vary, headers={"Accept": accept}))
        return out


def case_ignore_headers(serve):
    """proxy_ignore_headers Cache-Control Expires X-Accel-Expires
    Set-Cookie Vary: with proxy_cache_valid the response is stored in
    spite of them (a stored Set-Cookie is sent with the HIT); without
    proxy_cache_valid an ignored max-age stores nothing."""
    with serve("""
        location /c3i/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                         proxy_ignore_headers Cache-Control Expires
                             X-Accel-Expires Set-Cookie Vary; }
        location /c3ic/ { %s proxy_cache one;
                          proxy_ignore_headers Cache-Control; }
        location /c3ix/ { %s proxy_cache one;
                          proxy_ignore_headers X-Accel-Expires; }
    """ % (P, P, P)) as f:
        out = []
        for path in [url("/c3i/nostore", "Cache-Control: no-store"),
                     url("/c3i/private", "Cache-Control: private"),
                     url("/c3i/xae0", "X-Accel-Expires: 0"),
                     url("/c3i/expast", "Expires: " + PAST),
                     url("/c3i/cookie", "Set-Cookie: a=1"),
                     url("/c3i/varystar", "Vary: *"),
                     url("/c3ic/max", "Cache-Control: max-age=60"),
                     url("/c3ic/maxex", "Cache-Control: no-store",
                         "Expires: " + FUTURE),
                     url("/c3ix/xae", "X-Accel-Expires: 60"),
                     url("/c3ix/xaecc", "X-Accel-Expires: 0",
                         "Cache-Control: max-age=60")]:
            out += [f.ask(path), f.ask(path)]
        return out


def case_bypass_no_cache(serve):
    """proxy_cache_bypass $arg_nocache: BYPASS, and the origin's answer
    replaces the stored one; proxy_no_cache $arg_nostore: a MISS that
    stores nothing; both: BYPASS, and the stored one stays. The key is
    $uri, so that the query does not make a key of its own."""
    with serve("""
        location /c4/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                        proxy_cache_key $uri;
                        proxy_cache_bypass $arg_nocache;
                        proxy_no_cache $arg_nostore; }
    """ % P) as f:
        return [
            f.ask("/c4/b?nocache=1"), f.ask("/c4/b"),
            f.ask("/c4/b?nocache=1"), f.ask("/c4/b"),
            f.ask("/c4/b?nocache=0"), f.ask("/c4/b?nocache="),
            f.ask("/c4/n?nostore=1"), f.ask("/c4/n"), f.ask("/c4/n"),
            f.ask("/c4/n?nostore=1"),
            f.ask("/c4/both"), f.ask("/c4/both?nocache=1&nostore=1"),
            f.ask("/c4/both"),
            f.ask("/c4/fresh?nocache=1&nostore=1"), f.ask("/c4/fresh"),
        ]


def case_min_uses(serve):
    """proxy_cache_min_uses 2: MISS, MISS (stored this time), HIT."""
    with serve("""
        location /c5/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                        proxy_cache_min_uses 2; }
        location /c5three/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                             proxy_cache_min_uses 3; }
    """ % (P, P)) as f:
        return [f.ask("/c5/a"), f.ask("/c5/a"), f.ask("/c5/a"),
                f.ask("/c5/a"), f.ask("/c5three/a"), f.ask("/c5three/a"),
                f.ask("/c5three/a"), f.ask("/c5three/a")]


def case_methods(serve):
    """proxy_cache_methods (GET and HEAD always; POST only when named,
    and then its answer serves a GET of the same key), other methods
    not cached at all (no status); proxy_cache_convert_head on (the
    origin is asked with GET, and the stored response serves a GET) and
    off (the origin is asked with HEAD, and the key is the same unless
    it has $request_method)."""
    with serve("""
        location /c6/ { %s proxy_cache one; proxy_cache_valid 200 1m; }
        location /c6p/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                         proxy_cache_methods POST; }
        location /c6off/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                           proxy_cache_convert_head off; }
        location /c6offm/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                            proxy_cache_convert_head off;
                            proxy_cache_key $request_method$request_uri; }
    """ % (P, P, P, P)) as f:
        return [
            f.ask("/c6/post", "POST"), f.ask("/c6/post", "POST"),
            f.ask("/c6/put", "PUT"),
            f.ask("/c6/get"), f.ask("/c6/get", "HEAD"),
            f.ask("/c6/post-after-get"),
            f.ask("/c6/post-after-get", "POST"),
            f.ask("/c6/head", "HEAD"), f.ask("/c6/head", "HEAD"),
            f.ask("/c6/head"),
            f.ask("/c6p/x", "POST"), f.ask("/c6p/x", "POST"),
            f.ask("/c6p/x"), f.ask("/c6p/x", "PUT"),
            # (proxy_cache_convert_head off: nginx stores the answer to
            # the HEAD, which then serves GETs without a body; bulwark
            # does not store it, a documented difference tested in
            # test_proxy_cache.py)
        ]


def case_key(serve):
    """proxy_cache_key $uri (the query left out); the default key, which
    is the proxy_pass URL and the URI sent to the origin (the query
    counts, an escape is not decoded, and a location that sends the same
    URI shares the entry); $scheme$proxy_host$request_uri spelt out (a
    key of its own); a key two locations share."""
    with serve("""
        location /c7u/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                         proxy_cache_key $uri; }
        location /c7d/ { %s proxy_cache one; proxy_cache_valid 200 1m; }
        location /c7p/ { proxy_pass http://127.0.0.1:%%(o)d/c7d/;
                         proxy_cache one; proxy_cache_valid 200 1m; }
        location /c7e/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                         proxy_cache_key $scheme$proxy_host$request_uri; }
        location /c7s1/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                          proxy_cache_key shared$arg_k; }
        location /c7s2/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                          proxy_cache_key shared$arg_k; }
    """ % (P, P, P, P, P)) as f:
        out = [f.ask("/c7u/x?a=1"), f.ask("/c7u/x?a=2"), f.ask("/c7u/x"),
               f.ask("/c7u/%78"),
               f.ask("/c7d/x?a=1"), f.ask("/c7d/x?a=2"), f.ask("/c7d/x?a=1"),
               f.ask("/c7d/%78?a=1"), f.ask("/c7p/x?a=1"),
               f.ask("/c7p/y"), f.ask("/c7d/y"),
               f.ask("/c7e/x"), f.ask("/c7e/x"),
               f.ask("/c7s1/a?k=1"), f.ask("/c7s2/b?k=1"),
               f.ask("/c7s2/b?k=2")]
        out.append(f.cache_files(
            "/c7u/x", "http://127.0.0.1:{o}/c7d/x?a=1",
            "http://127.0.0.1:{o}/c7d/x?a=2",
            "http://127.0.0.1:{o}/c7d/%78?a=1",
            "http://127.0.0.1:{o}/c7d/y", "http127.0.0.1:{o}/c7e/x",
            "shared1", "shared2"))
        return out


def case_ranges_conditionals(serve):
    """From a stored full response: a Range gives 206 with the bytes
    (only if the origin said Accept-Ranges: bytes, else the whole 200,
    or with proxy_force_ranges), If-Range picks; If-None-Match with its
    ETag and If-Modified-Since with its Last-Modified give 304, If-Match
    with another ETag 412; the origin is asked without the client's
    Range and conditionals, even on the MISS."""
    with serve("""
        location /c8/ { %s proxy_cache one; proxy_cache_valid 200 1m; }
        location /c8f/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                         proxy_force_ranges on; }
    """ % (P, P)) as f:
        r = url("/c8/r", "Accept-Ranges: bytes", 'ETag: "e1"',
                "Last-Modified: " + LAST_MODIFIED, fixed=True)
        n = url("/c8/n", 'ETag: "e1"', fixed=True)
        fr = url("/c8f/n", fixed=True)
        c = url("/c8/c", 'ETag: "e1"', "Last-Modified: " + LAST_MODIFIED,
                fixed=True)
        m = url("/c8/m", "Accept-Ranges: bytes", fixed=True)
        return [
            f.ask(r, headers={"Range": "bytes=0-3"}),
            f.ask(r),
            f.ask(r, headers={"Range": "bytes=0-3"}),
            f.ask(r, headers={"Range": "bytes=-5"}),
            f.ask(r, headers={"Range": "bytes=4-", "If-Range": '"e1"'}),
            f.ask(r, headers={"Range": "bytes=4-", "If-Range": '"e2"'}),
            f.ask(r, headers={"Range": "bytes=99-"}),
            f.ask(r, headers={"If-None-Match": '"e1"'}),
            f.ask(r, headers={"If-None-Match": '"other"'}),
            f.ask(r, headers={"If-Modified-Since": LAST_MODIFIED}),
            f.ask(r, headers={"If-Modified-Since": PAST}),
            f.ask(r, headers={"If-Match": '"e2"'}),
            f.ask(r, "HEAD", headers={"If-None-Match": '"e1"'}),
            f.ask(n, headers={"Range": "bytes=0-3"}),
            f.ask(n, headers={"Range": "bytes=0-3"}),
            f.ask(fr, headers={"Range": "bytes=0-3"}),
            f.ask(fr, headers={"Range": "bytes=0-3"}),
            f.ask(c, headers={"If-None-Match": '"e1"'}),
            f.ask(c),
            # two ranges: the MISS gives the whole (one range at most
            # while storing); the HIT would be multipart
            f.ask(m, headers={"Range": "bytes=0-1,4-5"}),
        ]


def case_off_and_variable_zone(serve):
    """proxy_cache off in a location nested in a caching one, and the
    zone named by a variable (set $zone one), which shares the zone with
    a location naming it; a variable naming no zone."""
    with serve("""
        location /c9/ { %s proxy_cache one; proxy_cache_valid 200 1m;
            location /c9/off/ { %s proxy_cache off; }
            location /c9/in/ { %s }
        }
        location /c9z/ { %s set $zone one; proxy_cache $zone;
                         proxy_cache_valid 200 1m;
                         proxy_cache_key z$arg_k; }
        location /c9s/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                         proxy_cache_key z$arg_k; }
        location /c9bad/ { %s set $zone nosuch; proxy_cache $zone;
                           proxy_cache_valid 200 1m; }
    """ % (P, P, P, P, P, P)) as f:
        return [f.ask("/c9/on"), f.ask("/c9/on"),
                f.ask("/c9/off/x"), f.ask("/c9/off/x"),
                f.ask("/c9/in/x"), f.ask("/c9/in/x"),
                f.ask("/c9z/x"), f.ask("/c9z/x"),
                f.ask("/c9z/x?k=1"), f.ask("/c9s/y?k=1"),
                f.ask("/c9s/y?k=2"), f.ask("/c9z/x?k=2"),
                f.ask("/c9bad/x"), f.ask("/c9bad/x")]


def case_log(serve):
    """$upstream_cache_status in the access log: "-" where there is no
    cache (a proxied location without one, a return, a method the cache
    does not take, proxy_cache off), the status where there is."""
    with serve("""
        location /c10/ { %s }
        location /c10r/ { return 200 "r\\n"; }
        location /c10c/ { %s proxy_cache one; proxy_cache_valid 200 1m;
                          proxy_cache_bypass $arg_nocache; }
        location /c10off/ { %s proxy_cache off; }
    """ % (P, P, P)) as f:
        out = [f.ask("/c10/a"), f.ask("/c10r/a"), f.ask("/c10c/a"),
               f.ask("/c10c/a"), f.ask("/c10c/a?nocache=1"),
               f.ask("/c10c/a", "POST"), f.ask("/c10off/a")]
        out.append(f.log_lines(len(out)))
        return out


CASES = {name[5:]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


# ----------------------------------------------------------- the servers

def nginx_runner(tmp):
    """The runner of Debian's nginx (one process, as nginx_serving)."""
    @contextlib.contextmanager
    def run(http_of):
        port = free_port()
        with nginx_serving(tmp, http_of(port), port):
            yield port
    return run


def bulwark_runner(bw):
    """The runner of bulwark, the bw fixture's (one configuration)."""
    @contextlib.contextmanager
    def run(http_of):
        bw.config(http_of(bw.port))
        bw.start()
        yield bw.port
    return run


def observe(runner, origin, case, tmp):
    serve = serving(runner, origin)
    return CASES[case](lambda locations: serve(locations, tmp))


def differences(ours, theirs):
    """The first differing observations, one a line, for the message."""
    out = []
    for i, (a, b) in enumerate(itertools.zip_longest(ours, theirs)):
        if a != b:
            out.append("#%d\n  bulwark: %r\n  nginx:   %r" % (i, a, b))
    return "\n".join(out[:6])


@pytest.mark.parametrize("case", sorted(CASES))
def test_cache_as_nginx(bw, tmp_path, case):
    """The case through nginx, then through bulwark, in front of the same
    origin: the same observations."""
    require_module("http_cache", "http_proxy", "http_headers", "http_log",
                   "http_rewrite")
    origin = CountingOrigin()
    try:
        theirs = observe(nginx_runner(tmp_path), origin, case,
                         tmp_path / "nginx")
        ours = observe(bulwark_runner(bw), origin, case, tmp_path)
    finally:
        origin.stop()
    assert ours == theirs, differences(ours, theirs)


# ----------------------------------------------------- the nginx half alone

def _nginx_alone(names, runs):
    import pprint
    import tempfile
    from pathlib import Path
    assert NGINX, "BULWARK_REF_NGINX names no nginx"
    failed = 0
    for run in range(runs):
        for name in names:
            origin = CountingOrigin()
            try:
                with tempfile.TemporaryDirectory() as d:
                    got = observe(nginx_runner(Path(d)), origin, name, d)
            finally:
                origin.stop()
            want = EXPECTED.get(name)
            if want is None or runs == 1:
                print("%s:" % name)
                pprint.pprint(summary(got), width=100)
            if want is not None and summary(got) != want:
                failed += 1
                print("run %d, %s differs from EXPECTED:\n%s" % (
                    run, name, differences(summary(got), want)))
    print("%d of %d differ" % (failed, runs * len(names)))
    return failed


def summary(observed):
    """An observation in short, for EXPECTED: "status X-Cache count body
    [what the origin saw] extra headers", the body as its #n (which of
    the origin's answers it is) or itself when short."""
    out = []
    for o in observed:
        if isinstance(o, list):
            out.append(o)
            continue
        desc, status, xcache, body, count, seen = o[:6]
        m = re.match(r"/\S* #(\d+)\n$", body)
        body = "#" + m.group(1) if m else (
            repr(body) if len(body) <= 16 else "<%d bytes>" % len(body))
        out.append(" ".join(["%d %s %d %s" % (status, xcache or "-", count,
                                              body)]
                            + ["[%s]" % ", ".join(seen)] * bool(seen)
                            + list(o[6:])))
    return out


# What Debian's nginx 1.22.1 does, case by case, in summary() form
# ("status X-Cache origin-count body [what the origin saw] headers"), as
# python3 test_cache_parity.py prints and checks it. Of note:
#  - the key without proxy_cache_key is the proxy_pass URL and the URI
#    sent ("http://127.0.0.1:port/c1/a"), not "$scheme$proxy_host
#    $request_uri" ("http127.0.0.1:port/..."): /c7p/x shares /c7d/x's;
#  - X-Accel-Expires: @<a past time> stores the answer, and the next
#    request is EXPIRED (not a MISS); an invalid Expires or max-age
#    keeps a response out even where proxy_cache_valid would store it,
#    an invalid X-Accel-Expires is ignored;
#  - Range and If-Range work only if the origin said Accept-Ranges
#    (or proxy_force_ranges on), stored or not; two ranges on a MISS
#    give the whole 200;
#  - convert_head off without $request_method in the key: the stored
#    answer to a HEAD serves the GET, its Content-Length and no body;
#  - a POST stored (proxy_cache_methods POST) serves a GET too.
EXPECTED = {
    'bypass_no_cache': [
        '200 BYPASS 1 #1 [GET]',            # GET /c4/b?nocache=1
        '200 HIT 1 #1',                     # GET /c4/b
        '200 BYPASS 2 #2 [GET]',            # GET /c4/b?nocache=1
        '200 HIT 2 #2',                     # GET /c4/b
        '200 HIT 2 #2',                     # GET /c4/b?nocache=0
        '200 HIT 2 #2',                     # GET /c4/b?nocache=
        '200 MISS 3 #3 [GET]',              # GET /c4/n?nostore=1
        '200 MISS 4 #4 [GET]',              # GET /c4/n
        '200 HIT 4 #4',                     # GET /c4/n
        '200 HIT 4 #4',                     # GET /c4/n?nostore=1
        '200 MISS 5 #5 [GET]',              # GET /c4/both
        '200 BYPASS 6 #6 [GET]',            # GET /c4/both?nocache=1&nostore=1
        '200 HIT 6 #5',                     # GET /c4/both
        '200 BYPASS 7 #7 [GET]',            # GET /c4/fresh?nocache=1&nostore=1
        '200 MISS 8 #8 [GET]',              # GET /c4/fresh
    ],
    'expiry': [
        '200 MISS 1 #1 [GET]',              # GET /c2s/a
        '200 HIT 1 #1',                     # GET /c2s/a
        '200 EXPIRED 2 #2 [GET]',           # GET /c2s/a
        '200 HIT 2 #2',                     # GET /c2s/a
        '200 MISS 3 #3 [GET]',              # GET /c2h/xae
        '200 HIT 3 #3',                     # GET /c2h/xae
        '200 EXPIRED 4 #4 [GET]',           # GET /c2h/xae
        '200 HIT 4 #4',                     # GET /c2h/xae
        '200 MISS 5 #5 [GET]',              # GET /c2h/cc
        '200 HIT 5 #5',                     # GET /c2h/cc
        '200 EXPIRED 6 #6 [GET]',           # GET /c2h/cc
        '200 HIT 6 #6',                     # GET /c2h/cc
    ],
    'hit_after_miss': [
        '200 MISS 1 #1 [GET]',              # GET /c1/a
        '200 HIT 1 #1',                     # GET /c1/a
        '200 MISS 2 #2 [GET]',              # GET /c1/a?q
        '200 MISS 3 #3 [GET]',              # GET /c1two/a
        '200 HIT 3 #3',                     # GET /c1two/a
        '200 MISS 4 #4 [GET]',              # GET /c1three/a
        '200 HIT 4 #4',                     # GET /c1three/a
        ['one/1/2/md5(http://127.0.0.1:{o}/c1/a)',
         'one/1/2/md5(http://127.0.0.1:{o}/c1/a?q)',
         'three/md5(http://127.0.0.1:{o}/c1three/a)',
         'two/2/md5(http://127.0.0.1:{o}/c1two/a)'],
    ],
    'ignore_headers': [
        '200 MISS 1 #1 [GET]',              # GET /c3i/nostore
        '200 HIT 1 #1',                     # GET /c3i/nostore
        '200 MISS 2 #2 [GET]',              # GET /c3i/private
        '200 HIT 2 #2',                     # GET /c3i/private
        '200 MISS 3 #3 [GET]',              # GET /c3i/xae0
        '200 HIT 3 #3',                     # GET /c3i/xae0
        '200 MISS 4 #4 [GET]',              # GET /c3i/expast
        '200 HIT 4 #4',                     # GET /c3i/expast
        '200 MISS 5 #5 [GET] set-cookie: a=1',  # GET /c3i/cookie
        '200 HIT 5 #5 set-cookie: a=1',     # GET /c3i/cookie
        '200 MISS 6 #6 [GET]',              # GET /c3i/varystar
        '200 HIT 6 #6',                     # GET /c3i/varystar
        '200 MISS 7 #7 [GET]',              # GET /c3ic/max
        '200 MISS 8 #8 [GET]',              # GET /c3ic/max
        '200 MISS 9 #9 [GET]',              # GET /c3ic/maxex
        '200 HIT 9 #9',                     # GET /c3ic/maxex
        '200 MISS 10 #10 [GET]',            # GET /c3ix/xae
        '200 MISS 11 #11 [GET]',            # GET /c3ix/xae
        '200 MISS 12 #12 [GET]',            # GET /c3ix/xaecc
        '200 HIT 12 #12',                   # GET /c3ix/xaecc
    ],
    'key': [
        '200 MISS 1 #1 [GET]',              # GET /c7u/x?a=1
        '200 HIT 1 #1',                     # GET /c7u/x?a=2
        '200 HIT 1 #1',                     # GET /c7u/x
        '200 HIT 1 #1',                     # GET /c7u/%78
        '200 MISS 2 #2 [GET]',              # GET /c7d/x?a=1
        '200 MISS 3 #3 [GET]',              # GET /c7d/x?a=2
        '200 HIT 3 #2',                     # GET /c7d/x?a=1
        '200 MISS 4 #4 [GET]',              # GET /c7d/%78?a=1
        '200 HIT 4 #2',                     # GET /c7p/x?a=1
        '200 MISS 5 #5 [GET]',              # GET /c7p/y
        '200 HIT 5 #5',                     # GET /c7d/y
        '200 MISS 6 #6 [GET]',              # GET /c7e/x
        '200 HIT 6 #6',                     # GET /c7e/x
        '200 MISS 7 #7 [GET]',              # GET /c7s1/a?k=1
        '200 HIT 7 #7',                     # GET /c7s2/b?k=1
        '200 MISS 8 #8 [GET]',              # GET /c7s2/b?k=2
        ['one/1/2/md5(/c7u/x)',
         'one/1/2/md5(http127.0.0.1:{o}/c7e/x)',
         'one/1/2/md5(http://127.0.0.1:{o}/c7d/%78?a=1)',
         'one/1/2/md5(http://127.0.0.1:{o}/c7d/x?a=1)',
         'one/1/2/md5(http://127.0.0.1:{o}/c7d/x?a=2)',
         'one/1/2/md5(http://127.0.0.1:{o}/c7d/y)',
         'one/1/2/md5(shared1)',
         'one/1/2/md5(shared2)'],
    ],
    'log': [
        '200 - 1 #1 [GET]',                 # GET /c10/a
        "200 - 1 'r\\n'",                   # GET /c10r/a
        '200 MISS 2 #2 [GET]',              # GET /c10c/a
        '200 HIT 2 #2',                     # GET /c10c/a
        '200 BYPASS 3 #3 [GET]',            # GET /c10c/a?nocache=1
        '200 - 4 #4 [POST]',                # POST /c10c/a
        '200 - 5 #5 [GET]',                 # GET /c10off/a
        ['GET /c10/a 200 "-"',
         'GET /c10r/a 200 "-"',
         'GET /c10c/a 200 "MISS"',
         'GET /c10c/a 200 "HIT"',
         'GET /c10c/a 200 "BYPASS"',
         'POST /c10c/a 200 "-"',
         'GET /c10off/a 200 "-"'],
    ],
    'methods': [
        '200 - 1 #1 [POST]',                # POST /c6/post
        '200 - 2 #2 [POST]',                # POST /c6/post
        '200 - 3 #3 [PUT]',                 # PUT /c6/put
        '200 MISS 4 #4 [GET]',              # GET /c6/get
        "200 HIT 4 ''",                     # HEAD /c6/get
        '200 MISS 5 #5 [GET]',              # GET /c6/post-after-get
        '200 - 6 #6 [POST]',                # POST /c6/post-after-get
        "200 MISS 7 '' [GET]",              # HEAD /c6/head
        "200 HIT 7 ''",                     # HEAD /c6/head
        '200 HIT 7 #7',                     # GET /c6/head
        '200 MISS 8 #8 [POST]',             # POST /c6p/x
        '200 HIT 8 #8',                     # POST /c6p/x
        '200 HIT 8 #8',                     # GET /c6p/x
        '200 - 9 #9 [PUT]',                 # PUT /c6p/x
    ],
    'min_uses': [
        '200 MISS 1 #1 [GET]',              # GET /c5/a
        '200 MISS 2 #2 [GET]',              # GET /c5/a
        '200 HIT 2 #2',                     # GET /c5/a
        '200 HIT 2 #2',                     # GET /c5/a
        '200 MISS 3 #3 [GET]',              # GET /c5three/a
        '200 MISS 4 #4 [GET]',              # GET /c5three/a
        '200 MISS 5 #5 [GET]',              # GET /c5three/a
        '200 HIT 5 #5',                     # GET /c5three/a
    ],
    'off_and_variable_zone': [
        '200 MISS 1 #1 [GET]',              # GET /c9/on
        '200 HIT 1 #1',                     # GET /c9/on
        '200 - 2 #2 [GET]',                 # GET /c9/off/x
        '200 - 3 #3 [GET]',                 # GET /c9/off/x
        '200 MISS 4 #4 [GET]',              # GET /c9/in/x
        '200 HIT 4 #4',                     # GET /c9/in/x
        '200 MISS 5 #5 [GET]',              # GET /c9z/x
        '200 HIT 5 #5',                     # GET /c9z/x
        '200 MISS 6 #6 [GET]',              # GET /c9z/x?k=1
        '200 HIT 6 #6',                     # GET /c9s/y?k=1
        '200 MISS 7 #7 [GET]',              # GET /c9s/y?k=2
        '200 HIT 7 #7',                     # GET /c9z/x?k=2
        '500 - 7 <144 bytes>',              # GET /c9bad/x
        '500 - 7 <144 bytes>',              # GET /c9bad/x
    ],
    'origin_headers': [
        '200 MISS 1 #1 [GET]',              # GET /c3/xae60
        '200 HIT 1 #1',                     # GET /c3/xae60
        '200 MISS 2 #2 [GET]',              # GET /c3v/xae0
        '200 MISS 3 #3 [GET]',              # GET /c3v/xae0
        '200 MISS 4 #4 [GET]',              # GET /c3/xaeat
        '200 HIT 4 #4',                     # GET /c3/xaeat
        '200 MISS 5 #5 [GET]',              # GET /c3v/xaepast
        '200 EXPIRED 6 #6 [GET]',           # GET /c3v/xaepast
        '200 MISS 7 #7 [GET]',              # GET /c3/max
        '200 HIT 7 #7',                     # GET /c3/max
        '200 MISS 8 #8 [GET]',              # GET /c3/smax
        '200 HIT 8 #8',                     # GET /c3/smax
        '200 MISS 9 #9 [GET]',              # GET /c3/both
        '200 HIT 9 #9',                     # GET /c3/both
        '200 MISS 10 #10 [GET]',            # GET /c3v/max0
        '200 MISS 11 #11 [GET]',            # GET /c3v/max0
        '200 MISS 12 #12 [GET]',            # GET /c3v/nocache
        '200 MISS 13 #13 [GET]',            # GET /c3v/nocache
        '200 MISS 14 #14 [GET]',            # GET /c3v/nostore
        '200 MISS 15 #15 [GET]',            # GET /c3v/nostore
        '200 MISS 16 #16 [GET]',            # GET /c3v/private
        '200 MISS 17 #17 [GET]',            # GET /c3v/private
        '200 MISS 18 #18 [GET]',            # GET /c3v/privmax
        '200 MISS 19 #19 [GET]',            # GET /c3v/privmax
        '200 MISS 20 #20 [GET]',            # GET /c3/public
        '200 MISS 21 #21 [GET]',            # GET /c3/public
        '200 MISS 22 #22 [GET]',            # GET /c3v/public
        '200 HIT 22 #22',                   # GET /c3v/public
        '200 MISS 23 #23 [GET]',            # GET /c3v/expast
        '200 MISS 24 #24 [GET]',            # GET /c3v/expast
        '200 MISS 25 #25 [GET]',            # GET /c3/exfuture
        '200 HIT 25 #25',                   # GET /c3/exfuture
        '200 MISS 26 #26 [GET]',            # GET /c3/exbad
        '200 MISS 27 #27 [GET]',            # GET /c3/exbad
        '200 MISS 28 #28 [GET]',            # GET /c3v/exbad
        '200 MISS 29 #29 [GET]',            # GET /c3v/exbad
        '200 MISS 30 #30 [GET]',            # GET /c3v/maxbad
        '200 MISS 31 #31 [GET]',            # GET /c3v/maxbad
        '200 MISS 32 #32 [GET]',            # GET /c3v/xaebad
        '200 HIT 32 #32',                   # GET /c3v/xaebad
        '200 MISS 33 #33 [GET] set-cookie: a=1',  # GET /c3v/cookie
        '200 MISS 34 #34 [GET] set-cookie: a=1',  # GET /c3v/cookie
        '200 MISS 35 #35 [GET] set-cookie: a=1',  # GET /c3/cookiemax
        '200 MISS 36 #36 [GET] set-cookie: a=1',  # GET /c3/cookiemax
        '200 MISS 37 #37 [GET]',            # GET /c3v/varystar
        '200 MISS 38 #38 [GET]',            # GET /c3v/varystar
        '200 MISS 39 #39 [GET]',            # GET /c3v/varyenc
        '200 HIT 39 #39',                   # GET /c3v/varyenc
        '200 MISS 40 #40 [GET]',            # GET /c3v/vary Accept: text/a
        '200 HIT 40 #40',                   # GET /c3v/vary Accept: text/a
        '200 MISS 41 #41 [GET]',            # GET /c3v/vary Accept: text/b
        '200 HIT 41 #41',                   # GET /c3v/vary Accept: text/b
        '200 HIT 41 #40',                   # GET /c3v/vary Accept: text/a
    ],
    'ranges_conditionals': [
        # GET /c8/r Range: bytes=0-3
        "206 MISS 1 '0123' [GET] content-range: bytes 0-3/16",
        "200 HIT 1 '0123456789abcdef'",     # GET /c8/r
        # GET /c8/r Range: bytes=0-3
        "206 HIT 1 '0123' content-range: bytes 0-3/16",
        # GET /c8/r Range: bytes=-5
        "206 HIT 1 'bcdef' content-range: bytes 11-15/16",
        # GET /c8/r If-Range: "e1" Range: bytes=4-
        "206 HIT 1 '456789abcdef' content-range: bytes 4-15/16",
        # GET /c8/r If-Range: "e2" Range: bytes=4-
        "200 HIT 1 '0123456789abcdef'",
        # GET /c8/r Range: bytes=99-
        '416 HIT 1 <164 bytes> content-range: bytes */16',
        "304 HIT 1 ''",                     # GET /c8/r If-None-Match: "e1"
        "200 HIT 1 '0123456789abcdef'",     # GET /c8/r If-None-Match: "other"
        # GET /c8/r If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT
        "304 HIT 1 ''",
        # GET /c8/r If-Modified-Since: Thu, 01 Jan 2015 00:00:00 GMT
        "200 HIT 1 '0123456789abcdef'",
        '412 HIT 1 <140 bytes>',            # GET /c8/r If-Match: "e2"
        "304 HIT 1 ''",                     # HEAD /c8/r If-None-Match: "e1"
        "200 MISS 2 '0123456789abcdef' [GET]",  # GET /c8/n Range: bytes=0-3
        "200 HIT 2 '0123456789abcdef'",     # GET /c8/n Range: bytes=0-3
        # GET /c8f/n Range: bytes=0-3
        "206 MISS 3 '0123' [GET] content-range: bytes 0-3/16",
        # GET /c8f/n Range: bytes=0-3
        "206 HIT 3 '0123' content-range: bytes 0-3/16",
        "304 MISS 4 '' [GET]",              # GET /c8/c If-None-Match: "e1"
        "200 HIT 4 '0123456789abcdef'",     # GET /c8/c
        # GET /c8/m Range: bytes=0-1,4-5
        "200 MISS 5 '0123456789abcdef' [GET]",
    ],
    'valid': [
        '200 MISS 1 #1 [GET]',              # GET /c2none/a
        '200 MISS 2 #2 [GET]',              # GET /c2none/a
        '404 MISS 3 #3 [GET]',              # GET /c2none/nf?s=404
        '404 MISS 4 #4 [GET]',              # GET /c2none/nf?s=404
        '404 MISS 5 #5 [GET]',              # GET /c2n404/nf?s=404
        '404 HIT 5 #5',                     # GET /c2n404/nf?s=404
        '200 MISS 6 #6 [GET]',              # GET /c2n404/ok
        '200 MISS 7 #7 [GET]',              # GET /c2n404/ok
        '200 MISS 8 #8 [GET]',              # GET /c2def/ok
        '200 HIT 8 #8',                     # GET /c2def/ok
        '301 MISS 9 #9 [GET]',              # GET /c2def/mv?s=301
        '301 HIT 9 #9',                     # GET /c2def/mv?s=301
        '302 MISS 10 #10 [GET]',            # GET /c2def/fd?s=302
        '302 HIT 10 #10',                   # GET /c2def/fd?s=302
        '404 MISS 11 #11 [GET]',            # GET /c2def/nf?s=404
        '404 MISS 12 #12 [GET]',            # GET /c2def/nf?s=404
        "204 MISS 13 '' [GET]",             # GET /c2def/nc?s=204
        "204 MISS 14 '' [GET]",             # GET /c2def/nc?s=204
        '200 MISS 15 #15 [GET]',            # GET /c2any/ok
        '200 HIT 15 #15',                   # GET /c2any/ok
        '404 MISS 16 #16 [GET]',            # GET /c2any/nf?s=404
        '404 HIT 16 #16',                   # GET /c2any/nf?s=404
        '500 MISS 17 #17 [GET]',            # GET /c2any/err?s=500
        '500 HIT 17 #17',                   # GET /c2any/err?s=500
        "204 MISS 18 '' [GET]",             # GET /c2any/nc?s=204
        "204 HIT 18 ''",                    # GET /c2any/nc?s=204
        '410 MISS 19 #19 [GET]',            # GET /c2any/gone?s=410
        '410 HIT 19 #19',                   # GET /c2any/gone?s=410
        '200 MISS 20 #20 [GET]',            # GET /c2mix/ok
        '200 HIT 20 #20',                   # GET /c2mix/ok
        '302 MISS 21 #21 [GET]',            # GET /c2mix/fd?s=302
        '302 HIT 21 #21',                   # GET /c2mix/fd?s=302
        '404 MISS 22 #22 [GET]',            # GET /c2mix/nf?s=404
        '404 HIT 22 #22',                   # GET /c2mix/nf?s=404
        '301 MISS 23 #23 [GET]',            # GET /c2mix/mv?s=301
        '301 MISS 24 #24 [GET]',            # GET /c2mix/mv?s=301
        '503 MISS 25 #25 [GET]',            # GET /c2mix/err?s=503
        '503 MISS 26 #26 [GET]',            # GET /c2mix/err?s=503
    ],
}


if __name__ == "__main__":
    args = sys.argv[1:]
    runs = 1
    if "-n" in args:
        i = args.index("-n")
        runs = int(args[i + 1])
        del args[i:i + 2]
    sys.exit(1 if _nginx_alone(args or sorted(CASES), runs) else 0)

"""
A real HTTP/1.1 origin on loopback for proxy tests, run in threads of the
test process. Its behaviour is chosen by the request path:

  /echo...            JSON: name, method, path, headers, body length, md5
  /size/N             N bytes (a repeating pattern) with Content-Length
  /chunked/N          N bytes, chunked, in pieces of 1000
  /close/N            N bytes delimited by closing the connection
  /status/NNN         that status with a short body
  /slow/MS            the header after MS milliseconds
  /accel?to=URI       X-Accel-Redirect: URI, with Content-Type,
                      Set-Cookie, Content-Disposition and X-Other, and
                      a body of its own ("body")
  /hold/FILL/REST     the header and the body's first bytes in one write
                      of FILL bytes, then the body's last REST bytes once
                      release() is called (or after 10 s)
  /cut/N/M            Content-Length N, then only M bytes of the body
                      (with the header, in one write) and the close
  /redirect/...       302 to itself: http://<Host header>/redirect/...
                      (only the path with the query "rel")
  /cookies?c=V&c=W    a Set-Cookie header for each c (URL-decoded)
  /refuse-keepalive   answers, then closes the connection
  /ws                 WebSocket echo (RFC 6455, text frames)
  /cache/...?h=K:V&s=NNN&n=N&d=MS&cond=1
                      for the cache's tests: status s (200), each h as a
                      header line, a body saying the path and how many
                      times this target was asked for ("/cache/a #2"),
                      or n pattern bytes, after d milliseconds; with
                      cond, 304 to a request with If-None-Match or
                      If-Modified-Since
  /auth...            an authentication service: the status named by the
                      X-Auth header (default 401), with X-User from
                      X-Auth-User, X-Auth-Challenges (default 2)
                      WWW-Authenticate challenges on 401,
                      a body of X-Auth-Body bytes (cut in half and the
                      connection closed with X-Auth-Cut), after
                      X-Auth-Delay ms

A PROXY protocol v1 line before a request is kept in proxy_lines.

Every response says which origin answered in X-Origin. The server counts
TCP connections and keeps the requests it saw.
"""

import base64
import hashlib
import json
import socket
import socketserver
import struct
import threading
import time
import urllib.parse

PATTERN = bytes(range(256))


def pattern(n):
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n]


class _Handler(socketserver.StreamRequestHandler):
    timeout = 10

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.active.add(self.connection)

    def finish(self):
        with self.server.lock:
            self.server.active.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self):
        while True:
            try:
                line = self.rfile.readline(65537)
            except (OSError, socket.timeout):
                return
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            if line.startswith(b"PROXY "):
                # a PROXY protocol v1 header before the request
                with self.server.lock:
                    self.server.proxy_lines.append(line.decode().strip())
                continue
            try:
                method, target, version = line.decode("latin-1").split()
            except ValueError:
                return
            headers = []
            while True:
                h = self.rfile.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers.append((k.strip(), v.strip()))
            hmap = {}
            for k, v in headers:
                hmap.setdefault(k.lower(), v)
            body = b""
            if "content-length" in hmap:
                body = self.rfile.read(int(hmap["content-length"]))
            elif hmap.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()
            req = {"method": method, "path": target, "version": version,
                   "headers": headers, "body_len": len(body),
                   "body_md5": hashlib.md5(body).hexdigest()}
            with self.server.lock:
                self.server.requests.append(req)
            keep = version == "HTTP/1.1" and \
                hmap.get("connection", "").lower() != "close"
            if not self.respond(method, target, hmap, req, keep):
                return
            if not keep:
                return

    def send(self, status, headers, body=b"", keep=True, head=False):
        out = ["HTTP/1.1 %d X" % status, "Server: origin",
               "Date: Thu, 01 Jan 2026 00:00:00 GMT",
               "X-Origin: %s" % self.server.name]
        for k, v in headers:
            out.append("%s: %s" % (k, v))
        if not keep:
            out.append("Connection: close")
        data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(data + (b"" if head else body))
        self.wfile.flush()

    def respond(self, method, target, hmap, req, keep):
        head = method == "HEAD"
        path = target.split("?")[0]
        parts = path.split("/")
        if self.server.fixed_status:
            body = b"fixed %d" % self.server.fixed_status
            self.send(self.server.fixed_status,
                      [("Content-Length", len(body))], body, keep, head)
            return True
        if "echo" in path:
            body = json.dumps(dict(req, name=self.server.name)).encode()
            self.send(200, [("Content-Type", "application/json"),
                            ("Content-Length", len(body))], body, keep, head)
            return True
        if parts[1:2] == ["size"]:
            n = int(parts[2])
            self.send(200, [("Content-Length", n)], b"", keep, True)
            if not head:
                # streamed, so that 100 MB never sit in this process
                piece = pattern(65536)
                left = n
                while left:
                    k = min(left, len(piece))
                    self.wfile.write(piece[:k])
                    left -= k
                self.wfile.flush()
            return True
        if parts[1:2] == ["chunked"]:
            n = int(parts[2])
            self.send(200, [("Transfer-Encoding", "chunked")], b"", keep,
                      True)
            if head:
                return True
            data = pattern(n)
            for i in range(0, n, 1000):
                piece = data[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return True
        if parts[1:2] == ["close"]:
            body = pattern(int(parts[2]))
            self.send(200, [], body, False, head)
            return False
        if parts[1:2] == ["status"]:
            code = int(parts[2])
            body = b"status %d from %s" % (code, self.server.name.encode())
            self.send(code, [("Content-Length", len(body))], body, keep, head)
            return True
        if parts[1:2] == ["slow"]:
            time.sleep(int(parts[2]) / 1000.0)
            body = b"slow"
            self.send(200, [("Content-Length", 4)], body, keep, head)
            return True
        if path == "/accel":
            to = urllib.parse.parse_qs(target.partition("?")[2])["to"][0]
            self.send(200, [("X-Accel-Redirect", to),
                            ("Content-Type", "application/x-test"),
                            ("Set-Cookie", "s=1"),
                            ("Content-Disposition", "attachment"),
                            ("X-Other", "o"), ("Content-Length", 4)],
                      b"body", keep, head)
            return True
        if parts[1:2] == ["hold"]:
            fill, rest = int(parts[2]), int(parts[3])
            out = ["HTTP/1.1 200 X", "Server: origin",
                   "X-Origin: %s" % self.server.name, "Content-Length: "]
            head = ("\r\n".join(out)).encode()
            # the length's own digits count in FILL too
            first = fill - len(head) - 4
            first -= len(str(first + rest))
            head += b"%d\r\n\r\n" % (first + rest)
            body = pattern(first + rest)
            self.wfile.write(head + body[:first])
            self.server.release.wait(10)
            self.server.release.clear()
            self.wfile.write(body[first:])
            return True
        if parts[1:2] == ["cut"]:
            n, m = int(parts[2]), int(parts[3])
            self.wfile.write(b"HTTP/1.1 200 X\r\nContent-Length: %d\r\n\r\n"
                             % n + pattern(m))
            self.wfile.flush()
            return False
        if parts[1:2] == ["redirect"]:
            loc = "http://%s%s" % (hmap.get("host", ""), path)
            if target.endswith("?rel"):
                loc = path
            self.send(302, [("Location", loc), ("Content-Length", 0)], b"",
                      keep, head)
            return True
        if path == "/cookies":
            query = urllib.parse.parse_qs(target.partition("?")[2])
            hdrs = [("Set-Cookie", c) for c in query.get("c", [])]
            self.send(200, hdrs + [("Content-Length", 0)], b"", keep, head)
            return True
        if path == "/refuse-keepalive":
            self.send(200, [("Content-Length", 2)], b"ok", False, head)
            return False
        if path == "/ws":
            return self.websocket(hmap)
        if parts[1:2] == ["cache"]:
            query = urllib.parse.parse_qs(target.partition("?")[2])
            with self.server.lock:
                seen = sum(1 for r in self.server.requests
                           if r["path"] == target)
            time.sleep(int(query.get("d", ["0"])[0]) / 1000.0)
            if "n" in query:
                body = pattern(int(query["n"][0]))
            else:
                body = b"%s #%d" % (path.encode(), seen)
            hdrs = [tuple(h.split(":", 1)) for h in query.get("h", [])]
            if "cond" in query and ("if-none-match" in hmap
                                    or "if-modified-since" in hmap):
                self.send(304, hdrs, b"", keep, True)
                return True
            self.send(int(query.get("s", ["200"])[0]),
                      hdrs + [("Content-Length", len(body))], body, keep,
                      head)
            return True
        if path.startswith("/auth"):
            return self.auth(hmap, keep, head)
        self.send(404, [("Content-Length", 9)], b"not found", keep, head)
        return True

    def auth(self, hmap, keep, head):
        time.sleep(int(hmap.get("x-auth-delay", "0")) / 1000.0)
        code = int(hmap.get("x-auth", "401"))
        body = pattern(int(hmap.get("x-auth-body", "0")))
        hdrs = [("Content-Length", len(body))]
        if "x-auth-user" in hmap:
            hdrs.append(("X-User", hmap["x-auth-user"]))
        if code == 401:
            hdrs += [("WWW-Authenticate", 'Bearer realm="api"'),
                     ("WWW-Authenticate", 'Basic realm="api"')]
            del hdrs[len(hdrs) - 2 + int(hmap.get("x-auth-challenges",
                                                    "2")):]
        if "x-auth-cut" in hmap:
            # half the body it announced, then the connection closes
            self.send(code, hdrs, body[:len(body) // 2], False, head)
            return False
        self.send(code, hdrs, body, keep, head)
        return True

    def websocket(self, hmap):
        key = hmap.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
        ).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n" % accept)
                         .encode())
        self.wfile.flush()
        while True:
            msg = ws_read(self.rfile)
            if msg is None:
                return False
            self.wfile.write(ws_frame(msg, mask=False))
            self.wfile.flush()


def ws_frame(payload, mask=True):
    head = bytes([0x81])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return head + key + payload
    return head + payload


def ws_read(f):
    """One frame from a file-like object; None at close."""
    h = f.read(2)
    if len(h) < 2:
        return None
    if h[0] & 0x0f == 8:
        return None
    n = h[1] & 0x7f
    if n == 126:
        n = struct.unpack("!H", f.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", f.read(8))[0]
    key = f.read(4) if h[1] & 0x80 else None
    data = f.read(n)
    if key:
        data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    return data


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # a proxy may open a hundred connections at once (HTTP/2 streams)
    request_queue_size = 256


class _Server6(_Server):
    address_family = socket.AF_INET6


class _ServerUnix(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class Origin:
    """An origin on 127.0.0.1 (or ::1) at a free port, or on a unix
    socket path; stop() ends it."""

    def __init__(self, name="origin", port=0, host="127.0.0.1", unix=None):
        if unix:
            self.server = _ServerUnix(unix, _Handler)
        else:
            cls = _Server6 if ":" in host else _Server
            self.server = cls((host, port), _Handler)
        self.server.name = name
        self.server.lock = threading.Lock()
        self.server.connections = 0
        self.server.requests = []
        self.server.proxy_lines = []
        self.server.fixed_status = 0
        self.server.release = threading.Event()
        self.server.active = set()
        self.name = name
        self.port = None if unix else self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def connections(self):
        return self.server.connections

    @property
    def requests(self):
        with self.server.lock:
            return list(self.server.requests)

    def answer_all(self, status):
        """Answer every request with this status (0: normal)."""
        self.server.fixed_status = status

    def release(self):
        """Let a /hold response send the rest of its body."""
        self.server.release.set()

    def close_connections(self):
        """Close every open connection, as a restarting backend would."""
        with self.server.lock:
            active = list(self.server.active)
        for s in active:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.close_connections()

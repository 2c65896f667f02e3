"""Mutated requests from a fixed seed: whatever comes in, the worker
answers or closes, never crashes, and keeps serving."""

import random
import socket

from conftest import get

CONF = """
    client_header_buffer_size 256;
    large_client_header_buffers 2 1k;
    server {
        listen 127.0.0.1:PORT;
        root html;
        location / { index index.html; }
        location /r { return 200 "r $arg_a $http_x $cookie_c\\n"; }
        location ~ ^/re/(.*)$ { return 200 "$1"; }
    }
"""

SEEDS = [
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nRange: bytes=0-3,5-\r\n"
    b"If-None-Match: \"x\"\r\n\r\n",
    b"POST /r?a=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    b"X: y\r\nCookie: c=1; d=2\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET http://a:80/re/%41%2e?x HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
    b"HEAD /r HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randint(0, 4)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = rng.randint(0, 255)
        elif op == 1:
            data[pos:pos] = bytes(rng.choice(b"\r\n :%/.\x00\t?#")
                                  for _ in range(rng.randint(1, 4)))
        elif op == 2 and data:
            del data[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            data[pos:pos] = data[rng.randint(0, len(data)):][:64]
        else:
            data[pos:pos] = b"A" * rng.choice((10, 300, 1100))
    return bytes(data)


def test_mutated_requests(bw):
    bw.config(CONF)
    bw.write("html/index.html", "index\n")
    bw.start()
    rng = random.Random(20261123)
    for i in range(3000):
        data = mutate(rng, rng.choice(SEEDS))
        try:
            with socket.create_connection(("127.0.0.1", bw.port),
                                          timeout=2) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
        except OSError:
            pass
        if i % 50 == 0:
            assert get(bw.port, "/index.html")[0] == 200
    assert get(bw.port, "/r?a=ok")[2] == b"r ok  \n"

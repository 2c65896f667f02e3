"""
A DNS server on loopback UDP for resolver tests, run in a thread of the
test process. zone maps a name to its records: ("A", "127.0.0.1", ttl),
("AAAA", "::1", ttl), ("CNAME", "target.", ttl). Names not in the zone
get NXDOMAIN; names in silent get no answer at all, names in slow
their answer after that many seconds. queries counts (name, type)
pairs as asked.
"""

import socket
import struct
import threading
import time

TYPES = {"A": 1, "CNAME": 5, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def decode_name(data, pos):
    labels = []
    while data[pos]:
        n = data[pos]
        labels.append(data[pos + 1:pos + 1 + n].decode())
        pos += 1 + n
    return ".".join(labels).lower(), pos + 1


class DNS:
    def __init__(self, zone, silent=(), slow=None):
        self.zone = {k.lower(): v for k, v in zone.items()}
        self.silent = set(silent)
        self.slow = dict(slow or {})
        self.queries = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def count(self, name, qtype="A"):
        with self.lock:
            return self.queries.count((name, TYPES[qtype]))

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self.answer(data)
            except (IndexError, struct.error, UnicodeDecodeError):
                continue
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, data):
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        name, pos = decode_name(data, 12)
        qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
        question = data[12:pos + 4]
        with self.lock:
            self.queries.append((name, qtype))
        if name in self.silent:
            return None
        if name in self.slow:
            time.sleep(self.slow[name])
        records = self.zone.get(name)
        rcode = 0 if records is not None else 3
        answers = []
        for rtype, value, ttl in records or []:
            t = TYPES[rtype]
            if t != qtype and t != 5:
                continue
            if t == 1:
                rdata = socket.inet_pton(socket.AF_INET, value)
            elif t == 28:
                rdata = socket.inet_pton(socket.AF_INET6, value)
            else:
                rdata = encode_name(value)
            # the owner name as a pointer to the question (compression)
            answers.append(b"\xc0\x0c" + struct.pack("!HHIH", t, 1, ttl,
                                                     len(rdata)) + rdata)
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers),
                           0, 0)
        return head + question + b"".join(answers)

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()

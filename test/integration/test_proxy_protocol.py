"""
listen ... proxy_protocol: v1 and v2 headers give $proxy_protocol_addr
and friends, and realip can take the client from them; a missing,
truncated or garbage header closes that connection (logged) while the
worker goes on serving.
"""

import socket
import struct
import time

from conftest import raw, recv_all, require_module

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(src, dst, sport, dport, tlv=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack(">HH", sport, dport) + tlv
    return SIG + bytes([0x21, 0x11]) + struct.pack(">H", len(body)) + body


def v2_6(src, dst, sport, dport):
    body = socket.inet_pton(socket.AF_INET6, src) + \
        socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack(">HH", sport, dport)
    return SIG + bytes([0x21, 0x21]) + struct.pack(">H", len(body)) + body


REQ = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def body_of(resp):
    return resp.partition(b"\r\n\r\n")[2]


def test_proxy_protocol(bw):
    require_module("http_realip")
    bw.config("""
    server { listen 127.0.0.1:PORT proxy_protocol;
        set_real_ip_from 127.0.0.0/8;
        real_ip_header proxy_protocol;
        location / { return 200 "$proxy_protocol_addr:$proxy_protocol_port \
$proxy_protocol_server_addr:$proxy_protocol_server_port $remote_addr \
$realip_remote_addr"; } }
    """)
    bw.start()

    r = raw(bw.port, b"PROXY TCP4 192.0.2.7 198.51.100.2 56324 443\r\n" + REQ)
    assert body_of(r) == b"192.0.2.7:56324 198.51.100.2:443 192.0.2.7 " \
        b"127.0.0.1"

    r = raw(bw.port, b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 80\r\n" + REQ)
    assert body_of(r) == b"2001:db8::7:4000 2001:db8::1:80 2001:db8::7 " \
        b"127.0.0.1"

    r = raw(bw.port, v2("203.0.113.9", "198.51.100.2", 1234, 80,
                        tlv=b"\x03\x00\x04abcd") + REQ)
    assert body_of(r) == b"203.0.113.9:1234 198.51.100.2:80 203.0.113.9 " \
        b"127.0.0.1"
    r = raw(bw.port, v2_6("2001:db8::9", "2001:db8::1", 9, 80) + REQ)
    assert body_of(r).startswith(b"2001:db8::9:9 ")

    # a balancer's health check: no addresses, the peer stays
    r = raw(bw.port, b"PROXY UNKNOWN\r\n" + REQ)
    assert body_of(r) == b": : 127.0.0.1 127.0.0.1"
    r = raw(bw.port, SIG + b"\x20\x00\x00\x00" + REQ)
    assert body_of(r) == b": : 127.0.0.1 127.0.0.1"

    # the header in pieces, then two requests on the connection
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
    for piece in (b"PROXY TCP4 192.0.2.8 ", b"198.51.100.2 1 2\r", b"\n"):
        s.sendall(piece)
        time.sleep(0.05)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" + REQ)
    data = recv_all(s)
    s.close()
    assert data.count(b"192.0.2.8:1 198.51.100.2:2") == 2

    # broken: no header, garbage, a bad address, a v1 line too long
    for bad in (REQ, b"PROXY TCP4 999.0.2.7 198.51.100.2 1 2\r\n" + REQ,
                b"PROXY TCP4 192.0.2.7 198.51.100.2 1 99999\r\n" + REQ,
                b"PROXY TCP5 a b 1 2\r\n" + REQ,
                b"PROXY " + b"x" * 200,
                SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12 + REQ):
        assert raw(bw.port, bad) == b"", bad
    assert "broken header" in bw.logs()

    # truncated: the client gives up; the worker still serves
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
    s.sendall(b"PROXY TCP4 192.0.2.7")
    s.close()
    r = raw(bw.port, b"PROXY TCP4 192.0.2.1 198.51.100.2 5 6\r\n" + REQ)
    assert body_of(r).startswith(b"192.0.2.1:5 ")
    bw.check_sanitizers()


def tlv(t, value):
    return bytes([t]) + struct.pack(">H", len(value)) + value


TLV_FORMAT = (
    "$proxy_protocol_tlv_alpn|$proxy_protocol_tlv_0x01|"
    "$proxy_protocol_tlv_authority|$proxy_protocol_tlv_unique_id|"
    "$proxy_protocol_tlv_netns|$proxy_protocol_tlv_0x000ae|"
    "$proxy_protocol_tlv_ssl_verify|$proxy_protocol_tlv_ssl_version|"
    "$proxy_protocol_tlv_ssl_cn|$proxy_protocol_tlv_ssl_0x22|"
    "$proxy_protocol_tlv_ssl_cipher|$proxy_protocol_tlv_ssl_sig_alg|"
    "$proxy_protocol_tlv_ssl_key_alg|$proxy_protocol_tlv_0x3")

TLV_CASES = [
    # ALPN, authority, a custom type, and the SSL TLV: client flags,
    # verify = 0, then sub-TLVs
    tlv(0x01, b"h2") + tlv(0x02, b"example.com") + tlv(0xae, b"custom")
    + tlv(0x20, b"\x07\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3")
          + tlv(0x22, b"client one") + tlv(0x23, b"TLS_AES_128_GCM_SHA256")
          + tlv(0x24, b"SHA256") + tlv(0x25, b"EC256")),
    # a verify field that is not 0, a CRC and a unique id, no ALPN
    tlv(0x03, b"\x01\x02\x03\x04") + tlv(0x05, b"id-1")
    + tlv(0x20, b"\x01\x00\x00\x01\x00"),
    # none at all
    b"",
    # framing broken after the first TLV: what came before is read
    tlv(0x01, b"h2") + b"\x02\x00\xff" + b"short",
]


def tlv_answers(port):
    out = []
    for case in TLV_CASES:
        r = raw(port, v2("203.0.113.9", "198.51.100.2", 1234, 80, case)
                + REQ)
        out.append(body_of(r))
    return out


TLV_SERVER = """
    server { listen 127.0.0.1:%%s proxy_protocol;
        location / { return 200 "%s"; } }
""" % TLV_FORMAT


def test_proxy_protocol_tlv_variables(bw):
    """As nginx 1.23.2+ reads them (Debian 12's nginx 1.22 has none of
    these variables, so there is no side-by-side run)."""
    bw.config(TLV_SERVER % "PORT")
    bw.start()
    got = tlv_answers(bw.port)
    assert got[0] == (b"h2|h2|example.com|||custom|0|TLSv1.3|client one|"
                      b"client one|TLS_AES_128_GCM_SHA256|SHA256|EC256|")
    assert got[1] == b"|||id-1|||256|||||||\x01\x02\x03\x04"
    assert got[2] == b"|" * 13
    assert got[3] == b"h2|h2|" + b"|" * 11

"""Configuration: -t/-T, include with globs, -g, and errors that name
the file, the line and what is wrong, in nginx's words."""

import os
import re
import socket
import time

import pytest

from conftest import get, missing_modules_of, require_module, wait_for

GOOD = """
    include conf.d/*.conf;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "main\\n"; }
    }
"""


def test_t_ok_and_T_dump(bw):
    bw.config(GOOD + """
    server { listen 127.0.0.1:PORT; server_name a; include loc.inc; }
    server { listen 127.0.0.1:PORT; server_name b; include loc.inc; }
    """)
    bw.write("conf/conf.d/a.conf", "# included file A\n")
    bw.write("conf/conf.d/b.conf", "default_type text/plain;\n")
    bw.write("conf/loc.inc", "location /inc { return 204; }\n")
    r = bw.run("-t")
    assert r.returncode == 0
    assert "syntax is ok" in r.stderr
    assert "test is successful" in r.stderr
    r = bw.run("-T")
    assert r.returncode == 0
    assert "# configuration file %s:" % bw.conf in r.stdout
    assert "# included file A" in r.stdout
    assert r.stdout.index("conf.d/a.conf") < r.stdout.index("conf.d/b.conf")
    # a file included twice is printed once, as by nginx
    assert r.stdout.count("# configuration file %s:"
                          % bw.path("conf", "loc.inc")) == 1
    r = bw.run("-t", "-q")
    assert r.returncode == 0 and r.stderr == ""


ERRORS = [
    ("unknown", "    worker_conections 10;\n",
     r'unknown directive "worker_conections" \(did you mean '
     r'"worker_connections"\?\) in {conf}:{line}'),
    ("args", "    server { listen; }\n",
     r'invalid number of arguments in "listen" directive in {conf}:{line}'),
    ("context", "    worker_connections 10;\n",
     r'"worker_connections" directive is not allowed here in {conf}:{line}'),
    ("flag", "    sendfile maybe;\n",
     r'invalid value "maybe" in "sendfile" directive, it must be "on" or '
     r'"off" in {conf}:{line}'),
    ("duplicate", "    keepalive_timeout 1s;\n    keepalive_timeout 2s;\n",
     r'"keepalive_timeout" directive is duplicate in {conf}:{line1}'),
    ("value", "    client_max_body_size 10q;\n",
     r'"client_max_body_size" directive invalid value in {conf}:{line}'),
    ("no semicolon", "    default_type text/plain\n}\n",
     r'unexpected "}}" in {conf}:{line1}'),
    ("regex", "    server { location ~ ([a- { } }\n",
     r'pcre2_compile\(\) failed: .* in {conf}:{line}'),
    ("lone dollar", '    server { location / { return 200 "5$"; } }\n',
     r'invalid variable name in {conf}:{line}'),
    ("log capture", '    log_format x "$1 $status";\n',
     r'unknown "1" variable in {conf}:{line}'),
    ("include missing", "    include nothere.conf;\n",
     r'open\(\) "{prefix}/conf/nothere.conf" failed \(2: No such file or '
     r'directory\) in {conf}:{line}'),
]


@pytest.mark.parametrize("name,snippet,pattern", ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_errors_name_file_and_line(bw, name, snippet, pattern):
    text = bw.config(snippet)
    line = text.count("\n", 0, text.index(snippet)) + 1
    r = bw.run("-t")
    assert r.returncode == 1
    expected = pattern.format(conf=re.escape(bw.conf), line=line,
                              line1=line + 1, prefix=re.escape(bw.prefix))
    assert re.search(r"bulwark: \[emerg\] " + expected, r.stderr), r.stderr
    assert "test failed" in r.stderr


def test_error_in_included_file(bw):
    bw.config("    include extra/*.conf;\n")
    inc = bw.write("conf/extra/x.conf", "\n\nbogus_directive on;\n")
    r = bw.run("-t")
    assert r.returncode == 1
    assert 'unknown directive "bogus_directive" in %s:3' % inc in r.stderr


def test_g_directives(bw):
    bw.config(GOOD.replace("include conf.d/*.conf;", ""))
    r = bw.run("-t", "-g", "worker_rlimit_nofile 1024;")
    assert r.returncode == 0
    r = bw.run("-t", "-g", "daemon on;")
    assert r.returncode == 1
    assert '"daemon" directive is duplicate' in r.stderr


def test_bad_config_does_not_start(bw):
    bw.config("    server { listen 127.0.0.1:PORT; bad; }\n")
    r = bw.run(timeout=10)
    assert r.returncode == 1
    assert 'unknown directive "bad"' in r.stderr
    assert bw.read_pid() is None


def test_t_never_binds(bw):
    bw.config(GOOD.replace("include conf.d/*.conf;", ""))
    bw.start()
    r = bw.run("-t")
    assert r.returncode == 0
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"main\n"


def test_version_shows_modules(bw):
    r = bw.run("-V")
    assert r.returncode == 0
    assert "configure arguments:" in r.stderr
    assert "http_static" in r.stderr


def test_autoindex(bw):
    bw.config("server { listen 127.0.0.1:PORT; autoindex off; }")
    assert bw.run("-t").returncode == 0
    bw.config("server { listen 127.0.0.1:PORT; autoindex on; }")
    assert bw.run("-t").returncode == 0
    bw.config("server { listen 127.0.0.1:PORT; autoindex yes; }")
    r = bw.run("-t")
    assert r.returncode == 1
    assert ('invalid value "yes" in "autoindex" directive, it must be "on" '
            'or "off"') in r.stderr


def make_example_certificates(bw, conf):
    """The certificates an example names, made up (self-signed)."""
    import os
    import re
    import shutil
    import subprocess
    text = open(conf).read()
    certs = re.findall(r"ssl_certificate\s+(\S+);", text)
    keys = re.findall(r"ssl_certificate_key\s+(\S+);", text)
    made = None
    for crt, key in zip(certs, keys):
        crt, key = bw.path("conf", crt), bw.path("conf", key)
        os.makedirs(os.path.dirname(crt), exist_ok=True)
        kind = ["-newkey", "rsa:2048"] if "rsa" in key else \
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "1",
                        "-subj", "/CN=example.com", "-keyout", key,
                        "-out", crt] + kind, check=True,
                       capture_output=True, timeout=60)
        made = crt
    # CAs to trust: any certificate will do for -t
    for ca in re.findall(r"ssl_trusted_certificate\s+(\S+);", text):
        assert made, "an example trusts a CA but names no certificate"
        ca = bw.path("conf", ca)
        os.makedirs(os.path.dirname(ca), exist_ok=True)
        shutil.copy(made, ca)


def test_shipped_configs_load(bw):
    """conf/bulwark.conf and every conf/examples file pass -t."""
    import glob
    import os
    import shutil
    from conftest import SRC
    files = [os.path.join(SRC, "conf", "bulwark.conf")] + sorted(
        glob.glob(os.path.join(SRC, "conf", "examples", "*.conf")))
    assert len(files) >= 2
    checked = 0
    for f in files:
        with open(f) as conf:
            if missing_modules_of(conf.read()):
                continue    # needs a module this build left out
        shutil.copy(f, bw.conf)
        for name in ("fastcgi_params", "fastcgi.conf", "uwsgi_params",
                     "scgi_params"):
            shutil.copy(os.path.join(SRC, "conf", name), bw.path("conf"))
        make_example_certificates(bw, f)
        r = bw.run("-t")
        assert r.returncode == 0, (f, r.stderr)
        checked += 1
    if not checked:
        pytest.skip("every shipped configuration needs a module left out")


def test_listen_options(bw):
    bw.config("""
    server {
        listen 127.0.0.1:PORT backlog=64 rcvbuf=64k sndbuf=128k deferred
               so_keepalive=30s:10s:3 reuseport default_server;
        return 200 "opts\\n";
    }
""")
    bw.start()
    assert get(bw.port, "/") == (200, get(bw.port, "/")[1], b"opts\n")
    bw.config("server { listen 127.0.0.1:PORT rcvbuf=lots; }")
    r = bw.run("-t")
    assert r.returncode == 1 and 'invalid rcvbuf "lots"' in r.stderr
    bw.config("server { listen 127.0.0.1:PORT fastopen=3; }")
    r = bw.run("-t")
    assert r.returncode == 1 and 'invalid parameter "fastopen=3"' in r.stderr


def test_compat_directives(bw):
    """Directives nginx configs carry: the ones that do something here,
    and the ones accepted so that the config loads (documented)."""
    import socket
    from origin import Origin
    o = Origin("o1")
    try:
        bw.config("""
        open_file_cache max=1000 inactive=20s;
        open_file_cache_valid 30s;
        open_file_cache_min_uses 2;
        open_file_cache_errors on;
        output_buffers 2 32k;
        msie_padding off;
        keepalive_disable msie6;
        aio threads;
        directio off;
        client_header_timeout 1s;
        server { listen 127.0.0.1:PORT;
            reset_timedout_connection on;
            location /plain/ { proxy_pass http://127.0.0.1:%d/; }
            location /nochunk/ { chunked_transfer_encoding off;
                                 proxy_pass http://127.0.0.1:%d/; } }
        """ % (o.port, o.port))
        r = bw.run("-t")
        assert r.returncode == 0, r.stderr
        assert '"aio threads" has no effect' in r.stderr
        for name in ("open_file_cache", "open_file_cache_valid",
                     "open_file_cache_min_uses", "open_file_cache_errors",
                     "output_buffers", "msie_padding"):
            assert '"%s" has no effect' % name in r.stderr, name
        # keepalive_disable works now: nothing to warn of
        assert '"keepalive_disable"' not in r.stderr
        assert '"directio off' not in r.stderr
        bw.start()

        def head_of(path):
            s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            s.close()
            return data.split(b"\r\n\r\n")[0].lower()

        assert b"transfer-encoding: chunked" in head_of(b"/plain/chunked/5000")
        h = head_of(b"/nochunk/chunked/5000")
        assert b"transfer-encoding" not in h and b"connection: close" in h

        # a client that stalls in its header is reset, not closed
        s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = "reset"
        s.close()
        assert got == "reset"
    finally:
        o.stop()

    bw.config("""
    open_file_cache maximal=10;
    server { listen 127.0.0.1:PORT; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'invalid "open_file_cache" parameter "maximal=10"' in r.stderr
    bw.config("""
    disable_symlinks on;
    server { listen 127.0.0.1:PORT; }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"disable_symlinks on" is not supported yet' in r.stderr


def test_keepalive_time(bw):
    """After keepalive_time a client connection ends with the response
    that is under way."""
    import socket
    import time
    bw.config("""
    keepalive_time 1s;
    server { listen 127.0.0.1:PORT; location / { return 200 "k"; } }
    """)
    bw.start()
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=5)
    start = time.monotonic()
    closed_after = None
    buf = b""
    while time.monotonic() - start < 5:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        while b"\r\n\r\nk" not in buf:
            buf += s.recv(4096)
        head, _, buf = buf.partition(b"\r\n\r\nk")
        if b"Connection: close" in head:
            closed_after = time.monotonic() - start
            break
        time.sleep(0.1)
    s.close()
    assert closed_after is not None and closed_after >= 1.0


def test_sendfile_max_chunk(bw):
    """A file larger than sendfile_max_chunk goes out in pieces, each on a
    later turn of the event loop, and arrives whole."""
    require_module("http_static")
    import hashlib
    import os
    data = os.urandom(1024 * 1024 + 17)
    bw.write("html/big.bin", data, mode="wb")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        location / { sendfile on; sendfile_max_chunk 4k; } }
    """)
    bw.start()
    st, _, body = get(bw.port, "/big.bin", timeout=20)
    assert st == 200
    assert hashlib.md5(body).hexdigest() == hashlib.md5(data).hexdigest()


def test_several_error_logs_at_one_level(bw):
    """error_log twice at one level: each log gets what its level takes
    (nginx 1.5.2+), at the main level, in http{} and in a location."""
    require_module("http_static")    # its open() errors are the lines
    bw.config("""
        error_log logs/http-warn.log warn;
        error_log logs/http-info.log info;
        server {
            listen 127.0.0.1:PORT;
            root html;
            location /x/ { error_log logs/x-crit.log crit;
                           error_log logs/x-err.log error; }
        }""", head_extra="error_log logs/main-crit.log crit;\n")
    bw.start()
    assert get(bw.port, "/nope")[0] == 404
    assert get(bw.port, "/x/nope")[0] == 404

    def read(name):
        try:
            with open(bw.path("logs", name)) as f:
                return f.read()
        except OSError:
            return ""
    wait_for(lambda: "/x/nope" in read("x-err.log"), what="x-err.log")
    wait_for(lambda: "html/nope" in read("http-warn.log"),
             what="http-warn.log")
    assert "html/nope" in read("http-info.log")
    assert "/x/nope" not in read("http-warn.log")
    assert read("x-crit.log") == ""
    # the main context's first error_log (CONF_HEAD's) and this one
    assert "start worker process" in read("error.log")
    assert read("main-crit.log") == ""


def test_distribution_main_section_loads(bw):
    """What Debian's and other distributions' nginx.conf say before
    http{} loads: load_module and the tuning directives that have no
    effect here say so; worker_priority is applied."""
    bw.config("""
        map_hash_bucket_size 128;
        map_hash_max_size 4096;
        open_log_file_cache max=1000 inactive=20s;
        server { listen 127.0.0.1:PORT; location / { return 200 "ok"; } }
    """, head_extra="""
        load_module modules/ngx_http_image_filter_module.so;
        env TZ;
        env BULWARK_TEST_ENV=1;
        worker_rlimit_core 10m;
        worker_priority 5;
        timer_resolution 100ms;
        lock_file logs/nginx.lock;
    """)
    r = bw.run("-t")
    assert r.returncode == 0, r.stderr
    for name in ("load_module", "timer_resolution", "open_log_file_cache"):
        assert '"%s" has no effect' % name in r.stderr
    master = bw.start()
    assert get(bw.port, "/")[0] == 200
    worker = bw.workers(master)[0]
    with open("/proc/%d/stat" % worker) as f:
        nice = int(f.read().rsplit(")", 1)[1].split()[16])
    assert nice == 5


def test_memory_log_target_refused_by_name(bw):
    """nginx's memory: buffer is refused by name, never taken for a file
    named so."""
    bw.config("""
        access_log memory:32m;
        server { listen 127.0.0.1:PORT; }""")
    r = bw.run("-t")
    assert r.returncode != 0
    assert 'logging to "memory:" is not supported' in r.stderr
    assert not os.path.exists(bw.path("memory:32m"))


def test_logs_to_syslog(bw):
    """error_log and access_log to a syslog server over UDP: RFC 3164
    datagrams with nginx's defaults (facility local7, tag "nginx"; an
    access line at severity info, an error at its own level)."""
    require_module("http_static")    # its open() error is the line
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    port = rx.getsockname()[1]
    try:
        bw.config("""
            log_format short "$request $status";
            access_log syslog:server=127.0.0.1:%d,tag=web short;
            server { listen 127.0.0.1:PORT; root html;
                     location /x/ {
                error_log syslog:server=127.0.0.1:%d,tag=loc error; } }""" % (port, port),
                  head_extra="error_log syslog:server=127.0.0.1:%d,"
                             "facility=daemon,nohostname warn;\n" % port)
        bw.start()
        assert get(bw.port, "/missing")[0] == 404
        assert get(bw.port, "/x/missing")[0] == 404
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 4 and time.monotonic() < deadline:
            got.append(rx.recv(65536).decode())
        # a location's own syslog error_log: local7 * 8 + error = 187
        loc = [m for m in got if "loc:" in m]
        assert loc and loc[0].startswith("<187>"), got
        assert "/x/missing" in loc[0]
        access = [m for m in got if "web:" in m]
        error = [m for m in got if "nginx:" in m and "/x/" not in m]
        # local7 (23) * 8 + info (6) = 190; daemon (3) * 8 + error (3)
        assert access and access[0].startswith("<190>"), got
        assert access[0].endswith("web: GET /missing HTTP/1.1 404"), got
        assert error and error[0].startswith("<27>"), got
        assert "[error]" in error[0] and "No such file" in error[0]
        # nohostname: the tag follows the time stamp
        assert re.match(r"<27>\w{3} [ \d]\d \d\d:\d\d:\d\d nginx: ",
                        error[0]), error[0]
    finally:
        rx.close()


def test_syslog_parameter_errors(bw):
    for target, msg in (("syslog:facility=local7", "no syslog server"),
                        ("syslog:server=127.0.0.1,bogus=1",
                         'unknown syslog parameter "bogus=1"'),
                        ("syslog:server=127.0.0.1,tag=a-b",
                         "only allows alphanumeric")):
        bw.config("""
            access_log %s;
            server { listen 127.0.0.1:PORT; }""" % target)
        r = bw.run("-t")
        assert r.returncode != 0, target
        assert msg in r.stderr, (target, r.stderr)
    bw.config("""
        access_log syslog:server=127.0.0.1 combined buffer=32k;
        server { listen 127.0.0.1:PORT; }""")
    r = bw.run("-t")
    assert 'parameter "buffer" is not supported by syslog' in r.stderr


def test_worker_processes_within_what_a_reload_can_run(bw):
    # a reload runs the old workers beside the new ones: the master's
    # 1024 process slots hold two sets of 512
    text = bw.config("")
    bw.write("conf/bulwark.conf",
             re.sub(r"worker_processes \d+;", "worker_processes 513;", text))
    r = bw.run("-t")
    assert r.returncode == 1
    assert re.search(r'\[emerg\] "worker_processes" may not be over 512: '
                     r'a reload runs the old and the new workers side by '
                     r'side in %s:\d+' % re.escape(bw.conf), r.stderr), \
        r.stderr
    bw.write("conf/bulwark.conf",
             re.sub(r"worker_processes \d+;", "worker_processes 512;", text))
    assert bw.run("-t").returncode == 0

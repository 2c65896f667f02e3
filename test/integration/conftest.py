"""
Fixtures for integration tests: each test gets a temporary prefix with
conf/, html/ and logs/, starts real bulwark processes on free loopback
ports, and stops them by pid. Every wait is a poll with a deadline.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

SRC = os.environ.get("BULWARK_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("BULWARK_BIN") or os.path.join(SRC, "objs", "bulwark")


_modules = None


def built_modules():
    """The modules this binary was configured with, from bulwark -V."""
    global _modules
    if _modules is None:
        r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
        line = [l for l in r.stderr.splitlines() if l.startswith("modules:")]
        _modules = set(line[0].split()[1:]) if line else set()
    return _modules


def require_module(*names):
    """Skip a test whose module ./configure left out, as nginx's tests do."""
    missing = [n for n in names if n not in built_modules()]
    if missing:
        pytest.skip("built without %s" % ", ".join(missing))


_directive_modules = None


def directive_modules():
    """Directive name -> the module folder that defines it, read from the
    command tables under modules/, so that a test whose configuration
    names a module's directive skips when the build left it out."""
    global _directive_modules
    if _directive_modules is None:
        table = {}
        for folder in sorted(os.listdir(os.path.join(SRC, "modules"))):
            d = os.path.join(SRC, "modules", folder)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if not name.endswith(".c"):
                    continue
                with open(os.path.join(d, name), errors="replace") as f:
                    text = f.read()
                for block in re.findall(
                        r"bw_command_t\s+\w+\[\]\s*=\s*\{(.*?)"
                        r"bw_null_command", text, re.S):
                    for directive in re.findall(
                            r"\{\s*bw_string\(\"([^\"]+)\"\)", block):
                        table[directive] = folder
        _directive_modules = table
    return _directive_modules


def missing_modules_of(conf_text):
    """The modules, left out of this build, whose directives the
    configuration names (it would be refused as unknown)."""
    text = re.sub(r"#[^\n]*", "", conf_text)
    table = directive_modules()
    missing = set()
    for m in re.finditer(r"(?:^|[;{}])\s*([A-Za-z_][A-Za-z0-9_]*)", text):
        folder = table.get(m.group(1))
        if folder and folder not in built_modules():
            missing.add(folder)
    return missing


def require_modules_of(conf_text):
    """Skip when the configuration needs a module this build lacks."""
    missing = missing_modules_of(conf_text)
    if missing:
        pytest.skip("built without %s" % ", ".join(sorted(missing)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s" % what)


def limited_lines(logs, message, between=""):
    """The lines of a message written at most once a second, once one of
    them has said how many were left out (between: what a line has from
    the message to that count)."""
    assert re.search(re.escape(message) + between
                     + r" \(\d+ similar messages suppressed\)", logs), \
        logs[-2000:]
    return [line for line in logs.splitlines() if message in line]


def rss_kb(pid):
    """A process's resident memory, KiB."""
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def settled_rss(pid, spread_kb, timeout=20):
    """The process's memory once five samples in a row (0.2 s apart)
    lie within spread_kb of each other."""
    sizes = []

    def settled():
        sizes.append(rss_kb(pid))
        return len(sizes) > 10 and max(sizes[-5:]) - min(sizes[-5:]) < spread_kb
    wait_for(settled, timeout=timeout, interval=0.2, what="a settled RSS")
    return sizes[-1]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child counts as gone
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    out = []
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as f:
                        fields = f.read().split(")")[-1].split()
                    if int(fields[1]) == pid and fields[0] != "Z":
                        out.append(int(entry))
                except OSError:
                    pass
    except OSError:
        pass
    return sorted(out)


def recv_all(s, timeout=5.0):
    """Read a socket until the server closes it or the timeout passes."""
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            b = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def raw(port, data, timeout=5.0, host="127.0.0.1"):
    """Send bytes, read until the server closes or the timeout passes."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        return recv_all(s, timeout)


def status_of(response):
    line = response.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def get(port, path="/", host="localhost", headers=None, method="GET",
        timeout=5.0):
    """One request on a new connection: (status, headers dict, body)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, headers=h)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


# As root, workers would run as "nobody" and could not read the
# private temporary prefix: run them as root, as nginx allows.
CONF_HEAD = ("user root;\n" if os.geteuid() == 0 else "") + """
daemon off;
worker_processes {workers};
error_log logs/error.log info;
pid logs/bulwark.pid;
events {{ worker_connections 256; }}
"""


class Bulwark:
    def __init__(self, prefix):
        self.prefix = str(prefix)
        for d in ("conf", "html", "logs"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        shutil.copy(os.path.join(SRC, "conf", "mime.types"),
                    os.path.join(self.prefix, "conf", "mime.types"))
        self.conf = os.path.join(self.prefix, "conf", "bulwark.conf")
        self.pidfile = os.path.join(self.prefix, "logs", "bulwark.pid")
        self.errlog = os.path.join(self.prefix, "logs", "error.log")
        self.pids = set()
        self.procs = []
        self.port = free_port()
        self.bin = BIN
        self.check_modules = True

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def write(self, rel, content, mode="w"):
        if (self.check_modules and rel.startswith("conf/")
                and isinstance(content, str)):
            require_modules_of(content)
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, mode) as f:
            f.write(content)
        return p

    def config(self, http_body, workers=1, head_extra=""):
        text = CONF_HEAD.format(workers=workers) + head_extra + \
            "http {\n" + http_body.replace("PORT", str(self.port)) + "\n}\n"
        self.write("conf/bulwark.conf", text)
        return text

    def run(self, *args, timeout=20):
        return subprocess.run([self.bin, "-p", self.prefix, "-c", self.conf]
                              + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def read_pid(self, name=None):
        try:
            with open(name or self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def spawn(self, wrap=()):
        """Start bulwark (under the command wrap, if any) and return its
        Popen, waiting for nothing."""
        with open(self.path("logs", "stderr.log"), "ab") as out:
            proc = subprocess.Popen(list(wrap)
                                    + [self.bin, "-p", self.prefix, "-c", self.conf],
                                    stdout=out, stderr=out,
                                    start_new_session=True)
        self.procs.append(proc)
        self.pids.add(proc.pid)
        return proc

    def start(self, wait_port=True):
        proc = self.spawn()
        wait_for(lambda: self.read_pid() == proc.pid or proc.poll() is not None,
                 what="pid file")
        assert proc.poll() is None, self.logs()
        if wait_port:
            self.wait_port()
        return proc.pid

    def wait_port(self, port=None):
        def ok():
            try:
                socket.create_connection(("127.0.0.1", port or self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(ok, what="listening port")

    def workers(self, master=None):
        return children(master or self.read_pid())

    def signal(self, sig, pid=None):
        os.kill(pid or self.read_pid(), sig)

    def logs(self):
        text = ""
        for name in ("error.log", "stderr.log"):
            try:
                with open(self.path("logs", name), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def stop(self):
        # masters we know of, plus any new binary in the pid file
        pid = self.read_pid()
        if pid:
            self.pids.add(pid)
        for pid in list(self.pids):
            kids = children(pid)
            self.pids.update(kids)
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for pid in self.pids:
            try:
                wait_for(lambda: not pid_alive(pid), timeout=5,
                         what="process %d to exit" % pid)
            except AssertionError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def check_sanitizers(self):
        text = self.logs()
        for marker in ("AddressSanitizer", "runtime error:",
                       "LeakSanitizer", "exited on signal 11",
                       "exited on signal 6", "exited on signal 7"):
            assert marker not in text, text[-4000:]


@pytest.fixture
def bw(tmp_path):
    b = Bulwark(tmp_path)
    yield b
    b.stop()
    b.check_sanitizers()


# Comparisons with the reference implementation run where there is one:
# make test names it (scripts/reference-nginx: the nginx on the machine,
# or Debian's package unpacked into objs-ref/), else the one on PATH.
NGINX = (os.environ.get("BULWARK_REF_NGINX") or shutil.which("nginx") or (
    "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None))
needs_nginx = pytest.mark.skipif(NGINX is None,
                                 reason="nginx is not installed")


@contextlib.contextmanager
def nginx_serving(tmp_path, http, port):
    """Debian's nginx in one process, serving the given http{} contents
    (which listen on port), stopped by pid when the block ends."""
    ng = tmp_path / "nginx"
    ng.mkdir(exist_ok=True)
    temps = " ".join("%s_temp_path %s/%s;" % (t, ng, t) for t in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (ng / "nginx.conf").write_text(
        "daemon off; master_process off; worker_processes 1;\n"
        "error_log %s/error.log; pid %s/nginx.pid;\n"
        "events { worker_connections 64; }\n"
        "http { access_log off; %s %s }\n" % (ng, ng, temps, http))
    proc = subprocess.Popen([NGINX, "-p", str(ng), "-e", str(ng / "error.log"),
                             "-c", str(ng / "nginx.conf")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return True
            except OSError:
                return proc.poll() is not None
        wait_for(up, what="nginx")
        assert proc.poll() is None, (ng / "error.log").read_text()
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""The process model: reloads, binary upgrades, worker respawn, graceful
stop and log reopening, with a client on loopback that must never see a
refused or reset connection."""

import os
import shutil
import signal
import socket
import threading
import time

import pytest

from conftest import (children, free_port, get, pid_alive, raw,
                      recv_all, require_module, wait_for)

SERVER = """
    access_log logs/access.log;
    server {
        listen 127.0.0.1:PORT%s;
        location / { return 200 "%s\\n"; }
        location /file { root html; }
    }
"""


class ClientLoop(threading.Thread):
    """New connection per request until stopped or the deadline passes."""

    def __init__(self, port, seconds=60, max_requests=200000):
        super().__init__(daemon=True)
        self.port = port
        self.deadline = time.monotonic() + seconds
        self.max_requests = max_requests
        self.stop_event = threading.Event()
        self.ok = 0
        self.errors = []
        self.bodies = set()

    def run(self):
        n = 0
        while (not self.stop_event.is_set() and n < self.max_requests
               and time.monotonic() < self.deadline):
            n += 1
            try:
                resp = raw(self.port, b"GET / HTTP/1.1\r\nHost: a\r\n"
                                      b"Connection: close\r\n\r\n",
                           timeout=5)
                if not resp.startswith(b"HTTP/1.1 200 OK"):
                    self.errors.append(resp[:100])
                else:
                    self.ok += 1
                    self.bodies.add(resp.split(b"\r\n\r\n", 1)[1])
            except OSError as e:
                self.errors.append(repr(e))

    def stop(self):
        self.stop_event.set()
        self.join(timeout=30)


def conf(bw, text, reuseport=False, workers=1):
    bw.config(SERVER % (" reuseport" if reuseport else "", text),
              workers=workers)


def test_reload_good_and_bad(bw):
    conf(bw, "one", reuseport=True, workers=2)
    master = bw.start()
    old_workers = wait_for(lambda: len(bw.workers()) == 2 and bw.workers(),
                           what="two workers")
    loop = ClientLoop(bw.port)
    loop.start()
    wait_for(lambda: loop.ok > 20, what="client traffic")

    conf(bw, "two", reuseport=True, workers=2)
    bw.signal(signal.SIGHUP)
    wait_for(lambda: b"two\n" in loop.bodies, what="new configuration")
    wait_for(lambda: not any(pid_alive(p) for p in old_workers),
             what="old workers to exit")

    # a bad configuration is logged and the running one kept
    bw.write("conf/bulwark.conf",
             open(bw.conf).read().replace("return 200", "retrun 200"))
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reload failed" in bw.logs(),
             what="reload failure in the log")
    n = loop.ok
    wait_for(lambda: loop.ok > n + 20, what="traffic after a bad reload")

    # a burst of reloads
    conf(bw, "three", reuseport=True, workers=2)
    for _ in range(5):
        bw.signal(signal.SIGHUP)
        time.sleep(0.05)
    wait_for(lambda: b"three\n" in loop.bodies, what="third configuration")
    n = loop.ok
    wait_for(lambda: loop.ok > n + 20, what="traffic after reloads")
    loop.stop()

    assert loop.errors == []
    assert bw.read_pid() == master
    assert 'unknown directive "retrun"' in bw.logs()
    wait_for(lambda: len(bw.workers()) == 2, what="two workers at the end")


@pytest.mark.parametrize("reuseport", [False, True],
                         ids=["shared", "reuseport"])
def test_binary_upgrade(bw, reuseport):
    conf(bw, "old", workers=2, reuseport=reuseport)
    old_master = bw.start()
    loop = ClientLoop(bw.port)
    loop.start()
    wait_for(lambda: loop.ok > 20, what="client traffic")

    bw.signal(signal.SIGUSR2, old_master)
    oldbin = bw.pidfile + ".oldbin"
    wait_for(lambda: bw.read_pid(oldbin) == old_master, what="pid.oldbin")
    new_master = wait_for(lambda: (bw.read_pid() not in (None, old_master)
                                   and bw.read_pid()), what="new pid file")
    bw.pids.add(new_master)
    wait_for(lambda: len(children(new_master)) == 2, what="new workers")

    # WINCH: old workers go, the old master stays for a rollback
    old_workers = children(old_master)
    old_workers = [p for p in old_workers if p != new_master]
    bw.signal(signal.SIGWINCH, old_master)
    wait_for(lambda: not any(pid_alive(p) for p in old_workers),
             what="old workers to exit")
    assert pid_alive(old_master)
    n = loop.ok
    wait_for(lambda: loop.ok > n + 20, what="traffic on the new binary")

    bw.signal(signal.SIGQUIT, old_master)
    wait_for(lambda: not pid_alive(old_master), what="old master to exit")
    assert not os.path.exists(oldbin)
    assert bw.read_pid() == new_master
    n = loop.ok
    wait_for(lambda: loop.ok > n + 20, what="traffic after the upgrade")
    loop.stop()
    assert loop.errors == []
    assert "using inherited sockets" in bw.logs()


def test_upgrade_rollback(bw):
    conf(bw, "old")
    old_master = bw.start()
    bw.signal(signal.SIGUSR2, old_master)
    new_master = wait_for(lambda: (bw.read_pid() not in (None, old_master)
                                   and bw.read_pid()), what="new pid file")
    bw.pids.add(new_master)
    wait_for(lambda: len(children(new_master)) == 1, what="new worker")
    bw.signal(signal.SIGWINCH, old_master)
    wait_for(lambda: children(old_master) in ([], [new_master]),
             what="old worker to exit")
    # roll back: HUP restarts the old workers, QUIT stops the new master
    bw.signal(signal.SIGHUP, old_master)
    wait_for(lambda: len([p for p in children(old_master)
                          if p != new_master]) == 1, what="old worker back")
    bw.signal(signal.SIGQUIT, new_master)
    wait_for(lambda: not pid_alive(new_master), what="new master to exit")
    wait_for(lambda: bw.read_pid() == old_master, what="pid file restored")
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"old\n"


def test_killed_worker_is_respawned(bw):
    conf(bw, "alive")
    master = bw.start()
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    os.kill(worker, signal.SIGKILL)
    new = wait_for(lambda: [p for p in bw.workers() if p != worker],
                   what="respawned worker")
    assert new
    assert "worker process %d exited on signal 9" % worker in bw.logs()
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"alive\n"
    assert bw.read_pid() == master


def test_quit_finishes_inflight_response(bw):
    conf(bw, "x")
    size = 32 * 1024 * 1024
    with open(bw.path("html", "file"), "wb") as f:
        f.write(b"z" * size)
    master = bw.start()
    # socket buffers on loopback hold a few MB: most of the 32 MB is
    # still in the worker when it is told to quit
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    s.sendall(b"GET /file HTTP/1.1\r\nHost: a\r\n\r\n")
    first = s.recv(4096)
    assert first.startswith(b"HTTP/1.1 200 OK")
    # quit while most of the body is still to be sent
    bw.signal(signal.SIGQUIT, master)
    wait_for(lambda: "gracefully shutting down" in bw.logs(),
             what="graceful shutdown")
    got = len(first.split(b"\r\n\r\n", 1)[1])
    deadline = time.monotonic() + 60
    while got < size and time.monotonic() < deadline:
        b = s.recv(1 << 20)
        if not b:
            break
        got += len(b)
    s.close()
    assert got == size
    wait_for(lambda: not pid_alive(master), timeout=20, what="master exit")


def test_reopen_logs(bw):
    require_module("http_log")
    conf(bw, "log")
    master = bw.start()
    get(bw.port, "/before")
    log = bw.path("logs", "access.log")
    wait_for(lambda: os.path.exists(log) and "/before" in open(log).read(),
             what="first log line")
    worker = wait_for(lambda: bw.workers(), what="worker")[0]
    os.rename(log, log + ".1")
    bw.signal(signal.SIGUSR1, master)
    # the worker reopens after the master, and writes to the old file
    # until then: wait for its own line, not the master's
    wait_for(lambda: "%d#0: reopening logs" % worker in bw.logs(),
             what="the worker's reopen")
    def logged():
        get(bw.port, "/after")
        return os.path.exists(log) and "/after" in open(log).read()
    wait_for(logged, what="line in the new log")
    assert "/after" not in open(log + ".1").read()


def test_signal_command_line(bw):
    conf(bw, "s")
    master = bw.start()
    r = bw.run("-s", "reload")
    assert r.returncode == 0
    wait_for(lambda: "reconfiguring" in bw.logs(), what="reload by -s")
    r = bw.run("-s", "quit")
    assert r.returncode == 0
    wait_for(lambda: not pid_alive(master), what="quit by -s")
    assert bw.read_pid() is None


def test_worker_affinity_and_rlimit(bw):
    bw.config(SERVER % ("", "a"), workers=2,
              head_extra="worker_cpu_affinity auto;\n"
                         "worker_rlimit_nofile 4321;\n")
    bw.start()
    workers = wait_for(lambda: len(bw.workers()) == 2 and bw.workers(),
                       what="two workers")
    def nofile(w):
        limits = open("/proc/%d/limits" % w).read()
        return [l for l in limits.splitlines()
                if l.startswith("Max open files")][0].split()[3]

    def allowed(w):
        status = open("/proc/%d/status" % w).read()
        return [l for l in status.splitlines()
                if l.startswith("Cpus_allowed_list:")][0].split()[1]

    cpus = set()
    for w in workers:
        # a worker just forked may not have set its limits yet (the
        # affinity comes last)
        wait_for(lambda: nofile(w) == "4321", what="worker_rlimit_nofile")
        if (os.cpu_count() or 1) > 1:
            wait_for(lambda: "," not in allowed(w) and "-" not in allowed(w),
                     what="worker_cpu_affinity")
        cpus.add(allowed(w))
    ncpu = os.cpu_count() or 1
    # one CPU each, different CPUs when there are two
    assert all("," not in c and "-" not in c for c in cpus)
    assert len(cpus) == min(2, ncpu)



def test_upgrade_script(bw):
    """scripts/upgrade does USR2, checks, WINCH and QUIT while a client
    keeps sending requests."""
    import subprocess
    from conftest import SRC
    conf(bw, "up", workers=2)
    old = bw.start()
    loop = ClientLoop(bw.port)
    loop.start()
    wait_for(lambda: loop.ok > 20, what="client traffic")
    r = subprocess.run([os.path.join(SRC, "scripts", "upgrade"), bw.pidfile,
                        "http://127.0.0.1:%d/" % bw.port, "20"],
                       capture_output=True, text=True, timeout=60)
    new = bw.read_pid()
    if new:
        bw.pids.add(new)
    assert r.returncode == 0, r.stderr
    assert new != old and not pid_alive(old)
    n = loop.ok
    wait_for(lambda: loop.ok > n + 20, what="traffic after the upgrade")
    loop.stop()
    assert loop.errors == []


def test_upgrade_script_rolls_back(bw):
    import subprocess
    from conftest import SRC, free_port
    conf(bw, "stay")
    old = bw.start()
    dead = "http://127.0.0.1:%d/" % free_port()     # nothing listens
    r = subprocess.run([os.path.join(SRC, "scripts", "upgrade"), bw.pidfile,
                        dead, "3"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert "rolling back" in r.stderr
    wait_for(lambda: bw.read_pid() == old, what="pid file restored")
    assert pid_alive(old)
    st, _, body = get(bw.port, "/")
    assert st == 200 and body == b"stay\n"


def test_single_process_reload(bw):
    """master_process off: HUP reloads in place; a download that started
    under the old configuration finishes, and that configuration is then
    released; USR2 is refused with a message."""
    port2 = free_port()
    single = "master_process off;\n"
    bw.config(SERVER % ("", "one"), head_extra=single)
    size = 16 * 1024 * 1024
    with open(bw.path("html", "file"), "wb") as f:
        f.write(b"z" * size)
    pid = bw.start()
    assert children(pid) == []

    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    s.sendall(b"GET /file HTTP/1.1\r\nHost: a\r\n\r\n")
    first = s.recv(4096)
    assert first.startswith(b"HTTP/1.1 200 OK")

    loop = ClientLoop(bw.port)
    loop.start()
    wait_for(lambda: loop.ok > 20, what="client traffic")

    bw.config(SERVER % ("", "two") + """
    server { listen 127.0.0.1:%d; location / { return 200 "new port\\n"; } }
""" % port2, head_extra=single)
    bw.signal(signal.SIGHUP)
    wait_for(lambda: b"two\n" in loop.bodies, what="new configuration")
    assert b"new port\n" in raw(port2, b"GET / HTTP/1.0\r\n\r\n")

    bw.write("conf/bulwark.conf",
             open(bw.conf).read().replace("return 200", "retrun 200"))
    bw.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reload failed" in bw.logs(),
             what="reload failure in the log")
    bw.signal(signal.SIGUSR2)
    wait_for(lambda: "changing binary needs" in bw.logs(),
             what="upgrade refused")
    n = loop.ok
    wait_for(lambda: loop.ok > n + 20, what="traffic after a bad reload")
    loop.stop()

    # the old configuration still serves its download
    assert "previous configuration released" not in bw.logs()
    got = len(first.split(b"\r\n\r\n", 1)[1])
    deadline = time.monotonic() + 60
    while got < size and time.monotonic() < deadline:
        b = s.recv(1 << 20)
        if not b:
            break
        got += len(b)
    s.close()
    assert got == size
    wait_for(lambda: "previous configuration released" in bw.logs(),
             what="old configuration released")

    assert loop.errors == []
    assert bw.read_pid() == pid
    assert children(pid) == []
    assert 'unknown directive "retrun"' in bw.logs()


@pytest.mark.parametrize("head", ["", "master_process off;\n"],
                         ids=["master", "single"])
def test_reload_signal_at_start_is_kept(bw, head):
    """A HUP sent the moment the pid file names the new process (as a
    service manager's reload may) reloads once it is running; it is not
    lost in the gap between the pid file and the event loop. strace
    widens that gap (the stderr dup2 that follows the pid file takes
    0.3 s), so that the HUP surely falls into it."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (scripts/deps test)")
    # (LeakSanitizer cannot run under a tracer)
    asan = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    wrap = ("strace", "-o", os.devnull, "-e", "trace=dup2",
            "-e", "inject=dup2:delay_exit=300000",
            "env", "ASAN_OPTIONS=" + asan)
    bw.config(SERVER % ("", "one"), head_extra=head)
    for _ in range(3):
        reloads = bw.logs().count("reconfiguring")
        proc = bw.spawn(wrap)
        # (the process is strace's child: its pid is the pid file's)
        pid = wait_for(bw.read_pid, interval=0.001, what="the pid file")
        bw.pids.add(pid)
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: bw.logs().count("reconfiguring") > reloads,
                 timeout=5, what="the reload")
        assert proc.poll() is None and pid_alive(pid)
        bw.stop()
        bw.procs.clear()
        bw.pids.clear()


@pytest.fixture
def single_proxy(bw):
    """master_process off, proxying to an origin with keepalive; yields
    (origin, reload) where reload() rereads the same configuration."""
    require_module("http_proxy")
    from origin import Origin
    o = Origin("o1")
    text = """
    upstream u { server 127.0.0.1:%d; keepalive 4; }
    server { listen 127.0.0.1:PORT;
        location / { proxy_pass http://u; proxy_http_version 1.1;
                     proxy_set_header Connection ""; } }
""" % o.port
    bw.config(text, head_extra="master_process off;\n")
    bw.start()

    def reload():
        n = bw.logs().count("reconfiguring")
        bw.signal(signal.SIGHUP)
        wait_for(lambda: bw.logs().count("reconfiguring") > n,
                 what="the reload")

    try:
        yield o, reload
    finally:
        o.stop()


def test_single_process_reload_closes_idle_connections(bw, single_proxy):
    """master_process off: a reload closes the idle keepalive connections
    of the old configuration, clients' and pooled upstream ones, so that
    it is released at once instead of when they time out (the origin
    here keeps idle connections for 10 s)."""
    o, reload = single_proxy
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    s.sendall(b"GET /size/10 HTTP/1.1\r\nHost: a\r\n\r\n")
    wait_for(lambda: len(o.requests) == 1, what="the proxied request")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    reload()
    # the idle client connection is closed by the server
    assert s.recv(4096) == b""
    s.close()
    wait_for(lambda: "previous configuration released" in bw.logs(),
             timeout=5, what="old configuration released")
    assert get(bw.port, "/size/10")[0] == 200


def test_single_process_reload_with_request_in_flight(bw, single_proxy):
    """master_process off: a request that began before a reload connects
    to its upstream after it; that connection must not go to the old
    configuration's keepalive cache, which is freed with it."""
    o, reload = single_proxy
    s = socket.create_connection(("127.0.0.1", bw.port), timeout=10)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
              b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
    # the request is being read under the first configuration
    assert s.recv(4096).startswith(b"HTTP/1.1 100")
    reload()
    s.sendall(b"abcd")
    assert recv_all(s).startswith(b"HTTP/1.1 200")
    s.close()
    wait_for(lambda: "previous configuration released" in bw.logs(),
             what="old configuration released")
    # a second reload closes idle connections: none may belong to the
    # released configuration
    reload()
    assert get(bw.port, "/size/10")[0] == 200
    bw.check_sanitizers()


def process_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_user_is_for_workers(bw):
    """As nginx: "user" applies to worker processes; started as root with
    master_process off, the single process keeps its user, reads its
    files and removes its pid file at exit."""
    require_module("http_rewrite")
    os.chmod(bw.prefix, 0o700)
    for single in (False, True):
        bw.config(SERVER % ("", "user"),
                  head_extra="master_process off;\n" if single else "")
        with open(bw.conf) as f:
            text = f.read().replace("user root;", "user nobody;")
        bw.write("conf/bulwark.conf", text)
        pid = bw.start()
        st, _, body = get(bw.port, "/")
        assert st == 200 and body == b"user\n"
        assert process_uid(pid) == 0
        if single:
            assert not bw.workers(pid)
        else:
            workers = wait_for(lambda: bw.workers(pid), what="a worker")
            assert process_uid(workers[0]) != 0
        os.kill(pid, signal.SIGQUIT)
        wait_for(lambda: not pid_alive(pid), what="the exit")
        assert not os.path.exists(bw.pidfile), single

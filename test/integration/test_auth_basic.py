"""
auth_basic: every hash format of an htpasswd file, wrong and missing
credentials, "off", satisfy any with allow/deny, and a changed file
picked up without a reload.
"""

import base64
import hashlib
import subprocess

import pytest

from conftest import get, require_module, wait_for

BCRYPT_PW = "$2b$12$RcpMhnmtaNO9.XlhE.vYEef3nhpY9ZIMVNspaOqXripNIWol6aaJ."


def openssl_passwd(*args):
    return subprocess.run(["openssl", "passwd"] + list(args),
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def basic(user, pw):
    return {"Authorization": "Basic "
            + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


@pytest.fixture
def users():
    salt = b"s4lt"
    ssha = base64.b64encode(hashlib.sha1(b"sshapw" + salt).digest()
                            + salt).decode()
    return "\n".join([
        "# users",
        "plain:{PLAIN}plainpw",
        "plain:{PLAIN}second-line-of-a-user-is-ignored",
        "sha:{SHA}" + base64.b64encode(hashlib.sha1(b"shapw").digest())
        .decode(),
        "ssha:{SSHA}" + ssha,
        "apr:" + openssl_passwd("-apr1", "aprpw"),
        "md5:" + openssl_passwd("-1", "md5pw"),
        "sha512:" + openssl_passwd("-6", "sha512pw") + ":comment",
        "bcrypt:" + BCRYPT_PW,
    ]) + "\n"


def test_auth_basic(bw, users):
    require_module("http_auth_basic")
    require_module("http_access")
    bw.write("conf/users", users)
    bw.write("html/p/index.html", "secret")
    bw.write("html/p/open/index.html", "open")
    bw.write("html/any/index.html", "any")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        location /p/ { auth_basic "Area 51"; auth_basic_user_file users; }
        location /p/open/ { auth_basic off; }
        location /any/ { satisfy any; allow 127.0.0.2; deny all;
                         auth_basic "any"; auth_basic_user_file users; } }
    """)
    bw.start()

    st, h, _ = get(bw.port, "/p/")
    assert st == 401 and h["www-authenticate"] == 'Basic realm="Area 51"'

    for user, pw in (("plain", "plainpw"), ("sha", "shapw"),
                     ("ssha", "sshapw"), ("apr", "aprpw"), ("md5", "md5pw"),
                     ("sha512", "sha512pw"), ("bcrypt", "pw")):
        st, _, body = get(bw.port, "/p/", headers=basic(user, pw))
        assert (st, body) == (200, b"secret"), user
        st, _, _ = get(bw.port, "/p/", headers=basic(user, pw + "x"))
        assert st == 401, user
    # a bcrypt already found good is not computed again: still right
    assert get(bw.port, "/p/", headers=basic("bcrypt", "pw"))[0] == 200
    assert get(bw.port, "/p/", headers=basic("bcrypt", "pX"))[0] == 401

    assert get(bw.port, "/p/", headers=basic("nobody", "x"))[0] == 401
    assert get(bw.port, "/p/", headers={"Authorization": "Basic !!!"})[0] \
        == 401
    logs = bw.logs()
    assert 'user "sha": password mismatch' in logs
    assert 'user "nobody" was not found in' in logs

    assert get(bw.port, "/p/open/")[0] == 200

    # satisfy any: the deny does not matter once the password is right
    assert get(bw.port, "/any/", headers=basic("plain", "plainpw"))[0] \
        == 200
    st, h, _ = get(bw.port, "/any/", headers=basic("plain", "no"))
    assert st == 401 and "www-authenticate" in h

    # a new user in the file, no reload
    bw.write("conf/users", users + "late:{PLAIN}latepw\n")
    wait_for(lambda: get(bw.port, "/p/", headers=basic("late", "latepw"))[0]
             == 200, timeout=5, what="the changed file")

    bw.config("""
    server { listen 127.0.0.1:PORT;
        location / { auth_basic a; auth_basic b; } }
    """)
    r = bw.run("-t")
    assert r.returncode != 0
    assert '"auth_basic" directive is duplicate' in r.stderr


def test_auth_delay(bw, users):
    """auth_delay: a 401 leaves only after the delay, for "satisfy all"
    and "satisfy any" alike; a right password is not delayed, and the
    worker serves others meanwhile."""
    import threading
    import time
    require_module("http_auth_basic")
    require_module("http_access")
    bw.write("conf/users", users)
    bw.write("html/p/index.html", "secret")
    bw.write("html/any/index.html", "any")
    bw.write("html/free/index.html", "free")
    bw.config("""
    server { listen 127.0.0.1:PORT; root html;
        auth_delay 700ms;
        location /p/ { auth_basic "a"; auth_basic_user_file users; }
        location /any/ { satisfy any; deny all;
                         auth_basic "any"; auth_basic_user_file users; }
        location /free/ { }
        location /slow/ { auth_delay 3s; auth_basic "s";
                          auth_basic_user_file users; }
        location /nodelay/ { auth_delay 0; auth_basic "n";
                             auth_basic_user_file users; } }
    """)
    bw.start()

    def timed(path, headers=None):
        t0 = time.monotonic()
        st = get(bw.port, path, headers=headers or {})[0]
        return st, time.monotonic() - t0

    for path in ("/p/", "/any/"):
        st, took = timed(path, basic("plain", "wrong"))
        assert st == 401 and took >= 0.69, (path, took)

    # while one refusal waits (3 s), another client is served
    got = {}
    mark = bw.logs().count("delaying unauthorized request")
    t = threading.Thread(target=lambda: got.update(
        slow=timed("/slow/", basic("plain", "wrong"))))
    t.start()
    wait_for(lambda: bw.logs().count("delaying unauthorized request")
             > mark, what="the delay to start")
    assert get(bw.port, "/free/")[0] == 200
    assert t.is_alive()
    t.join(10)
    assert got["slow"][0] == 401 and got["slow"][1] >= 2.99

    # a right password, and auth_delay 0: answered at once (no delay
    # logged for them)
    mark = bw.logs().count("delaying unauthorized request")
    assert get(bw.port, "/p/", headers=basic("plain", "plainpw"))[0] == 200
    assert get(bw.port, "/nodelay/", headers=basic("plain", "x"))[0] == 401
    assert bw.logs().count("delaying unauthorized request") == mark

"""
The module contract (docs/DESIGN.md, "Modules"): a module is a folder with
a config fragment, placed in the table by the type it declares. The worked
example of docs/DESIGN.md is built, as written there, in a copy of the
tree: the new filter runs without any list being edited; declared with
the wrong type it is refused at start, naming it; a cycle or an unknown
type stops configure.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import SRC, Bulwark, get

EXAMPLE = os.path.join(SRC, "docs", "DESIGN.md")


def example_files():
    """The fenced blocks of DESIGN.md whose first line names a file
    under modules/: {path: text}."""
    with open(EXAMPLE) as f:
        text = f.read()
    files = {}
    for block in re.findall(r"```(?:c|sh)\n(.*?)```", text, re.S):
        first = block.split("\n", 1)[0]
        m = re.match(r"(?:# |/\* )(modules/\S+?)(?: \*/)?$", first)
        if m:
            files[m.group(1)] = block
    return files


def copy_tree(dst):
    for name in ("configure", "auto", "core", "modules"):
        src = os.path.join(SRC, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dst, name))
        else:
            shutil.copy2(src, os.path.join(dst, name))


def configure(tree, *args):
    return subprocess.run(["sh", "./configure", "--builddir=objs",
                           "--with-cc-opt=-O0"] + list(args), cwd=tree,
                          capture_output=True, text=True, timeout=120)


def build(tree):
    r = subprocess.run(["make", "-s", "-j2", "-f", "objs/Makefile",
                        "objs/bulwark"], cwd=tree, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return os.path.join(tree, "objs", "bulwark")


@pytest.fixture(scope="module")
def example_tree(tmp_path_factory):
    tree = str(tmp_path_factory.mktemp("tree"))
    copy_tree(tree)
    files = example_files()
    assert set(files) == {"modules/http_stamp/config",
                          "modules/http_stamp/bw_http_stamp_filter_module.c"}
    for path, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
        with open(os.path.join(tree, path), "w") as f:
            f.write(text)
    r = configure(tree)
    assert r.returncode == 0, r.stderr
    return tree


def test_the_worked_example_filter_runs(example_tree, tmp_path):
    binary = build(example_tree)
    v = subprocess.run([binary, "-V"], capture_output=True, text=True)
    assert "http_stamp" in v.stderr.split("modules:")[1].split()

    b = Bulwark(tmp_path)
    b.bin = binary
    b.check_modules = False
    b.write("html/index.html", "hello\n")
    b.config("""
    server {
        listen 127.0.0.1:PORT;
        root html;
        stamp "v1";
        location /plain/ { stamp ""; }
        location /other/ { stamp "v2"; }
    }
    """)
    try:
        b.start()
        status, headers, body = get(b.port, "/index.html")
        assert (status, headers.get("x-stamp"), body) == (200, "v1",
                                                         b"hello\n")
        status, headers, _ = get(b.port, "/other/none")
        assert (status, headers.get("x-stamp")) == (404, "v2")
        status, headers, _ = get(b.port, "/plain/none")
        assert (status, "x-stamp" in headers) == (404, False)
    finally:
        b.stop()
    b.check_sanitizers()


def test_a_filter_declared_with_the_wrong_type_is_refused(example_tree,
                                                          tmp_path):
    cfg = os.path.join(example_tree, "modules", "http_stamp", "config")
    with open(cfg) as f:
        good = f.read()
    try:
        with open(cfg, "w") as f:
            f.write(good.replace("HTTP_FILTER", "HTTP"))
        r = configure(example_tree)
        assert r.returncode == 0, r.stderr
        binary = build(example_tree)

        b = Bulwark(tmp_path)
        b.bin = binary
        b.check_modules = False
        b.config("server { listen 127.0.0.1:PORT; }")
        r = b.run("-t")
        assert r.returncode != 0
        assert ('module "http_stamp_filter" registers a filter but is '
                'placed before the core\'s filters') in r.stderr
    finally:
        with open(cfg, "w") as f:
            f.write(good)
        configure(example_tree)


@pytest.mark.parametrize("decl, message", [
    ("bw_module http_stamp_filter HTTP_FILTR",
     'unknown type "HTTP_FILTR"'),
    ("bw_module http_stamp_filter HTTP_FILTER runs_before=http_range_body_filter\n"
     "bw_module http_stamp_body_filter HTTP_FILTER "
     "runs_before=http_stamp_filter runs_after=http_range_body_filter",
     "cycle"),
    ("bw_module http_stamp_filter HTTP_FILTER runs_after=http_write_filter",
     "contradicts their types"),
    ("bw_module_srcs=x.c", "declares no module"),
])
def test_configure_refuses_a_broken_declaration(tmp_path, decl, message):
    tree = str(tmp_path / "tree")
    os.makedirs(tree)
    copy_tree(tree)
    os.makedirs(os.path.join(tree, "modules", "http_stamp"))
    with open(os.path.join(tree, "modules", "http_stamp", "config"),
              "w") as f:
        f.write("bw_module_default=yes\nbw_module_srcs=x.c\n%s\n" % decl)
    r = configure(tree)
    assert r.returncode != 0
    assert message in r.stderr
    assert "modules/http_stamp/config" in r.stderr or "cycle" in message \
        or "contradicts" in message


def test_every_module_is_listed_by_help_and_can_be_left_out(tmp_path):
    tree = str(tmp_path)
    copy_tree(tree)
    r = subprocess.run(["sh", "./configure", "--help"], cwd=tree,
                       capture_output=True, text=True)
    folders = sorted(d for d in os.listdir(os.path.join(SRC, "modules"))
                     if os.path.isfile(os.path.join(SRC, "modules", d,
                                                    "config")))
    listed = re.findall(r"^    (\w+)\s+\[(yes|no)\]$", r.stdout, re.M)
    assert sorted(n for n, _ in listed) == folders

    args = ["--without-%s_module" % n for n in folders]
    r = configure(tree, *args)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(tree, "objs", "modules.c")) as f:
        table = f.read()
    assert 'bw_built_modules ="";' in table
    r = configure(tree, "--without-http_nothing_module")
    assert r.returncode != 0 and 'no module "http_nothing"' in r.stderr


def test_the_documented_module_options_exist():
    """Every --with-NAME_module / --without-NAME_module that README and
    docs/ show names a module folder, and README's configure line runs."""
    folders = set(d for d in os.listdir(os.path.join(SRC, "modules"))
                  if os.path.isfile(os.path.join(SRC, "modules", d,
                                                 "config")))
    texts = [os.path.join(SRC, "README.md")] + [
        os.path.join(SRC, "docs", f)
        for f in sorted(os.listdir(os.path.join(SRC, "docs")))
        if f.endswith(".md")]
    named = set()
    for path in texts:
        with open(path) as f:
            named |= set(re.findall(r"--with(?:out)?-(\w+?)_module\b",
                                    f.read()))
    named.discard("NAME")
    # the worked example's module, which the tests add to a copy
    named -= set(p.split("/")[1] for p in example_files())
    assert named and named <= folders, named - folders


def test_the_readme_configure_line_runs(tmp_path):
    with open(os.path.join(SRC, "README.md")) as f:
        line = re.search(r"^    (\./configure .*)$", f.read(), re.M).group(1)
    # the synopsis, each optional part taken: [--opt] -> --opt
    args = [a.strip("[]") for a in line.split()[1:]
            if a.strip("[]") not in ("...", "") and "=PATH" not in a]
    tree = str(tmp_path)
    copy_tree(tree)
    r = configure(tree, *args)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(tree, "objs", "modules.c")) as f:
        table = f.read()
    for a in args:
        m = re.match(r"--without-(\w+)_module$", a)
        if m:
            assert m.group(1) not in re.search(
                r'bw_built_modules =("[^"]*")', table).group(1)

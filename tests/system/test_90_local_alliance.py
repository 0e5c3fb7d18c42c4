"""deploy/local-alliance: a whole alliance on 127.0.0.1, up and down.

Starts the real hub, nodes and alliancectl from $ALLIANCE_BUILD (default:
the repository's build/) on free ports:

    /usr/bin/python3 -m pytest -q tests/system/test_90_local_alliance.py
"""

import json
import os
import random
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "deploy" / "local-alliance"
BUILD = Path(os.environ.get("ALLIANCE_BUILD") or REPO / "build")
N = 3
VARS = ("HUB_ALLIANCE_URL", "HUB_ALLIANCE_URLS", "HUB_SYNC_URL",
        "HUB_SYNC_URLS", "HUB_PUBLIC_URL", "HUB_PUBLIC_URLS", "COMMUNITIES",
        "NODE_URLS", "NODE_CERTS", "NODE_KEYS", "CA_CERT", "OPERATOR_CERT",
        "OPERATOR_KEY", "SIGNING_KEY", "MANAGER_PASSWORD")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def ports_free(base, count):
    for port in range(base, base + count):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_base(count):
    """A base port with count free ports from it."""
    rng = random.Random(os.getpid() ^ int(time.time()))
    for _ in range(200):
        base = rng.randrange(20000, 60000, 10)
        if ports_free(base, count):
            return base
    pytest.fail(f"found no {count} free consecutive ports")


def launcher(*args, timeout=120):
    env = dict(os.environ, ALLIANCE_BUILD=str(BUILD))
    return subprocess.run([str(LAUNCHER), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def read_env(d):
    """alliance.env as a shell sees it after sourcing it."""
    r = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; env -0', "_", str(d / "alliance.env")],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    out = {}
    for item in r.stdout.decode().split("\0"):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
    return out


def pids(d):
    return {p.name: int(p.read_text()) for p in (d / "run").glob("*.pid")}


def gone(pid):
    """No such process, or only a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def get_json(url, ctx=None):
    opener = NO_PROXY if ctx is None else urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ctx))
    with opener.open(url, timeout=10) as r:
        assert r.status == 200
        return json.loads(r.read())


def operator_ctx(env):
    ctx = ssl.create_default_context(cafile=env["CA_CERT"])
    ctx.load_cert_chain(env["OPERATOR_CERT"], env["OPERATOR_KEY"])
    return ctx   # checks the hub's IP SAN 127.0.0.1


@pytest.fixture(scope="module")
def alliance(tmp_path_factory):
    for b in ("alliance-hub", "alliance-node", "alliancectl"):
        assert (BUILD / b).exists(), f"{BUILD / b} missing; run make first"
    d = tmp_path_factory.mktemp("la") / "alliance"
    base = free_base(N + 2)
    r = launcher("up", "--dir", d, "--communities", N, "--base-port", base,
                 "--detach")
    try:
        yield {"dir": d, "base": base, "up": r}
    finally:
        launcher("down", "--dir", d)


def test_up_detach_returns_0(alliance):
    r = alliance["up"]
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(pids(alliance["dir"])) == N + 1


def test_env_has_every_variable(alliance):
    d, base = alliance["dir"], alliance["base"]
    text = (d / "alliance.env").read_text()
    keys = [ln.split("=", 1)[0] for ln in text.splitlines()
            if ln and not ln.startswith("#")]
    assert sorted(keys) == sorted(VARS)
    env = read_env(d)
    for k in VARS:
        assert env.get(k), f"{k} missing or empty"
    assert env["HUB_ALLIANCE_URL"] == f"https://127.0.0.1:{base}"
    assert env["HUB_SYNC_URL"] == f"wss://127.0.0.1:{base}/v1/sync"
    # one hub: the lists hold one URL each, the single-URL one
    assert env["HUB_ALLIANCE_URLS"].split() == [env["HUB_ALLIANCE_URL"]]
    assert env["HUB_SYNC_URLS"].split() == [env["HUB_SYNC_URL"]]
    assert env["HUB_PUBLIC_URL"] == f"http://127.0.0.1:{base + 1}"
    assert env["HUB_PUBLIC_URLS"].split() == [env["HUB_PUBLIC_URL"]]
    ids = env["COMMUNITIES"].split()
    assert len(ids) == N and len(set(ids)) == N
    urls = env["NODE_URLS"].split()
    assert urls == [f"http://127.0.0.1:{base + 2 + i}" for i in range(N)]
    for u in urls + [env[k] for k in VARS if k.startswith("HUB_")]:
        assert not u.endswith("/"), u
    certs, keys = env["NODE_CERTS"].split(), env["NODE_KEYS"].split()
    assert len(certs) == len(keys) == N
    for cid, c, k in zip(ids, certs, keys):
        assert Path(c).name == f"{cid}.crt" and Path(k).name == f"{cid}.key"
    for p in certs + keys + [env[k] for k in ("CA_CERT", "OPERATOR_CERT",
                                              "OPERATOR_KEY", "SIGNING_KEY")]:
        assert os.path.isabs(p) and os.path.isfile(p), p
    assert len(env["MANAGER_PASSWORD"]) >= 16


def test_hub_shows_every_community_connected(alliance):
    env = read_env(alliance["dir"])
    body = get_json(env["HUB_ALLIANCE_URL"] + "/api/v1/communities",
                    operator_ctx(env))
    items = {it["id"]: it for it in body["items"]}
    for cid in env["COMMUNITIES"].split():
        assert items[cid]["connected"] is True, items.get(cid)
    assert get_json(env["HUB_PUBLIC_URL"] + "/healthz")["status"] == "ok"


def test_every_node_healthz_connected(alliance):
    env = read_env(alliance["dir"])
    for cid, url in zip(env["COMMUNITIES"].split(), env["NODE_URLS"].split()):
        h = get_json(url + "/healthz")
        assert h["status"] == "ok"
        assert h["community"] == cid
        assert h["hub"]["connected"] is True, h
        # the nodes dial the hub URLs alliance.env lists ([hub] urls)
        assert h["hub"]["url"] == env["HUB_SYNC_URLS"].split()[0], h


def test_sample_catalog_arrives_at_the_hub(alliance):
    env = read_env(alliance["dir"])
    sample = json.loads((REPO / "deploy" / "sample" / "services.json")
                        .read_text(encoding="utf-8"))["services"]
    want = {(cid, s["id"]) for cid in env["COMMUNITIES"].split()
            for s in sample.get(cid, sample["default"])}
    deadline = time.monotonic() + 60
    while True:     # poll: the nodes sync on their own
        body = get_json(env["HUB_PUBLIC_URL"] + "/api/v1/catalog?limit=100")
        got = {(it["community"], it["id"]) for it in body["items"]}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == want


def test_down_stops_and_up_reuses_certs(alliance):
    d, base = alliance["dir"], alliance["base"]
    before = pids(d)
    assert before
    ca = (d / "pki" / "ca.crt").read_bytes()
    password = read_env(d)["MANAGER_PASSWORD"]

    r = launcher("down", "--dir", d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list((d / "run").glob("*.pid"))
    for name, pid in before.items():
        assert gone(pid), f"{name} (pid {pid}) still runs after down"
    r = launcher("down", "--dir", d)
    assert r.returncode == 0, "down must succeed when nothing runs"

    r = launcher("up", "--dir", d, "--communities", N, "--base-port", base,
                 "--detach")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (d / "pki" / "ca.crt").read_bytes() == ca
    env = read_env(d)
    assert env["MANAGER_PASSWORD"] == password
    body = get_json(env["HUB_ALLIANCE_URL"] + "/api/v1/communities",
                    operator_ctx(env))
    assert sorted(it["id"] for it in body["items"]) == \
        sorted(env["COMMUNITIES"].split())
    assert all(it["connected"] for it in body["items"])
    again = pids(d)
    r = launcher("down", "--dir", d)
    assert r.returncode == 0, r.stdout + r.stderr
    for name, pid in again.items():
        assert gone(pid), f"{name} (pid {pid}) still runs after down"


def test_busy_port_is_named(tmp_path):
    base = free_base(N + 2)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", base + 2))
    s.listen(1)
    try:
        r = launcher("up", "--dir", tmp_path / "busy", "--communities", N,
                     "--base-port", base, "--detach")
    finally:
        s.close()
    assert r.returncode == 1
    assert f"port {base + 2}" in r.stderr
    assert not list((tmp_path / "busy").glob("run/*.pid"))

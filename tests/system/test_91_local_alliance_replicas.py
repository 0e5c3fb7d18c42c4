"""deploy/local-alliance up --hubs 2 --postgresql (issue 18, "Operating it"):
a real PostgreSQL 15 cluster under DIR, two hub replicas on it and the
nodes spread over both; `down` stops all of it, PostgreSQL included.

    /usr/bin/python3 -m pytest -q tests/system/test_91_local_alliance_replicas.py
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from pg import available
from test_90_local_alliance import (BUILD, NO_PROXY, free_base, gone,
                                    get_json, launcher, operator_ctx, pids,
                                    read_env)

N = 3
HUBS = 2
ARRIVE = 60     # s: a poll's bound, never a timed assertion


def cmdlines_naming(d):
    """pids of the processes whose command line names d (not this one)."""
    found = []
    needle = str(d).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def postmaster_pid(d):
    try:
        return int((d / "pg" / "data" / "postmaster.pid")
                   .read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def poll(cond, what):
    deadline = time.monotonic() + ARRIVE
    while True:
        got = cond()
        if got or time.monotonic() > deadline:
            assert got, f"{what} after {ARRIVE} s"
            return got
        time.sleep(0.1)


@pytest.fixture(scope="module")
def replicas():
    if not available():
        pytest.fail("PostgreSQL 15 is not installed: make deps")
    for b in ("alliance-hub", "alliance-node", "alliancectl"):
        assert (BUILD / b).exists(), f"{BUILD / b} missing; run make first"
    # outside pytest's tmp dirs: as root the cluster's owner must get in
    top = Path(tempfile.mkdtemp(prefix="alliance-la-"))
    os.chmod(top, 0o755)
    d = top / "alliance"
    base = free_base(2 * HUBS + N)
    r = launcher("up", "--dir", d, "--communities", N, "--base-port", base,
                 "--hubs", HUBS, "--postgresql", "--detach")
    try:
        yield {"dir": d, "base": base, "up": r}
    finally:
        launcher("down", "--dir", d)
        shutil.rmtree(top, ignore_errors=True)


def test_up_starts_postgresql_two_replicas_and_the_nodes(replicas):
    d, r = replicas["dir"], replicas["up"]
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(pids(d)) == sorted(
        ["hub.pid", "hub-2.pid"] + [f"node-{c}.pid" for c in
                            read_env(d)["COMMUNITIES"].split()])
    pm = postmaster_pid(d)
    assert pm and not gone(pm), "no PostgreSQL runs under DIR/pg"
    for name in ("hub", "hub-2"):
        conf = (d / "conf" / f"{name}.conf").read_text()
        assert f"postgresql = host={d / 'pg' / 'sock'} " in conf
    # each replica its own certificate
    assert (d / "pki" / "hub.crt").read_bytes() != \
        (d / "pki" / "hub-2.crt").read_bytes()
    text = subprocess.run(["openssl", "x509", "-in", str(d / "pki" /
                                                          "hub-2.crt"),
                           "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True).stdout
    assert "hub-2.localhost" in text and "127.0.0.1" in text


def test_env_lists_every_replica(replicas):
    d, base = replicas["dir"], replicas["base"]
    env = read_env(d)
    assert env["HUB_ALLIANCE_URLS"].split() == [
        f"https://127.0.0.1:{base}", f"https://127.0.0.1:{base + 2}"]
    assert env["HUB_SYNC_URLS"].split() == [
        f"wss://127.0.0.1:{base}/v1/sync",
        f"wss://127.0.0.1:{base + 2}/v1/sync"]
    assert env["HUB_PUBLIC_URLS"].split() == [
        f"http://127.0.0.1:{base + 1}", f"http://127.0.0.1:{base + 3}"]
    assert env["HUB_ALLIANCE_URL"] == env["HUB_ALLIANCE_URLS"].split()[0]
    assert env["HUB_SYNC_URL"] == env["HUB_SYNC_URLS"].split()[0]
    assert env["HUB_PUBLIC_URL"] == env["HUB_PUBLIC_URLS"].split()[0]
    assert env["NODE_URLS"].split() == [
        f"http://127.0.0.1:{base + 2 * HUBS + i}" for i in range(N)]
    for u in env["HUB_PUBLIC_URLS"].split():
        assert get_json(u + "/healthz")["status"] == "ok"


def node_replicas(env):
    """{community: index of the replica its node holds a session with}."""
    sync = env["HUB_SYNC_URLS"].split()
    out = {}
    for cid, url in zip(env["COMMUNITIES"].split(), env["NODE_URLS"].split()):
        h = get_json(url + "/healthz")
        assert h["hub"]["connected"] is True, h
        out[cid] = sync.index(h["hub"]["url"])
    return out


def test_nodes_spread_over_both_replicas_and_are_connected(replicas):
    env = read_env(replicas["dir"])
    on = node_replicas(env)
    assert set(on.values()) == {0, 1}, on
    ctx = operator_ctx(env)
    urls = env["HUB_ALLIANCE_URLS"].split()
    for cid, k in on.items():
        body = get_json(urls[k] + "/api/v1/communities", ctx)
        items = {it["id"]: it for it in body["items"]}
        assert items[cid]["connected"] is True, (cid, k, items.get(cid))
    for u in urls:   # both replicas hold the whole registry
        body = get_json(u + "/api/v1/communities", ctx)
        assert sorted(it["id"] for it in body["items"]) == \
            sorted(env["COMMUNITIES"].split())


def post_service(url, password, item):
    auth = "Basic " + base64.b64encode(
        f"manager:{password}".encode()).decode()
    req = urllib.request.Request(
        f"{url}/api/v1/services", method="POST",
        data=json.dumps(item).encode(),
        headers={"Content-Type": "application/json", "Authorization": auth})
    with NO_PROXY.open(req, timeout=10) as r:
        assert r.status in (200, 201)


def catalog_ids(url):
    body = get_json(url + "/api/v1/catalog?limit=100")
    return {(it["community"], it["id"]) for it in body["items"]}


def test_an_edit_at_one_replica_reaches_a_node_on_the_other(replicas):
    env = read_env(replicas["dir"])
    on = node_replicas(env)
    node_url = dict(zip(env["COMMUNITIES"].split(), env["NODE_URLS"].split()))
    sample = json.loads((Path(__file__).resolve().parents[2] / "deploy" /
                         "sample" / "services.json")
                        .read_text(encoding="utf-8"))["services"]["default"][0]
    first = {k: [c for c, r in on.items() if r == k][0] for k in (0, 1)}
    for src, dst in ((0, 1), (1, 0)):
        cid = first[src]
        item = dict(sample, id=f"replica-edit-{src + 1}",
                    title=f"跨副本服务 {src + 1}")
        post_service(node_url[cid], env["MANAGER_PASSWORD"], item)
        poll(lambda: (cid, item["id"]) in catalog_ids(node_url[first[dst]]),
             f"{item['id']} from {cid} (replica {src + 1}) not at "
             f"{first[dst]} (replica {dst + 1})")


def test_bulletin_through_the_replicas_reaches_every_node(replicas):
    env = read_env(replicas["dir"])
    run_env = dict(os.environ, **env)
    r = subprocess.run(
        [str(BUILD / "alliancectl"), "bulletin", "issue",
         "--headline", "停水通知", "--description", "明日停水",
         "--cause", "管道检修", "--response", "储水", "--instructions", "备水",
         "--wait", "--timeout", str(ARRIVE)],
        env=run_env, capture_output=True, text=True, timeout=ARRIVE + 30)
    assert r.returncode == 0, r.stdout + r.stderr
    bid = r.stdout.split()[0]
    assert f"delivered to all {N} communities" in r.stdout, r.stdout
    for url in env["NODE_URLS"].split():
        items = get_json(url + "/api/v1/bulletins")["items"]
        assert [it["id"] for it in items].count(bid) == 1, (url, items)


def test_down_stops_hubs_nodes_and_postgresql(replicas):
    d = replicas["dir"]
    before = pids(d)
    pm = postmaster_pid(d)
    assert before and pm
    r = launcher("down", "--dir", d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stopped PostgreSQL" in r.stdout, r.stdout
    assert not list((d / "run").glob("*.pid"))
    for name, pid in {**before, "postgres": pm}.items():
        assert gone(pid), f"{name} (pid {pid}) still runs after down"
    # the cluster's helpers end with their postmaster
    poll(lambda: not cmdlines_naming(d), f"processes naming {d} remain")
    r = launcher("down", "--dir", d)
    assert r.returncode == 0 and "nothing runs" in r.stdout, r.stdout


@pytest.mark.parametrize("args, message", [
    (["--hubs", "0", "--postgresql"], "--hubs must be within 1..9"),
    (["--hubs", "10", "--postgresql"], "--hubs must be within 1..9"),
    (["--hubs", "2"], "--hubs above 1 needs --postgresql"),
])
def test_bad_combination_refused_and_nothing_made(tmp_path, args, message):
    d = tmp_path / "bad"
    r = launcher("up", "--dir", d, "--communities", N, "--base-port",
                 free_base(2 * HUBS + N), *args, "--detach")
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert not d.exists(), "a refused up made its directory"


def test_postgresql_owner_shut_out_of_dir_is_named(tmp_path):
    """As root the cluster runs as an unprivileged user; pytest's tmp dirs
    (mode 700, root's) shut it out: up says so and leaves nothing running."""
    if os.geteuid() != 0:
        pytest.skip("only root hands the cluster to another user")
    os.chmod(tmp_path, 0o700)
    d = tmp_path / "shut"
    r = launcher("up", "--dir", d, "--communities", 1, "--base-port",
                 free_base(2 + 1), "--postgresql", "--detach")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "cannot reach" in r.stderr and str(d / "pg") in r.stderr, r.stderr
    assert postmaster_pid(d) is None
    assert not list((d / "run").glob("*.pid"))
    assert not cmdlines_naming(d)

"""Store faults (issue 14, findings 3 and 4): a damaged store, a full disk.

A damaged store: garbage written over pages of a table and of an index
(found with sqlite's dbstat) must keep the node from starting (exit 3, the
message naming the file and the way back); moved aside, the node rebuilds
from the hub. `alliance-node check` tells a sound store from a damaged one.

A full disk: the node's store lives on a 2 MiB tmpfs of its own mount
namespace (`unshare -rm`, no root needed); filled to the brim, a manager's
write gets 507 with the cause, the node does not storm the hub with
sessions, the hub's flood limit is not tripped, and once the filler is
removed (through /proc/PID/root of the node) everything recovers alone.

Real hub and node processes, real TLS and sqlite; nothing waits a fixed
time.

Parts: helpers; the damaged store; check; the free disk; the full disk.
"""

import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from conftest import BUILD, Hub, Node, _env, stop_all, unique_id, wait_for
from test_20_sync import (PASSWORD, create, everywhere, hash_password,
                          manager, titles)


# ---- helpers ------------------------------------------------------------------

@pytest.fixture(scope="module")
def password_hash():
    return hash_password(PASSWORD)


@pytest.fixture
def made():
    out = []
    yield out
    stop_all(out)


def hub_and_node(pki, d, password_hash, made, hub_limits=None):
    hub = Hub(d / "hub", pki, limits=hub_limits).start()
    made.append(hub)
    cid = unique_id("store")
    hub.register(cid)
    node = Node(d / "node", pki, hub, cid,
                manager_hash=password_hash).start()
    made.append(node)
    node.wait_connected()
    return hub, node


def run_node(node, *args, timeout=60):
    """alliance-node with args (and -c node.conf) to its end."""
    return subprocess.run([str(BUILD / "alliance-node"), *args, "-c",
                           str(node.conf)], capture_output=True, text=True,
                          env=_env(), cwd=node.dir, timeout=timeout)


def pages_of(db_path):
    """(page_size, {name: [pageno...]}) of the store, from dbstat."""
    db = sqlite3.connect(db_path)
    try:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = {}
        for name, pageno in db.execute("SELECT name, pageno FROM dbstat"):
            pages.setdefault(name, []).append(pageno)
        kinds = dict(db.execute("SELECT name, type FROM sqlite_master"))
        return size, pages, kinds
    finally:
        db.close()


def damage(db_path):
    """Write garbage over the middle page of the largest table and of the
    largest index (not page 1: the header alone would be another test).
    Returns the damaged (name, pageno) pairs."""
    size, pages, kinds = pages_of(db_path)

    def biggest(kind):
        names = [n for n in pages if kinds.get(n) == kind and
                 any(p > 1 for p in pages[n])]
        return max(names, key=lambda n: len(pages[n]))
    hit = []
    with open(db_path, "r+b") as f:
        for name in (biggest("table"), biggest("index")):
            ps = sorted(p for p in pages[name] if p > 1)
            pageno = ps[len(ps) // 2]
            f.seek((pageno - 1) * size)
            f.write(os.urandom(size))
            hit.append((name, pageno))
    return hit


def fill_services(node, n):
    """n services with some text, so tables and indexes span pages."""
    return {create(node, f"Service {i}", summary="words " * 40): f"Service {i}"
            for i in range(n)}


# ---- the damaged store --------------------------------------------------------

def test_damaged_store_refuses_to_start_and_rebuilds_from_hub(
        pki, tmp_path, password_hash, made):
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    want = fill_services(node, 60)
    everywhere([hub.public_port], node.community, lambda t: t == want,
               "the node's services at the hub")
    node.stop()
    db = node.dir / "node.db"
    assert not (node.dir / "node.db-wal").exists() or \
        (node.dir / "node.db-wal").stat().st_size == 0
    hit = damage(db)
    assert len(hit) == 2, hit

    r = run_node(node)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert str(db.name) in out and "damaged" in out, out
    assert "move the file" in out and "from the hub" in out, out

    r = run_node(node, "check")
    assert r.returncode == 3, r.stdout + r.stderr

    # the way back the message names: move it aside, start again
    for suffix in ("", "-wal", "-shm"):
        p = node.dir / f"node.db{suffix}"
        if p.exists():
            shutil.move(p, node.dir / f"node.db.damaged{suffix}")
    node.start()
    node.wait_connected()
    everywhere([node.public_port], node.community, lambda t: t == want,
               "the node's own services back from the hub")


def test_truncated_store_exits_3(pki, tmp_path, password_hash, made):
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    fill_services(node, 30)
    node.stop()
    db = node.dir / "node.db"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)
    r = run_node(node)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "node.db" in r.stdout + r.stderr


# ---- check --------------------------------------------------------------------

def test_check_sound_store_exits_0(pki, tmp_path, password_hash, made):
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    fill_services(node, 10)
    r = run_node(node, "check")      # while the node runs: read only
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sound" in r.stdout
    node.stop()
    r = run_node(node, "check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_bad_config_exits_2(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[node]\nnonsense = 1\n")
    r = subprocess.run([str(BUILD / "alliance-node"), "check", "-c",
                        str(conf)], capture_output=True, text=True,
                       env=_env(), timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr


# ---- the free disk ------------------------------------------------------------

def test_free_disk_is_reported(pki, tmp_path, password_hash, made):
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    st = os.statvfs(node.dir)
    disk = node.healthz()["disk"]
    assert disk["total_bytes"] == st.f_blocks * st.f_frsize
    assert 0 < disk["free_bytes"] <= disk["total_bytes"]
    assert disk["low"] == (disk["free_bytes"] * 100 <
                           disk["total_bytes"] * 10)
    sync = manager(node, "GET", "/api/v1/manager/sync")
    assert sync.status == 200, sync
    assert set(sync.json()["disk"]) == {"free_bytes", "total_bytes", "low"}
    m = hub.metrics()
    assert m["alliance_store_size_bytes"] == st.f_blocks * st.f_frsize
    assert 0 < m["alliance_store_free_bytes"] <= m["alliance_store_size_bytes"]

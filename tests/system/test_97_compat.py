"""Upgrades one community at a time (issue 20): the previous release and
this one, side by side.

The previous release is the commit tests/compat/PREVIOUS names, built here
from this repository's history (git archive, then a release build) under
build/compat/ once, for every test of the run and later runs: its tree
never changes. A second build of it, speaking protocol version 2, stands
for a peer whose version cannot work with this one.

- stores the previous hub and node wrote open in this release: backed up
  first (FILE.schema-V.bak, which the previous release runs on again, as
  README says to go back a version), then migrated, with nothing lost;
- a node of the previous release and one of this release, with a hub of
  either release: services go up, the catalog and bulletins come down
  (delivery acknowledged) to both, and no session is refused; the older
  node's batches, cut by count only, reach this hub however many bytes;
- the rolling upgrade: the hub first, then each community, syncing both
  ways after each step, the directory reaching each upgraded node;
- the Hello's version rule: a node speaking another protocol version is
  refused by this hub (4426), and this node by a hub speaking another, each
  side logging why; frame by frame, the Error ERROR_BAD_VERSION comes
  before the close.
"""

import fcntl
import os
import re
import shutil
import sqlite3
import subprocess
from types import SimpleNamespace

import pytest

from conftest import (ROOT, Hub, Node, RawSession, alliancectl,
                      http_get_json, pb, stop_all, unique_id, wait_for)
from test_20_sync import ARRIVE, PASSWORD, bulk, create, service, titles

PREVIOUS_FILE = ROOT / "tests" / "compat" / "PREVIOUS"
COMPAT_DIR = ROOT / "build" / "compat"
# Seconds a release build may take (two cores shared with others).
BUILD_TIMEOUT = 1200


# ---- the previous release -------------------------------------------------

def previous_commit():
    """The commit tests/compat/PREVIOUS names, in full; fails clearly when
    this clone does not have it (a shallow clone)."""
    name = next(line.split()[0] for line in
                PREVIOUS_FILE.read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify",
                        "--quiet", f"{name}^{{commit}}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"{PREVIOUS_FILE} names {name}, which this clone does "
                    f"not have (a shallow clone? git fetch --unshallow) "
                    f"{r.stderr.strip()}")
    return r.stdout.strip()


def make_env():
    """The environment for a nested make: none of the calling make's
    variables (make check's BUILD=build/asan would reach it through
    MAKEFLAGS)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL",
                         "BUILD", "SAN", "CFLAGS", "LDFLAGS")}


def release_build(commit, name, patch=None):
    """commit's tree (git archive) in build/compat/NAME, patched by
    patch(dir) if given, with its daemons and alliancectl built there
    (make BUILD=build SAN=0): the build directory. The tree is unpacked
    once (moved into place whole); make is run each time (nothing to do
    once built); a lock keeps two runs apart."""
    COMPAT_DIR.mkdir(parents=True, exist_ok=True)
    src, tmp = COMPAT_DIR / name, COMPAT_DIR / f"{name}.tmp"
    with open(COMPAT_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not src.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", commit],
                capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(tmp)],
                           input=archive.stdout, check=True)
            if patch:
                patch(tmp)
            tmp.rename(src)
        r = subprocess.run(
            ["make", "-C", str(src), "-j2", "BUILD=build", "SAN=0",
             "build/alliance-hub", "build/alliance-node",
             "build/alliancectl"],
            capture_output=True, text=True, env=make_env(),
            timeout=BUILD_TIMEOUT)
        if r.returncode != 0:
            pytest.fail(f"building {name} ({commit}) failed:\n"
                        + "\n".join((r.stdout + r.stderr).splitlines()[-40:]))
    return src / "build"


def speak_protocol_2(tree):
    """Make tree's hub and node speak alliance protocol version 2."""
    wire = tree / "lib" / "wire.h"
    text = wire.read_text()
    old = "#define WIRE_PROTOCOL_VERSION 1\n"
    assert old in text, f"{wire} does not define the protocol version 1"
    wire.write_text(text.replace(old, "#define WIRE_PROTOCOL_VERSION 2\n"))


@pytest.fixture(scope="module")
def previous():
    """SimpleNamespace(commit, build): the previous release's build."""
    commit = previous_commit()
    return SimpleNamespace(commit=commit,
                           build=release_build(commit, commit[:12]))


@pytest.fixture(scope="module")
def protocol_2(previous):
    """The build of the previous release speaking protocol version 2."""
    return release_build(previous.commit, previous.commit[:12] + "-protocol-2",
                         speak_protocol_2)


@pytest.fixture(scope="module")
def manager_hash(previous):
    """test_20's manager password hashed by the previous release (this
    release must take its hashes too)."""
    r = subprocess.run([str(previous.build / "alliance-node"),
                        "--hash-password"], input=PASSWORD + "\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# ---- helpers ----------------------------------------------------------------

def hub_of(build, pki, d):
    """A hub of build (None: this release), not started."""
    hub = Hub(d, pki)
    hub.build = build
    return hub


def node_of(build, pki, hub, d, manager_hash):
    """A node of build (None: this release) for a new community registered
    at hub, started."""
    cid = unique_id("compat")
    hub.register(cid)
    node = Node(d / cid, pki, hub, cid, manager_hash=manager_hash)
    node.build = build
    return node.start()


def issue(hub, build):
    """A bulletin issued with build's alliancectl (None: this release's),
    waiting until every community acknowledged it: its id."""
    r = alliancectl(hub, "bulletin", "issue", "--headline", "Burst main",
                    "--description", "A water main burst on Zhongshan Road.",
                    "--cause", "Frost heave under the road.",
                    "--response", "Crews are repairing it.",
                    "--instructions", "Boil tap water until further notice.",
                    "--wait", "--timeout", str(ARRIVE), build=build)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "delivered to all" in r.stdout, r.stdout
    return r.stdout.splitlines()[0]


def node_bulletins(node):
    return {b["id"] for b in http_get_json(
        "127.0.0.1", node.public_port, "/api/v1/bulletins")["items"]}


def store_rows(path, sql):
    """The rows of sql in the sqlite file at path, read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def schema(path):
    return store_rows(path, "PRAGMA user_version")[0][0]


def services(path):
    """{(origin, id): (version, title)} of the live services at path."""
    return {(o, i): (v, t) for o, i, v, t in store_rows(
        path, "SELECT origin, id, version, title FROM service"
              " WHERE deleted = 0")}


def refusals(hub):
    """The hub's refusals by reason, those above zero (the previous
    release counts them the same way)."""
    return {k: v for k, v in hub.refusals().items() if v}


# ---- stores of the previous release -----------------------------------------

def test_previous_stores_are_backed_up_then_migrated(previous, pki, tmp_path,
                                                     manager_hash):
    """A hub and a node of the previous release with services and a
    bulletin, stopped; this release on their stores copies each first,
    migrates it and goes on with all of it; the previous release runs
    again on the copies."""
    made = []
    try:
        hub = hub_of(previous.build, pki, tmp_path / "hub").start()
        made.append(hub)
        node = node_of(previous.build, pki, hub, tmp_path, manager_hash)
        made.append(node)
        node.wait_connected()
        sids = [create(node, f"Before the upgrade {i}") for i in range(3)]
        wait_for(lambda: set(titles(hub.public_port, node.community))
                 == set(sids), ARRIVE, "the services at the hub")
        bid = issue(hub, previous.build)
        stop_all(made)
        made = []

        stores = [hub.dir / "hub.db", node.dir / "node.db"]
        before = {p: (schema(p), services(p)) for p in stores}
        assert all(len(rows) == 3 for _, rows in before.values()), before

        # this release on the same stores and configs
        hub.build = node.build = None
        hub.start()
        made.append(hub)
        node.start()
        made.append(node)
        for daemon, path in ((hub, stores[0]), (node, stores[1])):
            old = before[path][0]
            bak = path.with_name(f"{path.name}.schema-{old}.bak")
            daemon.wait_log(rf"store {re.escape(str(path))}: schema {old} "
                            rf"is older than this program's \d+: backed up "
                            rf"to {re.escape(str(bak))} before migrating")
            assert schema(path) > old, f"{path} not migrated"
            # the copy: the store as the previous release left it
            assert schema(bak) == old
            assert store_rows(bak, "PRAGMA integrity_check") == [("ok",)]
            assert services(bak) == before[path][1]
            assert services(path) == before[path][1]
        node.wait_connected()
        assert bid in node_bulletins(node)
        assert set(titles(node.public_port, node.community)) == set(sids)
        # it goes on: an edit after the upgrade reaches the hub
        sid = create(node, "After the upgrade")
        wait_for(lambda: sid in titles(hub.public_port, node.community),
                 ARRIVE, "the new service at the hub")
        assert refusals(hub) == {}
        stop_all(made)
        made = []

        # going back a version (README): the previous release on the copies
        for path in stores:
            for side in ("-wal", "-shm"):
                path.with_name(path.name + side).unlink(missing_ok=True)
            path.with_name(f"{path.name}.schema-{before[path][0]}.bak"
                           ).replace(path)
        hub.build = node.build = previous.build
        hub.start()
        made.append(hub)
        node.start()
        made.append(node)
        node.wait_connected()
        assert set(titles(hub.public_port, node.community)) >= set(sids)
        assert bid in node_bulletins(node)
    finally:
        stop_all(made)


# ---- the two releases syncing ----------------------------------------------

@pytest.mark.parametrize("hub_release", ["previous", "this"])
def test_nodes_of_both_releases_sync_with_a_hub(previous, pki, tmp_path,
                                                manager_hash, hub_release):
    """A node of each release at one hub: each one's services reach the
    hub and the other node, a bulletin reaches both and is acknowledged,
    and nothing is refused."""
    hub_build = previous.build if hub_release == "previous" else None
    made = []
    try:
        hub = hub_of(hub_build, pki, tmp_path / "hub").start()
        made.append(hub)
        nodes = {}
        for release, build in (("previous", previous.build), ("this", None)):
            nodes[release] = node_of(build, pki, hub, tmp_path, manager_hash)
            made.append(nodes[release])
        for node in nodes.values():
            node.wait_connected()

        sids = {r: create(n, f"Service of the {r} release")
                for r, n in nodes.items()}
        for release, node in nodes.items():
            for port in (hub.public_port,
                         *(n.public_port for n in nodes.values())):
                wait_for(lambda: sids[release] in titles(port, node.community),
                         ARRIVE, f"the {release} node's service at {port}")

        bid = issue(hub, hub_build)
        for node in nodes.values():
            assert bid in node_bulletins(node)
            node.wait_connected()
            assert "closed" not in node.log(), node.tail()
        assert refusals(hub) == {}
    finally:
        stop_all(made)


def directory_ids(node):
    """The community ids node's directory (GET /api/v1/communities)
    lists."""
    return {c["id"] for c in http_get_json(
        "127.0.0.1", node.public_port, "/api/v1/communities")["items"]}


def test_rolling_upgrade_hub_first_then_each_community(previous, pki,
                                                       tmp_path,
                                                       manager_hash):
    """A hub of the previous release with a node of each release; the hub
    is upgraded (its store migrated), then the older node: after each step
    each node's new service reaches the hub and the other node, and every
    node of this release gets the community directory, which the previous
    hub did not have."""
    made = []
    try:
        hub = hub_of(previous.build, pki, tmp_path / "hub").start()
        made.append(hub)
        nodes = {"previous": node_of(previous.build, pki, hub, tmp_path,
                                     manager_hash),
                 "this": node_of(None, pki, hub, tmp_path, manager_hash)}
        made += nodes.values()
        ids = {n.community for n in nodes.values()}

        def both_ways(step):
            for release, node in nodes.items():
                node.wait_connected()
                sid = create(node, f"{step}: the {release} node")
                for port in (hub.public_port,
                             *(n.public_port for n in nodes.values())):
                    wait_for(lambda: sid in titles(port, node.community),
                             ARRIVE, f"{step}: the {release} node's service "
                             f"at {port}")

        both_ways("all previous but one")
        assert directory_ids(nodes["this"]) <= {nodes["this"].community}
        hub.stop()
        hub.build = None
        hub.start()
        hub.wait_log(r"backed up to \S+hub\.db\.schema-\d+\.bak")
        both_ways("hub upgraded")
        wait_for(lambda: directory_ids(nodes["this"]) == ids, ARRIVE,
                 "the directory at the node of this release")
        nodes["previous"].stop()
        nodes["previous"].build = None
        nodes["previous"].start()
        both_ways("all upgraded")
        wait_for(lambda: directory_ids(nodes["previous"]) == ids, ARRIVE,
                 "the directory at the upgraded node")
        assert refusals(hub) == {}
    finally:
        stop_all(made)


# ---- the version rule ------------------------------------------------------

def test_a_protocol_version_that_cannot_work_is_refused(previous, protocol_2,
                                                        pki, tmp_path,
                                                        manager_hash):
    """A node speaking protocol version 2 at this hub, and this node at a
    hub speaking version 2: refused at the Hello, each side logging why."""
    made = []
    try:
        hub = hub_of(None, pki, tmp_path / "hub").start()
        made.append(hub)
        node = node_of(protocol_2, pki, hub, tmp_path, manager_hash)
        made.append(node)
        hub.wait_log(rf"session {node.community}: closing 4426: protocol "
                     r"version 2 is not spoken here \(hub \S+ speaks 1\): "
                     r"upgrade the older side")
        node.wait_log(r"hub localhost closed the session: 4426 protocol "
                      r"version 2 is not spoken here")
        assert not hub.connected(node.community)
        assert refusals(hub).get("version", 0) >= 1
        assert not node.healthz()["hub"]["connected"]

        other = hub_of(protocol_2, pki, tmp_path / "hub-2").start()
        made.append(other)
        this = node_of(None, pki, other, tmp_path, manager_hash)
        made.append(this)
        other.wait_log(rf"session {this.community}: closing 4405: protocol "
                       r"version 1 is not spoken here \(2 is\)")
        this.wait_log(r"hub wss://localhost:\d+/v1/sync refuses this node's protocol version 1 "
                      r"\(node \S+\): protocol version 1 is not spoken here "
                      r"\(2 is\); it cannot sync until the older of the two "
                      r"is upgraded")
        h = this.healthz()["hub"]
        assert not h["connected"] and "4405" in (h["last_error"] or ""), h
    finally:
        stop_all(made)


@pytest.mark.parametrize("version", [0, 2, 2**32 - 1])
def test_hello_of_another_protocol_version_gets_error_then_4426(daemons, pki,
                                                               version):
    """The hub's side frame by frame: an Error ERROR_BAD_VERSION, then the
    close 4426 naming both versions, counted as a "version" refusal."""
    hub = daemons.hub(pki)
    cid = unique_id("version")
    hub.register(cid)
    with RawSession(hub, pki.node(cid)) as s:
        s.hello(cid, version=version)
        code, reason = s.expect_close()
    assert code == 4426, (code, reason)
    assert reason.startswith(f"protocol version {version} is not spoken "
                             f"here (hub "), reason
    assert "speaks 1): upgrade the older side" in reason, reason
    errors = [f.error for f in s.frames_before_close
              if f.WhichOneof("body") == "error"]
    assert [e.code for e in errors] == [pb.ERROR_BAD_VERSION], \
        s.frames_before_close
    assert [f for f in s.frames_before_close
            if f.WhichOneof("body") != "error"] == []
    assert not hub.connected(cid)
    assert refusals(hub) == {"version": 1}


def test_previous_node_batches_over_this_hubs_batch_bytes_arrive(
        previous, pki, tmp_path, manager_hash):
    """A node of the previous release bounds its Changes frames by count
    only (it knows no Welcome.batch_bytes): a bulk import whose first frame
    holds 256 services of 3 KB (768 KB: over this hub's 512 KiB, under the
    1 MiB frame limit both share) reaches this hub whole, with no 4414."""
    made = []
    try:
        hub = hub_of(None, pki, tmp_path / "hub").start()
        made.append(hub)
        node = node_of(previous.build, pki, hub, tmp_path, manager_hash)
        made.append(node)
        node.wait_connected()
        hub.stop()      # the node logs them all before it sends any
        ids = []
        for part in range(3):
            ids += bulk(node, [service(f"Bulk {part}-{k}",
                                       description="x" * 3000)
                               for k in range(100)])
        hub.start()
        wait_for(lambda: hub.live_services(node.community) == len(ids),
                 ARRIVE, "the 300 services at the hub")
        assert refusals(hub) == {}
        assert "4414" not in node.log(), node.tail()
    finally:
        stop_all(made)

"""Store faults (issue 14, findings 3 and 4): a damaged store, a full disk.

A damaged store: garbage written over pages of two tables and of an index
(found with sqlite's dbstat) must keep the node from starting (exit 3, the
message naming the file and the way back); moved aside, the node rebuilds
from the hub. `alliance-node check` tells a sound store from a damaged one.

A full disk: the node's store lives on a 2 MiB tmpfs of its own mount
namespace (`unshare -rm`, no root needed); filled to the brim, a manager's
write gets 507 with the cause, the node does not storm the hub with
sessions, the hub's flood limit is not tripped, and once the filler is
removed (through /proc/PID/root of the node) everything recovers alone.

A store damaged while the node runs: a write meeting it is refused naming
the damage. Honest reconnects (after a Welcome, closed 1011) do not trip
the hub's flood limit.

Real hub and node processes, real TLS and sqlite; nothing waits a fixed
time.

Parts: helpers; the damaged store (node, hub); check; the free disk; the
full disk; honest reconnects; damage at run time.
"""

import errno
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import (BUILD, Hub, Node, RawSession, _env, start_topology,
                      stop_all, unique_id, wait_for)
from test_20_sync import (PASSWORD,  # noqa: F401 (password_hash hashes it)
                          bulk, create, everywhere, get, manager, service,
                          titles)


# ---- helpers ------------------------------------------------------------------

@pytest.fixture
def made():
    out = []
    yield out
    stop_all(out)


def hub_and_node(pki, d, password_hash, made, hub_limits=None):
    t = start_topology(pki, d, ["store"], made, hub_kw={"limits": hub_limits},
                       manager_hash=password_hash)
    return t.hub, t.nodes[0]


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
    """Write garbage over the middle page of the two largest tables and
    of the largest index (not page 1: the header alone would be another
    test). Returns the damaged (name, pageno) pairs."""
    size, pages, kinds = pages_of(db_path)

    def biggest(kind, n=1):
        names = [n for n in pages if kinds.get(n) == kind and
                 any(p > 1 for p in pages[n])]
        return sorted(names, key=lambda n: -len(pages[n]))[:n]
    hit = []
    with open(db_path, "r+b") as f:
        for name in biggest("table", 2) + biggest("index"):
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
    assert len(hit) == 3, hit

    r = run_node(node)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert str(db.name) in out and "damaged" in out, out
    assert "move the store file" in out and "from the hub" in out, out

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


def test_search_index_out_of_step_exits_3(pki, tmp_path, password_hash,
                                          made):
    """The search index's own integrity-check runs at start too: text
    changed in the index's content table behind FTS5's back leaves every
    b-tree sound (sqlite's quick_check says ok), yet the node refuses to
    start naming the search table, and `check` says damaged."""
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    fill_services(node, 20)
    # the indexer makes them findable after the writes are answered
    wait_for(lambda: len(get(node.public_port, "/api/v1/catalog?q=words"
                             "&limit=20").json()["items"]) == 20, 20,
             "the services in the node's search index")
    node.stop()
    db = node.dir / "node.db"
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert conn.execute("SELECT count(*) FROM service_fts_content"
                            ).fetchone()[0] > 0
        conn.execute("UPDATE service_fts_content SET c0 = 'zzzz qqqq'"
                     " WHERE id = (SELECT min(id) FROM service_fts_content)")
        conn.commit()
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()

    r = run_node(node, timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "search table service_fts" in out and "damaged" in out, out
    assert "move the store file" in out, out
    r = run_node(node, "check")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "search table service_fts" in r.stdout + r.stderr


def run_hub(hub, *args, timeout=60):
    """alliance-hub with args (and -c hub.conf) to its end."""
    return subprocess.run([str(BUILD / "alliance-hub"), *args, "-c",
                           str(hub.conf)], capture_output=True, text=True,
                          env=_env(), cwd=hub.dir, timeout=timeout)


def test_hub_checks_its_store_after_an_unclean_stop_only(
        pki, tmp_path, password_hash, made):
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    fill_services(node, 60)
    wait_for(lambda: len(titles(hub.public_port, node.community)) == 60,
             60, "the services at the hub")
    node.stop()
    check = r"the last stop was not clean: checking it"

    mark = hub.log_mark()
    hub.restart()                    # clean: no check at start
    assert not re.search(check, hub.log()[mark:]), hub.tail()
    hub.kill()                       # unclean: checked at start
    mark = hub.log_mark()
    hub.start()
    hub.wait_log(check, since=mark)
    assert run_hub(hub, "check").returncode == 0   # while it runs

    hub.kill()
    hit = damage(hub.dir / "hub.db")
    assert len(hit) == 3, hit
    r = run_hub(hub)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "hub.db" in out and "damaged" in out, out
    r = run_hub(hub, "check")
    assert r.returncode == 3, r.stdout + r.stderr
    made.remove(hub)


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


def test_check_runs_the_full_integrity_check(pki, tmp_path, password_hash,
                                            made):
    """`check` is sqlite's full integrity_check, not the start's
    quick_check: an index whose entries no longer match its table (the
    index redefined behind sqlite's back; quick_check says ok) is found,
    exit 3 naming the index."""
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    fill_services(node, 10)
    node.stop()
    db = node.dir / "node.db"
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA writable_schema = ON")
        assert conn.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX service_updated"
            " ON service (title)' WHERE name = 'service_updated'"
            ).rowcount == 1
        conn.commit()
    finally:
        conn.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    r = run_node(node, "check")
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "integrity_check" in out and "service_updated" in out, out


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


# ---- the full disk ------------------------------------------------------------

# The tmpfs the node's store lives on.
TMPFS_SIZE = "2m"


def unshare_works():
    """True when an unprivileged mount namespace with a tmpfs can be had."""
    try:
        r = subprocess.run(["unshare", "-rm", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


class OnTmpfs:
    """A daemon whose store is on a 2 MiB tmpfs of its own mount namespace
    (unshare -rm: no root needed). Its files are reached from outside
    through /proc/PID/root. Mixed in before Node or Hub."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.disk = self.dir / "disk"
        self.disk.mkdir(exist_ok=True)

    def config_text(self):
        text = super().config_text()
        line = f"path = {self.store_file}\n"
        assert line in text
        return text.replace(line, f"path = disk/{self.store_file}\n")

    def _spawn(self):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                ["unshare", "-rm", "sh", "-c",
                 f"mount -t tmpfs -o size={TMPFS_SIZE} tmpfs \"$1\" && "
                 "exec \"$0\" -c \"$2\"",
                 str(BUILD / self.binary), str(self.disk), str(self.conf)],
                stdout=log, stderr=subprocess.STDOUT, env=_env(),
                cwd=self.dir)
        finally:
            log.close()
        import conftest
        if self not in conftest._daemons:
            conftest._daemons.append(self)

    def inside(self, name):
        """A path in the daemon's tmpfs, as seen from outside."""
        return Path(f"/proc/{self.proc.pid}/root") / \
            str(self.disk).lstrip("/") / name


class TmpfsNode(OnTmpfs, Node):
    """A node whose store is on a tmpfs of its own."""


class TmpfsHub(OnTmpfs, Hub):
    """A hub whose store is on a tmpfs of its own."""


def fill(path):
    """Write zeros to path until the file system is full; bytes written."""
    total = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512):
            buf = bytes(chunk)
            while True:
                try:
                    f.write(buf)
                    total += chunk
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return total


@pytest.mark.skipif(not unshare_works(),
                    reason="no unprivileged mount namespace (unshare -rm) "
                    "for a small tmpfs on this machine")
def full_disk_alliance(pki, tmp_path, password_hash, made):
    """A hub, node a with its store on a tmpfs and node b, connected."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    a_id, b_id = unique_id("full"), unique_id("other")
    hub.register(a_id)
    hub.register(b_id)
    a = TmpfsNode(tmp_path / "a", pki, hub, a_id,
                  manager_hash=password_hash).start()
    made.append(a)
    b = Node(tmp_path / "b", pki, hub, b_id,
             manager_hash=password_hash).start()
    made.append(b)
    a.wait_connected()
    b.wait_connected()
    disk = a.healthz()["disk"]
    assert disk["total_bytes"] <= 2 * 1024 * 1024, disk   # the tmpfs
    return hub, a, b


def send_until_closed(a, b, mark):
    """b sends rounds of services until a, its disk full, closes its
    session for a batch of the hub's it cannot store. b's services sent
    ({id: title})."""
    # (b sends until the room sqlite keeps inside the WAL file is used up
    # too: each round is stored at a, or ends the session)
    # (the hub's batch that cannot be stored, or the up stream's marks
    # that cannot be kept, whichever comes first: both close 1011 with
    # the cause and wait for space)
    closed = re.compile(r"closing the session with hub \S+: 1011 cannot "
                        r"(store the batch|keep the up marks): database or "
                        r"disk is full")
    new = {}
    for r in range(20):
        items = [service(f"From b {r}.{i}", summary="words " * 80)
                 for i in range(100)]
        ids = bulk(b, items)
        new.update(zip(ids, (s["title"] for s in items)))
        last = f"/api/v1/catalog/{b.community}/{ids[-1]}"
        if wait_for(lambda: closed.search(a.log()[mark:]) or
                    get(a.public_port, last).status == 200, 60,
                    "b's round stored at a, or a's session closed") \
                is not True:
            break
    assert closed.search(a.log()[mark:]), a.tail()
    return new


def test_full_disk_507_no_storm_recovers_alone(pki, tmp_path, password_hash,
                                              made):
    hub, a, b = full_disk_alliance(pki, tmp_path, password_hash, made)
    a_id, b_id = a.community, b.community
    before = create(a, "Before the disk filled")

    # from here on the session may end (1011) at any write of the node's
    filler = a.inside("filler")
    mark = a.log_mark()
    fill(filler)
    assert a.healthz()["disk"]["low"] is True
    sync = manager(a, "GET", "/api/v1/manager/sync")   # the console's
    assert sync.status == 200 and sync.json()["disk"]["low"] is True, sync

    # a manager's writes: the store's files have some room of their own
    # (the WAL is reused), so the first may fit; once they do not, 507
    # with the cause, and nothing of the refused one is stored
    for i in range(200):
        title = f"No room {i}"
        r = manager(a, "POST", "/api/v1/services",
                    {"title": title, "summary": "x " * 200,
                     "category": "other", "delivery": "walk-in",
                     "fee": "free"})
        if r.status != 201:
            break
    assert r.status == 507, r
    err = r.json()["error"]
    assert err["code"] == "insufficient_storage", err
    assert "full" in err["message"], err
    assert title not in titles(a.public_port, a_id).values()

    # the hub's stream cannot be stored: the session ends with the true
    # reason and the node waits for space instead of dialling
    new = send_until_closed(a, b, mark)
    a.wait_log(r"waiting for the store to take writes", since=mark)
    # and the hub says why, in its log, its /metrics and the console's API
    hub.wait_log(rf"session {a_id}: closed \(by the node: 1011 cannot "
                 r"(store the batch|keep the up marks): database or disk is "
                 r"full\)")
    last = hub.communities()[a_id]["last_close"]
    assert last["by"] == "node" and last["code"] == 1011, last
    assert "disk is full" in last["reason"] and last["at"], last
    assert hub.metrics()["alliance_node_internal_closes_total"] >= 1
    opened = hub.metrics()["alliance_sessions_opened_total"]
    waits = re.compile(r"waiting for the store to take writes")
    wait_for(lambda: len(waits.findall(a.log()[mark:])) >= 3, 60,
             "three space probes")
    assert hub.metrics()["alliance_sessions_opened_total"] == opened, \
        "the node dialled the hub while its store was full"
    assert "store takes writes again" not in a.log()[mark:]
    assert "no transaction is active" not in a.log()
    assert "not an error" not in a.log()
    assert hub.refusals().get("flood", 0) == 0

    # space again: the node recovers alone
    filler.unlink()
    a.wait_log(r"store takes writes again", timeout=90, since=mark)
    a.wait_connected(timeout=60)
    everywhere([a.public_port], b_id, lambda t: t == new,
               "b's services at a after the disk was freed")
    after = create(a, "After the disk was freed")
    everywhere([hub.public_port], a_id,
               lambda t: before in t and after in t, "a's services at hub")
    assert hub.refusals().get("flood", 0) == 0


@pytest.mark.skipif(not unshare_works(),
                    reason="no unprivileged mount namespace (unshare -rm) "
                    "for a small tmpfs on this machine")
def test_store_checked_after_a_storage_fault(pki, tmp_path, password_hash,
                                             made):
    """After a storage fault the store is checked before the node syncs
    again: a's search index, put out of step behind FTS5's back (every
    b-tree sound), is found once the full disk has room again; the node
    names the damage and the way back and does not dial. Its tmpfs gone
    with it (the store moved aside), it rebuilds from the hub."""
    hub, a, b = full_disk_alliance(pki, tmp_path, password_hash, made)
    mine = fill_services(a, 5)
    everywhere([hub.public_port], a.community, lambda t: t == mine,
               "a's services at the hub")
    # (sqlite resolves /proc/PID/root to /, so the store is opened from
    # inside a's mount namespace; the text goes in at rowid 1, which no
    # service has (the index's rowids are -rid): the indexer re-indexing
    # a service written meanwhile would mend a changed row, not this one)
    r = subprocess.run(
        ["nsenter", "-t", str(a.proc.pid), "-U", "-m",
         "--preserve-credentials", "/usr/bin/python3", "-c",
         "import sqlite3, sys\n"
         "db = sqlite3.connect(sys.argv[1], timeout=30)\n"
         "db.execute(\"INSERT INTO service_fts_content"
         " (id, c0, c1, c2, c3, c4) VALUES (1, 'zzzz qqqq', '', '', '',"
         " '')\")\n"
         "db.commit()\n"
         "print(db.execute('PRAGMA quick_check').fetchone()[0])\n",
         str(a.disk / "node.db")], capture_output=True, text=True,
        timeout=60)
    assert r.returncode == 0 and r.stdout == "ok\n", r

    mark = a.log_mark()
    filler = a.inside("filler")
    fill(filler)
    send_until_closed(a, b, mark)
    a.wait_log(r"waiting for the store to take writes", since=mark)
    opened = hub.metrics()["alliance_sessions_opened_total"]
    filler.unlink()
    damaged = a.wait_log(r"the store is damaged: .*search table service_fts"
                         r".*The way back: stop the node", timeout=90,
                         since=mark)
    assert damaged
    waits = re.compile(r"waiting for the store to take writes")
    after = a.log_mark()
    wait_for(lambda: len(waits.findall(a.log()[after:])) >= 2, 60,
             "two more probes after the damage was found")
    assert "store takes writes again" not in a.log()[mark:]
    assert hub.metrics()["alliance_sessions_opened_total"] == opened, \
        "the node dialled the hub with a damaged store"
    assert not hub.connected(a.community)

    # the way back: a new store (the tmpfs went with the process)
    a.stop()
    a.start()
    a.wait_connected()
    everywhere([a.public_port], a.community, lambda t: t == mine,
               "a's own services back from the hub")


def disk_low_fires(metrics, tmp_path):
    """Whether deploy/prometheus's AllianceStoreDiskLow fires on the
    store's two disk metrics as recorded in metrics (promtool test)."""
    from test_28_alerts import PROMTOOL, RULES, expected, rules
    series = [{"series": k, "values": f"{metrics[k]:.0f}x2"}
              for k in ("alliance_store_free_bytes",
                        "alliance_store_size_bytes")]
    results = []
    for fires in (True, False):
        doc = {"rule_files": [str(RULES)], "evaluation_interval": "1m",
               "tests": [{"interval": "1m", "input_series": series,
                          "alert_rule_test": [{
                              "eval_time": "1m",
                              "alertname": "AllianceStoreDiskLow",
                              "exp_alerts": expected(
                                  rules(), "AllianceStoreDiskLow", {})
                              if fires else []}]}]}
        p = tmp_path / f"disk-{fires}.yml"
        p.write_text(yaml.safe_dump(doc, sort_keys=False))
        r = subprocess.run([str(PROMTOOL), "test", "rules", str(p)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            results.append(fires)
    assert len(results) == 1, results     # exactly one expectation holds
    return results[0]


@pytest.mark.skipif(not unshare_works(),
                    reason="no unprivileged mount namespace (unshare -rm) "
                    "for a small tmpfs on this machine")
def test_hub_disk_low_warned_in_the_console_and_alerted(pki, tmp_path, made):
    """The hub's store on a 2 MiB tmpfs: with room, no warning; filled to
    under 10 % free, the district console's warnings name it
    (store_disk_low with the free and total bytes /metrics has) and the
    rule shipped for Prometheus fires on those metrics; freed, the
    warning goes."""
    hub = TmpfsHub(tmp_path / "hub", pki).start()
    made.append(hub)

    def disk_warnings():
        r = hub.api("GET", "/api/v1/communities")
        assert r.status == 200, r
        return [w for w in r.json()["warnings"]
                if w["code"] == "store_disk_low"]
    m = hub.metrics()
    assert m["alliance_store_size_bytes"] <= 2 * 1024 * 1024, m
    assert m["alliance_store_free_bytes"] * 10 >= \
        m["alliance_store_size_bytes"], m
    assert disk_warnings() == []
    assert disk_low_fires(m, tmp_path) is False

    filler = hub.inside("filler")
    fill(filler)
    (w,) = disk_warnings()
    m = hub.metrics()
    assert w["total_bytes"] == m["alliance_store_size_bytes"], (w, m)
    assert w["free_bytes"] * 10 < w["total_bytes"], w
    assert m["alliance_store_free_bytes"] * 10 < \
        m["alliance_store_size_bytes"], m
    assert w["at"] and w["community"] is None, w
    assert disk_low_fires(m, tmp_path) is True

    filler.unlink()
    wait_for(lambda: disk_warnings() == [], 10, "the warning to go")
    hub.assert_alive()


# ---- honest reconnects and the flood limit -------------------------------------

def test_honest_reconnects_do_not_trip_the_flood_limit(pki, tmp_path, made):
    """sessions_per_minute = 2: six sessions that reached Welcome and were
    closed by the node for a server-side reason (1011: it could not store)
    are each followed by a reconnect the limit does not count; after
    sessions closed for no such reason (1000) the next is counted and the
    third counted one is refused."""
    hub = Hub(tmp_path / "hub", pki,
              limits={"sessions_per_minute": 2}).start()
    made.append(hub)
    cid = unique_id("honest")
    hub.register(cid)

    def one(close_code):
        s = RawSession(hub, pki.node(cid))
        try:
            s.handshake(cid)
            wait_for(lambda: hub.connected(cid), 10, "the session at hub")
            s.ws.close(status=close_code, reason=b"test close", timeout=5)
        finally:
            s.close()
        wait_for(lambda: not hub.connected(cid), 10, "the session closed")

    for _ in range(6):
        one(1011)
    assert hub.refusals().get("flood", 0) == 0
    one(1000)          # after an honest end: not counted
    one(1000)          # counted: the second of the minute
    s = RawSession(hub, pki.node(cid))
    try:
        code, reason = s.expect_close()
    finally:
        s.close()
    assert code == 4429, (code, reason)
    assert hub.refusals()["flood"] == 1


def test_how_a_session_ended_is_kept(pki, tmp_path, made):
    """The communities API's last_close: a node's close frame (its reason's
    bytes other than printable ASCII kept as '?', 1011 counted), the
    hub's own close, a connection dropped without one; null before any."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("close")
    hub.register(cid)
    assert hub.communities()[cid]["last_close"] is None

    with RawSession(hub, pki.node(cid)) as s:
        s.handshake(cid)
        wait_for(lambda: hub.connected(cid), 10, "the session at hub")
        s.ws.close(status=1011, reason=b"disk\x01 \xe6\xbb\xa1 full\n",
                   timeout=5)
    wait_for(lambda: hub.communities()[cid]["last_close"], 10,
             "the close kept")
    last = hub.communities()[cid]["last_close"]
    assert {k: last[k] for k in ("by", "code", "reason")} == {
        "by": "node", "code": 1011, "reason": "disk? ??? full?"}, last
    assert hub.metrics()["alliance_node_internal_closes_total"] == 1
    hub.wait_log(rf"session {cid}: closed \(by the node: 1011 disk\? \?\?\? "
                 r"full\?\)")

    with RawSession(hub, pki.node(cid)) as s:       # a second Hello: 4405
        s.handshake(cid)
        s.hello(cid)
        code, reason = s.expect_close()
        assert code == 4405, (code, reason)
    wait_for(lambda: hub.communities()[cid]["last_close"]["by"] == "hub",
             10, "the hub's close kept")
    last = hub.communities()[cid]["last_close"]
    assert last["code"] == 4405 and last["reason"] == reason, (last, reason)
    assert "a second Hello" in reason, reason

    s = RawSession(hub, pki.node(cid))          # dropped: no close frame
    s.handshake(cid)
    wait_for(lambda: hub.connected(cid), 10, "the session at hub")
    s.ws.sock.close()
    s.close()
    wait_for(lambda: hub.communities()[cid]["last_close"]["code"] == 0, 30,
             "the dropped connection kept")
    assert hub.communities()[cid]["last_close"]["reason"] == ""
    hub.wait_log(rf"session {cid}: closed \(the connection dropped\)")
    assert hub.metrics()["alliance_node_internal_closes_total"] == 1


def test_store_damaged_while_running_is_named(pki, tmp_path, password_hash,
                                              made):
    """Garbage written into the store of a running node: a manager's write
    that meets it is refused with store_damaged naming the cause (not a
    bare 500), and the log names the way back."""
    hub, node = hub_and_node(pki, tmp_path, password_hash, made)
    fill_services(node, 60)
    db = node.dir / "node.db"
    conn = sqlite3.connect(db)       # the pages into the file itself
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    damage(db)
    mark = node.log_mark()
    for i in range(60):
        r = manager(node, "POST", "/api/v1/services",
                    {"title": f"After damage {i}", "summary": "x " * 200,
                     "category": "other", "delivery": "walk-in",
                     "fee": "free"})
        if r.status != 201:
            break
    assert r.status == 500, r
    assert r.json()["error"]["code"] == "store_damaged", r
    assert "malformed" in r.json()["error"]["message"], r
    node.wait_log(r"the store is damaged: .*The way back: stop the node",
                  since=mark)
    node.kill()
    made.remove(node)

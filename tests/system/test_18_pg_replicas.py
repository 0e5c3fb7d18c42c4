"""Hub replicas over one PostgreSQL database (issue 18, items 1 and 2: the
foundation): [store] postgresql, the shared log, and the catalog's change
log through it.

Every test starts a real PostgreSQL 15 cluster (tests/system/pg.py, as an
unprivileged user) and real hub replicas pointed at it, each with its own
sqlite store (the derived copy) and ports, and real nodes. A community is
registered at one replica: the registry is shared through the log.

Parts: the replicas; an edit at one replica served at the other; the
registry and the directory through the log; Ack only after the commit;
the log-tailing trap; one session per community; bulletins and their
deliveries through the log; PostgreSQL away; bad [store] postgresql
values.
"""

import re
import sqlite3
import subprocess
import threading
import time

import pytest
import websocket

from conftest import (Hub, Node, RawSession, alliancectl, stop_all,
                      unique_id, wait_for)
from pg import PG_BIN, SUPERUSER, pg  # noqa: F401 (pg: the fixture)
from test_05_config import bad_config, valid_config, with_line
from test_30_bulletin import (content, issue, key_id_of, load_key,
                              node_bulletins, post_raw, signed)
from test_20_sync import (ARRIVE, BULK_ARRIVE, PASSWORD, bulk, bulk_items,
                          catalog_all, change, create, delete, hash_password,
                          recv_ack, replace, send_changes, store_rows,
                          titles)

# proto's Kinds of the directory's records
KIND_COMMUNITY, KIND_SEARCH_WORDS = 7, 8

# pglog.h's LOCK_APPEND: the advisory lock an append holds to its commit.
LOCK_APPEND = 0x616c6c69616e01


# ---- the replicas ---------------------------------------------------------

class PgHub(Hub):
    """A hub replica: its own sqlite copy, [store] postgresql = conninfo,
    and room for the bulks below in its quota."""

    def __init__(self, d, pki, conninfo, **kw):
        kw.setdefault("quota", {"records": 20000, "changes_per_hour": 20000})
        super().__init__(d, pki, **kw)
        self.postgresql = conninfo


@pytest.fixture(scope="module")
def manager_hash():
    return hash_password(PASSWORD)


@pytest.fixture
def replicas(pki, tmp_path, pg, manager_hash):  # noqa: F811 (the fixture)
    """Factory: replicas(n_hubs, per_hub) starts n_hubs replicas on pg and
    per_hub nodes at each, every community registered at the first
    replica (and so, through the shared log, at every replica).
    Returns (hubs, nodes) with nodes[i] the list of hub i's nodes."""
    made = []

    def make(n_hubs=2, per_hub=1):
        hubs = []
        for i in range(n_hubs):
            h = PgHub(tmp_path / f"hub{i + 1}", pki, pg.conninfo).start()
            made.append(h)
            hubs.append(h)
        ids = [[unique_id(f"r{i + 1}") for _ in range(per_hub)]
               for i in range(n_hubs)]
        for cid in sum(ids, []):
            hubs[0].register(cid)
        for h in hubs:
            wait_registered(h, *sum(ids, []))
        nodes = []
        for h, cids in zip(hubs, ids):
            at = []
            for cid in cids:
                n = Node(tmp_path / cid, pki, h, cid,
                         manager_hash=manager_hash).start()
                made.append(n)
                at.append(n)
            nodes.append(at)
        for n in sum(nodes, []):
            n.wait_connected()
        return hubs, nodes
    yield make
    stop_all(made)


def wait_registered(hub, *cids):
    wait_for(lambda: set(cids) <= set(hub.communities()), ARRIVE,
             f"{cids} in the registry of {hub.dir.name}")


# pglog.h's kinds of events
CHANGES, CLAIM, DIRECTORY, PURGE, BULLETIN, DELIVERY = 1, 2, 3, 4, 5, 6
DELIVERIES = 10


def log_rows(pg, kind=CHANGES):  # noqa: F811
    """[(seq, community, last_seq)] of the shared log's events of kind
    (None: all), in seq order."""
    where = f"WHERE kind = {kind}" if kind else ""
    return [(int(s), c, int(last)) for s, c, last in pg.psql(
        f"SELECT seq, community, last_seq FROM alliance_log {where}"
        " ORDER BY seq")]


def deliveries_body(acks):
    """A DELIVERIES event's body of acks [(community, bulletin, ms)]
    (hub/bulletin.c): each the community's length (1 byte) and id, the
    bulletin's (1) and id, the time (8 bytes, big-endian)."""
    out = b""
    for c, b, ms in acks:
        out += bytes([len(c)]) + c.encode() + bytes([len(b)]) + \
            b.encode() + ms.to_bytes(8, "big")
    return out


def log_acks(pg):  # noqa: F811
    """[(community, bulletin)] of every ack in the shared log, in its
    order: those a replica shared together (DELIVERIES), and any one
    alone (DELIVERY without a reason)."""
    got = []
    for kind, community, body in pg.psql(
            "SELECT kind, community, encode(body, 'hex') FROM alliance_log"
            f" WHERE kind IN ({DELIVERY}, {DELIVERIES}) ORDER BY seq"):
        body = bytes.fromhex(body)
        if int(kind) == DELIVERY:
            if b"\0" not in body:
                got.append((community, body.decode()))
            continue
        at = 0
        while at < len(body):
            n = body[at]
            c = body[at + 1:at + 1 + n].decode()
            at += 1 + n
            m = body[at]
            got.append((c, body[at + 1:at + 1 + m].decode()))
            at += 1 + m + 8
    return got


# ---- an edit at one replica served at the other -----------------------------

def test_edit_at_replica_1_is_served_by_replica_2(replicas, pg):  # noqa: F811
    (h1, h2), ([a], [b]) = replicas()

    sid = create(a, "Rice for the elders")
    wait_for(lambda: titles(b.public_port, a.community).get(sid) ==
             "Rice for the elders", ARRIVE,
             "a's service (at replica 1) at b (at replica 2)")
    replace(a, sid, "Rice and oil for the elders")
    gone = create(a, "Withdrawn soon")
    sid_b = create(b, "Flu shots")
    delete(a, gone)
    for node, community, want in ((b, a.community,
                                   {sid: "Rice and oil for the elders"}),
                                  (a, b.community, {sid_b: "Flu shots"})):
        wait_for(lambda: titles(node.public_port, community) == want,
                 ARRIVE, f"{community}'s edits at {node.community}")
    # every write went through the shared log, numbered without a gap
    assert {c for _, c, _ in log_rows(pg)} == {a.community, b.community}
    seqs = [s for s, _, _ in log_rows(pg, None)]
    assert seqs == list(range(1, len(seqs) + 1))

    # both replicas serve the same catalog, and the records at each, read
    # from the stopped stores, are the nodes' own, version by version
    for h in (h1, h2):
        wait_for(lambda: {k: s["title"] for k, s in
                          catalog_all(h.public_port).items()} ==
                 {(a.community, sid): "Rice and oil for the elders",
                  (b.community, sid_b): "Flu shots"},
                 ARRIVE, f"both records at {h.dir.name}")
    for d in (a, b, h1, h2):
        d.stop()
    own = store_rows(a.dir / "node.db", "origin = ?", (a.community,))
    own.update(store_rows(b.dir / "node.db", "origin = ?", (b.community,)))
    assert store_rows(h1.dir / "hub.db") == own
    assert store_rows(h2.dir / "hub.db") == own


def test_bulks_at_both_replicas_reach_every_store(replicas):
    """Two nodes at each replica import at once: every store ends with the
    union of the nodes' own records, record by record."""
    hubs, nodes = replicas(2, 2)
    flat = sum(nodes, [])
    counts = [700, 500, 600, 400]
    threads = [threading.Thread(target=bulk, args=(
        n, bulk_items(n.community, k))) for n, k in zip(flat, counts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(counts)
    for d in hubs + flat:
        wait_for(lambda: d.live_services() == total, BULK_ARRIVE,
                 f"{total} services at {d.dir.name}")
    for d in flat + hubs:
        d.stop()
    own = {}
    for n in flat:
        own.update(store_rows(n.dir / "node.db", "origin = ?",
                              (n.community,)))
    assert len(own) == total
    for h in hubs:
        assert store_rows(h.dir / "hub.db") == own
    for n in flat:
        assert store_rows(n.dir / "node.db") == own


def test_late_and_restarted_replica_reads_the_log_from_its_copy(
        pki, tmp_path, pg, manager_hash):  # noqa: F811
    """A replica started after the edits reads the whole log into its new
    copy; stopped and started again, it goes on from the last event its
    copy applied (nothing twice: the counter of records stored moves by
    exactly the new ones)."""
    made = []
    try:
        h1 = PgHub(tmp_path / "hub1", pki, pg.conninfo).start()
        made.append(h1)
        a_id, b_id = unique_id("late"), unique_id("late")
        h1.register(a_id)
        a = Node(tmp_path / a_id, pki, h1, a_id,
                 manager_hash=manager_hash).start()
        made.append(a)
        a.wait_connected()
        bulk(a, bulk_items(a_id, 300))
        wait_for(lambda: h1.live_services(a_id) == 300, BULK_ARRIVE,
                 "300 services at replica 1")

        h2 = PgHub(tmp_path / "hub2", pki, pg.conninfo).start()
        made.append(h2)
        h2.register(b_id)
        wait_registered(h2, a_id)
        b = Node(tmp_path / b_id, pki, h2, b_id,
                 manager_hash=manager_hash).start()
        made.append(b)
        wait_for(lambda: b.live_services(a_id) == 300, BULK_ARRIVE,
                 "a's 300 services at b, through the late replica")

        h2.stop()
        bulk(a, bulk_items(a_id, 200))
        wait_for(lambda: h1.live_services(a_id) == 500, BULK_ARRIVE,
                 "500 services at replica 1")
        h2.start()
        wait_for(lambda: b.live_services(a_id) == 500, BULK_ARRIVE,
                 "the 200 made while replica 2 was stopped at b")
        m = h2.metrics()
        assert m["alliance_changes_applied_total"] == 200
        assert m["alliance_changes_stale_total"] == 0
        assert m["alliance_shared_log_up"] == 1
        # (the log's head moves with b's session claim)
        wait_for(lambda: h2.metrics()["alliance_shared_log_applied"] ==
                 int(pg.psql("SELECT max(seq) FROM alliance_log")[0][0]),
                 ARRIVE, "replica 2 at the log's head")
        for d in (a, b, h1, h2):
            d.stop()
        assert store_rows(h2.dir / "hub.db") == \
            store_rows(h1.dir / "hub.db") == \
            store_rows(a.dir / "node.db", "origin = ?", (a_id,))
    finally:
        stop_all(made)


# ---- the registry and the directory through the log ---------------------------

def hub_stream(path):
    """(the catalog's log [(seq, origin, kind, id)], the directory
    {(origin, kind, id): (version, deleted, body)}) of a stopped hub's
    sqlite copy: what a node's cursor means there."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        log = db.execute("SELECT seq, origin, kind, id FROM catalog_log"
                         " ORDER BY seq").fetchall()
        directory = {(o, k, i): (v, d, b) for o, k, i, v, d, b in db.execute(
            "SELECT origin, kind, id, version, deleted, body"
            " FROM directory")}
    finally:
        db.close()
    return log, directory


def test_registry_and_directory_are_events_of_the_log(replicas, pg):  # noqa: F811,E501
    """A community registered at replica 1 connects at replica 2 and one
    removed at replica 2 is gone at replica 1, each written once to the
    log; the operator is answered after the commit (201, 204; a second
    POST of the same id 409 at either replica); the replicas' copies then
    number every record alike: their catalog logs and directories are
    equal row by row, and hold the directory records of the log."""
    (h1, h2), ([a], [b]) = replicas()
    # the fixture registered b at replica 1 only: b connected at replica 2
    assert h2.connected(b.community) and h1.connected(a.community)
    gone = unique_id("gone")
    r = h2.api("POST", "/api/v1/communities", {"id": gone, "name": "Gone"})
    assert r.status == 201 and r.json()["id"] == gone, r
    # answered after the commit: the event is in the log already
    assert gone in [c for _, c, _ in log_rows(pg, DIRECTORY)]
    wait_registered(h1, gone)
    for h in (h1, h2):
        r = h.api("POST", "/api/v1/communities", {"id": gone})
        assert r.status == 409, r
    r = h1.api("DELETE", f"/api/v1/communities/{gone}")
    assert r.status == 204, r
    wait_for(lambda: gone not in h2.communities(), ARRIVE,
             "the removal at replica 2")
    r = h2.api("DELETE", f"/api/v1/communities/{gone}")
    assert r.status == 404, r
    events = [c for _, c, _ in log_rows(pg, DIRECTORY)]
    assert events.count(gone) == 2, events       # added, removed: once each
    assert events.count(a.community) == events.count(b.community) == 1
    sid = create(a, "After the registry's changes")
    wait_for(lambda: sid in titles(b.public_port, a.community), ARRIVE,
             "a's edit at b")
    wait_for(lambda: h1.metrics()["alliance_shared_log_applied"] ==
             h2.metrics()["alliance_shared_log_applied"] ==
             int(pg.psql("SELECT max(seq) FROM alliance_log")[0][0]),
             ARRIVE, "both replicas at the log's head")
    for d in (a, b, h1, h2):
        d.stop()
    log1, dir1 = hub_stream(h1.dir / "hub.db")
    log2, dir2 = hub_stream(h2.dir / "hub.db")
    assert log1 == log2 and dir1 == dir2
    assert {i for (o, k, i), (_, d, _) in dir1.items()
            if o == "district" and k == KIND_COMMUNITY and not d} == \
        {a.community, b.community}
    assert dir1[("district", KIND_COMMUNITY, gone)][1] == 1   # a tombstone
    # the synonyms record (none configured: an empty one), from the log
    assert dir1[("district", KIND_SEARCH_WORDS, "synonyms")][1] == 0


# ---- Ack only after the commit ----------------------------------------------

class Holder:
    """A psql session holding LOCK_APPEND, so that no replica's append can
    commit until release()."""

    def __init__(self, pg):  # noqa: F811
        self.p = subprocess.Popen(
            [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-h",
             str(pg.sock), "-p",
             str(pg.port), "-U", SUPERUSER, "-d", "alliance"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.p.stdin.write(f"SELECT pg_advisory_lock({LOCK_APPEND});\n"
                           "\\echo held\n")
        self.p.stdin.flush()
        while self.p.stdout.readline().strip() != "held":
            assert self.p.poll() is None, "psql ended"

    def release(self):
        self.p.stdin.write(f"SELECT pg_advisory_unlock({LOCK_APPEND});\n"
                           "\\q\n")
        self.p.stdin.close()
        assert self.p.wait(30) == 0


def appends_waiting(pg, n=1):  # noqa: F811
    """True once n sessions wait for LOCK_APPEND."""
    key_lo = LOCK_APPEND & 0xffffffff
    rows = pg.psql("SELECT count(*) FROM pg_locks WHERE locktype ="
                   f" 'advisory' AND NOT granted AND objid = {key_lo}")
    return int(rows[0][0]) >= n


def test_ack_only_after_the_commit(pki, tmp_path, pg):  # noqa: F811
    hub = PgHub(tmp_path / "hub", pki, pg.conninfo).start()
    cid = unique_id("ack")
    try:
        hub.register(cid)
        with RawSession(hub, pki.node(cid)) as s:
            s.handshake(cid)
            hold = Holder(pg)
            try:
                send_changes(s, [change(1, cid, "s1", 10, "one"),
                                 change(2, cid, "s2", 10, "two")])
                wait_for(lambda: appends_waiting(pg), ARRIVE,
                         "the hub's append to wait for the commit lock")
                # no Ack came before this Error: frames keep their order
                s.alive()
            finally:
                hold.release()
            assert recv_ack(s) == 2
            # by the Ack, the batch was committed
            assert [(c, last) for _, c, last in log_rows(pg)] == [(cid, 2)]
        wait_for(lambda: hub.live_services(cid) == 2, ARRIVE,
                 "the batch in the replica's copy")
    finally:
        stop_all([hub])


# ---- the log-tailing trap ------------------------------------------------------

# A trigger the test installs: an append of a row whose body holds the
# marker sleeps (pg_sleep) in its transaction, after its seq was taken,
# until the test deletes the row of trap_hold.
TRAP = """
CREATE TABLE trap_hold (x int);
INSERT INTO trap_hold VALUES (1);
CREATE FUNCTION trap_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF position('slow-marker'::bytea IN NEW.body) > 0 THEN
    LOOP
      EXIT WHEN NOT EXISTS (SELECT 1 FROM trap_hold);
      PERFORM pg_sleep(0.05);
    END LOOP;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trap_slow BEFORE INSERT ON alliance_log
  FOR EACH ROW EXECUTE FUNCTION trap_slow();
"""


def sleeping(pg):  # noqa: F811
    return int(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE"
                       " wait_event = 'PgSleep'")[0][0]) >= 1


def test_out_of_order_commit_misses_no_record(replicas, pg):  # noqa: F811
    """Replica 1's append of a marked row takes its seq and then sleeps
    before it commits; replica 2's append comes meanwhile. Tailing by a
    sequence, replica 2's would commit first with the higher seq and
    every reader past it would skip the marked one forever. Here the
    second waits for the first (the commit lock), and every replica and
    node gets both."""
    (h1, h2), ([a], [b]) = replicas()
    pg.psql(TRAP)
    slow = create(a, "slow-marker: the night shelter")
    wait_for(lambda: sleeping(pg), ARRIVE,
             "replica 1's append to sleep in the trigger")
    fast = create(b, "fast: the clinic")
    wait_for(lambda: appends_waiting(pg), ARRIVE,
             "replica 2's append to wait behind it")
    pg.psql("DELETE FROM trap_hold")
    want = {(a.community, slow): "slow-marker: the night shelter",
            (b.community, fast): "fast: the clinic"}
    for d in (h1, h2):
        wait_for(lambda: {k: s["title"] for k, s in
                          catalog_all(d.public_port).items()} == want,
                 ARRIVE, f"both records at {d.dir.name}")
    wait_for(lambda: titles(a.public_port, b.community) ==
             {fast: "fast: the clinic"}, ARRIVE, "b's record at a")
    wait_for(lambda: titles(b.public_port, a.community) ==
             {slow: "slow-marker: the night shelter"}, ARRIVE,
             "a's record at b")
    # the marked row took the lower seq and committed first
    order = [c for _, c, _ in log_rows(pg)]
    assert order.index(a.community) < order.index(b.community)


# ---- one session per community across replicas ----------------------------

def claims(pg, community):  # noqa: F811
    return len([r for r in log_rows(pg, CLAIM) if r[1] == community])


def test_one_session_per_community_across_replicas(replicas, pg, pki):  # noqa: F811,E501
    """The same community at both replicas: the newer session, wherever
    it is, replaces the older with 4409."""
    (h1, h2), _ = replicas(2, 0)
    cid = unique_id("one")
    h1.register(cid)
    wait_registered(h2, cid)
    with RawSession(h1, pki.node(cid)) as s1:
        s1.handshake(cid)
        wait_for(lambda: claims(pg, cid) == 1, ARRIVE,
                 "the first session's claim in the log")
        with RawSession(h2, pki.node(cid)) as s2:
            s2.handshake(cid)
            code, reason = s1.expect_close(ARRIVE)
            assert code == 4409 and "another hub replica" in reason, \
                (code, reason)
            s2.alive()
            wait_for(lambda: claims(pg, cid) == 2, ARRIVE,
                     "the second session's claim in the log")
            with RawSession(h1, pki.node(cid)) as s3:
                s3.handshake(cid)
                code, reason = s2.expect_close(ARRIVE)
                assert code == 4409, (code, reason)
                s3.alive()
    assert h1.refusals()["replaced"] == 1
    assert h2.refusals()["replaced"] == 1


# ---- PostgreSQL away --------------------------------------------------------------

# ---- bulletins and their deliveries through the log ---------------------------

def delivery_view(hub, bid):
    """GET /api/v1/bulletins/{bid} at hub: (targets, delivered, status,
    the per-community delivery)."""
    d = hub.api("GET", f"/api/v1/bulletins/{bid}")
    assert d.status == 200, d
    d = d.json()
    return (d["targets"], d["delivered"], d["status"],
            sorted(((x["community"], x["delivered"], x["delivery_ms"],
                     x["refused"]) for x in d["delivery"]),
                   key=lambda x: x[0]))


def test_bulletin_at_replica_1_reaches_nodes_at_both(replicas, pg):  # noqa: F811,E501
    """A bulletin posted at replica 1 is stored by every node at both
    replicas, each acking it once (one ack a node in the log); both
    replicas show the same delivery view, all delivered; a cancel issued
    at replica 2 with --wait sees every node have it."""
    hubs, nodes = replicas(2, 2)
    h1, h2 = hubs
    flat = sum(nodes, [])
    everyone = sorted(n.community for n in flat)
    bid, _ = issue(h1)
    # answered after the commit: its event is in the log
    assert len(log_rows(pg, BULLETIN)) == 1
    for n in flat:
        wait_for(lambda: bid in node_bulletins(n), ARRIVE,
                 f"{bid} at {n.community}")
    for h in hubs:
        wait_for(lambda: delivery_view(h, bid)[:2] == (4, 4), ARRIVE,
                 f"all 4 delivered in {h.dir.name}'s view")
    view = delivery_view(h1, bid)
    assert view == delivery_view(h2, bid)
    assert view[2] == "current"
    assert [(c, bool(d), r) for c, d, _, r in view[3]] == \
        [(c, True, None) for c in everyone]

    r = alliancectl(h2, "bulletin", "cancel", bid, "--wait", "--timeout",
                    "60")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "delivered to all 4 communities" in r.stdout, r.stdout
    cid = r.stdout.splitlines()[0]
    for n in flat:
        wait_for(lambda: node_bulletins(n).get(bid, {}).get("status") ==
                 "cancelled", ARRIVE, f"{bid} cancelled at {n.community}")
        assert node_bulletins(n)[cid]["references"] == [bid]
    wait_for(lambda: delivery_view(h1, cid) == delivery_view(h2, cid),
             ARRIVE, "the cancel's delivery alike at both replicas")
    assert delivery_view(h1, bid)[2] == "cancelled" == \
        delivery_view(h2, bid)[2]
    # each node was sent each bulletin once, by its own replica: one ack
    # per node and bulletin in the log, none twice
    assert sorted(log_acks(pg)) == sorted(
        (c, b) for b in (bid, cid) for c in everyone)
    assert len(log_rows(pg, BULLETIN)) == 2


def test_a_batch_in_the_log_under_another_community_is_refused(
        replicas, pg):  # noqa: F811
    """A node's batch copied into the shared log under another community
    (the database trusted no more than a node): every replica refuses it,
    saying so, and the log goes on."""
    (h1, h2), ([a], [b]) = replicas()
    sid = create(a, "Rice for the elders")
    wait_for(lambda: sid in titles(b.public_port, a.community), ARRIVE,
             "a's record at b")
    pg.psql("BEGIN;"
            f" SELECT pg_advisory_xact_lock({0x616c6c69616e01});"
            " INSERT INTO alliance_log (seq, kind, community, last_seq, body)"
            " SELECT (SELECT max(seq) + 1 FROM alliance_log), kind,"
            f" '{b.community}', last_seq, body FROM alliance_log"
            f" WHERE kind = {CHANGES} AND community = '{a.community}'"
            " ORDER BY seq DESC LIMIT 1;"
            " SELECT pg_notify('alliance_log', ''); COMMIT;")
    for h in (h1, h2):
        h.wait_log(rf"a batch of {b.community} refused, not stored: change"
                   rf" \S+: of {a.community}, not of the event's community",
                   ARRIVE)
    later = create(b, "Water back on")
    wait_for(lambda: later in titles(a.public_port, b.community), ARRIVE,
             "b's later record at a")


def test_a_forged_bulletin_in_the_log_is_refused_by_every_replica(
        replicas, pg):  # noqa: F811
    """A bulletin event written into the shared log behind the hubs' backs
    (the database is trusted no more than an operator), its signed id
    changed so that the signature no longer holds: no replica stores it or
    sends it, each says so in its log, and a real one after it still goes
    out everywhere."""
    hubs, nodes = replicas(2, 1)
    flat = sum(nodes, [])
    bid, _ = issue(hubs[0])
    for h in hubs:
        wait_for(lambda: delivery_view(h, bid)[:2] == (2, 2), ARRIVE,
                 f"{bid} delivered in {h.dir.name}'s view")
    forged = bid[:-8] + "".join("0" if c != "0" else "1" for c in bid[-8:])
    hex_of = bid.encode().hex()
    pg.psql("BEGIN;"
            f" SELECT pg_advisory_xact_lock({0x616c6c69616e01});"
            " INSERT INTO alliance_log (seq, kind, community, last_seq, body)"
            " SELECT (SELECT max(seq) + 1 FROM alliance_log), kind,"
            " community, last_seq, decode(replace(encode(body, 'hex'),"
            f" '{hex_of}', '{forged.encode().hex()}'), 'hex')"
            f" FROM alliance_log WHERE kind = {BULLETIN};"
            " SELECT pg_notify('alliance_log', ''); COMMIT;")
    for h in hubs:
        h.wait_log(rf"bulletin {forged} refused, not stored: .*signature",
                   ARRIVE)
    later, _ = issue(hubs[1], headline="Water back on")
    for n in flat:
        wait_for(lambda: later in node_bulletins(n), ARRIVE,
                 f"{later} at {n.community}")
        assert forged not in node_bulletins(n)
    for h in hubs:
        assert h.api("GET", f"/api/v1/bulletins/{forged}").status == 404


def test_acks_in_the_log_applied_together_and_forged_ones_passed_over(
        replicas, pg):  # noqa: F811
    """Acks are shared a replica's few milliseconds at a time, one event
    (DELIVERIES), and applied a run at a time in one statement over a JSON
    array. Events written behind the hubs' backs are passed over whole by
    every replica: an ack alone (DELIVERY) or in a run whose community
    would break out of that array, a run cut short; the valid run beside
    them in the same run of the log is recorded."""
    hubs, nodes = replicas(2, 1)
    away = unique_id("away")            # registered, no node: pending
    hubs[0].register(away)
    for h in hubs:
        wait_registered(h, away)
    bid, _ = issue(hubs[0])
    for h in hubs:
        wait_for(lambda: delivery_view(h, bid)[:2] == (3, 2), ARRIVE,
                 f"{bid}: 2 of 3 delivered in {h.dir.name}'s view")
    # the nodes' acks were shared in runs, none alone
    assert sorted(log_acks(pg)) == sorted((n[0].community, bid)
                                          for n in nodes)
    assert not log_rows(pg, DELIVERY)
    ms = int(time.time() * 1000)
    forged = f'{away}",1],["{bid}","{nodes[0][0].community}'
    events = [
        (DELIVERY, forged, bid.encode()),
        (DELIVERIES, "", deliveries_body([(forged[:63], bid, ms)])),
        (DELIVERIES, "", deliveries_body([(away, bid, ms)])[:-3]),
        (DELIVERIES, "", deliveries_body([(away, bid, ms)])),
    ]
    values = ", ".join(f"({n}, {k}, '{c}', decode('{b.hex()}', 'hex'))"
                       for n, (k, c, b) in enumerate(events, 1))
    pg.psql("BEGIN;"
            f" SELECT pg_advisory_xact_lock({0x616c6c69616e01});"
            " INSERT INTO alliance_log (seq, kind, community, last_seq, body)"
            " SELECT (SELECT max(seq) FROM alliance_log) + n, k, c,"
            f" {ms}, b FROM (VALUES {values}) v (n, k, c, b);"
            " SELECT pg_notify('alliance_log', ''); COMMIT;")
    for h in hubs:
        h.wait_log(r"shared log \d+: not a delivery: passed over", ARRIVE)
        got = wait_for(lambda: (lambda v: v[1] == 3 and v)(
            delivery_view(h, bid)), ARRIVE, f"{away}'s ack at {h.dir.name}")
        assert len(re.findall(r"shared log \d+: not a run of acks: passed"
                              " over", h.log())) == 2
        assert [c for c, *_ in got[3]] == sorted(
            [away] + [n[0].community for n in nodes])
        assert dict((c, d) for c, _, d, _ in got[3])[away] >= 0


def allow_1013(monkeypatch):
    """Let websocket-client take a close with 1013: Debian 12's predates
    it (Try Again Later, in IANA's registry of close codes) and would
    refuse the close frame."""
    monkeypatch.setattr(websocket._abnf, "VALID_CLOSE_STATUS",
                        websocket._abnf.VALID_CLOSE_STATUS + (1013,))


def test_database_away_sessions_told_to_come_back_then_recovery(
        replicas, pg, pki, monkeypatch):  # noqa: F811
    """PostgreSQL stopped: a batch is refused with 1013 and the cause,
    nothing of it stored; the replica keeps serving its copy; with
    PostgreSQL back the replica reconnects alone and the edits made
    meanwhile reach the other replica's node."""
    allow_1013(monkeypatch)
    (h1, h2), ([a], [b]) = replicas()
    before = create(a, "Before the outage")
    wait_for(lambda: before in titles(b.public_port, a.community), ARRIVE,
             "a's first record at b")
    cid = unique_id("away")
    h1.register(cid)
    with RawSession(h1, pki.node(cid)) as s:
        s.handshake(cid)
        wait_for(lambda: claims(pg, cid) == 1, ARRIVE,
                 "the session's claim in the log")
        mark = h1.log_mark()
        pg.stop()
        h1.wait_log(r"pglog: .*(unreachable|connection lost)", ARRIVE,
                    since=mark)
        # the operator API answers 503 with the cause, changing nothing
        refused = unique_id("refused")
        r = h1.api("POST", "/api/v1/communities", {"id": refused})
        assert r.status == 503 and "database" in r.text, r
        r = h1.api("DELETE", f"/api/v1/communities/{cid}")
        assert r.status == 503 and "database" in r.text, r
        assert refused not in h1.communities() and \
            cid in h1.communities()
        key = load_key(pki.signing_key)
        away, data = content(key_id_of(key))
        r = post_raw(h1, data, signed(key, data))
        assert r.status == 503 and "database" in r.text, r
        # a batch is refused, nothing of it stored
        send_changes(s, [change(1, cid, "s1", 10, "refused")])
        code, reason = s.expect_close()
    assert code == 1013, (code, reason)
    assert "database" in reason and "try again later" in reason, reason
    assert h1.live_services(cid) == 0
    # a new session is told to come back at once: its claim cannot be
    # stored
    with RawSession(h1, pki.node(cid)) as s:
        code, reason = s.expect_close()
    assert code == 1013 and "database" in reason, (code, reason)
    # reads go on from the copy
    assert titles(h1.public_port, a.community) == \
        {before: "Before the outage"}
    during = create(a, "Made during the outage")
    mark = h1.log_mark()
    pg.start()
    h1.wait_log(r"pglog: connected", ARRIVE, since=mark)
    wait_for(lambda: titles(b.public_port, a.community) ==
             {before: "Before the outage",
              during: "Made during the outage"}, ARRIVE,
             "the edit made during the outage at b, after it")
    assert h1.refusals().get("unavailable", 0) >= 2
    assert refused not in h1.communities() and refused not in \
        h2.communities() and cid in h2.communities()
    for h in (h1, h2):
        assert h.api("GET", f"/api/v1/bulletins/{away}").status == 404


# ---- bad [store] postgresql values ------------------------------------------------

@pytest.mark.parametrize("value, why", [
    ("host=/tmp " + "x" * 1100, "longer than"),
    ("host=/tmp\tdbname=alliance", "control character"),
], ids=["too-long", "control-character"])
def test_bad_conninfo_is_refused(pki, tmp_path, value, why):
    text, line = with_line(valid_config("alliance-hub", pki, tmp_path),
                           r"^path = hub\.db", f"postgresql = {value}")
    conf, err = bad_config("alliance-hub", tmp_path, text)
    assert f"{conf}:{line}" in err and "postgresql" in err and why in err, \
        err


# ---- a replica with a certificate of its own --------------------------------------

class OwnCertHub(PgHub):
    """A replica with its own server certificate (CN and SAN localhost,
    issued by the alliance CA), in place of the PKI's shared hub.crt."""

    def __init__(self, d, pki, conninfo, **kw):
        super().__init__(d, pki, conninfo, **kw)
        prefix = self.dir / "replica"
        pki.run("hub", "--dir", pki.dir, "--name", "localhost", "--dns",
                "localhost", "--ip", "127.0.0.1", "--out", prefix)
        self.own_cert = (prefix.with_suffix(".crt"),
                         prefix.with_suffix(".key"))

    def config_text(self):
        text = super().config_text()
        for shared, own in zip(self.pki.hub_cert, self.own_cert):
            assert f"= {shared}\n" in text
            text = text.replace(f"= {shared}\n", f"= {own}\n")
        return text


# ---- tombstone purges through the log -------------------------------------------

class PurgingHub(PgHub):
    """A replica forgetting tombstones after a second, every second."""

    def config_text(self):
        return super().config_text() + \
            "[sync]\ntombstone_retention = 1\npurge_interval = 1\n"


def purged_seq(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM hub_meta WHERE key ="
                         " 'purged_seq'").fetchone()
    finally:
        db.close()
    return int(row[0]) if row else 0


def test_tombstone_purges_are_events_of_the_log(pki, tmp_path, pg,
                                                manager_hash):  # noqa: F811
    """Each replica's timer decides a purge as an event of the log, and
    every replica applies every purge: a deletion's tombstone is forgotten
    at both, and their copies stay equal row by row (the same purged
    position, the same catalog log)."""
    made = []
    try:
        h1 = PurgingHub(tmp_path / "hub1", pki, pg.conninfo).start()
        made.append(h1)
        h2 = PurgingHub(tmp_path / "hub2", pki, pg.conninfo).start()
        made.append(h2)
        a_id = unique_id("pu")
        h1.register(a_id)
        wait_registered(h2, a_id)
        a = Node(tmp_path / a_id, pki, h1, a_id,
                 manager_hash=manager_hash).start()
        made.append(a)
        a.wait_connected()
        kept, gone = create(a, "Kept"), create(a, "Deleted")
        delete(a, gone)
        wait_for(lambda: titles(h2.public_port, a_id) == {kept: "Kept"},
                 ARRIVE, "the deletion at replica 2")
        for h in (h1, h2):
            h.wait_log(r"retention: forgot \d+ tombstones", timeout=ARRIVE)
        assert log_rows(pg, PURGE)
        wait_for(lambda: h1.metrics()["alliance_shared_log_applied"] ==
                 h2.metrics()["alliance_shared_log_applied"] ==
                 int(pg.psql("SELECT max(seq) FROM alliance_log")[0][0]),
                 ARRIVE, "both replicas at the log's head")
        for d in (a, h1, h2):
            d.stop()
        assert purged_seq(h1.dir / "hub.db") == \
            purged_seq(h2.dir / "hub.db") > 0
        rows = store_rows(h1.dir / "hub.db")
        assert rows == store_rows(h2.dir / "hub.db")
        assert (a_id, gone) not in rows and (a_id, kept) in rows
        assert hub_stream(h1.dir / "hub.db") == hub_stream(h2.dir / "hub.db")
    finally:
        stop_all(made)

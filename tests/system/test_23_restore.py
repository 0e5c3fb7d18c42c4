"""A node restored from an older backup (issue 14, finding 2): its store
has the same epoch but has gone back in time, so the sequence numbers and
versions of its edits since the backup were already used by edits the hub
holds. It must be recognised at the handshake by both ends (StoreMarks in
Hello, wire_store_behind), say so in both logs, in the hub's /metrics and
communities API and in the node's sync state, renumber its edits since the
backup above what the hub holds (so they all arrive, and win over the
hub's copies of the same records), and get back from the hub its own
records newer than the backup. A node that was merely restarted or
SIGKILLed is not taken for a restored one.

The backup is made with sqlite's backup API while the node runs, as an
operator would; restoring it means copying it over the stopped node's
store and removing the -wal and -shm files. Stores are compared after the
daemons stopped, read-only: the hub's rows equal the union of every node's
own rows, and every node's replica equals the hub's rows of the others.
"""

import sqlite3

import pytest

from conftest import RawSession, pb, unique_id, wait_for
from test_20_sync import (ARRIVE, PASSWORD, alliance,  # noqa: F401
                          bulk, bulk_items, create, delete, everywhere,
                          manager, raw_hub, replace, store_rows, titles)

# alliance and raw_hub are fixtures of test_20_sync; password_hash
# (conftest's) hashes PASSWORD, test_20_sync's manager password


def backup(node, dst):
    """A copy of node's live store with sqlite's backup API."""
    src = sqlite3.connect(node.dir / "node.db")
    out = sqlite3.connect(dst)
    try:
        src.backup(out)
    finally:
        out.close()
        src.close()


def restore(node, src):
    """Put the backup src in place of the stopped node's store."""
    assert not node.running
    for suffix in ("-wal", "-shm"):
        (node.dir / f"node.db{suffix}").unlink(missing_ok=True)
    (node.dir / "node.db").write_bytes(src.read_bytes())


def sync_state(node):
    r = manager(node, "GET", "/api/v1/manager/sync")
    assert r.status == 200, r
    return r.json()


def restores(hub):
    return hub.metrics().get("alliance_store_restores_total")


def assert_stores_agree(hub, nodes):
    """With every daemon stopped: the hub holds exactly every node's own
    rows (same versions, tombstones included) and every node's replica
    exactly the hub's rows of the others."""
    at_hub = store_rows(hub.dir / "hub.db")
    union = {}
    for node in nodes:
        own = store_rows(node.dir / "node.db", "origin = ?",
                         (node.community,))
        assert not set(own) & set(union)
        union.update(own)
    assert at_hub == union
    for node in nodes:
        replica = store_rows(node.dir / "node.db", "origin <> ?",
                             (node.community,))
        assert replica == {k: v for k, v in at_hub.items()
                           if k[0] != node.community}


def test_restored_node_gets_all_its_edits_since_the_backup_to_the_hub(
        alliance):
    al = alliance(3)
    hub, (a, b, c) = al.hub, al.nodes
    ids = [f"s{i:02d}" for i in range(10)]
    for sid in ids:
        create(a, f"{sid} as first made", id=sid)
    others = {b: create(b, "b's own"), c: create(c, "c's own")}
    first = {sid: f"{sid} as first made" for sid in ids}
    everywhere([hub.public_port, b.public_port, c.public_port], a.community,
               lambda t: t == first, "a's first services")

    # a plain restart is not a restore
    a.stop()
    a.start()
    a.wait_connected(ARRIVE)
    assert restores(hub) == 0
    assert sync_state(a)["up"]["store_behind"] == 0

    saved = a.dir.parent / "a-backup.db"
    backup(a, saved)

    # edits after the backup reach the hub: the restored store lacks them
    replace(a, "s00", "s00 edited after the backup")
    replace(a, "s01", "s01 edited after the backup")
    replace(a, "s02", "s02 edited after the backup")
    delete(a, "s03")
    late = [create(a, f"late {i}, after the backup") for i in range(2)]
    before_restore = dict(first, s00="s00 edited after the backup",
                          s01="s01 edited after the backup",
                          s02="s02 edited after the backup")
    del before_restore["s03"]
    before_restore.update({sid: f"late {i}, after the backup"
                           for i, sid in enumerate(late)})
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == before_restore, "the edits after the backup")

    a.stop()
    restore(a, saved)
    hub.stop()
    a.start()                       # the restored store, no hub to ask
    assert titles(a.public_port, a.community) == first

    # 15 edits while the hub is down, reusing the sequence numbers and
    # versions of the edits the hub holds: two of records the hub has
    # newer copies of (a replace and a delete: the later intent wins)
    replace(a, "s00", "s00 edited after the restore")
    delete(a, "s02")
    for sid in ids[4:8]:
        replace(a, sid, f"{sid} edited after the restore")
    delete(a, "s09")
    post = [create(a, f"post {i}, after the restore") for i in range(8)]
    made = 1 + 1 + 4 + 1 + len(post)
    assert made == 15

    hub_mark, node_mark = hub.log_mark(), a.log_mark()
    hub.start()
    a.wait_connected(ARRIVE)

    want = dict(first, s00="s00 edited after the restore",
                s01="s01 edited after the backup")
    for sid in ("s02", "s03", "s09"):
        del want[sid]
    for sid in ids[4:8]:
        want[sid] = f"{sid} edited after the restore"
    want.update({sid: f"late {i}, after the backup"
                 for i, sid in enumerate(late)})
    want.update({sid: f"post {i}, after the restore"
                 for i, sid in enumerate(post)})
    everywhere([hub.public_port, a.public_port, b.public_port,
                c.public_port], a.community, lambda t: t == want,
               "a's 15 edits since the restore and its records since the "
               "backup")
    for node, sid in others.items():
        everywhere([a.public_port], node.community,
                   lambda t, sid=sid: sid in t, "the others' records at a")

    # said by both ends: the logs, the hub's metric and communities API,
    # the node's sync state
    hub.wait_log(rf"session {a.community}: node store went back in time",
                 since=hub_mark)
    a.wait_log(r"sync: our store is behind the hub", since=node_mark)
    a.wait_log(r"sync: \d+ edits renumbered", since=node_mark)
    assert restores(hub) == 1
    seen = hub.communities()[a.community]
    assert seen["store_restores"] == 1 and seen["store_restored_at"]
    assert hub.communities()[b.community]["store_restores"] == 0
    up = sync_state(a)["up"]
    assert up["store_behind"] == 1 and up["renumbered"] >= made, up

    # an edit after the recovery goes on normally, and a restart after it
    # is not taken for another restore
    replace(a, "s08", "s08 edited after the recovery")
    want["s08"] = "s08 edited after the recovery"
    a.stop()
    a.start()
    a.wait_connected(ARRIVE)
    everywhere([hub.public_port, b.public_port, c.public_port], a.community,
               lambda t: t == want, "the edit after the recovery")
    assert restores(hub) == 1
    assert sync_state(a)["up"]["store_behind"] == 0

    def acked():
        cs = hub.communities()
        return all(cs[n.community]["up_lag"] == 0 and
                   cs[n.community]["down_lag"] == 0 for n in (a, b, c))
    wait_for(acked, ARRIVE, "every stream acked")
    for d in (a, b, c, hub):
        d.stop()
    assert_stores_agree(hub, [a, b, c])


def test_restored_node_without_edits_gets_its_newer_records_back(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    kept = create(a, "Kept as it was")
    changed = create(a, "Changed after the backup")
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: len(t) == 2, "a's services")
    saved = a.dir.parent / "a-backup.db"
    backup(a, saved)
    replace(a, changed, "Changed after the backup, newer")
    added = create(a, "Added after the backup")
    want = {kept: "Kept as it was",
            changed: "Changed after the backup, newer",
            added: "Added after the backup"}
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == want, "the edits after the backup")

    a.stop()
    restore(a, saved)
    mark = hub.log_mark()
    a.start()
    a.wait_connected(ARRIVE)
    everywhere([a.public_port], a.community, lambda t: t == want,
               "a's records newer than its backup back at a")
    hub.wait_log(rf"session {a.community}: node store went back in time",
                 since=mark)
    assert restores(hub) == 1
    # the next edit is numbered above everything the hub holds
    replace(a, kept, "Kept, then edited")
    want[kept] = "Kept, then edited"
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == want, "a's next edit")


def test_killed_node_is_not_taken_for_a_restored_one(alliance):
    """A node SIGKILLed while it sends its log: the hub may hold more of
    its stream than the node heard acked, but never more than it sent."""
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    hub.stop()
    bulk(a, bulk_items(a.community, 3000))
    hub.start()
    for at in (500, 1500):
        wait_for(lambda: hub.live_services(a.community) >= at, ARRIVE,
                 f"the hub to hold {at} of a's services", interval=0.005)
        a.kill()                    # SIGKILL while it sends
        a.start()
    wait_for(lambda: hub.live_services(a.community) == 3000, ARRIVE,
             "all of a's services at the hub")
    assert restores(hub) == 0
    assert sync_state(a)["up"]["store_behind"] == 0
    assert sync_state(a)["up"]["renumbered"] == 0


# ---- the rule at the hub, with raw sessions ----------------------------------

def hello(sess, community, epoch, marks=None, down_cursor=0):
    """Hello with StoreMarks (up_sent, own_version), or none (an older
    node); the Welcome."""
    f = pb.Frame()
    f.hello.protocol_version = 1
    f.hello.community = community
    f.hello.software_version = "raw-session-test"
    f.hello.store_epoch = epoch
    f.hello.down_cursor = down_cursor
    if marks is not None:
        f.hello.marks.up_sent, f.hello.marks.own_version = marks
    sess.send_frame(f)
    w = sess.recv_frame()
    assert w.WhichOneof("body") == "welcome", w
    return w.welcome


def change(seq, origin, sid, version, title):
    ch = pb.Change(seq=seq, origin=origin, kind=pb.KIND_SERVICE, id=sid,
                   version=version)
    ch.service.title = title
    ch.service.category = "other"
    ch.service.delivery.append("walk-in")
    ch.service.status = "active"
    return ch


def own_records_sent(sess, community):
    """{id: version} of community's records in the hub's down stream,
    read until the stream is idle."""
    got = {}
    while True:
        try:
            f = sess.recv_frame(timeout=2)
        except Exception:  # noqa: BLE001 (a timeout: the stream is idle)
            return got
        if f.WhichOneof("body") == "changes":
            for ch in f.changes.changes:
                if ch.origin == community:
                    got[ch.id] = ch.version


@pytest.mark.parametrize("marks, restored", [
    ((3, 3), False),            # all the hub holds: a reconnect
    ((5, 4), False),            # sent more than the hub committed
    ((2, 3), True),             # the hub holds a seq it never sent
    ((3, 2), True),             # the hub holds a version above its own
    (None, False),              # an older node: nothing to compare
])
def test_hub_tells_a_store_behind_by_its_marks(raw_hub, pki, marks,
                                                restored):
    hub = raw_hub
    cid = unique_id("marks")
    hub.register(cid)
    with RawSession(hub, pki.node(cid)) as s:
        assert hello(s, cid, "e1", (0, 0)).up_cursor == 0
        # the hub's head before our records: the cursor of a node whose
        # backup is older than them
        f = s.recv_frame()
        while f.WhichOneof("body") != "changes":
            f = s.recv_frame()
        cursor = f.changes.head
        f = pb.Frame()
        f.changes.changes.extend(change(i, cid, f"s{i}", i, f"Record {i}")
                                 for i in (1, 2, 3))
        f.changes.last_seq = f.changes.head = 3
        s.send_frame(f)
        while True:
            f = s.recv_frame()
            if f.WhichOneof("body") == "ack":
                assert f.ack.seq == 3
                break
    before = hub.metrics()["alliance_store_restores_total"]
    mark = hub.log_mark()
    with RawSession(hub, pki.node(cid)) as s:
        w = hello(s, cid, "e1", marks, down_cursor=cursor)
        assert w.up_cursor == 3 and w.own_version == 3
        # a restored node gets a snapshot with its own records (so one
        # cut short starts over); others go on from their cursor, never
        # sent their own
        assert w.snapshot == restored
        sent = own_records_sent(s, cid)
    assert sent == ({"s1": 1, "s2": 2, "s3": 3} if restored else {})
    after = hub.metrics()["alliance_store_restores_total"]
    assert after - before == (1 if restored else 0)
    item = hub.communities()[cid]
    assert item["store_restores"] == (1 if restored else 0)
    assert (item["store_restored_at"] is not None) == restored
    went_back = f"session {cid}: node store went back in time"
    assert (went_back in hub.log()[mark:]) == restored
    # a new epoch is a lost store, never counted as a restore
    with RawSession(hub, pki.node(cid)) as s:
        assert hello(s, cid, "e2", (0, 0)).up_cursor == 0
    assert hub.metrics()["alliance_store_restores_total"] == after

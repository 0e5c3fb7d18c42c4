"""Sync never stalls on size (issue 14, finding 1): batches are cut by
bytes as well as count in every path, to what the receiver takes, and a
record too big for a frame is refused where it is written.

A node 300 records of 7,900 bytes behind catches up, itself taking frames
of 256 KiB at most (the hub cuts its catch-up to the node's Hello); a node
whose store was deleted gets all its own 13,100 records back (13,000 small
and 100 of about 17 KB, every field at its limit, in a row) and then sends
new edits up and on; a record over the field limits is refused at the
manager's write and nothing of it enters the log; a record the hub cannot
encode (written into its store behind its back) closes the session with
1011, logged and counted, rather than stopping the stream in silence; a
node's Relay frame over the batch bytes is closed with 4414.

Real daemons, bulk imports through the manager API, and the stores read
(read-only, while they run) until what must arrive has arrived.
"""

import sqlite3


from conftest import (Node, RawSession, pb, start_topology, stop_all,
                      unique_id, wait_for)
from test_20_sync import (PASSWORD,  # noqa: F401 (password_hash hashes it)
                          bulk, create, manager, service)
from test_27_quota import closed_with

# Seconds records may take to arrive before a test gives up (a bound for
# broken systems, not a speed figure: bench/ has those).
ARRIVE = 120
# The quota of the hub in these tests: room for 13,000 records and their
# bytes (test_27 checks the quotas themselves).
QUOTA = {"records": 20000, "bytes": 64 * 1024 * 1024,
         "changes_per_hour": 40000}


def text(n, seed):
    """n bytes of varied printable text (lines allowed)."""
    words = ("community", "service", "elderly", "visit", "meal", "health",
             "邻里", "服务", "help", "weekly", "residents", "volunteer")
    out, i = [], seed
    size = 0
    while size < n:
        w = words[i % len(words)]
        i = i * 7 + 3
        out.append(w)
        size += len(w.encode()) + 1
    s = " ".join(out).encode()[:n].decode("utf-8", "ignore")
    return s + "x" * (n - len(s.encode()))


def large(k):
    """A service near the per-record maximum: every text field at its
    limit, the lists full."""
    return service(
        f"Large service {k} " + "t" * 170,
        summary=text(500, k),
        description=text(8000, k + 1),
        eligibility=text(500, k + 2),
        hours=text(500, k + 3),
        address=text(500, k + 4),
        keywords=[f"keyword{k}-{i}".ljust(48, "k") for i in range(16)],
        eligible_communities=[f"c{i:02d}-" + "e" * 59 for i in range(64)],
        languages=[f"zh-Hans-x{i:02d}" for i in range(16)])


def stored(daemon, origin):
    """(live services, their body bytes) of origin in daemon's store."""
    db = sqlite3.connect(f"file:{daemon.dir / daemon.store_file}?mode=ro",
                         uri=True)
    try:
        return db.execute(
            "SELECT count(*), coalesce(sum(body_bytes), 0) FROM service"
            " WHERE origin = ? AND deleted = 0", (origin,)).fetchone()
    finally:
        db.close()


def log_entries(daemon):
    """Entries of daemon's catalog log."""
    db = sqlite3.connect(f"file:{daemon.dir / daemon.store_file}?mode=ro",
                         uri=True)
    try:
        return db.execute("SELECT count(*) FROM catalog_log").fetchone()[0]
    finally:
        db.close()


def alliance(pki, tmp_path, password_hash, made, n=2, limits=()):
    """A hub with QUOTA and n nodes holding their sessions; node i gets
    [limits] limits[i] when given."""
    t = start_topology(pki, tmp_path, ["size"] * n, made,
                       hub_kw={"quota": QUOTA},
                       node_kw=[{"limits": limits[i] if i < len(limits)
                                 else None} for i in range(n)],
                       manager_hash=password_hash)
    return t.hub, t.nodes


def no_encode_errors(hub):
    """The hub sent every frame it made (none failed to encode)."""
    m = hub.metrics()
    assert m["alliance_frames_unsent_total"] == 0, m
    assert hub.refusals().get("unsent", 0) == 0


def test_node_300_large_records_behind_catches_up(pki, tmp_path,
                                                  password_hash):
    """B takes frames of 256 KiB at most (its [limits] max_frame, the
    least allowed): the hub's catch-up batches must fit what B takes, not
    only the hub's own 512 KiB."""
    made = []
    try:
        hub, (a, b) = alliance(pki, tmp_path, password_hash, made,
                               limits=({}, {"max_frame": 262144}))
        b.stop()
        items = [service(f"Long service {k}", description=text(7900, k))
                 for k in range(300)]
        assert all(len(i["description"].encode()) == 7900 for i in items)
        assert len(bulk(a, items)) == 300
        want = stored(a, a.community)
        assert want[0] == 300 and want[1] > 300 * 7900, want
        wait_for(lambda: stored(hub, a.community) == want, ARRIVE,
                 "the hub to hold A's 300")
        b.start()
        wait_for(lambda: stored(b, a.community) == want, ARRIVE,
                 "B to catch up on A's 300 long services")
        assert "message over" not in b.log()     # no 1009 from B
        assert b.healthz()["hub"]["frames_unsent"] == 0
        no_encode_errors(hub)
    finally:
        stop_all(made)


def test_lost_store_gets_13000_own_records_back(pki, tmp_path,
                                               password_hash):
    made = []
    try:
        hub, (a, b) = alliance(pki, tmp_path, password_hash, made)
        small = [service(f"{a.community} small {k}",
                         description=f"Item {k} of a bulk import. 批量导入")
                 for k in range(13000)]
        assert len(bulk(a, small[:10000])) == 10000
        assert len(bulk(a, small[10000:] + [large(k) for k in range(100)])) \
            == 3100
        want = stored(a, a.community)
        assert want[0] == 13100, want
        wait_for(lambda: stored(hub, a.community) == want, ARRIVE,
                 "the hub to hold A's 13,100")

        a.stop()
        for suffix in ("", "-wal", "-shm"):
            (a.dir / f"node.db{suffix}").unlink(missing_ok=True)
        a.start()                  # same certificate, new empty store
        wait_for(lambda: stored(a, a.community) == want, ARRIVE,
                 "A to get its 13,100 records back")
        # and what it writes next goes up and on
        sid = create(a, "New after recovery")
        wait_for(lambda: stored(b, a.community)[0] == 13101, ARRIVE,
                 "A's new record and all the others at B")
        assert stored(hub, a.community) == stored(a, a.community)
        assert sid
        no_encode_errors(hub)
    finally:
        stop_all(made)


def test_record_too_big_refused_at_source(pki, tmp_path, password_hash):
    made = []
    try:
        hub, (a,) = alliance(pki, tmp_path, password_hash, made, n=1)
        before = log_entries(a)
        r = manager(a, "POST", "/api/v1/services",
                    service("Too long", description="d" * 9000))
        assert r.status in (413, 422), r
        msg = r.json()["error"]["message"]
        assert msg.startswith("description:"), msg
        # one too big in a bulk import: nothing of the import is written
        r = manager(a, "POST", "/api/v1/services/bulk", {"items": [
            service("Fine"), large(1),
            service("Too long", description=text(8001, 3))]})
        assert r.status in (413, 422), r
        msg = r.json()["error"]["message"]
        assert msg.startswith("items[2]: description:"), msg
        assert log_entries(a) == before
        assert stored(a, a.community) == (0, 0)
        # what is within the limits goes, up to the hub
        assert len(bulk(a, [service("Fine"), large(1)])) == 2
        wait_for(lambda: stored(hub, a.community) == stored(a, a.community),
                 ARRIVE, "the hub to hold the two")
    finally:
        stop_all(made)


def test_unencodable_record_closes_the_session_loudly(pki, tmp_path,
                                                      password_hash):
    """A record the hub cannot encode (put into its store behind its back:
    every writer refuses one over the limit) stops no stream in silence:
    the session that would carry it is closed with 1011 and the reason,
    the hub logs it and counts it, and the other sessions go on."""
    made = []
    try:
        hub, (a,) = alliance(pki, tmp_path, password_hash, made, n=1)
        ids = [create(a, f"Service {i}") for i in range(3)]
        wait_for(lambda: stored(hub, a.community)[0] == 3, ARRIVE,
                 "the hub to hold A's three")
        hub.stop()
        db = sqlite3.connect(hub.dir / hub.store_file)
        try:
            db.execute("UPDATE service SET address = ? WHERE id = ?",
                       ("x" * 2_000_000, ids[1]))
            db.commit()
        finally:
            db.close()
        hub.start()
        a.wait_connected()
        cid = unique_id("size")
        hub.register(cid)
        b = Node(tmp_path / "node-b", pki, hub, cid,
                 manager_hash=password_hash).start()
        made.append(b)
        hub.wait_log(rf"session {cid}: cannot send a changes frame: toobig",
                     timeout=ARRIVE)
        hub.wait_log(rf"session {cid}: closing 1011: the hub could not send"
                     r" a changes frame \(toobig\); reconnect [\[]unsent",
                     timeout=ARRIVE)
        wait_for(lambda: "1011 the hub could not send a changes frame" in
                 (b.healthz()["hub"]["last_error"] or ""), ARRIVE,
                 "B to show why its session was closed")
        assert hub.metrics()["alliance_frames_unsent_total"] >= 1
        assert hub.refusals()["unsent"] >= 1
        # the record before it arrived; A's session went on
        wait_for(lambda: stored(b, a.community)[0] >= 1, ARRIVE,
                 "what fits to reach B")
        assert hub.connected(a.community)
    finally:
        stop_all(made)


def test_relay_frame_over_the_bytes_closed_4414(pki, tmp_path, password_hash):
    """A node's Relay frame over Welcome's batch bytes (under the frame
    limit) closes the session with 4414 before anything of it is read, as
    a Changes frame does; the honest nodes cut theirs by bytes."""
    made = []
    try:
        hub, (a,) = alliance(pki, tmp_path, password_hash, made, n=1)
        bad = unique_id("bad")
        hub.register(bad)
        f = pb.Frame()
        for i in range(200):
            ch = f.relay.changes.add(origin=bad, kind=pb.KIND_REQUEST,
                                     id=f"{bad}.{i:016x}", version=i + 1)
            ch.request.owner = a.community
            ch.request.service_id = "s"
            ch.request.description = "d" * 4000
        assert 512 * 1024 < f.ByteSize() < 1024 * 1024, f.ByteSize()
        with RawSession(hub, pki.node(bad)) as s:
            assert s.handshake(bad, batch_bytes=1024 * 1024  # this release's
                               ).batch_bytes == 512 * 1024
            s.send_frame(f)
            closed_with(s, 4414, ["Relay frame of", "limit of 524288 bytes"])
        assert hub.refusals()["batch"] == 1
        assert hub.connected(a.community)
    finally:
        stop_all(made)

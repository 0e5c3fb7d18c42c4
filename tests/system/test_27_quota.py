"""Quotas per community and batch limits (issue 13, finding 2), far-future
record times and a Hello past the hub's head (finding 10).

Every test starts its own hub with a small [quota] and real nodes over
TLS. A community's honest node refuses its manager's edit over a quota at
write time (429 naming it); a hostile node, played by a raw session that
ignores Welcome's quotas, is closed by the hub (an Error, then 4413, or
4414 for a batch over the limits) and nothing of its excess is stored at
the hub or reaches the other nodes, while another community's edits keep
flowing to a third node. Stores are counted in their sqlite files.

Parts: helpers; the honest node; the hostile node; batches; far-future
times; a Hello past the head (and a hub put back from a backup); a
lowered quota; bad [quota] values.
"""

import base64
import http.client
import json
import sqlite3
import subprocess
import time

import pytest

from conftest import (BUILD, Hub, RawSession, _env, exchange, pb, unique_id,
                      unknown_body_frame, wait_for)

PASSWORD = "quota test password"
ARRIVE = 30             # s: bound for an edit to reach another node


# ---- helpers ---------------------------------------------------------------

def manager(node, method, path, body=None):
    """One manager request (HTTP Basic, JSON) to node's public port."""
    c = http.client.HTTPConnection("127.0.0.1", node.public_port,
                                   timeout=120)
    auth = base64.b64encode(f"manager:{PASSWORD}".encode()).decode()
    headers = {"Authorization": "Basic " + auth,
               "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    return exchange(c, method, path, body=data, headers=headers)


def service(title, big=False, **kw):
    """A service as a manager sends it; big: about 12 KB of text."""
    s = {"title": title, "summary": "for residents", "category": "other",
         "delivery": "walk-in", "fee": "free"}
    if big:
        s.update(summary="s" * 500, description="d" * 8000,
                 eligibility="e" * 500, hours="h" * 500, address="a" * 500,
                 keywords=[f"{k:02d}" + "k" * 46 for k in range(16)],
                 eligible_communities=[f"c{k:02d}" + "x" * 60
                                       for k in range(20)])
    s.update(kw)
    return s


def create(node, title, **kw):
    return manager(node, "POST", "/api/v1/services", service(title, **kw))


def over_quota(r, quota):
    """r is the node's 429 naming quota."""
    assert r.status == 429, r
    err = r.json()["error"]
    assert err["code"] == "over_quota", err
    assert err["message"].startswith(f"quota {quota}:"), err
    return err["message"]


def stored(daemon, origin):
    """(live records, their body bytes) of origin in daemon's sqlite
    store, read while it runs; the totals the store keeps for the quota
    (catalog_usage) must be the same, read in the same transaction."""
    db = sqlite3.connect(f"file:{daemon.dir / daemon.store_file}?mode=ro",
                         uri=True, isolation_level=None)
    try:
        n, b = 0, 0
        db.execute("BEGIN")
        for table in ("service", "announcement"):
            rn, rb = db.execute(
                f"SELECT count(*), coalesce(sum(body_bytes), 0) FROM {table}"
                " WHERE origin = ? AND deleted = 0", (origin,)).fetchone()
            n, b = n + rn, b + rb
        kept = db.execute("SELECT records, bytes FROM catalog_usage"
                          " WHERE origin = ?", (origin,)).fetchone()
        db.execute("COMMIT")
        assert (kept or (0, 0)) == (n, b), (daemon.dir, origin, kept)
        return n, b
    finally:
        db.close()


def log_head(hub):
    db = sqlite3.connect(f"file:{hub.dir / 'hub.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT coalesce(max(seq), 0) FROM"
                          " catalog_log").fetchone()[0]
    finally:
        db.close()


def catalog(port, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/api/v1/catalog?" + q)
        r = c.getresponse()
        assert r.status == 200
        return json.loads(r.read())
    finally:
        c.close()


def flows(b, c, title):
    """b's manager publishes title and it reaches node c's catalog."""
    r = create(b, title)
    assert r.status == 201, r
    wait_for(lambda: any(s["title"] == title for s in catalog(
        c.public_port, community=b.community, limit=100)["items"]), ARRIVE,
        f"{title} to reach {c.community}")


def raw_change(seq, origin, sid, version, title="t", size=0, deleted=False,
               updated=None):
    """A Change of a service as a hostile node writes it; size: about that
    many bytes of description and other text."""
    ch = pb.Change(seq=seq, origin=origin, kind=pb.KIND_SERVICE, id=sid,
                   version=version, deleted=deleted)
    if not deleted:
        s = ch.service
        s.title = title
        s.category = "other"
        s.delivery.append("walk-in")
        s.status = "active"
        s.updated = updated if updated is not None else int(time.time())
        left = size
        for field, most in (("description", 8000), ("summary", 500),
                            ("eligibility", 500), ("hours", 500),
                            ("address", 500)):
            n = min(left, most)
            setattr(s, field, "x" * n)
            left -= n
        for k in range(16):
            if left > 0:
                s.keywords.append(f"{k:02d}" + "k" * 46)
                left -= 48
        for k in range(64):
            if left > 0:
                s.eligible_communities.append(f"c{k:02d}" + "x" * 60)
                left -= 65
    return ch


def send_changes(sess, changes):
    f = pb.Frame()
    f.changes.changes.extend(changes)
    f.changes.last_seq = changes[-1].seq
    f.changes.head = changes[-1].seq
    sess.send_frame(f)


def recv_ack(sess):
    while True:
        f = sess.recv_frame()
        if f.WhichOneof("body") == "ack":
            return f.ack.seq
        assert f.WhichOneof("body") in ("changes", "bulletin"), f


def closed_with(sess, code, words):
    """The session ends with an Error then a close of code; both name
    words. Returns the reason."""
    got, reason = sess.expect_close()
    assert got == code, (got, reason)
    errors = [f.error for f in sess.frames_before_close
              if f.WhichOneof("body") == "error"]
    assert errors, sess.frames_before_close
    for w in words:
        assert w in reason and w in errors[-1].message, (reason, errors)
    return errors[-1]


def start(daemons, pki, password_hash, quota, honest=2):
    """A hub with quota, a raw community (the hostile one) and honest
    nodes with a manager each."""
    hub = daemons.hub(pki, quota=quota)
    hostile = unique_id("bad")
    hub.register(hostile)
    nodes = []
    for _ in range(honest):
        cid = unique_id("ok")
        hub.register(cid)
        nodes.append(daemons.node(pki, hub, cid, manager_hash=password_hash))
    for n in nodes:
        n.wait_connected()
    return hub, hostile, nodes


# ---- the honest node ---------------------------------------------------------

def test_honest_node_refused_at_write_time_while_others_flow(
        daemons, pki, password_hash):
    hub, _, (a, b, c) = start(daemons, pki, password_hash,
                              {"records": 5}, honest=3)
    ids = []
    for i in range(5):
        r = create(a, f"A {i}")
        assert r.status == 201, r
        ids.append(r.json()["id"])
    # one more, alone or in a bulk import: refused before anything is
    # written, the quota named
    msg = over_quota(create(a, "A 5"), "records")
    assert "at most 5" in msg, msg
    over_quota(manager(a, "POST", "/api/v1/services/bulk",
                       {"items": [service("A 6"), service("A 7")]}),
               "records")
    over_quota(manager(a, "POST", "/api/v1/announcements",
                       {"title": "A notice"}), "records")
    # an update at the quota and a deletion are taken, then room again
    assert manager(a, "PUT", f"/api/v1/services/{ids[0]}",
                   service("A 0 renamed")).status == 200
    assert manager(a, "DELETE", f"/api/v1/services/{ids[1]}").status == 204
    assert create(a, "A 8").status == 201
    over_quota(create(a, "A 9"), "records")
    assert stored(a, a.community)[0] == 5
    # the manager's console shows the quota it works under
    q = manager(a, "GET", "/api/v1/manager/sync").json()["quota"]
    assert q["records"] == {"used": 5, "limit": 5}, q
    assert q["bytes"]["used"] == stored(a, a.community)[1], q
    # another community's edits keep flowing to a third node
    flows(b, c, "B while A is full")
    wait_for(lambda: stored(c, a.community)[0] == 5 and
             stored(hub, a.community)[0] == 5, ARRIVE,
             "A's five records at the hub and at C")
    assert hub.refusals().get("quota", 0) == 0     # never closed
    item = hub.communities()[a.community]["quota"]
    assert item["records"] == {"used": 5, "limit": 5}, item
    assert item["closed_quota"] == 0, item


def test_honest_node_bytes_and_rate(daemons, pki, password_hash):
    hub, _, (a,) = start(daemons, pki, password_hash,
                         {"bytes": 65536, "changes_per_hour": 8}, honest=1)
    ids = []
    for i in range(5):
        r = create(a, f"Big {i}", big=True)
        assert r.status == 201, r
        ids.append(r.json()["id"])
    used = stored(a, a.community)[1]
    assert 5 * 11000 < used <= 65536, used
    over_quota(create(a, "Big 5", big=True), "bytes")
    assert stored(a, a.community) == (5, used)
    # shrinking is always taken; each update costs a change: 5 + 3 = 8
    for i in range(3):
        assert manager(a, "PUT", f"/api/v1/services/{ids[i]}",
                       service(f"Small {i}")).status == 200
    over_quota(manager(a, "PUT", f"/api/v1/services/{ids[3]}",
                       service("Small 3")), "changes_per_hour")
    # a deletion costs none
    assert manager(a, "DELETE", f"/api/v1/services/{ids[4]}").status == 204
    wait_for(lambda: stored(hub, a.community) == stored(a, a.community),
             ARRIVE, "the hub to hold what A holds")
    assert hub.refusals().get("quota", 0) == 0


# ---- the hostile node ------------------------------------------------------------

def test_hostile_node_closed_over_each_quota(daemons, pki, password_hash):
    hub, h, (b, c) = start(daemons, pki, password_hash,
                           {"records": 5, "bytes": 65536,
                            "changes_per_hour": 20})
    cert = pki.node(h)
    with RawSession(hub, cert) as s:
        w = s.handshake(h)
        assert (w.quota_records, w.quota_bytes,
                w.quota_changes_per_hour) == (5, 65536, 20), w
        assert w.batch_max == 256 and w.batch_bytes == 512 * 1024, w
        # records: eight new ones in one batch
        send_changes(s, [raw_change(i, h, f"s{i}", i) for i in range(1, 9)])
        err = closed_with(s, 4413, ["quota records"])
        assert err.code == pb.ERROR_OVER_QUOTA
    assert stored(hub, h) == (0, 0)      # nothing of the batch
    flows(b, c, "B after the first close")

    with RawSession(hub, cert) as s:
        assert s.handshake(h).up_cursor == 0
        send_changes(s, [raw_change(i, h, f"s{i}", i) for i in range(1, 6)])
        assert recv_ack(s) == 5
        send_changes(s, [raw_change(6, h, "s6", 6)])
        closed_with(s, 4413, ["quota records"])
    assert stored(hub, h)[0] == 5
    wait_for(lambda: stored(c, h)[0] == 5, ARRIVE, "the five at C")

    # bytes: grow the five records past 64 KiB (the fifth is refused)
    with RawSession(hub, cert) as s:
        assert s.handshake(h).up_cursor == 5
        big = [raw_change(5 + i, h, f"s{i}", 5 + i, size=14000)
               for i in range(1, 6)]
        assert big[0].ByteSize() > 14000
        send_changes(s, big)
        closed_with(s, 4413, ["quota bytes"])
    assert stored(hub, h)[1] < 1000      # the batch was rolled back
    with RawSession(hub, cert) as s:
        s.handshake(h)
        send_changes(s, big[:4])
        assert recv_ack(s) == 9
        send_changes(s, big[4:])
        closed_with(s, 4413, ["quota bytes"])
    assert stored(hub, h)[1] <= 65536
    flows(b, c, "B after the bytes")

    # rate: 9 changes taken so far of 20 + 5 (an hour's and one per
    # record, for a backlog); updates of one record past them
    with RawSession(hub, cert) as s:
        s.handshake(h)
        send_changes(s, [raw_change(10 + i, h, "s5", 10 + i, f"v{i}")
                         for i in range(20)])
        closed_with(s, 4413, ["quota changes_per_hour"])
    assert not any(x["title"].startswith("v") for x in catalog(
        hub.public_port, community=h)["items"])

    # the other nodes never stored more than the quota
    wait_for(lambda: stored(c, h) == stored(hub, h), ARRIVE, "C = hub")
    n, size = stored(c, h)
    assert n <= 5 and size <= 65536, (n, size)
    flows(b, c, "B at the end")
    item = hub.communities()[h]["quota"]
    assert item["closed_quota"] == 5, item
    assert item["records"] == {"used": 5, "limit": 5}, item
    assert item["bytes"]["used"] == size, item
    m = hub.metrics()
    key = f'alliance_quota_closes_total{{community="{h}",reason="quota"}}'
    assert m[key] == 5, {k: v for k, v in m.items() if "quota" in k}
    assert m[f'alliance_quota_used{{community="{h}",quota="records"}}'] == 5
    assert hub.refusals()["quota"] == 5


# ---- batches -----------------------------------------------------------------------

def test_oversized_batches_refused(daemons, pki, password_hash):
    hub, h, (b, c) = start(daemons, pki, password_hash, {})
    cert = pki.node(h)
    frames = [
        # one over the count
        ([raw_change(i, h, f"d{i}", i, deleted=True)
          for i in range(1, 258)], "257 changes"),
        # the attack: 20,000 deletions in one frame under 1 MiB
        ([raw_change(i, h, f"d{i}", i, deleted=True)
          for i in range(1, 20001)], "20000 changes"),
        # forty services of 14 KB: within the count, over 512 KiB
        ([raw_change(i, h, f"s{i}", i, size=14000) for i in range(1, 41)],
         "bytes"),
    ]
    for changes, words in frames:
        f = pb.Frame()
        f.changes.changes.extend(changes)
        assert f.ByteSize() < 1024 * 1024, f.ByteSize()
        with RawSession(hub, cert) as s:
            s.handshake(h, batch_bytes=1024 * 1024)   # as this release's
            send_changes(s, changes)
            closed_with(s, 4414, [words])
    assert stored(hub, h) == (0, 0)
    flows(b, c, "B after the batches")
    assert hub.communities()[h]["quota"]["closed_batch"] == 3
    assert hub.refusals()["batch"] == 3
    # a batch within the limits is taken
    with RawSession(hub, cert) as s:
        s.handshake(h)
        send_changes(s, [raw_change(i, h, f"s{i}", i, size=10000)
                         for i in range(1, 41)][:30])
        assert recv_ack(s) == 30


# ---- far-future times ------------------------------------------------------------

def test_far_future_times_refused_and_not_pinned_first(
        daemons, pki, password_hash):
    hub, h, (b, c) = start(daemons, pki, password_hash, {})
    r = create(b, "From the future", updated="2100-01-01T00:00:00Z")
    assert r.status == 422, r
    assert r.json()["error"]["message"].startswith("updated:"), r
    r = manager(b, "POST", "/api/v1/announcements",
                {"title": "Future notice", "published": 4102444800})
    assert r.status == 422, r
    assert r.json()["error"]["message"].startswith("published:"), r
    assert stored(b, b.community) == (0, 0)
    # a clock a minute ahead is within the tolerance
    ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                          time.gmtime(time.time() + 60))
    assert create(b, "A minute ahead", updated=ahead).status == 201

    # a hostile node writes 2^62: the hub takes it at its own time
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        send_changes(s, [raw_change(1, h, "pinned", 1, "Pinned",
                                    updated=2 ** 62)])
        assert recv_ack(s) == 1
    wait_for(lambda: catalog(c.public_port, community=h)["items"], ARRIVE,
             "the hostile service at C")
    for port in (hub.public_port, c.public_port):
        item = catalog(port, community=h)["items"][0]
        assert item["updated"] < "2100", item
    # a later service of B comes before it everywhere
    flows(b, c, "Newer than the pinned one")
    for port in (hub.public_port, c.public_port):
        first = catalog(port, limit=1)["items"][0]
        assert first["title"] == "Newer than the pinned one", first


# ---- a Hello past the head ---------------------------------------------------------

def test_hello_past_head_gets_one_snapshot_an_hour(
        daemons, pki, password_hash):
    hub, h, (b,) = start(daemons, pki, password_hash, {}, honest=1)
    for i in range(3):
        assert create(b, f"B {i}").status == 201
    wait_for(lambda: stored(hub, b.community)[0] == 3, ARRIVE,
             "B's services at the hub")
    head = log_head(hub)
    cert = pki.node(h)
    with RawSession(hub, cert) as s:
        w = s.handshake(h, down_cursor=head + 1000)
        assert w.snapshot, w
        f = s.recv_frame()
        assert f.WhichOneof("body") == "changes" and f.changes.snapshot, f
        assert len(f.changes.changes) == 3, f
    # again: no snapshot, the stream goes on from the head
    for i in range(3):
        with RawSession(hub, cert) as s:
            w = s.handshake(h, down_cursor=head + 1000)
            assert not w.snapshot and w.down_from == head, w
            # nothing was sent before the answer to this
            s.send_bytes(unknown_body_frame())
            f = s.recv_frame()
            assert f.WhichOneof("body") == "error", f
            if i < 2:
                continue
            # a new record still reaches it, from the head on
            assert create(b, "B after").status == 201
            f = s.recv_frame(ARRIVE)
            assert f.WhichOneof("body") == "changes", f
            assert not f.changes.snapshot
            assert [x.service.title for x in f.changes.changes] == \
                ["B after"]
    assert hub.refusals()["past_head"] == 3


# ---- a lowered quota ---------------------------------------------------------------

def test_lowered_quota_never_stalls_what_was_logged(
        daemons, pki, password_hash):
    hub, _, (a, c) = start(daemons, pki, password_hash, {"records": 10})
    for i in range(3):
        assert create(a, f"A {i}").status == 201
    wait_for(lambda: stored(hub, a.community)[0] == 3, ARRIVE, "3 at hub")
    hub.stop()
    # offline, the node still knows 10
    for i in range(3, 8):
        assert create(a, f"A {i}").status == 201
    hub.quota = {"records": 4}
    hub.start()
    a.wait_connected(timeout=90)
    # what it logged under the quota it knew is all taken
    wait_for(lambda: stored(hub, a.community)[0] == 8 and
             stored(c, a.community)[0] == 8, ARRIVE,
             "A's eight at the hub and at C")
    assert hub.refusals().get("quota", 0) == 0
    assert hub.communities()[a.community]["up_lag"] == 0
    # now it knows 4: a new record is refused, a deletion taken
    over_quota(create(a, "A 8"), "records")
    sid = catalog(a.public_port, community=a.community)["items"][0]["id"]
    assert manager(a, "DELETE", f"/api/v1/services/{sid}").status == 204
    wait_for(lambda: stored(hub, a.community)[0] == 7, ARRIVE, "7 at hub")
    assert hub.refusals().get("quota", 0) == 0


def test_hub_restored_from_backup_gives_the_snapshot(
        daemons, pki, password_hash):
    """The honest case of a cursor past the head: the hub's store is put
    back from an older copy; a node that had more of its stream gets its
    snapshot (once) and ends up holding what the hub holds."""
    hub, _, (b, c) = start(daemons, pki, password_hash, {})
    assert create(b, "Before the backup").status == 201
    wait_for(lambda: stored(c, b.community)[0] == 1, ARRIVE, "1 at C")
    hub.stop()
    backup = {p.name: p.read_bytes() for p in hub.dir.glob("hub.db*")}
    hub.start()
    for i in range(3):
        assert create(b, f"After the backup {i}").status == 201
    wait_for(lambda: stored(c, b.community)[0] == 4, ARRIVE, "4 at C")
    c.stop()
    b.stop()        # back after c, so the old copy's head stays below c's
    hub.stop()
    for p in hub.dir.glob("hub.db*"):
        p.unlink()
    for name, data in backup.items():
        (hub.dir / name).write_bytes(data)
    hub.start()
    mark = c.log_mark()
    c.start()
    c.wait_connected(timeout=60)
    c.wait_log(r"the hub sends a snapshot", since=mark)
    b.start()
    # b sends again what the old copy lacks; c ends where the hub is
    wait_for(lambda: stored(hub, b.community)[0] == 4 and
             stored(c, b.community) == stored(hub, b.community), ARRIVE,
             "the hub and C to hold b's four again")
    assert hub.refusals().get("past_head", 0) == 0


# ---- bad [quota] values ----------------------------------------------------------

@pytest.mark.parametrize("key,value,says", [
    ("records", "0", "between 1 and 1000000"),
    ("records", "1000001", "between 1 and 1000000"),
    ("bytes", "65535", "between 65536 and 1073741824"),
    ("bytes", "1073741825", "between 65536 and 1073741824"),
    ("changes_per_hour", "0", "between 1 and 1000000"),
    ("changes_per_hour", "-5", "number"),
])
def test_bad_quota_exits_2_naming_it(key, value, says, pki, tmp_path):
    hub = Hub(tmp_path / "hub", pki, quota={key: value})
    text = hub.config_text()
    line = text.splitlines().index(f"{key} = {value}") + 1
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    r = subprocess.run([str(BUILD / "alliance-hub"), "-c", str(conf)],
                       capture_output=True, text=True, timeout=30,
                       env=_env())
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{conf}:{line}: [quota] {key}:" in r.stderr, r.stderr
    assert says in r.stderr, r.stderr


def test_lowered_quota_grace_ends_with_what_was_logged(
        daemons, pki, password_hash):
    """SIGHUP lowers the quota: a live session keeps what its Welcome
    said; the next one is told the lower quota, and only the entries its
    node had logged by its first batch (its head) are judged by the old
    one; the next new record is refused."""
    hub, h, (c,) = start(daemons, pki, password_hash, {"records": 10},
                         honest=1)
    cert = pki.node(h)
    with RawSession(hub, cert) as s:
        s.handshake(h)
        send_changes(s, [raw_change(i, h, f"s{i}", i) for i in range(1, 7)])
        assert recv_ack(s) == 6
        hub.quota = {"records": 4}
        hub.reload()
        # this session was told 10
        send_changes(s, [raw_change(7, h, "s7", 7)])
        assert recv_ack(s) == 7
    with RawSession(hub, cert) as s:
        assert s.handshake(h).quota_records == 4
        # logged before it heard of 4: the first batch's head bounds them
        send_changes(s, [raw_change(i, h, f"s{i}", i) for i in (8, 9)])
        assert recv_ack(s) == 9
        send_changes(s, [raw_change(10, h, "s10", 10)])
        closed_with(s, 4413, ["quota records", "at most 4"])
    assert stored(hub, h)[0] == 9
    # deletions always pass, and the grace is over for good
    with RawSession(hub, cert) as s:
        s.handshake(h)
        send_changes(s, [raw_change(10, h, "s1", 10, deleted=True)])
        assert recv_ack(s) == 10
        send_changes(s, [raw_change(11, h, "s11", 11)])
        closed_with(s, 4413, ["quota records"])
    assert stored(hub, h)[0] == 8
    wait_for(lambda: stored(c, h)[0] == 8, ARRIVE, "C to hold the eight")

"""Catalog sync between nodes and the hub (issue 3): propagation, outages,
crashes, forged and replayed frames, lost stores, tombstone retention,
search and the operator's view of every community.

Every test starts real daemons (a hub and two or three nodes with a manager
password), changes records through the node's manager API or through a raw
alliance.v1 session, and polls the public catalogs (hub and nodes) until
what must arrive has arrived; nothing waits a fixed time. Where records are
compared after crashes, both sides are read in full: the catalogs page by
page (limit=100 and next), and after the daemons stopped, their sqlite
stores read-only (origin, id, version, deleted, title).

Parts: helpers; propagation (module alliance); outages; crashes; forged,
replayed and reordered frames; recovery and retention; search; the
operator's view.
"""

import base64
import concurrent.futures
import http.client
import json
import random
import socket
import sqlite3
import threading
import time
import urllib.parse
from types import SimpleNamespace

import pytest

from conftest import (Hub, RawSession, exchange, pb, start_topology, stop_all,
                      topology, unique_id, wait_for)
from conftest import hash_password  # noqa: F401 (imported from here before)

PASSWORD = "sync-test manager password"
# Seconds a change may take to reach a catalog before a test gives up (the
# speed is a benchmark figure; this is only a bound for broken systems).
ARRIVE = 60
# Seconds to wait for a whole bulk of 10,000 services to sync.
BULK_ARRIVE = 300


# ---- helpers ------------------------------------------------------------------

class SyncHub(Hub):
    """A hub with a [sync] section (tombstone_retention, purge_interval)."""

    def __init__(self, d, pki, sync=None, **kw):
        super().__init__(d, pki, **kw)
        self.sync = dict(sync or {})

    def config_text(self):
        text = super().config_text()
        if self.sync:
            text += "[sync]\n" + "".join(f"{k} = {v}\n"
                                         for k, v in self.sync.items())
        return text


def start_alliance(pki, d, password_hash, n=2, sync=None, made=None):
    """A hub and n registered nodes holding their sessions, each node with
    the manager password. Everything started is appended to made."""
    made = made if made is not None else []
    # room for the 10,000 one node imports below (quotas: test_27)
    t = start_topology(pki, d, ["sync"] * n, made, hub_cls=SyncHub,
                       hub_kw={"sync": sync,
                               "quota": {"records": 20000,
                                         "changes_per_hour": 20000}},
                       manager_hash=password_hash)
    t.made = made
    return t


@pytest.fixture
def alliance(pki, tmp_path, password_hash):
    """Factory: alliance(n=2, sync=None) in this test's directory; all is
    stopped at the end (exit 0 asserted)."""
    made = []

    def make(n=2, sync=None):
        return start_alliance(pki, tmp_path, password_hash, n, sync, made)
    yield make
    stop_all(made)


def basic(pw=PASSWORD):
    return "Basic " + base64.b64encode(f"manager:{pw}".encode()).decode()


def manager(node, method, path, body=None, timeout=120):
    """One manager request (HTTP Basic, JSON) to node's public port."""
    c = http.client.HTTPConnection("127.0.0.1", node.public_port,
                                   timeout=timeout)
    headers = {"Authorization": basic(),
               "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    return exchange(c, method, path, body=data, headers=headers)


def get(port, path, **params):
    """GET http://127.0.0.1:port/path?params; a Response."""
    if params:
        path += "?" + urllib.parse.urlencode(params)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return exchange(c, "GET", path)


def service(title, **kw):
    s = {"title": title, "summary": "for residents", "category": "other",
         "delivery": "walk-in", "fee": "free"}
    s.update(kw)
    return s


def create(node, title, **kw):
    """POST a service at node; its id."""
    r = manager(node, "POST", "/api/v1/services", service(title, **kw))
    assert r.status == 201, r
    return r.json()["id"]


def replace(node, sid, title, **kw):
    r = manager(node, "PUT", f"/api/v1/services/{sid}", service(title, **kw))
    assert r.status == 200, r


def delete(node, sid, kind="services"):
    r = manager(node, "DELETE", f"/api/v1/{kind}/{sid}")
    assert r.status == 204, r


def bulk(node, items, kind="services"):
    r = manager(node, "POST", f"/api/v1/{kind}/bulk", {"items": items})
    assert r.status == 200, r
    return r.json()["ids"]


def search(port, **params):
    """One page of GET /api/v1/catalog (200 asserted)."""
    r = get(port, "/api/v1/catalog", **params)
    assert r.status == 200, r
    return r.json()


def catalog_all(port, **params):
    """Every item of a catalog search, paging with limit=100 and next;
    {(community, id): item}. Fails on an item seen twice."""
    out, after = {}, None
    while True:
        p = dict(params, limit=100)
        if after:
            p["after"] = after
        page = search(port, **p)
        for s in page["items"]:
            key = (s["community"], s["id"])
            assert key not in out, f"{key} on two pages of {params}"
            out[key] = s
        after = page["next"]
        if not after:
            return out


def titles(port, community, **params):
    """{id: title} of community's services in the catalog at port."""
    return {k[1]: s["title"] for k, s in
            catalog_all(port, community=community, **params).items()}


def total(port, **params):
    return search(port, limit=1, **params)["total"]


def announcements(port, community):
    r = get(port, "/api/v1/announcements", community=community, limit=100)
    assert r.status == 200, r
    return {a["id"]: a for a in r.json()["items"]}


def store_rows(path, where="1", args=()):
    """{(origin, id): (version, deleted, title)} of a stopped (or live)
    daemon's sqlite store, read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT origin, id, version, deleted, title FROM"
                          f" service WHERE {where}", args).fetchall()
    finally:
        db.close()
    out = {}
    for origin, sid, version, deleted, title in rows:
        assert (origin, sid) not in out, f"{origin}/{sid} stored twice"
        out[(origin, sid)] = (version, deleted, title)
    return out


def everywhere(ports, community, pred, what):
    """Wait until pred(titles at port) holds at every port."""
    for port in ports:
        wait_for(lambda: pred(titles(port, community)), ARRIVE,
                 f"{what} at port {port}")


# ---- propagation (one alliance for the module) ----------------------------------

@pytest.fixture(scope="module")
def shared(pki, tmp_path_factory, password_hash):
    made = []
    try:
        yield start_alliance(pki, tmp_path_factory.mktemp("sync"),
                             password_hash, 2, made=made)
    finally:
        stop_all(made)


def test_service_add_change_delete_reach_hub_and_other_node(shared):
    hub, (a, b) = shared.hub, shared.nodes
    ports = [hub.public_port, b.public_port]
    sid = create(a, "上门理发服务 home haircut", category="elderly-care",
                 delivery="home-visit")
    everywhere(ports, a.community,
               lambda t: t.get(sid) == "上门理发服务 home haircut",
               "the new service")
    r = get(b.public_port, f"/api/v1/catalog/{a.community}/{sid}")
    assert r.status == 200 and r.json()["category"] == "elderly-care", r

    replace(a, sid, "Home haircut, Sundays too", category="elderly-care")
    everywhere(ports, a.community,
               lambda t: t.get(sid) == "Home haircut, Sundays too",
               "the changed service")

    delete(a, sid)
    everywhere(ports, a.community, lambda t: sid not in t,
               "the deletion")
    for port in ports:
        assert get(port, f"/api/v1/catalog/{a.community}/{sid}").status \
            == 404
    # the other node's own records never went up under a's name
    assert titles(hub.public_port, b.community) == {}


def main_file_rows(daemon, sql, tmp):
    """What sql reads in a copy of daemon's store file alone, without
    its WAL: the pages a checkpoint has written there."""
    copy = tmp / f"{daemon.label}-main.db"
    copy.write_bytes((daemon.dir / daemon.store_file).read_bytes())
    db = sqlite3.connect(copy)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        return None             # copied mid-write: look again
    finally:
        db.close()


def test_wal_checkpointed_off_the_service_thread(shared, tmp_path):
    """The service threads commit with sqlite's automatic checkpoints
    off; the indexer thread checkpoints: a service a node stores, and the
    hub syncs, reach the store files themselves, not only their WALs."""
    hub, (a, _) = shared.hub, shared.nodes
    sid = create(a, "检查点 checkpoint service", category="other")
    sql = f"SELECT title FROM service WHERE id = '{sid}'"
    for d in (a, hub):
        wait_for(lambda d=d: main_file_rows(d, sql, tmp_path) ==
                 [("检查点 checkpoint service",)], ARRIVE,
                 f"the service in {d.label}'s store file")


def test_announcements_reach_other_node_and_expire(shared):
    hub, (a, b) = shared.hub, shared.nodes
    ports = [hub.public_port, b.public_port]
    r = manager(a, "POST", "/api/v1/announcements",
                {"title": "停水通知 Water off on Tuesday", "body": "9-12",
                 "category": "housing", "expires": int(time.time()) + 86400})
    assert r.status == 201, r
    aid = r.json()["id"]
    for port in ports:
        wait_for(lambda: aid in announcements(port, a.community), ARRIVE,
                 f"the announcement at port {port}")

    r = manager(a, "PUT", f"/api/v1/announcements/{aid}",
                {"title": "Water off on Wednesday", "body": "9-12"})
    assert r.status == 200, r
    for port in ports:
        wait_for(lambda: announcements(port, a.community).get(aid, {})
                 .get("title") == "Water off on Wednesday", ARRIVE,
                 f"the changed announcement at port {port}")

    delete(a, aid, "announcements")
    for port in ports:
        wait_for(lambda: aid not in announcements(port, a.community),
                 ARRIVE, f"the deleted announcement gone at port {port}")

    # one that expires in a few seconds: shown at a at once, stored at b
    # (read from b's store, so a slow run cannot miss it), then gone
    # everywhere once its time has passed
    expires = int(time.time()) + 5
    r = manager(a, "POST", "/api/v1/announcements",
                {"title": "Short notice", "body": "soon gone",
                 "expires": expires})
    assert r.status == 201, r
    eid = r.json()["id"]
    assert eid in announcements(a.public_port, a.community) \
        or time.time() >= expires

    def stored_at_b():
        db = sqlite3.connect(f"file:{b.dir / 'node.db'}?mode=ro", uri=True)
        try:
            return db.execute("SELECT expires FROM announcement WHERE"
                              " origin = ? AND id = ?",
                              (a.community, eid)).fetchone()
        finally:
            db.close()
    row = wait_for(stored_at_b, ARRIVE, "the short announcement at b")
    assert row[0] == expires
    for port in [a.public_port] + ports:
        wait_for(lambda: eid not in announcements(port, a.community),
                 ARRIVE, f"the expired announcement gone at port {port}")
    assert time.time() >= expires
    assert get(b.public_port, f"/api/v1/announcements/{eid}",
               community=a.community).status == 404


# ---- outages ------------------------------------------------------------------

def test_edits_while_hub_down_arrive_after_it_returns(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    keep, gone = create(a, "Permit desk"), create(a, "Old reading room")
    everywhere([b.public_port], a.community, lambda t: gone in t,
               "a's first services")

    hub.stop()
    replace(a, keep, "Permit desk, now open Saturdays")
    delete(a, gone)
    new = create(a, "Free pregnancy test", category="health-maternity")
    mine = create(b, "Job fair", category="employment")
    # each node serves its own edits while the hub is away
    assert titles(a.public_port, a.community) == {
        keep: "Permit desk, now open Saturdays",
        new: "Free pregnancy test"}
    hub.start()

    want_a = {keep: "Permit desk, now open Saturdays",
              new: "Free pregnancy test"}
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == want_a, "a's edits made while the hub was down")
    everywhere([hub.public_port, a.public_port], b.community,
               lambda t: t == {mine: "Job fair"},
               "b's service made while the hub was down")


def test_edits_while_node_down_reach_it_when_it_reconnects(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    s1, s2 = create(a, "Meal delivery"), create(a, "Legal aid")
    everywhere([b.public_port], a.community, lambda t: len(t) == 2,
               "a's first services at b")

    b.stop()
    replace(a, s1, "Meal delivery, also on weekends")
    delete(a, s2)
    s3 = create(a, "Rehabilitation aids", category="disability")
    want = {s1: "Meal delivery, also on weekends",
            s3: "Rehabilitation aids"}
    everywhere([hub.public_port], a.community, lambda t: t == want,
               "a's edits at the hub")
    b.start()
    b.wait_connected(ARRIVE)
    everywhere([b.public_port], a.community, lambda t: t == want,
               "a's edits at b after it reconnected")


# ---- crashes ----------------------------------------------------------------------

def bulk_items(community, n):
    return [service(f"{community} service {k}",
                    description=f"Item {k} of a bulk import. 批量导入",
                    category="elderly-care", delivery=["home-visit"])
            for k in range(n)]


def reached(count, at):
    """count once it is at least at (truthy), else None."""
    return count if count >= at else None


def hub_stored(hub):
    """Live services in the hub's catalog (all communities)."""
    return hub.live_services()


def assert_hub_equals_union(hub, nodes):
    """The hub's catalog, paged, equals the union of every node's own
    records, paged from the node: record by record, no loss, no
    duplicates."""
    at_hub = {k: s["title"] for k, s in catalog_all(hub.public_port).items()}
    union = {}
    for n in nodes:
        own = {(n.community, sid): t
               for sid, t in titles(n.public_port, n.community).items()}
        assert not set(own) & set(union)
        union.update(own)
    missing = set(union) - set(at_hub)
    extra = set(at_hub) - set(union)
    assert not missing and not extra, \
        f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), " \
        f"{len(extra)} extra (e.g. {sorted(extra)[:3]})"
    changed = [k for k in union if union[k] != at_hub[k]]
    assert not changed, f"titles differ: {changed[:3]}"
    return len(at_hub)


def test_hub_killed_mid_sync_loses_and_duplicates_nothing(alliance):
    al = alliance(3)
    hub, nodes = al.hub, al.nodes
    counts = [4000, 3000, 3000]
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    print(f"random seed {seed}")

    # the imports queue up at the nodes while the hub is away, so that
    # the whole sync happens across the kills below
    hub.kill()
    threads, ids = [], {}

    def run(node, n):
        ids[node.community] = bulk(node, bulk_items(node.community, n))
    for node, n in zip(nodes, counts):
        threads.append(threading.Thread(target=run, args=(node, n)))
        threads[-1].start()
    for t in threads:
        t.join()
    assert sorted(len(v) for v in ids.values()) == sorted(counts)

    kills = sorted(rnd.sample(range(200, 9800), 3))
    for at in kills:
        hub.start()
        # at least one more batch after the restart: a kill mid-sync
        at = min(10000, max(at, hub_stored(hub) + 1))
        got = wait_for(lambda: reached(hub_stored(hub), at), BULK_ARRIVE,
                       f"the hub to store {at} services", interval=0.005)
        hub.kill()                          # SIGKILL mid-sync
        print(f"hub killed at {got} of 10000 stored (aimed at {at})")
    hub.start()

    def synced():
        cs = hub.communities()
        return (hub_stored(hub) == 10000 and
                all(cs[n.community]["connected"] and
                    cs[n.community]["up_lag"] == 0 and
                    cs[n.community]["down_lag"] == 0 for n in nodes))
    wait_for(synced, BULK_ARRIVE, "every node's records at the hub and the "
             "hub's stream at every node")
    cs = hub.communities()
    for node, n in zip(nodes, counts):
        assert cs[node.community]["counts"]["services"] == n
        assert node.live_services() == 10000
    assert assert_hub_equals_union(hub, nodes) == 10000

    # the stores themselves, once stopped: the hub holds exactly every
    # node's own rows (same versions), and every node's replica holds
    # exactly the hub's rows of the others
    for d in nodes + [hub]:
        d.stop()
    at_hub = store_rows(hub.dir / "hub.db")
    union = {}
    for node in nodes:
        union.update(store_rows(node.dir / "node.db", "origin = ?",
                                (node.community,)))
    assert at_hub == union
    for node in nodes:
        replica = store_rows(node.dir / "node.db", "origin <> ?",
                             (node.community,))
        assert replica == {k: v for k, v in at_hub.items()
                           if k[0] != node.community}


def test_node_killed_mid_batch_catches_up_exactly(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    print(f"random seed {seed}")
    b.stop()
    bulk(a, bulk_items(a.community, 10000))
    wait_for(lambda: hub.live_services(a.community) == 10000,
             BULK_ARRIVE, "a's 10000 services at the hub")

    for at in sorted(rnd.sample(range(200, 9800), 2)):
        b.start()
        at = min(10000, max(at, b.live_services(a.community) + 1))
        got = wait_for(lambda: reached(b.live_services(a.community), at),
                       BULK_ARRIVE, f"b to hold {at} of a's services",
                       interval=0.005)
        b.kill()                            # SIGKILL while it receives
        print(f"b killed holding {got} of 10000 (aimed at {at})")
    b.start()

    def caught_up():
        c = hub.communities()[b.community]
        return (b.live_services(a.community) == 10000 and
                c["connected"] and c["down_lag"] == 0)
    wait_for(caught_up, BULK_ARRIVE, "b to catch up and ack")
    at_b = titles(b.public_port, a.community)
    at_hub = titles(hub.public_port, a.community)
    assert len(at_b) == 10000 and at_b == at_hub

    b.stop()
    a.stop()
    hub.stop()
    assert store_rows(b.dir / "node.db", "origin = ?", (a.community,)) == \
        store_rows(hub.dir / "hub.db", "origin = ?", (a.community,)) == \
        store_rows(a.dir / "node.db", "origin = ?", (a.community,))


# ---- forged, replayed and reordered frames ------------------------------------------

def change(seq, origin, sid, version, title="", deleted=False):
    c = pb.Change(seq=seq, origin=origin, kind=pb.KIND_SERVICE, id=sid,
                  version=version, deleted=deleted)
    if not deleted:
        c.service.title = title
        c.service.category = "other"
        c.service.delivery.append("walk-in")
        c.service.status = "active"
        c.service.updated = int(time.time())
    return c


def send_changes(sess, changes, head=None):
    f = pb.Frame()
    f.changes.changes.extend(changes)
    f.changes.last_seq = changes[-1].seq
    f.changes.head = head if head is not None else changes[-1].seq
    sess.send_frame(f)


def recv_ack(sess):
    """The next Ack's seq, passing over the hub's own frames (its down
    stream, bulletins)."""
    while True:
        f = sess.recv_frame()
        if f.WhichOneof("body") == "ack":
            return f.ack.seq
        assert f.WhichOneof("body") in ("changes", "bulletin"), f


@pytest.fixture(scope="module")
def raw_hub(pki, tmp_path_factory):
    with topology(pki, tmp_path_factory.mktemp("raw"), []) as t:
        yield t.hub


def test_change_with_another_origin_is_refused(raw_hub, pki):
    hub = raw_hub
    a, b = unique_id("own"), unique_id("own")
    hub.register(a)
    hub.register(b)
    with RawSession(hub, pki.node(a)) as s:
        s.handshake(a)
        send_changes(s, [change(1, a, "mine", 1, "Mine"),
                         change(2, b, "forged", 1, "Forged for b")])
        code, reason = s.expect_close()
    assert code == 4406, (code, reason)
    assert b in reason and "origin" in reason, reason
    assert total(hub.public_port, community=a) == 0
    assert total(hub.public_port, community=b) == 0
    assert hub.refusals().get("wrong_origin", 0) >= 1, hub.refusals()
    # the hub goes on serving, and a's session is welcome again
    with RawSession(hub, pki.node(a)) as s:
        assert s.handshake(a).up_cursor == 0
        send_changes(s, [change(1, a, "mine", 1, "Mine")])
        assert recv_ack(s) == 1
    assert titles(hub.public_port, a) == {"mine": "Mine"}


def test_replayed_and_reordered_batches_change_nothing(raw_hub, pki):
    hub = raw_hub
    c = unique_id("replay")
    hub.register(c)
    first = {f"s{i}": f"First {i}" for i in (1, 2, 3)}
    with RawSession(hub, pki.node(c)) as s:
        assert s.handshake(c, epoch="e1").up_cursor == 0
        send_changes(s, [change(i, c, f"s{i}", i, first[f"s{i}"])
                         for i in (1, 2, 3)])
        assert recv_ack(s) == 3
        assert titles(hub.public_port, c) == first
        # the same positions again, other titles: acked, nothing changes
        send_changes(s, [change(i, c, f"s{i}", i + 10, f"Replayed {i}")
                         for i in (1, 2, 3)])
        assert recv_ack(s) == 3
        assert titles(hub.public_port, c) == first
        # out of order within a batch: refused, nothing of it stored
        send_changes(s, [change(5, c, "s5", 5, "Five"),
                         change(4, c, "s4", 4, "Four")])
        code, reason = s.expect_close()
    assert code == 4405 and "order" in reason, (code, reason)
    assert titles(hub.public_port, c) == first

    with RawSession(hub, pki.node(c)) as s:
        w = s.handshake(c, epoch="e1")
        assert w.up_cursor == 3 and w.own_version == 3
        # a newer version wins; an older one after it is acked and ignored
        send_changes(s, [change(4, c, "s1", 9, "Newer")])
        assert recv_ack(s) == 4
        send_changes(s, [change(5, c, "s1", 7, "Older"),
                         change(6, c, "s2", 2, "Older too", deleted=True)])
        assert recv_ack(s) == 6
    assert titles(hub.public_port, c) == dict(first, s1="Newer")

    # a new epoch restarts the stream from 1; old versions still lose
    with RawSession(hub, pki.node(c)) as s:
        w = s.handshake(c, epoch="e2")
        assert w.up_cursor == 0 and w.own_version == 9
        send_changes(s, [change(1, c, "s1", 1, "Stale"),
                         change(2, c, "s3", 3, "Same version")])
        assert recv_ack(s) == 2
    assert titles(hub.public_port, c) == dict(first, s1="Newer")


# ---- recovery and retention -----------------------------------------------------

def test_lost_store_comes_back_and_next_edit_wins(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    ids = [create(a, f"Service {i} of a") for i in range(3)]
    want = {sid: f"Service {i} of a" for i, sid in enumerate(ids)}
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == want, "a's services")
    mine = create(b, "b's own")
    everywhere([a.public_port], b.community, lambda t: mine in t,
               "b's service at a")

    a.stop()
    for suffix in ("", "-wal", "-shm"):
        (a.dir / f"node.db{suffix}").unlink(missing_ok=True)
    a.start()                      # same certificate, new empty store
    everywhere([a.public_port], a.community, lambda t: t == want,
               "a's own records back at a")
    everywhere([a.public_port], b.community, lambda t: mine in t,
               "b's records at a again")

    replace(a, ids[0], "Service 0 of a, edited after recovery")
    new = create(a, "New after recovery")
    want[ids[0]] = "Service 0 of a, edited after recovery"
    want[new] = "New after recovery"
    everywhere([hub.public_port, b.public_port, a.public_port], a.community,
               lambda t: t == want, "a's edits after recovery")


def test_edit_after_lost_store_before_the_hub_answers_wins(alliance):
    """A store lost while the hub is away too: the node's first edit (of a
    record the hub holds at a higher version) is made before it can learn
    that version; it must still win everywhere, not lose as an old one."""
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    create(a, "Permit desk", id="desk")
    for i in range(4):
        replace(a, "desk", f"Permit desk, version {i + 2}")
    other = create(a, "Other service")
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == {"desk": "Permit desk, version 5",
                               other: "Other service"}, "a's services")

    a.stop()
    hub.stop()
    for suffix in ("", "-wal", "-shm"):
        (a.dir / f"node.db{suffix}").unlink(missing_ok=True)
    a.start()                      # empty store, no hub to ask
    create(a, "Permit desk, rebuilt", id="desk")
    hub.start()
    a.wait_connected(ARRIVE)
    want = {"desk": "Permit desk, rebuilt", other: "Other service"}
    everywhere([a.public_port, hub.public_port, b.public_port],
               a.community, lambda t: t == want,
               "the edit made before the hub answered")
    replace(a, other, "Other service, edited")
    want[other] = "Other service, edited"
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == want, "the next edit")


def test_node_away_past_retention_gets_a_snapshot(alliance):
    al = alliance(2, sync={"tombstone_retention": 1, "purge_interval": 1})
    hub, (a, b) = al.hub, al.nodes
    ids = [create(a, f"Kept or not {i}") for i in range(3)]
    mine = create(b, "b's own service")
    everywhere([b.public_port], a.community, lambda t: len(t) == 3,
               "a's services at b")
    everywhere([hub.public_port], b.community, lambda t: mine in t,
               "b's service at the hub")

    b.stop()
    mark = hub.log_mark()
    delete(a, ids[1])
    everywhere([hub.public_port], a.community, lambda t: ids[1] not in t,
               "the deletion at the hub")
    hub.wait_log(r"retention: forgot \d+ tombstones", timeout=ARRIVE,
                 since=mark)
    mark = hub.log_mark()
    b.start()
    b.wait_connected(ARRIVE)
    hub.wait_log(rf"session {b.community}: established .*snapshot",
                 timeout=ARRIVE, since=mark)
    everywhere([b.public_port], a.community,
               lambda t: t == {ids[0]: "Kept or not 0",
                               ids[2]: "Kept or not 2"},
               "b to drop the service deleted while it was away")
    assert titles(b.public_port, b.community) == {mine: "b's own service"}


# ---- search -------------------------------------------------------------------

@pytest.fixture(scope="module")
def published(shared):
    """A set of services at a (and one at b) for the search tests, synced
    to the hub and to b."""
    hub, (a, b) = shared.hub, shared.nodes
    s = SimpleNamespace(hub=hub, a=a, b=b)
    s.haircut = create(a, "上门理发服务", summary="为行动不便的老人上门理发",
                       category="elderly-care", delivery="home-visit")
    s.english = create(a, "Mobile barber",
                       description="A volunteer haircut at home for "
                       "residents who cannot walk.", fee="10 元")
    s.odd = create(a, "Repair shop NEAR the station",
                   description='He said "fix it" title:x OR 1=1 -- *',
                   category="housing")
    s.filtered = {}
    for i in range(8):
        cat = ["health-maternity", "legal-civil"][i % 2]
        dlv = ["walk-in", "online"][(i // 2) % 2]
        fee = ["free", "20 元"][(i // 4) % 2]
        sid = create(a, f"Filter item {i}", category=cat, delivery=dlv,
                     fee=fee, description="kingfisher")
        s.filtered[sid] = (cat, dlv, fee)
    s.paged = set(bulk(a, [service(f"Paging item {i}",
                                   description="zebrafinch")
                           for i in range(25)]))
    s.other = create(b, "理发 at b too", category="elderly-care")
    n_a = 3 + 8 + 25
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: len(t) >= n_a, "a's search fixtures")
    everywhere([hub.public_port], b.community,
               lambda t: s.other in t, "b's search fixture at the hub")
    # the search index follows the records a moment later (the indexer
    # thread): wait until every fixture is found by text, not only listed
    for port in (hub.public_port, b.public_port):
        wait_for(lambda: ids_of(port, q="zebrafinch") == s.paged and
                 ids_of(port, q="kingfisher") == set(s.filtered) and
                 {s.haircut, s.other} <= ids_of(port, q="理发") and
                 s.english in ids_of(port, q="haircut") and
                 s.odd in ids_of(port, q="station"),
                 ARRIVE, f"the search index at port {port}")
    return s


def ids_of(port, **params):
    return {k[1] for k in catalog_all(port, **params)}


def search_ports(p):
    return [p.hub.public_port, p.b.public_port]


def test_search_chinese_and_english(published):
    p = published
    for port in search_ports(p):
        assert p.haircut in ids_of(port, q="理发", community=p.a.community)
        assert ids_of(port, q="理发", community=p.a.community) == \
            {p.haircut}
        assert ids_of(port, q="haircut", community=p.a.community) == \
            {p.english}
        assert ids_of(port, q="HAIRCUT", community=p.a.community) == \
            {p.english}
        # both communities' haircuts when not filtered by community
        both = ids_of(port, q="理发")
        assert {p.haircut, p.other} <= both


@pytest.mark.parametrize("q", ['"', "*", "NEAR", '" OR 1=1 --', "title:x",
                               "NEAR(a b)", "a AND", "^x", "'; DROP TABLE"
                               " service; --", "理发\"", "(", "-x"])
def test_search_query_syntax_is_text(published, q):
    p = published
    before = total(p.hub.public_port)
    for port in search_ports(p):
        r = get(port, "/api/v1/catalog", q=q)
        assert r.status == 200, r
        assert isinstance(r.json()["items"], list)
    assert total(p.hub.public_port) == before


def test_search_operators_match_as_words(published):
    p = published
    for port in search_ports(p):
        for q in ("NEAR", "title:x", '" OR 1=1 --', '"fix it"', "fix*"):
            got = ids_of(port, q=q, community=p.a.community)
            assert p.odd in got, (q, got)


def test_search_filters(published):
    p = published
    a = p.a.community
    for port in search_ports(p):
        for cat in ("health-maternity", "legal-civil"):
            got = ids_of(port, q="kingfisher", category=cat)
            assert got == {k for k, v in p.filtered.items() if v[0] == cat}
        for dlv in ("walk-in", "online"):
            got = ids_of(port, q="kingfisher", delivery=dlv)
            assert got == {k for k, v in p.filtered.items() if v[1] == dlv}
        got = ids_of(port, q="kingfisher", free=1)
        assert got == {k for k, v in p.filtered.items() if v[2] == "free"}
        got = ids_of(port, community=a, category="legal-civil",
                     delivery="online", free=1)
        assert got == {k for k, v in p.filtered.items()
                       if v == ("legal-civil", "online", "free")}
        assert ids_of(port, community=p.b.community, q="理发") == {p.other}
        assert p.english not in ids_of(port, community=a, free=1)
        assert p.haircut in ids_of(port, community=a, category="elderly-care",
                                   delivery="home-visit", free=1)


def test_search_paging_covers_every_match_once(published):
    p = published
    for port in search_ports(p):
        for params in ({"q": "zebrafinch"},
                       {"community": p.a.community}):
            seen, after, first = [], None, None
            while True:
                q = dict(params, limit=7)
                if after:
                    q["after"] = after
                page = search(port, **q)
                if first is None:
                    first = page["total"]
                assert len(page["items"]) <= 7
                seen += [s["id"] for s in page["items"]]
                after = page["next"]
                if not after:
                    break
            assert len(seen) == len(set(seen)) == first, params
            if "q" in params:
                assert set(seen) == p.paged
            else:
                assert p.paged | {p.haircut, p.english, p.odd} <= set(seen)


BAD_PARAMS = [
    ({"limit": "0"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"category": "gardening"}, "category"),
    ({"community": "Not A Community!"}, "community"),
    ({"delivery": "by-drone"}, "delivery"),
    ({"free": "yes"}, "free"),
    ({"after": "x" * 200}, "after"),
    ({"after": "!!not-a-token!!"}, "after"),
    ({"q": "y" * 201}, "q"),
]


@pytest.mark.parametrize("params,name", BAD_PARAMS,
                         ids=[f"{k}={list(p.values())[0][:12]}"
                              for p, k in BAD_PARAMS])
def test_search_bad_parameters_name_themselves(published, params, name):
    p = published
    for port in search_ports(p):
        r = get(port, "/api/v1/catalog", **params)
        assert r.status == 422, r
        err = r.json()["error"]
        assert err["code"] == "invalid" and err["message"].startswith(name), r
    r = get(p.hub.public_port, "/api/v1/catalog?q=%ff%fe")
    assert r.status == 422 and "q" in r.json()["error"]["message"], r


def test_search_many_at_once_and_clients_gone(published):
    """Searches run on the daemons' search threads: many at once each get
    their own answer (the one a lone search gets), and clients that hang
    up before their answer leave everyone else served."""
    p = published
    queries = [{"q": "理发"}, {"q": "haircut", "limit": 1},
               {"community": p.a.community, "limit": 3},
               {"q": "zebrafinch", "limit": 5}, {"q": "nothing-matches-this"},
               {"category": "elderly-care"}]
    for port in search_ports(p):
        alone = [search(port, **q) for q in queries]
        for _ in range(20):                 # requests that go unanswered
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.sendall(b"GET /api/v1/catalog?q=%E7%90%86%E5%8F%91 HTTP/1.1"
                      b"\r\nHost: x\r\n\r\n")
            c.close()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            got = list(pool.map(lambda i: search(port, **queries[i % 6]),
                                range(120)))
        for i, page in enumerate(got):
            assert page == alone[i % 6], (queries[i % 6], page)
    p.hub.assert_alive()
    p.b.assert_alive()


# ---- the operator's view ------------------------------------------------------

def test_communities_show_counts_and_lag(alliance, pki):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    ids = [create(a, f"Counted {i}") for i in range(5)]
    delete(a, ids[0])
    for i in range(2):
        r = manager(a, "POST", "/api/v1/announcements",
                    {"title": f"Notice {i}"})
        assert r.status == 201, r
    create(b, "b counted")

    def settled():
        cs = hub.communities()
        return all(cs[n.community]["up_lag"] == 0 and
                   cs[n.community]["down_lag"] == 0 and
                   cs[n.community]["connected"] for n in (a, b)) and cs
    everywhere([b.public_port], a.community, lambda t: len(t) == 4,
               "a's services at b")
    cs = wait_for(settled, ARRIVE, "both streams caught up")
    assert cs[a.community]["counts"] == {"services": 4, "announcements": 2}
    assert cs[b.community]["counts"] == {"services": 1, "announcements": 0}
    assert cs[a.community]["counts"]["services"] == \
        total(hub.public_port, community=a.community)

    # b away: the hub's stream grows by a's three edits, which b lacks
    b.stop()
    for i in range(3):
        create(a, f"While b is away {i}")
    wait_for(lambda: hub.communities()[a.community]["counts"]["services"]
             == 7, ARRIVE, "a's new services counted")
    c = hub.communities()[b.community]
    assert not c["connected"] and c["down_lag"] == 3, c
    b.start()
    wait_for(lambda: hub.communities()[b.community]["down_lag"] == 0,
             ARRIVE, "b's down_lag back to 0")

    # up_lag: a node's batch says how far its log goes (head); the hub
    # shows what it has not committed of it
    c = unique_id("lag")
    hub.register(c)
    with RawSession(hub, pki.node(c)) as s:
        s.handshake(c)
        send_changes(s, [change(1, c, "x1", 1, "X1"),
                         change(2, c, "x2", 2, "X2")], head=5)
        assert recv_ack(s) == 2
        v = hub.communities()[c]
        assert v["up_lag"] == 3 and v["up_cursor"] == 2, v
        assert v["counts"]["services"] == 2, v

"""PostgreSQL's own failover under the hub replicas (issue 18, item 4).

Real PostgreSQL 15 clusters started by the tests (tests/system/pg.py, as
an unprivileged user), real hub replicas and nodes:

- a primary and a synchronous hot standby, the replicas on libpq's
  multi-host conninfo (target_session_attrs=read-write): the primary
  SIGKILLed mid-sync, a bulletin acknowledged just before, appends in
  flight; the standby refused while read-only, then promoted: nothing a
  hub acknowledged is lost, nothing is stored twice;
- a bulletin's append lost at its commit (held there by a deferred
  trigger, the primary killed): refused, saying it may yet take effect;
- the synchronous standby away, so the primary holds every commit: the
  replica gives up after its bound and refuses, and recovers alone;
- PostgreSQL stopped for 30 s: sessions told to come back (1013 and the
  cause), the operator API 503 `unavailable` with the cause, public reads
  served from each replica's copy the whole time, then recovery alone
  with the edits made meanwhile arriving;
- a server that turns read-only under an open connection: the append is
  refused to its sender and the replica looks for a writable server
  rather than staying on it.

Parts: helpers; the primary lost (mid-sync, at a commit, the standby
away); 30 s without the database; a server turned read-only.
"""

import os
import re
import signal
import threading
import time


from conftest import Node, RawSession, stop_all, unique_id, wait_for
from pg import pg, pg_pair  # noqa: F401 (the fixtures)
from test_18_pg_replicas import (BULLETIN, PgHub, allow_1013, delivery_view,
                                 hub_stream, log_rows, manager_hash,
                                 sleeping, wait_registered)  # noqa: F401
from test_20_sync import (ARRIVE, BULK_ARRIVE, bulk, bulk_items, catalog_all,
                          create, store_rows, titles)
from test_30_bulletin import (content, issue, key_id_of, load_key,
                              node_bulletins, post_raw, signed)

# Services each node syncs while the primary is killed: "a few thousand"
# in all, within make check's time on the ASan build.
SYNC_N = 1500
# How long PostgreSQL stays stopped (pinned by the issue).
OUTAGE_S = 30
# A node's longest backoff here: told to come back again and again during
# an outage, it would otherwise wait up to a minute after the recovery.
NODE_BACKOFF_MAX_S = 5


# A node's log line for a session its hub told to come back: 1013, which
# libwebsockets 4.1.6's client hands the node as 1002 (it takes 1012 to
# 1015 for invalid codes) and the node takes back by its reason
# (wire_close_heard).
NODE_TOLD_TO_COME_BACK = r"closed the session: 1013 try again later: "


# ---- helpers ----------------------------------------------------------------

class QuickNode(Node):
    """A node whose backoff tops out at NODE_BACKOFF_MAX_S."""

    def config_text(self):
        text = super().config_text()
        assert "[hub]\n" in text
        return text.replace("[hub]\n", "[hub]\nbackoff_max_s = "
                            f"{NODE_BACKOFF_MAX_S}\n", 1)


def two_replicas(pki, tmp_path, conninfo, manager_hash, made):  # noqa: F811
    """Replicas h1, h2 on conninfo, node a at h1 and node b at h2 (both
    registered at h1), connected. ((h1, h2), (a, b))."""
    hubs = []
    for i in (1, 2):
        h = PgHub(tmp_path / f"hub{i}", pki, conninfo).start()
        made.append(h)
        hubs.append(h)
    ids = [unique_id("fo"), unique_id("fo")]
    for cid in ids:
        hubs[0].register(cid)
    wait_registered(hubs[1], *ids)
    nodes = []
    for h, cid in zip(hubs, ids):
        n = QuickNode(tmp_path / cid, pki, h, cid,
                      manager_hash=manager_hash).start()
        made.append(n)
        nodes.append(n)
    for n in nodes:
        n.wait_connected()
    return tuple(hubs), tuple(nodes)


def union_of(nodes):
    """{(origin, id): (version, deleted, title)}: every node's own records,
    read from the stopped nodes' stores."""
    own = {}
    for n in nodes:
        own.update(store_rows(n.dir / "node.db", "origin = ?",
                              (n.community,)))
    return own


def error_of(r):
    """(code, message) of an error answer."""
    e = r.json()["error"]
    return e["code"], e["message"]


# ---- the primary lost -------------------------------------------------------

def sync_waits(cluster):
    """True while a commit at cluster waits for its synchronous standby."""
    return cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE"
                        " wait_event = 'SyncRep'") != [["0"]]

def test_primary_killed_standby_promoted_mid_sync_nothing_acked_lost(
        pki, tmp_path, pg_pair, manager_hash):  # noqa: F811
    """Two replicas on the multi-host conninfo; node a (at replica 1) and
    node b (at replica 2) each sync SYNC_N services, in two halves; a
    bulletin is posted and acknowledged once the first half is under way;
    the primary's WAL sender is stopped (SIGSTOP: its standby falling
    behind) and the second half sent; with a batch's commit waiting for
    the standby the primary is SIGKILLed. (An asynchronous standby would
    let the primary ack that half: lost with it, the checks below fail.)
    The replicas find the standby
    read-only (refused by target_session_attrs, no write made there) until
    it is promoted, then reconnect alone. At the end every hub and node
    store equals the union of the nodes' own records record by record,
    the log is numbered without a gap, each node holds the bulletin and
    both delivery views say so, and the bulletin is in the log once."""
    made = []
    try:
        (h1, h2), (a, b) = two_replicas(pki, tmp_path, pg_pair.conninfo,
                                        manager_hash, made)
        hubs, nodes = (h1, h2), (a, b)
        marks = [h.log_mark() for h in hubs]
        half = SYNC_N // 2
        for n in nodes:
            bulk(n, bulk_items(n.community, half))
        wait_for(lambda: h1.live_services(a.community) > 0 and
                 h2.live_services(b.community) > 0, BULK_ARRIVE,
                 "first batches of both nodes through the log")
        # acknowledged (alliancectl's answer comes after the commit)
        bid, _ = issue(h1)
        assert len(log_rows(pg_pair.primary, BULLETIN)) == 1

        # (the kill ends it, stopped or not)
        os.kill(pg_pair.primary.wal_sender(), signal.SIGSTOP)
        for n in nodes:
            bulk(n, bulk_items(n.community, SYNC_N - half))
        # (an asynchronous standby's primary acks all of it meanwhile)
        wait_for(lambda: sync_waits(pg_pair.primary) or
                 all(h.live_services() == 2 * SYNC_N for h in hubs),
                 BULK_ARRIVE, "a batch's commit waiting for the standby")
        at_kill = [h.live_services() for h in hubs]
        pg_pair.primary.kill()

        # the standby, read-only until promoted, is refused by libpq
        # (target_session_attrs) at every replica: none stays on it
        for h, m in zip(hubs, marks):
            h.wait_log(r"pglog: the database is unreachable: .*"
                       r"session is read-only", ARRIVE, since=m)
            assert h.metrics()["alliance_shared_log_up"] == 0
        marks = [h.log_mark() for h in hubs]
        pg_pair.standby.promote()
        for h, m in zip(hubs, marks):
            h.wait_log(r"pglog: connected", ARRIVE, since=m)

        for d in hubs + nodes:
            for n in nodes:
                wait_for(lambda d=d, n=n: d.live_services(n.community) ==
                         SYNC_N, BULK_ARRIVE,
                         f"{n.community}'s {SYNC_N} services at {d.dir.name}")
        for n in nodes:
            wait_for(lambda n=n: bid in node_bulletins(n), ARRIVE,
                     f"{bid} at {n.community}")
        for h in hubs:
            wait_for(lambda h=h: delivery_view(h, bid)[:2] == (2, 2),
                     ARRIVE, f"{bid} delivered to both in {h.dir.name}'s view")
        # an edit after the failover goes round as ever
        late = create(a, "After the failover")
        wait_for(lambda: late in titles(b.public_port, a.community), ARRIVE,
                 "a's later record at b")
        head = int(pg_pair.standby.psql(
            "SELECT max(seq) FROM alliance_log")[0][0])
        for h in hubs:
            wait_for(lambda h=h: h.metrics()["alliance_shared_log_applied"]
                     == head, ARRIVE, f"{h.dir.name} at the log's head")

        for d in nodes + hubs:
            d.stop()
        own = union_of(nodes)
        assert len(own) == 2 * SYNC_N + 1
        for d in hubs + nodes:
            assert store_rows(d.dir / d.store_file) == own, d.dir.name
        assert hub_stream(h1.dir / "hub.db") == hub_stream(h2.dir / "hub.db")
        # the new primary's log: no gap, the bulletin once
        seqs = [s for s, _, _ in log_rows(pg_pair.standby, None)]
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(log_rows(pg_pair.standby, BULLETIN)) == 1
        # killed mid-sync (checked last: with an asynchronous standby the
        # checks above fail first, acknowledged records lost)
        assert all(0 < n < 2 * SYNC_N for n in at_kill), at_kill
    finally:
        stop_all(made)


# A trigger the test installs on the primary: at the commit (deferred) of
# an append whose body holds the marker, sleep until trap_hold is emptied.
COMMIT_TRAP = """
CREATE TABLE trap_hold (x int);
INSERT INTO trap_hold VALUES (1);
CREATE FUNCTION trap_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF position('commit-marker'::bytea IN NEW.body) > 0 THEN
    LOOP
      EXIT WHEN NOT EXISTS (SELECT 1 FROM trap_hold);
      PERFORM pg_sleep(0.05);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER trap_commit AFTER INSERT ON alliance_log
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trap_commit();
"""


def test_post_lost_at_the_commit_is_refused_saying_it_may_be_stored(
        pki, tmp_path, pg_pair, manager_hash):  # noqa: F811
    """A bulletin's append reaches its COMMIT (held there by a deferred
    trigger) and the primary is SIGKILLed: the operator is answered 503
    `unavailable`, told the outcome is unknown and to look for the
    bulletin before issuing it again, never 200. After the promotion the
    bulletin is not there (the commit never happened), the same signed
    bulletin posted again is stored, and the node holds it once."""
    made = []
    try:
        (h1, _), (a, _) = two_replicas(pki, tmp_path, pg_pair.conninfo,
                                       manager_hash, made)
        pg_pair.primary.psql(COMMIT_TRAP)
        wait_for(lambda: pg_pair.standby.psql(
            "SELECT count(*) FROM trap_hold") == [["1"]], ARRIVE,
            "the trap on the standby too")
        key = load_key(pki.signing_key)
        bid = f"b-test-{unique_id('commit')}"
        _, data = content(key_id_of(key), bid=bid,
                          headline="commit-marker: gas leak")
        answer = {}

        def post():
            answer["r"] = post_raw(h1, data, signed(key, data))
        poster = threading.Thread(target=post)
        poster.start()
        wait_for(lambda: sleeping(pg_pair.primary), ARRIVE,
                 "the bulletin's append sleeping in its commit")
        pg_pair.primary.kill()
        poster.join(ARRIVE)
        assert not poster.is_alive() and "r" in answer, \
            "the post unanswered"
        r = answer["r"]
        assert r.status == 503, r
        code, message = error_of(r)
        assert code == "unavailable", r
        assert message.startswith("the hub's database did not confirm it"
                                  " (look for it before posting it again):"
                                  " the commit was not confirmed and may"
                                  " yet take effect: "), message

        mark = h1.log_mark()
        pg_pair.standby.promote()
        pg_pair.standby.psql("DELETE FROM trap_hold")
        h1.wait_log(r"pglog: connected", ARRIVE, since=mark)
        assert h1.api("GET", f"/api/v1/bulletins/{bid}").status == 404
        assert log_rows(pg_pair.standby, BULLETIN) == []
        r = post_raw(h1, data, signed(key, data))
        assert r.status == 201, r
        wait_for(lambda: bid in node_bulletins(a), ARRIVE, f"{bid} at a")
        assert len(log_rows(pg_pair.standby, BULLETIN)) == 1
    finally:
        stop_all(made)


def test_commit_held_by_an_absent_standby_is_refused_after_the_bound(
        pki, tmp_path, pg_pair, manager_hash):  # noqa: F811
    """The synchronous standby stopped: the primary holds every commit
    until it comes back. The replica waits for its append no longer than
    its bound (pglog.h PGLOG_STATEMENT_MS), drops the connection and tells
    the node to come back with the cause, answering its public port the
    whole time; the record is nowhere meanwhile. With the standby back,
    the held commit completes and the record reaches every store once."""
    made = []
    try:
        (h1, h2), (a, b) = two_replicas(pki, tmp_path, pg_pair.conninfo,
                                        manager_hash, made)
        mark, mark_a = h1.log_mark(), a.log_mark()
        pg_pair.standby.stop()
        sid = create(a, "Written while the standby is away")
        wait_for(lambda: pg_pair.primary.psql(
                     "SELECT count(*) FROM pg_stat_activity WHERE"
                     " wait_event = 'SyncRep'") != [["0"]], ARRIVE,
                 "the append's commit waiting for the standby")
        gave_up = re.compile(r"pglog: no answer within \d+ ms \(a "
                             r"synchronous standby away\?\): connection "
                             r"dropped")

        def told():
            # the public port answers while the append waits
            assert titles(h1.public_port, b.community) == {}
            return gave_up.search(h1.log()[mark:])
        wait_for(told, ARRIVE, "replica 1 giving up on the commit")
        a.wait_log(NODE_TOLD_TO_COME_BACK + r".*the commit was not "
                   r"confirmed and may yet take effect", ARRIVE, since=mark_a)
        assert sid not in titles(b.public_port, a.community)
        assert h2.live_services(a.community) == 0

        pg_pair.standby.start()
        for n in (a, b):
            wait_for(lambda n=n: sid in titles(n.public_port, a.community),
                     ARRIVE, f"the record at {n.community}")
        for d in (a, b, h1, h2):
            d.stop()
        own = union_of((a, b))
        assert len(own) == 1
        for d in (h1, h2, a, b):
            assert store_rows(d.dir / d.store_file) == own, d.dir.name
    finally:
        stop_all(made)


# ---- 30 s without the database ----------------------------------------------

def test_database_stopped_30s_refusals_then_recovery_alone(
        pki, tmp_path, pg, manager_hash, monkeypatch):  # noqa: F811
    """PostgreSQL stopped for OUTAGE_S: every replica says so; a new
    session and a batch are refused with 1013 and the cause; the operator
    API answers 503 `unavailable` with the cause and changes nothing;
    public reads are served from each replica's copy throughout, and the
    nodes keep coming back and being told to try again later. With
    PostgreSQL started again the replicas reconnect alone, the edits made
    at both nodes meanwhile reach the other, and the operator API works."""
    allow_1013(monkeypatch)
    made = []
    try:
        (h1, h2), (a, b) = two_replicas(pki, tmp_path, pg.conninfo,
                                        manager_hash, made)
        hubs, nodes = (h1, h2), (a, b)
        before = create(a, "Before the outage")
        wait_for(lambda: before in titles(b.public_port, a.community),
                 ARRIVE, "a's first record at b")
        cid = unique_id("away")
        h1.register(cid)
        wait_registered(h2, cid)
        marks = [h.log_mark() for h in hubs]
        node_marks = [n.log_mark() for n in nodes]
        pg.stop()
        stopped = time.monotonic()
        for h, m in zip(hubs, marks):
            h.wait_log(r"pglog: .*(unreachable|connection lost)", ARRIVE,
                       since=m)
            wait_for(lambda h=h: h.metrics()["alliance_shared_log_up"] == 0,
                     ARRIVE, f"{h.dir.name} reporting the database down")

        # the operator API: 503 `unavailable`, the cause, nothing changed
        refused = unique_id("refused")
        for h in hubs:
            r = h.api("POST", "/api/v1/communities", {"id": refused})
            assert r.status == 503, r
            code, message = error_of(r)
            assert code == "unavailable", r
            assert message.startswith("the hub's database is unreachable: ")
            assert "socket" in message, message     # libpq's own cause
        key = load_key(pki.signing_key)
        away, data = content(key_id_of(key))
        r = post_raw(h2, data, signed(key, data))
        assert r.status == 503 and error_of(r)[0] == "unavailable", r
        # a new session: told to come back, with the cause
        with RawSession(h1, pki.node(cid)) as s:
            code, reason = s.expect_close()
        assert code == 1013, (code, reason)
        assert reason.startswith("try again later: ") and \
            "database" in reason, reason
        # edits at both nodes: their batches refused the same way
        during = {n: create(n, f"Made at {n.community} during the outage")
                  for n in nodes}
        for n, m in zip(nodes, node_marks):
            n.wait_log(NODE_TOLD_TO_COME_BACK + r".*database", ARRIVE,
                       since=m)

        # the replicas stay up the whole OUTAGE_S: public reads from each
        # copy, health, metrics; the nodes keep being told to come back
        refusals = [h.refusals().get("unavailable", 0) for h in hubs]
        while time.monotonic() - stopped < OUTAGE_S:
            for h in hubs:
                h.assert_alive()
                assert titles(h.public_port, a.community) == \
                    {before: "Before the outage"}
                assert h.metrics()["alliance_shared_log_up"] == 0
            for n in nodes:
                assert titles(n.public_port, a.community)[before] == \
                    "Before the outage"
            time.sleep(1)   # the outage's length is the point
        for h, was in zip(hubs, refusals):
            assert h.refusals().get("unavailable", 0) > was, h.dir.name

        marks = [h.log_mark() for h in hubs]
        pg.start()
        for h, m in zip(hubs, marks):
            h.wait_log(r"pglog: connected", ARRIVE, since=m)
        for n, other in ((a, b), (b, a)):
            wait_for(lambda n=n, other=other:
                     during[other] in titles(n.public_port,
                                             other.community),
                     ARRIVE, f"{other.community}'s edit of the outage at "
                     f"{n.community}")
        # the operator API works again, at either replica
        after = unique_id("after")
        r = h2.api("POST", "/api/v1/communities", {"id": after})
        assert r.status in (200, 201), r
        wait_registered(h1, after)
        bid, _ = issue(h2, headline="Water back on")
        for n in nodes:
            wait_for(lambda n=n: bid in node_bulletins(n), ARRIVE,
                     f"{bid} at {n.community}")
        for h in hubs:
            assert refused not in h.communities()
            assert h.api("GET", f"/api/v1/bulletins/{away}").status == 404
            wait_for(lambda h=h: {k for k in catalog_all(h.public_port)} ==
                     {(a.community, before), (a.community, during[a]),
                      (b.community, during[b])}, ARRIVE,
                     f"every record at {h.dir.name}")

        for d in nodes + hubs:
            d.stop()
        own = union_of(nodes)
        assert len(own) == 3
        for d in hubs + nodes:
            assert store_rows(d.dir / d.store_file) == own, d.dir.name
    finally:
        stop_all(made)


# ---- a server turned read-only ----------------------------------------------

def test_server_turned_read_only_is_left_not_wedged_on(
        pki, tmp_path, pg, manager_hash, monkeypatch):  # noqa: F811
    """The server a replica is connected to turns read-only (as a demoted
    primary does; here default_transaction_read_only, reloaded). A node's
    batch is refused with 1013 and the cause, not acked; the replica drops
    the connection and looks for a writable server (libpq refuses this one
    by target_session_attrs), reporting the database down rather than
    staying on a server that takes no write. Writable again, the replica
    reconnects alone and the batch arrives."""
    allow_1013(monkeypatch)
    made = []
    try:
        conninfo = pg.conninfo + " target_session_attrs=read-write"
        (h1, h2), (a, b) = two_replicas(pki, tmp_path, conninfo,
                                        manager_hash, made)
        hubs = (h1, h2)
        marks = [h.log_mark() for h in hubs]
        mark_a = a.log_mark()
        pg.psql("ALTER SYSTEM SET default_transaction_read_only = on",
                db="postgres")
        pg.psql("SELECT pg_reload_conf()", db="postgres")
        sid = create(a, "Written while read-only")
        a.wait_log(NODE_TOLD_TO_COME_BACK + r".*read-only", ARRIVE,
                   since=mark_a)
        h1.wait_log(r"pglog: the server refused a write as read-only",
                    ARRIVE, since=marks[0])
        # replica 2 only reads until the operator's write finds it out
        r = h2.api("POST", "/api/v1/communities", {"id": unique_id("ro")})
        assert r.status == 503 and error_of(r)[0] == "unavailable", r
        assert "read-only" in error_of(r)[1], r
        for h, m in zip(hubs, marks):
            h.wait_log(r"pglog: the database is unreachable: .*session is "
                       r"read-only", ARRIVE, since=m)
            wait_for(lambda h=h: h.metrics()["alliance_shared_log_up"] == 0,
                     ARRIVE, f"{h.dir.name} reporting the database down")
        assert sid not in titles(b.public_port, a.community)
        assert h1.live_services(a.community) == 0

        marks = [h.log_mark() for h in hubs]
        pg.psql("ALTER SYSTEM RESET default_transaction_read_only",
                db="postgres")
        pg.psql("SELECT pg_reload_conf()", db="postgres")
        for h, m in zip(hubs, marks):
            h.wait_log(r"pglog: connected", ARRIVE, since=m)
        wait_for(lambda: sid in titles(b.public_port, a.community), ARRIVE,
                 "the batch refused while read-only, at b after it")
    finally:
        stop_all(made)



# ---- one replica without the database ----------------------------------------

def test_replica_without_the_database_sends_its_nodes_to_another_at_once(
        pki, tmp_path, pg, manager_hash, monkeypatch):  # noqa: F811
    """Replica 1 alone loses the database (its role may no longer log in,
    its connection ended), replica 2 keeps it. A node at replica 1 that
    lists both makes an edit: replica 1 refuses the batch with 1013, which
    libwebsockets 4.1.6 hands the node as 1002 and the node takes back by
    its reason (wire_close_heard): the node logs 1013 and, since 1013 is
    this replica's trouble and perhaps no other's, moves to replica 2 at
    once, with no backoff wait, where the edit is stored and reaches a
    node of replica 2."""
    from test_13_failover import UrlsNode
    allow_1013(monkeypatch)
    made = []
    try:
        # replica 1 reaches the same database as its own role
        pg.psql("CREATE ROLE replica1 LOGIN SUPERUSER", db="postgres")
        h1 = PgHub(tmp_path / "hub1", pki,
                   pg.conninfo.replace("user=alliance", "user=replica1"))
        h2 = PgHub(tmp_path / "hub2", pki, pg.conninfo)
        for h in (h1, h2):
            made.append(h.start())
        url = {h: f"wss://localhost:{h.alliance_port}/v1/sync"
               for h in (h1, h2)}
        a_id, b_id = unique_id("one"), unique_id("one")
        for cid in (a_id, b_id):
            h1.register(cid)
        wait_registered(h2, a_id, b_id)
        a = UrlsNode(tmp_path / a_id, pki, h1, a_id, urls=[url[h1], url[h2]],
                     manager_hash=manager_hash)
        b = QuickNode(tmp_path / b_id, pki, h2, b_id,
                      manager_hash=manager_hash)
        for n in (a, b):
            made.append(n.start())
        for n in (a, b):
            n.wait_connected()
        assert a.hub_url() == url[h1]

        mark, mark_a = h1.log_mark(), a.log_mark()
        pg.psql("ALTER ROLE replica1 NOLOGIN", db="postgres")
        pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = 'replica1'", db="postgres")
        h1.wait_log(r"pglog: .*(unreachable|connection lost)", ARRIVE,
                    since=mark)
        assert h2.metrics()["alliance_shared_log_up"] == 1
        sid = create(a, "Made while replica 1 had no database")
        a.wait_log(NODE_TOLD_TO_COME_BACK + r".*database", ARRIVE,
                   since=mark_a)
        wait_for(lambda: a.hub_url() == url[h2], ARRIVE,
                 "a moved to replica 2")
        assert a.counter("failovers") == 1
        assert a.counter("backoff_waits") == 0
        wait_for(lambda: sid in titles(b.public_port, a_id), ARRIVE,
                 "a's edit, refused by replica 1, at b through replica 2")
    finally:
        stop_all(made)

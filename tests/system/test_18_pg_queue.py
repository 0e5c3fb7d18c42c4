"""The database queue of a hub on PostgreSQL (issue 18): a bulletin's acks
come all at once, and every one is recorded.

A real PostgreSQL 15 cluster (tests/system/pg.py) and a real hub on it;
ACKS raw sessions of their own communities. A trigger the test installs
holds the append of the first event of acks in its transaction, so the
acks behind it wait in the hub all at once; then it is let go. The queue
to the database thread held 256 events, one an ack, and bench/replicas
(1000 nodes over two replicas) found the acks past it left pending (not
shared: sent again only at the node's next session) and the delivery
view never complete. A replica now shares the acks of a few milliseconds
as one event (hub/bulletin.c SHARE_HOLD_MS): far fewer events than acks,
so ACKS need no longer pass the old bound (300 handshakes took 78 s).
Also: the acks of an append the database did not take are sent again.
"""

from conftest import RawSession, pb, stop_all, unique_id, wait_for
from pg import pg  # noqa: F401 (the fixture)
from test_18_pg_replicas import (DELIVERIES, PgHub, allow_1013,
                                 delivery_view, log_acks, sleeping)
from test_20_sync import ARRIVE
from test_30_bulletin import issue

# Acks at once: with one event an ack, at least ACKS // 2 events.
ACKS = 100

# Holds the append of an event of acks (kind DELIVERIES) until the test
# deletes the row of ack_hold.
HOLD = f"""
CREATE TABLE ack_hold (x int);
INSERT INTO ack_hold VALUES (1);
CREATE FUNCTION ack_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind = {DELIVERIES} THEN
    LOOP
      EXIT WHEN NOT EXISTS (SELECT 1 FROM ack_hold);
      PERFORM pg_sleep(0.05);
    END LOOP;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ack_slow BEFORE INSERT ON alliance_log
  FOR EACH ROW EXECUTE FUNCTION ack_slow();
"""


def pong(s):
    """Ping s and wait for the pong: the hub has handled every frame sent
    before it (it reads a connection's frames in order)."""
    s.ws.ping(b"x")
    while True:
        op, _ = s.ws.recv_data(control_frame=True)
        if op == 0xA:
            return


def join(hub, pki, ids, sessions):
    """Register each of ids at hub and open its raw session (appended to
    sessions, for the caller to close)."""
    for cid in ids:
        hub.register(cid)
    for cid in ids:
        s = RawSession(hub, cert=pki.node(cid))
        sessions.append(s)
        s.handshake(cid)


def ack_next(s, bid):
    """The next frame of s is bulletin bid's: ack it."""
    f = s.recv_skipping_changes()
    assert f.WhichOneof("body") == "bulletin", f
    ack = pb.Frame()
    ack.bulletin_ack.id = bid
    s.send_frame(ack)


def test_a_bulletins_acks_all_at_once_are_all_recorded(pki, tmp_path,
                                                       pg):  # noqa: F811
    # the raw sessions answer no ping while the others are set up (a
    # minute on a busy machine): not dropped for silence
    hub = PgHub(tmp_path / "hub", pki, pg.conninfo,
                limits={"drop_s": 3600}).start()
    sessions = []
    try:
        ids = [unique_id(f"ack{i}") for i in range(ACKS)]
        join(hub, pki, ids, sessions)
        pg.psql(HOLD)
        bid, _ = issue(hub)
        for s in sessions:
            ack_next(s, bid)
        wait_for(lambda: sleeping(pg), ARRIVE,
                 "the first ack's append held in the trigger")
        for s in sessions:
            pong(s)
        # every ack is with the hub: none was refused for want of room
        assert "not shared" not in hub.log()
        pg.psql("DELETE FROM ack_hold")
        wait_for(lambda: delivery_view(hub, bid)[:2] == (ACKS, ACKS),
                 ARRIVE, f"all {ACKS} deliveries recorded")
        assert "not shared" not in hub.log()
        assert sorted(log_acks(pg)) == sorted((c, bid) for c in ids)
        events = int(pg.psql("SELECT count(*) FROM alliance_log WHERE"
                             f" kind = {DELIVERIES}")[0][0])
        assert events < ACKS // 2, f"{events} events for {ACKS} acks"
    finally:
        for s in sessions:
            s.close()
        stop_all([hub])


def test_acks_lost_with_the_connection_are_sent_again(pki, tmp_path, pg,  # noqa: F811,E501
                                                      monkeypatch):
    """The connection to PostgreSQL lost under an append of acks (its
    backend terminated while the trigger holds it): every session whose ack
    was in it is told to come back (1013, saying why), the deliveries stay
    pending, and at their next sessions the nodes are sent the bulletin
    again and their acks are recorded."""
    allow_1013(monkeypatch)
    hub = PgHub(tmp_path / "hub", pki, pg.conninfo).start()
    ids = [unique_id(f"lost{i}") for i in range(2)]
    sessions = []
    try:
        join(hub, pki, ids, sessions)
        pg.psql(HOLD)
        bid, _ = issue(hub)
        for s in sessions:
            ack_next(s, bid)
        wait_for(lambda: sleeping(pg), ARRIVE, "the acks' append held")
        mark = hub.log_mark()
        pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE wait_event = 'PgSleep'")
        for s in sessions:
            code, reason = s.expect_close()
            assert code == 1013, (code, reason)
            assert "did not store a bulletin's ack" in reason, reason
        pg.psql("DELETE FROM ack_hold")
        hub.wait_log(r"pglog: connected", ARRIVE, since=mark)
        assert delivery_view(hub, bid)[:2] == (2, 0)
        for cid in ids:
            with RawSession(hub, cert=pki.node(cid)) as s:
                s.handshake(cid)
                ack_next(s, bid)
                wait_for(lambda: cid in [c for c, d, *_ in
                                         delivery_view(hub, bid)[3] if d],
                         ARRIVE, f"{cid}'s ack recorded")
        assert sorted(log_acks(pg)) == sorted((c, bid) for c in ids)
    finally:
        for s in sessions:
            s.close()
        stop_all([hub])


def test_acks_of_bulletins_not_sent_are_not_shared(pki, tmp_path,
                                                   pg):  # noqa: F811
    """A hostile node acks 200 bulletins it was never sent: none of it
    reaches the shared log (a node takes one ack a bulletin in flight),
    and its ack of the one it is sent is recorded as ever."""
    hub = PgHub(tmp_path / "hub", pki, pg.conninfo).start()
    sessions = []
    try:
        cid = unique_id("forger")
        join(hub, pki, [cid], sessions)
        s = sessions[0]
        for i in range(200):
            ack = pb.Frame()
            ack.bulletin_ack.id = f"b-forged-{i}"
            s.send_frame(ack)
        pong(s)
        bid, _ = issue(hub)
        ack_next(s, bid)
        wait_for(lambda: delivery_view(hub, bid)[:2] == (1, 1), ARRIVE,
                 "the ack of the bulletin sent recorded")
        assert log_acks(pg) == [(cid, bid)]
    finally:
        for s in sessions:
            s.close()
        stop_all([hub])

"""The database queue of a hub on PostgreSQL (issue 18): a bulletin's acks
come all at once, one delivery event each, and every one is recorded.

A real PostgreSQL 15 cluster (tests/system/pg.py) and a real hub on it;
ACKS raw sessions of their own communities. A trigger the test installs
holds the append of the first delivery event in its transaction, so the
acks behind it wait in the hub's queue to the database thread all at
once; then it is let go. The queue held 256 events, and bench/replicas
(1000 nodes over two replicas) found the acks past it left pending (not
shared: sent again only at the node's next session) and the delivery
view never complete.
"""

from conftest import RawSession, pb, stop_all, unique_id, wait_for
from pg import pg  # noqa: F401 (the fixture)
from test_18_pg_replicas import DELIVERY, PgHub, delivery_view, sleeping
from test_20_sync import ARRIVE
from test_30_bulletin import issue

# More acks at once than the queue held before (256).
ACKS = 300

# Holds the append of a delivery event (kind DELIVERY) until the test
# deletes the row of ack_hold.
HOLD = f"""
CREATE TABLE ack_hold (x int);
INSERT INTO ack_hold VALUES (1);
CREATE FUNCTION ack_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind = {DELIVERY} THEN
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


def test_a_bulletins_acks_all_at_once_are_all_recorded(pki, tmp_path,
                                                       pg):  # noqa: F811
    # the raw sessions answer no ping while the others are set up (300
    # handshakes, minutes on a busy machine): not dropped for silence
    hub = PgHub(tmp_path / "hub", pki, pg.conninfo,
                limits={"drop_s": 3600}).start()
    sessions = []
    try:
        ids = [unique_id(f"ack{i}") for i in range(ACKS)]
        for cid in ids:
            hub.register(cid)
        for cid in ids:
            s = RawSession(hub, cert=pki.node(cid))
            sessions.append(s)
            s.handshake(cid)
        pg.psql(HOLD)
        bid, _ = issue(hub)
        for s, cid in zip(sessions, ids):
            f = s.recv_skipping_changes()
            assert f.WhichOneof("body") == "bulletin", f
            ack = pb.Frame()
            ack.bulletin_ack.id = bid
            s.send_frame(ack)
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
        assert int(pg.psql("SELECT count(*) FROM alliance_log WHERE kind ="
                           f" {DELIVERY}")[0][0]) == ACKS
    finally:
        for s in sessions:
            s.close()
        stop_all([hub])

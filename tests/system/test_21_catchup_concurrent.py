"""Catch-up off the hub's service thread (issue 17): the hub builds its
down stream's batches on a thread of its own and only writes them; these
tests hold it to every guarantee of the stream it had before.

Three fresh nodes catch up A's 4,000 services at once while bulletins are
issued: each ends with exactly the hub's records, version for version,
and each bulletin received once. Three raw sessions catch up at once,
acking by hand: their windows full, the next frame is the bulletin
issued meanwhile; then every change arrives once, in log order, the
sequence numbers rising from frame to frame, and the records are the
hub's. Sessions dropped just after their Hello (their first batch being
built), just after their first batch, or replaced by a newer session of
the same community while theirs is built leave the hub serving: a last
session catches up everything, nothing failed to encode, and the hub
stops cleanly (under ASan: no use after free, no leak).

Real daemons, real TLS, bulk imports through the manager API; the stores
are read read-only while they run.
"""

import sqlite3
import threading

from conftest import (RawSession, pb, start_topology, stop_all, unique_id,
                      wait_for)
from test_16_node_metrics import MetricsNode
from test_20_sync import (PASSWORD,  # noqa: F401 (password_hash hashes it)
                          bulk, service)
from test_21_catchup_size import QUOTA, no_encode_errors
from test_30_bulletin import issue

# Seconds records may take to arrive before a test gives up (a bound for
# broken systems, not a speed figure: bench/ has those).
ARRIVE = 180
# A's services: enough for many batches at the raw sessions' frame size.
N = 4000
# The frame bytes the raw sessions take (Hello.batch_bytes): many frames.
RAW_BATCH_BYTES = 65536


def records(daemon, origin):
    """{id: version} of origin's services in daemon's store."""
    db = sqlite3.connect(f"file:{daemon.dir / daemon.store_file}?mode=ro",
                         uri=True)
    try:
        return dict(db.execute("SELECT id, version FROM service"
                               " WHERE origin = ?", (origin,)).fetchall())
    finally:
        db.close()


def loaded_hub(pki, tmp_path, password_hash, made):
    """A hub holding N services of node A (A stopped after)."""
    t = start_topology(pki, tmp_path, ["conc"], made,
                       hub_kw={"quota": QUOTA}, manager_hash=password_hash)
    a = t.nodes[0]
    items = [service(f"{a.community} service {k}",
                     description=f"Item {k} of many. 批量 {k}")
             for k in range(N)]
    assert len(bulk(a, items)) == N
    want = records(a, a.community)
    assert len(want) == N
    wait_for(lambda: records(t.hub, a.community) == want, ARRIVE,
             "the hub to hold A's services")
    return t.hub, a, want


def test_fresh_nodes_catch_up_at_once_while_bulletins_go(pki, tmp_path,
                                                       password_hash):
    made = []
    try:
        hub, a, want = loaded_hub(pki, tmp_path, password_hash, made)
        fresh = []
        for _ in range(3):
            cid = unique_id("fresh")
            hub.register(cid)
            fresh.append(MetricsNode(tmp_path / cid, pki, hub, cid,
                                     manager_hash=password_hash))
        starts = [threading.Thread(target=n.start) for n in fresh]
        for t in starts:
            t.start()
        for t in starts:
            t.join()
        made.extend(fresh)
        for n in fresh:
            n.wait_connected()
        # while their streams run (or after, on a fast machine: the
        # bulletins must arrive once either way)
        bids = [issue(hub, "--headline", f"Catch-up bulletin {i}")[0]
                for i in range(3)]
        for n in fresh:
            wait_for(lambda n=n: records(n, a.community) == want, ARRIVE,
                     f"{n.community} to hold A's services, version for "
                     f"version")
        for n in fresh:
            wait_for(lambda n=n: n.metrics()[
                "alliance_node_bulletins_stored_total"] == len(bids),
                ARRIVE, f"{n.community} to store the bulletins")
            m = n.metrics()
            assert m["alliance_node_bulletins_received_total"] == len(bids)
            assert m["alliance_node_bulletins_refused_total"] == 0
        wait_for(lambda: all(hub.communities()[n.community]["down_lag"] == 0
                             for n in fresh), ARRIVE,
                 "the hub to see every stream acked")
        no_encode_errors(hub)
    finally:
        stop_all(made)


def ack(sess, seq):
    f = pb.Frame()
    f.ack.seq = seq
    sess.send_frame(f)


def bulletin_ack(sess, frame):
    content = pb.BulletinContent()
    content.ParseFromString(frame.bulletin.signed_content)
    f = pb.Frame()
    f.bulletin_ack.id = content.id
    sess.send_frame(f)
    return content.id


class Catchup:
    """One raw session's catch-up from cursor 0, acked by hand: every
    change seen and each bulletin's id kept."""

    def __init__(self, hub, pki, cid):
        self.cid = cid
        self.sess = RawSession(hub, cert=pki.node(cid), timeout=60)
        welcome = self.sess.handshake(cid, batch_bytes=RAW_BATCH_BYTES)
        self.window = welcome.window or 8
        self.changes = []           # (seq, origin, id, version) in order
        self.frames = []            # (first seq, last_seq) of each frame
        self.bulletins = []
        self.unacked = []

    def frame(self):
        """The next frame: a Changes frame is taken in (not acked), a
        Bulletin acked; returns its body."""
        f = self.sess.recv_frame(timeout=60)
        body = f.WhichOneof("body")
        if body == "changes":
            cs = f.changes
            self.frames.append((cs.changes[0].seq if cs.changes else None,
                                cs.last_seq))
            for ch in cs.changes:
                self.changes.append((ch.seq, ch.origin, ch.id, ch.version))
            self.unacked.append(cs.last_seq)
            self.head = cs.head
        elif body == "bulletin":
            self.bulletins.append(bulletin_ack(self.sess, f))
        return body

    def fill_window(self):
        """Read frames until the window is full of unacked batches."""
        while len(self.unacked) < self.window:
            self.frame()

    def finish(self, head, bids):
        """Ack and read until the stream reached head and every bulletin
        of bids came."""
        while True:
            while self.unacked:
                ack(self.sess, self.unacked.pop(0))
            last = self.frames[-1][1] if self.frames else 0
            if last >= head and set(bids) <= set(self.bulletins):
                return
            self.frame()


def test_raw_sessions_catch_up_exactly_with_a_bulletin_between(
        pki, tmp_path, password_hash):
    made = []
    sessions = []
    try:
        hub, a, want = loaded_hub(pki, tmp_path, password_hash, made)
        cids = [unique_id("raw") for _ in range(3)]
        for cid in cids:
            hub.register(cid)
        sessions = [Catchup(hub, pki, cid) for cid in cids]
        # each session's window fills with batches it does not ack yet
        fills = [threading.Thread(target=c.fill_window) for c in sessions]
        for t in fills:
            t.start()
        for t in fills:
            t.join()
        for c in sessions:
            assert len(c.unacked) == c.window
            assert c.frames[-1][1] < c.head, "caught up within one window"
        bid, _ = issue(hub, "--headline", "Between the batches")
        # the window is full: the bulletin comes next, not a batch
        for c in sessions:
            assert c.frame() == "bulletin"
            assert c.bulletins == [bid]
        bid2, _ = issue(hub, "--headline", "Second, mid-stream")
        head = sessions[0].head
        done = [threading.Thread(target=c.finish, args=(head, [bid, bid2]))
                for c in sessions]
        for t in done:
            t.start()
        for t in done:
            t.join()
        hub_records = records(hub, a.community)
        for c in sessions:
            seqs = [s for s, *_ in c.changes]
            # each change once, in log order, frame after frame
            assert seqs == sorted(set(seqs)), c.cid
            for (f1, l1), (f2, l2) in zip(c.frames, c.frames[1:]):
                assert l2 >= l1 and (f2 is None or f2 > l1), c.frames
            got = {sid: v for _, origin, sid, v in c.changes
                   if origin == a.community}
            assert got == hub_records == want, c.cid
            # the directory's kinds and its own records are passed over
            assert {o for _, o, *_ in c.changes} == {a.community}
            assert sorted(c.bulletins) == sorted([bid, bid2]), c.cid
        no_encode_errors(hub)
    finally:
        for c in sessions:
            c.sess.close()
        stop_all(made)


def test_sessions_dropped_mid_build_leave_the_hub_serving(pki, tmp_path,
                                                          password_hash):
    made = []
    try:
        hub, a, want = loaded_hub(pki, tmp_path, password_hash, made)
        cid = unique_id("drop")
        hub.register(cid)
        cert = pki.node(cid)
        # two rounds of four sessions, and the last: within the flood
        # limit of 12 sessions a minute of one certificate
        for _ in range(2):
            # closed right after the Hello: its first batch is being built
            s = RawSession(hub, cert=cert)
            s.hello(cid, batch_bytes=RAW_BATCH_BYTES)
            s.ws.sock.close()
            # closed after its first batch (the next one being built)
            s = RawSession(hub, cert=cert)
            s.handshake(cid, batch_bytes=RAW_BATCH_BYTES)
            f = s.recv_frame(timeout=60)
            assert f.WhichOneof("body") == "changes"
            ack(s, f.changes.last_seq)
            s.ws.sock.close()
            # replaced by a newer session while its batch is built
            old = RawSession(hub, cert=cert)
            old.handshake(cid, batch_bytes=RAW_BATCH_BYTES)
            new = RawSession(hub, cert=cert)
            new.handshake(cid, batch_bytes=RAW_BATCH_BYTES,
                          epoch="e0000000000000001")
            code, _ = old.expect_close(timeout=60)
            assert code == 4409, code       # replaced
            new.close()
            old.close()
            hub.assert_alive()
        # the hub still serves a whole catch-up, and forgot nothing
        c = Catchup(hub, pki, cid)
        c.fill_window()
        c.finish(c.head, [])
        got = {sid: v for _, origin, sid, v in c.changes
               if origin == a.community}
        assert got == want
        c.sess.close()
        no_encode_errors(hub)
    finally:
        stop_all(made)              # exit 0 asserted: no ASan report

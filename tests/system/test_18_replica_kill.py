"""A hub replica SIGKILLed (issue 18's "Must be shown": while 10,000
services sync, and while a bulletin fans out): its nodes move to the
other replica ([hub] urls), and at the end every store equals the union
of the nodes' own records record by record, every node holds the
bulletin exactly once, the delivery view is right whichever replica
answers, and the restarted replica's copy equals the other's.

Each test runs ALLIANCE_KILL_ROUNDS rounds (default 1: `make check`;
`make soak` runs 5), each on a fresh PostgreSQL cluster, replicas and
nodes, killing at a point drawn from a seed the round prints. The sync
test moves ALLIANCE_KILL_SERVICES services (default 10,000, the issue's
size).

Real parts throughout: a PostgreSQL 15 cluster (tests/system/pg.py), two
replicas (replica 2 with a certificate of its own), nodes each listing
both replicas' URLs, some starting at each, and alliancectl.

Parts: the alliance; a kill mid-sync; a kill while a bulletin fans out.
"""

import itertools
import os
import random
import re
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import (BUILD, _env, alliancectl, stop_all, unique_id,
                      wait_for)
from pg import PG_BIN, SUPERUSER, pg  # noqa: F401 (pg: the fixture)
from test_13_failover import UrlsNode
from test_18_pg_replicas import (BULLETIN, CHANGES, DELIVERIES, OwnCertHub,
                                 PgHub, delivery_view, hub_stream, log_acks,
                                 log_rows, manager_hash,
                                 sleeping,  # noqa: F401
                                 wait_registered)
from test_20_sync import (ARRIVE, BULK_ARRIVE, bulk, bulk_items, create,
                          store_rows)
from test_30_bulletin import node_bulletins

# Rounds of each kill test, and the services the sync test moves.
KILL_ROUNDS = int(os.environ.get("ALLIANCE_KILL_ROUNDS", "1"))
KILL_SERVICES = int(os.environ.get("ALLIANCE_KILL_SERVICES", "10000"))
ROUNDS = [pytest.param(r, id=f"round{r + 1}") for r in range(KILL_ROUNDS)]


# ---- the alliance -----------------------------------------------------------

class Alliance:
    """Two replicas on pg (replica 2 with its own certificate) and
    per_hub nodes starting at each, every node listing both URLs (its
    own replica's first), every community registered at replica 1."""

    def __init__(self, pki, tmp_path, pg, manager_hash, per_hub):  # noqa: F811,E501
        self.made = []
        self.h1 = self.own(PgHub(tmp_path / "hub1", pki, pg.conninfo))
        self.h2 = self.own(OwnCertHub(tmp_path / "hub2", pki, pg.conninfo))
        self.hubs = [self.h1, self.h2]
        self.url = {h: f"wss://localhost:{h.alliance_port}/v1/sync"
                    for h in self.hubs}
        ids = [unique_id(f"k{i + 1}") for i in range(2 * per_hub)]
        for cid in ids:
            self.h1.register(cid)
        wait_registered(self.h2, *ids)
        self.at = {self.h1: [], self.h2: []}    # the nodes starting at each
        for k, cid in enumerate(ids):
            first = self.hubs[k % 2]
            other = self.hubs[1 - k % 2]
            n = UrlsNode(tmp_path / cid, pki, first, cid,
                         urls=[self.url[first], self.url[other]],
                         manager_hash=manager_hash)
            self.own(n)
            self.at[first].append(n)
        self.nodes = self.at[self.h1] + self.at[self.h2]
        for n in self.nodes:
            n.wait_connected()
        for h in self.hubs:
            for n in self.at[h]:
                assert n.hub_url() == self.url[h], n.label

    def own(self, daemon):
        self.made.append(daemon.start())
        return daemon

    def wait_moved(self, nodes, to, moves=1):
        """Every node of nodes holds its session at to, its moves-th move,
        each made at once (no backoff wait) but a move from the last of
        its URLs (the end of a round: a backoff wait unless the session
        there held 10 s, LIMIT_BACKOFF_HEALTHY_S)."""
        for n in nodes:
            wait_for(lambda n=n: n.hub_url() == self.url[to], ARRIVE,
                     f"{n.community} moved to {to.dir.name}")
            waits = n.counter("backoff_waits")
            assert n.counter("failovers") + waits == moves, n.label
            assert waits == 0 or n.urls.index(self.url[to]) == 0, n.label

    def wait_log_head(self, pg):  # noqa: F811
        """Both replicas have applied the whole log."""
        wait_for(lambda: self.h1.metrics()["alliance_shared_log_applied"] ==
                 self.h2.metrics()["alliance_shared_log_applied"] ==
                 int(pg.psql("SELECT max(seq) FROM alliance_log")[0][0]),
                 ARRIVE, "both replicas at the log's head")

    def stop(self):
        for d in self.nodes + self.hubs:
            d.stop()


@pytest.fixture
def alliance(pki, tmp_path, pg, manager_hash):  # noqa: F811
    made = []

    def make(per_hub):
        a = Alliance(pki, tmp_path, pg, manager_hash, per_hub)
        made.extend(a.made)
        return a
    try:
        yield make
    finally:
        stop_all(made)


def seeded(round_):
    """A Random for this round, its seed printed (to replay a failure)."""
    seed = random.randrange(1 << 30)
    print(f"round {round_ + 1}: random seed {seed}")
    return random.Random(seed)


class Psql:
    """One psql session held open, so that a query costs a round trip and
    not a process: rows(sql) returns its rows (lists of text)."""

    def __init__(self, pg):  # noqa: F811
        self.p = subprocess.Popen(
            [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
             "-h", str(pg.sock), "-p", str(pg.port), "-U", SUPERUSER,
             "-d", "alliance"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def rows(self, sql):
        self.p.stdin.write(f"{sql};\n\\echo -- end\n")
        self.p.stdin.flush()
        out = []
        while (line := self.p.stdout.readline().rstrip("\n")) != "-- end":
            assert line or self.p.poll() is None, "psql ended"
            if line:
                out.append(line.split("\t"))
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.p.stdin.close()
        self.p.wait(30)


def kill_between_commit_and_ack(hub, nodes, q, rnd):
    """SIGKILL hub at a moment when the log holds a batch of one of its
    nodes committed that hub has not yet applied to its copy, so not
    acked: the node must send it again elsewhere, where it is stale. Such
    a moment lasts from the commit until the hub reads the event back;
    hub is frozen (SIGSTOP) and looked at, again and again, until one is
    caught (or its nodes have nothing more to send: it is killed then
    too), and let run between looks for up to 20 ms (drawn from rnd: a
    hub frozen most of the time would take few batches). (freezes, such
    batches)."""
    ours = ", ".join(f"'{n.community}'" for n in nodes)
    for tries in itertools.count(1):
        hub.signal(signal.SIGSTOP)
        try:
            unacked = int(q.rows(
                f"SELECT count(*) FROM alliance_log WHERE kind = {CHANGES}"
                f" AND community IN ({ours}) AND seq > {applied_mark(hub)}")
                [0][0])
            done = tries % 20 == 0 and all(
                n.metrics()["alliance_node_up_head"] ==
                n.metrics()["alliance_node_up_acked"] for n in nodes)
        except BaseException:
            hub.signal(signal.SIGCONT)      # its stop at teardown
            raise
        if unacked or done:
            hub.kill()
            return tries, unacked
        hub.signal(signal.SIGCONT)
        time.sleep(rnd.uniform(0, 0.02))


def applied_mark(h):
    """The last event of the log replica h's stopped (or killed) copy
    applied."""
    db = sqlite3.connect(f"file:{h.dir / 'hub.db'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT value FROM hub_meta WHERE key ="
                              " 'shared_log_seq'").fetchone()[0])
    finally:
        db.close()


def assert_union(al):
    """Every stopped store (each replica's copy, each node's) holds
    exactly the union of the nodes' own records, record by record, and
    the replicas' catalog logs and directories are equal. The union's
    size."""
    own = {}
    for n in al.nodes:
        mine = store_rows(n.dir / "node.db", "origin = ?", (n.community,))
        assert not set(mine) & set(own)
        own.update(mine)
    for d, f in [(h, "hub.db") for h in al.hubs] + \
                [(n, "node.db") for n in al.nodes]:
        rows = store_rows(d.dir / f)
        missing, extra = set(own) - set(rows), set(rows) - set(own)
        assert not missing and not extra, \
            f"{d.dir.name}: {len(missing)} missing (e.g. " \
            f"{sorted(missing)[:3]}), {len(extra)} extra (e.g. " \
            f"{sorted(extra)[:3]})"
        changed = [k for k in own if rows[k] != own[k]]
        assert not changed, f"{d.dir.name}: versions differ: {changed[:3]}"
    assert hub_stream(al.h1.dir / "hub.db") == \
        hub_stream(al.h2.dir / "hub.db")
    return len(own)


# ---- a kill mid-sync --------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_replica_killed_while_services_sync(alliance, pg, round_):  # noqa: F811,E501
    """Four nodes, two starting at each replica, import KILL_SERVICES
    services between them at once; replica 1 is SIGKILLed once it has
    stored a number of its nodes' services drawn at random, at a moment
    when a batch of one of them is committed to the log and not yet in
    its copy (so not acked: it goes again, to replica 2, stale there),
    with more of their batches on the way (lost with it). Its nodes move
    to replica 2 at once and resume from their cursors; every node and
    replica 2 end with every service; replica 1, restarted at once, reads
    the log while replica 2 still appends to it. Then replica 2 is
    killed: every node moves to replica 1 and an edit at each reaches
    every other; replica 2 restarted catches up. Every store then equals
    the union of the nodes' own records, record by record."""
    rnd = seeded(round_)
    al = alliance(2)
    h1, h2 = al.h1, al.h2
    share = KILL_SERVICES // len(al.nodes)
    counts = {n.community: share for n in al.nodes}
    counts[al.nodes[0].community] += KILL_SERVICES - share * len(al.nodes)
    mine = sum(counts[n.community] for n in al.at[h1])
    aim = rnd.randrange(1, mine * 6 // 10)

    def stored_of_mine():
        return sum(h1.live_services(n.community) for n in al.at[h1])
    threads = [threading.Thread(target=bulk, args=(
        n, bulk_items(n.community, counts[n.community])))
        for n in al.nodes]
    for t in threads:
        t.start()
    try:
        got = wait_for(lambda: stored_of_mine() >= aim and
                       stored_of_mine(), BULK_ARRIVE,
                       f"replica 1 to store {aim} of its nodes' services",
                       interval=0.005)
        with Psql(pg) as q:
            tries, unacked = kill_between_commit_and_ack(h1, al.at[h1], q,
                                                        rnd)
    finally:
        for t in threads:
            t.join()
    # what replica 1's copy held when it died (its commits are durable)
    at_kill = stored_of_mine()
    print(f"replica 1 killed at {at_kill} of its nodes' {mine} services "
          f"(aimed at {aim}, seen {got}) after {tries} freezes, with "
          f"{unacked} of their batches committed and not acked")
    assert at_kill < mine, "the sync ended before the kill: not mid-sync"
    assert unacked > 0

    al.wait_moved(al.at[h1], h2)
    h1.start()      # reads the log into its copy while replica 2 appends

    def synced():
        cs = h2.communities()
        return all(cs[n.community]["connected"] and
                   cs[n.community]["up_lag"] == 0 and
                   cs[n.community]["down_lag"] == 0 and
                   h2.live_services(n.community) == counts[n.community]
                   for n in al.nodes)
    wait_for(synced, BULK_ARRIVE, "every node's records at replica 2 and "
             "replica 2's stream at every node")
    for n in al.nodes:
        wait_for(lambda n=n: n.live_services() == KILL_SERVICES,
                 BULK_ARRIVE, f"every service at {n.community}")
    wait_for(lambda: h1.live_services() == KILL_SERVICES, BULK_ARRIVE,
             "replica 1 caught up from the log")
    al.wait_log_head(pg)

    # the restarted replica takes every node when the other is killed,
    # their cursors (replica 2's numbering) meaning the same there
    h2.kill()
    al.wait_moved(al.at[h1], h1, 2)
    al.wait_moved(al.at[h2], h1)
    for n in al.nodes:
        create(n, f"After the second kill at {n.community}")
    total = KILL_SERVICES + len(al.nodes)
    for d in al.nodes + [h1]:
        wait_for(lambda d=d: d.live_services() == total, ARRIVE,
                 f"every later service at {d.dir.name}")
    h2.start()
    wait_for(lambda: h2.live_services() == total, ARRIVE,
             "replica 2 caught up from the log")
    al.wait_log_head(pg)
    al.stop()
    assert assert_union(al) == total


# ---- a kill while a bulletin fans out ---------------------------------------

# A trigger the test installs: every event of acks sleeps
# in its append's transaction, which holds the append lock, until the test
# deletes the row of ack_hold: no ack is committed, at any replica, until
# then.
HOLD_ACKS = f"""
CREATE TABLE ack_hold (x int);
INSERT INTO ack_hold VALUES (1);
CREATE FUNCTION ack_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM ack_hold);
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN NEW;
END $$;
CREATE TRIGGER ack_slow BEFORE INSERT ON alliance_log
  FOR EACH ROW WHEN (NEW.kind = {DELIVERIES}) EXECUTE FUNCTION ack_slow();
"""


def issue_waiting(al, first, then):
    """alliancectl bulletin issue --wait, started (not waited for) with
    HUB_ALLIANCE_URLS naming first, then then; the process."""
    crt, key = al.h1.pki.operator
    env = {k: v for k, v in _env().items()
           if not k.startswith("HUB_ALLIANCE_URL")}
    env.update({
        "HUB_ALLIANCE_URLS": " ".join(f"https://localhost:{h.alliance_port}"
                                      for h in (first, then)),
        "CA_CERT": str(al.h1.pki.ca), "OPERATOR_CERT": str(crt),
        "OPERATOR_KEY": str(key), "SIGNING_KEY": str(al.h1.pki.signing_key),
    })
    return subprocess.Popen(
        [str(BUILD / "alliancectl"), "bulletin", "issue",
         "--headline", "Typhoon: the shelters are open",
         "--description", "Typhoon signal 8 is up for the district.",
         "--cause", "A typhoon passes within 100 km tonight.",
         "--response", "Every community's shelter is open and staffed.",
         "--instructions", "Go to your shelter before 20:00.",
         "--wait", "--timeout", str(BULK_ARRIVE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def held_bulletins(n):
    """{id: rows} of node n's stopped store."""
    db = sqlite3.connect(f"file:{n.dir / 'node.db'}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT id, count(*) FROM bulletin"
                               " GROUP BY id").fetchall())
    finally:
        db.close()


def deliveries(h):
    """The delivery rows of replica h's stopped copy."""
    db = sqlite3.connect(f"file:{h.dir / 'hub.db'}?mode=ro", uri=True)
    try:
        return sorted(db.execute("SELECT bulletin, community, delivered_ms,"
                                 " refused FROM bulletin_delivery"))
    finally:
        db.close()


# How replica 1 dies while the bulletin fans out:
# "acked": issued at replica 1, which sends it to its nodes; they store
#   and ack it, and replica 1 is killed with their acks waiting in its
#   append (lost with it): they are sent it again at replica 2;
# "unsent": issued at replica 2 while replica 1 is stopped (SIGSTOP: it
#   has read nothing of it), then killed: its nodes first get it at
#   replica 2.
HOW = ["acked", "unsent"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("round_", ROUNDS)
def test_replica_killed_while_a_bulletin_fans_out(alliance, pg, round_,  # noqa: F811,E501
                                                  how):
    """Six nodes, three starting at each replica; no ack can commit (a
    trigger holds them) until replica 1 is SIGKILLed (see HOW), and the
    bulletin is issued with alliancectl --wait naming both replicas.
    Replica 1's nodes move to replica 2 and get the bulletin there;
    alliancectl reports every community delivered (its polls answered by
    replica 2 once replica 1 is gone); every node holds the bulletin once
    (one row, stored once); each community's ack is in the log once;
    replica 1 restarted shows the same delivery view and its copy equals
    replica 2's."""
    print(f"round {round_ + 1}, {how}")
    al = alliance(3)
    h1, h2 = al.h1, al.h2
    everyone = sorted(n.community for n in al.nodes)
    pg.psql(HOLD_ACKS)
    if how == "unsent":
        h1.signal(signal.SIGSTOP)
        ctl = issue_waiting(al, h2, h1)
    else:
        ctl = issue_waiting(al, h1, h2)
    try:
        bid = ctl.stdout.readline().strip()   # answered: committed
        assert re.fullmatch(r"[A-Za-z0-9._-]+", bid), bid
        assert len(log_rows(pg, BULLETIN)) == 1
        if how == "acked":
            wait_for(lambda: all(bid in node_bulletins(n)
                                 for n in al.at[h1]) and sleeping(pg),
                     ARRIVE, f"replica 1's nodes to hold {bid}, an ack "
                     "held")
        else:   # frozen, replica 1 sent nothing; its nodes are still on it
            assert not [n.label for n in al.at[h1]
                        if bid in node_bulletins(n)]
        h1.kill()                   # SIGKILL while the bulletin fans out
        assert not log_acks(pg), "an ack committed before the kill"
    finally:
        pg.psql("DELETE FROM ack_hold")
        try:
            out, err = ctl.communicate(timeout=BULK_ARRIVE + 60)
        except subprocess.TimeoutExpired:
            ctl.kill()
            out, err = ctl.communicate()
    assert ctl.returncode == 0, out + err
    assert f"delivered to all {len(everyone)} communities" in out, out
    if how == "acked":
        # its last polls were answered by replica 2
        assert f"trying https://localhost:{h2.alliance_port} next" in err, \
            err

    al.wait_moved(al.at[h1], h2)
    for n in al.nodes:
        wait_for(lambda n=n: bid in node_bulletins(n), ARRIVE,
                 f"{bid} at {n.community}")
    view = delivery_view(h2, bid)
    assert view[:3] == (len(everyone), len(everyone), "current"), view
    assert [(c, bool(d), r) for c, d, _, r in view[3]] == \
        [(c, True, None) for c in everyone]
    # each community's ack committed once: replica 1's were lost with it,
    # and replica 2 sent the bulletin once to each node it holds
    assert sorted(log_acks(pg)) == [(c, bid) for c in everyone]

    h1.start()
    al.wait_log_head(pg)
    assert delivery_view(h1, bid) == view
    status = [alliancectl(h, "bulletin", "status", bid) for h in al.hubs]
    for r in status:
        assert r.returncode == 0, r.stderr
        assert f"{len(everyone)} of {len(everyone)} communities have it" \
            in r.stdout, r.stdout
    assert status[0].stdout == status[1].stdout
    for n in al.nodes:
        assert n.metrics()["alliance_node_bulletins_stored_total"] == 1, \
            n.label
    al.stop()
    for n in al.nodes:
        assert held_bulletins(n) == {bid: 1}, n.label
        assert len(re.findall(rf"bulletins: stored \S+ {re.escape(bid)}\b",
                              n.log())) == 1, n.label
    assert deliveries(h1) == deliveries(h2)
    assert hub_stream(h1.dir / "hub.db") == hub_stream(h2.dir / "hub.db")

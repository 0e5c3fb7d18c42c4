"""Poll tallies from a hostile node (issue 13, finding 3 and the far-future
polls of item 10): a node's tally is taken only for its own community (the
certificate's), only for a poll whose area it is in, only until the poll is
final, with bounded counts that never fall. A refused tally is acked as
refused, the session goes on, and the district result the hub serves and
the nodes show is the sum of the stored per-community tallies, untouched.

Two real nodes (a, b) vote; two more communities are driven raw over the
sync websocket: h, in the poll's area, and x, outside it.
"""

import json
import sqlite3
import time

import pytest

from conftest import (Hub, RawSession, pb, stop_all, topology, unique_id,
                      wait_for)
from test_25_manager import api, get
from test_45_polls import resident, vote

VOTES_MAX = 10_000_000      # RELAY_VOTES_MAX
GRACE_S = 10                # RELAY_TALLY_GRACE_S


# ---- a hostile node's relay --------------------------------------------------------

def tally(origin, poll, counts, version):
    """A KIND_TALLY change of poll ("ORIGIN.ID") by origin."""
    porigin, pid = poll.split(".", 1)
    c = pb.Change(origin=origin, kind=pb.KIND_TALLY, id=poll,
                  version=version)
    c.tally.poll_origin = porigin
    c.tally.poll_id = pid
    c.tally.counts.extend(counts)
    c.tally.updated = int(time.time())
    return c


def community_poll(origin, pid, opens, version, closes=None):
    """A KIND_POLL change: origin's own poll pid opening at opens."""
    c = pb.Change(origin=origin, kind=pb.KIND_POLL, id=pid, version=version)
    c.poll.question = f"Flood {pid}?"
    c.poll.options.extend(["yes", "no"])
    c.poll.opens = opens
    c.poll.closes = closes or opens + 300 * 24 * 3600
    return c


def refused(ref, *words):
    return ref.refused and all(w in ref.reason for w in words)


# ---- what the hub serves and the nodes show ----------------------------------------

def hub_poll(hub, poll):
    r = get(hub.public_port, f"/api/v1/polls/{poll}")
    assert r.status == 200, r
    return r.json()


def per_community(p):
    return {c["community"]: c["counts"] for c in p["results"]["communities"]}


def assert_sum_of_tallies(p):
    """The district result is the sum of the per-community tallies."""
    per = per_community(p).values()
    want = [sum(x) for x in zip(*per)] if per else [0] * len(p["options"])
    assert p["results"]["counts"] == want, p
    assert p["results"]["votes"] == sum(want), p
    assert all(0 <= v <= VOTES_MAX for c in per for v in c), p


def nodes_agree(hub, nodes, poll):
    """Every node shows the hub's district result, community by community."""
    want = hub_poll(hub, poll)

    def same():
        for n in nodes:
            r = get(n.public_port, f"/api/v1/polls/{poll}")
            if r.status != 200:
                return False
            p = r.json()
            if (p["results"]["counts"] != want["results"]["counts"] or
                    per_community(p) != per_community(want)):
                return False
        return True
    wait_for(same, 20, "the nodes show the hub's result")
    return want


@pytest.fixture(scope="module")
def alliance(pki, tmp_path_factory, password_hash):
    """A hub, nodes a and b, and h and x registered without a node."""
    with topology(pki, tmp_path_factory.mktemp("tallies"), ["ta", "tb"],
                  manager_hash=password_hash) as t:
        h, x = unique_id("th"), unique_id("tx")
        for c in (h, x):
            t.hub.register(c)
        yield t.hub, t.nodes, h, x


def district_poll(hub, area, closes_in=3600):
    r = hub.api("POST", "/api/v1/polls", {
        "question": f"Repave the square? {unique_id('q')}",
        "options": ["yes", "no"], "area": area,
        "closes": int(time.time()) + closes_in})
    assert r.status == 201, r
    return r.json()["id"]


@pytest.fixture(scope="module")
def voted(alliance):
    """A district poll over a, b and h, with a's and b's residents' votes
    at the hub: (poll, the hub's view of it)."""
    hub, (a, b), h, _ = alliance
    poll = district_poll(hub, [a.community, b.community, h])
    for n in (a, b):
        wait_for(lambda n=n: get(n.public_port, f"/api/v1/polls/{poll}")
                 .status == 200, 15, f"the poll at {n.community}")
    assert vote(a, poll, resident(a), "yes") == 201
    assert vote(a, poll, resident(a), "no") == 201
    assert vote(b, poll, resident(b), "yes") == 201
    want = {a.community: [1, 1], b.community: [1, 0]}
    wait_for(lambda: per_community(hub_poll(hub, poll)) == want, 15,
             "a's and b's tallies at the hub")
    return poll


# ---- the attacks ----------------------------------------------------------------------

def test_tally_from_outside_the_area_is_refused(alliance, voted, pki):
    hub, nodes, _, x = alliance
    before = nodes_agree(hub, nodes, voted)
    with RawSession(hub, pki.node(x)) as s:
        s.handshake(x)
        refs = s.relay([tally(x, voted, [0, 5000], 1)])
        assert refused(refs[0], x, "not in the area"), refs
        s.alive()                       # refused, not closed
    after = nodes_agree(hub, nodes, voted)
    assert x not in per_community(after)
    assert after["results"] == before["results"]
    assert_sum_of_tallies(after)
    assert any(x in line and "not in the area" in line   # logged, named
               for line in hub.log().splitlines())


def test_tally_for_another_community_is_refused(alliance, voted, pki):
    hub, nodes, h, _ = alliance
    a = nodes[0].community
    before = hub_poll(hub, voted)
    # naming a's community in the record: the certificate says h
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        f = pb.Frame()
        f.relay.changes.append(tally(a, voted, [0, 900], 2 ** 40))
        s.send_frame(f)
        code, reason = s.expect_close()
    assert code == 4406 and a in reason and "origin" in reason, (code,
                                                                   reason)
    # a tally of a's own community poll, sent by h as itself
    r = api(nodes[0], "POST", "/api/v1/polls", {
        "question": "Paint the gate?", "options": ["green", "red"],
        "closes": int(time.time()) + 3600})
    assert r.status == 201, r
    own = r.json()["id"]
    wait_for(lambda: get(hub.public_port, f"/api/v1/polls/{own}").status
             == 200, 15, "a's poll at the hub")
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        refs = s.relay([tally(h, own, [0, 900], 1)])
        assert refused(refs[0], "another community's poll"), refs
        s.alive()
    assert hub_poll(hub, own)["results"]["votes"] == 0
    assert per_community(hub_poll(hub, own)) == {a: [0, 0]}
    after = nodes_agree(hub, nodes, voted)
    assert after["results"] == before["results"]


def test_wrapping_overflowing_and_falling_counts_are_refused(alliance, voted,
                                                             pki):
    hub, nodes, h, _ = alliance
    before = hub_poll(hub, voted)
    v = int(time.time() * 1e6)
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        refs = s.relay([
            tally(h, voted, [2 ** 64 - 1, 0], v + 1),        # -1 signed
            tally(h, voted, [2 ** 63, 2 ** 63], v + 2),      # sum wraps to 0
            tally(h, voted, [VOTES_MAX, 1], v + 3),          # over in all
            tally(h, voted, [VOTES_MAX + 1, 0], v + 4),      # over alone
            tally(h, voted, [1, 2, 3], v + 5),               # 3 of 2 options
        ])
        assert refused(refs[0], "counts[0]"), refs[0]
        assert refused(refs[1], "counts[0]"), refs[1]
        assert refused(refs[2], "in all"), refs[2]
        assert refused(refs[3], "counts[0]"), refs[3]
        assert refused(refs[4], "options"), refs[4]
        s.alive()
        assert h not in per_community(hub_poll(hub, voted))
        assert hub_poll(hub, voted)["results"] == before["results"]
        # the same session goes on: an honest count is taken
        refs = s.relay([tally(h, voted, [3, 1], v + 10)])
        assert not refs[0].refused, refs
        # a count that falls is refused (votes are never taken back), a
        # replay of an older version changes nothing and is not refused
        refs = s.relay([tally(h, voted, [2, 9], v + 11),
                         tally(h, voted, [0, 0], v + 9)])
        assert refused(refs[0], "counts[0]", "never taken back"), refs[0]
        assert not refs[1].refused, refs[1]
    after = nodes_agree(hub, nodes, voted)
    assert per_community(after)[h] == [3, 1]
    want = [b + t for b, t in zip(before["results"]["counts"], [3, 1])]
    assert after["results"]["counts"] == want
    assert_sum_of_tallies(after)


def test_result_is_the_sum_of_stored_tallies(alliance, voted):
    """No running total to desync: what the hub serves is recomputed from
    the per-community rows of its store, and every node agrees."""
    hub, nodes, _, _ = alliance
    p = nodes_agree(hub, nodes, voted)
    assert_sum_of_tallies(p)
    db = sqlite3.connect(f"file:{hub.dir / hub.store_file}?mode=ro",
                         uri=True)
    try:
        rows = db.execute("SELECT community, counts FROM tally WHERE"
                          " poll_origin = 'district' AND poll_id = ?",
                          (voted.split(".", 1)[1],)).fetchall()
    finally:
        db.close()
    stored = {c: json.loads(counts) for c, counts in rows}
    assert stored == per_community(p)
    assert p["results"]["counts"] == [sum(x) for x in
                                      zip(*stored.values())]


def test_tally_after_the_close_is_refused_and_the_outcome_stays(alliance,
                                                                 pki):
    hub, (a, b), h, _ = alliance
    poll = district_poll(hub, [a.community, h], closes_in=4)
    wait_for(lambda: get(a.public_port, f"/api/v1/polls/{poll}").status
             == 200, 15, "the poll at a")
    late = resident(a)
    assert vote(a, poll, resident(a), "yes") == 201
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        refs = s.relay([tally(h, poll, [0, 0], 1)])
        assert not refs[0].refused, refs     # open: taken
    wait_for(lambda: per_community(hub_poll(hub, poll)).get(a.community)
             == [1, 0], 15, "a's tally")
    final = wait_for(lambda: "outcome" in hub_poll(hub, poll) and
                     hub_poll(hub, poll), 4 + GRACE_S + 20, "the outcome")
    assert final["closed"] and final["outcome"]["winner"] == "yes"
    # the node counts no more after the close, and sends nothing
    assert vote(a, poll, late, "no") == 409
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        refs = s.relay([tally(h, poll, [0, 50], 2)])
        assert refused(refs[0], "final"), refs
        s.alive()
    after = hub_poll(hub, poll)
    assert after["outcome"] == final["outcome"]
    assert after["results"] == final["results"]
    assert per_community(after)[h] == [0, 0]
    p = get(a.public_port, f"/api/v1/polls/{poll}").json()
    assert p["outcome"] == final["outcome"]
    assert p["results"]["counts"] == final["results"]["counts"]


# ---- the far-future flood (item 10) -----------------------------------------------------

def test_a_flood_of_polls_hides_no_district_poll(alliance, voted, pki):
    hub, (a, _), h, _ = alliance
    now = int(time.time())
    v = int(now * 1e6)
    r = api(a, "POST", "/api/v1/polls", {
        "question": "Open the garden at night?", "options": ["yes", "no"],
        "closes": now + 3600})
    assert r.status == 201, r
    a_poll = r.json()["id"]
    wait_for(lambda: get(hub.public_port, f"/api/v1/polls/{a_poll}").status
             == 200, 15, "a's poll at the hub")
    far = now + 10 * 366 * 24 * 3600
    with RawSession(hub, pki.node(h)) as s:
        s.handshake(h)
        for k in range(2):           # at most 64 records a frame
            refs = s.relay([community_poll(h, f"far{k}x{i}", far,
                                            v + 100 * k + i)
                             for i in range(60)])
            assert all(refused(r, "opens", "ahead") for r in refs), refs
        # opening now, as a node may: taken, but they push nothing out
        for k in range(2):
            refs = s.relay([community_poll(h, f"now{k}x{i}", now,
                                            v + 1000 + 100 * k + i)
                             for i in range(60)])
            assert not any(r.refused for r in refs), refs
        s.alive()
    items = get(hub.public_port, "/api/v1/polls").json()["items"]
    ids = [p["id"] for p in items]
    assert not any(i.startswith(f"{h}.far") for i in ids)
    assert voted in ids and a_poll in ids, ids
    flood = [i for i, x in enumerate(ids) if x.startswith(f"{h}.now")]
    assert len(ids) == 100 and flood, ids    # the list stays bounded
    assert ids.index(voted) < flood[0], ids
    opened = [p for p in items if not p["closed"]]
    assert opened[0]["origin"] == "district", [p["id"] for p in opened]
    assert ids.index(a_poll) < 10, ids   # a's turn comes early, not last
    # the node's own list: open polls first, the district's among them
    n_ids = [p["id"] for p in get(a.public_port, "/api/v1/polls")
             .json()["items"]]
    assert voted in n_ids and a_poll in n_ids


# ---- a store attacked before the rules ------------------------------------------------

def test_tallies_stored_against_the_rules_are_dropped_on_upgrade(pki,
                                                                  tmp_path):
    """Migration v11: a hub whose store took hostile tallies before these
    rules drops them, so the result recomputed from its rows is sound."""
    hub = Hub(tmp_path / "hub", pki).start()
    try:
        a, b, x = unique_id("ma"), unique_id("mb"), unique_id("mx")
        for c in (a, b, x):
            hub.register(c)
        poll = district_poll(hub, [a, b])
        own = f"{a}.p1"
        hub.stop()
        db = sqlite3.connect(hub.dir / hub.store_file)
        with db:
            pid = poll.split(".", 1)[1]
            db.executemany(
                "INSERT INTO tally (poll_origin, poll_id, community, version,"
                " counts, updated) VALUES (?, ?, ?, 1, ?, 0)", [
                    ("district", pid, a, "[-1,4]"),           # wrapped
                    ("district", pid, x, "[7,0]"),            # outside
                    ("district", pid, b, "[2,3]"),            # stays
                ])
            db.execute("INSERT INTO poll (origin, id, version, question,"
                       " options, opens, closes) VALUES (?, 'p1', 1, 'Q?',"
                       " '[\"y\",\"n\"]', 0, 9999999999)", (a,))
            db.executemany(
                "INSERT INTO tally (poll_origin, poll_id, community, version,"
                " counts, updated) VALUES (?, 'p1', ?, 1, ?, 0)", [
                    (a, x, "[1,0]"),                       # another's poll
                    (a, a, f"[{VOTES_MAX},1]"),            # over in all
                ])
            # what schemas 16 (the usage kept) and 15 (check-in counts)
            # added: they run again
            for t in ("service", "announcement"):
                for w in ("insert", "delete", "update"):
                    db.execute(f"DROP TRIGGER {t}_usage_{w}")
                db.execute(f"DROP INDEX {t}_version")
            db.execute("DROP TABLE catalog_usage")
            db.execute("DROP TABLE checkin_count")
            db.execute("PRAGMA user_version = 13")
        db.close()
        hub.start()
        p = hub_poll(hub, poll)
        assert per_community(p) == {b: [2, 3]}
        assert_sum_of_tallies(p)
        assert per_community(hub_poll(hub, own)) == {}
    finally:
        stop_all([hub])

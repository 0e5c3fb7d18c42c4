"""Relayed records across hub replicas over one PostgreSQL database (issue
18, item 2): service requests and their statuses, district polls and their
tallies, check-in counts, each an event of the shared log.

Real PostgreSQL (tests/system/pg.py), two real hub replicas each with its
own sqlite copy, real nodes at each (test_18_pg_replicas's fixture).
Parts: a request across replicas and its personal data after delivery; a
district poll created at replica 2 and its tallies from both; check-in
counts from both; a poll and a Relay refused while the database is
away.
"""

import sqlite3
import time

import pytest

from conftest import (RawSession, hash_password, pb, stop_all, unique_id,
                      wait_for)
from pg import pg  # noqa: F401 (the fixture)
from test_18_pg_replicas import (PgHub, allow_1013, claims,  # noqa: F401,E501
                                 log_rows, replicas)
from test_20_sync import ARRIVE
from test_25_manager import PASSWORD, api, get, service_seen
from test_30_bulletin import issue, node_bulletins
from test_40_requests import full, hub_holds, post311, queue
from test_45_polls import resident, vote
from test_46_poll_tallies import community_poll
from test_49_checkin import answer, hub_counts

# pglog.h's kinds of the relay's events
RELAY, RELAYED, POLL = 7, 8, 9


@pytest.fixture(scope="module")
def manager_hash():
    """The managers of the replicas' nodes sign in as test_25's api()."""
    return hash_password(PASSWORD)


def log_bodies(pg):  # noqa: F811
    """Every body of the shared log, as bytes."""
    return [bytes.fromhex(b[2:]) for (b,) in pg.psql(
        "SELECT body FROM alliance_log ORDER BY seq")]


def relay_table(path):
    """{(origin, kind, id, destination): (delivered, body)} of a stopped
    or running hub's sqlite copy."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {(o, k, i, d): (dl, b) for o, k, i, d, dl, b in db.execute(
            "SELECT origin, kind, id, destination, delivered, body"
            " FROM relay")}
    finally:
        db.close()


def test_request_across_replicas_and_its_personal_data(replicas, pg, pki,  # noqa: F811,E501
                                                       tmp_path):
    """A resident's request at a node of replica 1 to a community at
    replica 2 arrives there, its status comes back, and once delivered
    its name, phone and address are in neither replica's copy nor in any
    body of the shared log (the request's event was cut to its first
    part in the transaction of the delivery), while the request's
    figures are alike at both replicas; a replica started afterwards
    reads the cut log into the same figures and rows."""
    (h1, h2), ([a], [b]) = replicas()
    code = service_seen(b, a, {"title": "Haircut at home",
                               "category": "elderly-care",
                               "delivery": ["home-visit"]},
                        "b's service at a")
    phone, address = "13800138077", "No. 9 Elm Lane, flat 4"
    r = post311(a, full(code, phone=phone, address_string=address))
    assert r.status == 201, r
    rid, token = (r.json()[0]["service_request_id"],
                  r.json()[0]["request_secret"])
    item = wait_for(lambda: queue(b).get(rid), ARRIVE,
                    "a's request (replica 1) at b (replica 2)")
    assert item["phone"] == phone and item["address"] == address
    r = api(b, "PATCH", f"/api/v1/requests/{rid}",
            {"status": "scheduled", "status_notes": "Tuesday 10:00",
             "scheduled": "2030-01-01T10:00:00Z"})
    assert r.status == 200, r

    def back():
        r = get(a.public_port,
                f"/open311/v2/requests/{rid}.json?token={token}")
        return r.json()[0]["alliance_status"] == "scheduled"
    wait_for(back, ARRIVE, "b's status (replica 2) back at a (replica 1)")

    # the request and its status went through the log, the acks too
    kinds = [k for (k,) in pg.psql("SELECT kind FROM alliance_log")]
    assert RELAY in map(int, kinds) and RELAYED in map(int, kinds)
    for secret in (phone, address, "Xiuying"):
        wait_for(lambda s=secret: not any(s.encode() in body for body in
                                          log_bodies(pg)),
                 ARRIVE, f"{secret} cut off the shared log")
        for h in (h1, h2):
            wait_for(lambda s=secret, h=h: not hub_holds(h, s), ARRIVE,
                     f"{secret} gone from {h.dir.name}'s copy")
    # ... the request's event kept the rest: its service, its owner
    assert any(rid.encode() in body and code.split(".", 1)[1].encode()
               in body for body in log_bodies(pg))

    def stats(h):
        return {s["community"]: (s["requests"], s["done"]) for s in
                h.api("GET", "/api/v1/requests/stats").json()["items"]}
    wait_for(lambda: stats(h1) == stats(h2) == {b.community: (1, 0)},
             ARRIVE, "the request's figures alike at both replicas")
    # both copies hold the same relay rows, each delivered, bodiless
    wait_for(lambda: h1.metrics()["alliance_shared_log_applied"] ==
             h2.metrics()["alliance_shared_log_applied"] ==
             int(pg.psql("SELECT max(seq) FROM alliance_log")[0][0]),
             ARRIVE, "both replicas at the log's head")
    rows1, rows2 = relay_table(h1.dir / "hub.db"), \
        relay_table(h2.dir / "hub.db")
    assert rows1 == rows2 and rows1, rows1
    assert all(v == (1, None) for v in rows1.values()), rows1

    h3 = PgHub(tmp_path / "hub3", pki, pg.conninfo).start()
    try:
        wait_for(lambda: h3.metrics()["alliance_shared_log_applied"] ==
                 int(pg.psql("SELECT max(seq) FROM alliance_log")[0][0]),
                 ARRIVE, "the late replica at the log's head")
        assert stats(h3) == stats(h1)
        assert relay_table(h3.dir / "hub.db") == rows1
        for secret in (phone, address, "Xiuying"):
            assert not hub_holds(h3, secret), secret
    finally:
        stop_all([h3])


def test_district_poll_at_replica_2_tallies_from_both(replicas, pg):  # noqa: F811,E501
    """A district poll created at replica 2 is answered after its event
    committed, reaches the nodes of both replicas, and the tallies of
    nodes at both replicas sum alike at either replica's API; each node
    is sent the other's tally, whichever replica it is at."""
    (h1, h2), ([a], [b]) = replicas()
    r = h2.api("POST", "/api/v1/polls",
               {"question": "Open the library on Sundays?",
                "options": ["yes", "no"],
                "closes": int(time.time()) + 3600})
    assert r.status == 201, r
    poll = r.json()["id"]
    assert [c for _, c, _ in log_rows(pg, POLL)] == ["district"]
    for n in (a, b):
        wait_for(lambda n=n: get(n.public_port, f"/api/v1/polls/{poll}")
                 .status == 200, ARRIVE, f"the poll at {n.community}")
    for n, option, k in ((a, 0, 2), (b, 1, 3)):
        for _ in range(k):
            assert vote(n, poll, resident(n), option) == 201

    def result(h):
        r = h.api("GET", f"/api/v1/polls/{poll}")
        assert r.status == 200, r
        res = r.json()["results"]
        return (res["counts"], sorted((c["community"], c["counts"])
                                      for c in res["communities"]))
    want = ([2, 3], sorted([(a.community, [2, 0]), (b.community, [0, 3])]))
    for h in (h1, h2):
        wait_for(lambda h=h: result(h) == want, ARRIVE,
                 f"the sum of both tallies at {h.dir.name}")

    def sees(n, other, counts):
        got = get(n.public_port, f"/api/v1/polls/{poll}").json()
        return any(c.get("community") == other and c.get("counts") == counts
                   for c in got["results"]["communities"])
    wait_for(lambda: sees(a, b.community, [0, 3]), ARRIVE,
             "b's tally (replica 2) at a (replica 1)")
    wait_for(lambda: sees(b, a.community, [2, 0]), ARRIVE,
             "a's tally (replica 1) at b (replica 2)")


def test_checkin_counts_from_both_replicas(replicas):  # noqa: F811
    """A check-in bulletin posted at replica 1: counts from a node at
    each replica show, alike, at either replica's API."""
    (h1, h2), ([a], [b]) = replicas()
    bid, _ = issue(h1, "--check-in", "--wait", headline="Rainstorm")
    for n in (a, b):
        wait_for(lambda n=n: bid in node_bulletins(n), ARRIVE,
                 f"the bulletin at {n.community}")
    for n, state, k in ((a, "safe", 2), (b, "help", 1)):
        for _ in range(k):
            r = answer(n, bid, state)
            assert r.status == 200, r
    want = {a.community: {"anonymous_safe": 2, "anonymous_help": 0},
            b.community: {"anonymous_safe": 0, "anonymous_help": 1}}
    for h in (h1, h2):
        for cid, counts in want.items():
            wait_for(lambda h=h, cid=cid, counts=counts:
                     (hub_counts(h, bid, cid) or {}).items() >=
                     counts.items(), ARRIVE,
                     f"{cid}'s counts at {h.dir.name}")
    totals = [h.api("GET", f"/api/v1/bulletins/{bid}").json()
              ["check_in_counts"] for h in (h1, h2)]
    assert totals[0] == totals[1]
    assert totals[0]["anonymous_safe"] == 2
    assert totals[0]["anonymous_help"] == 1


def test_poll_and_relay_refused_while_the_database_is_away(
        replicas, pg, pki, monkeypatch):  # noqa: F811
    """PostgreSQL stopped: a district poll is refused with 503
    unavailable and the cause, a node's Relay with 1013 and the cause,
    neither stored anywhere; with the database back, a poll goes out
    again."""
    allow_1013(monkeypatch)
    (h1, h2), ([a], [b]) = replicas()
    cid = unique_id("away")
    h1.register(cid)
    with RawSession(h1, pki.node(cid)) as s:
        s.handshake(cid)
        wait_for(lambda: claims(pg, cid) == 1, ARRIVE,
                 "the session's claim in the log")
        mark = h1.log_mark()
        pg.stop()
        h1.wait_log(r"pglog: .*(unreachable|connection lost)", ARRIVE,
                    since=mark)
        f = pb.Frame()
        f.relay.changes.extend([community_poll(cid, "p1", int(time.time()),
                                               1)])
        s.send_frame(f)
        code, reason = s.expect_close()
    assert code == 1013, (code, reason)
    assert "try again later" in reason and "database" in reason, reason
    body = {"question": "Repaint the wall?", "options": ["yes", "no"],
            "closes": int(time.time()) + 3600}
    r = h1.api("POST", "/api/v1/polls", body)
    assert r.status == 503, r
    err = r.json()["error"]
    assert err["code"] == "unavailable" and "database" in err["message"], r
    assert h1.api("GET", "/api/v1/polls").json()["items"] == []
    mark = h1.log_mark()
    pg.start()
    h1.wait_log(r"pglog: connected", ARRIVE, since=mark)
    r = h1.api("POST", "/api/v1/polls", body)
    assert r.status == 201, r
    poll = r.json()["id"]
    for n in (a, b):
        wait_for(lambda n=n: get(n.public_port, f"/api/v1/polls/{poll}")
                 .status == 200, ARRIVE, f"the poll at {n.community}")
    for h in (h1, h2):
        assert [p["id"] for p in h.api("GET", "/api/v1/polls").json()
                ["items"]] == [poll]
        assert h.api("GET", f"/api/v1/polls/{cid}.p1").status == 404

"""Relayed requests under attack (issue 13, findings 4 and 5 and the small
items about requests): a compromised node, driven raw over the sync
websocket with its real certificate, floods another community's queue
and copies request ids; the hub refuses what the design does not allow,
the owner's queue keeps real requests in sight, answers reach the real
resident, public listings show no free text or notes, and phone numbers
stay out of the logs.

One hub (debug log) with two real nodes, A (where residents live) and C
(the owner of a service, with a manager password), and a community B
registered for the attacker's raw session (module fixture). The quota
test starts its own hub with a small [quota]; the log test its own node.
"""

import http.client
import itertools
import json
import re
import sqlite3
import time
import urllib.parse
from types import SimpleNamespace

import pytest

from conftest import (Hub, Node, RawSession, pb, start_topology, stop_all,
                      topology, unique_id, unknown_body_frame, wait_for)
from test_05_config import run
from test_25_manager import api, get, service_seen
from test_40_requests import full, post311

_versions = itertools.count(int(time.time() * 1_000_000))
_serial = itertools.count(1)
YEAR = 365 * 24 * 3600


class DebugNode(Node):
    """A node logging at debug level: everything it would ever log."""

    def config_text(self):
        return super().config_text().replace("level = info", "level = debug")


class Attacker:
    """Community cid's raw session: what a compromised node can send."""

    def __init__(self, hub, cid):
        self.cid = cid
        self.s = RawSession(hub, cert=hub.pki.node(cid))
        self.s.handshake(cid)

    def close(self):
        self.s.close()

    def scoped(self):
        return f"{self.cid}.{next(_serial):016x}"

    def _ack(self, relay):
        ack = pb.Frame()
        for ch in relay.changes:
            ack.relay_ack.refs.add(origin=ch.origin, kind=ch.kind, id=ch.id,
                                   version=ch.version)
        self.s.send_frame(ack)

    def _next(self, want):
        """The next frame of body want; the hub's Relay frames met on
        the way are acked."""
        while True:
            got = self.s.recv_skipping_changes()
            kind = got.WhichOneof("body")
            if kind == want:
                return got
            assert kind == "relay", f"unexpected frame: {got}"
            self._ack(got.relay)

    def alive(self):
        """The session is still served: a frame of an unknown body gets
        its Error."""
        self.s.send_bytes(unknown_body_frame())
        return self._next("error").error.code == pb.ERROR_UNKNOWN_BODY

    def relay(self, changes):
        """Send changes in Relay frames of at most 50; the hub's RelayRefs
        for them, in order. Relay frames the hub sends meanwhile (the
        owner's receipts) are acked, as a node would."""
        refs = []
        for i in range(0, len(changes), 50):
            f = pb.Frame()
            f.relay.changes.extend(changes[i:i + 50])
            self.s.send_frame(f)
            refs.extend(self._next("relay_ack").relay_ack.refs)
        return refs


def request(origin, rid, owner, service_id, requested=None, **fields):
    """A Request change as a node would relay it."""
    ch = pb.Change(origin=origin, kind=pb.KIND_REQUEST, id=rid,
                   version=next(_versions))
    r = ch.request
    r.owner, r.service_id = owner, service_id
    r.description = "please come"
    r.name, r.phone, r.address = "Fake Name", "13900000000", "Nowhere 1"
    r.requested = int(time.time()) if requested is None else requested
    for k, v in fields.items():
        setattr(r, k, v)
    return ch


@pytest.fixture(scope="module")
def ring(pki, tmp_path_factory, password_hash):
    """A and C with their nodes; B, registered, is the Attacker."""
    d = tmp_path_factory.mktemp("abuse")
    with topology(pki, d, ["aba", "abc"], hub_kw={"log_level": "debug"},
                  manager_hash=password_hash) as t:
        hub, (na, nc) = t.hub, t.nodes
        b = unique_id("abb")
        hub.register(b)
        code = service_seen(nc, na, {
            "title": "Bathing help at home", "category": "elderly-care",
            "delivery": ["home-visit"]}, "C's service")
        attacker = Attacker(hub, b)
        try:
            yield SimpleNamespace(hub=hub, a=na, c=nc, b=attacker,
                                  sid=code.split(".", 1)[1], code=code, d=d,
                                  hash=password_hash)
        finally:
            attacker.close()


def queue_page(node, **params):
    q = urllib.parse.urlencode(params)
    r = api(node, "GET", "/api/v1/requests" + (f"?{q}" if q else ""),
            content_type=None)
    assert r.status == 200, r
    return r.json()


def origin_counts(node, community):
    for o in queue_page(node, limit=1)["origins"]:
        if o["community"] == community:
            return o
    return {"community": community, "open": 0, "total": 0}


def relay_refused(hub, community, reason):
    return hub.metrics().get(
        f'alliance_relay_refused_community_total{{community="{community}",'
        f'reason="{reason}"}}', 0)


def hub_rows(hub, sql, *args):
    db = sqlite3.connect(f"file:{hub.dir / 'hub.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def close_all_open(node):
    """Answer done every open request of node's queue (a clean slate)."""
    while True:
        items = [x for x in queue_page(node, limit=100)["items"]
                 if x["status"] == "open"]
        if not items:
            return
        for x in items:
            r = api(node, "PATCH",
                    f"/api/v1/requests/{x['service_request_id']}",
                    {"status": "done"})
            assert r.status == 200, r


def ask(node, code, **kw):
    r = post311(node, full(code, **kw))
    assert r.status == 201, r
    return r.json()[0]["service_request_id"], r.json()[0]["request_secret"]


def follow(node, rid, token=None):
    path = f"/open311/v2/requests/{rid}.json" + (f"?token={token}"
                                                 if token else "")
    r = get(node.public_port, path)
    assert r.status == 200, r
    return r.json()[0]


# ---- finding 4: burying a queue ---------------------------------------------

def test_flood_for_a_service_the_owner_lacks_is_refused_at_the_hub(ring):
    """1,000 requests dated a month back for a service C does not have (and
    for one it does not take requests for) are refused at the hub, one by
    one in the ack, without closing the session; C's queue is untouched."""
    c = ring.c.community
    r = api(ring.c, "POST", "/api/v1/services", {
        "title": "Closed for good", "category": "other",
        "status": "inactive"})
    assert r.status == 201, r
    inactive = r.json()["id"]
    wait_for(lambda: hub_rows(ring.hub, "SELECT status FROM service WHERE"
                              " origin = ? AND id = ?", c, inactive)
             == [("inactive",)], 20, "the inactive service at the hub")
    before = queue_page(ring.c)["total"]
    month_ago = int(time.time()) - 30 * 24 * 3600
    flood = [request(ring.b.cid, ring.b.scoped(), c, "no-such-service",
                     requested=month_ago) for _ in range(1000)]
    flood.append(request(ring.b.cid, ring.b.scoped(), c, inactive))
    refs = ring.b.relay(flood)
    assert len(refs) == len(flood)
    assert all(ref.refused for ref in refs), [r for r in refs
                                              if not r.refused][:3]
    assert "offers no service no-such-service" in refs[0].reason
    assert f"no service {inactive}" in refs[-1].reason
    assert ring.b.alive()
    assert relay_refused(ring.hub, ring.b.cid, "no_service") >= 1001
    ring.hub.wait_log(r"relay %s: refused %s\.[0-9a-f]+: .*no service" %
                      (ring.b.cid, ring.b.cid))
    assert queue_page(ring.c)["total"] == before
    assert not hub_rows(ring.hub, "SELECT 1 FROM relay WHERE origin = ?"
                        " AND destination = ?", ring.b.cid, c)


def test_flood_from_one_origin_never_hides_a_real_request(ring):
    """60 past-dated requests for a real service from one origin take their
    turns in C's queue: the community's own resident, then A's, come
    first, a later real request stays on the first page, the queue is
    ordered by when C received them (waiting_s), and paging with a total
    shows every request once."""
    c, b = ring.c.community, ring.b.cid
    close_all_open(ring.c)
    rid_a, _ = ask(ring.a, ring.code)
    wait_for(lambda: any(x["service_request_id"] == rid_a for x in
                         queue_page(ring.c, limit=100)["items"]), 20,
             "A's request in C's queue")
    rid_c, _ = ask(ring.c, ring.code)
    year_ago = int(time.time()) - YEAR
    flood = [request(b, ring.b.scoped(), c, ring.sid,
                     requested=year_ago - k) for k in range(60)]
    refs = ring.b.relay(flood)
    assert not any(ref.refused for ref in refs), refs[0].reason
    wait_for(lambda: origin_counts(ring.c, b)["open"] >= 60, 20,
             "the flood in C's queue")
    rid_a2, _ = ask(ring.a, ring.code)
    wait_for(lambda: origin_counts(ring.c, ring.a.community)["open"] >= 2,
             20, "A's second request in C's queue")

    page = queue_page(ring.c, limit=5)
    ids = [x["service_request_id"] for x in page["items"]]
    # turns: C's own, then A's and B's first (within one second of C's
    # clock, in no set order), then A's and B's second
    assert ids[0] == rid_c, ids
    assert sorted(i.split(".")[0] for i in ids[1:3]) == sorted(
        [ring.a.community, b]), ids
    assert {rid_a, rid_a2} <= set(ids), ids
    assert page["open"] >= 63 and page["total"] >= page["open"]
    assert "next" in page
    origins = {o["community"]: o for o in page["origins"]}
    assert origins[b]["open"] >= 60
    assert next(iter(origins)) == b     # the most open first: the flood
    flooded = next(x for x in page["items"] if x["community"] == b)
    assert flooded["waiting_s"] < 3600      # C's clock, not the claim
    assert flooded["requested_datetime"].startswith(
        time.strftime("%Y", time.gmtime(year_ago)))

    seen, after = [], None
    while True:
        p = queue_page(ring.c, limit=7, **({"after": after} if after else {}))
        seen += [x["service_request_id"] for x in p["items"]]
        if "next" not in p:
            break
        after = p["next"]
    assert len(seen) == len(set(seen)) == page["total"]
    assert len(queue_page(ring.c, limit="9" * 12)["items"]) == min(
        100, page["total"])     # larger: clamped
    for bad in ({"limit": "0"}, {"limit": "x"}, {"after": "-1"},
                {"after": "9" * 12}):
        r = api(ring.c, "GET", "/api/v1/requests?" +
                urllib.parse.urlencode(bad), content_type=None)
        assert r.status == 422, (bad, r)
        assert r.json()["error"]["code"] == "invalid"


# ---- finding 5: a copied id --------------------------------------------------

def test_a_copied_request_id_cannot_take_the_answer(ring):
    """B copies a request id from A's public listing and files its own
    request under it (as is, and bare as ids were before): the hub refuses
    both; C's answer goes back to A only and the resident sees it."""
    c, b = ring.c.community, ring.b.cid
    rid, token = ask(ring.a, ring.code)
    assert rid.startswith(ring.a.community + "."), rid
    listed = [x["service_request_id"] for x in
              get(ring.a.public_port, "/open311/v2/requests.json").json()]
    assert rid in listed        # ids stay public: they cannot be taken
    bare = rid.split(".", 1)[1]
    refs = ring.b.relay([request(b, rid, c, ring.sid),
                         request(b, bare, c, ring.sid)])
    assert [r.refused for r in refs] == [True, True]
    assert all(f"not an id of {b}" in r.reason for r in refs), refs
    assert relay_refused(ring.hub, b, "foreign_id") >= 2
    assert not hub_rows(ring.hub, "SELECT 1 FROM request_stat WHERE"
                        " origin = ?1 AND id IN (?2, ?3)", b, rid, bare)

    wait_for(lambda: any(x["service_request_id"] == rid for x in
                         queue_page(ring.c, limit=100)["items"]), 20,
             "A's request in C's queue")
    r = api(ring.c, "PATCH", f"/api/v1/requests/{rid}",
            {"status": "acknowledged", "status_notes": "Tuesday at ten"})
    assert r.status == 200, r
    assert r.json()["community"] == ring.a.community
    got = wait_for(lambda: (lambda x: x["alliance_status"] == "acknowledged"
                            and x)(follow(ring.a, rid, token)), 20,
                   "C's answer at A")
    assert got["status_notes"] == "Tuesday at ten"
    assert [s["status"] for s in got["steps"]][-1] == "acknowledged"
    assert not hub_rows(ring.hub, "SELECT 1 FROM relay WHERE destination ="
                        " ? AND id = ?", b, rid)
    assert hub_rows(ring.hub, "SELECT 1 FROM relay WHERE destination = ?"
                    " AND id = ? AND kind = ?", ring.a.community, rid,
                    pb.KIND_REQUEST_STATUS)


# ---- the small items ------------------------------------------------------------

def test_public_listings_show_no_free_text_or_notes(ring):
    """The resident's description and the manager's notes are hers: the
    public listing and a request's page without its token show neither,
    at either node; her token shows both."""
    desc, notes = "my knee hurts DESC-7f3a", "we bring a chair NOTE-9c2e"
    rid, token = ask(ring.a, ring.code, description=desc)
    wait_for(lambda: any(x["service_request_id"] == rid for x in
                         queue_page(ring.c, limit=100)["items"]), 20,
             "the request in C's queue")
    r = api(ring.c, "PATCH", f"/api/v1/requests/{rid}",
            {"status": "scheduled", "status_notes": notes,
             "scheduled": "2030-01-01T10:00:00Z"})
    assert r.status == 200, r
    mine = wait_for(lambda: (lambda x: x["alliance_status"] == "scheduled"
                             and x)(follow(ring.a, rid, token)), 20,
                    "the answer at A")
    assert mine["description"] == desc and mine["status_notes"] == notes
    assert any(s.get("notes") == notes for s in mine["steps"])
    for node in (ring.a, ring.c):
        for path in ("/open311/v2/requests.json",
                     "/open311/v2/requests.json?status=open",
                     f"/open311/v2/requests/{rid}.json",
                     f"/open311/v2/requests/{rid}.json?token=" + "0" * 32):
            r = get(node.public_port, path)
            assert r.status == 200, (path, r)
            assert rid in r.text, (node.community, path)
            for secret in ("DESC-7f3a", "NOTE-9c2e", "13800138000",
                           "Xiuying"):
                assert secret not in r.text, (node.community, path, secret)


def test_relayed_phone_and_fields_checked_like_local_input(ring):
    """What the node's own Open311 POST refuses is refused when relayed:
    a phone that is not a number, a relative's phone without a name, an
    impossible preferred date. Nothing reaches C; the session goes on."""
    c, b = ring.c.community, ring.b.cid
    before = origin_counts(ring.c, b)["total"]
    bad = [request(b, ring.b.scoped(), c, ring.sid,
                   phone="call my son please"),
           request(b, ring.b.scoped(), c, ring.sid, phone="1234"),
           request(b, ring.b.scoped(), c, ring.sid,
                   relative_phone="13900000042"),
           request(b, ring.b.scoped(), c, ring.sid, relative_name="Li",
                   relative_phone="ask the neighbour"),
           request(b, ring.b.scoped(), c, ring.sid, preferred="2030-02-31")]
    refs = ring.b.relay(bad)
    assert all(r.refused for r in refs), refs
    fields = [re.search(r": (\w+): ", r.reason).group(1) for r in refs]
    assert fields == ["phone", "phone", "relative_name", "relative_phone",
                      "preferred"], [r.reason for r in refs]
    assert "call my son" not in "".join(r.reason for r in refs)
    assert relay_refused(ring.hub, b, "invalid") >= 5
    assert ring.b.alive()
    good = request(b, ring.b.scoped(), c, ring.sid, phone="+86 139-0000-0001")
    assert not ring.b.relay([good])[0].refused
    wait_for(lambda: origin_counts(ring.c, b)["total"] == before + 1, 20,
             "the good one in C's queue")


def test_quota_per_destination_refuses_the_excess_only(pki, tmp_path,
                                                      password_hash):
    """[quota] requests_per_destination_per_hour = 5: B's sixth to eighth
    requests to C within the hour are refused in the ack (counted in
    /metrics, logged), the session stays, a withdrawal of an accepted one
    still goes through; A's residents are not held back by B's quota, and
    A, which the hub told the quota in Welcome, answers its residents'
    sixth request with 429 itself."""
    made = []
    attacker = None
    try:
        t = start_topology(pki, tmp_path, ["qa", "qc"], made,
                           hub_kw={"quota": {
                               "requests_per_destination_per_hour": 5}},
                           node_kw=[{}, {"manager_hash": password_hash}])
        hub, (na, nc) = t.hub, t.nodes
        a, c = na.community, nc.community
        b = unique_id("qb")
        hub.register(b)
        code = service_seen(nc, na, {
            "title": "Meals on wheels", "category": "elderly-care",
            "delivery": ["home-visit"]}, "C's service")
        sid = code.split(".", 1)[1]
        attacker = Attacker(hub, b)
        sent = [request(b, attacker.scoped(), c, sid) for _ in range(8)]
        refs = attacker.relay(sent)
        assert [r.refused for r in refs] == [False] * 5 + [True] * 3
        assert all("over the quota of 5 requests an hour" in r.reason
                   for r in refs[5:]), refs[5].reason
        hub.wait_log(r"relay %s: refused %s\.[0-9a-f]+: .*over the quota" %
                     (b, b))
        assert relay_refused(hub, b, "quota") == 3
        assert hub.communities()[b]["relay_refused"] == {"quota": 3}
        assert hub.communities()[c]["relay_refused"] == {}
        assert attacker.alive()
        assert attacker.relay([request(b, attacker.scoped(), c, sid)]
                              )[0].refused
        withdrawal = sent[0]
        withdrawal.version = next(_versions)
        withdrawal.request.withdrawn = int(time.time())
        assert not attacker.relay([withdrawal])[0].refused
        moved = sent[1]         # a newer version may not change its owner
        moved.version = next(_versions)
        moved.request.owner = a
        ref = attacker.relay([moved])[0]
        assert ref.refused and "cannot change" in ref.reason, ref

        # an honest node knows the quota from Welcome: its residents'
        # sixth request gets 429 naming it, and nothing is stored
        before = len(get(na.public_port, "/open311/v2/requests.json").json())
        rids = [ask(na, code)[0] for _ in range(5)]
        r = post311(na, full(code))
        assert r.status == 429, r
        assert "requests_per_destination_per_hour" in r.json()[0][
            "description"] and " 5 " in r.json()[0]["description"]
        assert len(get(na.public_port, "/open311/v2/requests.json").json()
                   ) == before + 5
        wait_for(lambda: origin_counts(nc, a)["total"] == 5, 20,
                 "A's five in C's queue")
        assert origin_counts(nc, b)["total"] == 5
        ids = {x["service_request_id"] for x in
               queue_page(nc, limit=100)["items"]}
        assert set(rids) <= ids
        assert relay_refused(hub, a, "quota") == 0
    finally:
        if attacker:
            attacker.close()
        stop_all(made)


@pytest.mark.parametrize("value", ["0", "3601", "many"])
def test_quota_key_is_bounded(pki, tmp_path, value):
    hub = Hub(tmp_path / "hub", pki,
                   quota={"requests_per_destination_per_hour": value})
    hub.write_config(hub.config_text())
    r = run("alliance-hub", "-c", hub.conf)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert re.search(r"hub\.conf:\d+: .*requests_per_destination_per_hour",
                     r.stderr), r.stderr


def test_no_phone_number_in_any_log_after_a_request_flow(ring):
    """A resident registers with her phone, asks C for a visit with her
    phone and a relative's, C answers, and her phone hits the login
    limit: the hub's, A's and C's logs (debug level at the hub and her
    node) hold none of the numbers, though the limit was logged."""
    phone, mine, relative = "13712345678", "13787654321", "13911223344"
    cid = unique_id("abl")
    ring.hub.register(cid)
    n = DebugNode(ring.d / cid, ring.a.pki, ring.hub, cid,
                  limits={"resident_actions": 2,
                          "resident_window_s": 600}).start()
    try:
        n.wait_connected()
        wait_for(lambda: any(s["service_code"] == ring.code for s in get(
            n.public_port, "/open311/v2/services.json").json()), 20,
            "C's service at the new node")
        assert resident_call(n, "/api/v1/residents",
                             {"phone": phone, "password": "s3cret-pass"}
                             ).status == 201
        rid, token = ask(n, ring.code, phone=mine, relative_name="Li Gang",
                         relative_phone=relative)
        wait_for(lambda: any(x["service_request_id"] == rid for x in
                             queue_page(ring.c, limit=100)["items"]), 20,
                 "the request in C's queue")
        r = api(ring.c, "PATCH", f"/api/v1/requests/{rid}",
                {"status": "done"})
        assert r.status == 200, r
        wait_for(lambda: follow(n, rid, token)["alliance_status"] == "done",
                 20, "the answer at the node")
        mark = n.log_mark()
        got = [resident_call(n, "/api/v1/residents/login",
                             {"phone": phone, "password": "wrong-pass"},
                             source=f"127.0.0.{k}").status
               for k in (11, 12, 13)]
        assert got[-1] == 429, got
        n.wait_log(r"limits: phone:\S+ over the limit", since=mark)
    finally:
        stop_all([n])
    for d in (ring.hub, ring.a, ring.c, n):
        text = d.log()
        for number in (phone, mine, relative):
            assert number not in text, (d.label, number)
            assert number[3:] not in text, (d.label, number)


def resident_call(node, path, body, source="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=30,
                                   source_address=(source, 0))
    try:
        c.request("POST", path, body=json.dumps(body).encode(),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return SimpleNamespace(status=r.status, body=r.read())
    finally:
        c.close()

"""Safety check-in: a bulletin signed with --check-in, answered by listed
residents through their links, by anyone anonymously, and by the grid
worker's calls; counts only reach the hub.

One hub and two nodes with a manager password (module fixture). Parts:
the whole way with counts at the hub and `alliancectl bulletin status`;
no listed name, phone or address in any of the hub's files (its store,
WAL and log, searched as bytes); bad input, each refused with nothing
stored; alliancectl's flag on update and cancel; what the hub takes from
a (lying) node; signed-in residents; CAP.
"""

import random
import re
import time
import xml.etree.ElementTree as ET

import pytest

import cap_check

from conftest import RawSession, alliancectl, pb, topology, unique_id, wait_for
from test_25_manager import api, get
from test_46_accounts import SECRET, call, register, voter
from test_30_bulletin import CAP_NS, issue, node_bulletins


@pytest.fixture(scope="module")
def two(pki, tmp_path_factory, password_hash):
    with topology(pki, tmp_path_factory.mktemp("checkin"), ["cka", "ckb"],
                  manager_hash=password_hash) as t:
        yield t


def phone():
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def listed(node, n):
    """n new residents on node's list; their dicts with ids."""
    people = [{"name": f"Zhao Guilan {unique_id('p')}", "phone": phone(),
               "address": f"No. {i + 3} Plum Lane {unique_id('a')}",
               "worker": "Li Na", "needs": ["living-alone", "over-80"]}
              for i in range(n)]
    r = api(node, "POST", "/api/v1/check-in/residents", {"items": people})
    assert r.status == 201, r
    for p, i in zip(people, r.json()["ids"]):
        p["id"] = i
    return people


def answer(node, bid, state, token=None):
    body = {"answer": state}
    if token is not None:
        body["token"] = token
    return api(node, "POST", f"/api/v1/bulletins/{bid}/check-in", body,
               password=None)


def checkin_issue(t, *extra):
    bid, _ = issue(t.hub, "--check-in", "--wait", *extra,
                   headline=f"Rainstorm {unique_id('h')}")
    for n in t.nodes:
        wait_for(lambda n=n: bid in node_bulletins(n), 20, "the bulletin")
    return bid


def links(node, bid, **body):
    r = api(node, "POST", f"/api/v1/bulletins/{bid}/check-in/links", body)
    assert r.status == 201, r
    return {i["resident"]: i["url"].rsplit("#", 1)[1]
            for i in r.json()["items"]}


def view(node, bid):
    r = api(node, "GET", f"/api/v1/bulletins/{bid}/check-in",
            content_type=None)
    assert r.status == 200, r
    return r.json()


def hub_counts(hub, bid, community):
    r = hub.api("GET", f"/api/v1/bulletins/{bid}")
    assert r.status == 200, r
    for c in r.json().get("check_in_counts", {}).get("communities", []):
        if c["community"] == community:
            return c
    return None


def test_checkin_end_to_end_counts_at_hub_names_stay_home(two):
    a = two.nodes[0]
    people = listed(a, 3)
    bid = checkin_issue(two)
    assert node_bulletins(a)[bid]["check_in"] is True
    tokens = links(a, bid)
    assert set(tokens) == {p["id"] for p in people}
    # the links are one a resident and stay the same when asked again
    assert links(a, bid) == {}
    safe, helpme, silent = people

    r = answer(a, bid, "safe", tokens[safe["id"]])
    assert r.status == 200 and r.json()["counted_as"] == "listed", r
    r = answer(a, bid, "help", tokens[helpme["id"]])
    assert r.status == 200, r
    r = answer(a, bid, "safe")           # no account, no link
    assert r.status == 200 and r.json()["counted_as"] == "anonymous", r

    v = view(a, bid)
    by = {p["id"]: p for p in v["residents"]}
    assert by[safe["id"]]["state"] == "safe"
    assert by[helpme["id"]]["state"] == "help"
    assert by[silent["id"]]["state"] == "not_yet"
    assert [p["id"] for p in v["residents"]][0] == helpme["id"]
    assert v["counts"] == {"listed": 3, "confirmed": 1, "not_yet": 1,
                           "needs_help": 1, "anonymous_safe": 1,
                           "anonymous_help": 0}
    # "needs help" is the first request of the community's queue
    q = api(a, "GET", "/api/v1/requests", content_type=None).json()
    first = q["items"][0]
    assert first["urgent"] is True
    assert first["service_request_id"] == by[helpme["id"]]["request"]
    assert first["name"] == helpme["name"]
    # ... kept out of the public Open311 listing, even by its id
    for q in ("", f"?service_request_id={first['service_request_id']}"):
        r = get(a.public_port, f"/open311/v2/requests.json{q}")
        assert r.status == 200 and first["service_request_id"] not in \
            r.text, r.text

    want = {"confirmed": 1, "not_yet": 1, "needs_help": 1,
            "anonymous_safe": 1, "anonymous_help": 0}
    wait_for(lambda: (hub_counts(two.hub, bid, a.community) or {})
             .items() >= want.items(), 20, "the counts at the hub")
    # the other node reports its own (nobody listed there)
    wait_for(lambda: hub_counts(two.hub, bid, two.nodes[1].community)
             is not None, 20, "the other community's counts")

    # the grid worker reaches the silent one: safe
    r = api(a, "POST", f"/api/v1/bulletins/{bid}/check-in/calls",
            {"resident": silent["id"], "outcome": "reached-safe",
             "note": "at her daughter's"})
    assert r.status == 201, r
    wait_for(lambda: (hub_counts(two.hub, bid, a.community) or {})
             .get("confirmed") == 2, 20, "the call's count at the hub")
    assert hub_counts(two.hub, bid, a.community)["not_yet"] == 0

    r = alliancectl(two.hub, "bulletin", "status", bid)
    assert r.returncode == 0, r.stderr
    assert re.search(r"check-in: 2 confirmed safe, 0 not yet, 1 need help;"
                     r" anonymous: 1 safe, 0 help", r.stdout), r.stdout
    assert a.community in r.stdout

    # nothing personal in any file of the hub: store, WAL, log
    secrets = [s for p in people for s in (p["name"], p["phone"],
                                           p["address"])]
    secrets.append("at her daughter's")
    files = [f for f in two.hub.dir.rglob("*") if f.is_file()]
    names = {f.name for f in files}
    assert {"hub.db", "hub.db-wal"} <= names, names      # store and WAL
    assert any(n.endswith(".log") for n in names), names  # its log
    for f in files:
        data = f.read_bytes()
        for s in secrets:
            assert s.encode() not in data, f"{s!r} in the hub's {f.name}"
    # ... while the node holds them (the search can find them)
    node_bytes = b"".join(f.read_bytes() for f in a.dir.rglob("*")
                          if f.is_file() and "db" in f.name)
    assert helpme["name"].encode() in node_bytes


def test_checkin_bad_input_stores_nothing(two):
    a = two.nodes[0]
    people = listed(a, 2)
    bid = checkin_issue(two)
    other = checkin_issue(two)
    tokens = links(a, bid)
    tok_other = links(a, other)

    before = view(a, bid)["counts"]
    # not a check-in, no such bulletin, a bad answer
    plain, _ = issue(two.hub, "--wait")
    wait_for(lambda: plain in node_bulletins(a), 20, "the plain bulletin")
    r = answer(a, plain, "safe")
    assert r.status == 422 and "no check-in" in r.text, r
    r = answer(a, "b-nope", "safe")
    assert r.status == 404, r
    r = answer(a, bid, "maybe")
    assert r.status == 422 and "answer" in r.text, r
    # a bad token, another check-in's, a reused one
    r = answer(a, bid, "safe", "0" * 32)
    assert r.status == 401, r
    r = answer(a, bid, "safe", "not hex")
    assert r.status == 401, r
    r = answer(a, bid, "safe", tok_other[people[0]["id"]])
    assert r.status == 401, r
    assert view(a, bid)["counts"] == before
    r = answer(a, bid, "safe", tokens[people[0]["id"]])
    assert r.status == 200, r
    after = view(a, bid)["counts"]
    r = answer(a, bid, "help", tokens[people[0]["id"]])
    assert r.status == 409 and "used" in r.text, r
    assert view(a, bid)["counts"] == after

    # a cancelled check-in takes no answer
    r = alliancectl(two.hub, "bulletin", "cancel", other, "--wait")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: node_bulletins(a)[other]["status"] == "cancelled", 20,
             "the cancel")
    r = answer(a, other, "help", tok_other[people[1]["id"]])
    assert r.status == 409 and "cancelled" in r.text, r
    assert view(a, other)["counts"]["needs_help"] == 0
    # nor one past its expiry
    short, _ = issue(two.hub, "--check-in", "--wait", "--expires", "2s")
    wait_for(lambda: short in node_bulletins(a), 20, "the short bulletin")
    wait_for(lambda: node_bulletins(a)[short]["status"] == "expired", 20,
             "the expiry")
    r = answer(a, short, "safe")
    assert r.status == 409 and "expired" in r.text, r
    assert view(a, short)["counts"]["anonymous_safe"] == 0

    # calls: an outcome not known, someone not listed
    r = api(a, "POST", f"/api/v1/bulletins/{bid}/check-in/calls",
            {"resident": people[1]["id"], "outcome": "maybe"})
    assert r.status == 422, r
    r = api(a, "POST", f"/api/v1/bulletins/{bid}/check-in/calls",
            {"resident": 999999, "outcome": "no-answer"})
    assert r.status == 404, r
    assert view(a, bid)["counts"] == after

    # the list: bad fields, over its bound, a phone twice: all or none
    total = api(a, "GET", "/api/v1/check-in/residents",
                content_type=None).json()["total"]
    bad = [{"phone": phone(), "address": "x"},
           {"name": "A", "phone": "12", "address": "x"},
           {"name": "A", "phone": phone(), "address": ""},
           {"name": "A", "phone": phone(), "address": "x" * 401},
           {"name": "A\u0007", "phone": phone(), "address": "x"},
           {"name": "A", "phone": phone(), "address": "x",
            "needs": ["rich"]},
           {"name": "A", "phone": phone(), "address": "x", "worker": 5}]
    for b in bad:
        r = api(a, "POST", "/api/v1/check-in/residents",
                {"items": [{"name": "ok", "phone": phone(),
                            "address": "y"}, b]})
        assert r.status == 422 and "items[1]" in r.text, (b, r)
    r = api(a, "POST", "/api/v1/check-in/residents",
            {"name": "Dup", "phone": people[0]["phone"], "address": "z"})
    assert r.status == 409, r
    assert api(a, "GET", "/api/v1/check-in/residents",
               content_type=None).json()["total"] == total
    # filled to its bound (5000), one more is refused (at the other
    # node, whose list is its own)
    b = two.nodes[1]
    total = api(b, "GET", "/api/v1/check-in/residents",
                content_type=None).json()["total"]
    many = [{"name": "a", "phone": "138%08d" % i, "address": "x"}
            for i in range(5000 - total)]
    for i in range(0, len(many), 2000):
        r = api(b, "POST", "/api/v1/check-in/residents",
                {"items": many[i:i + 2000]})
        assert r.status == 201, r
    r = api(b, "POST", "/api/v1/check-in/residents",
            {"name": "One more", "phone": phone(), "address": "x"})
    assert r.status == 413 and "5000" in r.text, r
    got = api(b, "GET", "/api/v1/check-in/residents",
              content_type=None).json()
    assert got["total"] == 5000 and "One more" not in str(got["items"])
    first = got["items"][0]["id"]
    r = api(b, "DELETE", f"/api/v1/check-in/residents/{first}")
    assert r.status == 200, r
    assert api(b, "GET", "/api/v1/check-in/residents",
               content_type=None).json()["total"] == 4999
    r = api(b, "DELETE", f"/api/v1/check-in/residents/{first}")
    assert r.status == 404, r
    # the list and the manager's view are the manager's only
    r = api(a, "GET", "/api/v1/check-in/residents", password=None,
            content_type=None)
    assert r.status == 401, r
    r = api(a, "GET", f"/api/v1/bulletins/{bid}/check-in", password=None,
            content_type=None)
    assert r.status == 401, r


def test_cli_refuses_check_in_on_cancel(two):
    bid = checkin_issue(two)
    r = alliancectl(two.hub, "bulletin", "cancel", bid, "--check-in")
    assert r.returncode != 0 and "--check-in" in r.stderr, r
    # an update of a check-in asks too (the flag signed again)
    r = alliancectl(two.hub, "bulletin", "update", bid, "--headline",
                    "Rainstorm, worse", "--wait")
    assert r.returncode == 0, r.stderr
    new = r.stdout.splitlines()[0]
    got = two.hub.api("GET", f"/api/v1/bulletins/{new}").json()
    assert got["check_in"] is True and "check_in_counts" in got


def counts_change(cid, bid, version, **counts):
    ch = pb.Change(origin=cid, kind=pb.KIND_CHECKIN, id=bid, version=version)
    for k, v in counts.items():
        setattr(ch.checkin, k, v)
    return ch


def test_hub_takes_counts_only_for_its_check_ins(two):
    """What a node (or one that lies) may report: counts of a check-in
    bulletin sent to it, the newest version winning; the rest refused in
    the ack and stored nowhere; a count past its bound closes the
    session."""
    cid = unique_id("ckraw")
    two.hub.register(cid)
    plain, _ = issue(two.hub)
    elsewhere, _ = issue(two.hub, "--check-in", "--area",
                         two.nodes[0].community)
    mine, _ = issue(two.hub, "--check-in")
    v = int(time.time() * 1_000_000)
    with RawSession(two.hub, cert=two.hub.pki.node(cid)) as s:
        w = s.handshake(cid)
        assert w.checkin is True
        refs = s.relay([
            counts_change(cid, plain, v + 1, confirmed=5),
            counts_change(cid, elsewhere, v + 2, confirmed=5),
            counts_change(cid, "b-none", v + 3, confirmed=5),
            counts_change(cid, mine, v + 5, confirmed=7, not_yet=2,
                          needs_help=1, anonymous_help=4),
        ])
        assert [r.refused for r in refs] == [True, True, True, False], refs
        assert "no check-in" in refs[0].reason
        assert "not sent" in refs[1].reason
        assert "no such bulletin" in refs[2].reason
        # an older version changes nothing; a replay is harmless
        refs = s.relay([counts_change(cid, mine, v + 4, confirmed=1),
                              counts_change(cid, mine, v + 5, confirmed=1)])
        assert [r.refused for r in refs] == [False, False], refs
    for b in (plain, elsewhere):
        got = two.hub.api("GET", f"/api/v1/bulletins/{b}").json()
        assert cid not in str(got.get("check_in_counts", {})), got
    c = hub_counts(two.hub, mine, cid)
    assert (c["confirmed"], c["not_yet"], c["needs_help"],
            c["anonymous_help"]) == (7, 2, 1, 4), c
    # a count past RELAY_CHECKIN_COUNT_MAX (10,000,000): a bad frame
    with RawSession(two.hub, cert=two.hub.pki.node(cid)) as s:
        s.handshake(cid)
        f = pb.Frame()
        f.relay.changes.append(counts_change(cid, mine, v + 9,
                                             confirmed=10_000_001))
        s.send_frame(f)
        code, reason = s.expect_close()
        assert 4400 <= code <= 4499 and "checkin" in reason, (code, reason)
    assert hub_counts(two.hub, mine, cid)["confirmed"] == 7
    r = two.hub.api("DELETE", f"/api/v1/communities/{cid}")
    assert r.status in (200, 204), r


def test_signed_in_residents_answer_for_themselves(two):
    """A signed-in resident whose confirmed phone is a listed resident's
    answers for her; one whose phone nobody confirmed, or who is not
    listed, is counted as herself and never marks a listed resident
    safe; an account answers "safe" once, and "help" after "safe"."""
    a = two.nodes[0]
    people = listed(a, 2)
    bid = checkin_issue(two)
    confirmed = voter(a, people[0]["phone"])
    r = register(a, phone=people[1]["phone"], password=SECRET)
    assert r.status == 201, r.text
    unconfirmed = r.body["token"]

    r = call(a, "POST", f"/api/v1/bulletins/{bid}/check-in", confirmed,
             {"answer": "safe"})
    assert r.status == 200 and r.body["counted_as"] == "listed", r.text
    r = call(a, "POST", f"/api/v1/bulletins/{bid}/check-in", unconfirmed,
             {"answer": "safe"})
    assert r.status == 200 and r.body["counted_as"] == "account", r.text
    v = view(a, bid)
    by = {p["id"]: p for p in v["residents"]}
    assert by[people[0]["id"]]["state"] == "safe"
    assert by[people[0]["id"]]["source"] == "account"
    assert by[people[1]["id"]]["state"] == "not_yet"   # not by that account
    assert len(v["accounts"]) == 1 and v["accounts"][0]["state"] == "safe"
    # "safe" again: refused; "help" after "safe": taken, a request filed
    r = call(a, "POST", f"/api/v1/bulletins/{bid}/check-in", confirmed,
             {"answer": "safe"})
    assert r.status == 409, r.text
    r = call(a, "POST", f"/api/v1/bulletins/{bid}/check-in", confirmed,
             {"answer": "help"})
    assert r.status == 200, r.text
    r = call(a, "POST", f"/api/v1/bulletins/{bid}/check-in", confirmed,
             {"answer": "safe"})
    assert r.status == 409 and "call" in r.text, r.text
    v = view(a, bid)
    mine = next(p for p in v["residents"] if p["id"] == people[0]["id"])
    assert mine["state"] == "help" and mine["request"]
    # the grid worker's call clears it
    r = api(a, "POST", f"/api/v1/bulletins/{bid}/check-in/calls",
            {"resident": people[0]["id"], "outcome": "reached-safe"})
    assert r.status == 201, r
    assert next(p for p in view(a, bid)["residents"]
                if p["id"] == people[0]["id"])["state"] == "safe"


def test_cap_says_check_in_and_conforms(two):
    """The check-in flag in CAP 1.2: a <parameter> checkIn = true in each
    <info>, in schema order (cap_check); none in a plain bulletin."""
    a = two.nodes[0]
    bid = checkin_issue(two, "--headline-en", "Rainstorm",
                        "--description-en", "Heavy rain tonight")
    plain, _ = issue(two.hub, "--wait")
    wait_for(lambda: plain in node_bulletins(a), 20, "the plain bulletin")
    for port in (a.public_port, two.hub.public_port):
        r = get(port, f"/api/v1/bulletins/{bid}.cap")
        assert r.status == 200, r
        assert cap_check.check(r.body) == [], r.text
        infos = ET.fromstring(r.body).findall(f"{{{CAP_NS}}}info")
        assert len(infos) == 2
        for info in infos:
            params = info.findall(f"{{{CAP_NS}}}parameter")
            assert [(p.findtext(f"{{{CAP_NS}}}valueName"),
                     p.findtext(f"{{{CAP_NS}}}value")) for p in params] \
                == [("checkIn", "true")]
        r = get(port, f"/api/v1/bulletins/{plain}.cap")
        assert cap_check.check(r.body) == [] and b"checkIn" not in r.body

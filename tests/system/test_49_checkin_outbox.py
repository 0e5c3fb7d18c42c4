"""Check-in messages through the outbox (issue 19): a check-in bulletin
stored at a node with an SMS gateway sends each listed resident (with a
mobile number) one SMS with her personal link; the link marks her safe in
the manager's view; a restart sends nothing again; a cancel stops what is
not sent yet; "needs help" reaches the manager's webhook endpoints that
take check-ins, once per resident, signed, without her phone.

Real hub and node over TLS; the SMS gateway and the webhook receiver are
test_49_outbox's (this test's own servers, checking every signature).
"""

import re

from conftest import alliancectl, unique_id, wait_for
from test_25_manager import api
from test_30_bulletin import issue, node_bulletins
from test_49_checkin import answer, hub_counts, links, listed, view
from test_49_outbox import (Gateway, Receiver, alliance,  # noqa: F401
                            register)

LANDLINE = "02087654321"
PUBLIC = "https://plum-lane.example.org"


def checkin(node, hub):
    bid, _ = issue(hub, "--check-in", "--wait",
                   headline=f"Rainstorm {unique_id('h')}")
    wait_for(lambda: bid in node_bulletins(node), 20, "the bulletin")
    return bid


def link_texts(gw, bid, phone):
    """Every post (not deduplicated) of bid's link to phone."""
    with gw.lock:
        return [p for p in gw.posts
                if p.msg["kind"] == "check-in"
                and p.msg["payload"].get("source") == bid
                and p.msg["payload"].get("to") == f"+86{phone}"]


def test_links_by_sms_once_answered_and_not_again_after_restart(alliance):
    gw = Gateway()
    try:
        node = alliance.start(sms=gw.url, public_url=PUBLIC)
        people = listed(node, 2)
        r = api(node, "POST", "/api/v1/check-in/residents", {"items": [
            {"name": "Qian Laoshi", "phone": LANDLINE,
             "address": "No. 9 Plum Lane", "worker": "Li Na"}]})
        assert r.status == 201, r
        bid = checkin(node, alliance.hub)
        for p in people:
            wait_for(lambda p=p: link_texts(gw, bid, p["phone"]), 30,
                     "her link by SMS")
        wait_for(lambda: node.outbox_summary()["sms"]["sent"] == 2, 20,
                 "the outbox to note both sent")
        headline = node_bulletins(node)[bid]["headline"]
        base = re.escape(f"{PUBLIC}/checkin.html?b={bid}#")
        tokens = {}
        for p in people:
            (post,) = link_texts(gw, bid, p["phone"])
            assert post.ok and post.key == post.msg["id"]
            m = re.fullmatch(rf"【[^】]+】{re.escape(headline)}。请点链接报平安："
                             rf"{base}([0-9a-f]{{32}})",
                             post.msg["payload"]["text"])
            assert m, post.msg["payload"]["text"]
            tokens[p["id"]] = m.group(1)
        assert len(set(tokens.values())) == 2
        # a landline gets the grid worker's call, not a text
        assert not link_texts(gw, bid, LANDLINE)
        # the links are minted: the manager's call makes none again
        assert not set(links(node, bid)) & set(tokens)

        first, second = people
        r = answer(node, bid, "safe", tokens[first["id"]])
        assert r.status == 200 and r.json()["counted_as"] == "listed", r
        by = {p["id"]: p["state"] for p in view(node, bid)["residents"]}
        assert by[first["id"]] == "safe" and by[second["id"]] == "not_yet"

        # a restart (and the hub's sync after it) sends no link again;
        # a second check-in after it does reach her, once
        node.stop()
        node.start()
        node.wait_connected()
        bid2 = checkin(node, alliance.hub)
        for p in people:
            wait_for(lambda p=p: link_texts(gw, bid2, p["phone"]), 30,
                     "the second check-in's link")
        wait_for(lambda: node.outbox_summary()["sms"]["sent"] == 4, 20,
                 "the outbox to note the second ones sent")
        for p in people:
            assert len(link_texts(gw, bid, p["phone"])) == 1
            assert len(link_texts(gw, bid2, p["phone"])) == 1
        s = node.outbox_summary()["sms"]
        assert s["pending"] == s["failed"] == s["dead"] == 0
    finally:
        gw.close()


def test_cancelled_checkin_stops_unsent_links(alliance):
    down = Gateway()
    url = down.url
    down.close()                          # refuses: every try fails
    node = alliance.start(sms=url)
    listed(node, 3)
    bid = checkin(node, alliance.hub)
    wait_for(lambda: node.outbox_summary()["sms"]["failed"] >= 1, 30,
             "a failed try of a link")
    r = alliancectl(alliance.hub, "bulletin", "cancel", bid)
    assert r.returncode == 0, r.stderr + r.stdout
    wait_for(lambda: node.outbox_summary()["sms"]["cancelled"] == 3, 30,
             "the links' sends cancelled")
    s = node.outbox_summary()["sms"]
    assert s["pending"] == s["failed"] == s["sent"] == s["dead"] == 0


def test_needs_help_reaches_the_webhook_once_without_phone(alliance, pki):
    node = alliance.start()               # no SMS: the manager's links
    rc = Receiver(pki)
    other = Receiver(pki)
    try:
        register(node, rc, "/ck", bulletins=None, check_in=True)
        register(node, other, "/no", bulletins=None, requests=True,
                 check_in=False)
        people = listed(node, 3)
        bid = checkin(node, alliance.hub)
        tokens = links(node, bid)
        helper, called, safe = people
        r = answer(node, bid, "help", tokens[helper["id"]])
        assert r.status == 200, r
        # the grid worker's call: she needs help too; the first one's
        # call confirms hers (no second message)
        for who in (called, helper):
            r = api(node, "POST", f"/api/v1/bulletins/{bid}/check-in/calls",
                    {"resident": who["id"],
                     "outcome": "reached-needs-help"})
            assert r.status == 201, r
        r = answer(node, bid, "safe", tokens[safe["id"]])
        assert r.status == 200, r
        wait_for(lambda: len(rc.delivered("/ck")) == 2, 30,
                 "both needs-help messages")
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 2, 20,
                 "the outbox to note them sent")
        got = rc.delivered("/ck")
        assert all(len(v) == 1 for v in got.values())
        assert rc.all_signed() and len(rc.posts) == 2
        by = {v[0].body["payload"]["name"]: v[0].body for v in got.values()}
        assert set(by) == {helper["name"], called["name"]}
        for p, how in ((helper, "link"), (called, "call")):
            b = by[p["name"]]
            assert b["kind"] == "check-in" and b["community"] == \
                node.community
            pl = b["payload"]
            assert pl["check_in"] == bid and pl["answer"] == "help"
            assert pl["by"] == how and pl["address"] == p["address"]
            assert p["address"] in pl["text"] and "需要帮助" in pl["text"]
            v = {x["id"]: x for x in view(node, bid)["residents"]}
            assert pl["request"] == v[p["id"]]["request"]
        with rc.lock:
            raw = b"".join(repr(x.body).encode() for x in rc.posts)
        for p in people:
            assert p["phone"].encode() not in raw
        with other.lock:
            assert not [p for p in other.posts
                        if p.body["kind"] == "check-in"]
    finally:
        rc.stop()
        other.stop()


def link_tokens(gw, bid, people):
    """Each listed resident's token from her one text of bid's link."""
    out = {}
    for p in people:
        (post,) = link_texts(gw, bid, p["phone"])
        out[p["id"]] = post.msg["payload"]["text"].rsplit("#", 1)[1]
    return out


def test_residents_listed_after_the_start_get_their_link_once(alliance):
    gw = Gateway()
    try:
        node = alliance.start(sms=gw.url, public_url=PUBLIC)
        first = listed(node, 1)
        bid = checkin(node, alliance.hub)
        wait_for(lambda: link_texts(gw, bid, first[0]["phone"]), 30,
                 "the first resident's link")
        # listed while the check-in is open: each gets her link, once
        later = listed(node, 2)
        for p in later:
            wait_for(lambda p=p: link_texts(gw, bid, p["phone"]), 30,
                     "a link for a resident listed after the start")
        tokens = link_tokens(gw, bid, later)
        r = answer(node, bid, "safe", tokens[later[0]["id"]])
        assert r.status == 200 and r.json()["counted_as"] == "listed", r
        # the list grows again: nobody who has a link gets another
        listed(node, 1)
        wait_for(lambda: node.outbox_summary()["sms"]["sent"] == 4, 30,
                 "the fourth link sent")
        for p in first + later:
            assert len(link_texts(gw, bid, p["phone"])) == 1
        # once the check-in is over, a resident listed gets no link
        r = alliancectl(alliance.hub, "bulletin", "cancel", bid, "--wait")
        assert r.returncode == 0, r.stderr + r.stdout
        wait_for(lambda: node_bulletins(node).get(bid, {}).get("status")
                 == "cancelled", 20, "the cancel at the node")
        last = listed(node, 1)
        r = api(node, "GET", "/api/v1/outbox", content_type=None)
        assert r.status == 200 and r.json()["channels"]["sms"][
            "pending"] == 0, r
        assert not link_texts(gw, bid, last[0]["phone"])
    finally:
        gw.close()


def test_update_carries_the_check_in_on(alliance):
    gw = Gateway()
    try:
        node = alliance.start(sms=gw.url, public_url=PUBLIC)
        people = listed(node, 3)
        bid = checkin(node, alliance.hub)
        for p in people:
            wait_for(lambda p=p: link_texts(gw, bid, p["phone"]), 30,
                     "her link by SMS")
        tokens = link_tokens(gw, bid, people)
        a, b, c = people
        assert answer(node, bid, "safe", tokens[a["id"]]).status == 200
        assert answer(node, bid, "help", tokens[c["id"]]).status == 200
        assert answer(node, bid, "safe").status == 200     # anonymous
        r = api(node, "POST", f"/api/v1/bulletins/{bid}/check-in/calls",
                {"resident": c["id"], "outcome": "reached-needs-help"})
        assert r.status == 201, r
        request = {x["id"]: x for x in view(node, bid)["residents"]}[
            c["id"]]["request"]

        r = alliancectl(alliance.hub, "bulletin", "update", bid,
                        "--headline", "Rainstorm, worse", "--wait")
        assert r.returncode == 0, r.stderr + r.stdout
        upd = r.stdout.splitlines()[0]
        wait_for(lambda: upd in node_bulletins(node), 20, "the update")
        # the answers so far count for the update
        v = view(node, upd)
        assert v["bulletin"] == upd and v["open"] is True
        by = {x["id"]: x for x in v["residents"]}
        assert by[a["id"]]["state"] == "safe"
        assert by[b["id"]]["state"] == "not_yet"
        assert by[c["id"]]["state"] == "help"
        assert by[c["id"]]["request"] == request      # no second request
        assert len(by[c["id"]]["calls"]) == 1
        assert v["counts"]["anonymous_safe"] == 1
        # her link from the first text answers the update's check-in
        r = answer(node, bid, "safe", tokens[b["id"]])
        assert r.status == 200, r
        assert r.json()["bulletin"] == upd
        assert r.json()["counted_as"] == "listed"
        assert {x["id"]: x["state"] for x in view(node, upd)["residents"]}[
            b["id"]] == "safe"
        # a used link stays used; the replaced one's view is the update's
        assert answer(node, bid, "safe", tokens[a["id"]]).status == 409
        assert view(node, bid)["bulletin"] == upd
        # nobody with a link is sent another for the update
        wait_for(lambda: node.outbox_summary()["sms"]["pending"] == 0, 20,
                 "the outbox idle")
        for p in people:
            assert not link_texts(gw, upd, p["phone"])
        # the district sees one check-in with every answer
        k = {}
        wait_for(lambda: k.update(hub_counts(alliance.hub, upd,
                                             node.community) or {})
                 or k.get("confirmed") == 2, 30, "the update's counts")
        assert k["needs_help"] == 1 and k["not_yet"] == 0
    finally:
        gw.close()


def test_update_keeps_the_unsent_links(alliance, pki):
    down = Gateway()
    url = down.url
    down.close()                          # refuses: every try fails
    node = alliance.start(sms=url)
    rc = Receiver(pki)
    try:
        register(node, rc, "/b")          # takes bulletins: shows the
        listed(node, 3)                   # update's expansion
        bid = checkin(node, alliance.hub)
        wait_for(lambda: node.outbox_summary()["sms"]["failed"] >= 1, 30,
                 "a failed try of a link")
        r = alliancectl(alliance.hub, "bulletin", "update", bid,
                        "--headline", "Rainstorm, worse", "--wait")
        assert r.returncode == 0, r.stderr + r.stdout
        upd = r.stdout.splitlines()[0]
        wait_for(lambda: len(rc.delivered("/b")) == 2, 30,
                 "the update expanded and sent to the endpoint")
        # the links not sent yet wait on, for the update: none cancelled
        s = node.outbox_summary()["sms"]
        assert s["cancelled"] == 0, s
        assert s["pending"] + s["failed"] + s["sending"] == 3, s
        assert upd in node_bulletins(node)
    finally:
        rc.stop()

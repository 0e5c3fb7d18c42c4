"""Service requests: Open311 at every node, routing through the hub to the
community that offers the service, statuses back, store-and-forward while
the owner is offline, no personal data in public listings or (once
delivered) at the hub, Open311 errors, abuse limits.

One hub and two nodes with a manager password (module fixture); a rate
limit test starts its own node with a small window.
"""

import json
import sqlite3
import time
import urllib.parse

import pytest

from conftest import Node, stop_all, unique_id, wait_for
from test_25_manager import api, get, sharing

NAME, PHONE, ADDRESS = "Wang Xiuying", "13800138000", "No. 5 Elm Lane, flat 302"


@pytest.fixture(scope="module")
def two(pki, tmp_path_factory, password_hash):
    with sharing(pki, tmp_path_factory.mktemp("requests"), ["rqa", "rqb"],
                 password_hash, {"title": "Haircut at home",
                                 "category": "elderly-care",
                                 "delivery": ["home-visit"],
                                 "summary": "for residents who cannot walk"}
                 ) as s:
        yield s


def post311(node, fields, content_type="application/x-www-form-urlencoded"):
    return api(node, "POST", "/open311/v2/requests.json",
               raw=urllib.parse.urlencode(fields).encode(), password=None,
               content_type=content_type)


def full(code, **kw):
    f = {"service_code": code, "description": "please cut my hair",
         "first_name": "Wang", "last_name": "Xiuying", "phone": PHONE,
         "address_string": ADDRESS}
    f.update(kw)
    return f


def queue(node):
    r = api(node, "GET", "/api/v1/requests", content_type=None)
    assert r.status == 200, r
    return {i["service_request_id"]: i for i in r.json()["items"]}


def hub_holds(hub, needle):
    """Whether any text or blob in the hub's store holds needle."""
    db = sqlite3.connect(hub.dir / "hub.db")
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
            " NOT LIKE '%fts%'")]
        for t in tables:
            for row in db.execute(f'SELECT * FROM "{t}"'):
                for v in row:
                    if isinstance(v, bytes) and needle.encode() in v:
                        return True
                    if isinstance(v, str) and needle in v:
                        return True
        return False
    finally:
        db.close()


def test_request_routed_to_owner_and_status_back(two):
    r = post311(two.a, full(two.code))
    assert r.status == 201, r
    rid, token = r.json()[0]["service_request_id"], r.json()[0]["request_secret"]
    item = wait_for(lambda: queue(two.b).get(rid), 20, "request in B's queue")
    assert item["name"] == NAME and item["phone"] == PHONE
    assert item["address"] == ADDRESS
    r = api(two.b, "PATCH", f"/api/v1/requests/{rid}",
            {"status": "scheduled", "status_notes": "Tuesday 10:00",
             "scheduled": "2030-01-01T10:00:00Z"})
    assert r.status == 200, r

    def back():
        r = get(two.a.public_port,
                f"/open311/v2/requests/{rid}.json?token={token}")
        return r.json()[0]["alliance_status"] == "scheduled" and r.json()[0]
    got = wait_for(back, 20, "status back at A")
    assert got["status_notes"] == "Tuesday 10:00"
    assert got["expected_datetime"] == "2030-01-01T10:00:00Z"
    assert got["phone"] == PHONE
    wait_for(lambda: not hub_holds(two.hub, PHONE), 10, "hub forgets")
    assert not hub_holds(two.hub, ADDRESS)
    stats = two.hub.api("GET", "/api/v1/requests/stats").json()["items"]
    assert any(s["community"] == two.b.community and s["requests"] >= 1
               for s in stats)


def test_public_listings_show_no_personal_data(two):
    r = post311(two.a, full(two.code))
    rid = r.json()[0]["service_request_id"]
    for path in ("/open311/v2/requests.json",
                 f"/open311/v2/requests/{rid}.json",
                 f"/open311/v2/requests/{rid}.json?token=" + "0" * 32):
        r = get(two.a.public_port, path)
        assert r.status == 200, r
        assert rid in r.text
        for secret in (NAME, PHONE, ADDRESS, "Xiuying"):
            assert secret not in r.text, path


def test_offline_owner_gets_request_on_reconnect(two):
    two.b.stop()
    try:
        r = post311(two.a, full(two.code, phone="13900000001"))
        assert r.status == 201, r
        rid = r.json()[0]["service_request_id"]
        wait_for(lambda: hub_holds(two.hub, "13900000001"), 20,
                 "request waiting at the hub")
    finally:
        two.b.start()
    two.b.wait_connected()
    wait_for(lambda: queue(two.b).get(rid), 20, "request after reconnect")
    wait_for(lambda: not hub_holds(two.hub, "13900000001"), 10,
             "hub forgets after delivery")


def test_open311_errors_store_nothing(two):
    before = len(get(two.a.public_port, "/open311/v2/requests.json").json())
    cases = [
        (full(f"{two.b.community}/no-such"), 404),
        (full("garbage"), 404),
        ({"description": "x"}, 400),
        (full(two.code, address_string=""), 400),
        (full(two.code, description="x" * 4001), 400),
    ]
    for fields, status in cases:
        r = post311(two.a, fields)
        assert r.status == status, (fields.get("service_code"), r)
        body = r.json()
        assert isinstance(body, list) and body[0]["code"] == status
        assert body[0]["description"]
    r = post311(two.a, full(two.code), content_type="application/json")
    assert r.status == 400 and r.json()[0]["code"] == 400
    after = len(get(two.a.public_port, "/open311/v2/requests.json").json())
    assert after == before


def test_manager_queue_needs_the_manager(two):
    r = api(two.b, "GET", "/api/v1/requests", password="wrong",
            content_type=None)
    assert r.status == 401
    r = api(two.b, "PATCH", "/api/v1/requests/0123456789abcdef",
            {"status": "done"})
    assert r.status == 404
    r = api(two.b, "PATCH", "/api/v1/requests/0123456789abcdef",
            {"status": "finished"})
    assert r.status == 422


def test_rate_limit_triggers_and_releases(two):
    cid = unique_id("rql")
    two.hub.register(cid)
    n = Node(two.d / cid, two.a.pki, two.hub, cid, manager_hash=two.hash,
             limits={"resident_actions": 3, "resident_window_s": 2}).start()
    try:
        code = two.code
        wait_for(lambda: any(s["service_code"] == code for s in get(
            n.public_port, "/open311/v2/services.json").json()), 20,
            "catalog at the new node")
        got = [post311(n, full(code)).status for _ in range(4)]
        assert got[:3] == [201, 201, 201] and got[3] == 429, got
        r = post311(n, full(code))
        assert r.status == 429 and r.json()[0]["code"] == 429
        wait_for(lambda: post311(n, full(code)).status == 201, 10,
                 "the window to pass")
    finally:
        stop_all([n])

"""Following a service request (issue 12): the owning node's receipt
relayed back as "delivered", every step with its time, a withdrawal
relayed to the owner's queue, a request for a relative, the signed-in resident's list of her
requests (GET /api/v1/residents/me/requests), the Open311 extensions
(name, preferred, relative_name, relative_phone) and their checks, and what another resident's token may
not do.

One hub and two nodes with a manager password (module fixture): residents
at A ask for B's home-visit service, and for A's own walk-in service.
"""

import datetime

import pytest

from conftest import resident_call, wait_for
from test_25_manager import api, get, sharing
from test_40_requests import hub_holds

PHONE, ADDRESS = "13800138042", "榆树巷 5 号 302 室"


@pytest.fixture(scope="module")
def two(pki, tmp_path_factory, password_hash):
    # every POST counts against the address's limit: room for all
    with sharing(pki, tmp_path_factory.mktemp("follow"), ["rfa", "rfb"],
                 password_hash, {"title": "上门理发",
                                 "category": "elderly-care",
                                 "delivery": ["home-visit"]},
                 node_kw={"limits": {"resident_actions": 500}}) as s:
        r = api(s.a, "POST", "/api/v1/services", {
            "title": "Legal advice", "category": "legal-civil",
            "delivery": ["walk-in"]})
        assert r.status == 201, r
        s.own = f"{s.a.community}.{r.json()['id']}"
        yield s


def call(node, method, path, fields=None, token=None, json_body=None):
    """method path with fields as a form or json_body as JSON."""
    return resident_call(node, method, path, body=json_body, token=token,
                         fields=fields)


def resident(node):
    code = api(node, "POST", "/api/v1/household-codes", {}).json()["code"]
    r = call(node, "POST", "/api/v1/residents",
             json_body={"household_code": code})
    assert r.status == 201, r.text
    return r.body["token"]


def tomorrow():
    return (datetime.date.today() + datetime.timedelta(days=1)).isoformat()


def ask(node, code, token=None, **kw):
    f = {"service_code": code, "description": "请上门理发",
         "name": "王秀英", "phone": PHONE, "address_string": ADDRESS,
         "preferred": f"{tomorrow()} morning"}
    f.update(kw)
    return call(node, "POST", "/open311/v2/requests.json", f, token)


def queue(node):
    r = api(node, "GET", "/api/v1/requests", content_type=None)
    assert r.status == 200, r
    return {i["service_request_id"]: i for i in r.json()["items"]}


def mine(node, rid, token):
    r = call(node, "GET", f"/open311/v2/requests/{rid}.json?token={token}")
    assert r.status == 200, r.text
    return r.body[0]


def steps(item):
    return [s["status"] for s in item["steps"]]


def test_receipt_steps_and_status_reach_the_resident(two):
    r = ask(two.a, two.code)
    assert r.status == 201, r.text
    rid, token = r.body[0]["service_request_id"], r.body[0]["request_secret"]
    got = mine(two.a, rid, token)
    assert got["name"] == "王秀英" and got["preferred"].endswith("morning")
    assert steps(got)[0] == "submitted"
    # the owner stores it and its receipt comes back through the hub
    got = wait_for(lambda: (lambda x: x["delivered_datetime"] and x)(
        mine(two.a, rid, token)), 20, "the receipt at A")
    assert steps(got) == ["submitted", "delivered"]
    assert got["alliance_status"] == "open"
    item = queue(two.b)[rid]
    assert item["name"] == "王秀英" and item["preferred"] == got["preferred"]
    r = api(two.b, "PATCH", f"/api/v1/requests/{rid}",
            {"status": "scheduled", "status_notes": "周三上午十点",
             "scheduled": "2030-01-02T02:00:00Z"})
    assert r.status == 200, r
    got = wait_for(lambda: (lambda x: x["alliance_status"] == "scheduled"
                            and x)(mine(two.a, rid, token)), 20,
                   "scheduled at A")
    assert steps(got) == ["submitted", "delivered", "scheduled"]
    last = got["steps"][-1]
    assert last["notes"] == "周三上午十点"
    assert last["scheduled"] == "2030-01-02T02:00:00Z"


def test_a_request_for_a_relative_carries_their_name_and_phone(two):
    r = ask(two.a, two.code, relative_name="李桂兰",
            relative_phone="13900000042")
    assert r.status == 201, r.text
    rid, token = r.body[0]["service_request_id"], r.body[0]["request_secret"]
    got = mine(two.a, rid, token)
    assert got["relative_name"] == "李桂兰"
    item = wait_for(lambda: queue(two.b).get(rid), 20, "the request at B")
    assert item["relative_phone"] == "13900000042"
    public = get(two.a.public_port, "/open311/v2/requests.json").text
    assert "李桂兰" not in public and "13900000042" not in public


def hub_open(two):
    """The district's count of B's open requests."""
    items = two.hub.api("GET", "/api/v1/requests/stats").json()["items"]
    return next(s["open"] for s in items if s["community"] ==
                two.b.community)


def test_withdrawal_reaches_the_owner_and_ends_answers(two):
    r = ask(two.a, two.code)
    rid, token = r.body[0]["service_request_id"], r.body[0]["request_secret"]
    wait_for(lambda: rid in queue(two.b), 20, "the request at B")
    open_before = hub_open(two)
    # neither a wrong token nor another resident may withdraw it
    path = f"/open311/v2/requests/{rid}/withdraw.json"
    r = call(two.a, "POST", path, {"token": "0" * 32})
    assert r.status == 403 and r.body[0]["code"] == 403
    r = call(two.a, "POST", path, {}, token=resident(two.a))
    assert r.status == 403
    assert mine(two.a, rid, token)["alliance_status"] == "open"
    r = call(two.a, "POST", path, {"token": token})
    assert r.status == 200, r.text
    assert r.body[0]["alliance_status"] == "withdrawn"
    assert r.body[0]["status"] == "closed"
    assert steps(r.body[0])[-1] == "withdrawn"
    r = call(two.a, "POST", path, {"token": token})
    assert r.status == 409
    item = wait_for(lambda: (lambda x: x and x["alliance_status"] ==
                             "withdrawn" and x)(queue(two.b).get(rid)), 20,
                    "withdrawn in B's queue")
    assert item["phone"] == PHONE       # what the owner had stays
    # the withdrawal carried the request again; the hub forgets it again
    wait_for(lambda: not hub_holds(two.hub, PHONE), 10, "hub forgets")
    # and counts it closed for the district
    wait_for(lambda: hub_open(two) == open_before - 1, 10,
             "the district's open count")
    r = api(two.b, "PATCH", f"/api/v1/requests/{rid}",
            {"status": "acknowledged"})
    assert r.status == 409
    r = call(two.a, "POST", "/open311/v2/requests/nosuchrequest1/"
             "withdraw.json", {"token": token})
    assert r.status == 404


def test_own_community_request_is_delivered_at_once_and_withdrawn(two):
    r = ask(two.a, two.own, address_string="")
    assert r.status == 201, r.text
    rid, token = r.body[0]["service_request_id"], r.body[0]["request_secret"]
    got = mine(two.a, rid, token)
    assert steps(got) == ["submitted", "delivered"]
    r = call(two.a, "POST", f"/open311/v2/requests/{rid}/withdraw.json",
             {"token": token})
    assert r.status == 200, r.text
    assert queue(two.a)[rid]["alliance_status"] == "withdrawn"


def test_account_lists_its_own_requests_only(two):
    me, other = resident(two.a), resident(two.a)
    ids = [ask(two.a, two.code, token=me).body[0]["service_request_id"]
           for _ in range(2)]
    ask(two.a, two.code, token=other)
    r = call(two.a, "GET", "/api/v1/residents/me/requests", token=me)
    assert r.status == 200, r.text
    got = [i["service_request_id"] for i in r.body["items"]]
    assert sorted(got) == sorted(ids)
    assert all(i["phone"] == PHONE and i["steps"] for i in r.body["items"])
    for token in (None, "0" * 32):
        r = call(two.a, "GET", "/api/v1/residents/me/requests", token=token)
        assert r.status == 401, r.text
        assert r.body["error"]["code"] == "unauthorized"
    r = call(two.a, "POST", "/api/v1/residents/me/requests", {}, token=me)
    assert r.status == 405


def count(node):
    return len(get(node.public_port, "/open311/v2/requests.json").json())


def test_description_is_optional_as_open311_has_it(two):
    """GeoReport v2 makes description optional: the service says what is
    wanted (the residents' form asks for it all the same)."""
    before = count(two.a)
    r = ask(two.a, two.code, description="")
    assert r.status == 201, r.text
    assert count(two.a) == before + 1


def test_bad_input_is_refused_and_stores_nothing(two):
    # the requests the tests before made travel still, maybe (more so
    # through a hub on PostgreSQL): every one of them at B first
    def arrived():
        sent = {i["service_request_id"] for i in
                get(two.a.public_port, "/open311/v2/requests.json").json()
                if i["agency_responsible"] == two.b.community}
        return sent <= set(queue(two.b))
    wait_for(arrived, 20, "A's earlier requests at B")
    before, owner_before = count(two.a), len(queue(two.b))
    past = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    far = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    cases = {
        "description": [dict(description="x" * 4001)],
        "phone": [dict(phone="call me"), dict(phone="1234"),
                  dict(phone="1" * 21)],
        "name": [dict(name="名" * 100)],
        "address_string": [dict(address_string="")],
        "relative_name": [dict(relative_phone="13900000042")],
        "relative_phone": [dict(relative_name="李桂兰"),
                           dict(relative_name="李桂兰",
                                relative_phone="ask my son")],
        "preferred": [dict(preferred="tomorrow"), dict(preferred=past),
                      dict(preferred=far),
                      dict(preferred=f"{tomorrow()} night"),
                      dict(preferred="2030-02-31")],
    }
    for field, variants in cases.items():
        for kw in variants:
            r = ask(two.a, two.code, **kw)
            assert r.status == 400, (kw, r.text)
            assert field in r.body[0]["description"], (kw, r.text)
    assert count(two.a) == before
    assert len(queue(two.b)) == owner_before

"""A resident's account and the polls' results at the nodes (issue 12):
a household code that also sets a phone and password (then a login on
another phone), bad input naming the field and creating nothing (the code
stays unused), signing out (the token revoked at the node), "me" with the
masked phone and the votes, another resident's or a revoked token refused,
the account's name (set at registration, edited, bad input refused and
nothing changed, erased with the account), deleting the account (the
personal data of its requests scrubbed here and at the community each
was sent to, an open one withdrawn there, a done one kept done; another
resident's untouched),
a manager closing a community poll (its tally kept, the hub told), and a
district poll's per-community results at every node, whose sum is the
district's count and equals the hub's.

One hub and three nodes with a manager password and a high resident limit
(module fixture).
"""

import http.client
import json
import sqlite3
import time
import urllib.parse

import pytest

from conftest import (Node, alliancectl, resident_call, stop_all, topology,
                      unique_id, wait_for)
from test_25_manager import api, get
from test_41_residents import error_field, post

SECRET = "a long enough secret"


@pytest.fixture(scope="module")
def three(pki, tmp_path_factory, password_hash):
    with topology(pki, tmp_path_factory.mktemp("accounts"),
                  [f"ac{i}" for i in range(3)], manager_hash=password_hash,
                  node_kw={"limits": {"resident_actions": 500}}) as t:
        yield t


def call(node, method, path, token=None, body=None):
    """method path with body as JSON as token's resident."""
    return resident_call(node, method, path, body=body, token=token)


def code(node):
    r = api(node, "POST", "/api/v1/household-codes", {})
    assert r.status == 201, r
    return r.json()["code"]


def register(node, **body):
    return post(node, "/api/v1/residents", body)


def voter(node, phone):
    """A resident registered with phone whose phone the manager confirmed
    (no SMS gateway at these nodes): her token, which may vote."""
    r = register(node, phone=phone, password=SECRET)
    assert r.status == 201, r.text
    assert api(node, "POST", f"/api/v1/residents/{r.body['resident']}"
               "/confirm", {}).status == 200
    return r.body["token"]


def login(node, phone, password=SECRET):
    return post(node, "/api/v1/residents/login",
                {"phone": phone, "password": password})


def vote(node, poll, token, option):
    return call(node, "POST", f"/api/v1/polls/{poll}/votes", token,
                {"option": option})


def test_household_code_with_phone_and_password(three):
    a = three.nodes[0]
    c = code(a)
    r = register(a, household_code=c, phone="138 0013 8100",
                 password=SECRET)
    assert r.status == 201, r.text
    first = r.body
    # the code is used: a second redemption is refused, naming the field
    error_field(register(a, household_code=c), 422, "household_code")
    error_field(register(a, household_code=c, phone="13800138101",
                         password=SECRET), 422, "household_code")
    # the owner logs in again "on another phone" with phone and password
    r = login(a, "13800138100")
    assert r.status == 200 and r.body["resident"] == first["resident"]
    me = call(a, "GET", "/api/v1/residents/me", r.body["token"]).body
    assert me["phone"] == "138****8100" and me["household"] is True
    # the whole number only to its owner, for her own forms
    assert me["phone_number"] == "13800138100"
    # a code alone still works (the API stays compatible)
    r = register(a, household_code=code(a))
    assert r.status == 201
    me = call(a, "GET", "/api/v1/residents/me", r.body["token"]).body
    assert me["phone"] is None and me["household"] is True


def test_bad_input_names_the_field_and_creates_nothing(three):
    a = three.nodes[0]
    c = code(a)
    assert register(a, phone="13900000200", password=SECRET).status == 201
    cases = [
        ({"household_code": ""}, 422, "household_code"),
        ({"household_code": "x" * 32}, 422, "household_code"),
        ({"household_code": "0" * 32, "phone": "13900000201",
          "password": SECRET}, 422, "household_code"),
        ({"household_code": c * 2, "phone": "13900000201",
          "password": SECRET}, 422, "household_code"),
        ({"household_code": c, "phone": "", "password": SECRET}, 422,
         "phone"),
        ({"household_code": c, "phone": "12900000201", "password": SECRET},
         422, "phone"),
        ({"household_code": c, "phone": "1390000020", "password": SECRET},
         422, "phone"),
        ({"household_code": c, "phone": "1" * 41, "password": SECRET},
         422, "phone"),
        ({"household_code": c, "phone": "13900000201", "password": "short"},
         422, "password"),
        ({"household_code": c, "phone": "13900000201", "password": "x" * 201},
         422, "password"),
        ({"household_code": c, "phone": "13900000201"}, 422, "password"),
        ({"household_code": c, "phone": "139 0000 0200",
          "password": SECRET}, 409, "phone"),
        ({"phone": "+86 139 0000 0200", "password": SECRET}, 409, "phone"),
    ]
    for body, status, field in cases:
        error_field(register(a, **body), status, field)
    # nothing was created: the code and the phone are still free
    r = register(a, household_code=c, phone="13900000201", password=SECRET)
    assert r.status == 201, r.text
    error_field(login(a, "13900000201", "wrong password"), 401, "wrong")


def test_numbers_registered_before_mobiles_only_still_sign_in(three):
    """A store from before (schema 10): a mobile number kept with its 86 is
    kept as its 11 digits after the migration, and a landline registered
    then still signs in, though a new registration needs a mobile."""
    cid = unique_id("acold")
    three.hub.register(cid)
    n = Node(three.d / cid, three.pki, three.hub, cid,
             manager_hash=three.hash).start()
    try:
        assert register(n, phone="13800138555", password=SECRET).status == 201
        n.stop()
        db = sqlite3.connect(n.dir / n.store_file)
        with db:
            db.execute("UPDATE resident SET phone = '8613800138555'")
            db.execute("INSERT INTO resident (phone, password_hash, created)"
                       " SELECT '053288886666', password_hash, 0 FROM"
                       " resident")
            db.execute("DROP TABLE poll_tally")
            # what schema 18 added (the usage kept), first: its
            # triggers name body_bytes, which schema 14 added
            for t in ("service", "announcement"):
                for w in ("insert", "delete", "update"):
                    db.execute(f"DROP TRIGGER {t}_usage_{w}")
                db.execute(f"DROP INDEX {t}_version")
            db.execute("DROP TABLE catalog_usage")
            # and what schema 12 added
            db.execute("ALTER TABLE resident DROP COLUMN name")
            db.execute("ALTER TABLE request DROP COLUMN erased")
            # and what schema 13 added
            db.execute("ALTER TABLE resident DROP COLUMN confirmed")
            db.execute("ALTER TABLE resident DROP COLUMN confirmed_by")
            db.execute("ALTER TABLE resident_token DROP COLUMN used")
            db.execute("DROP INDEX resident_token_resident")
            db.execute("DROP TABLE phone_pending")
            db.execute("DROP TABLE vote_phone")
            # and what schema 14 added (body bytes, for quotas)
            db.execute("ALTER TABLE service DROP COLUMN body_bytes")
            db.execute("ALTER TABLE announcement DROP COLUMN body_bytes")
            # what schemas 17, 16 and 15 added, newest first (a trigger
            # of 17 names a table of 15); schema 20 took 15's table of
            # messages out of this file (into node.outbox.db)
            # what schema 17 added (Web Push)
            db.execute("DROP TRIGGER outbox_push_forget")
            db.execute("DROP TABLE outbox_push")
            # what schema 16 added (safety check-in)
            for t in ("checkin_resident", "checkin_link", "checkin_answer",
                      "checkin_call", "checkin_anonymous"):
                db.execute(f"DROP TABLE {t}")
            db.execute("ALTER TABLE request DROP COLUMN urgent")
            # what schema 15 added (the outbox)
            for trigger in ("outbox_bulletin", "outbox_request_step"):
                db.execute(f"DROP TRIGGER {trigger}")
            for table in ("outbox_event", "outbox_sms", "outbox_endpoint"):
                db.execute(f"DROP TABLE {table}")
        db.execute("PRAGMA user_version = 10")
        db.close()
        n.start()
        assert login(n, "+86 138 0013 8555").status == 200
        assert login(n, "13800138555").status == 200
        assert login(n, "0532-8888-6666").status == 200
        error_field(register(n, phone="0532-8888-6667", password=SECRET),
                    422, "phone")
        error_field(register(n, phone="13800138555", password=SECRET),
                    409, "phone")
    finally:
        stop_all([n])


def test_sign_out_revokes_only_that_token(three):
    a = three.nodes[0]
    t1 = register(a, phone="13700000300", password=SECRET).body["token"]
    t2 = login(a, "13700000300").body["token"]
    assert call(a, "GET", "/api/v1/residents/me", t1).status == 200
    assert call(a, "DELETE", "/api/v1/residents/token", t1).status == 204
    for method, path in (("GET", "/api/v1/residents/me"),
                         ("DELETE", "/api/v1/residents/token"),
                         ("DELETE", "/api/v1/residents/me")):
        r = call(a, method, path, t1)
        assert r.status == 401 and r.body["error"]["code"] == "unauthorized"
        assert call(a, method, path).status == 401
        assert call(a, method, path, "0" * 32).status == 401
    # the other sign-in goes on
    assert call(a, "GET", "/api/v1/residents/me", t2).status == 200
    assert call(a, "POST", "/api/v1/residents/me", t2).status == 405


def test_me_lists_my_votes_and_never_another_residents(three):
    a = three.nodes[0]
    r = api(a, "POST", "/api/v1/polls", {
        "question": "Where should the new bench go?",
        "options": ["by the gate", "under the tree"],
        "closes": int(time.time()) + 600})
    assert r.status == 201, r
    poll = r.json()["id"]
    mine = register(a, phone="13600000400", password=SECRET).body
    other = register(a, phone="13600000401", password=SECRET).body
    # no SMS gateway here: the manager confirms the phone before it votes
    assert api(a, "POST", f"/api/v1/residents/{mine['resident']}/confirm",
               {}).status == 200
    assert vote(a, poll, mine["token"], "under the tree").status == 201
    me = call(a, "GET", "/api/v1/residents/me", mine["token"]).body
    assert me["resident"] == mine["resident"]
    assert [(v["poll"], v["option"], v["choice"]) for v in me["votes"]] == \
        [(poll, 1, "under the tree")]
    them = call(a, "GET", "/api/v1/residents/me", other["token"]).body
    assert them["resident"] == other["resident"] and them["votes"] == []
    assert them["phone"] == "136****0401"
    # the poll says which option the bearer chose, and only theirs
    assert call(a, "GET", f"/api/v1/polls/{poll}",
                mine["token"]).body["my_vote"] == 1
    assert call(a, "GET", f"/api/v1/polls/{poll}",
                other["token"]).body["my_vote"] is None
    assert "my_vote" not in get(a.public_port,
                                f"/api/v1/polls/{poll}").json()


def test_delete_account_scrubs_its_requests(three):
    a, b = three.nodes[0], three.nodes[1]
    r = api(b, "POST", "/api/v1/services", {
        "title": "Window cleaning at home", "category": "housing",
        "delivery": ["home-visit"]})
    assert r.status == 201, r
    svc = f"{b.community}.{r.json()['id']}"
    wait_for(lambda: any(s["service_code"] == svc for s in
                         get(a.public_port,
                             "/open311/v2/services.json").json()),
             20, "B's service at A")
    who = register(a, phone="13500000500", password=SECRET).body
    c = http.client.HTTPConnection("127.0.0.1", a.public_port, timeout=10)
    c.request("POST", "/open311/v2/requests.json",
              body=urllib.parse.urlencode({
                  "service_code": svc, "description": "two windows",
                  "first_name": "Zhao", "last_name": "Lanying",
                  "phone": "13500000500",
                  "address_string": "No. 3 Willow Lane"}).encode(),
              headers={"Content-Type": "application/x-www-form-urlencoded",
                       "Authorization": f"Bearer {who['token']}"})
    resp = c.getresponse()
    made = json.loads(resp.read())
    c.close()
    assert resp.status == 201, made
    rid, rtoken = made[0]["service_request_id"], made[0]["request_secret"]
    path = f"/open311/v2/requests/{rid}.json?token={rtoken}"
    assert "Willow Lane" in get(a.public_port, path).text
    # another resident cannot delete it
    stranger = register(a, phone="13500000501", password=SECRET).body
    assert call(a, "DELETE", "/api/v1/residents/me",
                stranger["token"]).status == 204
    assert "Willow Lane" in get(a.public_port, path).text
    # the owner deletes the account
    assert call(a, "DELETE", "/api/v1/residents/me",
                who["token"]).status == 204
    text = get(a.public_port, path).text
    assert rid in text
    for personal in ("Willow Lane", "Lanying", "13500000500"):
        assert personal not in text, text
    assert call(a, "GET", "/api/v1/residents/me",
                who["token"]).status == 401
    error_field(login(a, "13500000500"), 401, "wrong")
    # the phone is free again; the new account is someone new
    r = register(a, phone="13500000500", password=SECRET)
    assert r.status == 201 and r.body["resident"] != who["resident"]


def test_delete_account_scrubs_requests_not_yet_sent(three):
    """A request made while the hub is away waits in the outbox; deleting
    the account blanks its personal data there too, so the owner gets the
    request without it."""
    hub, a, b = three.hub, three.nodes[0], three.nodes[1]
    r = api(b, "POST", "/api/v1/services", {
        "title": "Grocery delivery", "category": "elderly-care",
        "delivery": ["home-visit"]})
    assert r.status == 201, r
    svc = f"{b.community}.{r.json()['id']}"
    wait_for(lambda: any(s["service_code"] == svc for s in
                         get(a.public_port,
                             "/open311/v2/services.json").json()),
             20, "B's service at A")
    who = register(a, phone="13500000700", password=SECRET).body
    hub.stop()
    try:
        c = http.client.HTTPConnection("127.0.0.1", a.public_port,
                                       timeout=10)
        c.request("POST", "/open311/v2/requests.json",
                  body=urllib.parse.urlencode({
                      "service_code": svc, "description": "rice and oil",
                      "first_name": "Qian", "last_name": "Xiuzhen",
                      "phone": "13500000700",
                      "address_string": "No. 8 Plum Lane"}).encode(),
                  headers={"Content-Type":
                           "application/x-www-form-urlencoded",
                           "Authorization": f"Bearer {who['token']}"})
        resp = c.getresponse()
        made = json.loads(resp.read())
        c.close()
        assert resp.status == 201, made
        rid = made[0]["service_request_id"]
        assert call(a, "DELETE", "/api/v1/residents/me",
                    who["token"]).status == 204
    finally:
        hub.start()
    for n in three.nodes:
        n.wait_connected()

    def arrived():
        q = api(b, "GET", "/api/v1/requests")
        return q.status == 200 and [x for x in q.json()["items"]
                                    if x["service_request_id"] == rid]
    got = wait_for(arrived, 30, "the request at its owner")[0]
    text = json.dumps(got)
    assert "rice and oil" in text
    for personal in ("Plum Lane", "Xiuzhen", "13500000700"):
        assert personal not in text, text


def resident_row(node, resident):
    db = sqlite3.connect(node.dir / node.store_file)
    try:
        return db.execute("SELECT name, phone FROM resident WHERE id = ?",
                          (resident,)).fetchone()
    finally:
        db.close()


def test_account_name_set_edited_and_erased(three):
    a = three.nodes[0]
    # at registration, with a phone or with a household code
    r = register(a, phone="13300001100", password=SECRET, name="王秀英")
    assert r.status == 201, r.text
    who = r.body
    me = call(a, "GET", "/api/v1/residents/me", who["token"]).body
    assert me["name"] == "王秀英" and me["phone_number"] == "13300001100"
    r = register(a, household_code=code(a), name="李 建国")
    assert r.status == 201, r.text
    assert call(a, "GET", "/api/v1/residents/me",
                r.body["token"]).body["name"] == "李 建国"
    # optional: none given is null
    r = register(a, phone="13300001101", password=SECRET)
    assert call(a, "GET", "/api/v1/residents/me",
                r.body["token"]).body["name"] is None
    # edited on the account page
    r = call(a, "PATCH", "/api/v1/residents/me", who["token"],
             {"name": "王秀英（奶奶）"})
    assert r.status == 200, r.text
    assert r.body["name"] == "王秀英（奶奶）" and r.body["resident"] == \
        who["resident"]
    # bad input names the field and changes nothing
    for body in ({}, {"name": None}, {"name": 42}, {"name": ["x"]},
                 {"name": "x" * 201}, {"name": "秀" * 67},
                 {"name": "a\u0001b"}, {"name": "a\nb"}):
        error_field(call(a, "PATCH", "/api/v1/residents/me", who["token"],
                         body), 422, "name")
    for raw in (b"[]", b'{"name": "a\\u0000b"}', b"\xff"):
        c = http.client.HTTPConnection("127.0.0.1", a.public_port, timeout=9)
        c.request("PATCH", "/api/v1/residents/me", body=raw, headers={
            "Authorization": f"Bearer {who['token']}",
            "Content-Type": "application/json"})
        assert c.getresponse().status == 400, raw
        c.close()
    assert call(a, "GET", "/api/v1/residents/me",
                who["token"]).body["name"] == "王秀英（奶奶）"
    # only with her token
    assert call(a, "PATCH", "/api/v1/residents/me", None,
                {"name": "x"}).status == 401
    assert call(a, "PATCH", "/api/v1/residents/me", "0" * 32,
                {"name": "x"}).status == 401
    # at most 200 bytes fits
    r = call(a, "PATCH", "/api/v1/residents/me", who["token"],
             {"name": "秀" * 66})
    assert r.status == 200 and r.body["name"] == "秀" * 66
    # a bad name at registration creates nothing
    for body in ({"phone": "13300001102", "password": SECRET,
                  "name": "x" * 201},
                 {"phone": "13300001102", "password": SECRET, "name": 7},
                 {"phone": "13300001102", "password": SECRET,
                  "name": "a\tb"}):
        error_field(register(a, **body), 422, "name")
    c = code(a)
    error_field(register(a, household_code=c, name="y" * 300), 422, "name")
    assert register(a, household_code=c).status == 201   # still unused
    error_field(login(a, "13300001102"), 401, "wrong")
    # "" removes it
    r = call(a, "PATCH", "/api/v1/residents/me", who["token"], {"name": ""})
    assert r.status == 200 and r.body["name"] is None
    call(a, "PATCH", "/api/v1/residents/me", who["token"], {"name": "王秀英"})
    # erased with the account
    assert call(a, "DELETE", "/api/v1/residents/me",
                who["token"]).status == 204
    assert resident_row(a, who["resident"]) == ("", None)


def request_as(node, token, **fields):
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        c.request("POST", "/open311/v2/requests.json",
                  body=urllib.parse.urlencode(fields).encode(),
                  headers=headers)
        resp = c.getresponse()
        made = json.loads(resp.read())
        assert resp.status == 201, made
        return made[0]["service_request_id"]
    finally:
        c.close()


def test_delete_account_erases_at_the_owner(three):
    """Her requests relayed to another community lose their personal data
    there too: an open one is withdrawn, a done one stays done; another
    resident's request for the same service keeps everything."""
    a, b = three.nodes[0], three.nodes[2]
    r = api(b, "POST", "/api/v1/services", {
        "title": "Bathing help at home", "category": "elderly-care",
        "delivery": ["home-visit"]})
    assert r.status == 201, r
    svc = f"{b.community}.{r.json()['id']}"
    wait_for(lambda: any(s["service_code"] == svc for s in
                         get(a.public_port,
                             "/open311/v2/services.json").json()),
             20, "B's service at A")
    her = register(a, phone="13200001200", password=SECRET,
                   name="Sun Guihua").body
    other = register(a, phone="13200001201", password=SECRET).body
    open_id = request_as(a, her["token"], service_code=svc,
                         description="help on Mondays", name="Sun Guihua",
                         phone="13200001200",
                         address_string="No. 5 Pine Road",
                         email="sun@example.org", lat="36.06",
                         long="120.38", relative_name="Sun Ming",
                         relative_phone="13200001299")
    done_id = request_as(a, her["token"], service_code=svc,
                         description="once before the holiday",
                         name="Sun Guihua", phone="13200001200",
                         address_string="No. 5 Pine Road")
    kept_id = request_as(a, other["token"], service_code=svc,
                         description="help for my father",
                         name="Zhou Li", phone="13200001201",
                         address_string="No. 9 Elm Road")

    def queue():
        q = api(b, "GET", "/api/v1/requests")
        assert q.status == 200, q
        return {x["service_request_id"]: x for x in q.json()["items"]}
    wait_for(lambda: {open_id, done_id, kept_id} <= set(queue()), 30,
             "the requests at their owner")
    assert queue()[open_id]["address"] == "No. 5 Pine Road"
    assert queue()[open_id]["relative_name"] == "Sun Ming"
    r = api(b, "PATCH", f"/api/v1/requests/{done_id}",
            {"status": "done", "status_notes": "done on Friday"})
    assert r.status == 200, r
    mine = f"/open311/v2/requests/{done_id}.json"
    wait_for(lambda: get(a.public_port, mine).json()[0]["alliance_status"]
             == "done", 30, "done back at her node")

    assert call(a, "DELETE", "/api/v1/residents/me",
                her["token"]).status == 204

    def erased():
        q = queue()
        return q[open_id]["erased"] and q[done_id]["erased"] and q
    q = wait_for(erased, 30, "the erasure at the owner")
    personal = ("Sun Guihua", "13200001200", "Pine Road", "sun@example.org",
                "Sun Ming", "13200001299")
    for rid in (open_id, done_id):
        x = q[rid]
        for k in ("name", "phone", "email", "address", "relative_name",
                  "relative_phone"):
            assert x[k] == "", (k, x)
        assert "lat" not in x and "long" not in x, x
        text = json.dumps(x)
        for p in personal:
            assert p not in text, (p, text)
    assert q[open_id]["alliance_status"] == "withdrawn"
    assert q[open_id]["description"] == "help on Mondays"
    assert q[done_id]["alliance_status"] == "done"
    assert q[done_id]["status_notes"] == "done on Friday"
    # a withdrawn request takes no status; the done one is still the owner's
    assert api(b, "PATCH", f"/api/v1/requests/{open_id}",
               {"status": "done"}).status == 409
    # another resident's request is untouched
    k = q[kept_id]
    assert (k["name"], k["phone"], k["address"], k["alliance_status"],
            k["erased"]) == ("Zhou Li", "13200001201", "No. 9 Elm Road",
                             "open", False)
    # and at her node too: erased, withdrawn when it was open
    for rid, status in ((open_id, "withdrawn"), (done_id, "done")):
        x = get(a.public_port, f"/open311/v2/requests/{rid}.json").json()[0]
        assert x["alliance_status"] == status and x["erased"], x
    # the hub kept no body of them (delivered and forgotten)
    db = sqlite3.connect(three.hub.dir / three.hub.store_file)
    try:
        bodies = db.execute("SELECT count(*) FROM relay WHERE id IN (?, ?)"
                            " AND body IS NOT NULL",
                            (open_id, done_id)).fetchone()[0]
    finally:
        db.close()
    assert bodies == 0


def test_manager_closes_a_community_poll(three):
    hub, a, b = three.hub, three.nodes[0], three.nodes[1]
    r = api(a, "POST", "/api/v1/polls", {
        "question": "Close the lane on Sundays?", "options": ["yes", "no"],
        "closes": int(time.time()) + 3600})
    assert r.status == 201, r
    poll = r.json()["id"]
    t = voter(a, "13400000600")
    late = voter(a, "13400000601")
    assert vote(a, poll, t, "yes").status == 201
    # not the manager: refused, and nothing changes
    assert call(a, "POST", f"/api/v1/polls/{poll}/close", t).status == 401
    assert api(a, "POST", f"/api/v1/polls/{poll}/close", {},
               password="wrong password").status == 401
    assert api(b, "POST", f"/api/v1/polls/{poll}/close", {}).status == 403
    assert api(a, "GET", f"/api/v1/polls/{poll}/close").status == 405
    assert api(a, "POST", f"/api/v1/polls/{a.community}.nosuch/close",
               {}).status == 404
    assert not get(a.public_port, f"/api/v1/polls/{poll}").json()["closed"]
    r = api(a, "POST", f"/api/v1/polls/{poll}/close", {})
    assert r.status == 200, r
    wait_for(lambda: get(a.public_port, f"/api/v1/polls/{poll}").json()
             ["closed"], 5, "the poll to be closed")
    got = get(a.public_port, f"/api/v1/polls/{poll}").json()
    assert got["counts"] == [1, 0]
    r = vote(a, poll, late, "no")
    assert r.status == 409 and r.body["error"]["code"] == "closed"
    assert api(a, "POST", f"/api/v1/polls/{poll}/close", {}).status == 409
    # the hub learns it closed, with the tally kept
    wait_for(lambda: hub.api("GET", f"/api/v1/polls/{poll}").status == 200
             and hub.api("GET", f"/api/v1/polls/{poll}").json()["closed"]
             and hub.api("GET", f"/api/v1/polls/{poll}").json()
             ["results"]["counts"] == [1, 0], 20, "the close at the hub")
    # the outcome, once the poll is final (RELAY_TALLY_GRACE_S after)
    wait_for(lambda: "outcome" in get(a.public_port,
                                      f"/api/v1/polls/{poll}").json(),
             30, "the outcome once final")
    assert get(a.public_port, f"/api/v1/polls/{poll}").json()["outcome"] \
        == {"winner": "yes", "tie": False}


def test_poll_create_refuses_bad_input(three):
    a = three.nodes[0]
    now = int(time.time())
    before = get(a.public_port, "/api/v1/polls").json()["items"]
    cases = [
        ({"options": ["a", "b"], "closes": now + 60}, "question"),
        ({"question": "", "options": ["a", "b"], "closes": now + 60},
         "poll.question"),
        ({"question": "x" * 501, "options": ["a", "b"], "closes": now + 60},
         "poll.question"),
        ({"question": "Q?", "options": ["a"], "closes": now + 60},
         "poll.options"),
        ({"question": "Q?", "options": [str(i) for i in range(11)],
          "closes": now + 60}, "options"),
        ({"question": "Q?", "options": ["a", "a"], "closes": now + 60},
         "poll.options[1]"),
        ({"question": "Q?", "options": ["a", ""], "closes": now + 60},
         "poll.options[1]"),
        ({"question": "Q?", "options": ["a", "b"], "closes": now - 60},
         "poll.closes"),
        ({"question": "Q?", "options": ["a", "b"], "closes": "soon"},
         "closes"),
    ]
    for body, field in cases:
        r = api(a, "POST", "/api/v1/polls", body)
        assert r.status == 422, (body, r)
        assert r.json()["error"]["message"].startswith(field), r.json()
    assert get(a.public_port, "/api/v1/polls").json()["items"] == before


def test_district_results_per_community_at_every_node(three):
    hub, nodes = three.hub, three.nodes
    r = alliancectl(hub, "poll", "create", "--question",
                    "Extend the library hours?", "--option", "yes",
                    "--option", "no", "--option", "weekends only",
                    "--closes", "10m")
    assert r.returncode == 0, r.stderr
    poll = r.stdout.split()[0]
    for n in nodes:
        wait_for(lambda n=n: get(n.public_port, f"/api/v1/polls/{poll}")
                 .status == 200, 20, f"the poll at {n.community}")
    # a district poll is not closed at a node
    assert api(nodes[0], "POST", f"/api/v1/polls/{poll}/close",
               {}).status == 403
    plan = {nodes[0].community: [0, 0, 2], nodes[1].community: [1, 2]}
    expected = {nodes[0].community: [2, 0, 1],
                nodes[1].community: [0, 1, 1],
                nodes[2].community: [0, 0, 0]}
    for i, n in enumerate(nodes[:2]):
        for j, option in enumerate(plan[n.community]):
            t = voter(n, f"1330000{i}{j:03d}")
            assert vote(n, poll, t, option).status == 201
    total = [2, 1, 2]

    def shown(n):
        res = get(n.public_port, f"/api/v1/polls/{poll}").json()["results"]
        per = {c["community"]: c["counts"] for c in res["communities"]}
        want = {k: v for k, v in expected.items()
                if sum(v) or k == n.community}
        return per == want and res["counts"] == total and \
            res["votes"] == sum(total) and res
    for n in nodes:
        res = wait_for(lambda n=n: shown(n), 20,
                       f"every community's tally at {n.community}")
        assert res["communities"][0]["community"] == n.community
        assert [sum(x) for x in zip(*(c["counts"] for c in
                                      res["communities"]))] == total
    hub_res = hub.api("GET", f"/api/v1/polls/{poll}").json()["results"]
    assert hub_res["counts"] == total
    # a node whose session starts later is sent the tallies too
    nodes[2].stop()
    t = voter(nodes[1], "13300009999")
    assert vote(nodes[1], poll, t, "weekends only").status == 201
    expected[nodes[1].community] = [0, 1, 2]
    total = [2, 1, 3]
    nodes[2].start()
    nodes[2].wait_connected()
    wait_for(lambda: shown(nodes[2]), 20, "the new tally after a restart")

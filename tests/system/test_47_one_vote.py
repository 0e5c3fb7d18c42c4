"""One resident, one vote (issue 13, finding 9 and two of 10's items):
a phone proves itself with a one-time code the node sends through the SMS
gateway's webhook ([sms] url and secret), or, without a gateway, the
manager confirms it in the console; one account per phone; registration
answers the same for a known and an unknown phone; resident tokens expire
and are revoked by sign-out and by the manager.

The gateway is this test's own HTTP server: it checks every post's
X-Alliance-Signature ("t=TIMESTAMP,v1=" and the HMAC-SHA256 over
"TIMESTAMP.BODY" with the shared secret) and Idempotency-Key, and keeps the messages, so the test reads
the code as a resident's phone would. One hub per module; a node per
test where the per-address code limit would otherwise be shared.
"""

import hashlib
import http.client
import json
import re
import sqlite3
import time
import urllib.parse

import pytest

from conftest import (Node, SmsGateway, resident_call, start_topology,
                      stop_all, unique_id)
from test_05_config import bad_config, valid_config, with_line
from test_25_manager import api, get

SECRET = "the gateway's shared secret"
PASSWORD_R = "a resident's long password"


# ---- the gateway (conftest's SmsGateway) and a node using it ---------------

class SmsNode(Node):
    """A node whose config has an [sms] section."""

    def __init__(self, *a, sms=None, **kw):
        super().__init__(*a, **kw)
        self.sms = sms

    def config_text(self):
        text = super().config_text()
        if self.sms:
            text += f"[sms]\nurl = {self.sms[0]}\nsecret = {self.sms[1]}\n"
        return text


# ---- fixtures and helpers -------------------------------------------------

@pytest.fixture(scope="module")
def alliance(pki, tmp_path_factory, password_hash):
    """A hub and an SMS gateway; start_node adds nodes (made)."""
    made = []
    gw = SmsGateway(SECRET)
    try:
        t = start_topology(pki, tmp_path_factory.mktemp("onevote"), [], made,
                           manager_hash=password_hash)
        t.gw, t.made = gw, made
        yield t
    finally:
        gw.close()
        stop_all(made)


def start_node(al, sms=True, **kw):
    cid = unique_id("ov")
    al.hub.register(cid)
    n = SmsNode(al.d / cid, al.pki, al.hub, cid, manager_hash=al.hash,
                sms=(al.gw.url, SECRET) if sms else None,
                limits={"resident_actions": 200}, **kw).start()
    al.made.append(n)
    return n


@pytest.fixture
def sms_node(alliance):
    n = start_node(alliance)
    yield n
    stop_all([n])
    alliance.made.remove(n)


@pytest.fixture
def plain_node(alliance):
    n = start_node(alliance, sms=False)
    yield n
    stop_all([n])
    alliance.made.remove(n)


def call(node, method, path, body=None, token=None):
    """method path with body as JSON (JSON-typed even without one)."""
    return resident_call(node, method, path, body=body, token=token,
                         ctype="application/json")


def register(node, phone, password=PASSWORD_R, **kw):
    return call(node, "POST", "/api/v1/residents",
                {"phone": phone, "password": password, **kw})


def verify(node, phone, code):
    return call(node, "POST", "/api/v1/residents/verify",
                {"phone": phone, "code": code})


def poll(node):
    r = api(node, "POST", "/api/v1/polls", {
        "question": "A bench by the gate?", "options": ["yes", "no"],
        "closes": int(time.time()) + 600})
    assert r.status == 201, r
    return r.json()["id"]


def vote(node, p, token, option="yes"):
    return call(node, "POST", f"/api/v1/polls/{p}/votes",
                {"option": option}, token)


def counts(node, p):
    return get(node.public_port, f"/api/v1/polls/{p}").json()["counts"]


def me(node, token):
    return call(node, "GET", "/api/v1/residents/me", token=token)


def residents_with(node, phone):
    db = sqlite3.connect(node.dir / node.store_file)
    try:
        return db.execute("SELECT count(*) FROM resident WHERE phone = ?",
                          (phone,)).fetchone()[0]
    finally:
        db.close()


def signed_up(node, gw, phone):
    """A resident registered and verified through the gateway: the
    answer of verify (token, resident)."""
    before = len(gw.messages(phone))
    r = register(node, phone)
    assert r.status == 202, r.raw
    code = gw.wait_message(phone, before + 1)["code"]
    r = verify(node, phone, code)
    assert r.status == 201, r.raw
    return r.body


# ---- with a gateway -------------------------------------------------------

def test_code_arrives_signed_verifies_and_the_vote_counts_once(alliance,
                                                              sms_node):
    n, gw = sms_node, alliance.gw
    p = poll(n)
    r = register(n, "13812340001", name="Wang Fang")
    assert r.status == 202, r.raw
    assert r.body == {"sent": True, "phone": "138****0001",
                      "expires_in": 600}
    assert residents_with(n, "13812340001") == 0   # nothing yet
    msg = gw.wait_message("13812340001")
    assert msg["kind"] == "verification_code"
    assert re.fullmatch(r"\d{6}", msg["code"])
    assert msg["code"] in msg["text"] and msg["community"] == n.community
    assert gw.all_signed()
    r = verify(n, "138 1234 0001", msg["code"])
    assert r.status == 201, r.raw
    token = r.body["token"]
    got = me(n, token).body
    assert got["phone_confirmed"] is True and got["voter"] is True
    assert got["name"] == "Wang Fang"
    assert vote(n, p, token).status == 201
    assert vote(n, p, token, "no").status == 409
    # the code is used: it makes no second account
    assert verify(n, "13812340001", msg["code"]).status == 422
    # the password set at registration signs in again
    r = call(n, "POST", "/api/v1/residents/login",
             {"phone": "13812340001", "password": PASSWORD_R})
    assert r.status == 200 and r.body["resident"] == got["resident"]
    assert vote(n, p, r.body["token"], "no").status == 409
    assert counts(n, p) == [1, 0]
    assert residents_with(n, "13812340001") == 1
    # neither the code nor the phone reaches the node's log
    log = n.log()
    assert msg["code"] not in log and "13812340001" not in log


def test_three_unverified_self_registrations_give_no_vote(alliance,
                                                          sms_node):
    n, gw = sms_node, alliance.gw
    p = poll(n)
    for i in range(3):
        r = register(n, f"1391234000{i}")
        assert r.status == 202 and "token" not in r.body, r.raw
        gw.wait_message(f"1391234000{i}")
        # a guessed code opens nothing
        assert verify(n, f"1391234000{i}", "000000").status == 422
    # no account, no token: nothing can vote
    for i in range(3):
        assert residents_with(n, f"1391234000{i}") == 0
    assert vote(n, p, "0" * 32).status == 401
    assert counts(n, p) == [0, 0]


def test_one_account_per_phone_and_one_answer_for_known_and_unknown(
        alliance, sms_node):
    n, gw = sms_node, alliance.gw
    first = signed_up(n, gw, "13712340001")
    # the registered phone and a new one: the same status and body (the
    # masked number aside), the same headers
    known = register(n, "13712340001", password="another password!")
    unknown = register(n, "13712340002", password="another password!")
    assert known.status == unknown.status == 202
    assert known.body == {**unknown.body, "phone": "137****0001"}
    # the phone's owner is told, and gets no code
    told = gw.wait_message("13712340001", 2)
    assert told["kind"] == "already_registered" and "code" not in told
    assert gw.wait_message("13712340002")["kind"] == "verification_code"
    # no code makes a second account for the phone
    for guess in ("000000", "123456", told.get("code", "999999")):
        assert verify(n, "13712340001", guess).status == 422
    assert residents_with(n, "13712340001") == 1
    # the first password still signs in; the second does not
    ok = call(n, "POST", "/api/v1/residents/login",
              {"phone": "13712340001", "password": PASSWORD_R})
    assert ok.status == 200 and ok.body["resident"] == first["resident"]
    assert call(n, "POST", "/api/v1/residents/login",
                {"phone": "13712340001", "password": "another password!"}
                ).status == 401


def test_wrong_codes_exhaust_the_attempts(alliance, sms_node):
    n, gw = sms_node, alliance.gw
    assert register(n, "13612340001").status == 202
    code = gw.wait_message("13612340001")["code"]
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(5):
        r = verify(n, "13612340001", wrong)
        assert r.status == 422 and r.body["error"]["message"].startswith(
            "code"), r.raw
    # the right code comes too late: its registration is gone
    assert verify(n, "13612340001", code).status == 422
    assert residents_with(n, "13612340001") == 0
    # bad input names its field and changes nothing
    for body, field in (({"phone": "13612340001", "code": "12345"}, "code"),
                        ({"phone": "13612340001", "code": "12a456"}, "code"),
                        ({"phone": "13612340001", "code": 123456}, "code"),
                        ({"phone": "12", "code": "123456"}, "phone"),
                        ({"code": "123456"}, "phone")):
        r = call(n, "POST", "/api/v1/residents/verify", body)
        assert r.status == 422, r.raw
        assert r.body["error"]["message"].startswith(field), r.raw
    # registering again sends a new code, which works
    assert register(n, "13612340001").status == 202
    code2 = gw.wait_message("13612340001", 2)["code"]
    assert verify(n, "13612340001", code2).status == 201


def test_a_household_code_with_a_phone_waits_for_the_texted_code(
        alliance, sms_node):
    n, gw = sms_node, alliance.gw
    r = api(n, "POST", "/api/v1/household-codes", {})
    assert r.status == 201, r
    hc = r.json()["code"]
    assert register(n, "13612340077", household_code=hc).status == 202
    code = gw.wait_message("13612340077")["code"]
    # not claimed until the phone is proved: a typo'd phone loses nothing
    r = verify(n, "13612340077", code)
    assert r.status == 201, r.raw
    got = me(n, r.body["token"]).body
    assert got["household"] is True and got["phone_confirmed"] is True
    r = call(n, "POST", "/api/v1/residents", {"household_code": hc})
    assert r.status == 422 and r.body["error"]["message"].startswith(
        "household_code")


def test_an_expired_code_is_refused(alliance, sms_node):
    n, gw = sms_node, alliance.gw
    assert register(n, "13612340088").status == 202
    code = gw.wait_message("13612340088")["code"]
    n.stop()
    db = sqlite3.connect(n.dir / n.store_file)
    with db:
        # ten minutes and a second later
        db.execute("UPDATE phone_pending SET expires = ?",
                   (int(time.time()) - 1,))
    db.close()
    n.start()
    r = verify(n, "13612340088", code)
    assert r.status == 422 and r.body["error"]["message"].startswith(
        "code"), r.raw
    assert residents_with(n, "13612340088") == 0


def test_codes_per_phone_are_limited_alike_for_known_and_unknown(
        alliance, sms_node):
    n, gw = sms_node, alliance.gw
    signed_up(n, gw, "13512340001")           # one code sent to it
    got = [register(n, "13512340001").status for _ in range(3)]
    new = [register(n, "13512340002").status for _ in range(4)]
    assert got == [202, 202, 429] and new == [202, 202, 202, 429]
    # and per address: ten codes an hour from one client, whatever phone
    more = [register(n, f"1351234001{i}").status for i in range(3)]
    assert more == [202, 202, 429]
    gw.wait_message("13512340001", 3)
    assert len(gw.messages("13512340001")) == 3


def test_a_failed_post_is_retried_with_the_same_key(alliance, sms_node):
    n, gw = sms_node, alliance.gw
    with gw.lock:
        gw.fail_next = 1
    assert register(n, "13412340001").status == 202
    msg = gw.wait_message("13412340001")
    with gw.lock:
        tries = [p for p in gw.posts if p.key == msg["id"]]
    assert [p.answered for p in tries] == [503, 200]
    assert tries[0].raw == tries[1].raw and gw.all_signed()
    assert verify(n, "13412340001", msg["code"]).status == 201


# ---- without a gateway: the manager confirms ------------------------------

def test_without_sms_the_manager_confirms_then_the_vote_counts_once(
        alliance, plain_node):
    n = plain_node
    p = poll(n)
    accounts = []
    for i in range(3):
        r = register(n, f"1331234000{i}")
        assert r.status == 201, r.raw
        accounts.append(r.body)
    # three self-registrations: no vote among them
    for a in accounts:
        r = vote(n, p, a["token"])
        assert r.status == 403 and r.body["error"]["code"] == "unconfirmed"
        assert me(n, a["token"]).body["voter"] is False
    assert counts(n, p) == [0, 0]
    # a second account for a phone: refused (no gateway, no secrecy owed)
    assert register(n, "13312340000").status == 409
    # the console's list shows them, with the number to check
    listed = api(n, "GET", "/api/v1/residents/pending").json()["items"]
    assert [x["resident"] for x in listed][:3] == \
        [a["resident"] for a in reversed(accounts)]
    assert listed[0]["phone"] == "13312340002"
    # only the manager confirms: no credential, a resident's token, a
    # form's content type
    who = accounts[0]["resident"]
    path = f"/api/v1/residents/{who}/confirm"
    assert api(n, "POST", path, {}, password=None).status == 401
    assert call(n, "POST", path, {}, accounts[0]["token"]).status == 401
    assert api(n, "POST", path, {}, content_type="application/"
               "x-www-form-urlencoded").status == 415
    assert api(n, "POST", path, {},
               content_type="application/jsonp").status == 415
    assert api(n, "POST", "/api/v1/residents/999999/confirm",
               {}).status == 404
    assert api(n, "POST", "/api/v1/residents/0x1/confirm", {}).status == 404
    assert api(n, "GET", path).status == 405
    assert vote(n, p, accounts[0]["token"]).status == 403
    r = api(n, "POST", path, {})
    assert r.status == 200 and r.json()["resident"] == who
    assert vote(n, p, accounts[0]["token"]).status == 201
    assert vote(n, p, accounts[0]["token"], "no").status == 409
    assert counts(n, p) == [1, 0]
    listed = api(n, "GET", "/api/v1/residents/pending").json()["items"]
    assert who not in [x["resident"] for x in listed]
    got = me(n, accounts[0]["token"]).body
    assert got["phone_confirmed"] is True and got["voter"] is True
    # without a gateway there is no code to verify
    assert verify(n, "13312340000", "123456").status == 404


def test_a_phone_votes_once_per_poll_across_a_deleted_account(
        alliance, plain_node):
    n = plain_node
    p = poll(n)
    first = register(n, "13312340050").body
    assert api(n, "POST", f"/api/v1/residents/{first['resident']}/confirm",
               {}).status == 200
    assert vote(n, p, first["token"]).status == 201
    # she deletes her account and registers the same phone again
    assert call(n, "DELETE", "/api/v1/residents/me",
                token=first["token"]).status == 204
    again = register(n, "13312340050").body
    assert again["resident"] != first["resident"]
    assert api(n, "POST", f"/api/v1/residents/{again['resident']}/confirm",
               {}).status == 200
    r = vote(n, p, again["token"], "no")
    assert r.status == 409 and r.body["error"]["code"] == "already_voted"
    assert counts(n, p) == [1, 0]
    # another poll is another vote; the store keeps no phone in clear
    q = poll(n)
    assert vote(n, q, again["token"], "no").status == 201
    db = sqlite3.connect(n.dir / n.store_file)
    keys = db.execute("SELECT phone_key FROM vote_phone").fetchall()
    db.close()
    assert len(keys) == 2 and all(len(k) == 32 and b"13312340050" not in k
                                  for (k,) in keys)


# ---- tokens ----------------------------------------------------------------

def test_a_token_unused_past_its_expiry_is_refused(alliance, plain_node):
    n = plain_node
    old = register(n, "13212340001").body
    fresh = call(n, "POST", "/api/v1/residents/login",
                 {"phone": "13212340001", "password": PASSWORD_R}).body
    assert me(n, old["token"]).status == 200
    n.stop()
    db = sqlite3.connect(n.dir / n.store_file)
    with db:
        # the first token last used 30 days and a minute ago, the other
        # 29 days ago
        rows = db.execute("SELECT hash FROM resident_token").fetchall()
        assert len(rows) == 2
        old_hash = hashlib.sha256(old["token"].encode()).digest()
        now = int(time.time())
        db.execute("UPDATE resident_token SET used = ? WHERE hash = ?",
                   (now - 30 * 86400 - 60, old_hash))
        db.execute("UPDATE resident_token SET used = ? WHERE hash != ?",
                   (now - 29 * 86400, old_hash))
    db.close()
    n.start()
    r = me(n, old["token"])
    assert r.status == 401, r.raw
    assert me(n, fresh["token"]).status == 200
    # its use made it young again: it lives on
    db = sqlite3.connect(n.dir / n.store_file)
    used = db.execute("SELECT used FROM resident_token").fetchall()
    db.close()
    assert len(used) == 2
    assert max(u for (u,) in used) >= now


def test_sign_out_and_manager_revocation_end_tokens(alliance, plain_node):
    n = plain_node
    a = register(n, "13112340001").body
    b = call(n, "POST", "/api/v1/residents/login",
             {"phone": "13112340001", "password": PASSWORD_R}).body
    other = register(n, "13112340002").body
    # sign-out ends that token only
    assert call(n, "DELETE", "/api/v1/residents/token",
                token=a["token"]).status == 204
    assert me(n, a["token"]).status == 401
    assert me(n, b["token"]).status == 200
    # a request's own follow token is the request's, not the account's
    r = api(n, "POST", "/api/v1/services", {
        "title": "Haircut at home", "category": "elderly-care",
        "delivery": ["home-visit"]})
    assert r.status == 201, r
    c = http.client.HTTPConnection("127.0.0.1", n.public_port, timeout=10)
    c.request("POST", "/open311/v2/requests.json",
              body=urllib.parse.urlencode({
                  "service_code": f"{n.community}/{r.json()['id']}",
                  "description": "a haircut please", "phone": "13112340001",
                  "address_string": "No. 3 Elm Lane"}).encode(),
              headers={"Content-Type": "application/x-www-form-urlencoded",
                       "Authorization": f"Bearer {b['token']}"})
    resp = c.getresponse()
    asked = json.loads(resp.read())
    c.close()
    assert resp.status == 201, asked
    rid, follow = asked[0]["service_request_id"], asked[0]["request_secret"]
    # the manager revokes every token of the resident
    path = f"/api/v1/residents/{a['resident']}/revoke"
    assert api(n, "POST", path, {}, password=None).status == 401
    r = api(n, "POST", path, {})
    assert r.status == 200 and r.json() == {"resident": a["resident"],
                                            "revoked": 1}
    assert me(n, b["token"]).status == 401
    assert me(n, other["token"]).status == 200   # another's stays
    assert api(n, "POST", "/api/v1/residents/999999/revoke",
               {}).status == 404
    # the request still opens with its own token, with the address
    got = get(n.public_port, f"/open311/v2/requests/{rid}.json"
              f"?token={follow}").json()[0]
    assert got["address"] == "No. 3 Elm Lane"
    # and the revoked account token no longer shows it
    c = http.client.HTTPConnection("127.0.0.1", n.public_port, timeout=10)
    c.request("GET", f"/open311/v2/requests/{rid}.json",
              headers={"Authorization": f"Bearer {b['token']}"})
    text = c.getresponse().read().decode()
    c.close()
    assert rid in text and "Elm Lane" not in text
    # signing in again works
    assert call(n, "POST", "/api/v1/residents/login",
                {"phone": "13112340001", "password": PASSWORD_R}
                ).status == 200


# ---- configuration ----------------------------------------------------------

@pytest.mark.parametrize("line,key", [
    ("resident_token_idle_s = 10", "resident_token_idle_s"),
    ("resident_token_idle_s = 99999999", "resident_token_idle_s"),
])
def test_token_expiry_is_bounded(pki, tmp_path, line, key):
    text, no = with_line(valid_config("alliance-node", pki, tmp_path),
                         r"^\[limits\]", line)
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert f"{conf}:{no}" in err and key in err


@pytest.mark.parametrize("sms,key", [
    ("[sms]\nurl = ftp://x.example/\nsecret = sixteen bytes ok!!\n", "url"),
    ("[sms]\nurl = https://x.example/\nsecret = short\n", "secret"),
    ("[sms]\nurl = https://x.example/\n", "secret"),
    ("[sms]\nsecret = sixteen bytes ok!!\n", "url"),
])
def test_sms_section_is_checked(pki, tmp_path, sms, key):
    text = valid_config("alliance-node", pki, tmp_path) + sms
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert "[sms]" in err and key in err

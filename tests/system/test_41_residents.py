"""Resident credentials by phone and password: registration (409 for a
phone already registered, 422 naming the field), login (right, wrong, the
per-address and per-phone limits with their release), the password KDF off
the service thread, and a registered resident's token following their own
request and voting once, like a household-code token, once the manager
has confirmed the phone.

One hub and two nodes with a manager password (module fixture; every
registration counts against the address limit, so the tests share them
out); the limit test starts its own node with a small window.
"""

import http.client
import json
import threading
import time
import urllib.parse

import pytest

from conftest import Node, resident_call, stop_all, unique_id, wait_for
from test_25_manager import api, get, sharing
from test_45_polls import vote

PHONE = "+86 138-0013-8001"
SECRET = "long enough secret"


@pytest.fixture(scope="module")
def two(pki, tmp_path_factory, password_hash):
    with sharing(pki, tmp_path_factory.mktemp("residents"), ["rsa", "rsb"],
                 password_hash, {"title": "Wheelchair repair at home",
                                 "category": "disability",
                                 "delivery": ["home-visit"]}) as s:
        yield s


def post(node, path, body, token=None, raw=None):
    """POST body as JSON (raw in its place when given) as token's resident."""
    return resident_call(node, "POST", path, body=None if raw is not None
                         else body, token=token, raw=raw,
                         ctype="application/json")


def register(node, phone, password=SECRET):
    return post(node, "/api/v1/residents",
                {"phone": phone, "password": password})


def login(node, phone, password=SECRET):
    return post(node, "/api/v1/residents/login",
                {"phone": phone, "password": password})


def get_with(node, path, token):
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=10)
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def error_field(r, status, field):
    assert r.status == status, (r.status, r.text)
    assert r.body["error"]["message"].startswith(field), r.body


def test_register_login_and_duplicate(two):
    r = register(two.a, PHONE)
    assert r.status == 201, r.text
    assert len(r.body["token"]) == 32 and r.body["resident"] > 0
    first = r.body["resident"]
    # the same digits written differently are the same phone
    error_field(register(two.a, "+86 13800138001"), 409, "phone")
    r = login(two.a, "(+86) 138 0013 8001")
    assert r.status == 200, r.text
    assert r.body["resident"] == first and r.body["token"]
    error_field(login(two.a, PHONE, "not the secret"), 401, "wrong")
    error_field(login(two.a, "+86 139 0000 0000"), 401, "wrong")
    # the phone is the node's only: never in the hub's store
    from test_40_requests import hub_holds
    assert not hub_holds(two.hub, "13800138001")


def test_bad_phone_or_password_names_the_field(two):
    for phone in ("", "1234", "x" * 12, "138 0013 800a",
                  "1" * 21, None, 13800138000):
        error_field(register(two.b, phone), 422, "phone")
    for pw in ("short", "", None, "x" * 201, 12345678):
        error_field(register(two.b, "13700000001", pw), 422, "password")
    error_field(login(two.b, "12"), 422, "phone")
    r = post(two.b, "/api/v1/residents", None, raw=b"{not json")
    assert r.status == 400, r.text
    # nothing was stored: the phone can still register
    assert register(two.b, "13700000001").status == 201


def test_kdf_runs_off_the_service_thread(two):
    """Registrations and logins, each about 100 ms of scrypt, run at once;
    /healthz keeps answering at once meanwhile."""
    phones = [f"1360000{i:04d}" for i in range(6)]
    results = []

    def run(p):
        results.append(register(two.b, p).status)
        results.append(login(two.b, p).status)

    threads = [threading.Thread(target=run, args=(p,)) for p in phones]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    slowest = 0.0
    while any(t.is_alive() for t in threads):
        s = time.monotonic()
        assert get(two.b.public_port, "/healthz").status == 200
        slowest = max(slowest, time.monotonic() - s)
        time.sleep(0.01)
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    assert sorted(results) == [200] * 6 + [201] * 6, results
    print(f"12 password KDFs in {took:.2f} s; slowest /healthz "
          f"{slowest * 1000:.0f} ms")
    assert slowest < 0.5, slowest


def test_token_follows_own_request_and_votes_once(two):
    me = register(two.a, "13500000001").body
    token = me["token"]
    fields = {"service_code": two.code, "description": "a wheel is bent",
              "first_name": "Li", "last_name": "Guiying",
              "phone": "13500000001", "address_string": "No. 9 Pine Lane"}
    c = http.client.HTTPConnection("127.0.0.1", two.a.public_port,
                                   timeout=10)
    c.request("POST", "/open311/v2/requests.json",
              body=urllib.parse.urlencode(fields).encode(),
              headers={"Content-Type": "application/x-www-form-urlencoded",
                       "Authorization": f"Bearer {token}"})
    r = c.getresponse()
    body = json.loads(r.read())
    c.close()
    assert r.status == 201, body
    rid = body[0]["service_request_id"]
    # with the resident's token (a new one from a login works too): theirs
    other = login(two.a, "13500000001").body["token"]
    for t in (token, other):
        status, text = get_with(two.a, f"/open311/v2/requests/{rid}.json", t)
        assert status == 200
        got = json.loads(text)[0]
        assert got["phone"] == "13500000001"
        assert got["address"] == "No. 9 Pine Lane"
    # the public listing and another resident's token: none of it
    stranger = register(two.a, "13500000002").body["token"]
    status, text = get_with(two.a, f"/open311/v2/requests/{rid}.json",
                            stranger)
    for path in ("/open311/v2/requests.json",
                 f"/open311/v2/requests/{rid}.json"):
        text2 = get(two.a.public_port, path).text
        assert rid in text2
        for t in (text, text2):
            assert "13500000001" not in t and "Pine Lane" not in t
            assert "Guiying" not in t
    # a vote, then a second one refused, with either of its tokens
    r = api(two.a, "POST", "/api/v1/polls", {
        "question": "Benches in the park?", "options": ["yes", "no"],
        "closes": int(time.time()) + 600})
    assert r.status == 201, r
    poll = r.json()["id"]
    # a phone anyone could type in votes once the manager confirmed it
    # (no SMS gateway at this node)
    assert vote(two.a, poll, token, "yes") == 403
    r = api(two.a, "POST", f"/api/v1/residents/{me['resident']}/confirm", {})
    assert r.status == 200, r
    assert vote(two.a, poll, token, "yes") == 201
    assert vote(two.a, poll, token, "no") == 409
    assert vote(two.a, poll, other, "no") == 409
    counts = get(two.a.public_port, f"/api/v1/polls/{poll}").json()
    assert counts["counts"] == [1, 0]


def test_login_limits_trigger_and_release(two):
    cid = unique_id("rsl")
    two.hub.register(cid)
    n = Node(two.d / cid, two.a.pki, two.hub, cid, manager_hash=two.hash,
             # a window long enough that four scrypt logins under ASan on
             # a busy machine fall in one
             limits={"resident_actions": 3, "resident_window_s": 8}).start()
    try:
        assert register(n, "13300000001").status == 201
        # per phone: wrong passwords for one phone
        got = [login(n, "13300000001", "wrong password").status
               for _ in range(4)]
        assert got[:3] == [401] * 3 and got[3] == 429, got
        r = login(n, "13300000001")
        assert r.status == 429 and r.body["error"]["code"] == "too_many"
        assert "try again in" in r.body["error"]["message"]
        wait_for(lambda: login(n, "13300000001").status == 200, 30,
                 "the window to pass")
        # per address: registrations
        got = [register(n, f"1330000{i:04d}").status for i in range(10, 14)]
        assert 429 in got, got
        wait_for(lambda: register(n, "13300000099").status == 201, 30,
                 "the window to pass")
    finally:
        stop_all([n])

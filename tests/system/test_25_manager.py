"""Manager endpoints of a node: credentials, services and announcements,
bulk import, bad input.

One hub and one node with a manager password serve most tests (module
fixture); each test creates records of its own and compares counts of the
node's own catalog before and after. Tests of the login rate limit and of a
node without a password start their own nodes, since failures are counted
per client address and every test speaks from 127.0.0.1.
"""

import base64
import contextlib
import http.client
import json
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest

from conftest import (BUILD, Hub, Node, PASSWORD, alliancectl, exchange,
                      hash_password, http_get_json, reply, stop_all, topology,
                      unique_id, wait_for)



@pytest.fixture(scope="module")
def shared(pki, tmp_path_factory, password_hash):
    # room for the 10,000 of the largest bulk import (quotas: test_27)
    with topology(pki, tmp_path_factory.mktemp("manager"), ["mgr"],
                  hub_kw={"quota": {"records": 20000,
                                    "changes_per_hour": 20000}},
                  manager_hash=password_hash) as t:
        yield SimpleNamespace(hub=t.hub, node=t.nodes[0])


# ---- helpers ----------------------------------------------------------------

def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def api(node, method, path, body=None, raw=None, password=PASSWORD,
        user="manager", content_type="application/json", timeout=60):
    """One request to the node's public port as the manager."""
    c = http.client.HTTPConnection("127.0.0.1", node.public_port,
                                   timeout=timeout)
    headers = {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if content_type:
        headers["Content-Type"] = content_type
    if password is not None:
        headers["Authorization"] = basic(user, password)
    return exchange(c, method, path, body=data, headers=headers)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    return exchange(c, "GET", path)


def service_seen(owner, viewer, body, what="the service"):
    """Create service body at owner (as its manager) and wait until
    viewer's Open311 service list shows it; returns its service_code
    ("community.id")."""
    r = api(owner, "POST", "/api/v1/services", body)
    assert r.status == 201, r
    code = f"{owner.community}.{r.json()['id']}"
    wait_for(lambda: any(s["service_code"] == code for s in
                         get(viewer.public_port,
                             "/open311/v2/services.json").json()),
             20, f"{what} at {viewer.community}")
    return code


@contextlib.contextmanager
def sharing(pki, d, prefixes, password_hash, body, **kw):
    """topology's hub and nodes A and B (prefixes, **kw), B offering the
    service body, which A lists; yields SimpleNamespace(hub, a, b, code,
    d, hash), code being the service's at A."""
    with topology(pki, d, prefixes, manager_hash=password_hash, **kw) as t:
        a, b = t.nodes
        code = service_seen(b, a, body, "B's service")
        yield SimpleNamespace(hub=t.hub, a=a, b=b, code=code, d=d,
                              hash=password_hash)


def catalog(port, community, **params):
    q = "&".join(f"{k}={v}" for k, v in
                 {"community": community, "limit": 100, **params}.items())
    r = get(port, f"/api/v1/catalog?{q}")
    assert r.status == 200, r
    return r.json()


def own_count(node):
    """Live services of the node's own community, counted in its store
    (the catalog's total stops at 1000)."""
    return node.live_services(node.community)


def own_titles(node):
    return {s["title"] for s in
            catalog(node.public_port, node.community)["items"]}


def announcements(node):
    r = get(node.public_port,
            f"/api/v1/announcements?community={node.community}&limit=100")
    assert r.status == 200, r
    return {a["id"]: a for a in r.json()["items"]}


def service(title, **kw):
    s = {"title": title, "summary": "for residents who cannot walk",
         "category": "elderly-care", "delivery": "home-visit",
         "fee": "free", "phone": "0532 8888 1234"}
    s.update(kw)
    return s


def assert_error(r, status, code=None, mentions=None):
    assert r.status == status, r
    err = r.json()["error"]
    assert err["message"], r
    if code:
        assert err["code"] == code, r
    if mentions:
        assert mentions in err["message"], r


# ---- services -----------------------------------------------------------------

def test_service_create_update_delete(shared):
    node = shared.node
    before = own_count(node)
    r = api(node, "POST", "/api/v1/services",
            service("上门理发服务 home haircut", audience=["elderly"]))
    assert r.status == 201, r
    s = r.json()
    sid = s["id"]
    assert len(sid) == 12 and all(c in "0123456789abcdef" for c in sid)
    assert s["community"] == node.community
    assert s["delivery"] == ["home-visit"] and s["fee"] == "free"
    assert own_count(node) == before + 1
    assert "上门理发服务 home haircut" in own_titles(node)

    r = get(node.public_port, f"/api/v1/services/{sid}")   # public
    assert r.status == 200 and r.json()["title"].startswith("上门"), r

    r = api(node, "PUT", f"/api/v1/services/{sid}",
            service("Home haircut, now on Sundays too"))
    assert r.status == 200, r
    assert r.json()["id"] == sid
    titles = own_titles(node)
    assert "Home haircut, now on Sundays too" in titles
    assert "上门理发服务 home haircut" not in titles
    assert own_count(node) == before + 1

    r = api(node, "DELETE", f"/api/v1/services/{sid}")
    assert r.status == 204, r
    assert r.body == b""
    assert own_count(node) == before
    assert_error(get(node.public_port, f"/api/v1/services/{sid}"), 404)
    assert_error(api(node, "PUT", f"/api/v1/services/{sid}",
                     service("back")), 404, "not_found")
    assert_error(api(node, "DELETE", f"/api/v1/services/{sid}"), 404)
    assert own_count(node) == before


def test_given_id_conflict_and_recreate(shared):
    node = shared.node
    sid = unique_id("permit-desk")
    r = api(node, "POST", "/api/v1/services",
            service("Permit desk", id=sid, category="legal-civil"))
    assert r.status == 201 and r.json()["id"] == sid, r
    before = own_count(node)
    assert_error(api(node, "POST", "/api/v1/services",
                     service("Permit desk again", id=sid)), 409, "conflict",
                 sid)
    assert_error(api(node, "POST", "/api/v1/services",
                     service("Bad id", id="no spaces/here")), 422, "invalid",
                 "id")
    assert_error(api(node, "POST", "/api/v1/services",
                     service("Other community", community="elsewhere")),
                 422, "invalid", "community")
    assert_error(api(node, "PUT", f"/api/v1/services/{sid}",
                     service("Mismatch", id="other-id")), 422, "invalid",
                 "id")
    assert own_count(node) == before
    assert api(node, "DELETE", f"/api/v1/services/{sid}").status == 204
    r = api(node, "POST", "/api/v1/services", service("Permit desk, reopened",
                                                      id=sid))
    assert r.status == 201, r
    assert own_count(node) == before


def test_service_reaches_hub(shared):
    node, hub = shared.node, shared.hub
    title = f"Free pregnancy test {unique_id('t')}"
    r = api(node, "POST", "/api/v1/services",
            service(title, category="health-maternity", delivery="walk-in"))
    assert r.status == 201, r
    sid = r.json()["id"]

    def at_hub():
        items = catalog(hub.public_port, node.community)["items"]
        return any(s["id"] == sid and s["title"] == title for s in items)
    wait_for(at_hub, 30, "the service in the hub's catalog")


# ---- announcements --------------------------------------------------------

def test_announcement_create_update_delete(shared):
    node = shared.node
    r = api(node, "POST", "/api/v1/announcements",
            {"title": "Water off on Tuesday", "body": "From 9 to 12.\nSorry.",
             "category": "neighbourhood-life",
             "expires": int(time.time()) + 86400})
    assert r.status == 201, r
    a = r.json()
    aid = a["id"]
    assert a["expires"] and a["community"] == node.community
    assert announcements(node)[aid]["title"] == "Water off on Tuesday"

    r = api(node, "PUT", f"/api/v1/announcements/{aid}",
            {"title": "Water off on Wednesday", "body": "From 9 to 12."})
    assert r.status == 200, r
    assert r.json()["expires"] is None
    assert announcements(node)[aid]["title"] == "Water off on Wednesday"

    assert_error(api(node, "POST", "/api/v1/announcements",
                     {"title": "Past", "published": 2000000000,
                      "expires": 1999999999}), 422, "invalid", "expires")

    assert api(node, "DELETE", f"/api/v1/announcements/{aid}").status == 204
    assert aid not in announcements(node)
    assert_error(get(node.public_port, f"/api/v1/announcements/{aid}"), 404)


# ---- bulk import ---------------------------------------------------------------

def test_bulk_import_10000_while_healthz_and_bulletins_go_on(shared):
    node = shared.node
    before = own_count(node)
    n = 10000
    items = [service(f"Elderly meal delivery {i}",
                     description=f"Hot lunch delivered, round {i}. 送餐上门",
                     category="elderly-care", delivery=["home-visit"])
             for i in range(n)]
    # a warm credential, so the import below measures the import
    assert api(node, "POST", "/api/v1/services/bulk",
               {"items": []}).status == 200
    result = {}

    def run():
        t0 = time.monotonic()
        result["r"] = api(node, "POST", "/api/v1/services/bulk",
                          {"items": items}, timeout=120)
        result["s"] = time.monotonic() - t0

    t = threading.Thread(target=run)
    t.start()
    answers = []
    bulletin = None
    while t.is_alive():
        r = get(node.public_port, "/healthz")
        answers.append(r.status)
        if bulletin is None and len(answers) == 2:
            # a crisis bulletin issued while the import runs still reaches
            # the node (--wait returns once it has persisted and acked it)
            b = alliancectl(shared.hub, "bulletin", "issue",
                            "--headline", "Gas leak on Jiangsu Road",
                            "--description", "A gas main is leaking.",
                            "--cause", "A digger hit the main.",
                            "--response", "The gas company is on site.",
                            "--instructions", "Keep windows open.",
                            "--area", node.community, "--wait",
                            "--timeout", "60")
            assert b.returncode == 0, b.stderr + b.stdout
            bulletin = b.stdout.splitlines()[0]
        time.sleep(0.02)
    t.join()
    r = result["r"]
    assert r.status == 200, r
    body = r.json()
    assert body["created"] == n and len(set(body["ids"])) == n
    print(f"bulk import of {n} services: {result['s']:.2f} s; "
          f"{len(answers)} /healthz answers meanwhile")
    assert answers and all(s == 200 for s in answers), answers
    assert len(answers) >= 3, answers
    assert own_count(node) == before + n
    assert bulletin, "the import ended before a bulletin could be issued"
    shown = http_get_json("127.0.0.1", node.public_port, "/api/v1/bulletins")
    assert bulletin in {b["id"] for b in shown["items"]}, shown


def test_bulk_is_all_or_nothing(shared):
    node = shared.node
    before = own_count(node)
    items = [service(f"Bulk item {i}") for i in range(20)]
    items[5] = {"summary": "no title", "category": "other"}
    assert_error(api(node, "POST", "/api/v1/services/bulk",
                     {"items": items}), 422, "invalid", "items[5]: title")
    items[5] = service("Bulk item 5", category="gardening")
    assert_error(api(node, "POST", "/api/v1/services/bulk",
                     {"items": items}), 422, "invalid",
                 "items[5]: category")
    items[5] = service("dup", id="dup-1")
    items[7] = service("dup", id="dup-1")
    assert_error(api(node, "POST", "/api/v1/services/bulk",
                     {"items": items}), 409, "conflict", "items[7].id")
    assert_error(api(node, "POST", "/api/v1/services/bulk",
                     {"items": "nope"}), 422, "invalid", "items")
    assert_error(api(node, "POST", "/api/v1/services/bulk",
                     {"items": [{"title": "x", "category": "other"}]
                      * 10001}), 413, "too_large", "items")
    big = b'{"items":[' + b",".join([b'{"title":"' + b"x" * 1000 +
                                     b'","category":"other"}'] * 9000) + b"]}"
    assert len(big) > 8 * 1024 * 1024
    assert_error(api(node, "POST", "/api/v1/services/bulk", raw=big), 413,
                 "too_large")
    assert own_count(node) == before


def test_bulk_announcements(shared):
    node = shared.node
    r = api(node, "POST", "/api/v1/announcements/bulk",
            {"items": [{"title": f"Notice {i}"} for i in range(3)]})
    assert r.status == 200, r
    ids = r.json()["ids"]
    got = announcements(node)
    assert all(i in got for i in ids)


# ---- bad input -----------------------------------------------------------------

BAD = [
    ("malformed JSON", dict(raw=b'{"title": "x",'), 400, "malformed", None),
    ("not an object", dict(raw=b'["x"]'), 400, "malformed", None),
    ("missing title", dict(body={"category": "other"}), 422, "invalid",
     "title"),
    ("unknown category", dict(body=service("x", category="gardening")), 422,
     "invalid", "category"),
    ("oversized field", dict(body=service("x" * 5000)), 422, "invalid",
     "title"),
    ("oversized body", dict(body=service("x", description="y" * 300000)),
     413, "too_large", None),
    ("form content type", dict(raw=b"title=x&category=other",
                               content_type="application/"
                               "x-www-form-urlencoded"), 415, None,
     "application/json"),
    ("no content type", dict(body=service("x"), content_type=None), 415,
     None, "application/json"),
    # what else a cross-site form can send, and a type that only starts
    # with the right name (lib/mediatype.c)
    ("text/plain", dict(body=service("x"), content_type="text/plain"), 415,
     None, "application/json"),
    ("multipart", dict(body=service("x"), content_type="multipart/form-data;"
                       " boundary=x"), 415, None, "application/json"),
    ("jsonp", dict(body=service("x"), content_type="application/jsonp"), 415,
     None, "application/json"),
    ("no credentials", dict(body=service("x"), password=None), 401,
     "unauthorized", None),
    ("wrong password", dict(body=service("x"), password="wrong"), 401,
     "unauthorized", None),
    ("wrong user", dict(body=service("x"), user="admin"), 401,
     "unauthorized", None),
]


@pytest.mark.parametrize("what,kw,status,code,mentions", BAD,
                         ids=[b[0] for b in BAD])
def test_bad_input_creates_nothing(shared, what, kw, status, code, mentions):
    node = shared.node
    before = own_count(node)
    r = api(node, "POST", "/api/v1/services", **kw)
    assert_error(r, status, code, mentions)
    if status == 401:
        assert r.headers["www-authenticate"].startswith(
            'Basic realm="alliance-node"'), r.headers
    assert own_count(node) == before
    assert node.healthz()["status"] == "ok"


def test_method_and_path_errors(shared):
    node = shared.node
    assert_error(api(node, "GET", "/api/v1/services"), 405)
    assert_error(api(node, "PATCH", "/api/v1/services/abc",
                     body=service("x")), 405)
    assert_error(get(node.public_port, "/api/v1/services/nosuch"), 404)


def no_body(port, method, path, headers):
    """method path with no body at all: Content-Length 0, or no
    Content-Length header. Answered, never left hanging (timeout 5 s)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.putrequest(method, path)
        for k, v in headers.items():
            c.putheader(k, v)
        c.endheaders()
        return reply(c)
    finally:
        c.close()


def test_changes_without_a_body_get_an_answer(shared):
    """A POST, PUT or PATCH that sends no body (Content-Length: 0 or none)
    is answered at once and changes nothing: with Content-Length 0 as a
    bad request (lws sends BODY_COMPLETION for none of them but a POST of
    length 0), without one 411 length_required."""
    node = shared.node
    before = own_count(node)
    auth = {"Authorization": basic("manager", PASSWORD),
            "Content-Type": "application/json"}
    for extra in ({"Content-Length": "0"}, {}):
        for method, path, status in (("POST", "/api/v1/services", 400),
                                     ("PUT", "/api/v1/services/abc", 400),
                                     ("PATCH", "/api/v1/requests/abc", 400),
                                     ("PATCH", "/api/v1/services/abc", 405)):
            r = no_body(node.public_port, method, path, {**auth, **extra})
            assert_error(r, status if extra else 411,
                         None if extra else "length_required")
        r = no_body(node.public_port, "PATCH", "/api/v1/residents/me", extra)
        assert_error(r, 401 if extra else 411)
    assert own_count(node) == before


# ---- credentials -----------------------------------------------------------------

def test_rate_limit_and_missing_password(pki, tmp_path, password_hash):
    hub = Hub(tmp_path / "hub", pki).start()
    made = [hub]
    try:
        a, b = unique_id("mgr"), unique_id("mgr")
        hub.register(a)
        hub.register(b)
        node = Node(tmp_path / "a", pki, hub, a,
                    manager_hash=password_hash).start()
        made.append(node)
        bare = Node(tmp_path / "b", pki, hub, b).start()
        made.append(bare)

        for _ in range(10):
            assert_error(api(node, "POST", "/api/v1/services",
                             service("x"), password="guess"), 401)
        assert_error(api(node, "POST", "/api/v1/services", service("x"),
                         password="guess"), 429, "too_many")
        # the limit holds for the right password too, until it passes
        assert_error(api(node, "POST", "/api/v1/services", service("x")),
                     429, "too_many")
        assert own_count(node) == 0
        node.wait_log(r"10 failed logins from 127\.0\.0\.1")

        assert_error(api(bare, "POST", "/api/v1/services", service("x")),
                     403, "forbidden", "no manager password")
        assert own_count(bare) == 0
    finally:
        stop_all(made)


def test_hash_password_cli_and_bad_hash_in_config(pki, tmp_path):
    line = hash_password("s3cret")
    assert line.startswith("scrypt$32768$8$1$"), line
    assert len(line.split("$")) == 6
    assert hash_password("s3cret") != line        # a new salt each time
    r = subprocess.run([str(BUILD / "alliance-node"), "--hash-password"],
                       input="", capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "empty" in r.stderr

    hub = Hub(tmp_path / "hub", pki)      # never started: only its ports
    node = Node(tmp_path / "n", pki, hub, unique_id("mgr"),
                manager_hash="scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaA==")
    node.write_config(node.config_text())
    r = subprocess.run([str(BUILD / "alliance-node"), "-c", str(node.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    lines = node.conf.read_text().splitlines()
    lineno = next(i + 1 for i, x in enumerate(lines)
                  if x.startswith("password_hash"))
    assert f"node.conf:{lineno}:" in r.stderr, r.stderr
    assert "[manager] password_hash" in r.stderr, r.stderr
    assert "power of two" in r.stderr, r.stderr

"""The manager console's session cookie and CSRF token (node/console.c).

POST /api/v1/session with the password sets a session cookie and returns
a CSRF token; a change made with the cookie needs that token in
X-CSRF-Token (403 without it or with another); a logged-out or idle
session gets 401; logins share HTTP Basic's per-address limit (429).

One hub and one node serve most tests (module fixture). The idle timeout,
the rate limit and HTTPS each get a node of their own: failures are
counted per client address, and every test speaks from 127.0.0.1.
"""

import http.client
import json
import ssl
from types import SimpleNamespace

import pytest

from conftest import (Hub, Node, exchange, stop_all, topology, unique_id,
                      wait_for)
from test_25_manager import PASSWORD, basic

COOKIE = "alliance-session"
COOKIE_TLS = "__Host-alliance-session"


@pytest.fixture(scope="module")
def shared(pki, tmp_path_factory, password_hash):
    with topology(pki, tmp_path_factory.mktemp("console"), ["con"],
                  manager_hash=password_hash) as t:
        yield SimpleNamespace(hub=t.hub, node=t.nodes[0])


# ---- helpers ----------------------------------------------------------------

def request(node, method, path, body=None, headers=None, https=None):
    """One request to the node's public port; https is an SSL context."""
    if https:
        c = http.client.HTTPSConnection("localhost", node.public_port,
                                        context=https, timeout=60)
    else:
        c = http.client.HTTPConnection("127.0.0.1", node.public_port,
                                       timeout=60)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
    if method != "GET":     # as the console sends every change
        h.setdefault("Content-Type", "application/json")
    return exchange(c, method, path, body=data, headers=h)


def login(node, password=PASSWORD, https=None):
    """POST /api/v1/session; (response, cookie header value or None)."""
    r = request(node, "POST", "/api/v1/session", {"password": password},
                https=https)
    cookie = None
    sc = r.headers.get("set-cookie", "")
    if r.status == 201:
        cookie = sc.split(";", 1)[0]
    return r, cookie


def session(node, https=None):
    r, cookie = login(node, https=https)
    assert r.status == 201, r
    return cookie, r.json()["csrf_token"]


def service(title):
    return {"title": title, "category": "other", "delivery": ["phone"],
            "fee": "free"}


def assert_error(r, status, code=None):
    assert r.status == status, r
    err = r.json()["error"]
    if code:
        assert err["code"] == code, r


def own_titles(node):
    r = request(node, "GET", f"/api/v1/catalog?community={node.community}"
                f"&limit=100")
    return {s["title"] for s in r.json()["items"]}


# ---- tests --------------------------------------------------------------------

def test_login_sets_a_strict_httponly_cookie_and_returns_a_token(shared):
    node = shared.node
    r, cookie = login(node)
    assert r.status == 201, r
    flags = [p.strip() for p in r.headers["set-cookie"].split(";")]
    name, value = flags[0].split("=", 1)
    assert name == COOKIE and len(value) == 64, flags
    assert "HttpOnly" in flags and "SameSite=Strict" in flags, flags
    assert "Path=/" in flags, flags
    assert "Secure" not in flags, "plain HTTP: no Secure flag"
    body = r.json()
    assert len(body["csrf_token"]) == 64 and body["csrf_token"] != value
    assert body["community"] == node.community
    assert r.headers["cache-control"] == "no-store"
    # the cookie gives the session (and its token) back to the page
    g = request(node, "GET", "/api/v1/session", headers={"Cookie": cookie})
    assert g.status == 200 and g.json()["csrf_token"] == body["csrf_token"]
    # two logins, two sessions
    _, other = login(node)
    assert other != cookie


def test_a_change_needs_the_sessions_csrf_token(shared):
    node = shared.node
    cookie, token = session(node)
    _, other_token = session(node)
    title = f"console {unique_id('s')}"
    missing = request(node, "POST", "/api/v1/services", service(title),
                      headers={"Cookie": cookie})
    assert_error(missing, 403, "csrf")
    wrong = request(node, "POST", "/api/v1/services", service(title),
                    headers={"Cookie": cookie, "X-CSRF-Token": "0" * 64})
    assert_error(wrong, 403, "csrf")
    foreign = request(node, "POST", "/api/v1/services", service(title),
                      headers={"Cookie": cookie,
                               "X-CSRF-Token": other_token})
    assert_error(foreign, 403, "csrf")
    assert title not in own_titles(node)

    ok = request(node, "POST", "/api/v1/services", service(title),
                 headers={"Cookie": cookie, "X-CSRF-Token": token})
    assert ok.status == 201, ok
    sid = ok.json()["id"]
    assert title in own_titles(node)
    # PUT and DELETE too
    put = request(node, "PUT", f"/api/v1/services/{sid}",
                  service(title + " 2"), headers={"Cookie": cookie})
    assert_error(put, 403, "csrf")
    gone = request(node, "DELETE", f"/api/v1/services/{sid}",
                   headers={"Cookie": cookie})
    assert_error(gone, 403, "csrf")
    assert title in own_titles(node)
    gone = request(node, "DELETE", f"/api/v1/services/{sid}",
                   headers={"Cookie": cookie, "X-CSRF-Token": token})
    assert gone.status == 204, gone
    # reading the sync state needs the session but no token
    s = request(node, "GET", "/api/v1/manager/sync",
                headers={"Cookie": cookie})
    assert s.status == 200, s
    assert s.json()["hub"]["connected"] is True
    assert_error(request(node, "GET", "/api/v1/manager/sync"), 401)


def test_basic_stays_for_scripts(shared):
    node = shared.node
    r = request(node, "GET", "/api/v1/manager/sync",
                headers={"Authorization": basic("manager", PASSWORD)})
    assert r.status == 200, r
    # no token needed with Basic; the JSON content type still is
    r = request(node, "POST", "/api/v1/services", service("basic script"),
                headers={"Authorization": basic("manager", PASSWORD)})
    assert r.status == 201, r


def test_logged_out_session_is_refused(shared):
    node = shared.node
    cookie, token = session(node)
    assert_error(request(node, "DELETE", "/api/v1/session",
                         headers={"Cookie": cookie}), 403, "csrf")
    out = request(node, "DELETE", "/api/v1/session",
                  headers={"Cookie": cookie, "X-CSRF-Token": token})
    assert out.status == 204, out
    assert "Max-Age=0" in out.headers["set-cookie"], out.headers
    r = request(node, "POST", "/api/v1/services", service("after logout"),
                headers={"Cookie": cookie, "X-CSRF-Token": token})
    assert_error(r, 401, "unauthorized")
    assert "www-authenticate" not in r.headers, "no Basic dialog"
    assert_error(request(node, "GET", "/api/v1/session",
                         headers={"Cookie": cookie}), 401)
    # a forged or malformed cookie is no session either
    for bad in (f"{COOKIE}={'a' * 64}", f"{COOKIE}=xyz"):
        assert_error(request(node, "GET", "/api/v1/manager/sync",
                             headers={"Cookie": bad}), 401)


def test_login_input_errors(shared):
    node = shared.node
    assert_error(request(node, "POST", "/api/v1/session", {"password": ""}),
                 422)
    assert_error(request(node, "POST", "/api/v1/session", {}), 422)
    r = request(node, "POST", "/api/v1/session",
                headers={"Content-Type": "text/plain"})
    assert_error(r, 415)
    wrong, cookie = login(node, "not the password")
    assert_error(wrong, 401, "unauthorized")
    assert cookie is None and "www-authenticate" not in wrong.headers


def test_idle_session_expires(pki, tmp_path, password_hash):
    hub = Hub(tmp_path / "hub", pki).start()
    made = [hub]
    try:
        cid = unique_id("idle")
        hub.register(cid)
        node = Node(tmp_path / "node", pki, hub, cid,
                    manager_hash=password_hash,
                    limits={"session_idle_s": 2}).start()
        made.append(node)
        cookie, token = session(node)
        assert request(node, "GET", "/api/v1/session",
                       headers={"Cookie": cookie}).status == 200
        # reads (the console's polling) do not keep a session alive
        wait_for(lambda: request(node, "GET", "/api/v1/manager/sync",
                                 headers={"Cookie": cookie}).status == 401,
                 10, "the idle session to end")
        r = request(node, "POST", "/api/v1/services", service("late"),
                    headers={"Cookie": cookie, "X-CSRF-Token": token})
        assert_error(r, 401, "unauthorized")
        assert "idle" in r.json()["error"]["message"]
    finally:
        stop_all(made)


def test_login_rate_limit(pki, tmp_path, password_hash):
    hub = Hub(tmp_path / "hub", pki).start()
    made = [hub]
    try:
        cid = unique_id("lim")
        hub.register(cid)
        node = Node(tmp_path / "node", pki, hub, cid,
                    manager_hash=password_hash).start()
        made.append(node)
        for _ in range(10):
            assert_error(login(node, "guess")[0], 401)
        assert_error(login(node, "guess")[0], 429, "too_many")
        # the right password waits out the window too, and so does Basic
        r, cookie = login(node)
        assert_error(r, 429, "too_many")
        assert cookie is None
        assert_error(request(node, "GET", "/api/v1/manager/sync",
                             headers={"Authorization":
                                      basic("manager", PASSWORD)}), 429)
    finally:
        stop_all(made)


def test_cookie_is_secure_under_https(pki, tmp_path, password_hash):
    hub = Hub(tmp_path / "hub", pki).start()
    made = [hub]
    try:
        cid = unique_id("tls")
        hub.register(cid)
        node = Node(tmp_path / "node", pki, hub, cid, https=pki.hub_cert,
                    manager_hash=password_hash).start()
        made.append(node)
        ctx = ssl.create_default_context(cafile=str(pki.ca))
        r, cookie = login(node, https=ctx)
        assert r.status == 201, r
        flags = [p.strip() for p in r.headers["set-cookie"].split(";")]
        assert flags[0].startswith(COOKIE_TLS + "="), flags
        assert "Secure" in flags and "HttpOnly" in flags, flags
        assert "SameSite=Strict" in flags and "Path=/" in flags, flags
        g = request(node, "GET", "/api/v1/session",
                    headers={"Cookie": cookie}, https=ctx)
        assert g.status == 200, g
    finally:
        stop_all(made)

"""Web Push, the outbox's third channel (issue 19, item 1): a resident's
browser subscription gets a bulletin at or above her threshold, encrypted
for it (RFC 8291) and signed with the node's VAPID key (RFC 8292).

The push service is this test's own HTTPS server (a certificate of the
test CA, trusted by the node through [outbox] ca). What it receives is
checked by independent implementations: tests/browser/webpush-verify.mjs
verifies the VAPID token with the npm `jose` library and decrypts the body
with the npm `http_ece` library, with the browser's private key this test
made. A 410 from the push service removes the subscription; bad
subscriptions are refused and change nothing.
"""

import base64
import http.client
import http.server
import json
import os
import ssl
import stat
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (Encoding,
                                                          PublicFormat)

from conftest import exchange, free_port, start_topology, stop_all, wait_for
from test_25_manager import api
from test_49_outbox import OutboxNode, issue, own_request

BROWSER_DIR = Path(__file__).resolve().parent.parent / "browser"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class PushService:
    """An HTTPS push service on 127.0.0.1: keeps every post (path, headers,
    raw body); script[path] lists the statuses of the first posts to
    path, then 201."""

    def __init__(self, pki):
        svc = self
        self.posts, self.script = [], {}
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with svc.lock:
                    planned = svc.script.get(self.path, [])
                    code = planned.pop(0) if planned else 201
                    svc.posts.append(SimpleNamespace(
                        path=self.path, headers=dict(self.headers),
                        body=body, code=code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", free_port()), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*pki.hub_cert)       # localhost, 127.0.0.1
        self.server.socket = ctx.wrap_socket(self.server.socket,
                                             server_side=True)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def url(self, path):
        return f"https://127.0.0.1:{self.server.server_port}{path}"

    def to(self, path):
        with self.lock:
            return [p for p in self.posts if p.path == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """A browser's push subscription: its P-256 key and auth secret."""

    def __init__(self, svc, path):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.point = self.key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)
        self.secret = os.urandom(16)
        self.endpoint = svc.url(path)

    def subscription(self, **choices):
        return {"endpoint": self.endpoint,
                "keys": {"p256dh": b64u(self.point),
                         "auth": b64u(self.secret)}, **choices}

    def verify(self, posts):
        """Each post checked by jose and http_ece (webpush-verify.mjs)."""
        d = self.key.private_numbers().private_value.to_bytes(32, "big")
        r = subprocess.run(
            ["node", "webpush-verify.mjs"], cwd=BROWSER_DIR, input=json.dumps({
                "private": b64u(d), "secret": b64u(self.secret),
                "posts": [{"auth": p.headers.get("Authorization", ""),
                           "body": b64u(p.body),
                           "endpoint": self.endpoint} for p in posts]}),
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


class PushNode(OutboxNode):
    """An outbox node with [push] key and subject."""

    def config_text(self):
        return super().config_text() + (
            f"[push]\nkey = {self.dir / 'vapid.pem'}\n"
            "subject = mailto:ops@community.example\n")


@pytest.fixture
def alliance(pki, tmp_path, password_hash):
    made = []
    t = start_topology(pki, tmp_path, [], made)

    def start(cls=PushNode):
        from conftest import unique_id
        cid = unique_id("wp")
        t.hub.register(cid)
        n = cls(tmp_path / cid, pki, t.hub, cid, manager_hash=password_hash,
                limits={"resident_actions": 500}).start()
        made.append(n)
        n.wait_connected()
        return n

    yield SimpleNamespace(hub=t.hub, start=start)
    stop_all(made)


def resident(node):
    """A new resident's bearer token."""
    code = api(node, "POST", "/api/v1/household-codes", {}).json()["code"]
    return json.loads(exchange(
        http.client.HTTPConnection("127.0.0.1", node.public_port), "POST",
        "/api/v1/residents", json.dumps({"household_code": code}).encode(),
        {"Content-Type": "application/json"}).body)["token"]


def call(node, token, method, path, body=None):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        h["Content-Type"] = "application/json"
    r = exchange(http.client.HTTPConnection("127.0.0.1", node.public_port),
                 method, path,
                 json.dumps(body).encode() if body is not None else None, h)
    return r.status, (json.loads(r.body) if r.body else None)


def subs(node, token):
    status, body = call(node, token, "GET", "/api/v1/residents/me/push")
    assert status == 200, body
    return body["items"]


# ---- tests ----------------------------------------------------------------------

def test_bulletin_reaches_a_browser_encrypted_and_signed(alliance, pki):
    svc = PushService(pki)
    try:
        node = alliance.start()
        keyfile = node.dir / "vapid.pem"
        assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
        status, body = call(node, None, "GET", "/api/v1/push/key")
        assert status == 200
        vapid_k = body["key"]
        assert len(base64.urlsafe_b64decode(vapid_k + "=")) == 65
        token = resident(node)
        phone, tablet = Browser(svc, "/wp/phone"), Browser(svc, "/wp/tablet")
        status, sub = call(node, token, "POST", "/api/v1/residents/me/push",
                           phone.subscription(bulletins="minor"))
        assert status == 201, sub
        assert sub["endpoint"] == phone.endpoint and \
            sub["bulletins"] == "minor" and sub["requests"] is False
        # the tablet takes only severe bulletins: not this moderate one
        status, _ = call(node, token, "POST", "/api/v1/residents/me/push",
                         tablet.subscription(bulletins="severe",
                                             requests=True))
        assert status == 201
        # the same browser again: its choices replaced, not a third
        status, again = call(node, token, "POST",
                             "/api/v1/residents/me/push",
                             phone.subscription(bulletins="moderate"))
        assert status == 200 and again["id"] == sub["id"]
        assert len(subs(node, token)) == 2

        bid = issue(alliance.hub, "北区停水通知")
        wait_for(lambda: svc.to("/wp/phone"), 60, "the push to the phone")
        wait_for(lambda: node.outbox_summary()["push"]["sent"] == 1, 20,
                 "the outbox to note it sent")
        posts = svc.to("/wp/phone")
        assert len(posts) == 1
        h = posts[0].headers
        assert h["Content-Encoding"] == "aes128gcm"
        assert h["Urgency"] == "normal"              # moderate
        assert 0 < int(h["TTL"]) <= 28 * 24 * 3600
        assert len(posts[0].body) <= 4096
        [got] = phone.verify(posts)
        assert "error" not in got, got
        assert got["k"] == vapid_k
        assert got["claims"]["aud"] == svc.url("")
        assert got["claims"]["sub"] == "mailto:ops@community.example"
        msg = json.loads(got["plain"])
        assert set(msg) == {"title", "body", "url", "id"}
        assert msg["id"] == bid and msg["title"] == "北区停水通知"
        assert "请储水。" in msg["body"] and msg["url"].startswith("/")
        # another browser's keys cannot open it
        [other] = tablet.verify(posts)
        assert "error" in other
        assert svc.to("/wp/tablet") == []
        s = node.outbox_summary()["push"]
        assert s["pending"] == s["failed"] == s["sending"] == 0

        # a restart keeps the same VAPID key
        before = keyfile.read_bytes()
        node.stop()
        node.start()
        node.wait_connected()
        assert keyfile.read_bytes() == before
        assert call(node, None, "GET", "/api/v1/push/key")[1]["key"] == \
            vapid_k
    finally:
        svc.close()


def test_a_check_in_bulletin_asks_the_question(alliance, pki):
    """A bulletin asking for a safety check-in: the message says so
    (check_in, with the bulletin's id) for the service worker to show the
    two answers; an ordinary bulletin's message has no check_in."""
    svc = PushService(pki)
    try:
        node = alliance.start()
        token = resident(node)
        phone = Browser(svc, "/wp/ck")
        status, _ = call(node, token, "POST", "/api/v1/residents/me/push",
                         phone.subscription(bulletins="minor"))
        assert status == 201
        plain = issue(alliance.hub, "北区停水通知")
        asked = issue(alliance.hub, "北区暴雨：请报平安", "--check-in")
        wait_for(lambda: len(svc.to("/wp/ck")) == 2, 60, "both pushes")
        msgs = {}
        for got in phone.verify(svc.to("/wp/ck")):
            assert "error" not in got, got
            m = json.loads(got["plain"])
            msgs[m["id"]] = m
        assert set(msgs) == {plain, asked}
        assert msgs[asked]["check_in"] is True
        assert msgs[asked]["title"] == "北区暴雨：请报平安"
        assert set(msgs[asked]) == {"title", "body", "url", "id", "check_in"}
        assert "check_in" not in msgs[plain]
    finally:
        svc.close()


def test_a_410_removes_the_subscription(alliance, pki):
    svc = PushService(pki)
    try:
        node = alliance.start()
        token = resident(node)
        gone, kept = Browser(svc, "/wp/gone"), Browser(svc, "/wp/kept")
        for b in (gone, kept):
            assert call(node, token, "POST", "/api/v1/residents/me/push",
                        b.subscription(bulletins="minor"))[0] == 201
        svc.script["/wp/gone"] = [410]
        issue(alliance.hub, "第一次通知")
        wait_for(lambda: [s["endpoint"] for s in subs(node, token)] ==
                 [kept.endpoint], 60, "the 410 to remove the subscription")
        assert len(svc.to("/wp/gone")) == 1
        second = issue(alliance.hub, "第二次通知")
        wait_for(lambda: len(svc.to("/wp/kept")) == 2, 60,
                 "the second bulletin at the kept browser")
        wait_for(lambda: node.outbox_summary()["push"]["pending"] == 0, 20,
                 "nothing left to send")
        assert len(svc.to("/wp/gone")) == 1           # never again
        r = api(node, "GET", "/api/v1/outbox/dead", content_type=None)
        assert r.status == 200, r
        [dead] = [d for d in r.json()["items"] if d["channel"] == "push"]
        assert "410" in dead["last_error"] and dead["kind"] == "bulletin"
        assert json.loads(kept.verify(svc.to("/wp/kept")[1:])[0]["plain"])[
            "id"] == second
    finally:
        svc.close()


def test_bad_subscriptions_are_refused_and_change_nothing(alliance, pki):
    svc = PushService(pki)
    try:
        node = alliance.start()
        token = resident(node)
        b = Browser(svc, "/wp/x")
        good = b.subscription(bulletins="minor")
        bad = [
            ({**good, "endpoint": "http://127.0.0.1/wp"}, "endpoint"),
            ({**good, "endpoint": "https://" + "a" * 1100}, "endpoint"),
            ({**good, "endpoint": 7}, "endpoint"),
            ({**good, "keys": {**good["keys"], "p256dh":
                               b64u(b.point[:64])}}, "keys.p256dh"),
            ({**good, "keys": {**good["keys"], "p256dh":
                               b64u(b.point[:64] + bytes([b.point[64] ^ 1]))}},
             "keys.p256dh"),
            ({**good, "keys": {**good["keys"], "auth":
                               b64u(os.urandom(15))}}, "keys.auth"),
            ({**good, "keys": {**good["keys"], "auth":
                               b64u(os.urandom(17))}}, "keys.auth"),
            ({**good, "keys": {"p256dh": good["keys"]["p256dh"]}},
             "keys.auth"),
            ({**good, "bulletins": "loud"}, "bulletins"),
            ({**good, "requests": "yes"}, "requests"),
            ({**good, "bulletins": None}, "choose"),
        ]
        for body, word in bad:
            status, err = call(node, token, "POST",
                               "/api/v1/residents/me/push", body)
            assert status == 422, (body, err)
            assert err["error"]["code"] == "invalid"
            assert word in err["error"]["message"], (word, err)
        assert subs(node, token) == []
        # signed in only
        assert call(node, None, "GET", "/api/v1/residents/me/push")[0] == 401
        # at most five browsers an account
        browsers = [Browser(svc, f"/wp/{i}") for i in range(6)]
        for x in browsers[:5]:
            assert call(node, token, "POST", "/api/v1/residents/me/push",
                        x.subscription(requests=True))[0] == 201
        status, err = call(node, token, "POST", "/api/v1/residents/me/push",
                           browsers[5].subscription(requests=True))
        assert status == 409 and err["error"]["code"] == "conflict"
        assert len(subs(node, token)) == 5
        # someone else's subscription cannot be removed; her own can
        other = resident(node)
        first = subs(node, token)[0]["id"]
        assert call(node, other, "DELETE",
                    f"/api/v1/residents/me/push/{first}")[0] == 404
        assert call(node, token, "DELETE",
                    "/api/v1/residents/me/push/x1")[0] == 404
        assert call(node, token, "DELETE",
                    f"/api/v1/residents/me/push/{first}")[0] == 204
        assert len(subs(node, token)) == 4
    finally:
        svc.close()


def test_no_push_without_a_key(alliance, pki):
    node = alliance.start(cls=OutboxNode)
    status, err = call(node, None, "GET", "/api/v1/push/key")
    assert status == 404 and err["error"]["code"] == "not_found"
    token = resident(node)
    b = Browser(SimpleNamespace(url=lambda p: "https://127.0.0.1:9" + p),
                "/wp")
    status, err = call(node, token, "POST", "/api/v1/residents/me/push",
                       b.subscription(bulletins="minor"))
    assert status == 409
    assert subs(node, token) == []


def test_a_deleted_account_takes_its_browsers(alliance, pki):
    svc = PushService(pki)
    try:
        node = alliance.start()
        leaving, staying = resident(node), resident(node)
        hers, theirs = Browser(svc, "/wp/hers"), Browser(svc, "/wp/theirs")
        assert call(node, leaving, "POST", "/api/v1/residents/me/push",
                    hers.subscription(bulletins="minor"))[0] == 201
        assert call(node, staying, "POST", "/api/v1/residents/me/push",
                    theirs.subscription(bulletins="minor"))[0] == 201
        assert call(node, leaving, "DELETE", "/api/v1/residents/me")[0] \
            == 204
        issue(alliance.hub, "账号删除之后")
        wait_for(lambda: svc.to("/wp/theirs"), 60, "the other browser's")
        wait_for(lambda: node.outbox_summary()["push"]["pending"] == 0, 20,
                 "nothing left to send")
        assert svc.to("/wp/hers") == []
        # her browser can be registered afresh by someone else
        assert call(node, staying, "POST", "/api/v1/residents/me/push",
                    hers.subscription(requests=True))[0] == 201
    finally:
        svc.close()


def test_a_deleted_account_stops_her_waiting_pushes(alliance, pki):
    """Her browser's message still waiting (its push service failing) when
    she deletes her account is cancelled, in the outbox's own file, with
    her subscription; the other resident's is sent."""
    class PatientNode(PushNode):
        """A failed try waits 300 s or more: her row stays failed."""

        def __init__(self, *a, **kw):
            super().__init__(*a, outbox={"retry_min_s": 600,
                                         "retry_max_s": 900}, **kw)

    svc = PushService(pki)
    try:
        node = alliance.start(PatientNode)
        leaving, staying = resident(node), resident(node)
        hers, theirs = Browser(svc, "/wp/waiting"), Browser(svc, "/wp/sent")
        svc.script["/wp/waiting"] = [503]
        assert call(node, leaving, "POST", "/api/v1/residents/me/push",
                    hers.subscription(bulletins="minor"))[0] == 201
        assert call(node, staying, "POST", "/api/v1/residents/me/push",
                    theirs.subscription(bulletins="minor"))[0] == 201
        issue(alliance.hub, "账号删除之前")
        wait_for(lambda: svc.to("/wp/sent"), 60, "the other browser's")
        wait_for(lambda: node.outbox_summary()["push"]["failed"] == 1, 30,
                 "her browser's message failing, waiting")
        assert call(node, leaving, "DELETE", "/api/v1/residents/me")[0] \
            == 204
        push = node.outbox_summary()["push"]
        assert push["cancelled"] == 1 and push["sent"] == 1, push
        assert push["pending"] == push["failed"] == 0, push
    finally:
        svc.close()


def test_a_request_status_change_reaches_her_browser(alliance, pki):
    svc = PushService(pki)
    try:
        node = alliance.start()
        token = resident(node)
        b = Browser(svc, "/wp/requests")
        assert call(node, token, "POST", "/api/v1/residents/me/push",
                    b.subscription(requests=True))[0] == 201
        rid = own_request(node, token, "13800138049")
        # a bulletin is not what this browser asked for
        issue(alliance.hub, "不该推送的预警")
        r = api(node, "PATCH", f"/api/v1/requests/{rid}",
                {"status": "done", "status_notes": "请周三来办公室"})
        assert r.status == 200, r
        [post] = wait_for(lambda: svc.to("/wp/requests"), 60,
                          "the status change at her browser")
        assert post.headers["Urgency"] == "normal"
        [got] = b.verify([post])
        assert "error" not in got, got
        msg = json.loads(got["plain"])
        assert msg["title"] == "申请进展 / Request update"
        assert "请周三来办公室" in msg["body"]
        assert msg["url"] == "/my-requests.html"
        wait_for(lambda: node.outbox_summary()["push"]["pending"] == 0, 20,
                 "nothing left to send")
        assert len(svc.to("/wp/requests")) == 1
    finally:
        svc.close()

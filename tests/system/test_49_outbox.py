"""The durable outbox (issue 19, items 1, 2 and 4): signed webhooks the
manager registers, residents' SMS alerts through the gateway, request
status changes to the resident's phone; retries with backoff, a receiver
down for a minute, a SIGKILL with 1,000 messages in the outbox, a
cancelled bulletin's sends stopped, bad input refused.

The receiver is this test's own HTTPS server, with a certificate of the
test CA (the node trusts it through [outbox] ca): it checks every call's
X-Alliance-Signature (t=T,v1=HMAC-SHA256(secret, T "." body)) with the
secret the console showed once, and counts what it answered 200 per
idempotency key. The SMS gateway is a plain HTTP server on loopback (a
gateway on a private network), checking the same signature with [sms]
secret.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import re
import sqlite3
import ssl
import threading
import time
import urllib.parse
from types import SimpleNamespace

import pytest

from conftest import (Node, SmsGateway, alliancectl, exchange, free_port,
                      parse_prometheus, signed, start_topology, stop_all,
                      wait_for)
from test_25_manager import api, get

SMS_SECRET = "the gateway's shared secret"
PHONE = "13800138049"


# ---- the receivers -------------------------------------------------------------

class Receiver:
    """An HTTPS webhook receiver on 127.0.0.1: secrets[path] is the secret
    of the endpoint posting to path. script[path] lists what the first
    posts to path get ("500" or "timeout": held past the node's timeout),
    then 200; delay_s holds every answer that long. Every post is kept;
    busy[path] counts the posts under way, peak[path] the most at once."""

    def __init__(self, pki, port=None):
        self.pki = pki
        self.port = port or free_port()
        self.secrets, self.script = {}, {}
        self.posts, self.busy, self.peak = [], {}, {}
        self.delay_s = 0.0
        self.lock = threading.Lock()
        self.server = None
        self.start()

    def start(self):
        rc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path
                with rc.lock:
                    planned = rc.script.get(path, [])
                    act = planned.pop(0) if planned else "200"
                    rc.busy[path] = rc.busy.get(path, 0) + 1
                    rc.peak[path] = max(rc.peak.get(path, 0),
                                        rc.busy[path])
                    post = SimpleNamespace(
                        path=path, act=act, body=json.loads(body),
                        key=self.headers.get("Idempotency-Key"),
                        ok=signed(rc.secrets.get(path, ""),
                                  self.headers.get("X-Alliance-Signature"),
                                  body))
                    rc.posts.append(post)
                try:
                    if act == "timeout":
                        time.sleep(4)      # past [outbox] timeout_s
                    elif rc.delay_s:
                        time.sleep(rc.delay_s)
                    code = int(act) if act.isdigit() else 200
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    post.answered = code
                except OSError:
                    post.answered = None
                finally:
                    with rc.lock:
                        rc.busy[path] -= 1

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        crt, key = self.pki.hub_cert      # localhost, 127.0.0.1
        ctx.load_cert_chain(crt, key)
        self.server.socket = ctx.wrap_socket(self.server.socket,
                                             server_side=True)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def stop(self):
        """Down: the port refuses connections."""
        self.server.shutdown()
        self.server.server_close()

    def url(self, path):
        return f"https://127.0.0.1:{self.port}{path}"

    def delivered(self, path=None):
        """{key: [posts answered 200]} (to path)."""
        out = {}
        with self.lock:
            for p in self.posts:
                if getattr(p, "answered", None) == 200 and (
                        path is None or p.path == path):
                    out.setdefault(p.key, []).append(p)
        return out

    def all_signed(self):
        with self.lock:
            return all(p.ok and p.key == p.body["id"] for p in self.posts)


class Gateway(SmsGateway):
    """The SMS gateway (conftest's) with the outbox's secret."""

    def __init__(self):
        super().__init__(SMS_SECRET)

    def texts(self, phone):
        """The distinct texts (by key) sent to phone."""
        seen, out = set(), []
        with self.lock:
            for p in self.posts:
                pl = (p.msg or {}).get("payload", {})
                if pl.get("to") == f"+86{phone}" and p.key not in seen:
                    seen.add(p.key)
                    out.append(p)
        return out


class OutboxNode(Node):
    """A node with [outbox] (the test CA, short timeouts and pauses), a
    [metrics] port and, with sms, an [sms] gateway."""

    def __init__(self, *a, outbox=None, sms=None, **kw):
        super().__init__(*a, **kw)
        self.outbox = {"ca": self.pki.ca, "timeout_s": 2,
                       "retry_min_s": 1, "retry_max_s": 4,
                       **(outbox or {})}
        self.sms = sms
        self.metrics_port = free_port()

    def config_text(self):
        text = super().config_text()
        text += "[outbox]\n" + "".join(f"{k} = {v}\n"
                                      for k, v in self.outbox.items())
        text += f"[metrics]\nport = {self.metrics_port}\n"
        if self.sms:
            text += f"[sms]\nurl = {self.sms}\nsecret = {SMS_SECRET}\n"
        return text

    def metrics(self):
        return parse_prometheus(get(self.metrics_port, "/metrics").text)

    def outbox_summary(self):
        r = api(self, "GET", "/api/v1/outbox", content_type=None)
        assert r.status == 200, r
        return r.json()["channels"]


# ---- fixtures and helpers ------------------------------------------------------

@pytest.fixture
def alliance(pki, tmp_path, password_hash):
    """A hub; start(**kw) adds a node with an outbox (made, stopped
    after)."""
    made = []
    t = start_topology(pki, tmp_path, [], made)
    count = [0]

    def start(prefix="ob", **kw):
        from conftest import unique_id
        cid = unique_id(prefix)
        count[0] += 1
        t.hub.register(cid)
        n = OutboxNode(tmp_path / cid, pki, t.hub, cid,
                       manager_hash=password_hash,
                       limits={"resident_actions": 500}, **kw).start()
        made.append(n)
        n.wait_connected()
        return n

    yield SimpleNamespace(hub=t.hub, start=start, made=made)
    stop_all(made)


def register(node, rc, path, **kw):
    """Register an endpoint posting to rc's path; its secret is kept at
    rc. Returns the endpoint."""
    body = {"name": f"gateway {path}", "url": rc.url(path),
            "bulletins": "minor", **kw}
    r = api(node, "POST", "/api/v1/outbox/endpoints", body)
    assert r.status == 201, r
    secret = r.json()["secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    rc.secrets[path] = secret
    return r.json()["endpoint"]


def issue(hub, headline, *extra):
    r = alliancectl(hub, "bulletin", "issue", "--headline", headline,
                    "--description", "北区停水。", "--cause", "管道检修。",
                    "--response", "送水车已出发。",
                    "--instructions", "请储水。", "--severity", "moderate",
                    *extra)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout.splitlines()[0]


def of_bulletin(posts, bid):
    return [p for p in posts if p.body["kind"] == "bulletin"
            and p.body["payload"]["id"] == bid]


def endpoints(node):
    r = api(node, "GET", "/api/v1/outbox/endpoints", content_type=None)
    assert r.status == 200, r
    return r.json()["items"]


# ---- tests ----------------------------------------------------------------------

def test_retries_after_500_and_a_timeout_deliver_once(alliance, pki):
    node = alliance.start()
    rc = Receiver(pki)
    try:
        ep = register(node, rc, "/hook")
        assert ep["bulletins"] == "minor" and "secret" not in ep
        rc.script["/hook"] = ["500", "timeout"]
        bid = issue(alliance.hub, "北区停水")
        wait_for(lambda: rc.delivered("/hook"), 60, "the bulletin, after "
                 "a 500 and a timeout")
        # the node notes the delivery; nothing is posted after it
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 1, 20,
                 "the outbox to note it sent")
        with rc.lock:
            posts = list(rc.posts)
        assert [p.act for p in posts] == ["500", "timeout", "200"]
        assert len({p.key for p in posts}) == 1       # one key, every try
        assert rc.all_signed()
        body = posts[-1].body
        assert set(body) == {"id", "kind", "community", "created",
                             "payload"}
        assert body["kind"] == "bulletin" and body["community"] == \
            node.community and body["payload"]["id"] == bid
        assert body["payload"]["headline"] == "北区停水"
        s = node.outbox_summary()["webhook"]
        assert s["pending"] == s["failed"] == s["sending"] == 0
        m = node.metrics()
        assert m['alliance_node_outbox_sent_total{channel="webhook"}'] == 1
        assert m['alliance_node_outbox_failed_total{channel="webhook"}'] == 2
        assert m['alliance_node_outbox_pending{channel="webhook"}'] == 0
        assert len(rc.posts) == 3
    finally:
        rc.stop()


def test_receiver_down_a_minute_loses_nothing(alliance, pki):
    node = alliance.start()
    rc = Receiver(pki)
    register(node, rc, "/down")
    rc.stop()
    ids = [issue(alliance.hub, f"停电通知 {i}") for i in range(3)]
    down_from = time.monotonic()
    # down for a minute, while the node keeps trying (its failures grow)
    wait_for(lambda: node.metrics()[
        'alliance_node_outbox_failed_total{channel="webhook"}'] >= 6, 60,
        "the node to keep trying")
    time.sleep(max(0.0, 60 - (time.monotonic() - down_from)))
    assert node.outbox_summary()["webhook"]["sent"] == 0
    rc.start()
    try:
        wait_for(lambda: len(rc.delivered("/down")) == 3, 30,
                 "every bulletin after the receiver came back")
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 3, 20,
                 "the outbox to note them sent")
        got = rc.delivered("/down")
        assert all(len(v) == 1 for v in got.values())
        assert sorted(v[0].body["payload"]["id"] for v in got.values()) == \
            sorted(ids)
        assert rc.all_signed()
    finally:
        rc.stop()


def test_sigkill_with_1000_messages_delivers_each_once(alliance, pki):
    in_flight = 2
    node = alliance.start(outbox={"in_flight": in_flight})
    rc = Receiver(pki)
    paths = [f"/k{i}" for i in range(32)]
    for p in paths:
        register(node, rc, p)
    # the 33rd is refused, nothing stored
    r = api(node, "POST", "/api/v1/outbox/endpoints",
            {"name": "one too many", "url": rc.url("/k99"),
             "requests": True})
    assert r.status == 409 and r.json()["error"]["code"] == "conflict", r
    assert len(endpoints(node)) == 32
    rc.stop()                      # everything waits in the outbox
    ids = [issue(alliance.hub, f"暴雨预警 {i}") for i in range(32)]
    wait_for(lambda: (lambda s: s["pending"] + s["failed"] + s["sending"]
                      )(node.outbox_summary()["webhook"]) == 1024, 60,
             "1,024 messages in the outbox")
    rc.delay_s = 0.2
    rc.start()
    try:
        wait_for(lambda: len(rc.delivered()) >= 100, 60,
                 "deliveries to begin")
        node.kill()                # SIGKILL, mid-stream
        delivered_at_kill = len(rc.delivered())
        assert delivered_at_kill < 1024
        rc.delay_s = 0.0
        # the killed node's posts still held by the receiver are not the
        # new process's: they end before it starts, each run's peak apart
        wait_for(lambda: not any(rc.busy.values()), 10,
                 "the killed node's posts to end")
        with rc.lock:
            peak_before_kill, rc.peak = rc.peak, {}
        assert all(peak_before_kill.get(p, 0) <= in_flight for p in paths), \
            peak_before_kill
        node.start()
        wait_for(lambda: len(rc.delivered()) == 1024, 120,
                 "every message after the restart")
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 1024,
                 30, "the outbox to note every message sent")
        got = rc.delivered()
        # each (endpoint, bulletin) has one key, delivered; again only
        # where it was in flight at the kill, with the same key
        pairs = {(v[0].path, v[0].body["payload"]["id"]): k
                 for k, v in got.items()}
        assert len(pairs) == 1024
        assert {b for _, b in pairs} == set(ids)
        again = [k for k, v in got.items() if len(v) > 1]
        assert len(again) <= 32 * in_flight, again
        assert all(len(got[k]) == 2 for k in again)
        assert all(rc.peak.get(p, 0) <= in_flight for p in paths), rc.peak
        assert rc.all_signed()
    finally:
        rc.stop()


def test_fill_cut_short_by_a_kill_ends_with_every_message_once(alliance,
                                                                pki):
    """The outbox's rows are a file of their own (node.outbox.db) and a
    bulletin's event is in node.db, noted in the bulletin's transaction;
    the event goes only after its rows committed, in the other file. A
    SIGKILL can leave either half: the event without all its rows (killed
    between the ack and the fill, or mid-fill) or the rows with their
    event (killed between the two files' commits). Both made by hand in
    the killed node's files: after the restart every endpoint gets each
    bulletin once, and nothing already sent goes again."""
    node = alliance.start()
    rc = Receiver(pki)
    paths = ["/f0", "/f1", "/f2"]
    for p in paths:
        register(node, rc, p)
    sent = issue(alliance.hub, "暴雨预警 已发")
    wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 3, 30,
             "the first bulletin sent to the three endpoints")
    rc.stop()
    waiting = issue(alliance.hub, "暴雨预警 待发")
    wait_for(lambda: node.outbox_summary()["webhook"]["failed"] == 3, 30,
             "the second bulletin's rows, its tries failing")
    node.kill()
    store, rows = node.dir / "node.db", node.dir / "node.outbox.db"
    with sqlite3.connect(store) as db:
        assert not db.execute("SELECT name FROM sqlite_master WHERE name "
                              "LIKE 'outbox_moved%' OR name = 'outbox'"
                              ).fetchall(), "the rows are not in node.db"
        assert db.execute("SELECT count(*) FROM outbox_event").fetchone() \
            == (0,)
        for bid in (sent, waiting):
            db.execute("INSERT INTO outbox_event (kind, origin, ref, "
                       "version) VALUES ('bulletin', '', ?, 0)", (bid,))
    with sqlite3.connect(rows) as db:
        # the fill of the second cut short: one endpoint's row of three
        cut = db.execute("DELETE FROM outbox WHERE source = ? AND "
                         "endpoint <> (SELECT min(endpoint) FROM outbox)",
                         (waiting,)).rowcount
        assert cut == 2
    node.start()
    node.wait_connected()
    rc.start()
    try:
        wait_for(lambda: len(rc.delivered()) == 6, 60,
                 "both bulletins at every endpoint")
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 6, 30,
                 "the outbox to note them sent")
        with sqlite3.connect(store) as db:
            wait_for(lambda: db.execute("SELECT count(*) FROM "
                                        "outbox_event").fetchone() == (0,),
                     30, "the events done")
        got = rc.delivered()
        assert all(len(v) == 1 for v in got.values()), got
        assert sorted((v[0].path, v[0].body["payload"]["id"])
                      for v in got.values()) == \
            sorted((p, b) for p in paths for b in (sent, waiting))
        assert rc.all_signed()
    finally:
        rc.stop()


def test_rows_of_an_older_store_move_to_their_own_file(alliance, pki):
    """A store of the release before (schema 19) kept the outbox's rows in
    node.db: the node migrates it, moves them to node.outbox.db, and
    sends what was waiting, once, with its key."""
    node = alliance.start()
    rc = Receiver(pki)
    register(node, rc, "/old")
    rc.stop()
    bid = issue(alliance.hub, "暴雨预警 旧库")
    wait_for(lambda: node.outbox_summary()["webhook"]["failed"] == 1, 30,
             "the bulletin's row, its tries failing")
    node.kill()
    store, rows = node.dir / "node.db", node.dir / "node.outbox.db"
    # the files as the release before left them: the rows in node.db,
    # push.c's trigger cancelling a deleted account's push rows there
    with sqlite3.connect(store) as db:
        db.execute("ATTACH DATABASE ? AS ob", (str(rows),))
        (table,) = db.execute("SELECT sql FROM ob.sqlite_master WHERE "
                              "name = 'outbox'").fetchone()
        db.execute(table)
        db.execute("INSERT INTO main.outbox SELECT * FROM ob.outbox")
        db.execute("DROP TRIGGER outbox_push_forget")
        db.execute("CREATE TRIGGER outbox_push_forget AFTER UPDATE OF "
                   "password_hash ON resident WHEN new.password_hash IS "
                   "NULL BEGIN UPDATE outbox SET state = 'cancelled' WHERE "
                   "channel = 'push' AND resident = new.id; DELETE FROM "
                   "outbox_push WHERE resident = new.id; END")
        db.execute("PRAGMA user_version = 19")
    for f in (rows, rows.with_name(rows.name + "-wal"),
              rows.with_name(rows.name + "-shm")):
        f.unlink(missing_ok=True)
    node.start()
    node.wait_log(r"the outbox's rows moved to \S+node\.outbox\.db")
    rc.start()
    try:
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 1, 30,
                 "the waiting row sent from its new file")
        got = rc.delivered("/old")
        assert len(got) == 1 and len(next(iter(got.values()))) == 1
        assert next(iter(got.values()))[0].body["payload"]["id"] == bid
        with sqlite3.connect(store) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] >= 20
            assert not db.execute("SELECT name FROM sqlite_master WHERE "
                                  "name IN ('outbox', 'outbox_moved')"
                                  ).fetchall()
            (trigger,) = db.execute("SELECT sql FROM sqlite_master WHERE "
                                    "name = 'outbox_push_forget'"
                                    ).fetchone()
            assert "UPDATE outbox" not in trigger
        with sqlite3.connect(rows) as db:
            assert db.execute("SELECT count(*) FROM outbox").fetchone() == \
                (1,)
        assert rc.all_signed()
    finally:
        rc.stop()


def test_cancelled_bulletin_stops_its_sends(alliance, pki):
    node = alliance.start()
    rc = Receiver(pki)
    register(node, rc, "/c")
    rc.stop()
    bid = issue(alliance.hub, "燃气泄漏")
    wait_for(lambda: node.outbox_summary()["webhook"]["failed"] >= 1, 30,
             "a failed try of the bulletin")
    r = alliancectl(alliance.hub, "bulletin", "cancel", bid)
    assert r.returncode == 0, r.stderr + r.stdout
    wait_for(lambda: node.outbox_summary()["webhook"]["cancelled"] == 1,
             30, "the bulletin's send cancelled")
    rc.start()
    try:
        wait_for(lambda: node.outbox_summary()["webhook"]["sent"] == 1, 30,
                 "the cancellation delivered")
        with rc.lock:
            posts = list(rc.posts)
        assert not of_bulletin(posts, bid)
        (cancel,) = [p.body for p in posts]
        assert cancel["payload"]["type"] == "cancel"
        assert cancel["payload"]["references"] == [bid]
        s = node.outbox_summary()["webhook"]
        assert s["pending"] == s["failed"] == s["dead"] == 0
    finally:
        rc.stop()


def test_refused_message_is_a_dead_letter_the_manager_retries(alliance,
                                                               pki):
    node = alliance.start()
    rc = Receiver(pki)
    try:
        register(node, rc, "/gone")
        rc.script["/gone"] = ["410"]       # refused for good: no retry
        bid = issue(alliance.hub, "道路封闭")
        dead = wait_for(lambda: (lambda r: r.json()["items"])(api(
            node, "GET", "/api/v1/outbox/dead", content_type=None)), 30,
            "the dead letter")
        (d,) = dead
        assert d["kind"] == "bulletin" and d["source"] == bid
        assert d["attempts"] == 1 and d["last_error"] == "HTTP 410"
        assert d["channel"] == "webhook" and d["endpoint_name"] == \
            "gateway /gone"
        assert node.metrics()[
            'alliance_node_outbox_dead_total{channel="webhook"}'] == 1
        assert len(rc.posts) == 1
        r = api(node, "POST", f"/api/v1/outbox/dead/{d['id']}/retry", {})
        assert r.status == 200 and r.json()["state"] == "pending", r
        wait_for(lambda: rc.delivered("/gone"), 30, "the retried message")
        (posts,) = rc.delivered("/gone").values()
        assert posts[0].key == d["key"] and len(rc.posts) == 2
        assert api(node, "GET", "/api/v1/outbox/dead",
                   content_type=None).json()["items"] == []
        # a second retry of what is no longer dead: 404
        assert api(node, "POST", f"/api/v1/outbox/dead/{d['id']}/retry",
                   {}).status == 404
        # deleting the endpoint: gone from the list
        ep = endpoints(node)[0]
        assert api(node, "DELETE",
                   f"/api/v1/outbox/endpoints/{ep['id']}").status == 204
        assert endpoints(node) == []
    finally:
        rc.stop()


def test_bad_input_is_refused_and_changes_nothing(alliance, pki):
    gw = Gateway()
    try:
        node = alliance.start(sms=gw.url)
        good = {"name": "WeChat bridge", "url": "https://wx.example.cn/h",
                "bulletins": "severe"}
        bad = [
            ({"url": "http://wx.example.cn/h"}, "url", "https://"),
            ({"url": "https://wx.example.cn/" + "a" * 600}, "url",
             "too long"),
            ({"url": "ftp://x/"}, "url", "https://"),
            ({"url": None}, "url", "required"),
            ({"bulletins": "catastrophic"}, "bulletins", "severity"),
            ({"bulletins": None}, "bulletins", "choose"),
            ({"requests": "yes"}, "requests", "true or false"),
            ({"name": ""}, "name", "required"),
            ({"name": "n" * 101}, "name", "at most"),
        ]
        for change, field, words in bad:
            r = api(node, "POST", "/api/v1/outbox/endpoints",
                    {**good, **change})
            assert r.status == 422, (change, r)
            e = r.json()["error"]
            assert e["code"] == "invalid" and e["message"].startswith(
                field) and words in e["message"], (change, e)
        r = api(node, "POST", "/api/v1/outbox/endpoints", {"url": 1},
                content_type="text/plain")
        assert r.status == 415, r
        assert endpoints(node) == []
        assert api(node, "DELETE", "/api/v1/outbox/endpoints/7").status \
            == 404
        assert api(node, "POST", "/api/v1/outbox/dead/7/retry",
                   {}).status == 404
        # a resident's channels
        code = api(node, "POST", "/api/v1/household-codes",
                   {}).json()["code"]
        token = json.loads(exchange(
            http.client.HTTPConnection("127.0.0.1", node.public_port),
            "POST", "/api/v1/residents",
            json.dumps({"household_code": code}).encode(),
            {"Content-Type": "application/json"}).body)["token"]

        def channels(method, body=None):
            h = {"Authorization": f"Bearer {token}"}
            if body is not None:
                h["Content-Type"] = "application/json"
            r = exchange(http.client.HTTPConnection(
                "127.0.0.1", node.public_port), method,
                "/api/v1/residents/me/channels",
                json.dumps(body).encode() if body is not None else None, h)
            return r.status, json.loads(r.body)

        for sms, words in [
                ({"enabled": True, "bulletins": "severe"}, "sms.phone"),
                ({"enabled": True, "phone": "12345", "bulletins":
                  "severe"}, "sms.phone"),
                ({"enabled": True, "phone": "010-62345678",
                  "bulletins": "severe"}, "sms.phone"),
                ({"enabled": True, "phone": PHONE, "bulletins": "big"},
                 "bulletins"),
                ({"enabled": "yes", "phone": PHONE}, "enabled")]:
            status, body = channels("PUT", {"sms": sms})
            assert status == 422 and body["error"]["message"].startswith(
                words), (sms, body)
        status, body = channels("GET")
        assert status == 200 and body["sms"]["enabled"] is False
        assert body["sms"]["available"] is True
        # the opt-out callback wants the gateway's signature
        r = exchange(http.client.HTTPConnection("127.0.0.1",
                                                node.public_port),
                     "POST", "/api/v1/sms/opt-out",
                     json.dumps({"phone": PHONE}).encode(),
                     {"Content-Type": "application/json",
                      "X-Alliance-Signature": "t=1,v1=" + "0" * 64})
        assert r.status == 401, r
    finally:
        gw.close()


def opt_out(node, phone, secret=SMS_SECRET):
    body = json.dumps({"phone": f"+86{phone}", "keyword": "TD"}).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    return exchange(http.client.HTTPConnection("127.0.0.1",
                                               node.public_port),
                    "POST", "/api/v1/sms/opt-out", body,
                    {"Content-Type": "application/json",
                     "X-Alliance-Signature": f"t={ts},v1={sig}"})


def own_request(node, token, phone):
    """A service the node's manager publishes, once its Open311 list has
    it, requested by the resident of token (her phone given): the
    request's id."""
    r = api(node, "POST", "/api/v1/services",
            {"title": "Legal advice", "category": "legal-civil",
             "delivery": ["walk-in"]})
    assert r.status == 201, r
    svc = f"{node.community}.{r.json()['id']}"
    wait_for(lambda: any(s["service_code"] == svc for s in get(
        node.public_port, "/open311/v2/services.json").json()), 20,
        "the service listed")
    form = urllib.parse.urlencode({
        "service_code": svc, "description": "咨询遗嘱公证",
        "name": "王秀英", "phone": phone,
        "address_string": "榆树巷 5 号"}).encode()
    r = exchange(http.client.HTTPConnection("127.0.0.1", node.public_port),
                 "POST", "/open311/v2/requests.json", form,
                 {"Authorization": f"Bearer {token}", "Content-Type":
                  "application/x-www-form-urlencoded"})
    assert r.status == 201, r
    return json.loads(r.body)[0]["service_request_id"]


def test_sms_alerts_request_status_and_opt_out(alliance, pki):
    gw = Gateway()
    rc = Receiver(pki)
    try:
        node = alliance.start(sms=gw.url)
        register(node, rc, "/all", bulletins="minor", requests=True)
        code = api(node, "POST", "/api/v1/household-codes",
                   {}).json()["code"]
        c = http.client.HTTPConnection("127.0.0.1", node.public_port)
        token = json.loads(exchange(
            c, "POST", "/api/v1/residents",
            json.dumps({"household_code": code}).encode(),
            {"Content-Type": "application/json"}).body)["token"]
        auth = {"Authorization": f"Bearer {token}",
                "Content-Type": "application/json"}
        r = exchange(http.client.HTTPConnection("127.0.0.1",
                                                node.public_port),
                     "PUT", "/api/v1/residents/me/channels",
                     json.dumps({"sms": {"enabled": True, "phone": PHONE,
                                         "bulletins": "moderate",
                                         "requests": True}}).encode(), auth)
        assert r.status == 200, r
        sms = json.loads(r.body)["sms"]
        assert sms["enabled"] and sms["phone"] == "138****8049"
        assert sms["bulletins"] == "moderate" and sms["requests"]
        # a bulletin at her threshold reaches her phone
        bid = issue(alliance.hub, "北区停水")
        (text,) = wait_for(lambda: gw.texts(PHONE), 30, "the SMS alert")
        assert text.ok and text.msg["kind"] == "bulletin"
        assert text.msg["id"] == text.key
        assert "北区停水" in text.msg["payload"]["text"]
        assert text.msg["payload"]["source"] == bid
        # the manager's reply to her request reaches her phone
        rid = own_request(node, token, PHONE)
        r = api(node, "PATCH", f"/api/v1/requests/{rid}",
                {"status": "done", "status_notes": "请周三来办公室"})
        assert r.status == 200, r
        wait_for(lambda: len(gw.texts(PHONE)) == 2, 30,
                 "the status change by SMS")
        reply = gw.texts(PHONE)[1]
        assert reply.ok and reply.msg["kind"] == "request"
        assert "请周三来办公室" in reply.msg["payload"]["text"]
        hooked = wait_for(lambda: [p for p in rc.delivered("/all").values()
                                   if p[0].body["kind"] == "request"], 30,
                          "the status change at the endpoint")
        assert hooked[0][0].body["payload"]["status"] == "done"
        assert hooked[0][0].body["payload"]["request"] == rid
        # "TD": the gateway opts her out; no more texts
        r = opt_out(node, PHONE)
        assert r.status == 200 and json.loads(r.body)["opted_out"] == 1, r
        r = exchange(http.client.HTTPConnection("127.0.0.1",
                                                node.public_port),
                     "GET", "/api/v1/residents/me/channels", None, auth)
        assert json.loads(r.body)["sms"]["enabled"] is False
        before = node.outbox_summary()["sms"]
        bid2 = issue(alliance.hub, "大风预警")
        wait_for(lambda: any(of_bulletin([v[0] for v in rc.delivered(
            "/all").values()], bid2)), 30, "the next bulletin at the "
            "endpoint")
        assert node.outbox_summary()["sms"] == before
        assert len(gw.texts(PHONE)) == 2
        assert rc.all_signed() and all(p.ok for p in gw.posts)
    finally:
        rc.stop()
        gw.close()

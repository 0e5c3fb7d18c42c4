"""Crisis bulletins: issued and signed by alliancectl, relayed by the hub,
verified, stored and shown by nodes, tracked per community.

Parts: helpers (signing in Python for what alliancectl would refuse to
make, a fake hub, an SSE reader); delivery with --wait; a node that was
away; refusals (foreign key, forged by a fake hub, replays, targeting);
key rotation; CAP XML and Atom; the live feed (and its replay after
Last-Event-ID, a bad one ignored); a bulletin overtaking a catalog
catch-up.
"""

import base64
import hashlib
import http.client
import json
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import websocket
from cryptography.hazmat.primitives import serialization

from conftest import (BUILD, Hub, RawSession, alliancectl, free_port,
                      http_get_json, pb, unique_id, wait_for)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"


# ---- helpers ----------------------------------------------------------------

def issue(hub, *extra, signing_key=None, headline="Burst water main",
          ok=True):
    """alliancectl bulletin issue with the five texts; returns (id, proc)."""
    r = alliancectl(hub, "bulletin", "issue", "--headline", headline,
                    "--description", "A water main burst on Zhongshan Road.",
                    "--cause", "Frost heave under the road.",
                    "--response", "Crews are repairing it; tankers are out.",
                    "--instructions", "Boil tap water until further notice.",
                    *extra, signing_key=signing_key)
    if ok:
        assert r.returncode == 0, r.stderr + r.stdout
        return r.stdout.splitlines()[0], r
    return None, r


def node_bulletins(node):
    return {b["id"]: b for b in http_get_json(
        "127.0.0.1", node.public_port, "/api/v1/bulletins")["items"]}


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("content-type"), r.read()
    finally:
        c.close()


def load_key(path):
    return serialization.load_pem_private_key(path.read_bytes(), None)


def key_id_of(private_key):
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def content(key_id, bid=None, area=(), btype="alert", references=(),
            headline="Gas leak"):
    """A valid BulletinContent (serialized) naming key_id."""
    now = int(time.time())
    c = pb.BulletinContent()
    c.id = bid or f"b-test-{unique_id('x')}"
    c.key_id = key_id
    c.sender = "Test Operator"
    c.type = btype
    c.references.extend(references)
    c.severity = "severe"
    c.urgency = "immediate"
    c.certainty = "observed"
    c.category = "public-safety"
    c.headline = headline
    c.description = "Gas smell reported."
    c.cause = "A damaged pipe."
    c.response = "The gas company is on site."
    c.instructions = "Keep away from Block 3."
    c.area.extend(area)
    c.sent = now
    c.expires = now + 3600
    return c.id, c.SerializeToString()


def signed(key, data):
    return key.sign(data)


def post_raw(hub, data, sig):
    return hub.api("POST", "/api/v1/bulletins", {
        "signed_content": base64.b64encode(data).decode(),
        "signature": base64.b64encode(sig).decode()})


def hub_pair(daemons, pki, n_nodes, **node_kw):
    hub = daemons.hub(pki)
    nodes = []
    for _ in range(n_nodes):
        cid = unique_id("b")
        hub.register(cid)
        nodes.append(daemons.node(pki, hub, cid, **node_kw))
    for n in nodes:
        n.wait_connected()
    return hub, nodes


# ---- delivery with --wait ----------------------------------------------------

def test_issue_wait_reaches_three_nodes_and_records_delivery(daemons, pki):
    hub, nodes = hub_pair(daemons, pki, 3)
    bid, r = issue(hub, "--wait", "--timeout", "20")
    assert re.fullmatch(r"b-\d{14}-[0-9a-f]{8}", bid), r.stdout
    m = re.search(r"delivered to all 3 communities in ([0-9.]+) s", r.stdout)
    assert m, r.stdout
    print(f"issue -> all 3 nodes delivered: {float(m.group(1)):.3f} s")

    d = hub.api("GET", f"/api/v1/bulletins/{bid}")
    assert d.status == 200, d
    d = d.json()
    assert d["posted_by"] == "Test Operator"
    assert d["targets"] == 3 and d["delivered"] == 3
    got = {x["community"]: x for x in d["delivery"]}
    assert set(got) == {n.community for n in nodes}
    for x in got.values():
        assert x["delivered"] and x["delivery_ms"] >= 0 and not x["refused"]
    for n in nodes:
        b = node_bulletins(n)[bid]
        assert b["status"] == "current"
        assert b["headline"] == "Burst water main"
        assert b["severity"] == "severe" and b["urgency"] == "immediate"
        assert b["category"] == "public-safety" and b["area"] == []

    # status and list, as an operator reads them
    s = alliancectl(hub, "bulletin", "status", bid)
    assert s.returncode == 0, s.stderr
    assert "3 of 3 communities have it" in s.stdout
    for n in nodes:
        assert n.community in s.stdout
    ls = alliancectl(hub, "bulletin", "list")
    assert ls.returncode == 0 and bid in ls.stdout and "3/3" in ls.stdout
    # the hub's public port lists it too
    pub = http_get_json("127.0.0.1", hub.public_port, "/api/v1/bulletins")
    assert [b["id"] for b in pub["items"]] == [bid]


def test_usage_errors_exit_2(daemons, pki):
    hub = daemons.hub(pki)
    r = alliancectl(hub, "bulletin", "issue", "--headline", "x")
    assert r.returncode == 2 and "--description is required" in r.stderr
    r = alliancectl(hub, "bulletin", "issue", "--headline", "x",
                    "--description", "d", "--cause", "c", "--response", "r",
                    "--instructions", "i", "--severity", "apocalyptic")
    assert r.returncode == 2 and "severity" in r.stderr
    r = alliancectl(hub, "bulletin", "issue", "--headline", "x",
                    "--description", "d", "--cause", "c", "--response", "r",
                    "--instructions", "i", "--expires", "soon")
    assert r.returncode == 2 and "--expires" in r.stderr


# ---- a node that was away ------------------------------------------------

def test_offline_node_gets_bulletin_and_cancel_on_reconnect(daemons, pki):
    hub, (a, b) = hub_pair(daemons, pki, 2)
    b.stop()
    wait_for(lambda: not hub.connected(b.community), 10, "hub to see b go")

    bid, r = issue(hub, "--wait", "--timeout", "2", ok=False)
    assert r.returncode == 1, r.stdout + r.stderr
    bid = r.stdout.splitlines()[0]
    assert re.search(r"not delivered after 2 s to 1 of 2 communities: "
                     + re.escape(b.community), r.stdout), r.stdout
    assert bid in node_bulletins(a)

    c = alliancectl(hub, "bulletin", "cancel", bid)
    assert c.returncode == 0, c.stderr
    cid = c.stdout.splitlines()[0]
    wait_for(lambda: node_bulletins(a).get(bid, {}).get("status")
             == "cancelled", 10, "a to mark the bulletin cancelled")

    b.start()
    b.wait_connected()
    got = wait_for(lambda: (lambda x: cid in x and x)(node_bulletins(b)),
                   15, "b to receive both after reconnecting")
    assert got[bid]["status"] == "cancelled"
    assert got[cid]["type"] == "cancel" and got[cid]["references"] == [bid]
    # the cancel's own words are in the language of the text (Chinese)
    assert got[cid]["headline"].startswith("已取消：")
    # current ones first: the cancel notice, then the cancelled bulletin
    assert list(got) == [cid, bid]
    d = hub.api("GET", f"/api/v1/bulletins/{bid}").json()
    assert d["delivered"] == 2 and d["status"] == "cancelled"


def test_rows_a_stop_kept_from_being_written_are_made_at_start(daemons,
                                                                pki):
    """The hub sends a stored bulletin's frames before it writes its
    delivery rows; a stop in between leaves it stored without rows. The
    next start makes them, for its area or every community, and the
    nodes (which have it) ack it again: delivered, held once."""
    hub, (a, b) = hub_pair(daemons, pki, 2)
    every, _ = issue(hub, "--wait", "--timeout", "20")
    area, _ = issue(hub, "--area", a.community, "--wait", "--timeout", "20")
    hub.stop()
    db = sqlite3.connect(hub.dir / hub.store_file)
    with db:
        gone = db.execute("DELETE FROM bulletin_delivery").rowcount
    db.close()
    assert gone == 3

    mark = hub.log_mark()
    hub.start()
    hub.wait_log(r"3 delivery rows made for bulletins stored without them",
                 since=mark)
    for bid, want in ((every, {a.community, b.community}),
                      (area, {a.community})):
        d = wait_for(lambda: (lambda x: x["delivered"] == len(want) and x)(
            hub.api("GET", f"/api/v1/bulletins/{bid}").json()), 20,
            f"{bid} delivered again")
        assert d["targets"] == len(want)
        assert {x["community"] for x in d["delivery"]} == want
    for n in (a, b):
        ids = [x["id"] for x in http_get_json(
            "127.0.0.1", n.public_port, "/api/v1/bulletins")["items"]]
        assert sorted(ids) == sorted([every, area] if n is a else [every])


def next_bulletin(rs, timeout):
    """The id of the next bulletin rs receives (other frames skipped), or
    None when none comes within timeout seconds."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            f = rs.recv_frame(left)
        except websocket.WebSocketTimeoutException:
            return None
        if f.WhichOneof("body") == "bulletin":
            c = pb.BulletinContent()
            c.ParseFromString(f.bulletin.signed_content)
            return c.id
    return None


def test_at_most_16_unacked_then_the_rest_in_order(daemons, pki):
    """A node is sent at most 16 bulletins it has not acked
    (LIMIT_BULLETIN_INFLIGHT); those posted past its window wait for
    room (their delivery rows written after the frames of the others) and
    come, in the order posted, as it acks."""
    hub = daemons.hub(pki)
    cid = unique_id("w")
    hub.register(cid)
    with RawSession(hub, cert=pki.node(cid)) as rs:
        rs.handshake(cid)
        ids = [issue(hub, headline=f"Notice {i}")[0] for i in range(18)]
        got = [next_bulletin(rs, 20) for _ in range(16)]
        assert got == ids[:16]
        assert next_bulletin(rs, 1.5) is None, "a 17th while 16 unacked"
        for bid in got[:2]:
            f = pb.Frame()
            f.bulletin_ack.id = bid
            rs.send_frame(f)
        assert [next_bulletin(rs, 20) for _ in range(2)] == ids[16:]
        # an ack whose id is not one (it would break out of the acks'
        # JSON array) is refused where frames come in (lib/wire), saying so
        f = pb.Frame()
        f.bulletin_ack.id = f'{ids[2]}",1],["{ids[3]}'
        rs.send_frame(f)
        code, reason = rs.expect_close()
        assert code == 4400 and "bulletin_ack.id" in reason, reason
    # (with the hub on PostgreSQL, recorded once the log brings them back)
    wait_for(lambda: hub.api("GET", f"/api/v1/bulletins/{ids[1]}").json()[
        "delivered"] == 1, 10, "the two acks recorded")
    d = hub.api("GET", f"/api/v1/bulletins/{ids[0]}").json()
    assert d["delivered"] == 1 and d["targets"] == 1
    for bid in ids[2:4]:
        assert hub.api("GET", f"/api/v1/bulletins/{bid}").json()[
            "delivered"] == 0


# ---- refusals -------------------------------------------------------------

def test_foreign_key_refused_by_hub(daemons, pki):
    hub, (a,) = hub_pair(daemons, pki, 1)
    foreign_key, _ = pki.extra_signing_key("foreign")
    _, r = issue(hub, signing_key=foreign_key, ok=False)
    assert r.returncode == 1
    assert "422" in r.stderr and "not pinned" in r.stderr, r.stderr

    # the pinned key's id, but signed by another key
    key = load_key(foreign_key)
    bid, data = content(key_id_of(load_key(pki.signing_key)))
    resp = post_raw(hub, data, signed(key, data))
    assert resp.status == 422, resp
    assert "does not verify" in resp.json()["error"]["message"]
    # a signature over other bytes
    good = load_key(pki.signing_key)
    bid2, data2 = content(key_id_of(good))
    resp = post_raw(hub, data2, signed(good, data2 + b"x"))
    assert resp.status == 422, resp
    assert hub.api("GET", "/api/v1/bulletins").json()["items"] == []
    assert node_bulletins(a) == {}
    # no operator certificate: a node's may not post
    resp = hub.api("POST", "/api/v1/bulletins", {"signed_content": "",
                                                 "signature": ""},
                   cert=pki.node(a.community))
    assert resp.status == 403


def test_replay_stored_once_and_targeted_bulletin_reaches_only_its_area(
        daemons, pki):
    hub, (a, b) = hub_pair(daemons, pki, 2)
    key = load_key(pki.signing_key)
    bid, data = content(key_id_of(key), area=[a.community])
    sig = signed(key, data)
    first = post_raw(hub, data, sig)
    assert first.status == 201, first
    # the 201 says how many it goes to; who has it is GET's
    assert first.json()["targets"] == 1 and first.json()["delivered"] == 0
    assert "delivery" not in first.json() and \
        first.json()["posted_by"] == "Test Operator", first.json()
    again = post_raw(hub, data, sig)
    assert again.status == 200, again
    assert again.json()["id"] == bid
    items = hub.api("GET", "/api/v1/bulletins").json()["items"]
    assert [i["id"] for i in items] == [bid]
    assert items[0]["targets"] == 1

    wait_for(lambda: bid in node_bulletins(a), 10, "a to get its bulletin")
    # an everyone-bulletin after it reaches b; the targeted one never does
    everyone, _ = issue(hub, "--wait", "--timeout", "20")
    wait_for(lambda: everyone in node_bulletins(b), 10, "b to get it")
    assert bid not in node_bulletins(b)
    d = hub.api("GET", f"/api/v1/bulletins/{bid}").json()
    assert [x["community"] for x in d["delivery"]] == [a.community]
    # same id, other bytes: a conflict, not a second bulletin
    _, other = content(key_id_of(key), bid=bid, headline="Other")
    resp = post_raw(hub, other, signed(key, other))
    assert resp.status == 409, resp
    # an area naming a community the hub does not know
    _, data3 = content(key_id_of(key), area=["no-such-place"])
    resp = post_raw(hub, data3, signed(key, data3))
    assert resp.status == 422 and "area" in resp.json()["error"]["message"]


# ---- a fake hub -------------------------------------------------------------

class FakeHub:
    """A mutual-TLS websocket server with the real hub certificate that
    speaks alliance.v1: answers Hello with Welcome, then sends the
    bulletins it is given and records what the node answers."""

    def __init__(self, pki):
        self.pki = pki
        self.alliance_port = free_port()
        self.received = []          # Frames from the node
        self.to_send = []           # Frames to send after Welcome
        self.welcomed = threading.Event()
        self.stop = threading.Event()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        crt, key = pki.hub_cert
        ctx.load_cert_chain(str(crt), str(key))
        ctx.load_verify_locations(cafile=str(pki.ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.alliance_port))
        self.sock.listen(4)
        self.sock.settimeout(0.5)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.sock.close()

    def run(self):
        while not self.stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except socket.timeout:
                continue
            try:
                conn = self.ctx.wrap_socket(raw, server_side=True)
                self.serve(conn)
            except (OSError, ssl.SSLError, ConnectionError):
                pass
            finally:
                raw.close()

    def serve(self, conn):
        conn.settimeout(0.5)
        req = b""
        while b"\r\n\r\n" not in req:
            req += conn.recv(4096)
        headers = dict(
            line.split(": ", 1) for line in
            req.decode().split("\r\n")[1:] if ": " in line)
        keyh = {k.lower(): v for k, v in headers.items()}["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1(
            (keyh + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
        ).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\n"
                      "Sec-WebSocket-Protocol: alliance.v1\r\n\r\n").encode())
        buf = b""
        while not self.stop.is_set():
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            buf += chunk
            while True:
                frame, buf = self.parse(buf)
                if frame is None:
                    break
                opcode, payload = frame
                if opcode == 8:
                    return
                if opcode == 9:
                    self.send(conn, 10, payload)
                    continue
                if opcode != 2:
                    continue
                f = pb.Frame()
                f.ParseFromString(payload)
                self.received.append(f)
                if f.WhichOneof("body") == "hello":
                    w = pb.Frame()
                    w.welcome.heartbeat_s = 20
                    w.welcome.batch_max = 256
                    w.welcome.window = 8
                    w.welcome.hub_version = "fake"
                    self.send(conn, 2, w.SerializeToString())
                    for out in self.to_send:
                        self.send(conn, 2, out.SerializeToString())
                    self.welcomed.set()

    @staticmethod
    def parse(buf):
        if len(buf) < 2:
            return None, buf
        opcode = buf[0] & 0x0F
        masked = buf[1] & 0x80
        n = buf[1] & 0x7F
        i = 2
        if n == 126:
            if len(buf) < 4:
                return None, buf
            n = int.from_bytes(buf[2:4], "big")
            i = 4
        elif n == 127:
            if len(buf) < 10:
                return None, buf
            n = int.from_bytes(buf[2:10], "big")
            i = 10
        mask = b""
        if masked:
            mask = buf[i:i + 4]
            i += 4
        if len(buf) < i + n:
            return None, buf
        data = buf[i:i + n]
        if masked:
            data = bytes(b ^ mask[j % 4] for j, b in enumerate(data))
        return (opcode, data), buf[i + n:]

    @staticmethod
    def send(conn, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + n.to_bytes(2, "big")
        else:
            head += bytes([127]) + n.to_bytes(8, "big")
        conn.sendall(head + payload)

    def acks(self):
        return {f.bulletin_ack.id: f.bulletin_ack for f in self.received
                if f.WhichOneof("body") == "bulletin_ack"}


def bulletin_frame(data, sig):
    f = pb.Frame()
    f.bulletin.signed_content = data
    f.bulletin.signature = sig
    return f


def test_fake_hub_forgeries_are_refused_and_never_shown(daemons, pki,
                                                        tmp_path):
    fake = FakeHub(pki)
    cid = unique_id("f")
    good = load_key(pki.signing_key)
    foreign_key, _ = pki.extra_signing_key("forger")
    forger = load_key(foreign_key)
    # 1: signed with another key, naming it
    f1, d1 = content(key_id_of(forger))
    # 2: naming the pinned key, signed with another
    f2, d2 = content(key_id_of(good))
    # 3: genuine, but for another community
    f3, d3 = content(key_id_of(good), area=["somewhere-else"])
    # 4: genuine and for this node
    ok, d4 = content(key_id_of(good), area=[cid])
    fake.to_send = [bulletin_frame(d1, signed(forger, d1)),
                    bulletin_frame(d2, signed(forger, d2)),
                    bulletin_frame(d3, signed(good, d3)),
                    bulletin_frame(d4, signed(good, d4))]
    try:
        node = daemons.node(pki, fake, cid)
        assert fake.welcomed.wait(15), node.tail()
        acks = wait_for(lambda: (lambda a: len(a) == 4 and a)(fake.acks()),
                        10, "the node to answer all four")
        assert acks[ok].refused is False
        for bad in (f1, f2, f3):
            assert acks[bad].refused is True, acks[bad]
        assert "not pinned" in acks[f1].reason
        assert "does not verify" in acks[f2].reason
        assert "area does not include" in acks[f3].reason
        shown = node_bulletins(node)
        assert list(shown) == [ok]
        for bad in (f1, f2, f3):
            status, _, _ = http_get(node.public_port,
                                    f"/api/v1/bulletins/{bad}.cap")
            assert status == 404
        node.wait_log(r"refused bulletin .*not pinned")
    finally:
        fake.close()


# ---- key rotation -------------------------------------------------------

def test_key_rotation_after_sighup(daemons, pki):
    hub, (a,) = hub_pair(daemons, pki, 1)
    new_key, new_pub = pki.extra_signing_key("signing-2026")
    _, r = issue(hub, signing_key=new_key, ok=False)
    assert r.returncode == 1 and "not pinned" in r.stderr

    for d in (hub, a):
        d.bulletin_keys = [pki.signing_pub, new_pub]
        d.reload()
    bid, _ = issue(hub, "--wait", "--timeout", "20", signing_key=new_key)
    assert bid in node_bulletins(a)

    # retire the old key everywhere: what it signs is refused
    for d in (hub, a):
        d.bulletin_keys = [new_pub]
        d.reload()
    _, r = issue(hub, ok=False)
    assert r.returncode == 1 and "422" in r.stderr and "not pinned" in \
        r.stderr, r.stderr
    bid2, _ = issue(hub, "--wait", "--timeout", "20", signing_key=new_key)
    assert bid2 in node_bulletins(a)
    # the session stayed up through both reloads
    assert a.healthz()["hub"]["connected"]


def test_bad_key_file_is_a_config_error(tmp_path, pki):
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    h = Hub(tmp_path / "hub", pki, bulletin_keys=[bad])
    h.write_config(h.config_text())
    r = subprocess.run([str(BUILD / "alliance-hub"), "-c", str(h.conf)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stderr
    assert "[bulletins] keys" in r.stderr and "bad.pub" in r.stderr


# ---- CAP XML and Atom ---------------------------------------------------------

HOSTILE = "Fire <b>&amp; \"smoke\" at O'Brien's</b> ]]> 火灾 & <script>"


def xmllint(tmp_path, name, body):
    if not shutil.which("xmllint"):
        pytest.skip("xmllint (libxml2-utils) is not installed")
    p = tmp_path / name
    p.write_bytes(body)
    r = subprocess.run(["xmllint", "--noout", str(p)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def it_text(info, name):
    return info.find(f"{{{CAP_NS}}}{name}").text


def test_cap_xml_well_formed_ordered_and_escaped(daemons, pki, tmp_path):
    hub, (a,) = hub_pair(daemons, pki, 1)
    r = alliancectl(hub, "bulletin", "issue", "--headline", HOSTILE,
                    "--description", "Line one <&>\nline 'two'",
                    "--cause", 'A "cause" & more', "--response", "<none>",
                    "--instructions", "Leave & don't <return>",
                    "--category", "fire", "--severity", "extreme",
                    "--urgency", "expected", "--certainty", "likely",
                    "--area", a.community, "--wait", "--timeout", "20")
    assert r.returncode == 0, r.stderr
    bid = r.stdout.splitlines()[0]
    upd = alliancectl(hub, "bulletin", "update", bid, "--headline",
                      "Fire under control")
    assert upd.returncode == 0, upd.stderr
    uid = upd.stdout.splitlines()[0]
    wait_for(lambda: uid in node_bulletins(a), 10, "the update at a")

    for port in (a.public_port, hub.public_port):
        status, ctype, body = http_get(port, f"/api/v1/bulletins/{bid}.cap")
        assert status == 200 and "xml" in ctype
        xmllint(tmp_path, f"{port}.cap.xml", body)
        assert b"<script>" not in body and b"<b>" not in body
        root = ET.fromstring(body)
        assert root.tag == f"{{{CAP_NS}}}alert"
        names = [c.tag.split("}")[1] for c in root]
        assert names == ["identifier", "sender", "sent", "status", "msgType",
                         "scope", "info"]
        text = {c.tag.split("}")[1]: c.text for c in root}
        assert text["identifier"] == bid
        # the hub's CAP sender ([bulletins] sender; by default the host
        # of its [public] url), UTC as -00:00 (CAP 1.2 3.3.2)
        assert text["sender"] == "127.0.0.1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00",
                            text["sent"])
        assert text["status"] == "Actual" and text["msgType"] == "Alert"
        assert text["scope"] == "Public"
        info = root.find(f"{{{CAP_NS}}}info")
        inames = [c.tag.split("}")[1] for c in info]
        assert inames == ["language", "category", "event", "urgency",
                          "severity", "certainty", "expires", "senderName",
                          "headline", "description", "instruction", "web",
                          "area"]
        assert it_text(info, "language") == "zh-CN"
        it = {c.tag.split("}")[1]: c for c in info}
        assert it["category"].text == "Fire"
        assert it["urgency"].text == "Expected"
        assert it["severity"].text == "Extreme"
        assert it["certainty"].text == "Likely"
        assert it["headline"].text == HOSTILE
        assert "Line one <&>\nline 'two'" in it["description"].text
        assert 'A "cause" & more' in it["description"].text
        assert it["instruction"].text == "Leave & don't <return>"
        assert it["area"].find(f"{{{CAP_NS}}}areaDesc").text == a.community

        # the update references the original as sender,identifier,sent
        status, _, ubody = http_get(port, f"/api/v1/bulletins/{uid}.cap")
        assert status == 200
        xmllint(tmp_path, f"{port}.upd.xml", ubody)
        uroot = ET.fromstring(ubody)
        unames = [c.tag.split("}")[1] for c in uroot]
        assert unames == ["identifier", "sender", "sent", "status",
                          "msgType", "scope", "references", "info"]
        assert uroot.find(f"{{{CAP_NS}}}msgType").text == "Update"
        assert uroot.find(f"{{{CAP_NS}}}references").text == \
            f"127.0.0.1,{bid},{text['sent']}"

        status, ctype, feed = http_get(port, "/api/v1/bulletins.atom")
        assert status == 200 and "atom" in ctype
        xmllint(tmp_path, f"{port}.atom", feed)
        froot = ET.fromstring(feed)
        assert froot.tag == f"{{{ATOM_NS}}}feed"
        entries = froot.findall(f"{{{ATOM_NS}}}entry")
        # the original was updated: only the update is current
        assert [e.find(f"{{{ATOM_NS}}}id").text for e in entries] == \
            [f"urn:alliance:bulletin:{uid}"]
        assert froot.find(f"{{{ATOM_NS}}}id").text == \
            f"http://127.0.0.1:{port}/api/v1/bulletins.atom"
    assert node_bulletins(a)[bid]["status"] == "updated"


# ---- the live feed --------------------------------------------------------

def test_live_feed_shows_a_new_bulletin_as_it_is_issued(daemons, pki):
    """An open live feed gets the bulletin without a reload (how fast is
    printed, a figure, not asserted: speed belongs in bench/)."""
    hub, (a,) = hub_pair(daemons, pki, 1)
    s = socket.create_connection(("127.0.0.1", a.public_port), timeout=10)
    try:
        s.sendall(b"GET /api/v1/bulletins/live HTTP/1.1\r\n"
                  b"Host: x\r\nAccept: text/event-stream\r\n\r\n")
        buf = b""
        while b": live bulletins" not in buf:
            chunk = s.recv(4096)
            assert chunk, buf
            buf += chunk
        head = buf.split(b"\r\n\r\n")[0].decode().lower()
        assert head.startswith("http/1.1 200")
        assert "content-type: text/event-stream" in head
        t0 = time.monotonic()
        bid, _ = issue(hub)
        issued = time.monotonic()
        s.settimeout(5)
        while b"event: bulletin" not in buf or not buf.endswith(b"\n\n"):
            chunk = s.recv(65536)
            assert chunk, buf
            buf += chunk
        got = time.monotonic()
        data = [line for line in buf.decode().split("\n")
                if line.startswith("data: ")][-1][6:]
        event = json.loads(data)
        assert event["id"] == bid and event["status"] == "current"
        print(f"live feed: issue took {issued - t0:.3f} s, event "
              f"{got - issued:.3f} s after alliancectl returned")
    finally:
        s.close()


class Feed:
    """A live feed read from a raw socket (from source, an address of
    127/8: one client holds at most 4 feeds), Last-Event-ID sent as the
    header line given (None: no such line)."""

    def __init__(self, port, last_event_id=None, source="127.0.0.1"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=15,
                                          source_address=(source, 0))
        line = "" if last_event_id is None else \
            f"Last-Event-ID: {last_event_id}\r\n"
        self.s.sendall(f"GET /api/v1/bulletins/live HTTP/1.1\r\nHost: x\r\n"
                       f"Accept: text/event-stream\r\n{line}\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head

    def more(self):
        chunk = self.s.recv(65536)
        assert chunk, self.buf
        self.buf += chunk

    def events(self, n):
        """The next n bulletin events as (id, bulletin id); fails when
        they have not come in 20 s (the keepalive comments keep the
        socket busy meanwhile)."""
        out = []
        deadline = time.monotonic() + 20
        while len(out) < n:
            assert time.monotonic() < deadline, (n, out, self.buf)
            block, sep, rest = self.buf.partition(b"\n\n")
            if not sep:
                self.more()
                continue
            self.buf = rest
            f = dict(line.split(": ", 1) for line in
                     block.decode().split("\n") if not line.startswith(":"))
            if f.get("event") == "bulletin":
                out.append((f["id"], json.loads(f["data"])["id"]))
        return out

    def close(self):
        self.s.close()


def test_live_feed_replays_after_last_event_id_and_only_a_valid_one(daemons,
                                                                    pki):
    """Last-Event-ID is the stored sequence: a feed opened with one gets
    the bulletins stored after it and still in force, in order (an
    expired one left out); one that is not a sequence
    of this node (not a number, negative, too long, past the last one)
    replays nothing, and the feed goes on with what is issued next."""
    hub, (a,) = hub_pair(daemons, pki, 1)
    b1, _ = issue(hub, "--wait", "--timeout", "20", headline="one")
    b2, _ = issue(hub, "--wait", "--timeout", "20", headline="two")
    every = Feed(a.public_port, "0")
    try:
        (s1, got1), (s2, got2) = every.events(2)
    finally:
        every.close()
    assert (got1, got2) == (b1, b2)
    assert re.fullmatch(r"[1-9][0-9]*", s1) and int(s2) > int(s1)
    # one stored after them that has expired: no longer in force, so not
    # replayed
    key = load_key(pki.signing_key)
    gone, data = content(key_id_of(key), headline="expiring")
    c = pb.BulletinContent.FromString(data)
    c.expires = c.sent + 6
    data = c.SerializeToString()
    assert post_raw(hub, data, signed(key, data)).status == 201
    wait_for(lambda: node_bulletins(a).get(gone, {}).get("status") ==
             "expired", 20, "the short bulletin stored, then expired")
    after1 = Feed(a.public_port, s1, source="127.0.0.2")
    bad = [Feed(a.public_port, v, source=f"127.0.1.{i + 1}") for i, v in
           enumerate(["", "abc", "-1", "1x", "9" * 40, "1" * 31,
                      str(int(s2) + 1000), None])]
    try:
        assert [b for _, b in after1.events(1)] == [b2]
        b3, _ = issue(hub, "--wait", "--timeout", "20", headline="three")
        # the first event each bad one gets is the one issued since
        for f in bad:
            (s3, got), = f.events(1)
            assert got == b3 and int(s3) > int(s2)
        assert [b for _, b in after1.events(1)] == [b3]
    finally:
        for f in [after1, *bad]:
            f.close()


# ---- overtaking a catalog catch-up ----------------------------------------

def service_change(seq, origin, i):
    ch = pb.Change()
    ch.seq = seq
    ch.origin = origin
    ch.kind = pb.KIND_SERVICE
    ch.id = f"svc-{i}"
    ch.version = seq
    s = ch.service
    s.title = f"Home haircut {i}"
    s.summary = "A barber visits residents who cannot walk."
    s.description = "Weekly visits; bring your own towel. " * 3
    s.category = "elderly-care"
    s.audience.append("elderly")
    s.delivery.append("home-visit")
    s.fee = "free"
    s.status = "active"
    s.updated = 1764000000
    return ch


def test_bulletin_overtakes_a_catalog_catch_up(daemons, pki):
    # one community's 100,000 records: the largest quotas (test_27)
    hub = daemons.hub(pki, quota={"records": 1000000, "bytes": 1073741824,
                                  "changes_per_hour": 1000000})
    src = unique_id("src")
    hub.register(src)
    total = 100_000
    with RawSession(hub, cert=pki.node(src)) as rs:
        rs.handshake(src)
        seq = 0
        while seq < total:
            f = pb.Frame()
            n = min(256, total - seq)
            f.changes.changes.extend(service_change(seq + k + 1, src,
                                                    seq + k + 1)
                                     for k in range(n))
            seq += n
            f.changes.last_seq = seq
            rs.send_frame(f)
            while True:
                ack = rs.recv_frame(60)
                if ack.WhichOneof("body") == "ack":
                    break
            assert ack.ack.seq == seq
    late = unique_id("late")
    hub.register(late)
    node = daemons.node(pki, hub, late)

    def catalog_total():
        return node.live_services()
    wait_for(lambda: catalog_total() > 0, 60, "the catch-up to begin")
    bid, _ = issue(hub)
    wait_for(lambda: bid in node_bulletins(node), 30, "the bulletin")
    during = catalog_total()
    print(f"bulletin shown with {during} of {total} records caught up")
    assert during < total
    wait_for(lambda: catalog_total() == total, 300, "the catch-up to end")

"""Sessions between hub and nodes: connecting, reconnecting, and refusals.

Most tests share one hub per module with a real alliance-node (the
"bystander") connected to it; the `hub` fixture checks after every test that
the bystander's session was never dropped, so each refusal below is also a
check that the hub kept serving everyone else. Each test uses community ids
of its own. Tests that need other limits, or restart the hub, start their
own.
"""

import http.client
import re
import signal
import ssl
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import websocket

from conftest import (PKI, RawSession, pb, tls_context, topology, unique_id,
                      unknown_body_frame, wait_for)


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def shared(pki, tmp_path_factory):
    """One hub for the module, with a real node connected to it."""
    with topology(pki, tmp_path_factory.mktemp("shared"),
                  ["bystander"]) as t:
        yield SimpleNamespace(hub=t.hub, node=t.nodes[0])


@pytest.fixture
def hub(shared):
    """The shared hub; after the test its bystander node must still hold
    the very session it held before (never dropped, never replaced)."""
    shared.hub.assert_alive()
    shared.node.assert_alive()
    before = shared.node.wait_connected()["hub"]["since"]
    mark = shared.hub.log_mark()
    yield shared.hub
    shared.hub.assert_alive()
    after = shared.node.healthz()["hub"]
    assert after["connected"], f"bystander lost its session: {after}"
    assert after["since"] == before, \
        f"bystander reconnected during the test: {before} -> {after}"
    assert shared.hub.connected(shared.node.community)
    assert not re.search(rf"session {shared.node.community}: closed",
                         shared.hub.log()[mark:]), "bystander session closed"


@pytest.fixture
def bystander(shared):
    return shared.node


def registered(hub, prefix="c"):
    cid = unique_id(prefix)
    hub.register(cid)
    return cid


def session(hub, pki, cid):
    """A RawSession of cid past the handshake."""
    s = RawSession(hub, pki.node(cid))
    s.handshake(cid)
    return s


TLS_FAILURE = (ssl.SSLError, ConnectionError,
               websocket.WebSocketConnectionClosedException)


def assert_tls_refused(hub, pki, cert, log_regex, since):
    """Connecting with cert fails in the TLS handshake (not with an HTTP
    status, a close code or a timeout), and the hub logs log_regex; returns
    the exception."""
    try:
        s = RawSession(hub, cert, pki=pki)
    except TLS_FAILURE as e:
        err = e
    else:
        # TLS 1.3: the client's handshake ends before the server's verdict,
        # so the refusal may arrive only on the first read.
        with s, pytest.raises(TLS_FAILURE) as e:
            s.recv_frame(timeout=5)
        err = e.value
    hub.wait_log(log_regex, since=since)
    return err


def parse_time(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc)


# ---- connecting and reconnecting ------------------------------------------

def test_three_nodes_connect_and_are_listed(pki, daemons):
    """Three real nodes connect; the communities API shows each connected
    with last_seen set."""
    hub = daemons.hub(pki)
    ids = [unique_id("three") for _ in range(3)]
    started = datetime.now(timezone.utc).replace(microsecond=0)
    for cid in ids:
        hub.register(cid)
    nodes = [daemons.node(pki, hub, cid) for cid in ids]
    for n in nodes:
        n.wait_connected()
    wait_for(lambda: all(hub.connected(c) for c in ids), 10,
             "the hub to list all three connected")
    listed = hub.communities()
    for cid in ids:
        c = listed[cid]
        assert c["connected"] is True, c
        assert c["last_seen"], c
        assert parse_time(c["last_seen"]) >= started, c
        assert re.fullmatch(r"[0-9a-f]{16}", c["epoch"]), c
    assert hub.healthz()["sessions"] == 3
    assert hub.metrics()["alliance_sessions"] == 3
    for cid in ids:
        hub.wait_log(rf"session {cid}: established")


def test_hub_restart_every_node_reconnects(pki, daemons):
    """After the hub restarts (same ports, same store), every node
    reconnects on its own within its backoff bound."""
    hub = daemons.hub(pki)
    ids = [unique_id("restart") for _ in range(3)]
    for cid in ids:
        hub.register(cid)
    nodes = [daemons.node(pki, hub, cid) for cid in ids]
    before = {n.community: n.wait_connected()["hub"]["since"] for n in nodes}

    hub.stop()
    for n in nodes:
        wait_for(lambda: not n.healthz()["hub"]["connected"], 10,
                 f"node {n.community} to notice the hub is gone")
    mark = hub.log_mark()
    hub.start()
    wait_for(lambda: all(hub.connected(c) for c in ids), 30,
             "every node to reconnect to the restarted hub")
    for cid in ids:
        hub.wait_log(rf"session {cid}: established", since=mark)
    for n in nodes:
        h = n.wait_connected()
        assert h["hub"]["since"] != before[n.community]
    # the registry survived the restart in the store
    assert set(ids) <= set(hub.communities())


# ---- refused in the TLS handshake -------------------------------------------

def test_no_client_certificate_fails_tls(pki, hub):
    """A client with no certificate fails the TLS handshake; the hub logs
    why."""
    mark = hub.log_mark()
    assert_tls_refused(hub, pki, None, r"no client certificate", mark)


def test_foreign_ca_certificate_fails_tls(pki, hub, bystander, tmp_path):
    """A certificate from a foreign CA, with the CN of a connected
    community, fails the TLS handshake and does not disturb that
    community's session."""
    foreign = PKI(tmp_path / "foreign")
    foreign.run("init", "--dir", foreign.dir, "--name", "Alliance CA")
    cert = foreign.node(bystander.community)
    mark = hub.log_mark()
    assert_tls_refused(hub, pki, cert,
                       r"refused client .*CN=%s.*unable to get local issuer "
                       r"certificate" % re.escape(bystander.community), mark)


def test_expired_certificate_fails_tls(pki, hub):
    """An expired certificate of a registered community fails the TLS
    handshake with "certificate has expired" in the log."""
    cid = registered(hub, "expired")
    cert = pki.node(cid, "--start", "20200101000000Z",
                    "--end", "20200201000000Z")
    mark = hub.log_mark()
    assert_tls_refused(hub, pki, cert, r"certificate has expired", mark)


def test_revoked_certificate_fails_tls_after_sighup(pki, hub):
    """A certificate that worked fails the TLS handshake once revoked and
    the hub has re-read the CRL (SIGHUP)."""
    cid = registered(hub, "revoked")
    session(hub, pki, cid).close()
    pki.revoke(pki.node(cid)[0])
    hub.update_crl()
    mark = hub.log_mark()
    assert_tls_refused(hub, pki, pki.node(cid),
                       r"CN=%s.*certificate revoked" % re.escape(cid), mark)


def test_revoked_while_connected_closed_4410(pki, hub):
    """SIGHUP after a revocation closes the revoked certificate's live
    session with 4410; other sessions stay."""
    victim = registered(hub, "victim")
    other = registered(hub, "other")
    with session(hub, pki, victim) as sv, session(hub, pki, other) as so:
        pki.revoke(pki.node(victim)[0])
        mark = hub.log_mark()
        hub.update_crl()
        code, reason = sv.expect_close()
        assert code == 4410, (code, reason)
        assert "revoked" in reason
        hub.wait_log(rf"session {victim}: closing 4410: .*revoked", since=mark)
        assert so.alive()
        assert hub.connected(other) and not hub.connected(victim)


# ---- refused on the websocket -----------------------------------------------

def test_unregistered_community_error_then_4403(pki, hub):
    """A node certificate whose community is not in the registry gets an
    Error frame, then close 4403."""
    cid = unique_id("stranger")
    mark = hub.log_mark()
    with RawSession(hub, pki.node(cid)) as s:
        code, reason = s.expect_close()
        assert code == 4403, (code, reason)
        assert cid in reason
        errors = [f for f in s.frames_before_close
                  if f.WhichOneof("body") == "error"]
        assert errors and errors[0].error.code == pb.ERROR_NOT_REGISTERED
    hub.wait_log(rf"session {cid}: closing 4403: .*not in the registry",
                 since=mark)


def test_hello_naming_another_community_4404(pki, hub, bystander):
    """A Hello naming a community other than the certificate's is closed
    with 4404 (and the named community's session is untouched)."""
    cid = registered(hub, "liar")
    mark = hub.log_mark()
    with RawSession(hub, pki.node(cid)) as s:
        s.hello(bystander.community)
        code, reason = s.expect_close()
        assert code == 4404, (code, reason)
        assert s.frames_before_close[0].error.code == \
            pb.ERROR_WRONG_COMMUNITY
    hub.wait_log(rf"session {cid}: closing 4404: Hello names community "
                 rf"'{bystander.community}'", since=mark)


def test_no_hello_closed_4408_after_5s(pki, hub):
    """A session that sends no Hello is closed with 4408 after about 5 s."""
    cid = registered(hub, "silent")
    mark = hub.log_mark()
    with RawSession(hub, pki.node(cid)) as s:
        t0 = time.monotonic()
        code, reason = s.expect_close(timeout=15)
        elapsed = time.monotonic() - t0
    assert code == 4408, (code, reason)
    assert 4.0 <= elapsed <= 8.0, elapsed
    hub.wait_log(rf"session {cid}: closing 4408: no valid Hello", since=mark)


def test_garbage_frame_4400(pki, hub):
    """Bytes that do not decode as a Frame close the session with 4400."""
    cid = registered(hub, "garbage")
    mark = hub.log_mark()
    with session(hub, pki, cid) as s:
        s.send_bytes(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff garbage")
        code, reason = s.expect_close()
    assert code == 4400, (code, reason)
    assert "bad frame" in reason
    hub.wait_log(rf"session {cid}: closing 4400: bad frame", since=mark)


def test_text_frame_1003(pki, hub):
    """A text message closes the session with 1003."""
    cid = registered(hub, "text")
    mark = hub.log_mark()
    with session(hub, pki, cid) as s:
        s.send_text('{"hello": "json?"}')
        code, reason = s.expect_close()
    assert code == 1003, (code, reason)
    hub.wait_log(rf"session {cid}: closing 1003: text messages", since=mark)


def test_frame_over_size_limit_1009(pki, daemons):
    """A message over [limits] max_frame closes the session with 1009; the
    hub goes on serving others."""
    hub = daemons.hub(pki, limits={"max_frame": 262144})
    cid, other = unique_id("big"), unique_id("other")
    hub.register(cid)
    hub.register(other)
    with session(hub, pki, other) as so:
        with session(hub, pki, cid) as s:
            s.send_bytes(b"\x0a" + b"\x00" * 269999)
            code, reason = s.expect_close()
        assert code == 1009, (code, reason)
        hub.wait_log(rf"session {cid}: closing 1009: message over 262144")
        assert so.alive()
        assert hub.connected(other)
    assert hub.refusals()["too_large"] == 1


def test_hello_not_first_4405(pki, hub):
    """A first frame other than Hello closes the session with 4405."""
    cid = registered(hub, "order")
    mark = hub.log_mark()
    with RawSession(hub, pki.node(cid)) as s:
        f = pb.Frame()
        f.error.code = pb.ERROR_UNSPECIFIED
        f.error.message = "me first"
        s.send_frame(f)
        code, reason = s.expect_close()
    assert code == 4405, (code, reason)
    assert "Hello" in reason
    hub.wait_log(rf"session {cid}: closing 4405: expected Hello first",
                 since=mark)


def test_unknown_body_answered_and_session_goes_on(pki, hub):
    """A Frame with a body kind the hub does not know (field 99) is
    answered with ERROR_UNKNOWN_BODY and the session stays open."""
    cid = registered(hub, "newer")
    with session(hub, pki, cid) as s:
        s.send_bytes(unknown_body_frame())
        f = s.recv_skipping_changes()
        assert f.WhichOneof("body") == "error", f
        assert f.error.code == pb.ERROR_UNKNOWN_BODY
        # the next frames are still served
        assert s.alive()
        assert hub.connected(cid)


def test_second_session_replaces_first_4409(pki, hub):
    """A second session of the same community closes the first with 4409;
    the second works."""
    cid = registered(hub, "twice")
    mark = hub.log_mark()
    with session(hub, pki, cid) as first:
        with RawSession(hub, pki.node(cid)) as second:
            code, reason = first.expect_close()
            assert code == 4409, (code, reason)
            second.handshake(cid)
            assert second.alive()
            assert hub.connected(cid)
    hub.wait_log(rf"session {cid}: closing 4409: replaced", since=mark)


def test_session_flood_refused_4429(pki, daemons):
    """Ten quick sessions from one certificate with sessions_per_minute = 5:
    the later ones get 4429, the last accepted one and other communities
    stay served."""
    hub = daemons.hub(pki, limits={"sessions_per_minute": 5})
    cid, other = unique_id("flood"), unique_id("calm")
    hub.register(cid)
    hub.register(other)
    with session(hub, pki, other) as so:
        opened = [RawSession(hub, pki.node(cid)) for _ in range(10)]
        try:
            # each accepted session replaces the one before it (4409)
            for s in opened[:4]:
                assert s.expect_close()[0] == 4409
            for s in opened[5:]:
                code, reason = s.expect_close()
                assert code == 4429, (code, reason)
            last = opened[4]
            last.handshake(cid)
            assert last.alive()
        finally:
            for s in opened:
                s.close()
        hub.wait_log(rf"session {cid}: closing 4429: more than 5 sessions")
        assert hub.refusals()["flood"] == 5
        assert so.alive()
        assert hub.connected(other)
        assert hub.healthz()["status"] == "ok"


def test_keepalive_pings_the_silent_and_drops_the_mute(pki, daemons):
    """With ping_s = 1 and drop_s = 4: a session that answers pings (the
    websocket client pongs each) is pinged again and again and stays; one
    that reads nothing, so never pongs, is dropped after about 4 s; a real
    node keeps its one session throughout."""
    hub = daemons.hub(pki, limits={"ping_s": 1, "drop_s": 4})
    mute, answering, real = (unique_id("mute"), unique_id("pong"),
                             unique_id("real"))
    for cid in (mute, answering, real):
        hub.register(cid)
    node = daemons.node(pki, hub, real)
    since = node.wait_connected()["hub"]["since"]
    with session(hub, pki, mute), session(hub, pki, answering) as a:
        t0, pings = time.monotonic(), 0
        a.ws.settimeout(0.5)
        while time.monotonic() - t0 < 7:
            try:
                opcode, _ = a.ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                continue
            if opcode == websocket.ABNF.OPCODE_PING:
                pings += 1
        assert pings >= 3, pings
        hub.wait_log(rf"session {mute}: silent for \d+ s, dropped",
                     timeout=5)
        assert not hub.connected(mute)
        assert hub.connected(answering)
        assert a.alive()
    assert node.healthz()["hub"]["since"] == since
    assert hub.connected(real)


def test_node_drops_a_mute_hub_and_comes_back(pki, daemons):
    """The node keeps its session alive by the hub's own policy (lib/link.c,
    not lws's): with ping_s = 1 and drop_s = 4 at the node, a hub that
    stops answering (SIGSTOP: no frames, no pongs) is dropped after about
    4 s; once the hub runs again the node holds a new session."""
    hub = daemons.hub(pki)
    cid = unique_id("mutehub")
    hub.register(cid)
    node = daemons.node(pki, hub, cid, limits={"ping_s": 1, "drop_s": 4})
    since = node.wait_connected()["hub"]["since"]
    mark = node.log_mark()
    hub.signal(signal.SIGSTOP)
    try:
        node.wait_log(r"hub \S+: silent for \d+ s, dropped", timeout=15,
                      since=mark)
    finally:
        hub.signal(signal.SIGCONT)
    assert node.wait_connected(timeout=30)["hub"]["since"] != since
    assert hub.connected(cid)


# ---- certificate roles --------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/communities", "/metrics"])
def test_node_certificate_on_operator_endpoint_403(pki, hub, bystander, path):
    """A node certificate on an operator endpoint gets 403 with a JSON
    error body."""
    mark = hub.log_mark()
    r = hub.api("GET", path, cert=pki.node(bystander.community))
    assert r.status == 403, r
    assert r.headers.get("content-type", "").startswith("application/json")
    err = r.json()["error"]
    assert err["code"] == "forbidden" and "operator" in err["message"]
    hub.wait_log(rf"api: refused node certificate "
                 rf"'{bystander.community}' on {re.escape(path)}", since=mark)


def test_operator_certificate_on_sync_refused_403(pki, hub):
    """An operator certificate may not open the sync websocket: the
    upgrade is refused with 403."""
    mark = hub.log_mark()
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        RawSession(hub, pki.operator)
    assert e.value.status_code == 403
    hub.wait_log(r"refused operator certificate 'Test Operator'.*only node "
                 r"certificates sync", since=mark)


def test_operator_change_without_a_body_is_answered(pki, hub):
    """A POST or PATCH on the operator API with no body is answered at
    once: with Content-Length 0, 415 without the JSON type and 400 with
    it; with no Content-Length at all, 411 (a length is required), and
    nothing is registered."""
    def ids():
        return {c["id"] for c in
                hub.api("GET", "/api/v1/communities").json()["items"]}

    before = ids()
    for ctype, status in ((None, 415), ("application/json", 400)):
        for length in ("0", None):
            c = http.client.HTTPSConnection(
                "localhost", hub.alliance_port, timeout=5,
                context=tls_context(pki, pki.operator))
            try:
                c.putrequest("POST", "/api/v1/communities")
                if ctype:
                    c.putheader("Content-Type", ctype)
                if length:
                    c.putheader("Content-Length", length)
                c.endheaders()
                assert c.getresponse().status == (status if length
                                                  else 411), (ctype, length)
            finally:
                c.close()
    assert ids() == before


# ---- metrics -------------------------------------------------------------

def test_metrics_count_refusals_by_reason(pki, hub):
    """Each kind of refusal moves its own alliance_refusals_total counter,
    by exactly one."""
    before = hub.refusals()
    m0 = hub.metrics()
    # not registered
    with RawSession(hub, pki.node(unique_id("nobody"))) as s:
        assert s.expect_close()[0] == 4403
    # text frame
    cid = registered(hub, "metrics")
    with session(hub, pki, cid) as s:
        s.send_text("hi")
        assert s.expect_close()[0] == 1003
    # wrong community
    with RawSession(hub, pki.node(cid)) as s:
        s.hello("someone-else")
        assert s.expect_close()[0] == 4404
    # TLS: no certificate
    mark = hub.log_mark()
    assert_tls_refused(hub, pki, None, r"no client certificate", mark)

    after = hub.refusals()
    moved = {k: after[k] - before.get(k, 0) for k in after
             if after[k] != before.get(k, 0)}
    assert moved == {"not_registered": 1, "text_frame": 1,
                     "wrong_community": 1, "tls": 1}, moved
    m1 = hub.metrics()
    assert m1["alliance_sessions_opened_total"] - \
        m0["alliance_sessions_opened_total"] == 3
    assert m1["alliance_frames_in_total"] > m0["alliance_frames_in_total"]
    assert m1["alliance_frames_out_total"] > m0["alliance_frames_out_total"]


# ---- the communities API -----------------------------------------------------

def test_post_community_then_duplicate_409(hub):
    """POST adds a community (201, listed); the same id again is 409."""
    cid = unique_id("new")
    r = hub.api("POST", "/api/v1/communities", {"id": cid, "name": "新社区"})
    assert r.status == 201, r
    assert r.json()["id"] == cid and r.json()["name"] == "新社区"
    c = hub.communities()[cid]
    assert c["connected"] is False and c["last_seen"] is None
    r = hub.api("POST", "/api/v1/communities", {"id": cid, "name": "again"})
    assert r.status == 409, r
    assert "error" in r.json()
    assert hub.communities()[cid]["name"] == "新社区"


@pytest.mark.parametrize("bad", ["Upper", "a", "-lead", "has space",
                                 "x" * 64, "", 42, None])
def test_invalid_community_id_422_names_id(hub, bad):
    """An invalid or missing id is 422 with a message naming "id"."""
    body = {"name": "whatever"}
    if bad is not None:
        body["id"] = bad
    r = hub.api("POST", "/api/v1/communities", body)
    assert r.status == 422, r
    assert re.match(r"id\b", r.json()["error"]["message"]), r


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2", b"\xff\xfe"])
def test_malformed_json_400(hub, raw):
    """A body that is not JSON is 400 and changes nothing."""
    n = len(hub.communities())
    r = hub.api("POST", "/api/v1/communities", raw=raw)
    assert r.status == 400, r
    assert "error" in r.json()
    assert len(hub.communities()) == n


def test_delete_community_closes_its_session_4411(pki, hub):
    """DELETE removes a community (204) and closes its live session with
    4411; its certificate is then refused (4403)."""
    cid = registered(hub, "leaving")
    mark = hub.log_mark()
    with session(hub, pki, cid) as s:
        r = hub.api("DELETE", f"/api/v1/communities/{cid}")
        assert r.status == 204, r
        code, reason = s.expect_close()
    assert code == 4411, (code, reason)
    assert "removed" in reason
    hub.wait_log(rf"session {cid}: closing 4411", since=mark)
    assert cid not in hub.communities()
    with RawSession(hub, pki.node(cid)) as s:
        assert s.expect_close()[0] == 4403


def test_delete_unknown_community_404(hub):
    """DELETE of a community that is not registered is 404."""
    r = hub.api("DELETE", f"/api/v1/communities/{unique_id('ghost')}")
    assert r.status == 404, r
    assert r.json()["error"]["code"] == "not_found"

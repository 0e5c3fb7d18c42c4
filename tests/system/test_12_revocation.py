"""Revocation and expiry on every request and upgrade of the hub's alliance
port, no TLS resumption there, and AEAD-only suites under TLS 1.2.

The rule (README, "Revocation and expiry"): the hub verifies a client's
certificate (chain, CRL, validity dates, now) at the handshake and again at
every HTTP request and every websocket upgrade; it resumes no TLS session;
SIGHUP closes the connections and sessions whose certificate is revoked or
expired; a sync session is closed when its certificate expires.

Connections here are made by hand (ssl + http.client, and the websocket
upgrade written out), so a test can offer an old TLS session, keep one
connection alive across a revocation, or offer chosen cipher suites. A
refusal is either at TLS (a handshake alert, possibly only at the first
read under TLS 1.3) or an HTTP 403; both count, and the tests assert what
a refusal must prevent: no 2xx, no 101, the registry unchanged.
"""

import http.client
import socket
import ssl
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from conftest import (Hub, Node, RawSession, free_port, stop_all, topology,
                      unique_id, wait_for)

VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2,
            "TLSv1.3": ssl.TLSVersion.TLSv1_3}

# Seconds a short-lived certificate lives: long enough for the "before"
# steps under ASan on a busy machine.
SHORT_LIFE_S = 20

# TLS 1.2 suites with CBC (LUCKY13-prone), ECDSA (the test CA's keys) and
# RSA alike; and the AEAD ones that must work.
CBC_SUITES = ("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"
              "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:"
              "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:"
              "AES128-SHA:AES256-SHA:AES128-SHA256:AES256-SHA256")
AEAD_SUITES = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
               "ECDHE-ECDSA-CHACHA20-POLY1305")

UPGRADE = ("GET /v1/sync HTTP/1.1\r\n"
           "Host: localhost\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: alliance.v1\r\n\r\n").encode()

# What a refusal at TLS looks like to the client.
TLS_REFUSED = (ssl.SSLError, ConnectionError, http.client.HTTPException,
               OSError)


# ---- fixtures and helpers ---------------------------------------------------

@pytest.fixture(scope="module")
def hub(pki, tmp_path_factory):
    """One hub for the module; tests revoke only certificates of their own."""
    with topology(pki, tmp_path_factory.mktemp("revocation"), []) as t:
        yield t.hub


def operator_cert(pki, *extra):
    """(crt, key) of a new operator certificate of its own."""
    name = unique_id("op")
    prefix = pki.dir / "operators" / name
    pki.run("operator", "--dir", pki.dir, "--name", name, "--out", prefix,
            *extra)
    return prefix.with_suffix(".crt"), prefix.with_suffix(".key")


def short_lived(pki, make):
    """make(*extra) with a certificate ending SHORT_LIFE_S from now (its
    notBefore is now); returns (cert, its notAfter in unix seconds)."""
    end = datetime.now(timezone.utc) + timedelta(seconds=SHORT_LIFE_S)
    cert = make("--end", end.strftime("%Y%m%d%H%M%SZ"))
    info = ssl._ssl._test_decode_cert(str(cert[0]))  # noqa: SLF001
    return cert, ssl.cert_time_to_seconds(info["notAfter"])


def client_ctx(pki, cert, version, ciphers=None):
    """A client context of one TLS version with cert, trusting the CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    ctx.minimum_version = ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class Conn:
    """One TLS connection to port, offering session; HTTP/1.1 keep-alive
    requests over it with http.client."""

    def __init__(self, port, ctx, session=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname="localhost",
                                        session=session)
        except BaseException:
            raw.close()
            raise
        self.http = http.client.HTTPConnection("localhost", port, timeout=10)
        self.http.sock = self.sock
        self.http.auto_open = 0  # never reconnect (in plain HTTP) behind us

    def request(self, method, path, body=None):
        """(status, body) of one request on this connection."""
        headers = {"Content-Type": "application/json"} if body else {}
        self.http.request(method, path, body=body, headers=headers)
        r = self.http.getresponse()
        return r.status, r.read()

    def upgrade(self):
        """The status of a sync websocket upgrade written by hand."""
        self.sock.sendall(UPGRADE)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            head += chunk
        return int(head.split(b" ", 2)[1])

    def close(self):
        self.sock.close()


def refused(attempt):
    """Run attempt() (a request or an upgrade returning a status, or
    (status, body)); return how it was refused ("tls: ..." or the 403
    status). Fails if it was answered with anything else."""
    try:
        got = attempt()
    except TLS_REFUSED as e:
        return f"tls: {e!r}"
    status = got[0] if isinstance(got, tuple) else got
    assert status == 403, f"not refused: {got!r}"
    return got


def session_after(conn, action):
    """Do action on conn (so a TLS 1.3 ticket, if any, has arrived), close
    it and return its TLS session."""
    action(conn)
    s = conn.sock.session
    conn.close()
    return s


def registered(hub):
    cid = unique_id("rev")
    hub.register(cid)
    return cid


# ---- no resumption ----------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_alliance_port_resumes_no_session(pki, hub, version):
    """The alliance port issues no ticket and keeps no session cache: a
    client offering its last session gets a full handshake (where the
    certificate is verified again)."""
    ctx = client_ctx(pki, pki.operator, VERSIONS[version])
    first = Conn(hub.alliance_port, ctx)
    s = session_after(first, lambda c: c.request("GET", "/api/v1/communities"))
    assert not s.has_ticket, "the hub issued a session ticket"
    again = Conn(hub.alliance_port, ctx, session=s)
    try:
        assert again.request("GET", "/api/v1/communities")[0] == 200
        assert not again.sock.session_reused, "the hub resumed a session"
    finally:
        again.close()


# ---- revocation -------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_session_held_before_revocation_refused_after_sighup(pki, hub,
                                                             version):
    """An operator and a node that held TLS sessions before their
    certificates were revoked offer them again after SIGHUP: the DELETE and
    the sync upgrade are refused, whether or not the hub resumes."""
    v = VERSIONS[version]
    cid = registered(hub)
    victim = registered(hub)
    op = operator_cert(pki)
    node = pki.node(cid)
    op_ctx, node_ctx = client_ctx(pki, op, v), client_ctx(pki, node, v)

    op_session = session_after(
        Conn(hub.alliance_port, op_ctx),
        lambda c: c.request("GET", "/api/v1/communities")[0] == 200 or
        pytest.fail("the operator was refused before revocation"))
    node_session = session_after(
        Conn(hub.alliance_port, node_ctx),
        lambda c: c.upgrade() == 101 or
        pytest.fail("the node's upgrade was refused before revocation"))

    pki.revoke(op[0])
    pki.revoke(node[0])
    hub.update_crl()

    def delete():
        c = Conn(hub.alliance_port, op_ctx, session=op_session)
        try:
            return c.request("DELETE", f"/api/v1/communities/{victim}")
        finally:
            c.close()

    def upgrade():
        c = Conn(hub.alliance_port, node_ctx, session=node_session)
        try:
            return c.upgrade()
        finally:
            c.close()

    refused(delete)
    refused(upgrade)
    assert victim in hub.communities(), "a revoked operator deleted it"


@pytest.mark.parametrize("version", VERSIONS)
def test_revoked_operator_keepalive_closed_by_sighup(pki, hub, version):
    """An operator's open keep-alive connection is closed when SIGHUP loads
    a CRL revoking its certificate; its DELETE never happens."""
    victim = registered(hub)
    op = operator_cert(pki)
    conn = Conn(hub.alliance_port, client_ctx(pki, op, VERSIONS[version]))
    try:
        assert conn.request("GET", "/api/v1/communities")[0] == 200
        pki.revoke(op[0])
        # still served until the hub loads the new CRL (and this request
        # keeps the connection from lws's 5 s idle timeout)
        assert conn.request("GET", "/api/v1/communities")[0] == 200
        mark = hub.log_mark()
        hub.update_crl()
        conn.sock.settimeout(10)
        try:
            eof = conn.sock.recv(1) == b""
        except TimeoutError:
            eof = False
        except TLS_REFUSED:
            eof = True
        assert eof, "the revoked operator's connection stayed open"
        # closed by the reload, not by an idle timeout
        hub.wait_log(r"closing the connection of '%s'.*revoked" %
                     op[0].stem, since=mark)
        refused(lambda: conn.request("DELETE",
                                     f"/api/v1/communities/{victim}"))
    finally:
        conn.close()
    assert victim in hub.communities(), "a revoked operator deleted it"


# ---- expiry -----------------------------------------------------------------

def test_expired_certificates_refused_on_every_path(pki, hub):
    """Certificates that expire seconds after issue work before; after,
    for TLS 1.2 and 1.3: an open keep-alive connection's next request, a
    resumed operator connection and a resumed node upgrade are refused,
    and the node's open sync session is closed (4410) without a reload."""
    cid = registered(hub)
    op, op_until = short_lived(pki, lambda *e: operator_cert(pki, *e))
    node, node_until = short_lived(pki, lambda *e: pki.node(cid, *e))
    until = max(op_until, node_until)

    before = {}
    for name, v in VERSIONS.items():
        op_ctx, node_ctx = client_ctx(pki, op, v), client_ctx(pki, node, v)
        keep = Conn(hub.alliance_port, op_ctx)
        assert keep.request("GET", "/api/v1/communities")[0] == 200
        op_session = session_after(
            Conn(hub.alliance_port, op_ctx),
            lambda c: c.request("GET", "/api/v1/communities")[0] == 200 or
            pytest.fail("operator refused before expiry"))
        node_session = session_after(
            Conn(hub.alliance_port, node_ctx),
            lambda c: c.upgrade() == 101 or
            pytest.fail("node refused before expiry"))
        before[name] = SimpleNamespace(op_ctx=op_ctx, node_ctx=node_ctx,
                                       keep=keep, op_session=op_session,
                                       node_session=node_session)
    sync = RawSession(hub, node)
    sync.handshake(cid)
    assert time.time() < min(op_until, node_until), \
        "the certificates expired before the 'before' steps ended: " \
        "raise SHORT_LIFE_S"

    # lws closes an HTTP connection idle for 5 s: keep the operator's
    # connections busy until the certificates have expired, each request
    # answered until then
    answered = 0
    while time.time() < until + 1:
        for name, b in before.items():
            sent = time.time()
            status, body = b.keep.request("GET", "/api/v1/communities")
            if sent < until - 1:
                assert status == 200, (name, status, body)
                answered += 1
        time.sleep(max(0.0, min(1.0, until + 1 - time.time())))
    assert answered >= 2

    for name, b in before.items():
        status, body = b.keep.request("GET", "/api/v1/communities")
        assert status == 403 and b"expired" in body, (name, status, body)
        b.keep.close()
    # the keepalive walk closes it within one tick (at most 5 s)
    code, reason = sync.expect_close(timeout=15)
    assert code == 4410 and "expired" in reason, (code, reason)
    for name, b in before.items():
        def op_again():
            c = Conn(hub.alliance_port, b.op_ctx, session=b.op_session)
            try:
                return c.request("GET", "/api/v1/communities")
            finally:
                c.close()

        def node_again():
            c = Conn(hub.alliance_port, b.node_ctx, session=b.node_session)
            try:
                return c.upgrade()
            finally:
                c.close()

        refused(op_again)
        refused(node_again)
    assert hub.refusals().get("expired", 0) >= 3


# ---- cipher suites ----------------------------------------------------------

def assert_aead_only(port, pki, cert=None):
    """On port, a TLS 1.2 client offering only CBC suites is refused; one
    offering an AEAD suite gets it."""
    cbc = client_ctx(pki, cert, ssl.TLSVersion.TLSv1_2, CBC_SUITES)
    offered = [c["name"] for c in cbc.get_ciphers()
               if c["protocol"] == "TLSv1.2"]
    assert offered and not any("GCM" in n or "CHACHA" in n for n in offered)
    with pytest.raises(ssl.SSLError):
        Conn(port, cbc).close()
    for suite in AEAD_SUITES:
        c = Conn(port, client_ctx(pki, cert, ssl.TLSVersion.TLSv1_2, suite))
        try:
            assert c.sock.cipher()[0] == suite
        finally:
            c.close()


def test_alliance_port_refuses_cbc_suites(pki, hub):
    assert_aead_only(hub.alliance_port, pki, pki.operator)


def test_public_ports_refuse_cbc_suites(pki, tmp_path):
    """The hub's and the node's public ports, given a certificate."""
    made = []
    try:
        h = Hub(tmp_path / "hub", pki, https=pki.hub_cert).start()
        made.append(h)
        cid = unique_id("pub")
        h.register(cid)
        n = Node(tmp_path / "node", pki, h, cid, https=pki.hub_cert).start()
        made.append(n)
        assert_aead_only(h.public_port, pki)
        assert_aead_only(n.public_port, pki)
    finally:
        stop_all(made)


def test_node_link_offers_only_aead_under_tls12(pki, tmp_path):
    """The node's link to the hub, against a TLS 1.2 server that takes
    only CBC suites, fails for want of a shared cipher; against one that
    takes only an AEAD suite, it completes the handshake."""
    listener = socket.create_server(("127.0.0.1", free_port()))
    port = listener.getsockname()[1]
    outcomes = []

    def server_ctx(ciphers):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*map(str, pki.hub_cert))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        return ctx

    def serve():
        listener.settimeout(30)
        for ctx in (server_ctx(CBC_SUITES), server_ctx(AEAD_SUITES[0])):
            try:
                conn, _ = listener.accept()
            except OSError as e:
                outcomes.append(f"accept: {e!r}")
                return
            conn.settimeout(10)
            try:
                with ctx.wrap_socket(conn, server_side=True) as s:
                    outcomes.append(s.cipher()[0])
            except (ssl.SSLError, OSError) as e:
                outcomes.append(f"refused: {e!r}")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cid = unique_id("link")
    node = Node(tmp_path / "node", pki, SimpleNamespace(alliance_port=port),
                cid)
    try:
        node.start()
        wait_for(lambda: len(outcomes) == 2, 30,
                 "the node to dial the fake hub twice")
    finally:
        stop_all([node])
        listener.close()
        t.join(5)
    assert "NO_SHARED_CIPHER" in outcomes[0].upper(), outcomes
    assert outcomes[1] == AEAD_SUITES[0], outcomes

"""Certificate lifecycle (issue 20, item 5): certificates renewed with
`alliance-pki renew` and picked up on SIGHUP, and a CA rollover.

Real hubs and nodes over real TLS, certificates made by alliance-pki in
each test. "No session dropped" is read from counters, never from timing:
each node's alliance_node_hub_sessions_total (its loopback /metrics) and
the hub's alliance_sessions_opened_total must not move for the sessions
that should stay, and move by exactly one for the one that should
reconnect.

Parts: helpers (nodes with /metrics and a trust file of their own, a hub
with a CA bundle and CRL list, the certificate a TLS client is shown);
the hub's certificate renewed; a node's certificate renewed; the public
HTTPS ports' certificates renewed; the CA rollover; trust files refused
at start and on SIGHUP.
"""

import base64
import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
from datetime import datetime, timezone

import pytest

from conftest import (BUILD, PASSWORD, PKI, Hub, Node, _env, exchange,
                      free_port, parse_prometheus, stop_all, unique_id,
                      wait_for)


# ---- helpers ------------------------------------------------------------------

class MNode(Node):
    """A node with [metrics] on a loopback port and, when ca is given, a
    trust file of its own ([hub] ca) in place of the PKI's ca.crt."""

    def __init__(self, *a, ca=None, **kw):
        super().__init__(*a, **kw)
        self.metrics_port = free_port()
        self.ca = ca

    def config_text(self):
        text = super().config_text()
        if self.ca:
            text = text.replace(f"ca = {self.pki.ca}\n", f"ca = {self.ca}\n")
        return text + ("[metrics]\naddress = 127.0.0.1\n"
                       f"port = {self.metrics_port}\n")

    def sessions(self):
        """alliance_node_hub_sessions_total: sessions it has opened."""
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port,
                                       timeout=10)
        r = exchange(c, "GET", "/metrics")
        assert r.status == 200, r
        return parse_prometheus(r.text)["alliance_node_hub_sessions_total"]


class BundleHub(Hub):
    """A hub whose [alliance] ca is its own ca.crt (write any bundle
    there) and whose [alliance] crl is the list self.crls (file names in
    its directory); https=(crt, key) serves its public port over HTTPS."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.crls = ["ca.crl"]

    def config_text(self):
        return super().config_text().replace(
            "crl = ca.crl\n", "crl = " + ", ".join(self.crls) + "\n")

    def reload_tls(self):
        """Rewrite the config, SIGHUP; the log after it (once the TLS
        reload is logged, done or refused)."""
        mark = self.log_mark()
        self.write_config(self.config_text())
        self.sighup()
        self.wait_log(r"tls: reload(ed|: )", since=mark)
        return self.log()[mark:]

    def opened(self):
        return self.metrics()["alliance_sessions_opened_total"]


def cert_info(path):
    """(serial hex, notAfter unix seconds) of a PEM certificate."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-enddate",
                          "-in", str(path)], capture_output=True, text=True,
                         check=True).stdout
    serial = re.search(r"serial=(\S+)", out).group(1)
    end = re.search(r"notAfter=(.+)", out).group(1).strip()
    return serial, int(datetime.strptime(end, "%b %d %H:%M:%S %Y %Z")
                       .replace(tzinfo=timezone.utc).timestamp())


def shown_cert(port, ca, cert=None):
    """(serial, notAfter) of the certificate a TLS client connecting to
    127.0.0.1:port now is shown, verified against ca."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-serial",
                          "-enddate"], input=pem, capture_output=True,
                         text=True, check=True).stdout
    serial = re.search(r"serial=(\S+)", out).group(1)
    end = re.search(r"notAfter=(.+)", out).group(1).strip()
    return serial, int(datetime.strptime(end, "%b %d %H:%M:%S %Y %Z")
                       .replace(tzinfo=timezone.utc).timestamp())


def ca_sha256(path):
    """The SHA-256 of a PEM certificate's DER, lower-case hex."""
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                          "-sha256", "-in", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return out.split("=", 1)[1].strip().replace(":", "").lower()


def renew(pki, *args):
    return pki.run("renew", "--dir", pki.dir, *args)


def node_expiry(hub, cid):
    return hub.metrics().get(
        f'alliance_node_cert_expiry_timestamp_seconds{{community="{cid}"}}')


def basic():
    return "Basic " + base64.b64encode(f"manager:{PASSWORD}".encode()).decode()


def create_service(node, title):
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=60)
    r = exchange(c, "POST", "/api/v1/services",
                 json.dumps({"title": title, "summary": "s",
                             "category": "other", "delivery": "walk-in",
                             "fee": "free"}).encode(),
                 {"Authorization": basic(),
                  "Content-Type": "application/json"})
    assert r.status == 201, r


def start_nodes(hub, pki, d, prefixes, made, **kw):
    nodes = []
    for p in prefixes:
        cid = unique_id(p)
        hub.register(cid)
        n = MNode(d / cid, pki, hub, cid, **kw).start()
        made.append(n)
        nodes.append(n)
    for n in nodes:
        n.wait_connected()
    return nodes


# ---- the hub's certificate renewed ------------------------------------------

@pytest.mark.parametrize("keep_key", [False, True], ids=["new-key", "keep-key"])
def test_renewed_hub_certificate_serves_new_sessions_drops_none(
        tmp_path, keep_key):
    pki = PKI.create(tmp_path / "ca")
    made = []
    try:
        hub = BundleHub(tmp_path / "hub", pki).start()
        made.append(hub)
        nodes = start_nodes(hub, pki, tmp_path, ["hr"] * 3, made)
        old = cert_info(pki.dir / "hub.crt")
        assert shown_cert(hub.alliance_port, pki.ca, pki.operator) == old
        before = {n.community: n.sessions() for n in nodes}
        opened = hub.opened()
        key_before = (pki.dir / "hub.key").read_bytes()

        renew(pki, pki.dir / "hub.crt", "--days", "100",
              *(["--keep-key"] if keep_key else []))
        new = cert_info(pki.dir / "hub.crt")
        assert new[0] != old[0] and new[1] < old[1]
        assert ((pki.dir / "hub.key").read_bytes() == key_before) == keep_key
        log = hub.reload_tls()
        assert "reloaded the certificate, CA and CRL" in log, log

        # a new TLS client is shown the new certificate ...
        assert shown_cert(hub.alliance_port, pki.ca, pki.operator) == new
        # ... and so is a new node, which syncs
        late = start_nodes(hub, pki, tmp_path, ["late"], made)[0]
        late.wait_log(rf"hub certificate: serial {new[0]}, not after "
                      rf"{new[1]}")
        # no session was dropped: each node opened none since, the hub
        # one (the new node's)
        assert {n.community: n.sessions() for n in nodes} == before
        assert hub.opened() == opened + 1
        for n in nodes:
            assert n.healthz()["hub"]["connected"], n.community
        m = hub.metrics()
        assert m['alliance_cert_expiry_timestamp_seconds{cert="alliance"}'] \
            == new[1]
    finally:
        stop_all(made)


# ---- a node's certificate renewed ----------------------------------------------

def test_renewed_node_certificate_reconnects_only_that_node(tmp_path):
    pki = PKI.create(tmp_path / "ca")
    made = []
    try:
        hub = BundleHub(tmp_path / "hub", pki).start()
        made.append(hub)
        a, b, c = start_nodes(hub, pki, tmp_path, ["nr"] * 3, made)
        old = cert_info(pki.node(a.community)[0])
        assert node_expiry(hub, a.community) == old[1]
        before = {n.community: n.sessions() for n in (a, b, c)}
        opened = hub.opened()

        out = renew(pki, pki.node(a.community)[0], "--days", "300").stdout
        new = cert_info(pki.node(a.community)[0])
        assert new[0] != old[0] and new[1] < old[1]
        assert f"revoke --dir {pki.dir} --serial {old[0]}" in out, out
        mark = a.log_mark()
        a.sighup()
        a.wait_log(r"certificates changed; reconnecting", since=mark)
        wait_for(lambda: a.sessions() == before[a.community] + 1 and
                 a.healthz()["hub"]["connected"], 20,
                 "node a back with its renewed certificate")
        # the hub holds a's new certificate
        wait_for(lambda: node_expiry(hub, a.community) == new[1], 10,
                 "the hub's gauge of a's certificate")
        assert hub.opened() == opened + 1
        assert b.sessions() == before[b.community]
        assert c.sessions() == before[c.community]
        for n in (b, c):
            assert n.healthz()["hub"]["connected"], n.community
    finally:
        stop_all(made)


# ---- the public HTTPS ports' certificates renewed -------------------------------

def test_public_https_certificates_renewed_on_sighup(tmp_path):
    pki = PKI.create(tmp_path / "ca")
    pki.run("hub", "--dir", pki.dir, "--name", "localhost", "--dns",
            "localhost", "--ip", "127.0.0.1", "--out", pki.dir / "public")
    public = (pki.dir / "public.crt", pki.dir / "public.key")
    made = []
    try:
        hub = BundleHub(tmp_path / "hub", pki, https=public).start()
        made.append(hub)
        cid = unique_id("pub")
        hub.register(cid)
        node = MNode(tmp_path / cid, pki, hub, cid, https=public).start()
        made.append(node)
        wait_for(lambda: hub.connected(cid), 15, "the node's session")
        old = cert_info(public[0])
        assert shown_cert(hub.public_port, pki.ca) == old
        assert shown_cert(node.public_port, pki.ca) == old
        sessions = node.sessions()

        renew(pki, public[0], "--days", "50")
        new = cert_info(public[0])
        assert new != old
        hub.reload_tls()
        assert shown_cert(hub.public_port, pki.ca) == new
        assert hub.metrics()[
            'alliance_cert_expiry_timestamp_seconds{cert="public"}'] == new[1]
        mark = node.log_mark()
        node.sighup()
        node.wait_log(r"public certificate read again", since=mark)
        assert shown_cert(node.public_port, pki.ca) == new
        # its hub session did not depend on it
        assert node.sessions() == sessions

        # a key that is not the certificate's: refused, the running one
        # stays
        shutil.copy(pki.dir / "hub.key", public[1])
        log = hub.reload_tls()
        assert re.search(r"\[public\] cert: .*not the key of .*keeping the "
                         r"running certificate", log), log
        assert shown_cert(hub.public_port, pki.ca) == new
        mark = node.log_mark()
        node.sighup()
        node.wait_log(r"\[public\] cert: .*keeping the running certificate",
                      since=mark)
        assert shown_cert(node.public_port, pki.ca) == new

        # an RSA certificate in place of the EC one: OpenSSL would serve
        # both, so it waits for a restart
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", str(public[1]), "-subj",
                        "/CN=localhost", "-days", "30", "-out",
                        str(public[0])], check=True, capture_output=True)
        log = hub.reload_tls()
        assert re.search(r"\[public\] cert: .*a rsaEncryption key in place "
                         r"of a id-ecPublicKey key needs a restart", log), log
        assert shown_cert(hub.public_port, pki.ca) == new
    finally:
        stop_all(made)


# ---- the CA rollover ------------------------------------------------------------

def test_ca_rollover_trusts_both_then_closes_only_old_ca_sessions(
        tmp_path, password_hash):
    old = PKI.create(tmp_path / "old")
    # the new CA under the same (default) name: told apart by key
    new = PKI.create(tmp_path / "new")
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(old.ca.read_text() + new.ca.read_text())
    made = []
    try:
        # the transition: the hub trusts both CAs, one CRL each; nodes
        # trust both for the hub's certificate
        hub = BundleHub(tmp_path / "hub", old)
        shutil.copy(bundle, hub.dir / "ca.crt")
        shutil.copy(new.crl, hub.dir / "new.crl")
        hub.crls = ["ca.crl", "new.crl"]
        hub.start()
        made.append(hub)
        ids = [unique_id(p) for p in ("ra", "rb", "rc")]
        nodes = []
        for cid, pki in zip(ids, (old, old, new)):
            hub.register(cid)
            n = MNode(tmp_path / cid, pki, hub, cid, ca=bundle,
                      cert=pki.node(cid), manager_hash=password_hash).start()
            made.append(n)
            nodes.append(n)
        a, b, c = nodes
        for n in nodes:
            n.wait_connected()
        # nodes of both CAs sync: c's service reaches a, a's reaches c
        create_service(c, "from the new CA")
        create_service(a, "from the old CA")
        wait_for(lambda: a.live_services(c.community) == 1, 20,
                 "c's service at a")
        wait_for(lambda: c.live_services(a.community) == 1, 20,
                 "a's service at c")

        # the hub shows which CA each session's certificate is from
        fp = {p: ca_sha256(p.ca) for p in (old, new)}
        comm = hub.communities()
        for n, p in ((a, old), (b, old), (c, new)):
            assert comm[n.community]["cert"] == {
                "serial": cert_info(p.node(n.community)[0])[0],
                "ca_sha256": fp[p]}, comm[n.community]

        # a moves to the new CA; the hub's certificate too
        new.node(a.community)
        mark = a.log_mark()
        a.cert = new.node(a.community)
        a.write_config(a.config_text())
        a.sighup()
        a.wait_log(r"reconnecting", since=mark)
        wait_for(lambda: a.healthz()["hub"]["connected"], 20, "a back")
        new.run("hub", "--dir", new.dir, "--name", "localhost", "--dns",
                "localhost", "--ip", "127.0.0.1", "--force")
        before = {n.community: n.sessions() for n in nodes}
        opened = hub.opened()
        hub.pki = new           # its config names new's hub.crt and key
        hub.reload_tls()
        assert shown_cert(hub.alliance_port, bundle, new.operator) == \
            cert_info(new.dir / "hub.crt")
        still_old = [cid for cid, item in hub.communities().items()
                     if item["cert"] and item["cert"]["ca_sha256"] == fp[old]]
        assert still_old == [b.community]
        assert {n.community: n.sessions() for n in nodes} == before

        # the end: the old CA removed. Only b (an old-CA certificate)
        # is closed, with 4412; a and c stay
        shutil.copy(new.ca, hub.dir / "ca.crt")
        hub.crls = ["new.crl"]
        refused = hub.refusals()
        mark = b.log_mark()
        log = hub.reload_tls()
        assert "(1 CA)" in log, log
        hub.wait_log(rf"certificate {cert_info(old.node(b.community)[0])[0]}"
                     rf" of {b.community}: its CA is no longer trusted")
        b.wait_log(r"closed by hub: 4412", since=mark)
        assert hub.refusals().get("untrusted", 0) == \
            refused.get("untrusted", 0) + 1
        assert not hub.connected(b.community)
        # b cannot come back: its handshakes are refused
        wait_for(lambda: hub.refusals().get("tls", 0) >
                 refused.get("tls", 0), 30, "b's next handshake refused")
        assert not hub.connected(b.community)
        assert a.sessions() == before[a.community]
        assert c.sessions() == before[c.community]
        assert hub.opened() == opened
        for n in (a, c):
            assert n.healthz()["hub"]["connected"], n.community
        # and they still sync
        create_service(c, "after the rollover")
        wait_for(lambda: a.live_services(c.community) == 2, 20,
                 "c's second service at a")
    finally:
        stop_all(made)


# ---- trust files refused -------------------------------------------------------

def start_refused(daemon):
    """Run daemon's binary on its config; (exit code, stderr)."""
    daemon.write_config(daemon.config_text())
    r = subprocess.run([str(BUILD / daemon.binary), "-c", str(daemon.conf)],
                       capture_output=True, text=True, timeout=60,
                       env=_env(), cwd=daemon.dir)
    return r.returncode, r.stderr


@pytest.fixture(scope="module")
def two_cas(tmp_path_factory):
    d = tmp_path_factory.mktemp("two-cas")
    return PKI.create(d / "a"), PKI.create(d / "b", name="Other CA")


def more_cas(a, n):
    """n self-signed CA certificates (PEM text), made once in a's
    directory."""
    out = []
    for i in range(n):
        crt = a.dir / f"extra-ca-{i}.crt"
        if not crt.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 str(a.dir / f"extra-ca-{i}.key"), "-subj",
                 f"/CN=Extra CA {i}", "-days", "30", "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign,cRLSign", "-out", str(crt)],
                check=True, capture_output=True)
        out.append(crt.read_text())
    return "".join(out)


BAD_START = {
    # name: (ca file content, crl files, reason)
    "node-cert-in-bundle": (
        lambda a, b: a.ca.read_text() + a.node("in-bundle")[0].read_text(),
        lambda a, b: [a.crl],
        r"\[alliance\] ca: .*certificate 2 \(/CN=in-bundle\) is not a CA"),
    "key-in-bundle": (
        lambda a, b: a.ca.read_text() + (a.dir / "hub.key").read_text(),
        lambda a, b: [a.crl],
        r"\[alliance\] ca: .*a 'PRIVATE KEY' block"),
    "ca-twice": (
        lambda a, b: a.ca.read_text() * 2,
        lambda a, b: [a.crl],
        r"\[alliance\] ca: .*CA /CN=Test Alliance CA is listed twice"),
    "nine-cas": (
        lambda a, b: a.ca.read_text() + more_cas(a, 8),
        lambda a, b: [a.crl],
        r"\[alliance\] ca: .*more than 8 CA certificates"),
    "empty-bundle": (
        lambda a, b: "",
        lambda a, b: [a.crl],
        r"\[alliance\] ca: .*no CA certificate"),
    "crl-of-another-ca": (
        lambda a, b: a.ca.read_text(),
        lambda a, b: [b.crl],
        r"\[alliance\] crl: .*a CRL of /CN=Other CA that no CA of the trust"),
    "ca-without-crl": (
        lambda a, b: a.ca.read_text() + b.ca.read_text(),
        lambda a, b: [a.crl],
        r"\[alliance\] crl: CA /CN=Other CA of the trust file has no CRL"),
    "two-crls-of-one-ca": (
        lambda a, b: a.ca.read_text(),
        lambda a, b: [a.crl, a.crl],
        r"\[alliance\] crl: .*a second CRL of CA /CN=Test Alliance CA"),
    "crl-not-a-crl": (
        lambda a, b: a.ca.read_text(),
        lambda a, b: [a.ca],
        r"\[alliance\] crl: .*not a PEM CRL"),
    "nine-crls": (
        lambda a, b: a.ca.read_text(),
        lambda a, b: [a.crl] * 9,
        r"\[alliance\] crl: 9 paths; from 1 to 8 are allowed"),
}


@pytest.mark.parametrize("case", sorted(BAD_START))
def test_hub_refuses_to_start_with_bad_trust_files(two_cas, tmp_path, case):
    a, b = two_cas
    content, crls, reason = BAD_START[case]
    hub = BundleHub(tmp_path / "hub", a)
    (hub.dir / "ca.crt").write_text(content(a, b))
    hub.crls = [str(p) for p in crls(a, b)]
    code, err = start_refused(hub)
    assert code == 2, err
    assert re.search(reason, err), err
    assert "hub.conf" in err, err


def test_node_refuses_to_start_with_a_non_ca_in_its_trust_file(two_cas,
                                                                 tmp_path):
    a, _ = two_cas
    bad = tmp_path / "bad.crt"
    bad.write_text(a.ca.read_text() + (a.dir / "hub.crt").read_text())
    hub = BundleHub(tmp_path / "hub", a)     # not started: only its port
    node = MNode(tmp_path / "n", a, hub, "refused-n", ca=bad)
    code, err = start_refused(node)
    assert code == 2, err
    assert re.search(r"\[hub\] ca: .*certificate 2 \(/CN=localhost\) is not "
                     r"a CA", err), err


def test_bad_files_on_sighup_are_refused_and_nothing_changes(tmp_path):
    pki = PKI.create(tmp_path / "ca")
    made = []
    try:
        hub = BundleHub(tmp_path / "hub", pki).start()
        made.append(hub)
        a, b = start_nodes(hub, pki, tmp_path, ["bad"] * 2, made)
        before = {n.community: n.sessions() for n in (a, b)}
        opened = hub.opened()
        shown = shown_cert(hub.alliance_port, pki.ca, pki.operator)
        good_ca = (hub.dir / "ca.crt").read_text()

        # a bundle with a node certificate in it
        (hub.dir / "ca.crt").write_text(
            good_ca + pki.node(a.community)[0].read_text())
        log = hub.reload_tls()
        assert re.search(r"tls: reload: \[alliance\] ca: .*is not a CA "
                         r"certificate.*; keeping the CAs and CRLs in force",
                         log), log
        # a CRL list naming a CRL of no trusted CA
        (hub.dir / "ca.crt").write_text(good_ca)
        other = PKI.create(tmp_path / "other", name="Other CA")
        shutil.copy(other.crl, hub.dir / "other.crl")
        hub.crls = ["other.crl"]
        log = hub.reload_tls()
        assert re.search(r"\[alliance\] crl: .*no CA of the trust file "
                         r"signed.*keeping the CAs and CRLs in force", log), log
        # the hub's certificate replaced by one whose key is elsewhere
        hub.crls = ["ca.crl"]
        crt = pki.hub_cert[0]
        saved = crt.read_bytes()
        pki.run("hub", "--dir", pki.dir, "--name", "localhost", "--dns",
                "localhost", "--out", tmp_path / "other-hub")
        shutil.copy(tmp_path / "other-hub.crt", crt)
        log = hub.reload_tls()
        assert re.search(r"\[alliance\] cert: .*not the key of .*keeping the "
                         r"running certificate", log), log
        assert shown_cert(hub.alliance_port, pki.ca, pki.operator) == shown
        crt.write_bytes(saved)

        # the trust in force still admits a new node, and nobody was
        # dropped
        start_nodes(hub, pki, tmp_path, ["after"], made)
        assert {n.community: n.sessions() for n in (a, b)} == before
        assert hub.opened() == opened + 1

        # a node given a bad trust file keeps its own, and its session
        bad = tmp_path / "node-bad.crt"
        bad.write_text(good_ca + crt.read_text())
        a.ca = bad
        mark = a.log_mark()
        a.write_config(a.config_text())
        a.sighup()
        a.wait_log(r"reload refused, keeping the running configuration: .*"
                   r"\[hub\] ca: .*is not a CA certificate", since=mark)
        assert a.sessions() == before[a.community]
        assert a.healthz()["hub"]["connected"]
    finally:
        stop_all(made)

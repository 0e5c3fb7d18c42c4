"""benchlib: what bench/fanout, bench/scale, bench/search and
bench/propagation share (not executable, so `make bench` skips it).

Built on the system tests' harness (tests/system/conftest.py): its PKI,
Hub and Node classes start real release-build daemons over real mutual
TLS on 127.0.0.1. Added here: many node certificates at once, signed in
Python by the test CA's key (alliance-pki takes ~0.1 s a certificate, so
10,000 would take a quarter of an hour); the fd limit; an operator API
connection that is kept alive; bulletins signed with the test key; /proc
figures of a daemon.
"""

import datetime
import http.client
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("ALLIANCE_BUILD", str(ROOT / "build"))
sys.path.insert(0, str(ROOT / "tests" / "system"))

import conftest as h  # noqa: E402  (the system tests' harness)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

GENERATOR = ROOT / "build" / "bench" / "fanout"
NODE_PREFIX = "bench"   # simulated communities are bench-00001...


def node_id(i):
    """The community id of simulated node i (0-based), as the generator
    names them."""
    return f"{NODE_PREFIX}-{i + 1:05d}"


def say(name, msg):
    print(f"{name}: {msg}", file=sys.stderr, flush=True)


def raise_fd_limit(need):
    """Raise this process's soft RLIMIT_NOFILE to at least need (daemons
    started afterwards inherit it); exits when the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and need > hard:
        sys.exit(f"need {need} file descriptors; the hard limit is {hard}")
    if need > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def node_certs(pki, ids):
    """Issue client certificates (CN=id, clientAuth, P-256) for ids into
    pki/nodes/ID.crt|key, signed by the test CA's key as alliance-pki's
    `node` would sign them (not entered in its index: these are never
    revoked)."""
    d = pki.dir
    ca = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key(
        (d / "private" / "ca.key").read_bytes(), None)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())
    now = datetime.datetime.now(datetime.timezone.utc)
    (d / "nodes").mkdir(exist_ok=True)
    nopw = serialization.NoEncryption()
    for cid in ids:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([
                    x509.NameAttribute(NameOID.COMMON_NAME, cid)]))
                .issuer_name(ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False,
                                                     path_length=None), True)
                .add_extension(x509.KeyUsage(True, False, False, False,
                                             False, False, False, False,
                                             False), True)
                .add_extension(x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH]), False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                    key.public_key()), False)
                .add_extension(aki, False)
                .sign(ca_key, hashes.SHA256()))
        (d / "nodes" / f"{cid}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            nopw))
        (d / "nodes" / f"{cid}.crt").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM))
        pki._nodes[cid] = (d / "nodes" / f"{cid}.crt",
                           d / "nodes" / f"{cid}.key")


class Operator:
    """The operator API of a hub over one kept-alive mutual-TLS
    connection (reconnecting when the hub closed it)."""

    def __init__(self, hub):
        self.hub = hub
        self.ctx = h.tls_context(hub.pki, hub.pki.operator)
        self.c = None

    def request(self, method, path, body=None, raw=None):
        """(status, parsed JSON or None)."""
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"} if data else {}
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPSConnection(
                    "localhost", self.hub.alliance_port, context=self.ctx,
                    timeout=60)
            try:
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse()
                out = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return r.status, (json.loads(out) if out else None)
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt:
                    raise
        return None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def register(self, ids):
        for cid in ids:
            st, body = self.request("POST", "/api/v1/communities",
                                    {"id": cid, "name": cid})
            if st != 201:
                sys.exit(f"registering {cid}: {st} {body}")


# [quota] of a benchmark's hub: one community imports far more than a
# real one publishes (the defaults would refuse it), so the quotas are the
# largest the hub takes.
BENCH_QUOTA = {"records": 1000000, "bytes": 1073741824,
               "changes_per_hour": 1000000}


def start_hub(d, pki, log_level="info", limits=None, postgresql=None):
    """A hub with BENCH_QUOTA; with postgresql (a conninfo) a replica
    keeping its state there ([store] postgresql)."""
    hub = h.Hub(d, pki, log_level=log_level, limits=limits,
                quota=BENCH_QUOTA)
    if postgresql:
        hub.postgresql = postgresql
    return hub.start()


def wait_registered(hub, ids, timeout=600):
    """Wait until hub's registry holds every id (registered at another
    replica: they come through the shared log)."""
    want = set(ids)
    h.wait_for(lambda: want <= set(hub.communities()), timeout,
               f"{len(want)} communities at {hub.dir.name}", interval=0.2)


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    """utime + stime of pid in seconds."""
    f = Path(f"/proc/{pid}/stat").read_text()
    rest = f[f.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def signed_bulletin(pki, bid, size=1024, area=(), severity="severe"):
    """(signed_content, signature) of a bulletin id signed with the test
    signing key, about size bytes of content."""
    import alliance_pb2 as pb
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = serialization.load_pem_private_key(pki.signing_key.read_bytes(),
                                             None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    import hashlib
    c = pb.BulletinContent()
    c.id = bid
    c.key_id = hashlib.sha256(raw).hexdigest()[:16]
    c.sender = "bench-operator"
    c.type = "alert"
    c.severity = severity
    c.urgency = "immediate"
    c.certainty = "observed"
    c.category = "public-safety"
    c.headline = "Benchmark bulletin: boil tap water"
    c.description = ("Water main burst; boil tap water. " * 300)[
        :max(16, min(8000, size - 300))]
    c.cause = "A water main burst on the east side."
    c.response = "Crews are repairing it."
    c.instructions = "Boil tap water before drinking."
    c.area.extend(area)
    c.sent = int(time.time())
    c.expires = c.sent + 3600
    content = c.SerializeToString()
    return content, key.sign(content)


def post_bulletin(op, content, sig):
    """POST it; returns (status, body)."""
    import base64
    return op.request("POST", "/api/v1/bulletins", {
        "signed_content": base64.b64encode(content).decode(),
        "signature": base64.b64encode(sig).decode()})


def percentile(values, p):
    """Nearest-rank percentile of values (any order)."""
    v = sorted(values)
    if not v:
        return 0.0
    k = max(1, min(len(v), int(p / 100.0 * len(v) + 0.999999)))
    return v[k - 1]

"""lastmilelib: what bench/outbox, bench/push, bench/lastmile and
bench/fanout --outbox-load share (not executable, so `make bench` skips
it): an SMS gateway and a Web Push service on loopback that keep what they
took, a node configured for them, and residents taking severe bulletins
by SMS or by Web Push, made through the node's public API.
"""

import base64
import http.client
import http.server
import json
import multiprocessing as mp
import os
import re
import ssl
import subprocess
import sys
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (Encoding,
                                                          PublicFormat)

import benchlib as b

h = b.h
PASSWORD = "last mile bench password"
SECRET = "the last mile bench gateway secret"
PER_RESIDENT = 5    # the most push subscriptions an account may have


class _Receiver:
    """A threading HTTP/1.1 server on 127.0.0.1 answering `status` to each
    POST, served by a child process of its own (so that neither the other
    receiver nor the benchmark's polling shares its interpreter lock);
    counts the distinct key(handler) it took, the posts, and the
    wall-clock time (time.time()) of the last one. nice: the child's
    niceness (a receiver stands for a remote server; at 19 its CPU on
    the shared cores takes the least from what is measured)."""

    def __init__(self, status, key, tls=None, nice=0):
        ctx = mp.get_context("fork")
        self._keys = ctx.Value("q", 0)
        self._posts = ctx.Value("q", 0, lock=False)
        self._last = ctx.Value("d", 0.0, lock=False)
        rx, seen = self, set()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with rx._keys.get_lock():
                    seen.add(key(self))
                    rx._keys.value = len(seen)
                    rx._posts.value += 1
                    rx._last.value = time.time()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket,
                                                 server_side=True)
        def serve():
            os.nice(nice)
            self.server.serve_forever()

        self.proc = ctx.Process(target=serve, daemon=True)
        self.proc.start()
        self.server.socket.close()      # the child's copy listens

    def count(self):
        return self._keys.value

    @property
    def posts(self):
        return self._posts.value

    @property
    def last(self):
        return self._last.value

    def stop(self):
        self.proc.terminate()
        self.proc.join()


class Gateway(_Receiver):
    """The SMS gateway: 200 to each signed post; keeps the idempotency
    keys."""

    def __init__(self, nice=0):
        super().__init__(200, lambda r: r.headers.get("Idempotency-Key"),
                         nice=nice)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"


class PushService(_Receiver):
    """The Web Push service over HTTPS (the hub's certificate, so the
    node's [outbox] ca is the test CA): 201 to each post; keeps the
    endpoint paths."""

    def __init__(self, pki, nice=0):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*pki.hub_cert)
        super().__init__(201, lambda r: r.path, tls=ctx, nice=nice)
        self.base = f"https://127.0.0.1:{self.server.server_port}"


def outbox_config(node, sms=None, push=False, in_flight=4):
    """The config sections of a node sending through gateway url sms
    and/or Web Push (a VAPID key made at its first start)."""
    return ((f"[sms]\nurl = {sms}\nsecret = {SECRET}\n" if sms else "") +
            (f"[push]\nkey = {node.dir / 'vapid.pem'}\n"
             "subject = mailto:bench@example.org\n" if push else "") +
            f"[outbox]\nca = {node.pki.ca}\nin_flight = {in_flight}\n")


class OutboxNode(h.Node):
    """A node with outbox_config(sms, push, in_flight), the manager
    password PASSWORD and a metrics listener."""

    def __init__(self, *a, sms=None, push=False, in_flight=4, **kw):
        r = subprocess.run([str(h.BUILD / "alliance-node"),
                            "--hash-password"], input=PASSWORD + "\n",
                           capture_output=True, text=True, check=True)
        super().__init__(*a, manager_hash=r.stdout.strip(), **kw)
        self.sms, self.push, self.in_flight = sms, push, in_flight
        self.metrics_port = h.free_port()

    def config_text(self):
        return super().config_text() + outbox_config(
            self, self.sms, self.push, self.in_flight) + \
            f"[metrics]\naddress = 127.0.0.1\nport = {self.metrics_port}\n"

    def ack_times(self):
        """(count, seconds, of them waiting for the store's lock, and the
        two histograms' cumulative buckets {le: count}) of the bulletins
        the node handled until their acks (its /metrics)."""
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port,
                                       timeout=30)
        try:
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        finally:
            c.close()
        v = dict(line.rsplit(" ", 1) for line in text.splitlines()
                 if line.startswith("alliance_node_bulletin_"))
        ack, wait = "alliance_node_bulletin_ack_seconds", \
            "alliance_node_bulletin_store_wait_seconds"
        def buckets(name):
            return {float(k[len(name) + 12:-2]): int(c) for k, c in v.items()
                    if k.startswith(name + "_bucket{le=\"")}
        return (int(v[ack + "_count"]), float(v[ack + "_sum"]),
                float(v[wait + "_sum"]), buckets(ack), buckets(wait))


class Session:
    """A kept-alive connection to the node's public port, as the console
    (cookie and CSRF token) or as a resident (bearer token)."""

    def __init__(self, node, name):
        self.c = http.client.HTTPConnection("127.0.0.1", node.public_port,
                                            timeout=60)
        self.name = name
        self.headers = {}

    def call(self, method, path, body=None, want=(200, 201)):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=headers)
        r = self.c.getresponse()
        out = r.read()
        if r.status not in want:
            sys.exit(f"{self.name}: {method} {path}: {r.status} "
                     f"{out[:300]!r}")
        return r, json.loads(out or b"null")

    def login(self):
        r, body = self.call("POST", "/api/v1/session",
                            {"password": PASSWORD})
        cookie = r.getheader("Set-Cookie").split(";")[0]
        self.headers = {"Cookie": cookie,
                        "X-CSRF-Token": body["csrf_token"]}


def b64u(x):
    return base64.urlsafe_b64encode(x).rstrip(b"=").decode()


def residents(node, name, sms=0, push=0, push_base=None):
    """Residents of node taking severe bulletins: sms of them by SMS (one
    number each), and push browser subscriptions (endpoints push_base/p/I),
    five a resident (one P-256 key for all: the node encrypts for each all
    the same). A resident may take both; max(sms, ceil(push / 5)) are
    made."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    mgr, res = Session(node, name), Session(node, name)
    mgr.login()
    people = max(sms, -(-push // PER_RESIDENT))
    for i in range(people):
        _, code = mgr.call("POST", "/api/v1/household-codes", {})
        res.headers = {}
        _, who = res.call("POST", "/api/v1/residents",
                          {"household_code": code["code"]})
        res.headers = {"Authorization": f"Bearer {who['token']}"}
        if i < sms:
            res.call("PUT", "/api/v1/residents/me/channels",
                     {"sms": {"enabled": True, "phone": f"139{i:08d}",
                              "bulletins": "severe"}})
        for j in range(i * PER_RESIDENT, min(push, (i + 1) * PER_RESIDENT)):
            res.call("POST", "/api/v1/residents/me/push",
                     {"endpoint": f"{push_base}/p/{j}",
                      "bulletins": "severe",
                      "keys": {"p256dh": b64u(point),
                               "auth": b64u(os.urandom(16))}})
        if (i + 1) % 2000 == 0:
            b.say(name, f"{i + 1} residents")


def wait_all(name, pairs, since, timeout=300, posts=False):
    """Wait until each (receiver, n) of pairs holds n distinct keys (or,
    with posts, took n posts); exits after timeout s from since
    (time.monotonic())."""
    def got(rx):
        return rx.posts if posts else rx.count()
    while any(got(rx) < n for rx, n in pairs):
        if time.monotonic() - since > timeout:
            sys.exit(f"{name}: " + ", ".join(
                f"{got(rx)} of {n}" for rx, n in pairs) +
                f" accepted after {timeout} s")
        time.sleep(0.01)


def issue_severe(hub, name):
    """Issue a severe bulletin with alliancectl --wait (which returns once
    every node acked it); returns (bulletin id, ack_ms: the time it
    prints)."""
    out = h.alliancectl(hub, "bulletin", "issue", "--headline",
                        "暴雨红色预警", "--description", "强降雨。",
                        "--cause", "台风。", "--response", "停课。",
                        "--instructions", "请留在室内。",
                        "--severity", "severe", "--wait", "--timeout", "30")
    if out.returncode != 0:
        sys.exit(f"{name}: alliancectl: {out.stderr}{out.stdout}")
    m = re.search(r"communities in ([\d.]+) s", out.stdout)
    bid = re.search(r"^(b-\S+)$", out.stdout, re.M)
    return (bid.group(1) if bid else None,
            float(m.group(1)) * 1000 if m else float("nan"))

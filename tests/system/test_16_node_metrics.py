"""The node's GET /metrics (issue 14): a listener of its own on a loopback
address ([metrics] address and port), plain HTTP, Prometheus text.

The text is parsed strictly (every family one HELP and one TYPE before its
samples, names alliance_node_*, counters and only counters ending in
_total, no sample twice), and its values are held against what the node
says elsewhere (/healthz, the console's sync state, statvfs of the store's
directory) and moved by real events: the hub refusing and then taking the
community, a manager's edit committed by the hub, a bulletin, the hub
stopped and started again, a store restored from a backup, a resident's
request waiting for the hub and then open in its owner's queue. A node 2
days ahead (the release build under libfaketime) shows its clock offset; a
store on a tmpfs filled to the brim shows the disk low. Only GET and HEAD
of /metrics are answered (405, 404 otherwise); the listener and the other
ports are bound to their configured address only; the public port does not
serve /metrics; a non-loopback address or a bad port is refused at start
(exit 2).

Real hub and node processes, real TLS and sqlite; nothing waits a fixed
time.

Parts: helpers (a node with [metrics], the strict parser, HTTP); the
metrics through a node's life, a restore and a request; the listener;
configuration; the clock under faketime; the full disk.
"""

import http.client
import os
import re
import socket
import subprocess
import time
from types import SimpleNamespace

import pytest

from conftest import (BUILD, Hub, Node, _env, alliancectl, free_port,
                      stop_all, unique_id, wait_for)
from test_15_clock import DAY_MS, SLACK_MS, SkewedNode, need_release_build
from test_20_sync import PASSWORD, create, hash_password, manager
from test_23_restore import backup, restore
from test_25_manager import get
from test_40_requests import full, post311
from test_24_store_faults import TmpfsNode, fill, unshare_works

# keep pyflakes quiet: a fixture used by name
assert need_release_build

CONTENT_TYPE = "text/plain; version=0.0.4"


# ---- helpers ----------------------------------------------------------------

class WithMetrics:
    """A node (of any Node class it is mixed into) with [metrics] address
    and a port of its own."""

    def __init__(self, *a, metrics_address="127.0.0.1", **kw):
        super().__init__(*a, **kw)
        self.metrics_address = metrics_address
        self.metrics_port = free_port()

    def config_text(self):
        return (super().config_text() + "[metrics]\n"
                f"address = {self.metrics_address}\n"
                f"port = {self.metrics_port}\n")

    def scrape(self, method="GET", path="/metrics", body=None, headers=None):
        return request(self.metrics_address, self.metrics_port, method,
                       path, body, headers)

    def metrics(self):
        """GET /metrics, checked strictly: {'name{labels}': value}."""
        r = self.scrape()
        assert r.status == 200, r
        assert r.headers["content-type"] == CONTENT_TYPE, r.headers
        return parse_strict(r.body.decode())


class MetricsNode(WithMetrics, Node):
    pass


@pytest.fixture(scope="module")
def password_hash():
    return hash_password(PASSWORD)


@pytest.fixture
def made():
    out = []
    yield out
    stop_all(out)


def request(host, port, method, path, body=None, headers=None):
    """One HTTP request; a SimpleNamespace of status, headers (lower-case
    names) and body."""
    c = http.client.HTTPConnection(host, port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return SimpleNamespace(
            status=r.status, body=r.read(),
            headers={k.lower(): v for k, v in r.getheaders()})
    finally:
        c.close()


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"({NAME})(\{{{LABEL}(?:,{LABEL})*\}})? (\S+)")


def parse_strict(text):
    """The exposition format 0.0.4 as the node must write it, checked line
    by line: {'name{labels}': float}. Fails on anything Prometheus would
    refuse or that breaks the node's own rules."""
    assert text.endswith("\n"), "the text must end with a newline"
    families, samples, current = {}, {}, None
    for no, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {no}: {line!r}"
        if line.startswith("# HELP "):
            name, _, help_ = line[len("# HELP "):].partition(" ")
            assert re.fullmatch(NAME, name) and help_.strip(), where
            assert name not in families, f"{where}: a second HELP"
            families[name] = None
            current = name
        elif line.startswith("# TYPE "):
            name, _, kind = line[len("# TYPE "):].partition(" ")
            assert name == current and families[name] is None, \
                f"{where}: TYPE not right after its HELP"
            assert kind in ("counter", "gauge", "histogram"), where
            families[name] = kind
        else:
            assert not line.startswith("#"), f"{where}: a stray comment"
            m = SAMPLE.fullmatch(line)
            assert m, f"{where}: not a sample"
            name = m.group(1)
            if families.get(current) == "histogram":
                assert name in (current + "_bucket", current + "_sum",
                                current + "_count"), \
                    f"{where}: not a sample of histogram {current}"
                assert (m.group(2) or "").startswith('{le="') == \
                    name.endswith("_bucket"), f"{where}: le only on buckets"
            else:
                assert name == current and families[name], \
                    f"{where}: a sample outside its family's block"
            key = name + (m.group(2) or "")
            assert key not in samples, f"{where}: a sample twice"
            value = float(m.group(3))
            assert value == value and abs(value) != float("inf"), where
            samples[key] = value
    for name, kind in families.items():
        assert name.startswith("alliance_node_"), name
        assert kind, f"{name}: no TYPE"
        assert name.endswith("_total") == (kind == "counter"), \
            f"{name}: only counters end in _total"
        if kind == "counter":
            assert all(v >= 0 for k, v in samples.items()
                       if k.split("{")[0] == name), name
        if kind == "histogram":
            # cumulative buckets, ascending bounds, +Inf last and = count
            les = [(k[len(name) + 12:-2], v) for k, v in samples.items()
                   if k.startswith(name + '_bucket{le="')]
            assert les and les[-1][0] == "+Inf", name
            assert [float(le) for le, _ in les] == \
                sorted(float(le) for le, _ in les), name
            assert [v for _, v in les] == sorted(v for _, v in les), name
            assert les[-1][1] == samples[name + "_count"], name
            assert samples[name + "_sum"] >= 0, name
    return samples


def statvfs_free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


# ---- the metrics through a node's life --------------------------------------

def test_metrics_follow_the_session_the_log_bulletins_and_disk(
        pki, tmp_path, password_hash, made):
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("met")
    node = MetricsNode(tmp_path / "node", pki, hub, cid,
                       manager_hash=password_hash).start()
    made.append(node)

    # not registered yet: the hub refuses it, it retries
    m = wait_for(lambda: (lambda m: m["alliance_node_hub_retries"] >= 1
                          and m)(node.metrics()), 30, "a refused attempt")
    assert m["alliance_node_hub_connected"] == 0
    assert m['alliance_node_hub_state{state="connected"}'] == 0
    assert sum(v for k, v in m.items()
               if k.startswith("alliance_node_hub_state{")) == 1
    assert m["alliance_node_hub_sessions_total"] == 0
    assert "alliance_node_clock_offset_seconds" not in m   # never told
    assert "alliance_node_up_lag" not in m                  # not connected
    assert "alliance_node_hub_connected_since_seconds" not in m
    assert m[f'alliance_node_info{{community="{cid}",version="'
             f'{node.healthz()["version"]}"}}'] == 1

    hub.register(cid)
    h = node.wait_connected(timeout=90)
    m = node.metrics()
    assert m["alliance_node_hub_connected"] == 1
    assert m['alliance_node_hub_state{state="connected"}'] == 1
    assert m['alliance_node_hub_state{state="idle"}'] == 0
    assert m["alliance_node_hub_sessions_total"] == 1
    assert m["alliance_node_hub_waiting_for_space"] == 0
    assert m["alliance_node_frames_unsent_total"] == h["hub"][
        "frames_unsent"] == 0
    # the clock offset is the one /healthz tells, to the millisecond
    assert round(m["alliance_node_clock_offset_seconds"] * 1000) == \
        h["hub"]["clock_offset_ms"]
    assert m["alliance_node_store_behind_total"] == 0
    assert m["alliance_node_renumbered_total"] == 0

    # the store's disk, as statvfs of its directory says (other writers
    # share the disk: the free bytes within 64 MiB)
    free, size = statvfs_free(node.dir)
    assert m["alliance_node_store_size_bytes"] == size
    assert abs(m["alliance_node_store_free_bytes"] - free) < 64 << 20
    assert m["alliance_node_store_free_ratio"] == pytest.approx(
        m["alliance_node_store_free_bytes"] /
        m["alliance_node_store_size_bytes"], rel=1e-6)
    assert 0 < m["alliance_node_store_free_ratio"] <= 1
    assert m["alliance_node_store_free_low"] == \
        (m["alliance_node_store_free_ratio"] < 0.1) == h["disk"]["low"]

    # a manager's edit: our log grows by one, and the hub commits it
    head = m["alliance_node_up_head"]
    create(node, "Counted in the metrics")
    m = wait_for(lambda: (lambda m: m["alliance_node_up_acked"] == head + 1
                          and m)(node.metrics()), 30, "the edit acked")
    assert m["alliance_node_up_head"] == head + 1
    assert m["alliance_node_up_lag"] == 0
    assert m['alliance_node_own_records{kind="service"}'] == 1

    # the console's sync view says the same (read between two scrapes
    # that agree: the hub's down stream may move the cursor meanwhile)
    def agreeing():
        m1 = node.metrics()
        view = manager(node, "GET", "/api/v1/manager/sync").json()
        m2 = node.metrics()
        return m1["alliance_node_down_cursor"] == \
            m2["alliance_node_down_cursor"] and (m2, view)
    m, sync = wait_for(agreeing, 30, "two scrapes with the sync view "
                       "between them, the down cursor unmoved")
    assert sync["up"]["head"] == m["alliance_node_up_head"]
    assert sync["up"]["lag"] == m["alliance_node_up_lag"]
    assert sync["down"]["cursor"] == m["alliance_node_down_cursor"] > 0

    # a bulletin for every community: received and stored once
    assert m["alliance_node_bulletins_stored_total"] == 0
    r = alliancectl(hub, "bulletin", "issue", "--headline", "Counted",
                    "--description", "A bulletin the metrics count.",
                    "--cause", "A test.", "--response", "None needed.",
                    "--instructions", "Nothing to do.")
    assert r.returncode == 0, r.stderr + r.stdout
    m = wait_for(lambda: (lambda m: m[
        "alliance_node_bulletins_stored_total"] == 1 and m)(node.metrics()),
        30, "the bulletin stored")
    assert m["alliance_node_bulletins_received_total"] == 1
    assert m["alliance_node_bulletins_refused_total"] == 0
    # its handling until the ack, and the store's lock within it, timed once
    ack = "alliance_node_bulletin_ack_seconds"
    wait = "alliance_node_bulletin_store_wait_seconds"
    assert m[ack + "_count"] == m[wait + "_count"] == 1
    assert m[ack + '_bucket{le="+Inf"}'] == 1
    assert 0 < m[ack + "_sum"] < 30
    assert 0 <= m[wait + "_sum"] <= m[ack + "_sum"]
    assert m["alliance_node_relay_outbox"] == 0
    assert m["alliance_node_requests_open"] == 0

    # the hub goes away: not connected, retrying; back: a second session
    hub.stop()
    m = wait_for(lambda: (lambda m: m["alliance_node_hub_retries"] >= 1
                          and m)(node.metrics()), 30, "the hub missed")
    assert m["alliance_node_hub_connected"] == 0
    assert "alliance_node_up_lag" not in m
    # the offset last told is kept
    assert "alliance_node_clock_offset_seconds" in m
    hub.start()
    wait_for(lambda: node.metrics()["alliance_node_hub_sessions_total"] == 2,
             90, "a second session")
    assert node.metrics()["alliance_node_hub_connected"] == 1


def wait_metrics(node, predicate, what, timeout=60):
    """Poll node's metrics until predicate(metrics) holds; the metrics."""
    return wait_for(lambda: (lambda m: predicate(m) and m)(node.metrics()),
                    timeout, what)


def test_restored_store_counted_with_its_renumbered_edits(
        pki, tmp_path, password_hash, made):
    """A store restored from a backup, edited while the hub is down:
    the Welcome that finds it behind and the edits renumbered show in
    /metrics as in the console's sync state."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("metrest")
    hub.register(cid)
    node = MetricsNode(tmp_path / "node", pki, hub, cid,
                       manager_hash=password_hash).start()
    made.append(node)
    node.wait_connected()
    create(node, "Before the backup")
    wait_metrics(node, lambda m: m["alliance_node_up_lag"] == 0 and
                 m["alliance_node_up_head"] == 1, "the first edit acked")
    saved = tmp_path / "backup.db"
    backup(node, saved)
    for i in range(2):
        create(node, f"After the backup {i}")
    wait_metrics(node, lambda m: m["alliance_node_up_lag"] == 0 and
                 m["alliance_node_up_head"] == 3, "the later edits acked")

    node.stop()
    restore(node, saved)
    hub.stop()
    node.start()                    # the restored store, no hub to ask
    m = node.metrics()
    assert m["alliance_node_up_head"] == 1 and \
        m["alliance_node_store_behind_total"] == 0
    for i in range(3):              # reusing the numbers the hub holds
        create(node, f"After the restore {i}")
    hub.start()
    m = wait_metrics(node, lambda m: m["alliance_node_hub_connected"] == 1
                     and m["alliance_node_up_lag"] == 0,
                     "the restored node reconnected and acked")
    assert m["alliance_node_store_behind_total"] == 1
    assert m["alliance_node_renumbered_total"] >= 3
    up = manager(node, "GET", "/api/v1/manager/sync").json()["up"]
    assert up["store_behind"] == m["alliance_node_store_behind_total"]
    assert up["renumbered"] == m["alliance_node_renumbered_total"]
    assert m['alliance_node_own_records{kind="service"}'] == 6


def test_requests_waiting_for_the_hub_and_open_in_the_queue(
        pki, tmp_path, password_hash, made):
    """A resident's request made while the hub is away waits in the
    outbox of her node (alliance_node_relay_outbox) until the hub takes
    it; the owner counts it open (alliance_node_requests_open) until its
    manager closes it."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    a_id, b_id = unique_id("metra"), unique_id("metrb")
    hub.register(a_id)
    hub.register(b_id)
    a = MetricsNode(tmp_path / "a", pki, hub, a_id).start()
    made.append(a)
    b = MetricsNode(tmp_path / "b", pki, hub, b_id,
                    manager_hash=password_hash).start()
    made.append(b)
    a.wait_connected()
    b.wait_connected()
    code = f"{b_id}.{create(b, 'Haircut at home')}"
    wait_for(lambda: any(s["service_code"] == code for s in get(
        a.public_port, "/open311/v2/services.json").json()), 30,
        "b's service at a")

    hub.stop()
    wait_metrics(a, lambda m: m["alliance_node_hub_connected"] == 0,
                 "a without the hub")
    r = post311(a, full(code))
    assert r.status == 201, r
    rid = r.json()[0]["service_request_id"]
    assert a.metrics()["alliance_node_relay_outbox"] == 1
    assert b.metrics()["alliance_node_requests_open"] == 0

    hub.start()
    wait_metrics(a, lambda m: m["alliance_node_relay_outbox"] == 0,
                 "the request taken by the hub")
    wait_metrics(b, lambda m: m["alliance_node_requests_open"] == 1,
                 "the request open in b's queue")
    r = manager(b, "PATCH", f"/api/v1/requests/{rid}", {"status": "done"})
    assert r.status == 200, r
    wait_metrics(b, lambda m: m["alliance_node_requests_open"] == 0 and
                 m["alliance_node_relay_outbox"] == 0,
                 "the request closed and its status sent")


# ---- the listener -----------------------------------------------------------

def listening_addresses(port):
    """The local addresses of sockets listening on TCP port (IPv4 and
    IPv6), as /proc/net/tcp* shows them (hex)."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                addr, _, hexport = local.partition(":")
                if state == "0A" and int(hexport, 16) == port:
                    out.append(addr)
    return out


def test_listener_is_loopback_only_and_answers_only_get_head_metrics(
        pki, tmp_path, made):
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("metl")
    hub.register(cid)
    node = MetricsNode(tmp_path / "node", pki, hub, cid).start()
    made.append(node)
    plain = Node(tmp_path / "plain", pki, hub, unique_id("metoff")).start()
    made.append(plain)

    # bound to 127.0.0.1 and nothing else; so are the other ports, as
    # configured (lws bound them to :: before)
    assert listening_addresses(node.metrics_port) == ["0100007F"]
    for port in (node.public_port, hub.alliance_port, hub.public_port):
        assert listening_addresses(port) == ["0100007F"], port
    node.wait_log(rf"metrics: http://127\.0\.0\.1:{node.metrics_port}"
                  r"/metrics \(loopback only\)")
    # off by default
    plain.wait_log(r"metrics: off")

    get = node.scrape()
    assert get.status == 200 and get.headers["content-type"] == CONTENT_TYPE
    assert get.headers["x-content-type-options"] == "nosniff"
    parse_strict(get.body.decode())
    head = node.scrape("HEAD")
    assert head.status == 200, head
    assert head.headers["content-type"] == CONTENT_TYPE
    assert head.body == b""
    assert int(head.headers["content-length"]) > 0
    # HEAD then GET on one kept-alive connection: no body left behind
    c = http.client.HTTPConnection("127.0.0.1", node.metrics_port,
                                   timeout=10)
    try:
        for method in ("HEAD", "GET", "HEAD", "GET"):
            c.request(method, "/metrics")
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, (method, r.status)
            assert (body == b"") == (method == "HEAD"), method
    finally:
        c.close()

    for method, body in (("POST", b"x=1"), ("PUT", b"{}"), ("DELETE", None),
                         ("PATCH", b"{}"), ("OPTIONS", None)):
        r = node.scrape(method, body=body)
        assert r.status == 405, (method, r)
        assert b'"method_not_allowed"' in r.body, (method, r)
    for path in ("/", "/healthz", "/metrics/", "/metrics/x", "/metricsx",
                 "/api/v1/catalog", "/api/v1/manager/sync"):
        r = node.scrape(path=path)
        assert r.status == 404, (path, r)
        assert b'"not_found"' in r.body and b"alliance_node" not in r.body
    assert node.scrape(path="/metrics?format=json").status == 200
    # a path over the limit (2048 bytes)
    assert node.scrape(path="/metrics" + "/a" * 1500).status == 414

    # the public port does not serve it
    pub = request("127.0.0.1", node.public_port, "GET", "/metrics")
    assert pub.status == 404, pub
    assert b"alliance_node" not in pub.body
    # and the listener keeps working after all of that
    assert node.metrics()["alliance_node_hub_connected"] in (0, 1)


def test_listener_on_ipv6_loopback(pki, tmp_path, made):
    if not socket.has_ipv6 or not os.path.exists("/proc/net/tcp6"):
        pytest.skip("no IPv6 on this machine")
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("met6")
    hub.register(cid)
    node = MetricsNode(tmp_path / "node", pki, hub, cid,
                       metrics_address="::1").start()
    made.append(node)
    node.wait_connected()
    # ::1 as /proc/net/tcp6 writes it (four words in host order)
    assert listening_addresses(node.metrics_port) == [
        "00000000000000000000000001000000"]
    node.wait_log(rf"metrics: http://\[::1\]:{node.metrics_port}/metrics")
    assert node.metrics()["alliance_node_hub_connected"] == 1


# ---- configuration ----------------------------------------------------------

@pytest.mark.parametrize("metrics, says", [
    ({"address": "0.0.0.0", "port": 9464},
     r"\[metrics\] address: must be a loopback address"),
    ({"address": "192.0.2.7", "port": 9464},
     r"\[metrics\] address: must be a loopback address"),
    ({"address": "::", "port": 9464},
     r"\[metrics\] address: must be a loopback address"),
    ({"address": "localhost", "port": 9464},
     r"\[metrics\] address: must be a loopback address"),
    ({"address": "", "port": 9464},
     r"\[metrics\] address: must be a loopback address when port is set"),
    ({"port": 70000}, r"\[metrics\] port: must be between 0 and 65535"),
    ({"port": -1}, r"\[metrics\] port: '-1' is not a whole number"),
    ({"port": "http"}, r"\[metrics\] port: 'http' is not a whole number"),
    ({"port": "{public}"}, r"\[metrics\] port: \d+ is the public port"),
])
def test_bad_metrics_config_exits_2(pki, tmp_path, metrics, says):
    """Refused before anything starts, naming the file and the key (no
    hub is needed: the node must not get that far)."""
    cid = unique_id("metc")
    node = Node(tmp_path / cid, pki, SimpleNamespace(alliance_port=1), cid)
    keys = {k: str(v).format(public=node.public_port)
            for k, v in metrics.items()}
    node.write_config(node.config_text() + "[metrics]\n" + "".join(
        f"{k} = {v}\n" for k, v in keys.items()))
    r = subprocess.run([str(BUILD / "alliance-node"), "-c", str(node.conf)],
                       capture_output=True, text=True, env=_env(),
                       cwd=node.dir, timeout=60)
    assert r.returncode == 2, r
    assert re.search(re.escape(str(node.conf)) + r"(:\d+)?: " + says,
                     r.stderr), r.stderr
    assert not (node.dir / "node.db").exists(), "it went on to the store"


def test_metrics_port_taken_exits_1(pki, tmp_path):
    cid = unique_id("metc")
    node = MetricsNode(tmp_path / cid, pki,
                       SimpleNamespace(alliance_port=free_port()), cid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", node.metrics_port))
        s.listen()
        node.write_config(node.config_text())
        r = subprocess.run([str(BUILD / "alliance-node"), "-c",
                            str(node.conf)], capture_output=True, text=True,
                           env=_env(), cwd=node.dir, timeout=60)
    assert r.returncode == 1, r
    assert re.search(rf"cannot listen on 127\.0\.0\.1 port "
                     rf"{node.metrics_port} for /metrics",
                     r.stdout + r.stderr), r


# ---- the clock under faketime -----------------------------------------------

class SkewedMetricsNode(WithMetrics, SkewedNode):
    pass


def test_offset_of_a_node_two_days_ahead(need_release_build, pki, tmp_path,
                                         made):
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("metskew")
    hub.register(cid)
    node = SkewedMetricsNode(tmp_path / "node", pki, hub, cid,
                             skew="+2d").start()
    made.append(node)
    h = node.wait_connected()
    m = node.metrics()
    assert abs(m["alliance_node_clock_offset_seconds"] * 1000 + 2 * DAY_MS) \
        < SLACK_MS, m
    assert round(m["alliance_node_clock_offset_seconds"] * 1000) == \
        h["hub"]["clock_offset_ms"]
    # the session's start is told by the hub's clock (this process has
    # the true time), not the node's own 2 days ahead
    assert abs(m["alliance_node_hub_connected_since_seconds"] -
               time.time()) < 600, m


# ---- the full disk ----------------------------------------------------------

class TmpfsMetricsNode(WithMetrics, TmpfsNode):
    pass


@pytest.mark.skipif(not unshare_works(),
                    reason="no unprivileged mount namespace (unshare -rm) "
                    "for a small tmpfs on this machine")
def test_disk_low_on_a_full_tmpfs(pki, tmp_path, made):
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("metfull")
    hub.register(cid)
    node = TmpfsMetricsNode(tmp_path / "node", pki, hub, cid).start()
    made.append(node)
    node.wait_connected()
    m = node.metrics()
    assert m["alliance_node_store_size_bytes"] <= 2 << 20   # the tmpfs
    assert m["alliance_node_store_free_low"] == 0, m
    fill(node.inside("filler"))
    m = node.metrics()
    disk = node.healthz()["disk"]
    assert m["alliance_node_store_free_low"] == 1 and disk["low"] is True
    assert m["alliance_node_store_free_ratio"] < 0.1
    assert m["alliance_node_store_free_bytes"] == disk["free_bytes"]
    node.inside("filler").unlink()
    wait_for(lambda: node.metrics()["alliance_node_store_free_low"] == 0,
             10, "the disk no longer low")

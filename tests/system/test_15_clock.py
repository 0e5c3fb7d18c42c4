"""Skewed clocks: a node 2 days ahead and one 1 day behind (the release
build under libfaketime, which does not mix with ASan; the hub keeps the
true time) both sync, their skew is reported everywhere (the node's log
and /healthz, the hub's log, /api/v1/communities and /metrics), and they
judge time by the hub's: a bulletin the hub holds in force shows in force
at both, and the times they stamp on edits are the hub's.

Parts: skewed nodes; the hub's side with raw sessions (ASan, no
faketime); the skewed nodes' test.
"""

import http.client
import os
import re
import sqlite3
import time

import pytest

from conftest import (RELEASE_BUILD, ROOT, Node, RawSession, alliancectl,
                      http_get_json, unique_id, wait_for)
from test_25_manager import PASSWORD, api, hash_password, service

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
DAY_MS = 86400 * 1000
# How far a measured offset may be from the fake one: a round trip,
# scheduling, and the seconds between faketime's start and the Hello.
SLACK_MS = 5000


# ---- skewed nodes -----------------------------------------------------------

class SkewedNode(Node):
    """A release-build node whose clock is off by `skew` (faketime syntax,
    e.g. "+2d"), serving web/ for the pages."""

    build = RELEASE_BUILD

    def __init__(self, *a, skew, **kw):
        super().__init__(*a, **kw)
        self.extra_env = {"LD_PRELOAD": FAKETIME, "FAKETIME": skew,
                          "FAKETIME_DONT_FAKE_MONOTONIC": "1"}

    def config_text(self):
        return super().config_text() + f"[web]\nroot = {ROOT / 'web'}\n"


@pytest.fixture
def need_release_build():
    if not os.path.exists(FAKETIME):
        pytest.skip("libfaketime is missing: make deps installs it")
    if not (RELEASE_BUILD / "alliance-node").exists():
        pytest.skip(f"no release build in {RELEASE_BUILD}: make BUILD=build "
                    "SAN=0 all (make check builds it)")


def store_updated(daemon, sid):
    """The `updated` of service sid in daemon's store (read-only)."""
    db = sqlite3.connect(f"file:{daemon.dir / daemon.store_file}?mode=ro",
                         uri=True)
    try:
        row = db.execute("SELECT updated FROM service WHERE id = ?",
                         (sid,)).fetchone()
        return row and row[0]
    finally:
        db.close()


# ---- the hub's side ------------------------------------------------------------

def test_hub_tells_its_time_and_records_each_nodes_skew(pki, daemons):
    """Welcome carries the hub's time; the node's time in Hello makes its
    community's clock skew (flagged over 60 s, logged); a Hello without
    one (an older node) leaves it unknown (null, no metric)."""
    hub = daemons.hub(pki)
    late, fine, old = (unique_id("clk") for _ in range(3))
    for cid in (late, fine, old):
        hub.register(cid)
    sessions = []
    try:
        for cid, off_ms in ((late, -90000), (fine, 20000)):
            s = RawSession(hub, cert=pki.node(cid))
            sessions.append(s)
            before = int(time.time() * 1000)
            w = s.handshake(cid, node_time_ms=before + off_ms)
            assert before - 1000 <= w.hub_time_ms <= time.time() * 1000 + 1000
        s = RawSession(hub, cert=pki.node(old))
        sessions.append(s)
        s.handshake(old)
        items = hub.communities()
        assert abs(items[late]["clock"]["skew_ms"] + 90000) < SLACK_MS
        assert items[late]["clock"]["skewed"] is True
        assert abs(items[fine]["clock"]["skew_ms"] - 20000) < SLACK_MS
        assert items[fine]["clock"]["skewed"] is False
        assert items[old]["clock"] is None
        hub.wait_log(rf"session {late}: the node's clock is 9\d\.\d s "
                     r"behind the hub's")
        assert f"session {fine}: the node's clock" not in hub.log()
        m = hub.metrics()
        assert m[f'alliance_community_clock_skew_seconds{{community="{late}"}}'] \
            == pytest.approx(-90, abs=SLACK_MS / 1000)
        assert not any(old in k for k in m if "clock_skew" in k)
    finally:
        for s in sessions:
            s.close()


def test_hello_with_an_impossible_time_closed_4400(pki, daemons):
    """A Hello whose node_time_ms is before 1970 or past year 9999 is a
    bad frame (4400): no session, the community's clock unchanged."""
    hub = daemons.hub(pki)
    cid = unique_id("clkbad")
    hub.register(cid)
    for bad in (-1, -(2 ** 63), 253402300800 * 1000, 2 ** 63 - 1):
        mark = hub.log_mark()
        with RawSession(hub, cert=pki.node(cid)) as s:
            s.hello(cid, node_time_ms=bad)
            code, reason = s.expect_close()
        assert code == 4400 and "node_time_ms" in reason, (bad, code, reason)
        hub.wait_log(rf"session {cid}: closing 4400", since=mark)
        item = hub.communities()[cid]
        assert item["clock"] is None and not item["connected"], item
    hub.assert_alive()


# ---- the skewed nodes' test ------------------------------------------------------

def test_skewed_nodes_sync_and_judge_time_by_the_hub(need_release_build, pki,
                                                     daemons, tmp_path):
    hub = daemons.hub(pki)
    pw = hash_password(PASSWORD)
    nodes = {}
    for skew, days in (("+2d", 2), ("-1d", -1)):
        cid = unique_id("skew")
        hub.register(cid)
        nodes[days] = SkewedNode(tmp_path / cid, pki, hub, cid, skew=skew,
                                 manager_hash=pw).start()
    try:
        for days, n in nodes.items():
            h = n.wait_connected()
            # the node took the hub's time: hub minus local
            off = h["hub"]["clock_offset_ms"]
            assert abs(off + days * DAY_MS) < SLACK_MS, (days, h)
            n.wait_log(r"warn.*clock: this node's clock is \d+\.\d s "
                       + ("ahead of" if days > 0 else "behind")
                       + " the hub's")
            sync = api(n, "GET", "/api/v1/manager/sync").json()
            assert sync["hub"]["clock_offset_ms"] == pytest.approx(
                off, abs=SLACK_MS)

        # the hub records each node's skew: API, metrics, log
        items = hub.communities()
        metrics = hub.metrics()
        for days, n in nodes.items():
            clock = items[n.community]["clock"]
            assert abs(clock["skew_ms"] - days * DAY_MS) < SLACK_MS, clock
            assert clock["skewed"] is True
            m = metrics['alliance_community_clock_skew_seconds'
                        f'{{community="{n.community}"}}']
            assert abs(m - days * 86400) < SLACK_MS / 1000
            hub.wait_log(rf"session {n.community}: the node's clock is "
                         r"\d+\.\d s " + ("ahead of" if days > 0
                                          else "behind"))

        # a bulletin in force for an hour (by the hub's clock) is in
        # force at both: the API's status and the static pages
        r = alliancectl(hub, "bulletin", "issue", "--headline",
                        "Skew test water cut", "--description", "d",
                        "--cause", "c", "--response", "r",
                        "--instructions", "i", "--expires", "1h",
                        "--wait", "--timeout", "20")
        assert r.returncode == 0, r.stderr + r.stdout
        bid = r.stdout.splitlines()[0]
        for n in nodes.values():
            got = {b["id"]: b for b in http_get_json(
                "127.0.0.1", n.public_port, "/api/v1/bulletins")["items"]}
            assert got[bid]["status"] == "current", got[bid]
            page = wait_for(lambda: _page(n), 10, "the bulletins page")
            assert "Skew test water cut" in _banner(page), page[:800]

        # edits are stamped with the hub's time, and a time a day ahead
        # of the hub is refused even by the node whose clock is ahead
        now = time.time()
        for days, n in nodes.items():
            r = api(n, "POST", "/api/v1/services",
                    service(f"Skewed {days}"))
            assert r.status == 201, r
            sid = r.json()["id"]
            wait_for(lambda: store_updated(hub, sid), 15,
                     "the service to reach the hub")
            assert abs(store_updated(n, sid) - now) < 60
            assert abs(store_updated(hub, sid) - now) < 60
            r = api(n, "PUT", f"/api/v1/services/{sid}",
                    service("later", updated=int(now) + 86400))
            assert r.status == 422 and "ahead" in r.text, r
        # and the two sync with each other through the hub
        for days, n in nodes.items():
            other = nodes[-1 if days == 2 else 2]
            wait_for(lambda: other.live_services(n.community) == 1, 15,
                     f"{n.community}'s service at {other.community}")
    finally:
        for n in nodes.values():
            n.stop()


def test_node_behind_its_certificates_says_why(need_release_build, pki,
                                              daemons, tmp_path):
    """A node 3 days behind, before the 2 days certificates are backdated,
    cannot connect, and says why: the hub's certificate is not yet valid
    by its clock, which it names."""
    hub = daemons.hub(pki)
    cid = unique_id("skew")
    hub.register(cid)
    n = SkewedNode(tmp_path / cid, pki, hub, cid, skew="-3d").start()
    try:
        def refused():
            err = n.healthz()["hub"]["last_error"] or ""
            return "not yet valid" in err and err
        err = wait_for(refused, 15, "the node to say why it cannot connect")
        assert "check this machine's clock, which says " in err, err
        assert not hub.connected(cid)
    finally:
        n.stop()


def _page(n):
    """The bulletins page of n once it names the test's bulletin."""
    c = http.client.HTTPConnection(
        "127.0.0.1", n.public_port, timeout=10)
    try:
        c.request("GET", "/bulletins.html")
        body = c.getresponse().read().decode()
        return "Skew test water cut" in body and body
    finally:
        c.close()


def _banner(body):
    """The <section id="alerts"> of a page."""
    m = re.search(r'<section id="alerts".*?</section>', body, re.S)
    assert m, body[:500]
    return m.group(0)

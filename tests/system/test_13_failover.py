"""A node with several hub URLs ([hub] urls) and alliancectl with several
--hub (issue 18, item 3): the next URL at once when the hub in use is gone,
the backoff only once every URL failed in a round, cursors kept across the
move (nothing lost, nothing twice), and bad lists refused at start.

Hub replicas do not exist yet, so the "hubs" are TCP forwarders written
here (python asyncio, in a thread of the test) in front of the one real
hub, each on a port of its own and reached under a name the hub's
certificate covers (its SANs: DNS localhost, IP 127.0.0.1), so every URL's
host is checked against the certificate as a replica's would be. Killing a
forwarder closes its listener and resets every connection through it,
both ways, as a dead machine would.

That no backoff wait was taken is shown by the node's own counters
(alliance_node_hub_backoff_waits_total, _failovers_total) and its log,
never by timing.

Parts: the forwarders; a node with urls; the first URL dead; a TLS failure
or a name the certificate lacks; a forwarder killed mid-sync; every URL
down; a reload; alliancectl; bad values.
"""

import asyncio
import concurrent.futures
import re
import ssl
import subprocess
import threading

import pytest

from conftest import (BUILD, PKI, Hub, Node, _env, free_port, stop_all,
                      unique_id, wait_for)
from test_05_config import bad_config, valid_config, with_line, without_line
from test_16_node_metrics import WithMetrics
from test_20_sync import (PASSWORD, bulk, bulk_items, hash_password, manager,
                          store_rows)

# Seconds a whole bulk may take to sync (a bound for broken systems only).
BULK_ARRIVE = 300
# The node's backoff cap in these tests ([hub] backoff_max_s).
CAP_S = 2


# ---- the forwarders -------------------------------------------------------------

class Loop:
    """An asyncio loop in a thread of its own, for the forwarders."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever,
                                       daemon=True)
        self.thread.start()

    def run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop) \
            .result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Forwarder:
    """127.0.0.1:port forwarded to the hub's alliance port: one address
    of "a hub". hold() stops what the hub sends from reaching the node
    (its acks: the node stops once its window is full); kill() resets
    every connection through it and stops listening; start() listens
    again on the same port."""

    def __init__(self, loop, target_port, host="127.0.0.1",
                 bind="127.0.0.1"):
        self.loop = loop
        self.target_port = target_port
        self.host = host            # the URL's host, a name in the SAN
        self.bind = bind            # the address it listens on
        self.port = free_port()
        self.server = None
        self.pipes = set()          # (client writer, hub writer)
        self.accepted = 0
        self.flowing = None         # asyncio.Event: the hub's bytes pass

    @property
    def url(self):
        return f"wss://{self.host}:{self.port}/v1/sync"

    async def _pipe(self, reader, writer, gate=None):
        try:
            while data := await reader.read(65536):
                if gate:
                    await gate.wait()
                if writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, creader, cwriter):
        try:
            hreader, hwriter = await asyncio.open_connection(
                "127.0.0.1", self.target_port)
        except OSError:
            cwriter.transport.abort()
            return
        self.accepted += 1
        pair = (cwriter, hwriter)
        self.pipes.add(pair)
        try:
            await asyncio.gather(self._pipe(creader, hwriter),
                                 self._pipe(hreader, cwriter, self.flowing))
        finally:
            self.pipes.discard(pair)

    async def _start(self):
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server = await asyncio.start_server(
            self._handle, self.bind, self.port, reuse_address=True)

    async def _kill(self):
        self.server.close()
        for cw, hw in list(self.pipes):
            cw.transport.abort()    # a reset, both ways
            hw.transport.abort()
        self.flowing.set()          # held pipes see the abort and end
        await self.server.wait_closed()
        self.server = None

    def start(self):
        self.loop.run(self._start())
        return self

    def kill(self):
        if self.server:
            self.loop.run(self._kill())

    def hold(self):
        self.loop.loop.call_soon_threadsafe(self.flowing.clear)

    @property
    def connections(self):
        return len(self.pipes)


def serve_tls(loop, cert, handler):
    """A TLS server with cert (crt, key) on 127.0.0.1 and a free port, in
    loop, handing each connection to handler(reader, writer); (server,
    port). Close the server when done."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*map(str, cert))
    port = free_port()

    async def listen():
        return await asyncio.start_server(handler, "127.0.0.1", port,
                                          ssl=ctx)
    return loop.run(listen()), port


@pytest.fixture
def loop():
    lp = Loop()
    yield lp
    lp.close()


@pytest.fixture
def made():
    out = []
    yield out
    stop_all(out)


# ---- a node with urls ------------------------------------------------------------

# The one-hub form in the harness's node config.
ONE_HUB = re.compile(r"^host = .*\naddress = .*\nport = .*\n", re.M)


def with_urls(text, value, extra=""):
    """Node config text with [hub] urls = value (and extra lines) in place
    of host, address and port."""
    assert ONE_HUB.search(text)
    return ONE_HUB.sub(lambda m: f"urls = {value}\n{extra}", text, count=1)


class UrlsNode(WithMetrics, Node):
    """A node whose [hub] section lists urls (and backoff_max_s = CAP_S)
    instead of host, address and port."""

    def __init__(self, *a, urls, **kw):
        super().__init__(*a, **kw)
        self.urls = list(urls)

    def config_text(self):
        return with_urls(super().config_text(), " ".join(self.urls),
                         f"backoff_max_s = {CAP_S}\n")

    def hub_url(self):
        """The URL the node is on, as /healthz, the console's sync state
        and /metrics tell it (they must agree)."""
        h = self.healthz()["hub"]["url"]
        on = [k for k, v in self.metrics().items()
              if k.startswith("alliance_node_hub_url{") and v == 1]
        assert on == [f'alliance_node_hub_url{{url="{h}"}}'], (h, on)
        return h

    def counter(self, name):
        return self.metrics()[f"alliance_node_hub_{name}_total"]


def start_node(pki, hub, tmp_path, made, urls, **kw):
    cid = unique_id("fo")
    hub.register(cid)
    n = UrlsNode(tmp_path / cid, pki, hub, cid, urls=urls, **kw).start()
    made.append(n)
    return n


def dead_port():
    """A port nothing listens on (connections are refused)."""
    return free_port()


# ---- the first URL dead --------------------------------------------------------

def test_first_url_dead_connects_through_second_without_backoff(
        pki, loop, made, tmp_path):
    """The first URL refuses connections from the start: the node dials
    the second at once and holds its session through it; no backoff wait
    was taken (its counter stays 0, no "retry in" line), one failover is
    counted, and /healthz, the console and /metrics name the second URL.
    The second URL's host is an IP (127.0.0.1), checked against the hub
    certificate's IP SAN."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    good = Forwarder(loop, hub.alliance_port, "127.0.0.1").start()
    dead = f"wss://localhost:{dead_port()}/v1/sync"
    node = start_node(pki, hub, tmp_path, made, [dead, good.url],
                      manager_hash=hash_password(PASSWORD))
    node.wait_connected()
    assert node.hub_url() == good.url
    assert node.counter("backoff_waits") == 0
    assert node.counter("failovers") == 1
    assert good.accepted >= 1 and hub.connected(node.community)
    log = node.log()
    assert re.search(rf"hub unreachable at {re.escape(dead)} \(.*\); "
                     rf"trying {re.escape(good.url)} at once", log), log
    assert "retry in" not in log, log
    assert f"dialling hub {good.url}" in log
    r = manager(node, "GET", "/api/v1/manager/sync")
    assert r.status == 200 and r.json()["hub"]["url"] == good.url, r


# ---- a TLS failure ----------------------------------------------------------------

def test_hub_with_a_foreign_certificate_is_left_for_the_next(
        pki, loop, made, tmp_path):
    """The first URL answers TLS with a certificate of another CA (a
    machine that is not the district's hub): the node refuses it, says
    why, and moves to the next URL at once, without a backoff wait."""
    other = PKI.create(tmp_path / "other-ca", name="Another CA")

    async def rogue(reader, writer):
        try:
            await reader.read(65536)
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        writer.transport.abort()
    server, rogue_port = serve_tls(loop, other.hub_cert, rogue)
    try:
        hub = Hub(tmp_path / "hub", pki).start()
        made.append(hub)
        good = Forwarder(loop, hub.alliance_port, "localhost").start()
        bad = f"wss://127.0.0.1:{rogue_port}/v1/sync"
        node = start_node(pki, hub, tmp_path, made, [bad, good.url])
        node.wait_connected()
        assert node.hub_url() == good.url
        assert node.counter("backoff_waits") == 0
        assert node.counter("failovers") == 1
        assert re.search(rf"hub unreachable at {re.escape(bad)} \(.*hub "
                         r"certificate refused: .*\); trying "
                         rf"{re.escape(good.url)} at once", node.log()), \
            node.tail()
    finally:
        server.close()


def test_url_whose_host_the_certificate_does_not_name_is_left(
        pki, loop, made, tmp_path):
    """The first URL reaches the real hub, but under a host its
    certificate does not name (127.0.0.2; the SANs are localhost and
    127.0.0.1): the node refuses the certificate for that URL and moves
    to the next at once, where the name matches."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    unnamed = Forwarder(loop, hub.alliance_port, "127.0.0.2",
                        bind="127.0.0.2").start()
    good = Forwarder(loop, hub.alliance_port, "localhost").start()
    node = start_node(pki, hub, tmp_path, made, [unnamed.url, good.url])
    node.wait_connected()
    assert node.hub_url() == good.url
    assert unnamed.accepted >= 1      # it got there, and refused the name
    assert node.counter("failovers") == 1
    assert node.counter("backoff_waits") == 0
    assert re.search(rf"hub unreachable at {re.escape(unnamed.url)} \(.*"
                     r"hub certificate refused: .*mismatch", node.log()), \
        node.tail()


# ---- a forwarder killed mid-sync ------------------------------------------------

def test_url_in_use_killed_mid_sync_moves_on_and_loses_nothing(
        pki, loop, made, tmp_path):
    """A node with two URLs imports 4000 services while another node
    (one URL, the hub's own port) imports 2000. The forwarder the first
    node is on holds the hub's acks, so the node stops once its window
    (8 batches of at most 256) is out: the hub has stored part of its
    records when that forwarder is killed (its connections reset). The
    node moves to the other URL at once,
    keeps its cursors, and at the end the hub's store holds exactly each
    node's own records (same versions), each node's replica exactly the
    hub's records of the other: none lost, none twice."""
    hub = Hub(tmp_path / "hub", pki,
              quota={"records": 20000, "changes_per_hour": 20000}).start()
    made.append(hub)
    pw = hash_password(PASSWORD)
    a = Forwarder(loop, hub.alliance_port, "localhost").start()
    b = Forwarder(loop, hub.alliance_port, "127.0.0.1").start()
    node = start_node(pki, hub, tmp_path, made, [a.url, b.url],
                      manager_hash=pw)
    cid = unique_id("fo-other")
    hub.register(cid)
    other = Node(tmp_path / cid, pki, hub, cid, manager_hash=pw).start()
    made.append(other)
    node.wait_connected()
    other.wait_connected()
    assert node.hub_url() == a.url

    a.hold()
    counts = {node.community: 4000, other.community: 2000}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        done = [pool.submit(bulk, n, bulk_items(n.community,
                                                counts[n.community]))
                for n in (node, other)]
        assert [len(f.result()) for f in done] == [4000, 2000]
    wait_for(lambda: hub.live_services(node.community) >= 256, BULK_ARRIVE,
             "the hub to store a batch of the node's services")
    mark = node.log_mark()
    a.kill()
    got = hub.live_services(node.community)
    print(f"forwarder killed with {got} of 4000 at the hub")
    assert got < 4000, "the sync ended before the kill: not mid-sync"
    node.wait_log(rf"session lost with hub {re.escape(a.url)} \(.*\); "
                  rf"trying {re.escape(b.url)} at once", since=mark)

    def synced():
        cs = hub.communities()
        return all(cs[n.community]["connected"] and
                   cs[n.community]["up_lag"] == 0 and
                   cs[n.community]["down_lag"] == 0 and
                   hub.live_services(n.community) == counts[n.community]
                   for n in (node, other))
    wait_for(synced, BULK_ARRIVE, "both nodes' records at the hub and the "
             "hub's stream at both")
    assert node.hub_url() == b.url
    assert node.counter("failovers") == 1
    assert node.counter("backoff_waits") == 0
    assert "retry in" not in node.log()[mark:], node.tail()
    wait_for(lambda: node.live_services() == 6000 and
             other.live_services() == 6000, BULK_ARRIVE,
             "every service at both nodes")

    for d in (node, other, hub):
        d.stop()
    at_hub = store_rows(hub.dir / "hub.db")
    own = {}
    for n in (node, other):
        mine = store_rows(n.dir / "node.db", "origin = ?", (n.community,))
        assert len(mine) == counts[n.community]
        own.update(mine)
    assert at_hub == own
    for n in (node, other):
        replica = store_rows(n.dir / "node.db", "origin <> ?",
                             (n.community,))
        assert replica == {k: v for k, v in at_hub.items()
                           if k[0] != n.community}


# ---- every URL down ------------------------------------------------------------------

def test_every_url_down_backs_off_then_recovers_on_one(
        pki, loop, made, tmp_path):
    """Both forwarders killed: the node tries the other URL at once, then
    waits out the backoff (counted, logged with "every hub URL failed"),
    round after round; when one URL comes back it holds its session
    through it."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    a = Forwarder(loop, hub.alliance_port, "localhost").start()
    b = Forwarder(loop, hub.alliance_port, "127.0.0.1").start()
    node = start_node(pki, hub, tmp_path, made, [a.url, b.url])
    node.wait_connected()
    assert node.hub_url() == a.url
    mark = node.log_mark()
    b.kill()
    a.kill()
    wait_for(lambda: node.counter("backoff_waits") >= 2, 30,
             "two backoff waits with every URL down")
    log = node.log()[mark:]
    assert re.search(rf"trying {re.escape(b.url)} at once", log), log
    waits = re.findall(r"retry in \d+\.\d s at (\S+) \(every hub URL "
                       r"failed in this round\)", log)
    assert len(waits) >= 2, log
    # each round tried both URLs before it waited
    rounds = re.split(r"retry in \d+\.\d s", log)
    for r in rounds[1:-1]:
        assert r.count("dialling hub") >= 2, log
    b.start()
    node.wait_connected(timeout=CAP_S + 30)
    assert node.hub_url() == b.url
    assert hub.connected(node.community)


# ---- a reload ------------------------------------------------------------------------

def test_sighup_with_a_new_list_dials_its_first_url(pki, loop, made,
                                                   tmp_path):
    """SIGHUP with the same list keeps the session, with a bad list is
    refused and changes nothing, and with other urls closes the session
    and dials the new list from its first URL."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    a = Forwarder(loop, hub.alliance_port, "localhost").start()
    b = Forwarder(loop, hub.alliance_port, "127.0.0.1").start()
    node = start_node(pki, hub, tmp_path, made, [a.url])
    node.wait_connected()
    since = node.healthz()["hub"]["since"]
    mark = node.log_mark()
    node.sighup()
    node.wait_log(r"hub settings and certificates unchanged", since=mark)
    assert node.healthz()["hub"]["since"] == since
    # a bad list changes nothing: the session stays where it is
    node.urls = [b.url, "wss://nowhere:0"]
    node.write_config(node.config_text())
    node.sighup()
    node.wait_log(r"reload refused, keeping the running configuration: "
                  r".*\[hub\] urls: .*the port must be 1 to 65535",
                  since=mark)
    assert node.healthz()["hub"]["since"] == since
    assert node.hub_url() == a.url
    node.urls = [b.url, a.url]
    node.write_config(node.config_text())
    mark = node.log_mark()
    node.sighup()
    node.wait_log(r"hub settings or certificates changed", since=mark)
    wait_for(lambda: node.healthz()["hub"]["connected"] and
             node.hub_url() == b.url, 30, "the session at the new first URL")
    assert node.counter("backoff_waits") == 0


# ---- alliancectl ------------------------------------------------------------------

def ctl(pki, *args, env=None):
    """build/alliancectl as the test operator with only the hub URLs of
    args and env (no HUB_ALLIANCE_URL* of ours)."""
    crt, key = pki.operator
    e = {k: v for k, v in _env().items()
         if not k.startswith("HUB_ALLIANCE_URL")}
    e.update({"CA_CERT": str(pki.ca), "OPERATOR_CERT": str(crt),
              "OPERATOR_KEY": str(key)})
    e.update(env or {})
    return subprocess.run([str(BUILD / "alliancectl"), *map(str, args)],
                          capture_output=True, text=True, env=e, timeout=60)


def test_alliancectl_tries_each_hub_in_turn(pki, made, tmp_path):
    """A dead first --hub and a live second: the command succeeds at the
    second, saying it moved on; the same with HUB_ALLIANCE_URLS; every
    hub dead is a failure (exit 1) naming each; an HTTP answer is final
    (a hub that answers 404 is not passed over for one that would not)."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    cid = unique_id("fo-ctl")
    hub.register(cid)
    dead = f"https://localhost:{dead_port()}"
    live = f"https://127.0.0.1:{hub.alliance_port}"

    r = ctl(pki, "--hub", dead, "community", "list", "--hub", live)
    assert r.returncode == 0, r
    assert cid in r.stdout
    assert f"trying {live} next" in r.stderr and dead in r.stderr, r.stderr

    r = ctl(pki, "community", "list",
            env={"HUB_ALLIANCE_URLS": f"  {dead}\t{live} "})
    assert r.returncode == 0, r
    assert cid in r.stdout

    # flags win over the variables
    r = ctl(pki, "--hub", live, "community", "list",
            env={"HUB_ALLIANCE_URLS": dead, "HUB_ALLIANCE_URL": dead})
    assert r.returncode == 0 and dead not in r.stderr, r

    dead2 = f"https://127.0.0.1:{dead_port()}"
    r = ctl(pki, "community", "list",
            env={"HUB_ALLIANCE_URLS": f"{dead} {dead2}"})
    assert r.returncode == 1, r
    assert dead in r.stderr and dead2 in r.stderr, r.stderr

    # an answer is final: a hub without the community says 404, and the
    # next one (which has it) is not asked
    empty = Hub(tmp_path / "empty-hub", pki).start()
    made.append(empty)
    first = f"https://localhost:{empty.alliance_port}"
    r = ctl(pki, "--hub", first, "--hub", live, "community", "remove", cid)
    assert r.returncode == 1, r
    assert "404" in r.stderr and "trying" not in r.stderr, r.stderr
    assert cid in hub.communities()


def test_alliancectl_does_not_repeat_a_change_a_hub_may_have_taken(
        pki, loop, made, tmp_path):
    """The first hub takes the request (TLS with the district's hub
    certificate) and drops the connection without an answer: a GET goes
    on to the next hub, a POST does not (it may have reached the first),
    and says so."""
    hub = Hub(tmp_path / "hub", pki).start()
    made.append(hub)
    live = f"https://127.0.0.1:{hub.alliance_port}"

    async def swallow(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, OSError, ssl.SSLError,
                asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        writer.transport.abort()
    server, port = serve_tls(loop, pki.hub_cert, swallow)
    try:
        mute = f"https://localhost:{port}"
        r = ctl(pki, "--hub", mute, "--hub", live, "community", "list")
        assert r.returncode == 0, r
        assert f"trying {live} next" in r.stderr, r.stderr
        cid = unique_id("fo-once")
        r = ctl(pki, "--hub", mute, "--hub", live, "community", "add", cid)
        assert r.returncode == 1, r
        assert f"not sent to another hub: the POST may have reached " \
            f"{mute}" in r.stderr, r.stderr
        assert cid not in hub.communities()
    finally:
        server.close()


def test_alliancectl_refuses_bad_hub_lists(pki):
    """More than 8 hubs, a URL over 300 bytes or not https:// is a usage
    error (exit 2) naming what is wrong, before anything is sent."""
    nine = [f"https://127.0.0.1:{1000 + i}" for i in range(9)]
    cases = [
        ([a for u in nine for a in ("--hub", u)], {}, "more than 8"),
        ([], {"HUB_ALLIANCE_URLS": " ".join(nine)}, "more than 8"),
        (["--hub", "https://" + "a" * 300], {}, "longer than 300"),
        ([], {"HUB_ALLIANCE_URLS": "https://127.0.0.1:1 "
              "http://127.0.0.1:2"}, "must start with https://"),
        ([], {"HUB_ALLIANCE_URLS": "   "}, "no hub URL"),
    ]
    for flags, env, want in cases:
        r = ctl(pki, *flags, "community", "list", env=env)
        assert r.returncode == 2, (flags, env, r)
        assert want in r.stderr, (flags, env, r.stderr)


# ---- bad values ------------------------------------------------------------------

def urls_config(pki, tmp_path, value):
    """A node config whose [hub] holds urls = value instead of host,
    address and port; (text, the line of urls)."""
    text = with_urls(valid_config("alliance-node", pki, tmp_path), value)
    return text, text.splitlines().index(f"urls = {value}") + 1


@pytest.mark.parametrize("value,reason", [
    ("https://localhost:7443", "does not start with wss://"),
    ("wss://localhost:70000", "the port must be 1 to 65535"),
    ("wss://local_host", "the host must be"),
    ("wss://localhost/v2/other", "the only path a hub URL may have"),
    ("wss://localhost wss://localhost:7443/v1/sync", "listed twice"),
    (" ".join(f"wss://h{i}.example" for i in range(9)),
     "more than 8 hub URLs"),
    ("wss://" + ".".join(c * 60 for c in "abcde") + ".example",
     "longer than 300"),
])
def test_bad_urls_exit_2_naming_file_line_key(pki, tmp_path, value, reason):
    """A bad [hub] urls exits 2 naming file:line, the key and why."""
    text, line = urls_config(pki, tmp_path, value)
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert f"{conf}:{line}: [hub] urls: " in err, err
    assert reason in err, err


@pytest.mark.parametrize("key,value", [
    ("host", "localhost"), ("address", "127.0.0.1"), ("port", "7443")])
def test_urls_with_the_one_hub_form_exit_2(pki, tmp_path, key, value):
    """[hub] urls with host, address or port as well exits 2 at the
    later line, naming both and which form is which."""
    text, _ = urls_config(pki, tmp_path, "wss://localhost:7443")
    text, line = with_line(text, r"^urls = ", f"{key} = {value}")
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert f"{conf}:{line}: [hub] {key}: cannot be given with urls" in err, \
        err
    assert "host, address and port are the form for one hub" in err, err


def test_neither_urls_nor_host_exits_2(pki, tmp_path):
    """Without [hub] host and urls the node exits 2 naming both."""
    text = without_line(valid_config("alliance-node", pki, tmp_path),
                        r"^host = ")
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert f"{conf}: [hub] host or [hub] urls is required" in err, err


def test_good_urls_start(pki, tmp_path, made):
    """Blanks around and between URLs, a default port and the path are
    taken; the node starts (and, no hub there, says it waits)."""
    hub = Hub(tmp_path / "hub", pki)     # never started: only its ports
    node = UrlsNode(tmp_path / "n", pki, hub, "fo-good",
                    urls=[f"  wss://localhost:{dead_port()}/v1/sync\t",
                          f"wss://127.0.0.1:{dead_port()}/ "]).start()
    made.append(node)
    assert node.healthz()["hub"]["url"].startswith("wss://localhost:")
    wait_for(lambda: node.counter("backoff_waits") >= 1, 30,
             "a backoff wait with no hub at either URL")

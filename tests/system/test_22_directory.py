"""The community directory and the district's synonyms reaching every node,
and a service's eligible_communities and keywords.

One hub with a synonyms file ([search] synonyms) and two nodes with
manager passwords serve most tests (module fixture). The directory is the
hub's registry sent down the sync stream as records of origin "district":
a node serves it at GET /api/v1/communities (its own first, "self"), a
community added or removed reaches every node, a node started later gets
it, and a session whose Hello does not ask for the directory (an older
node) is never sent its records. The synonyms apply to searches at the
hub and at the nodes, are re-read on SIGHUP (a bad file keeps the list in
force), and a bad file at start exits 2 naming file:line.
"""

import json
import sqlite3
import subprocess
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from conftest import (BUILD, Hub, Node, RawSession, pb, start_topology,
                      stop_all, unique_id, wait_for)
from test_25_manager import api, assert_error, get, service

PASSWORD = "correct horse battery staple"

SYNONYMS = """# test synonyms
剪头发/剪发/理发/美发
看病 门诊 就医
"""


class SynonymsHub(Hub):
    """A hub whose config names a synonyms file in its directory."""

    def __init__(self, d, pki, synonyms, **kw):
        super().__init__(d, pki, **kw)
        self.synonyms_path = self.dir / "syn.txt"
        self.synonyms_path.write_text(synonyms, encoding="utf-8")

    def config_text(self):
        return super().config_text() + "[search]\nsynonyms = syn.txt\n"


@pytest.fixture(scope="module")
def shared(pki, tmp_path_factory, password_hash):
    d = tmp_path_factory.mktemp("directory")
    made = []
    try:
        t = start_topology(pki, d, ["dira", "dirb"], made,
                           hub_cls=SynonymsHub, hub_kw={"synonyms": SYNONYMS},
                           names=["珠海路街道", "八大关街道"],
                           manager_hash=password_hash)
        yield SimpleNamespace(hub=t.hub, a=t.nodes[0], b=t.nodes[1], pki=pki,
                              dir=d, pw=password_hash, made=made)
    finally:
        stop_all(made)


# ---- helpers ------------------------------------------------------------------

def directory(node):
    r = get(node.public_port, "/api/v1/communities")
    assert r.status == 200, r
    return r.json()["items"]


def names(node):
    return {c["id"]: c["name"] for c in directory(node)}


def search(port, q, **params):
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    r = get(port, f"/api/v1/catalog?q={quote(q)}&limit=100{extra}")
    assert r.status == 200, r
    return r.json()


def titles(port, q):
    return {s["title"] for s in search(port, q)["items"]}


def publish(node, title, **kw):
    r = api(node, "POST", "/api/v1/services", service(title, **kw))
    assert r.status == 201, r
    return r.json()["id"]


# ---- the directory --------------------------------------------------------------

def test_directory_reaches_every_node(shared):
    """Each node lists every community by name, its own first and marked
    self, the name from the directory (not [node] name)."""
    for node, other in ((shared.a, shared.b), (shared.b, shared.a)):
        wait_for(lambda: len(directory(node)) == 2, 15,
                 f"the directory at {node.community}")
        items = directory(node)
        assert items[0]["id"] == node.community and items[0]["self"], items
        assert items[1] == {"id": other.community,
                            "name": names(shared.a)[other.community]}
    assert names(shared.a) == {shared.a.community: "珠海路街道",
                               shared.b.community: "八大关街道"}
    assert names(shared.b) == names(shared.a)


def test_added_and_removed_community_reach_nodes(shared):
    """A community added at the hub appears at every node, and a node that
    registers later gets the whole directory; a removed one disappears."""
    c = unique_id("dirc")
    shared.hub.register(c, "中山路街道")
    for node in (shared.a, shared.b):
        wait_for(lambda: names(node).get(c) == "中山路街道", 15,
                 f"{c} at {node.community}")
    late = Node(shared.dir / "late", shared.pki, shared.hub, c,
                manager_hash=shared.pw).start()
    shared.made.append(late)
    late.wait_connected()
    wait_for(lambda: len(directory(late)) == 3, 15, "the directory at the "
             "late node")
    own = directory(late)[0]
    assert own == {"id": c, "name": "中山路街道", "self": True}
    assert names(late)[shared.a.community] == "珠海路街道"

    late.stop()
    r = shared.hub.api("DELETE", f"/api/v1/communities/{c}")
    assert r.status == 204, r
    for node in (shared.a, shared.b):
        wait_for(lambda: c not in names(node), 15,
                 f"{c} gone at {node.community}")


def test_older_node_is_not_sent_the_directory(shared):
    """A Hello without the directory flag (a node from before it) gets the
    catalog but no record of the directory's kinds."""
    c = unique_id("diro")
    shared.hub.register(c, "旧节点")
    publish(shared.a, "给旧节点看的服务")
    wait_for(lambda: "给旧节点看的服务" in titles(shared.hub.public_port,
                                                 "给旧节点看的服务"),
             15, "the service at the hub")
    kinds = set()
    with RawSession(shared.hub, cert=shared.pki.node(c)) as s:
        s.handshake(c)
        while True:
            f = s.recv_frame()
            if f.WhichOneof("body") != "changes":
                continue
            kinds |= {ch.kind for ch in f.changes.changes}
            ack = pb.Frame()
            ack.ack.seq = f.changes.last_seq
            s.send_frame(ack)
            if f.changes.last_seq >= f.changes.head:
                break
    assert pb.KIND_SERVICE in kinds, kinds
    assert pb.KIND_COMMUNITY not in kinds and \
        pb.KIND_SEARCH_WORDS not in kinds, kinds


def test_upgraded_node_asks_once_for_the_directory(shared):
    """A node whose store comes from before the directory (a cursor past
    the records it was not sent, no note of having asked) asks the hub for
    the whole stream once and so learns the directory."""
    node = Node(shared.dir / "upgraded", shared.pki, shared.hub,
                unique_id("diru"), manager_hash=shared.pw)
    shared.hub.register(node.community, "湛山街道")
    node.start()
    shared.made.append(node)
    node.wait_connected()
    wait_for(lambda: len(directory(node)) >= 3, 15, "the directory")
    node.stop()
    db = sqlite3.connect(node.dir / "node.db")
    try:
        cursor = int(db.execute("SELECT value FROM meta WHERE key ="
                                " 'down_cursor'").fetchone()[0])
        assert cursor > 0
        db.execute("DELETE FROM directory")
        db.execute("DELETE FROM meta WHERE key = 'directory_asked'")
        db.commit()
    finally:
        db.close()
    mark = node.log_mark()
    node.start()
    node.wait_connected()
    node.wait_log(r"asking for the whole stream once", since=mark)
    wait_for(lambda: names(node).get(shared.a.community) == "珠海路街道", 15,
             "the directory again")
    assert directory(node)[0] == {"id": node.community, "name": "湛山街道",
                                  "self": True}
    # only once: a restart continues from its cursor
    node.stop()
    mark = node.log_mark()
    node.start()
    node.wait_connected()
    assert "asking for the whole stream" not in node.log()[mark:]


def test_own_community_first(shared):
    """A node lists its own community's services first when no text is
    given, across pages."""
    publish(shared.b, "B 的较早服务")
    own = publish(shared.a, "A 的服务")
    publish(shared.b, "B 的最新服务")
    wait_for(lambda: "B 的最新服务" in {
        s["title"] for s in json.loads(get(
            shared.a.public_port, "/api/v1/catalog?limit=100").text)["items"]},
        15, "B's service at A")
    seen, after = [], ""
    while True:
        r = get(shared.a.public_port, f"/api/v1/catalog?limit=2{after}")
        assert r.status == 200, r
        page = r.json()
        seen += [(s["community"], s["id"]) for s in page["items"]]
        if not page["next"]:
            break
        after = f"&after={page['next']}"
    origins = [o for o, _ in seen]
    n_own = origins.count(shared.a.community)
    assert origins[:n_own] == [shared.a.community] * n_own, origins
    assert (shared.a.community, own) in seen
    assert len(seen) == len(set(seen))


# ---- eligibility and keywords ---------------------------------------------------

def test_eligibility_and_keywords_round_trip(shared):
    """eligible_communities and keywords are stored, synced and searched."""
    sid = publish(shared.b, "助浴上门", eligibility="80岁以上老人",
                  eligible_communities=[shared.b.community],
                  keywords=["洗澡擦身", "bath"])
    r = get(shared.b.public_port,
            f"/api/v1/catalog/{shared.b.community}/{sid}")
    assert r.status == 200, r
    got = r.json()
    assert got["eligible_communities"] == [shared.b.community]
    assert got["keywords"] == ["洗澡擦身", "bath"]
    assert got["eligibility"] == "80岁以上老人"

    def at_a():
        items = search(shared.a.public_port, "洗澡擦身")["items"]
        return items and items[0]
    item = wait_for(at_a, 15, "the keyword searchable at A")
    assert item["eligible_communities"] == [shared.b.community]
    assert item["id"] == sid
    r = api(shared.b, "PUT", f"/api/v1/services/{sid}",
            service("助浴上门", eligible_communities=[], keywords=[]))
    assert r.status in (200, 204), r
    wait_for(lambda: not search(shared.a.public_port, "洗澡擦身")["items"],
             15, "the keyword gone at A")


@pytest.mark.parametrize("field,value", [
    ("eligible_communities", ["Not An Id"]),
    ("eligible_communities", "one-string"),
    ("eligible_communities", [f"c{i:03d}" for i in range(65)]),
    ("keywords", [""]),
    ("keywords", ["字" * 17]),
    ("keywords", [f"k{i}" for i in range(17)]),
    ("keywords", [1]),
])
def test_bad_eligibility_or_keywords_refused(shared, field, value):
    """A bad value is a 422 naming the field, and nothing is created."""
    node = shared.a
    before = node.live_services(node.community)
    r = api(node, "POST", "/api/v1/services",
            service("不该出现", **{field: value}))
    assert_error(r, 422, "invalid", field)
    assert node.live_services(node.community) == before


# ---- synonyms ------------------------------------------------------------------------

def test_synonyms_at_hub_and_nodes(shared):
    """剪头发 finds 上门理发服务 at the hub and at both nodes; words of one
    group are ORed, words of the query ANDed."""
    publish(shared.b, "上门理发服务")
    for port in (shared.hub.public_port, shared.a.public_port,
                 shared.b.public_port):
        wait_for(lambda: "上门理发服务" in titles(port, "剪头发"), 15,
                 f"剪头发 finding the haircut on port {port}")
        assert "上门理发服务" in titles(port, "美发 上门")
        assert "上门理发服务" not in titles(port, "剪头发 门诊")
    assert not titles(shared.a.public_port, "剪头")


def test_synonyms_reloaded_on_sighup(shared):
    """A new list is taken on SIGHUP and reaches the nodes; a bad file
    keeps the list in force and the log names file:line."""
    hub = shared.hub
    publish(shared.a, "居家助浴")
    wait_for(lambda: "居家助浴" in titles(shared.b.public_port, "助浴"), 15,
             "the bath service at B")
    assert not titles(shared.b.public_port, "洗澡")
    mark = hub.log_mark()
    hub.synonyms_path.write_text(SYNONYMS + "洗澡/助浴\n", encoding="utf-8")
    hub.sighup()
    hub.wait_log(r"3 synonym groups", since=mark)
    for port in (hub.public_port, shared.a.public_port, shared.b.public_port):
        wait_for(lambda: "居家助浴" in titles(port, "洗澡"), 15,
                 f"洗澡 finding 助浴 on port {port}")

    mark = hub.log_mark()
    hub.synonyms_path.write_text("剪头发/理发\nalone\n", encoding="utf-8")
    hub.sighup()
    hub.wait_log(r"syn\.txt:2: a group needs at least two words; keeping "
                 r"the synonyms in force \(3 groups\)", since=mark)
    hub.assert_alive()
    assert "居家助浴" in titles(hub.public_port, "洗澡")
    assert "居家助浴" in titles(shared.b.public_port, "洗澡")
    # put the fixture's list back for the other tests
    hub.synonyms_path.write_text(SYNONYMS + "洗澡/助浴\n", encoding="utf-8")


def test_bad_synonyms_file_exits_2(pki, tmp_path):
    """A bad synonyms file at start exits 2 naming file:line; a missing
    one names the file."""
    hub = SynonymsHub(tmp_path / "hub", pki, "# fine\n理发/剪发\n" +
                      "x" * 49 + "/y\n")
    hub.write_config(hub.config_text())
    r = subprocess.run([str(BUILD / "alliance-hub"), "-c", str(hub.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert f"{hub.synonyms_path}:3: a word is longer than 48 bytes" in \
        r.stderr, r.stderr
    hub.synonyms_path.unlink()
    r = subprocess.run([str(BUILD / "alliance-hub"), "-c", str(hub.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert str(hub.synonyms_path) in r.stderr, r.stderr

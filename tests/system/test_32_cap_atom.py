"""CAP 1.2 and Atom as their own clients read them.

Every CAP document the system emits (alert, update, cancel; Chinese and
English; text holding < & " ') passes the project's check of CAP 1.2
section 3 (cap_check.py), references resolving to the message they name;
the checker itself passes the spec's own Appendix A examples and refuses
documents that break each rule. The CAP sender is the hub's configured
[bulletins] sender, which alliancectl learns from the hub; a bad one is a
config error. Atom feeds of a hub and two nodes have distinct ids and
absolute links, each entry linking its CAP document.

Parts: the checker; CAP from hub and node; the sender's configuration;
Atom.
"""

import re
import subprocess
import urllib.request
from pathlib import Path

from lxml import etree

import cap_check
from conftest import BUILD, Hub, _env, http_get_json, wait_for
from test_30_bulletin import (content, hub_pair, http_get, key_id_of,
                              load_key, node_bulletins, post_raw, signed)

HERE = Path(__file__).parent
ATOM = "{http://www.w3.org/2005/Atom}"
SENDER = "shinan.qingdao.alliance"
MARKUP = "<&\"'"


# ---- the checker --------------------------------------------------------

def spec_example(name):
    return (HERE / "cap" / name).read_bytes()


def test_checker_passes_the_spec_examples_and_refuses_each_broken_rule():
    examples = sorted((HERE / "cap").glob("*.xml"))
    assert len(examples) == 4
    for p in examples:
        assert cap_check.check(p.read_bytes()) == [], p.name
    assert cap_check.languages(spec_example("a4-amber-multilingual.xml")) \
        == ["en-US", "es-US"]

    eq = spec_example("a3-earthquake-update.xml").decode()
    original = eq.replace("TRI13970876.2", "TRI13970876.1").replace(
        "2003-06-11T20:56:00-07:00", "2003-06-11T20:30:00-07:00").replace(
        "<msgType>Update</msgType>", "<msgType>Alert</msgType>")
    original = re.sub(r"\s*<references>.*</references>", "", original)
    known = {"TRI13970876.1": original.encode()}
    assert cap_check.check(eq.encode(), known.get) == []

    def broken(old, new, section, resolve=None):
        doc = eq.replace(old, new, 1)
        assert doc != eq, old
        problems = cap_check.check(doc.encode(), resolve)
        assert problems and all(p.startswith(section) for p in problems), \
            (old, new, problems)

    # 3.3.2: UTC is -00:00, never +00:00 or Z
    broken("2003-06-11T20:56:00-07:00", "2003-06-12T03:56:00+00:00", "3.3.2")
    broken("2003-06-11T20:56:00-07:00", "2003-06-12T03:56:00Z", "3.3.2")
    # 3.2.1: sender and identifier without spaces, commas, < or &
    broken("<sender>trinet@caltech.edu", "<sender>Local Operator", "3.2.1")
    broken("<identifier>TRI13970876.2", "<identifier>TRI,2", "3.2.1")
    broken("<sender>trinet@caltech.edu", "<sender>a&amp;b", "3.2.1")
    # 3.2.1: references are sender,identifier,sent triplets ...
    broken("trinet@caltech.edu,TRI13970876.1,", "TRI13970876.1,", "3.2.1")
    # ... naming the message referenced exactly
    broken("TRI13970876.1,2003-06-11T20:30:00-07:00",
           "TRI13970876.1,2003-06-11T20:31:00-07:00", "3.2.1", known.get)
    broken("trinet@caltech.edu,TRI13970876.1",
           "someone@else.org,TRI13970876.1", "3.2.1", known.get)
    broken("<identifier>TRI13970876.2", "<identifier>TRI13970876.9",
           "3.2.1", {}.get)
    # 3.2.2: an RFC 3066 language code; the schema's order and lists
    broken("<info>", "<info>\n    <language>zh_CN</language>", "3.2.2")
    broken("<urgency>Past</urgency>", "<urgency>Now</urgency>", "3.2.2")
    broken("<web>http://www.trinet.org/scsn/scsn.html</web>",
           "<web>/scsn/scsn.html</web>", "3.2.2")
    broken("<category>Geo</category>\n    <event>Earthquake</event>",
           "<event>Earthquake</event>\n    <category>Geo</category>",
           "3.2.2")
    broken("<status>Actual</status>\n  <msgType>Update</msgType>",
           "<msgType>Update</msgType>\n  <status>Actual</status>", "3.2.1")
    assert cap_check.check(b"<alert>") and \
        cap_check.check(b"<alert xmlns='urn:other'/>")


# ---- CAP from hub and node ------------------------------------------------

def cap_of(port, bid):
    status, ctype, body = http_get(port, f"/api/v1/bulletins/{bid}.cap")
    assert status == 200 and ctype.startswith("application/cap+xml"), status
    return body


def resolver(port):
    def resolve(ident):
        status, _, body = http_get(port, f"/api/v1/bulletins/{ident}.cap")
        return body if status == 200 else None
    return resolve


def has_han(s):
    return any("\u4e00" <= ch <= "\u9fff" for ch in s or "")


def test_every_cap_document_passes_section_3(daemons, pki):
    url = "https://alerts.shinan.example"
    hub = daemons.hub(pki, bulletin_sender=SENDER, public_url=url + "/")
    cid = "cap-a"
    hub.register(cid)
    a = daemons.node(pki, hub, cid)
    a.wait_connected()
    assert hub.api("GET", "/api/v1/bulletin-sender").json() == \
        {"sender": SENDER}

    def ctl(*args):
        r = subprocess.run([str(BUILD / "alliancectl"), *args],
                           capture_output=True, text=True, env=ctl_env(hub),
                           timeout=90)
        assert r.returncode == 0, r.stderr + r.stdout
        return r.stdout.splitlines()[0]

    both = ctl("bulletin", "issue", "--headline", f"水管爆裂 {MARKUP}",
               "--description", f"中山路水管爆裂 {MARKUP}",
               "--cause", "冻胀", "--response", "正在抢修",
               "--instructions", "请将自来水煮沸",
               "--headline-en", f"Burst water main {MARKUP}",
               "--description-en", f"A main burst on Zhongshan Road {MARKUP}",
               "--cause-en", "Frost heave", "--instructions-en", "Boil water",
               "--area", cid, "--wait", "--timeout", "20")
    zh_only = ctl("bulletin", "issue", "--headline", "停电",
                  "--description", "八大关停电", "--cause", "线路故障",
                  "--response", "抢修", "--instructions", "远离电线",
                  "--wait", "--timeout", "20")
    upd = ctl("bulletin", "update", both, "--headline-en",
              "Main repaired, keep boiling water")
    cancel_both = ctl("bulletin", "cancel", upd)
    cancel_zh = ctl("bulletin", "cancel", zh_only)
    # a bulletin signed before [bulletins] sender (an operator's name, no
    # English) still verifies, is stored and renders as valid CAP
    key = load_key(pki.signing_key)
    old, data = content(key_id_of(key), area=[cid])
    assert post_raw(hub, data, signed(key, data)).status == 201
    ids = [both, zh_only, upd, cancel_both, cancel_zh, old]
    wait_for(lambda: set(ids) <= set(node_bulletins(a)), 15,
             "every bulletin at the node")

    j = node_bulletins(a)[both]
    assert j["sender"] == SENDER and j["headline_en"].endswith(MARKUP)
    assert node_bulletins(a)[zh_only]["headline_en"] == ""
    for port, base in ((hub.public_port, url),
                       (a.public_port, f"http://127.0.0.1:{a.public_port}")):
        docs = {bid: cap_of(port, bid) for bid in ids}
        for bid, body in docs.items():
            assert cap_check.check(body, resolver(port)) == [], (port, bid)
        sent = {bid: etree.fromstring(body).findtext(
            f"{{{cap_check.NS}}}sent") for bid, body in docs.items()}
        root = etree.fromstring(docs[both])
        assert root.findtext(f"{{{cap_check.NS}}}sender") == SENDER
        assert root.findtext(f"{{{cap_check.NS}}}sent").endswith("-00:00")
        # one <info> per language: zh-CN always, en-US with English text
        assert cap_check.languages(docs[both]) == ["zh-CN", "en-US"]
        assert cap_check.languages(docs[zh_only]) == ["zh-CN"]
        assert cap_check.languages(docs[old]) == ["zh-CN"]
        info = cap_check.info_by_language(docs[both])
        zh, en = info["zh-CN"], info["en-US"]
        assert zh["headline"] == f"水管爆裂 {MARKUP}"
        assert "原因：冻胀" in zh["description"]
        assert "政府应对：正在抢修" in zh["description"]
        assert "Cause" not in zh["description"]
        assert en["headline"] == f"Burst water main {MARKUP}"
        assert "Cause: Frost heave" in en["description"]
        assert not any(has_han(v) for v in en.values()), en
        assert en["instruction"] == "Boil water"
        assert zh["web"] == f"{base}/bulletins.html#b-{both}"
        # the update and cancels name what they replace
        for new, replaced in ((upd, both), (cancel_both, upd),
                              (cancel_zh, zh_only)):
            refs = etree.fromstring(docs[new]).findtext(
                f"{{{cap_check.NS}}}references")
            assert refs == f"{SENDER},{replaced},{sent[replaced]}"
        assert cap_check.info_by_language(docs[upd])["en-US"]["headline"] \
            == "Main repaired, keep boiling water"
        cz = cap_check.info_by_language(docs[cancel_zh])["zh-CN"]
        assert cz["headline"] == "已取消：停电"
        ce = cap_check.info_by_language(docs[cancel_both])["en-US"]
        assert ce["headline"].startswith("Cancelled: ")
        assert etree.fromstring(docs[old]).findtext(
            f"{{{cap_check.NS}}}sender") == "Test_Operator"


def ctl_env(hub):
    crt, key = hub.pki.operator
    env = _env()
    env.update({
        "HUB_ALLIANCE_URL": f"https://localhost:{hub.alliance_port}",
        "CA_CERT": str(hub.pki.ca), "OPERATOR_CERT": str(crt),
        "OPERATOR_KEY": str(key), "SIGNING_KEY": str(hub.pki.signing_key)})
    return env


# ---- the sender's configuration --------------------------------------------

def test_bad_sender_or_public_url_is_a_config_error(pki, tmp_path):
    for key, value, says in (
            ("sender", "Local Operator", "[bulletins] sender"),
            ("sender", "a,b", "[bulletins] sender"),
            ("sender", "x<y", "[bulletins] sender"),
            ("sender", "x&y", "[bulletins] sender"),
            ("url", "alerts.example.org", "[public] url"),
            ("url", "ftp://alerts.example.org", "[public] url"),
            ("url", "https://alerts.example.org/?a=b", "[public] url"),
            ("url", "https://", "[public] url")):
        hub = Hub(tmp_path / f"h-{key}", pki)
        if key == "sender":
            hub.bulletin_sender = value
        else:
            hub.public_url = value
        conf = tmp_path / f"bad-{key}.conf"
        conf.write_text(hub.config_text())
        r = subprocess.run([str(BUILD / "alliance-hub"), "-c", str(conf)],
                           capture_output=True, text=True, timeout=30,
                           env=_env())
        assert r.returncode == 2, (value, r.stderr)
        assert says in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1, r.stderr


# ---- Atom ---------------------------------------------------------------------

def test_atom_feeds_of_hub_and_two_nodes_have_distinct_ids(daemons, pki):
    hub, (a, b) = hub_pair(daemons, pki, 2)
    # one node with a configured [public] url, the others by default
    b.public_url = "https://b.community.example"
    b.stop()
    b.start()
    b.wait_connected()
    bids = []
    for headline in ("演练", "停水"):
        r = subprocess.run([str(BUILD / "alliancectl"), "bulletin", "issue",
                            "--headline", headline,
                            "--description", "消防演练",
                            "--cause", "-", "--response", "-",
                            "--instructions", "-", "--wait", "--timeout",
                            "20"],
                           capture_output=True, text=True, env=ctl_env(hub),
                           timeout=90)
        assert r.returncode == 0, r.stderr
        bids.append(r.stdout.splitlines()[0])
    bid = bids[0]
    sender = http_get_json("127.0.0.1", hub.public_port,
                           f"/api/v1/bulletins/{bid}")["sender"]
    assert sender == "127.0.0.1"    # the default: [public] url's host
    ids = {}
    for d, base in ((hub, f"http://127.0.0.1:{hub.public_port}"),
                    (a, f"http://127.0.0.1:{a.public_port}"),
                    (b, "https://b.community.example")):
        status, ctype, body = http_get(d.public_port, "/api/v1/bulletins.atom")
        assert status == 200 and ctype.startswith("application/atom+xml")
        feed = etree.fromstring(body)
        fid = feed.findtext(f"{ATOM}id")
        ids[fid] = d
        assert fid == f"{base}/api/v1/bulletins.atom"
        self_link = [ln for ln in feed.findall(f"{ATOM}link")
                     if ln.get("rel") == "self"]
        assert [ln.get("href") for ln in self_link] == [fid]
        for ln in feed.iter(f"{ATOM}link"):
            assert re.match(r"https?://[^/]+/", ln.get("href")), ln.get("href")
            assert ln.get("href").startswith(base)
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == 2
        # each entry links its own CAP document, with its media type
        caps = [[ln.get("href") for ln in e.findall(f"{ATOM}link")
                 if ln.get("rel") == "alternate"
                 and ln.get("type") == "application/cap+xml"]
                for e in entries]
        assert sorted(caps) == sorted(
            [[f"{base}/api/v1/bulletins/{b}.cap"] for b in bids])
        if base.startswith("http://127.0.0.1"):
            # a feed reader follows the link as it stands
            for (cap,) in caps:
                with urllib.request.urlopen(cap, timeout=10) as resp:
                    assert resp.headers["Content-Type"].startswith(
                        "application/cap+xml")
                    assert cap_check.check(resp.read()) == []
    assert len(ids) == 3

"""searchlib: what bench/search, bench/peer-nginx and bench/loaded share
(not executable, so `make bench` skips it): a hub holding a big merged
catalog from one node, fully indexed; the catalog's items; the manager's
edits at the node; the query lists and wrk (bench/search.lua) over them.
"""

import base64
import http.client
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import benchlib as b

h = b.h
HERE = Path(__file__).resolve().parent
PASSWORD = "search bench password"
BATCH = 10000
THREADS = 2             # wrk's
DISTINCT = 100000       # distinct queries a run: more than it sends
EDITS_PER_S = 10        # edits at the node during the edits runs
REPEATED = "/api/v1/catalog?q=%E7%90%86%E5%8F%91"   # q=理发, 12 %

ZH = ["理发", "送餐", "体检", "康复", "陪诊", "家政", "维修", "法律咨询",
      "心理", "托育", "助浴", "保洁", "护理", "就业", "课程", "书法"]
EN = ["haircut", "meals", "checkup", "rehab", "escort", "cleaning",
      "repair", "legal", "counselling", "childcare", "bathing", "nursing",
      "jobs", "course", "calligraphy", "pharmacy"]
PLACE = ["上门", "社区", "免费", "老人", "儿童", "残障"]
CATS = ["elderly-care", "health-maternity", "family-children", "disability",
        "housing", "environment", "public-safety", "employment",
        "legal-civil", "education-culture", "neighbourhood-life", "other"]
DELIVERY = ["walk-in", "home-visit", "online", "phone"]


def item(k):
    r = random.Random(k)
    zh, en = r.choice(ZH), r.choice(EN)
    return {"id": f"svc-{k}",
            "title": f"{r.choice(PLACE)}{zh}服务 {en} service {k}",
            "summary": f"{zh}{r.choice(ZH)} {en} and {r.choice(EN)} for "
                       "residents",
            "description": f"第{k}项服务。{r.choice(PLACE)}{zh}，预约电话。 "
                           f"Record {k}: {en}, {r.choice(EN)}.",
            "category": r.choice(CATS),
            "delivery": [r.choice(DELIVERY)],
            "fee": "free" if r.random() < 0.5 else "10 元",
            "phone": "0532 8888 1234"}


def manager(node, path, body, method="POST"):
    """The manager API; returns an error text, or None."""
    c = http.client.HTTPConnection("127.0.0.1", node.public_port,
                                   timeout=600)
    try:
        auth = base64.b64encode(f"manager:{PASSWORD}".encode()).decode()
        c.request(method, path, body=json.dumps(body).encode(),
                  headers={"Authorization": "Basic " + auth,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status not in (200, 201):
            return f"{method} {path}: {r.status} {data[:300]!r}"
        return None
    finally:
        c.close()


class Editor(threading.Thread):
    """Edits service k = 0, 1, 2, ... at the node on a clock of rate a
    second (late edits are not made up), until stopped; keeps the first
    error and the rate reached."""

    def __init__(self, node, rate=EDITS_PER_S):
        super().__init__(daemon=True)
        self.node, self.rate = node, rate
        self.stopping = threading.Event()
        self.edits, self.error = 0, None
        self.t0 = self.t1 = time.monotonic()

    def run(self):
        self.t0 = time.monotonic()
        due = self.t0
        while not self.error:
            due = max(due + 1.0 / self.rate, time.monotonic())
            if self.stopping.wait(due - time.monotonic()):
                break
            body = item(self.edits)
            body["title"] += f" 第{self.edits}次修改 edit"
            self.error = manager(self.node, f"/api/v1/services/"
                                 f"svc-{self.edits}", body, "PUT")
            self.edits += 1
        self.t1 = time.monotonic()

    def stop(self):
        """Stop; returns the edits a second made."""
        self.stopping.set()
        self.join()
        if self.error:
            sys.exit(f"search: editing: {self.error}")
        return self.edits / max(self.t1 - self.t0, 1e-9)


def distinct_paths(n):
    """n distinct query paths, sorted (the same n for the same n)."""
    r = random.Random(7)
    out = set()
    while len(out) < n:
        words = [r.choice(ZH + EN + PLACE)]
        if r.random() < 0.3:
            words.append(r.choice(ZH + EN))
        q = {"q": " ".join(words)}
        if r.random() < 0.3:
            q["category"] = r.choice(CATS)
        if r.random() < 0.2:
            q["delivery"] = r.choice(DELIVERY)
        if r.random() < 0.2:
            q["free"] = "1"
        if r.random() < 0.2:
            q["limit"] = str(r.choice([10, 50, 100]))
        out.add("/api/v1/catalog?" + urllib.parse.urlencode(q))
    return sorted(out)


def query_files(d, lists, per_list=DISTINCT):
    """Files d/distinct-K.txt (K < lists) of per_list distinct query paths
    each, no path in two files (shuffled), and d/repeated.txt with the
    repeated query: (repeated, [distinct files])."""
    rep = d / "repeated.txt"
    rep.write_text(REPEATED + "\n")
    paths = distinct_paths(lists * per_list)
    random.Random(11).shuffle(paths)
    files = []
    for k in range(lists):
        f = d / f"distinct-{k}.txt"
        f.write_text("\n".join(paths[k * per_list:(k + 1) * per_list]) +
                     "\n")
        files.append(f)
    return rep, files


def need_wrk(name):
    if not shutil.which("wrk"):
        sys.exit(f"{name}: wrk is not installed (apt-get install wrk; "
                 "make deps installs it)")


def wrk(port, paths_file, label, name="search", connections=32,
        duration=10, threads=THREADS):
    """wrk over the paths of paths_file (bench/search.lua) at
    127.0.0.1:port; the figures of its WRKRESULT line as a dict (exits on
    a non-2xx answer)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
           "--timeout", "30s", "--latency", "-s", str(HERE / "search.lua"),
           f"http://127.0.0.1:{port}", "--", str(paths_file), str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"WRKRESULT (.*)", r.stdout)
    if not m:
        sys.exit(f"{name}: no result from wrk:\n{r.stdout}{r.stderr}")
    kv = dict(re.findall(r"(\w+)=(\S+)", m.group(1)))
    if int(kv["non2xx"]):
        sys.exit(f"{name}: {label}: {kv['non2xx']} non-2xx answers")
    if int(kv["errors"]):
        b.say(name, f"{label}: {kv['errors']} socket errors or timeouts "
              "(30 s)")
    b.say(name, f"{label}: {m.group(1)}")
    lines = paths_file.read_text().count("\n")
    if lines > 1 and int(kv["requests"]) > lines:
        b.say(name, f"{label}: {kv['requests']} requests for {lines} "
              "queries: some were repeats (a longer list is needed)")
    return kv


class Catalog:
    """A hub and one node (search-a, with a manager password) whose N
    services the hub holds and has indexed: .hub, .node; stop() stops
    both (and every daemon added to .made)."""

    def __init__(self, d, services, name="search"):
        self.name = name
        pki = self.pki = h.PKI.create(d / "pki")
        self.hub = b.start_hub(d / "hub", pki)
        self.made = [self.hub]
        try:
            self._fill(d, services)
        except BaseException:
            self.stop()
            raise

    def _fill(self, d, services):
        hub, cid = self.hub, "search-a"
        b.Operator(hub).register([cid])
        r = subprocess.run([str(h.BUILD / "alliance-node"),
                            "--hash-password"], input=PASSWORD + "\n",
                           capture_output=True, text=True, check=True)
        a = self.node = h.Node(d / "a", self.pki, hub, cid,
                               manager_hash=r.stdout.strip()).start()
        self.made.append(a)
        a.wait_connected()
        t0 = time.monotonic()
        for start in range(0, services, BATCH):
            err = manager(a, "/api/v1/services/bulk",
                          {"items": [item(k) for k in range(
                              start, min(services, start + BATCH))]})
            if err:
                sys.exit(f"{self.name}: {err}")
        b.say(self.name, f"{services} services imported at the node in "
              f"{time.monotonic() - t0:.1f} s")

        def at_hub():
            c = hub.communities()[cid]
            return c["counts"]["services"] == services and \
                c["up_lag"] == 0
        h.wait_for(at_hub, 1800, "the services at the hub", interval=0.5)
        b.say(self.name, f"all at the hub after "
              f"{time.monotonic() - t0:.1f} s")
        # the hub indexes after it holds the rows (its indexer thread):
        # measure searches once the index is complete, not the indexer
        def index_complete():
            db = sqlite3.connect(f"file:{hub.dir / 'hub.db'}?mode=ro",
                                 uri=True)
            try:
                return db.execute("SELECT NOT EXISTS (SELECT 1 FROM"
                                  " index_pending)").fetchone()[0]
            finally:
                db.close()
        h.wait_for(index_complete, 600, "the hub's search index",
                   interval=0.2)
        b.say(self.name, f"index complete after "
              f"{time.monotonic() - t0:.1f} s")

    def stop(self):
        h.stop_all(self.made)

"""Polls: residents vote once per poll at their node with a household-code
credential; a vote after closing is refused; nodes relay tallies (never
single votes); a district poll's result at the hub equals the sum of the
communities' tallies after nodes restart in the middle of voting.
"""

import time

import pytest

from conftest import alliancectl, topology, wait_for
from test_25_manager import api, get


def resident(node):
    r = api(node, "POST", "/api/v1/household-codes", {})
    assert r.status == 201, r
    r = api(node, "POST", "/api/v1/residents",
            {"household_code": r.json()["code"]}, password=None)
    assert r.status == 201, r
    return r.json()["token"]


def vote(node, poll, token, option):
    import http.client
    import json
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=10)
    try:
        c.request("POST", f"/api/v1/polls/{poll}/votes",
                  body=json.dumps({"option": option}),
                  headers={"Content-Type": "application/json",
                           "Authorization": f"Bearer {token}"})
        return c.getresponse().status
    finally:
        c.close()


@pytest.fixture(scope="module")
def three(pki, tmp_path_factory, password_hash):
    with topology(pki, tmp_path_factory.mktemp("polls"),
                  [f"pl{i}" for i in range(3)],
                  manager_hash=password_hash) as t:
        yield t.hub, t.nodes


def test_one_vote_per_resident_and_none_after_closing(three):
    hub, (a, _, _) = three
    r = api(a, "POST", "/api/v1/polls", {
        "question": "Plant a tree or repaint the wall?",
        "options": ["tree", "wall"], "closes": int(time.time()) + 3})
    assert r.status == 201, r
    poll = r.json()["id"]
    t = resident(a)
    assert vote(a, poll, t, "tree") == 201
    assert vote(a, poll, t, "wall") == 409
    assert vote(a, poll, "0" * 32, 0) == 401
    r = get(a.public_port, f"/api/v1/polls/{poll}")
    assert r.json()["counts"] == [1, 0]
    wait_for(lambda: hub.api("GET", f"/api/v1/polls/{poll}").status == 200
             and hub.api("GET", f"/api/v1/polls/{poll}").json()
             ["results"]["counts"] == [1, 0], 15, "tally at the hub")
    t2 = resident(a)
    wait_for(lambda: get(a.public_port, f"/api/v1/polls/{poll}").json()
             ["closed"], 10, "the poll to close")
    assert vote(a, poll, t2, "wall") == 409
    # the outcome is given once the poll is final, when late tallies may
    # no longer come (RELAY_TALLY_GRACE_S after the close)
    res = wait_for(lambda: hub.api("GET", f"/api/v1/polls/{poll}").json()
                   .get("outcome"), 30, "the outcome at the hub")
    assert res["winner"] == "tree"


def test_district_poll_sums_tallies_across_restarts(three):
    hub, nodes = three
    r = alliancectl(hub, "poll", "create", "--question",
                    "Open the library on Sundays?", "--option", "yes",
                    "--option", "no", "--closes", "10m")
    assert r.returncode == 0, r.stderr
    poll = r.stdout.split()[0]
    assert poll.startswith("district.")
    for n in nodes:
        wait_for(lambda n=n: get(n.public_port, f"/api/v1/polls/{poll}")
                 .status == 200, 15, f"district poll at {n.community}")
    tokens = {n.community: [resident(n) for _ in range(3)] for n in nodes}
    expected = [0, 0]
    for i, n in enumerate(nodes):
        assert vote(n, poll, tokens[n.community][0], i % 2) == 201
        expected[i % 2] += 1
    nodes[1].stop()
    hub.restart()
    nodes[1].start()
    for i, n in enumerate(nodes):
        n.wait_connected()
        for t in tokens[n.community][1:]:
            assert vote(n, poll, t, (i + 1) % 2) == 201
            expected[(i + 1) % 2] += 1
    nodes[2].stop()
    nodes[2].start()
    nodes[2].wait_connected()

    def summed():
        res = hub.api("GET", f"/api/v1/polls/{poll}").json()["results"]
        per = [c["counts"] for c in res["communities"]]
        return (res["counts"] == expected and len(per) == 3 and
                [sum(x) for x in zip(*per)] == expected and res)
    res = wait_for(summed, 20, "district result = sum of tallies")
    assert res["votes"] == 9
    r = get(hub.public_port, f"/api/v1/polls/{poll}")
    assert r.status == 200 and r.json()["results"]["counts"] == expected


def test_poll_create_refuses_bad_input(three):
    hub, _ = three
    r = alliancectl(hub, "poll", "create", "--question", "Q?",
                    "--option", "only one")
    assert r.returncode != 0
    r = alliancectl(hub, "poll", "create", "--question", "Q?", "--option",
                    "a", "--option", "b", "--area", "no-such-community")
    assert r.returncode != 0 and "area" in r.stderr
    r = hub.api("POST", "/api/v1/polls", {"question": "Q?",
                                          "options": ["a", "a"],
                                          "closes": int(time.time()) + 60})
    assert r.status == 422

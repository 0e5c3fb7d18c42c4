"""A node's reconnect backoff against a flapping hub: capped by [hub]
backoff_max_s (jitter stays within it), started over only after a session
that held LIMIT_BACKOFF_HEALTHY_S (10 s) past Welcome, never keeping a
node away for longer than its cap from a hub that is up.

Parts: nodes with a short cap; the hub flapping 5 times in 30 s; the
backoff starting over after a healthy session and not after a short one.
"""

import random
import re
import time

from conftest import Node, stop_all, unique_id, wait_for
from test_25_manager import PASSWORD, api, hash_password, service

# The short cap the tests set ([hub] backoff_max_s), and what a delay may
# take beyond it: lws's jitter is folded below the cap, so only starting
# the hub (under ASan), TCP, TLS and Hello -> Welcome.
CAP_S = 3
HANDSHAKE_S = 2.0
# LIMIT_BACKOFF_HEALTHY_S and LIMIT_BACKOFF_JITTER_PCT (lib/alliance_limits.h)
HEALTHY_S = 10
JITTER = 0.25
RETRY = re.compile(r"(?:hub unreachable|session with hub lost) \(.*\); "
                   r"retry in (\d+\.\d) s")


# ---- nodes with a short cap ---------------------------------------------------

class CappedNode(Node):
    """A node with [hub] backoff_max_s = cap."""

    def __init__(self, *a, cap, **kw):
        super().__init__(*a, **kw)
        self.cap = cap

    def config_text(self):
        return super().config_text().replace(
            "[public]\n", f"backoff_max_s = {self.cap}\n[public]\n", 1)


def retries(node, since):
    """The retry delays (s) node logged after since."""
    return [float(d) for d in RETRY.findall(node.log()[since:])]


# ---- the hub flapping ---------------------------------------------------------

def test_flapping_hub_every_node_back_within_its_cap(pki, daemons, tmp_path):
    """The hub is killed and restarted 5 times in 30 s while each node
    edits; after its last start every node holds its session again
    within its cap (plus the handshake), and all converge. The
    convergence time after the last start is printed (run with -s)."""
    hub = daemons.hub(pki)
    pw = hash_password(PASSWORD)
    nodes = []
    made = []
    try:
        for i in range(3):
            cid = unique_id("flap")
            hub.register(cid)
            n = CappedNode(tmp_path / cid, pki, hub, cid, cap=CAP_S,
                           manager_hash=pw).start()
            made.append(n)
            nodes.append(n)
        for n in nodes:
            n.wait_connected()
        rng = random.Random(14)
        began = time.monotonic()
        for cycle in range(5):
            hub.kill()
            # edits made while the hub is down (each node's own replica
            # takes them at once)
            for n in nodes:
                r = api(n, "POST", "/api/v1/services",
                        service(f"flap {cycle} {n.community}"))
                assert r.status == 201, r
            # the fault schedule itself, not a wait for a condition
            time.sleep(rng.uniform(0.5, 2.0))
            last_start = time.monotonic()
            hub.start()
            if cycle < 4:
                time.sleep(rng.uniform(1.0, 3.0))
        assert time.monotonic() - began < 30

        back = {}

        def all_back():
            items = hub.communities()
            now = time.monotonic()
            for n in nodes:
                if n.community not in back and \
                        items[n.community]["connected"]:
                    back[n.community] = now - last_start
            return len(back) == len(nodes)
        bound = CAP_S + HANDSHAKE_S
        wait_for(all_back, bound + 10, "every node back at the hub")
        for n in nodes:
            assert back[n.community] <= bound, (n.community, back,
                                                retries(n, 0))
            # no delay was ever over the cap
            assert max(retries(n, 0)) <= CAP_S, retries(n, 0)

        def converged():
            return all(m.live_services(n.community) == 5
                       for m in nodes for n in nodes)
        wait_for(converged, 60, "every node to hold every node's edits")
        took = time.monotonic() - last_start
        print(f"\nflapping: back after {sorted(back.values())} s; "
              f"converged {took:.1f} s after the hub's last start")
    finally:
        stop_all(made)


# ---- starting over ------------------------------------------------------------

def test_backoff_starts_over_only_after_a_healthy_session(pki, daemons,
                                                         tmp_path):
    """Delays grow while the hub is down and keep growing after a
    session the hub drops at once; after a session held 10 s the next
    delay is the first (1 s) again."""
    cap = 8
    hub = daemons.hub(pki)
    cid = unique_id("reset")
    hub.register(cid)
    node = CappedNode(tmp_path / cid, pki, hub, cid, cap=cap).start()
    try:
        node.wait_connected()

        # the hub down: 1, 2, 4 s (jitter on top)
        mark = node.log_mark()
        hub.kill()
        wait_for(lambda: len(retries(node, mark)) >= 3, 20,
                 "three attempts while the hub is down")
        hub.start()
        node.wait_connected(timeout=cap + 10)

        # dropped at once after Welcome: the backoff goes on growing
        mark = node.log_mark()
        hub.kill()
        wait_for(lambda: retries(node, mark), 10, "a retry after the drop")
        assert retries(node, mark)[0] > 2 * (1 + JITTER), node.tail()
        hub.start()
        h = node.wait_connected(timeout=cap + 10)

        # held 10 s: the next delay is the first again
        held = time.monotonic()
        wait_for(lambda: time.monotonic() - held > HEALTHY_S + 0.5,
                 HEALTHY_S + 5, "a healthy session")
        assert node.healthz()["hub"]["since"] == h["hub"]["since"]
        mark = node.log_mark()
        hub.kill()
        wait_for(lambda: retries(node, mark), 10, "a retry after the drop")
        assert retries(node, mark)[0] <= 1 + JITTER, node.tail()
        hub.start()
        node.wait_connected(timeout=5)
    finally:
        node.stop()

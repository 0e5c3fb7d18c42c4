"""Online backups (issue 20, deliverable 2): `alliance-node backup` and
`alliance-hub backup` copy a running daemon's store with sqlite's backup
API into FILE, checked, and a store restored from such a copy the way
README says (stop, move the copy into place, start) comes back whole.

A node is backed up while a manager keeps editing it; the copy passes
`PRAGMA integrity_check` and the node's own full check. Restored after
more edits, the node gets its records newer than the backup back from the
hub (issue 14's restore detection) and catches up with the others' edits
made while it was down; afterwards the hub holds exactly every node's
own records and every node the others'. A hub's backup, restored, serves
the same registry and catalog. Bad input (FILE in a missing directory,
FILE existing, FILE the store itself, a config that cannot be read, no
store) is refused with a clear message and exit code, writing nothing.

Real hub and node processes, real TLS and sqlite; nothing waits a fixed
time.
"""

import os
import sqlite3
import subprocess
import threading

from conftest import BUILD, _env, wait_for
from test_20_sync import (ARRIVE, PASSWORD,  # noqa: F401 (password_hash)
                          alliance, bulk, bulk_items, catalog_all, create,
                          delete, everywhere, replace, titles)
from test_23_restore import assert_stores_agree


def run_backup(daemon, dest, *extra, conf=None):
    """`BINARY backup -c CONF DEST` to its end; the CompletedProcess."""
    return subprocess.run(
        [str(BUILD / daemon.binary), "backup", "-c",
         str(conf or daemon.conf), str(dest), *extra],
        capture_output=True, text=True, env=_env(), timeout=120)


def integrity(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()


def own_services(path, community):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM service WHERE origin = ? "
                          "AND deleted = 0", (community,)).fetchone()[0]
    finally:
        db.close()


def restore(daemon, copy):
    """README's restore: the daemon stopped, its -wal and -shm removed, the
    copy moved into place."""
    assert not daemon.running
    store = daemon.dir / daemon.store_file
    for suffix in ("-wal", "-shm"):
        store.with_name(store.name + suffix).unlink(missing_ok=True)
    os.replace(copy, store)


def test_node_backup_under_edits_restores_whole(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    kept = {create(a, f"a before the backup {i}"): f"a before the backup {i}"
            for i in range(3)}
    b_first = create(b, "b's own")
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == kept, "a's first services")

    # a manager imports batch after batch until the backup has returned:
    # the backup runs while the node takes edits
    done, batches, failed = threading.Event(), [], []

    def edit():
        try:
            while not done.is_set():
                batches.append(bulk(a, bulk_items(a.community, 50)))
        except BaseException as e:  # noqa: B902 (reported below)
            failed.append(e)
    editor = threading.Thread(target=edit)
    editor.start()
    try:
        wait_for(lambda: batches or failed, ARRIVE, "the first batch")
        copy = a.dir.parent / "a-backup.db"
        r = run_backup(a, copy)
    finally:
        done.set()
        editor.join()
    assert not failed, failed
    assert r.returncode == 0, r.stderr
    assert f"backed up to {copy}" in r.stdout and "checked" in r.stdout
    assert not copy.with_name(copy.name + ".tmp").exists()
    assert integrity(copy) == [("ok",)]
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    # one moment of the store: a whole number of batches, never a part
    in_copy = own_services(copy, a.community) - len(kept)
    assert in_copy % 50 == 0 and 0 < in_copy // 50 <= len(batches)
    # a single file: nothing beside it
    assert not copy.with_name(copy.name + "-wal").exists()
    # and the outbox's file, copied after the store, beside it
    outbox = copy.with_name("a-backup.outbox.db")
    assert f"backed up to {outbox}" in r.stdout
    assert integrity(outbox) == [("ok",)]
    assert oct(outbox.stat().st_mode & 0o777) == "0o600"

    # edits after the backup reach the hub; the restored store lacks them
    sid = next(iter(kept))
    replace(a, sid, "a edited after the backup")
    gone = next(iter(batches[-1]))
    delete(a, gone)
    late = create(a, "a created after the backup")
    want = dict(titles(a.public_port, a.community))
    assert want[sid] == "a edited after the backup" and late in want
    assert gone not in want
    everywhere([hub.public_port, b.public_port], a.community,
               lambda t: t == want, "a's edits after the backup")

    hub_mark = hub.log_mark()
    a.stop()
    restore(a, copy)
    b_late = create(b, "b while a was restored")   # the rest to catch up
    a.start()
    a.wait_connected(ARRIVE)
    everywhere([a.public_port, hub.public_port, b.public_port], a.community,
               lambda t: t == want, "a's records since the backup back")
    everywhere([a.public_port], b.community,
               lambda t: set(t) == {b_first, b_late}, "b's records at a")
    hub.wait_log(rf"session {a.community}: node store went back in time",
                 since=hub_mark)

    def acked():
        cs = hub.communities()
        return all(cs[n.community]["up_lag"] == 0 and
                   cs[n.community]["down_lag"] == 0 for n in (a, b))
    wait_for(acked, ARRIVE, "every stream acked")
    for d in (a, b, hub):
        d.stop()
    assert_stores_agree(hub, [a, b])


def test_hub_backup_restored_serves_same_registry_and_catalog(alliance):
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    for node in (a, b):
        for i in range(3):
            create(node, f"{node.community} service {i}")
        everywhere([hub.public_port], node.community,
                   lambda t: len(t) == 3, "the services at the hub")
    registry = {k: v["name"] for k, v in hub.communities().items()}
    catalog = {k: s["title"] for k, s in catalog_all(hub.public_port).items()}

    copy = hub.dir.parent / "hub-backup.db"
    r = run_backup(hub, copy)
    assert r.returncode == 0, r.stderr
    assert integrity(copy) == [("ok",)]

    for d in (a, b, hub):
        d.stop()
    # a stopped daemon's store too, leaving no -wal or -shm behind
    again = hub.dir.parent / "hub-stopped.db"
    r = run_backup(hub, again)
    assert r.returncode == 0, r.stderr
    assert integrity(again) == [("ok",)]
    assert sorted(p.name for p in hub.dir.glob("hub.db*")) == ["hub.db"]
    # the store lost: without the backup the hub would start empty
    (hub.dir / "hub.db").write_bytes(b"")
    restore(hub, copy)
    hub.start()
    assert {k: v["name"] for k, v in hub.communities().items()} == registry
    assert {k: s["title"] for k, s in
            catalog_all(hub.public_port).items()} == catalog
    for node in (a, b):
        node.start()
        node.wait_connected(ARRIVE)


def test_backup_refuses_bad_input_and_writes_nothing(alliance, tmp_path):
    al = alliance(1)
    hub, (a,) = al.hub, al.nodes
    create(a, "something to copy")

    # FILE in a directory that does not exist
    r = run_backup(a, tmp_path / "nowhere" / "a.db")
    assert r.returncode == 2 and "no such directory" in r.stderr, r
    assert not (tmp_path / "nowhere").exists()

    # FILE exists: kept as it was; --force replaces it
    there = tmp_path / "there.db"
    there.write_bytes(b"an older backup")
    r = run_backup(a, there)
    assert r.returncode == 2 and "exists (--force" in r.stderr, r
    assert there.read_bytes() == b"an older backup"
    r = run_backup(a, there, "--force")
    assert r.returncode == 0, r.stderr
    assert integrity(there) == [("ok",)]

    # the outbox's file beside FILE exists: refused before either copy
    fresh, its_outbox = tmp_path / "fresh.db", tmp_path / "fresh.outbox.db"
    its_outbox.write_bytes(b"an older outbox")
    r = run_backup(a, fresh)
    assert r.returncode == 2 and "fresh.outbox.db: exists (--force" in \
        r.stderr, r
    assert not fresh.exists() and not list(tmp_path.glob("fresh.db*"))
    assert its_outbox.read_bytes() == b"an older outbox"

    # the store itself, even with --force: stopped, so that nothing but
    # the backup could touch it (a running node checkpoints its WAL)
    a.stop()
    store = a.dir / "node.db"
    before = (store.stat().st_mtime_ns, store.read_bytes())
    r = run_backup(a, store, "--force")
    assert r.returncode == 2 and "is the store itself" in r.stderr, r
    assert (store.stat().st_mtime_ns, store.read_bytes()) == before
    a.start()
    a.wait_connected()

    # a config that cannot be read, a directory as config
    for conf in (tmp_path / "missing.conf", tmp_path):
        r = run_backup(a, tmp_path / "x.db", conf=conf)
        assert r.returncode == 2 and str(conf) in r.stderr, r
        r = run_backup(hub, tmp_path / "x.db", conf=conf)
        assert r.returncode == 2 and str(conf) in r.stderr, r
    assert not (tmp_path / "x.db").exists()

    # arguments: no FILE, two FILEs, an unknown option
    for args in (["backup", "-c", str(a.conf)],
                 ["backup", "-c", str(a.conf), "x.db", "y.db"],
                 ["backup", "--fast", "-c", str(a.conf), "x.db"]):
        r = subprocess.run([str(BUILD / "alliance-node"), *args],
                           capture_output=True, text=True, env=_env(),
                           cwd=tmp_path, timeout=60)
        assert r.returncode == 2 and "backup" in r.stderr, r
    assert not list(tmp_path.glob("?.db*"))

    # no store where the config says: exit 3, nothing written
    conf = tmp_path / "nostore.conf"
    conf.write_text(a.conf.read_text().replace(
        "path = node.db", f"path = {tmp_path / 'absent.db'}"))
    r = run_backup(a, tmp_path / "y.db", conf=conf)
    assert r.returncode == 3 and "no store" in r.stderr, r
    assert not (tmp_path / "absent.db").exists()
    assert not list(tmp_path.glob("y.db*"))


def test_backups_during_10000_record_sync_restore_and_converge(alliance):
    """The hub's and the node's backups taken while 10,000 records sync
    up are sound; the hub restored from its copy (which lacks what arrived
    after it) converges with the node: nothing lost."""
    al = alliance(2)
    hub, (a, b) = al.hub, al.nodes
    b_own = create(b, "b's own")
    ids = bulk(a, bulk_items(a.community, 10000))
    assert len(ids) == 10000
    wait_for(lambda: hub.live_services(a.community) > 0, ARRIVE,
             "the sync under way")
    hub_copy, a_copy = hub.dir.parent / "hub-mid.db", a.dir.parent / "a.db"
    r = run_backup(hub, hub_copy)
    assert r.returncode == 0, r.stderr
    r = run_backup(a, a_copy)
    assert r.returncode == 0, r.stderr
    for copy in (hub_copy, a_copy):
        assert integrity(copy) == [("ok",)]
    assert own_services(a_copy, a.community) == 10000
    at_backup = own_services(hub_copy, a.community)
    assert 0 < at_backup <= 10000
    print(f"the hub's copy holds {at_backup} of the 10,000")

    wait_for(lambda: hub.live_services(a.community) == 10000, 300,
             "the 10,000 at the hub")
    for d in (a, b, hub):
        d.stop()
    restore(hub, hub_copy)
    hub.start()
    for d in (a, b):
        d.start()
        d.wait_connected(ARRIVE)
    wait_for(lambda: hub.live_services(a.community) == 10000, 300,
             "the 10,000 back at the hub after its restore")
    wait_for(lambda: b.live_services(a.community) == 10000, 300,
             "the 10,000 at b")
    everywhere([a.public_port], b.community, lambda t: set(t) == {b_own},
               "b's record at a")

    def acked():
        cs = hub.communities()
        return all(cs[n.community]["up_lag"] == 0 and
                   cs[n.community]["down_lag"] == 0 for n in (a, b))
    wait_for(acked, ARRIVE, "every stream acked")
    for d in (a, b, hub):
        d.stop()
    assert_stores_agree(hub, [a, b])

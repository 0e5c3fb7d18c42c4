"""A real PostgreSQL 15 cluster for the system tests (issue 18): Debian's
postgresql-15 (`make deps`), initdb'd in a fresh directory, reached on a
unix socket in that directory only (listen_addresses is empty, so no port
is taken), and stopped at teardown.

initdb refuses root, and CI runs as root: then the cluster runs as an
unprivileged user, Debian's "postgres" (postgresql-common makes it) or
else one made here ("alliance-pg"), through runuser. The directory is
made outside pytest's tmp dirs (root's are closed to other users) and
removed after. Its superuser is "alliance" with trust authentication on
the socket only; the hub's conninfo is `PgCluster.conninfo`.

`psql(sql)` runs SQL as the superuser and returns the rows as lists of
text (tab-separated output, no headers).

`PgPair` is a primary and a synchronous hot standby (issue 18, item 4),
each a cluster in its own directory with its own socket; its conninfo is
libpq's multi-host form with target_session_attrs=read-write, as a hub
replica takes it. `pair.primary.kill()` SIGKILLs the primary's processes
(its machine lost); `pair.standby.promote()` makes the standby the primary
(pg_ctl promote, what pg_auto_failover or Patroni does).
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DB = "alliance"
SUPERUSER = "alliance"
# Seconds pg_ctl waits for a start or a stop.
PG_CTL_WAIT = 60


def _run_as():
    """The argv prefix that runs a command as the cluster's owner: nothing
    when we are not root; else runuser to "postgres" or "alliance-pg"."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "alliance-pg"):
        try:
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home",
                    "--shell", "/usr/sbin/nologin", "alliance-pg"],
                   check=True)
    return ["runuser", "-u", "alliance-pg", "--"]


def available():
    """True when PostgreSQL 15's server programs are installed."""
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


class PgCluster:
    """One PostgreSQL cluster in its own directory, started by start()."""

    def __init__(self):
        self.as_owner = _run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="alliance-pg-"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.sock.mkdir()
        os.chmod(self.sock, 0o777)
        self.log = self.dir / "postgresql.log"
        self.port = 5432        # names the socket file only
        if self.as_owner:
            owner = self.as_owner[2]
            shutil.chown(self.dir, owner)
            shutil.chown(self.sock, owner)
        self.running = False

    @property
    def conninfo(self):
        """libpq conninfo of the cluster's database, as the hub takes it."""
        return self.conninfo_of(DB)

    def conninfo_of(self, db):
        """libpq conninfo of database db of the cluster."""
        return (f"host={self.sock} port={self.port} dbname={db} "
                f"user={SUPERUSER} connect_timeout=5")

    def _owner(self, argv, check=True):
        return subprocess.run(self.as_owner + [str(a) for a in argv],
                              capture_output=True, text=True, check=check,
                              timeout=PG_CTL_WAIT + 30)

    def init(self):
        self._owner([PG_BIN / "initdb", "-D", self.data, "-U", SUPERUSER,
                     "-A", "trust", "--no-sync", "-E", "UTF8"])
        self._configure()
        return self

    def _configure(self):
        # (appended: a standby's copy of its primary's file is overridden)
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("listen_addresses = ''\n"
                    f"unix_socket_directories = '{self.sock}'\n"
                    f"port = {self.port}\n"
                    "fsync = off\n"
                    "max_connections = 50\n")

    def base_backup_of(self, primary):
        """Make this cluster a hot standby of primary: pg_basebackup with
        -R (standby.signal, and primary_conninfo on primary's socket)."""
        self._owner([PG_BIN / "pg_basebackup", "-h", primary.sock, "-p",
                     primary.port, "-U", SUPERUSER, "-D", self.data, "-R",
                     "-X", "stream", "-c", "fast", "--no-sync"])
        self._configure()
        return self

    def kill(self):
        """SIGKILL the postmaster and every process of it, as the loss of
        its machine would: no shutdown, no WAL sent after; wait until all
        are gone."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        pids = [pid] + _children(pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + PG_CTL_WAIT
        while any(_alive(p) for p in pids):
            assert time.monotonic() < deadline, f"{pids} outlived SIGKILL"
            time.sleep(0.05)
        self.running = False

    def wal_sender(self):
        """The pid of a primary's WAL sender to its standby."""
        rows = self.psql("SELECT pid FROM pg_stat_replication",
                         db="postgres")
        assert len(rows) == 1, rows
        return int(rows[0][0])

    def promote(self):
        """pg_ctl promote: the standby leaves recovery and takes writes;
        returns when it does."""
        r = self._owner([PG_BIN / "pg_ctl", "-D", self.data, "-w", "-t",
                         PG_CTL_WAIT, "promote"], check=False)
        assert r.returncode == 0, f"pg_ctl promote: {r.stderr}{self.tail()}"

    def start(self):
        r = self._owner([PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log,
                         "-w", "-t", PG_CTL_WAIT, "start"], check=False)
        assert r.returncode == 0, f"pg_ctl start: {r.stderr}{self.tail()}"
        self.running = True
        return self

    def stop(self, mode="fast"):
        if not self.running:
            return
        self._owner([PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w",
                     "-t", PG_CTL_WAIT, "stop"])
        self.running = False

    def create_db(self):
        self.psql(f"CREATE DATABASE {DB}", db="postgres")
        return self

    def psql(self, sql, db=DB):
        """Run sql (one or more statements); the rows, each a list of
        text columns."""
        r = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-A", "-t",
                            "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-h", str(self.sock), "-p", str(self.port),
                            "-U", SUPERUSER, "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"psql: {r.stderr}"
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def tail(self, n=40):
        try:
            return "\n" + "\n".join(
                self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _children(pid):
    """The pids whose parent is pid (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d.name))
    return out


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
    except OSError:
        return False
    return state.split()[0] != "Z"


class PgPair:
    """A primary and a synchronous hot standby of it.

    synchronous_commit is `on` (the default) with synchronous_standby_names
    = '*': a commit returns once the standby has flushed its WAL, and a
    promotion replays all the WAL flushed before it takes writes, so every
    commit a hub saw succeed survives the primary's loss. `remote_apply`
    would also make the commit visible on the standby before it returns;
    that matters only to reads served by a standby, and a hub reads and
    writes on the read-write server alone (target_session_attrs)."""

    def __init__(self):
        self.primary = PgCluster()
        self.standby = PgCluster()

    @property
    def conninfo(self):
        """libpq's multi-host conninfo: the primary, then the standby; the
        first that takes writes is used."""
        hosts = ",".join(str(c.sock) for c in (self.primary, self.standby))
        ports = ",".join(str(c.port) for c in (self.primary, self.standby))
        return (f"host={hosts} port={ports} dbname={DB} user={SUPERUSER}"
                " connect_timeout=5 target_session_attrs=read-write")

    def start(self):
        """Start the primary, its database and the standby; return once
        the standby is the primary's synchronous standby, streaming."""
        self.primary.init().start().create_db()
        self.standby.base_backup_of(self.primary).start()
        self.primary.psql("ALTER SYSTEM SET synchronous_standby_names"
                          " = '*'", db="postgres")
        self.primary.psql("ALTER SYSTEM SET synchronous_commit = 'on'",
                          db="postgres")
        self.primary.psql("SELECT pg_reload_conf()", db="postgres")
        deadline = time.monotonic() + PG_CTL_WAIT
        while self.primary.psql(
                "SELECT count(*) FROM pg_stat_replication WHERE"
                " sync_state = 'sync' AND state = 'streaming'",
                db="postgres") != [["1"]]:
            assert time.monotonic() < deadline, \
                f"no synchronous standby:{self.standby.tail()}"
            time.sleep(0.05)
        return self

    def stop(self):
        for c in (self.standby, self.primary):
            try:
                c.stop(mode="immediate")
            finally:
                c.remove()


@pytest.fixture
def pg_pair():
    """A started PgPair with an empty database; stopped and removed at
    the end of the test."""
    if not available():
        pytest.fail("PostgreSQL 15 is not installed: make deps")
    pair = PgPair()
    try:
        yield pair.start()
    finally:
        pair.stop()


@pytest.fixture
def pg():
    """A started PostgreSQL 15 cluster with an empty database; stopped and
    removed at the end of the test."""
    if not available():
        pytest.fail("PostgreSQL 15 is not installed: make deps")
    cluster = PgCluster()
    try:
        cluster.init().start().create_db()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            cluster.remove()

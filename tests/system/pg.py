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
"""

import os
import pwd
import shutil
import subprocess
import tempfile
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
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("listen_addresses = ''\n"
                    f"unix_socket_directories = '{self.sock}'\n"
                    f"port = {self.port}\n"
                    "fsync = off\n"
                    "max_connections = 50\n")
        return self

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

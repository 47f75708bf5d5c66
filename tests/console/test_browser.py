"""The console in a real browser: Debian's Chromium driven by Selenium, against a real server.

One uvicorn process and one browser for the module. Without Chromium the tests are skipped,
saying why; with LEAD_ROUTER_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser fails them.
Screenshots of the review, the queue and a lead page go to LEAD_ROUTER_SCREENSHOT_DIR when
set (the README's are made so), else to a temporary directory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth import service as auth_service
from app.console import words
from tests.conftest import Org
from tests.console.helpers import seed_practice
from tests.intake.helpers import person

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REQUIRED = os.environ.get("LEAD_ROUTER_REQUIRE_BROWSER") == "1"
ROOT = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} not found: apt-get install {package}"
    return None


MISSING = _missing()
if MISSING and REQUIRED:
    pytest.fail(f"browser tests required but {MISSING}", pytrace=False)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"no browser: {MISSING}")


@dataclass
class Seeded:
    org: Org
    other_org: Org
    reports_key: str
    revocable_key: str
    other_lead: str
    fresh_leads: list[str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "LEAD_ROUTER_DATABASE_URL": database_url,
        "LEAD_ROUTER_ENVIRONMENT": "test",
        "LEAD_ROUTER_RUN_WORKER_IN_PROCESS": "false",
        "LEAD_ROUTER_LOG_LEVEL": "WARNING",
        "LEAD_ROUTER_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _org(s: AsyncSession, name: str) -> Org:
    org = await auth_service.create_organization(s, name)
    _, token = await auth_service.create_key(s, org.id, "admin", ["admin"])
    return Org(org.id, token)


@pytest.fixture(scope="module")
async def seeded(engine: AsyncEngine, server: str) -> Seeded:
    async with AsyncSession(engine, expire_on_commit=False) as s:
        org = await _org(s, f"Browser Practice {uuid.uuid4().hex[:6]}")
        other = await _org(s, f"Other Practice {uuid.uuid4().hex[:6]}")
        _, reports_key = await auth_service.create_key(s, org.id, "marketing", ["reports:read"])
        _, revocable = await auth_service.create_key(s, org.id, "desk", ["leads:read"])
        await s.commit()
        await seed_practice(s, org)
        await seed_practice(s, other)
    ids = []
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        for i in range(12):
            body = person(i + 100, postal_code="60614", service={"text": "knee pain"},
                          urgency=["urgent", "soon", "routine"][i % 3])  # fmt: skip
            answer = await http.post("/v1/leads", json=body, headers=org.headers)
            assert answer.status_code in (200, 201), answer.text
            ids.append(answer.json()["lead_id"])
        theirs = await http.post("/v1/leads", json=person(999), headers=other.headers)
        assert theirs.status_code in (200, 201)
        other_lead = theirs.json()["lead_id"]
    async with engine.begin() as conn:
        # Received two days ago: attempts can be recorded at chosen local times since.
        await conn.execute(
            text("UPDATE leads SET received_at = received_at - interval '2 days' "
                 "WHERE id = ANY(:ids)"), {"ids": ids},
        )  # fmt: skip
    return Seeded(org, other, reports_key, revocable, other_lead, ids)


@pytest.fixture(scope="module")
def downloads() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lead-router-downloads-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("LEAD_ROUTER_SCREENSHOT_DIR")
    path = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver
    profile = tempfile.mkdtemp(prefix="lead-router-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- helpers ------------------------------------------------------------------------------


def wait_for(condition: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the page")
        time.sleep(0.1)


def css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def sign_in(driver: Any, base: str, key: str) -> None:
    driver.get(f"{base}/console/login")
    css(driver, "#api_key").send_keys(key)
    css(driver, ".login button[type=submit]").click()
    wait_for(lambda: "/console/login" not in driver.current_url)


def sign_out(driver: Any, base: str) -> None:
    driver.get(f"{base}/console/practice")
    css(driver, ".signout button").click()
    wait_for(lambda: "/console/login" in driver.current_url)


def cell_text(driver: Any, report: str, key: str, field: str) -> str:
    selector = f'table[data-report="{report}"] tr[data-key="{key}"] [data-field="{field}"]'
    return str(css(driver, selector).text).strip()


def api(
    base: str, org: Org, path: str, params: dict[str, str], accept: str = "application/json"
) -> httpx.Response:
    return httpx.get(f"{base}{path}", params=params, headers={**org.headers, "Accept": accept})


def review_params(driver: Any) -> dict[str, str]:
    return {
        "from": css(driver, 'input[name="from"]').get_attribute("value"),
        "to": css(driver, 'input[name="to"]').get_attribute("value"),
        "group_by": css(driver, "#group_by").get_attribute("value"),
    }


def check_funnel(driver: Any, base: str, org: Org) -> dict[str, str]:
    params = review_params(driver)
    report = api(base, org, "/v1/reports/funnel", params).json()
    for row in [*report["rows"], {**report["total"], "key": "total"}]:
        key = row["key"] if row["key"] is not None else ""
        for field in ("leads", "no_shows", "cancellations"):
            assert cell_text(driver, "funnel", key, field) == words.num(row[field]), (key, field)
        assert cell_text(driver, "funnel", key, "show_rate") == words.pct(row["show_rate"])
        assert cell_text(driver, "funnel", key, "booked").startswith(words.num(row["booked"]))
    return params


# --- the tests ----------------------------------------------------------------------------


def test_review_signs_in_and_matches_the_api(
    browser: Any, server: str, seeded: Seeded, shots: Path
) -> None:
    browser.get(f"{server}/console")
    wait_for(lambda: "/console/login" in browser.current_url)
    sign_in(browser, server, seeded.org.admin_key)
    assert browser.current_url.rstrip("/").endswith("/console")
    params = check_funnel(browser, server, seeded.org)
    assert params["group_by"] == "source"
    # The sections htmx loads after the funnel: speed to lead and drop-off, against the API.
    wait_for(lambda: css(browser, '#speed dd[data-field="median_seconds"]'))
    speed = api(server, seeded.org, "/v1/reports/speed-to-lead", params).json()["total"]
    head = css(browser, '#speed dd[data-field="median_seconds"]').text
    assert head == words.duration(speed["median_seconds"])
    assert css(browser, '#speed dd[data-field="never_attempted"]').text == words.num(
        speed["never_attempted"]
    )
    wait_for(lambda: css(browser, 'table[data-report="drop-off"]'))
    drop = api(server, seeded.org, "/v1/reports/drop-off", params).json()["total"]
    for stage in drop["stages"]:
        assert cell_text(browser, "drop-off", stage["stage"], "leads") == words.num(stage["leads"])
    wait_for(lambda: css(browser, 'table[data-report="calibration"]'))
    # The score factors load when opened.
    css(browser, "details.factors summary").click()
    wait_for(lambda: css(browser, 'table[data-report="calibration-factors"]'))
    browser.save_screenshot(str(shots / "review.png"))


def test_period_and_grouping_change(browser: Any, server: str, seeded: Seeded) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{server}/console")
    browser.find_element(By.LINK_TEXT, "Last 7 days").click()
    wait_for(lambda: css(browser, ".presets a[aria-current]").text == "Last 7 days")
    Select(css(browser, "#group_by")).select_by_value("team")
    css(browser, ".picker button[type=submit]").click()
    wait_for(lambda: "group_by=team" in browser.current_url)
    params = check_funnel(browser, server, seeded.org)
    first, last = dt.date.fromisoformat(params["from"]), dt.date.fromisoformat(params["to"])
    assert (last - first).days == 6
    # Team ids read as the teams' names.
    assert "Front desk" in css(browser, 'table[data-report="funnel"] tbody').text


def test_a_table_downloads_the_apis_csv(
    browser: Any, server: str, seeded: Seeded, downloads: Path
) -> None:
    browser.get(f"{server}/console?group_by=service")
    params = review_params(browser)
    css(browser, "#funnel a.csv").click()
    found = wait_for(lambda: [p for p in downloads.glob("funnel_*.csv")])
    body = found[0].read_bytes().decode()
    expected = api(server, seeded.org, "/v1/reports/funnel", params, "text/csv").text
    assert body == expected
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[-1]["row"] == "total"


def test_queue_claim_attempts_and_an_appointment(
    browser: Any, server: str, seeded: Seeded, shots: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(f"{server}/console/queue?status=all")
    ours = api(server, seeded.org, "/v1/handoffs", {"status": "all"}).json()["data"]
    rows = browser.find_elements("css selector", "#queue tbody tr")
    assert [r.get_attribute("data-lead") for r in rows] == [i["lead_id"] for i in ours]
    browser.save_screenshot(str(shots / "queue.png"))
    # Open the head of the queue from its row: the lead page, audited like the API's read.
    rows[0].find_element("css selector", "a").click()
    wait_for(lambda: "/console/leads/" in browser.current_url)
    assert ours[0]["lead_id"] in browser.current_url
    assert "Routing" in browser.page_source and "Timeline" in browser.page_source

    # Work as an active member of the front desk the leads went to, and claim the next one.
    team = next(i["team_id"] for i in ours if i["team_id"])
    members = api(server, seeded.org, f"/v1/teams/{team}/members", {}).json()["data"]
    me = next(m for m in members if m["status"] == "active")
    browser.get(f"{server}/console/queue")
    Select(css(browser, "#member_id")).select_by_value(me["id"])
    css(browser, ".me form button[type=submit]").click()
    wait_for(lambda: css(browser, "#claim-next"))
    css(browser, "#claim-next").click()
    wait_for(lambda: "/console/leads/" in browser.current_url)
    lead_id = browser.current_url.rsplit("/", 1)[-1]
    packet = httpx.get(f"{server}/v1/handoffs/{lead_id}", headers=seeded.org.headers).json()
    assert packet["member"]["id"] == me["id"] and packet["claimed_at"]
    assert "May we contact them now?" in browser.page_source

    # Record on a lead received two days ago with nothing recorded yet.
    lead_id = next(i for i in reversed(seeded.fresh_leads) if i != lead_id)
    browser.get(f"{server}/console/leads/{lead_id}")
    packet = httpx.get(f"{server}/v1/handoffs/{lead_id}", headers=seeded.org.headers).json()

    # A call at 23:30 yesterday in the lead's local time: refused by the calling hours.
    zone = ZoneInfo(packet["location"]["time_zone"] or "America/Chicago")
    yesterday = (dt.datetime.now(zone) - dt.timedelta(days=1)).date()
    at = {"night": f"{yesterday}T23:30", "noon": f"{yesterday}T12:00"}
    browser.execute_script(
        "document.getElementById('attempt-started').value = arguments[0]", at["night"]
    )
    Select(css(browser, "#attempt-outcome")).select_by_value("no_answer")
    css(browser, "#attempt-submit").click()
    refusal = wait_for(lambda: css(browser, "#refusal"))
    assert "calling hours" in refusal.text.lower()
    browser.save_screenshot(str(shots / "lead-refusal.png"))

    browser.execute_script(
        "document.getElementById('attempt-started').value = arguments[0]", at["noon"]
    )
    Select(css(browser, "#attempt-outcome")).select_by_value("connected")
    css(browser, "#attempt-submit").click()
    wait_for(lambda: "done=attempt" in browser.current_url)
    attempts = httpx.get(
        f"{server}/v1/leads/{lead_id}/contact-attempts", headers=seeded.org.headers
    )
    assert [a["outcome"] for a in attempts.json()["data"]] == ["connected"]

    start = (dt.datetime.now(zone) + dt.timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    browser.execute_script(
        "document.getElementById('appointment-start').value = arguments[0]", start
    )
    css(browser, "#appointment-submit").click()
    wait_for(lambda: "done=appointment" in browser.current_url)
    appts = httpx.get(f"{server}/v1/leads/{lead_id}/appointments", headers=seeded.org.headers)
    assert [a["status"] for a in appts.json()["data"]] == ["booked"]
    browser.save_screenshot(str(shots / "lead.png"))


def test_forbidden_paths(browser: Any, server: str, seeded: Seeded) -> None:
    lead_id = api(server, seeded.org, "/v1/handoffs", {"status": "all"}).json()["data"][0][
        "lead_id"
    ]
    # A form without its CSRF token is refused.
    browser.get(f"{server}/console/practice")
    browser.execute_script("document.querySelector('.signout input[name=csrf_token]').remove()")
    css(browser, ".signout button").click()
    wait_for(lambda: "403" in css(browser, "h1").text)
    # Another organisation's lead is a 404 page.
    browser.get(f"{server}/console/leads/{seeded.other_lead}")
    assert "404" in css(browser, "h1").text
    sign_out(browser, server)
    # A reports-only key reads the review, and gets a 403 page on a lead.
    sign_in(browser, server, seeded.reports_key)
    browser.get(f"{server}/console/leads/{lead_id}")
    assert "403" in css(browser, "h1").text and "leads:read" in browser.page_source
    browser.get(f"{server}/console/queue")
    assert "403" in css(browser, "h1").text
    sign_out(browser, server)
    browser.get(f"{server}/console")
    wait_for(lambda: "/console/login" in browser.current_url)


def test_a_revoked_keys_session_stops(browser: Any, server: str, seeded: Seeded) -> None:
    sign_in(browser, server, seeded.revocable_key)
    browser.get(f"{server}/console/queue")
    assert "Intake queue" in css(browser, "h1").text
    keys = httpx.get(f"{server}/v1/api-keys", headers=seeded.org.headers).json()["data"]
    mine = next(k for k in keys if seeded.revocable_key.startswith(k["prefix"]))
    assert httpx.delete(f"{server}/v1/api-keys/{mine['id']}", headers=seeded.org.headers).is_success
    browser.get(f"{server}/console/queue")
    wait_for(lambda: "/console/login" in browser.current_url)
    assert "revoked" in browser.page_source


def _try_out(driver: Any, operation: str) -> str:
    """Expand an operation in /docs, execute it with its defaults, and read the status."""
    block = f"#{operation}"
    if "is-open" not in css(driver, block).get_attribute("class"):
        css(driver, f"{block} .opblock-summary-control").click()
    try_out = wait_for(lambda: css(driver, f"{block} .try-out__btn"))
    if "cancel" not in try_out.get_attribute("class"):
        try_out.click()
    wait_for(lambda: css(driver, f"{block} .execute")).click()
    status = wait_for(
        lambda: css(driver, f"{block} .live-responses-table tbody .response-col_status")
    )
    return str(status.text).split()[0]


def test_api_docs_authorize_with_a_key_and_call_the_api(
    browser: Any, server: str, seeded: Seeded
) -> None:
    """/docs, served offline, takes an API key through its Authorize button and sends it."""
    browser.get(f"{server}/docs")
    wait_for(lambda: css(browser, "button.authorize"))
    operation = "operations-api_keys-list_api_keys"
    assert _try_out(browser, operation) == "401"
    css(browser, "button.authorize").click()
    wait_for(lambda: css(browser, "#auth-bearer-value")).send_keys(seeded.org.admin_key)
    css(browser, ".auth-btn-wrapper button.authorize").click()
    wait_for(lambda: css(browser, ".auth-btn-wrapper .btn-done")).click()
    assert "locked" in css(browser, "button.authorize").get_attribute("class")
    css(browser, f"#{operation} .btn-clear").click()
    assert _try_out(browser, operation) == "200"
    shown = css(browser, f"#{operation} .live-responses-table tbody").text
    keys = httpx.get(f"{server}/v1/api-keys", headers=seeded.org.headers).json()["data"]
    assert keys and all(k["prefix"] in shown for k in keys), shown

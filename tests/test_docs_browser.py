"""The docs site in a real browser: Debian's Chromium (installed by
scripts/ensure-chromium.sh when missing) driven by Playwright's Python package
opens the static site `pitstop docs --static` wrote, and the site that
`pitstop docs serve` serves on 127.0.0.1, and checks that a feature view's page
shows its entity, TTL, owner and lineage and that the overview lists the views.
Screenshots go to target/docs-screenshots/ for a person to look at."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _docs_site import docs_site  # noqa: F401  (a session fixture)
from conftest import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "target" / "docs-screenshots"
VIEWS = (
    "customer_profile",
    "customer_transaction_windows",
    "merchant_chargeback_windows",
    "merchant_daily_stats",
    "merchant_risk_snapshot",
)
# Chromium must not reach the network: every host name fails to resolve, except
# the loopback address `pitstop docs serve` listens on
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile directory."""
    if not CHROMIUM.exists():
        done = subprocess.run([str(ROOT / "scripts" / "ensure-chromium.sh")], check=False)
        if done.returncode != 0 or not CHROMIUM.exists():
            pytest.fail("/usr/bin/chromium is missing and scripts/ensure-chromium.sh failed")
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="pitstop-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 1800},
        )
        try:
            yield context
        finally:
            context.close()


def _open(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    # dbt docs renders with Angular after loading its data
    page.wait_for_selector("text=Overview", timeout=60_000)
    return page


def _shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_overview_lists_every_feature_view(
    browser: BrowserContext,
    docs_site: Path,  # noqa: F811
) -> None:
    site = docs_site / "target" / "static_index.html"
    page = _open(browser, f"{site.as_uri()}#!/overview")
    page.wait_for_selector("text=the feature registry", timeout=60_000)
    body = page.inner_text("body")
    for view in VIEWS:
        assert view in body
        link = page.locator(f"a[href='#!/model/model.pitstop.{view}']").first
        assert link.is_visible()
    assert "fraud_training_set" in body and "newest 2025-07-01" in body
    assert _shot(page, "overview").stat().st_size > 10_000
    # a link from the catalog leads to the view's page
    page.locator("a[href='#!/model/model.pitstop.merchant_daily_stats']").first.click()
    page.wait_for_selector("text=Column lineage", timeout=60_000)
    page.close()


def test_feature_view_page_shows_contract_owner_and_lineage(
    browser: BrowserContext,
    docs_site: Path,  # noqa: F811
) -> None:
    site = docs_site / "target" / "static_index.html"
    page = _open(browser, f"{site.as_uri()}#!/model/model.pitstop.merchant_daily_stats")
    page.wait_for_selector("text=Column lineage", timeout=60_000)
    contract = page.locator("table", has=page.locator("text=Feature timestamp")).first
    rows = dict(
        (cells[0].strip(), cells[1].strip())
        for cells in (
            row.locator("td").all_inner_texts() for row in contract.locator("tbody tr").all()
        )
        if len(cells) == 2
    )
    assert rows["Entity"] == "merchant, key merchant_id (bigint)"
    assert rows["TTL"] == "7d"
    assert rows["Feature timestamp"] == "window_end_at"
    assert rows["Owner"].startswith("merchant-risk@pitstop.dev")
    # dbt docs' own OWNER and TAGS fields, from the dbt group and tags
    details = page.locator(".detail").all_inner_texts()
    assert any("OWNER" in d.upper() and "merchant-risk@pitstop.dev" in d for d in details)
    assert any("TAGS" in d.upper() and "merchant" in d and "activity" in d for d in details)
    lineage = page.locator("table", has=page.locator("text=Computed from")).first
    text = lineage.inner_text()
    assert "amount_sum_1d" in text and "stg_payments__transactions" in text
    assert "payments.transactions" in text and "transacted_at" in text
    body = page.inner_text("body")
    assert "pitstop:generated" not in body  # the marker renders as nothing
    assert "feature_freshness" in body
    assert _shot(page, "merchant_daily_stats").stat().st_size > 10_000
    page.close()


def test_training_model_page_shows_its_feature_service(
    browser: BrowserContext,
    docs_site: Path,  # noqa: F811
) -> None:
    site = docs_site / "target" / "static_index.html"
    page = _open(browser, f"{site.as_uri()}#!/model/model.pitstop.fraud_training_set")
    page.wait_for_selector("text=Feature service", timeout=60_000)
    body = page.inner_text("body")
    assert "customer_profile__tier" in body and "Label: is_fraud" in body
    _shot(page, "fraud_training_set")
    page.close()


def test_docs_serve_on_loopback(
    browser: BrowserContext,
    docs_site: Path,  # noqa: F811
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH", "DBT_PROFILES_DIR")}
    command = [sys.executable, "-m", "pitstop", "--project-dir", str(docs_site)]
    server = subprocess.Popen(
        [*command, "docs", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert "http://127.0.0.1:" in line, line + (server.stderr.read() if server.stderr else "")
        url = line.split("at ", 1)[1].split()[0]
        page = _open(browser, f"{url}#!/overview")
        page.wait_for_selector("text=the feature registry", timeout=60_000)
        assert all(view in page.inner_text("body") for view in VIEWS)
        page.close()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

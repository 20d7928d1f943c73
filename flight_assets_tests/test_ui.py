"""The Dagster UI in a real browser: Debian's headless Chromium driven by Playwright (never a downloaded browser),
against the `dagster dev` of the SQLite end-to-end flow (started once per session, shared with test_e2e.py).

Assertions are on the rendered DOM. Screenshots go to a temporary folder, or to FLIGHT_UI_SCREENSHOTS (e.g. `docs`)
to refresh the ones the README shows.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from flight_assets_tests.e2e_support import (
    HOURS,
    LOCATION,
    POLLER_LOCATION,
    REPO_ROOT,
    REPOSITORY,
    E2EFlow,
    shared_sqlite_flow,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium's own background connections are refused on a closed network and stall pages.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
UI_TIMEOUT_MS = 60_000


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def flow(request: pytest.FixtureRequest) -> E2EFlow:
    return shared_sqlite_flow(request)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("FLIGHT_UI_SCREENSHOTS")
    folder = (REPO_ROOT / configured) if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium not found (/usr/bin/chromium): install Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                                  "(pip install -e '.[dev]')")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1440, "height": 900},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        sync_api.expect.set_options(timeout=UI_TIMEOUT_MS)  # the first load compiles the UI's GraphQL: be patient
        yield context
        context.close()


@pytest.fixture
def page(browser: Any, flow: E2EFlow) -> Iterator[Any]:
    assert flow.dagster.should_show_nux() is False  # set by the flow with setNuxSeen: no first-visit pop-up
    page = browser.new_page()
    yield page
    page.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)  # waits up to UI_TIMEOUT_MS (set with the browser)


def no_pop_up(page: Any) -> None:
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_asset_graph_shows_the_three_assets_and_their_checks(page: Any, flow: E2EFlow, screenshots: Path) -> None:
    page.goto(f"{flow.dagster.url}/assets/country_aggregates?view=lineage&lineageScope=upstream&lineageDepth=2")
    graph = page.locator("foreignObject")
    for asset in ("raw_snapshots", "validated_states", "country_aggregates"):
        expect(graph.get_by_text(asset, exact=True)).to_be_visible()
    for group in ("ingestion", "validation", "aggregation"):
        expect(graph.get_by_text(group, exact=True)).to_be_visible()
    # The check summaries on the nodes: completeness warns (2 snapshots where 120 were planned), the rest pass.
    # (An hour the automation builds from the poll sensor's few snapshots, when an hour closes during the flow,
    # also warns on row_count_anomaly: 4 / 6.)
    validated = graph.filter(has_text="validated_states").last
    expect(validated.get_by_text(re.compile(r"^[45] / 6 Passed$"))).to_be_visible()
    aggregates = graph.filter(has_text="country_aggregates").last
    expect(aggregates.get_by_text("2 / 2 Passed")).to_be_visible()
    no_pop_up(page)
    page.screenshot(path=screenshots / "asset-graph.png")


def test_partitions_page_lists_the_materialized_hours(page: Any, flow: E2EFlow, screenshots: Path) -> None:
    hour = HOURS[1]
    page.goto(f"{flow.dagster.url}/assets/validated_states?view=partitions&partition={quote(hour)}"
              f"&status={quote('FAILED,MATERIALIZED,MATERIALIZING')}")
    # The recorded hours, plus any hour the automation built from the poll sensor's snapshots when an hour closed
    # during the flow: the page shows what the instance holds.
    built = {m["partition"] for m in flow.dagster.materializations("validated_states")}
    assert set(HOURS) <= built
    expect(page.get_by_text(f"Materialized ({len(built)})")).to_be_visible()
    for key in HOURS:
        expect(page.get_by_text(key, exact=True).first).to_be_visible()
    # The selected hour's materialization and its metadata, as the run reported it.
    expect(page.locator(f'[data-tooltip="{hour}"]').filter(has_text="Materialized")).to_be_visible()
    run_id = flow.dagster.runs(tags={"dagster/backfill": flow.backfill_id})[0]["runId"]
    expect(page.locator(f'a[href^="/runs/{run_id}"]')).to_have_text(run_id[:8])
    metadata = page.locator("table").filter(has_text="quality_score")
    for label, value in (("rows", "21156"), ("quarantined_rows", "0"), ("snapshots", "2"),
                         ("distinct_aircraft", "10578")):
        row = metadata.locator("tr").filter(has=page.get_by_text(label, exact=True))
        expect(row.first).to_contain_text(value)
    no_pop_up(page)
    page.screenshot(path=screenshots / "partitions.png")


def test_check_result_page_shows_its_metadata(page: Any, flow: E2EFlow, screenshots: Path) -> None:
    page.goto(f"{flow.dagster.url}/assets/validated_states?view=checks&checkDetail=quality_score")
    # Every check of the asset is listed with its latest outcome.
    for name in ("schema_contract", "quality_score", "no_duplicate_states", "value_ranges", "completeness",
                 "row_count_anomaly"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    expect(page.get_by_text("This is a", exact=False).first).to_contain_text("blocking")
    expect(page.get_by_text("quality 100.00% (21,156 of 21,156 rows valid)")).to_be_visible()
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
    latest = flow.dagster.check_executions("validated_states", "quality_score")[0]
    expect(page.get_by_text(latest["partition"], exact=True).first).to_be_visible()
    for label, value in (("valid_rows", "21156"), ("total_rows", "21156"), ("quarantined_rows", "0"),
                         ("quality_score", "1")):
        row = page.locator("tr").filter(has=page.get_by_text(label, exact=True))
        expect(row.first).to_contain_text(value)
    no_pop_up(page)
    page.screenshot(path=screenshots / "check-result.png")


def open_check_partitions(page: Any, flow: E2EFlow, check: str) -> None:
    """The check's own Partitions tab (beside Overview / Execution history), not the asset's."""
    page.goto(f"{flow.dagster.url}/assets/validated_states?view=checks&checkDetail={check}")
    check_tabs = page.get_by_role("tablist").filter(has_text="Execution history")
    expect(check_tabs).to_be_visible()
    check_tabs.get_by_role("tab", name="Partitions").click()


def test_check_partitions_tab_shows_each_hour_passed(page: Any, flow: E2EFlow, screenshots: Path) -> None:
    # One status per hour, from the check result tied to that hour's materialization: every recorded hour passed
    # (and any hour the automation built when an hour closed during the flow), none failed.
    counts = flow.dagster.check_status_counts("validated_states", "quality_score")
    assert counts.get("SUCCEEDED", 0) >= len(HOURS) and not counts.get("FAILED")
    open_check_partitions(page, flow, "quality_score")
    expect(page.get_by_text(f"Passed ({counts['SUCCEEDED']})")).to_be_visible()
    expect(page.get_by_text("Failed (0)", exact=True)).to_be_visible()
    expect(page.get_by_text("Execution Failed (0)")).to_be_visible()
    no_pop_up(page)
    page.screenshot(path=screenshots / "check-partitions.png")
    # completeness warns in every recorded hour (2 snapshots where 120 were planned), shown as Failed per hour.
    warned = flow.dagster.check_status_counts("validated_states", "completeness").get("FAILED", 0)
    assert warned >= len(HOURS)
    open_check_partitions(page, flow, "completeness")
    expect(page.get_by_text(f"Failed ({warned})", exact=True)).to_be_visible()


def test_the_poller_is_a_code_location_of_its_own_with_its_runs(page: Any, flow: E2EFlow, screenshots: Path) -> None:
    page.goto(f"{flow.dagster.url}/locations")
    for name in (LOCATION, POLLER_LOCATION):
        expect(page.locator(f'a[href="/locations/{name}/"]')).to_be_visible()
    # Deployment → Code locations counts what each holds: the poller one job and one sensor, no asset.
    for what, count in (("assets", "0"), ("jobs", "1"), ("sensors", "1")):
        expect(page.locator(f'a[href="/locations/{POLLER_LOCATION}/{what}"]')).to_have_text(re.compile(f"{count}$"))
    no_pop_up(page)
    page.screenshot(path=screenshots / "code-locations.png")
    # The poll sensor's page: in the poller's location, targeting its job there, each tick linking the run it started.
    polls = [run for run in flow.dagster.runs(job="ingest_snapshot_job") if run["status"] == "SUCCESS"]
    assert len(polls) >= 2
    page.goto(f"{flow.dagster.url}/locations/{REPOSITORY}@{POLLER_LOCATION}/sensors/opensky_poll_sensor")
    expect(page.locator(f'a[href="/locations/{POLLER_LOCATION}/"]').first).to_be_visible()
    expect(page.locator(f'a[href="/locations/{POLLER_LOCATION}/jobs/ingest_snapshot_job"]')).to_be_visible()
    for run in polls:
        expect(page.locator(f'a[href="/runs/{run["runId"]}"]')).to_be_visible()

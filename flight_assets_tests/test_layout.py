"""The architecture the folders promise, checked on the import graph: pure domain packages have no Dagster import,
nothing in the product imports the development tools, and no module imports "upwards" into the Dagster wiring."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "flight_assets"
PURE = ("opensky", "ingestion", "lake", "states", "analytics")
# The CLI is the user's entry to the tools too (`flight-assets fake-opensky`, `demo`): it imports them lazily.
MAY_IMPORT_TOOLS = ("tools", "cli.py")


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules() -> dict[str, set[str]]:
    return {str(path.relative_to(PACKAGE)): imports_of(path) for path in PACKAGE.rglob("*.py")}


def test_pure_packages_and_the_lambda_handler_never_import_dagster() -> None:
    for name, imported in modules().items():
        if name.split("/")[0] in PURE or name in ("config.py", "redact.py", "alerts.py", "lambda_handler.py"):
            assert not {m for m in imported if m.split(".")[0] in ("dagster", "dagster_duckdb", "dagster_aws")}, name


def test_the_product_never_imports_the_development_tools() -> None:
    for name, imported in modules().items():
        if not name.startswith(MAY_IMPORT_TOOLS):
            assert not {m for m in imported if m.startswith("flight_assets.tools")}, name


def test_nothing_outside_the_wiring_imports_it() -> None:
    for name, imported in modules().items():
        if not name.startswith(("defs/", "definitions.py", "poll_definitions.py", "tools/demo.py")):
            assert not {m for m in imported if m.startswith(("flight_assets.defs", "flight_assets.definitions",
                                                             "flight_assets.poll_definitions"))}, name


def test_the_poller_location_loads_nothing_heavy() -> None:
    # Every 30-s poll run imports its whole code location: the poller's must not pull in the hourly tables' stack.
    probe = ("import sys, flight_assets.poll_definitions; "
             "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in HEAVY or m.startswith(OURS)))")
    heavy = ("pyarrow", "duckdb", "dagster_duckdb", "pandas", "numpy", "sqlglot")
    ours = ("flight_assets.states", "flight_assets.analytics", "flight_assets.lake.parquet", "flight_assets.tools")
    result = subprocess.run([sys.executable, "-c", f"HEAVY = {heavy!r}; OURS = {ours!r}; {probe}"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == []

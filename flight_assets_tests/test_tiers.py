"""The rule of the two test tiers (conftest.py, SLOW_PROGRAMS): a test that starts one of the slow programs must be
marked `slow`, and the guard fails one that is not, so no such test lands in `make test-fast` by mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flight_assets_tests.conftest import slow_program


def test_slow_programs_are_known_by_name_and_as_python_modules() -> None:
    assert slow_program(["/usr/local/bin/terraform", "init"]) == "Terraform"
    assert slow_program([b"/usr/local/bin/terraform", b"console"]) == "Terraform"
    assert slow_program([sys.executable, "-m", "dagster", "api", "grpc"]) == slow_program(["dagster", "dev"])
    assert slow_program(["/venv/bin/dagster-daemon", "run"]) == "the Dagster daemon"
    assert slow_program("initdb -D /tmp/pg") == "a PostgreSQL server"  # shell=True
    assert slow_program(["/usr/bin/chromium", "--headless"]) == "Chromium"
    # Our own CLI as a process, the programs Dagster's in-process runs start for their logs, `make`: fast.
    assert slow_program([sys.executable, "-m", "flight_assets.cli", "land", "x.json"]) is None
    assert slow_program(["tail", "-F", "-c", "+0", "/tmp/x.out"]) is None
    assert slow_program([sys.executable, "/venv/lib/dagster/_core/execution/scripts/watch_orphans.py", "1", "2"]) is None
    assert slow_program(["make", "-C", "/repo", "dagster-home"]) is None
    assert slow_program([]) is None


def test_an_unmarked_test_that_starts_a_slow_program_fails(tmp_path: Path) -> None:
    terraform = tmp_path / "bin" / "terraform"  # the name is what counts; this one only exits 0
    terraform.parent.mkdir()
    terraform.write_text("#!/bin/sh\nexit 0\n")
    terraform.chmod(0o755)
    (tmp_path / "conftest.py").write_text(
        "from flight_assets_tests.conftest import pytest_runtest_makereport, pytest_runtest_protocol  # noqa: F401\n")
    (tmp_path / "test_probe.py").write_text(
        "import subprocess\nimport pytest\n\n"
        f"TERRAFORM = {str(terraform)!r}\n\n"
        "def test_unmarked():\n    subprocess.run([TERRAFORM, 'version'], check=True)\n\n"
        "@pytest.mark.slow\ndef test_marked():\n    subprocess.run([TERRAFORM, 'version'], check=True)\n\n"
        "def test_no_program():\n    subprocess.run(['true'], check=True)\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: the tier rule\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rE", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                         os.environ.get("PYTHONPATH")]))})
    # The unmarked test's own call passed; its teardown reports the error (a passed call and an error, as pytest counts).
    assert "3 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "test_probe.py::test_unmarked started Terraform without the `slow` mark" in result.stdout
    assert "test_marked" not in result.stdout and "test_no_program" not in result.stdout

"""deploy/constraints.txt: the one dependency lock of the image and the Lambda package (fast, no network)."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned
    return pins


def test_constraints_pin_exactly_pyprojects_runtime_dependencies() -> None:
    dependencies = [Requirement(text) for text in
                    tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]]
    pins = _pins(DEPLOY / "constraints.txt")
    assert set(pins) == {canonicalize_name(r.name) for r in dependencies}
    for requirement in dependencies:
        pinned = pins[canonicalize_name(requirement.name)]
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", pinned), requirement.name
        assert requirement.specifier.contains(pinned, prereleases=True), (requirement, pinned)


def test_constraints_are_what_lock_py_generates_from_this_venv() -> None:
    spec = importlib.util.spec_from_file_location("deploy_lock", DEPLOY / "lock.py")
    assert spec and spec.loader
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    assert (DEPLOY / "constraints.txt").read_text() == lock.render(), "stale: run python deploy/lock.py"


def test_image_and_lambda_use_the_lock() -> None:
    assert re.search(r"^RUN pip install -c deploy/constraints\.txt \.", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert "COPY deploy/constraints.txt" in (DEPLOY / "Dockerfile").read_text()
    assert '"--constraint", str(CONSTRAINTS)' in (DEPLOY / "build_lambda.py").read_text()
    # the SDK the Lambda bundles is the image's, and so is every other package both pin (isal, msgspec)
    lock, bundled = _pins(DEPLOY / "constraints.txt"), _pins(DEPLOY / "lambda_requirements.txt")
    shared = set(lock) & set(bundled)
    assert {"boto3", "requests"} <= shared, shared
    for name in sorted(shared):
        assert bundled[name] == lock[name], name

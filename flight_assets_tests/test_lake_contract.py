"""deploy/terraform/lake_contract.json: the one lake contract Terraform reads, generated from the Python code (fast)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from flight_assets.lake import layout
from flight_assets.states.aggregation import COUNTRY_AGGREGATES_SCHEMA
from flight_assets.states.validation import QUARANTINE_SCHEMA, VALIDATED_SCHEMA

REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "deploy" / "terraform" / "lake_contract.json"
MODULES = REPO / "deploy" / "terraform" / "modules"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_lake_contract", REPO / "deploy" / "lake_contract.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_contract_is_what_the_script_generates_now() -> None:
    assert CONTRACT.read_text() == _generator().render(), "stale: run python deploy/lake_contract.py"
    check = subprocess.run([sys.executable, str(REPO / "deploy" / "lake_contract.py"), "--check"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_contract_follows_the_python_definitions() -> None:
    contract = json.loads(CONTRACT.read_text())
    tables = contract["tables"]
    for name, schema, prefix in [("validated_states", VALIDATED_SCHEMA, layout.VALIDATED_STATES_PREFIX),
                                 ("quarantined_states", QUARANTINE_SCHEMA, layout.QUARANTINE_STATES_PREFIX),
                                 ("country_aggregates", COUNTRY_AGGREGATES_SCHEMA, layout.COUNTRY_AGGREGATES_PREFIX)]:
        assert tables[name]["prefix"] == prefix
        assert [c["name"] for c in tables[name]["columns"]] == schema.names
        assert all(c["comment"] for c in tables[name]["columns"])
    assert tables["raw_states"]["prefix"] == layout.RAW_STATES_PREFIX
    assert {c["name"]: c["type"] for c in tables["validated_states"]["columns"]}["source_key"] == "string"  # dict
    assert {c["name"]: c["type"] for c in tables["quarantined_states"]["columns"]}["row_index"] == "int"
    assert contract["prefixes"] == {"raw": "raw/", "validated": "validated/", "quarantine": "quarantine/",
                                    "aggregates": "aggregates/", "state": "_state/"}
    assert layout.GOVERNOR_STATE_KEY.startswith(contract["prefixes"]["state"])
    # the projection template, filled in, is layout.hour_prefix's directory layout
    from datetime import UTC, datetime
    when = datetime(2025, 8, 30, 18, 18, 3, tzinfo=UTC)
    rendered = contract["partition_template"]
    for key, value in zip(contract["partition_keys"], ("2025", "08", "30", "18"), strict=True):
        rendered = rendered.replace("${" + key + "}", value)
    assert f"x/{rendered}" == layout.hour_prefix("x", when) + "/"


def test_modules_read_the_contract_instead_of_repeating_it() -> None:
    sources = {p.relative_to(MODULES).as_posix(): p.read_text() for p in MODULES.rglob("*.tf")}
    for path in ("analytics/tables.tf", "data_lake/main.tf", "ingestion/main.tf", "dagster_ecs/iam.tf"):
        assert 'jsondecode(file("${path.module}/../../lake_contract.json"))' in sources[path], path
    code = {path: "\n".join(line.split("#", 1)[0] for line in text.splitlines()) for path, text in sources.items()}
    for path, text in code.items():
        # no column list and no hand-written layer prefix in resource arguments
        assert not re.search(r'\{\s*name\s*=\s*"(icao24|snapshot_time|hour_start)"', text), path
        assert not re.search(r'\$\{local\.(lake_key_root|lake_arn)\}(raw|validated|quarantine|aggregates|_state)/',
                             text), path

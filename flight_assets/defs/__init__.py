"""Dagster wiring: one folder per domain (assets, checks, jobs, sensors), assembled by flight_assets/definitions.py.

Dagster warns, on every import of the code location (so in every run's log and the `make dev` terminal), about
APIs this project uses on purpose. Exactly those warnings are silenced here, by class and message; any other
warning still shows:
- PreviewWarning "Specifying a partitions_def on an AssetCheckSpec": per-hour check results need it, and Dagster
  1.13 has no GA way to get them (see defs/states/checks.py);
- BetaWarning for source-code references (`with_source_code_references` and the classes it builds) and for the
  `owners` parameter Dagster itself passes when it builds the automation sensor;
- dagster_shared's own use of pydantic's deprecated `__fields__`.
"""

import warnings

from dagster import BetaWarning, PreviewWarning

warnings.filterwarnings("ignore", category=PreviewWarning,
                        message=r"Specifying a partitions_def on an AssetCheckSpec")
warnings.filterwarnings(
    "ignore", category=BetaWarning,
    message=r"(Function `with_source_code_references`|Class `LocalFileCodeReference`|Class "
            r"`CodeReferencesMetadataValue`|Parameter `owners` of initializer `SensorDefinition.__init__`)",
)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"dagster_shared\.dagster_model")

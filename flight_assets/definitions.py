"""The code location: assembles each domain's definitions under defs/. Nothing else lives here."""

from __future__ import annotations

import dagster as dg

from flight_assets.defs import resources
from flight_assets.defs.ingestion import definitions as ingestion

defs = dg.Definitions.merge(resources.defs, ingestion.defs)

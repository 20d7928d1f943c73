"""The hourly tables' code location: assembles each domain's definitions under defs/. Nothing else lives here.

The 30-s poll job is a code location of its own, flight_assets/poll_definitions.py (it says why)."""

import dagster as dg

from flight_assets.defs import resources
from flight_assets.defs.ingestion import definitions as ingestion
from flight_assets.defs.operations import definitions as operations
from flight_assets.defs.states import definitions as states

defs = dg.Definitions.merge(resources.defs, ingestion.defs, states.defs, operations.defs)

from __future__ import annotations

import dagster as dg

from flight_assets.defs.ingestion.assets import raw_snapshots
from flight_assets.defs.ingestion.sensors import gap_repair_sensor, raw_landing_sensor

defs = dg.Definitions(assets=[raw_snapshots], sensors=[raw_landing_sensor, gap_repair_sensor])

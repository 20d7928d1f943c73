"""The one partitioning of the lake's hourly assets: UTC hours of the snapshot's own `time`."""

from __future__ import annotations

import dagster as dg

from flight_assets.config import partitions_start

hourly_partitions = dg.HourlyPartitionsDefinition(start_date=partitions_start(), timezone="UTC")

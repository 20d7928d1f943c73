"""Resources: the lake (both code locations) and the OpenSky ingester (the poller), driven by environment variables.
Nothing heavy here: the poller's runs import this module."""

from __future__ import annotations

import dataclasses
import os

import dagster as dg

from flight_assets.config import Settings, load_settings
from flight_assets.ingestion.poll import Ingester
from flight_assets.lake.store import Lake, open_lake
from flight_assets.opensky.secret import settings_with_secret


class FlightLakeResource(dg.ConfigurableResource):
    """The lake root. Unset fields fall back to FLIGHT_LAKE and AWS_ENDPOINT_URL."""

    uri: str | None = None
    endpoint_url: str | None = None

    def settings(self) -> Settings:
        settings = load_settings()
        return dataclasses.replace(
            settings,
            lake=self.uri or settings.lake,
            aws_endpoint_url=self.endpoint_url or settings.aws_endpoint_url,
        )

    def open(self) -> Lake:
        settings = self.settings()
        return open_lake(settings.lake, settings.aws_endpoint_url)


class OpenSkyResource(dg.ConfigurableResource):
    """OpenSky access from OPENSKY_* variables; credentials are read at run time, never stored in config: from
    OPENSKY_CLIENT_ID/SECRET, or from the Secrets Manager secret OPENSKY_SECRET_ARN (as the Lambda does). Read when
    a run needs them, so a secret without a value yet cannot stop the code server from loading."""

    def settings(self, lake: FlightLakeResource) -> Settings:
        base = lake.settings()
        settings = settings_with_secret(dict(os.environ))
        return dataclasses.replace(settings, lake=base.lake, aws_endpoint_url=base.aws_endpoint_url)

    def ingester(self, lake: FlightLakeResource, writer: str) -> Ingester:
        return Ingester(self.settings(lake), writer=writer)


# The lake, which every location uses; OpenSkyResource only the poller's job (defs/poll/definitions.py).
defs = dg.Definitions(resources={"lake": FlightLakeResource()})

"""The lake as a pyarrow filesystem, for readers that scan Parquet through Arrow (DuckDB's httpfs cannot be
installed offline). No Dagster import.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from flight_assets.config import aws_region


def s3_filesystem(endpoint_url: str | None = None) -> Any:
    """pyarrow's S3 filesystem for the lake's endpoint (credentials from the usual AWS environment/config)."""
    from pyarrow import fs

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = aws_region()
    kwargs: dict[str, Any] = {"region": region}
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
        kwargs["scheme"] = parts.scheme or "https"
    return fs.S3FileSystem(**kwargs)

"""The HTTP replies the server sends: JSON, text, OpenSky's 429 and error pages, OAuth errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flight_assets.tools.fake_opensky.settings import HTML_TYPE, JSON_TYPE, TEXT_TYPE


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = TEXT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def _json_reply(status: int, doc: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(doc).encode(), JSON_TYPE, headers or {})


def _text_reply(status: int, text: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, text.encode(), TEXT_TYPE, headers or {})


def _too_many_requests(retry_after: int) -> _Reply:
    return _Reply(
        429, b"Too many requests", TEXT_TYPE, {"X-Rate-Limit-Retry-After-Seconds": str(retry_after)}
    )


def _error_page(status: int) -> _Reply:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    page = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return _Reply(status, page.encode(), HTML_TYPE)


_MAINTENANCE_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    b"<title>OpenSky Network - Maintenance</title>\n</head>\n<body>\n"
    b"<h1>We'll be back soon!</h1>\n<p>The OpenSky Network API is undergoing scheduled maintenance. "
    b"Please try again later.</p>\n</body>\n</html>\n"
)


def _unauthorized(description: str) -> _Reply:
    return _text_reply(
        401,
        f"Unauthorized: {description}\n",
        {
            "WWW-Authenticate": f'Bearer realm="opensky-network", error="invalid_token", '
            f'error_description="{description}"'
        },
    )

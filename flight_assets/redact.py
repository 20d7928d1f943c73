"""Secrets never leave the process: one function masks them in any text that becomes a message, log line,
exception or metadata value. Pure Python, no Dagster (the Lambda handler imports it through the client).

Two passes, because either alone misses something: the known values (the client secret and the current bearer
token, also URL-encoded) wherever they appear, and anything shaped like a credential (`client_secret=…`,
`"access_token": "…"`, `Bearer …`) whose value we do not know, e.g. what a token endpoint or proxy echoes back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter "secrets" would mask ordinary words in every message; real client secrets and tokens are far longer.
MIN_SECRET_LENGTH = 4

_NAMES = r"client_secret|access_token|refresh_token|id_token|password|passwd|secret|authorization|api_key"
# name=value (forms, queries), "name": "value" (JSON, the quoted value whole), name: value (headers). A name inside
# a longer identifier (OPENSKY_CLIENT_SECRET in our own advice) does not match: `\b` needs a non-word character.
_NAMED = re.compile(
    rf"""(?i)\b((?:{_NAMES})["']?\s*[=:]\s*)(?:"[^"]*"|'[^']*'|(?!\*\*\*)[^"'&\s,;}}\]<]+)"""
)
_SCHEME = re.compile(r"(?i)\b(Bearer|Basic)(\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret and anything shaped like a credential replaced by `***`."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            for form in {secret, quote_plus(secret), quote(secret, safe="")}:
                text = text.replace(form, MASK)
    text = _SCHEME.sub(rf"\1\2{MASK}", text)
    return _NAMED.sub(lambda m: m[1] + (f'"{MASK}"' if m[0].endswith('"') else MASK), text)

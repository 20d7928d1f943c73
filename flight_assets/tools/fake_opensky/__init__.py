"""The project's own OpenSky-compatible HTTP server: `/api/states/all`, OAuth2 tokens, credits, 429s, faults.

Used by tests, benchmarks and the offline demo (`flight-assets fake-opensky`). Standard library only.

Sources of state vectors:
- `--replay PATH...`: recorded responses (JSON files, folders, zip archives), one per request, in order,
  cycling. Unfiltered requests get the recorded bytes exactly; a box / `icao24` / `extended=1` filter or
  `--retime` re-serialises. A bare JSON array of rows is wrapped as
  `{"time": max(last_contact), "states": rows}`.
- `--simulate N` (default when nothing is given: 500 aircraft): a deterministic fleet (per `--seed`) moving
  by dead reckoning along great circles, with the oddities of the real feed (empty / blank / inner-space
  callsigns, null positions, stale positions, negative altitudes, FLARM rows, ints for floats, null squawks).

Auth and credits follow the real API: OAuth2 client credentials at the Keycloak token path, `Bearer` tokens
that expire (401), per-identity credit budgets from `flight_assets.opensky.credits`, `X-Rate-Limit-Remaining` on
success and 429 `Too many requests` with `X-Rate-Limit-Retry-After-Seconds` when a call costs more than
what is left.

Faults, one per `/api/states/all` request (FIFO), from `FakeOpenSky.enqueue(...)` or `POST /_control/faults`:
  {"status": 500|502|503}             HTML error page with that status (any 4xx/5xx; 429 = {"kind": "429"})
  {"kind": "truncate"}                 the normal JSON body cut in the middle, Content-Length matching the cut
  {"kind": "html"}                     200 with an HTML maintenance page
  {"kind": "reset"}                    the socket is closed without any response (RST)
  {"kind": "delay", "seconds": s}      sleep s seconds, then answer normally
  {"kind": "body", "body": "...", "status": 200, "content_type": "application/json"}   exactly this body
  {"kind": "429", "retry_after": 61200}   429 `Too many requests` (default retry-after: --retry-after)
  {"kind": "redirect"}                 302 to the same path and query (one redirect hop)
Random faults: `--error-rate` (503 HTML), `--truncate-rate`, `--html-rate`, seeded by `--seed`.

History: an authenticated request with `time=T` gets the state at T like OpenSky's: T rounded down to 5 s,
400 when older than an hour; the simulated fleet at T, or (replay) the newest body served with time <= T within
the last hour (404 when it served nothing that early). Anonymous requests ignore `time`.

Other endpoints: `GET /redirect/<path>?q` → 302 `/<path>?q`; `GET /_control/state`; `POST /_control/faults`
(JSON list or object); `DELETE /_control/faults`; `POST /_control/expire-tokens`.
"""

from __future__ import annotations

from flight_assets.tools.fake_opensky.command import add_arguments, config_from_args, run
from flight_assets.tools.fake_opensky.faults import normalize_fault
from flight_assets.tools.fake_opensky.rows import category_for
from flight_assets.tools.fake_opensky.server import FakeOpenSky
from flight_assets.tools.fake_opensky.settings import (
    DEFAULT_SIMULATE,
    FAULT_KINDS,
    STATES_PATH,
    FakeOpenSkyConfig,
)
from flight_assets.tools.fake_opensky.simulation import SimulatedTraffic

__all__ = ["DEFAULT_SIMULATE", "FAULT_KINDS", "FakeOpenSky", "FakeOpenSkyConfig", "STATES_PATH", "SimulatedTraffic", "add_arguments", "category_for", "config_from_args", "normalize_fault", "run"]

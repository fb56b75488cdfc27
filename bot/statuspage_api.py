"""Read a page's incidents and maintenances from Statuspage's public, unauthenticated API.

The sweep's source: `/api/v2/incidents.json` and `/api/v2/scheduled-maintenances.json`, each
`{"page": {"id": …}, "incidents" | "scheduled_maintenances": [incident, …]}` with the same
incident shape as a webhook. Both are fetched side by side, each within 5 s.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bot.allowlist import Fetch, http_fetch
from bot.deadline import Deadline
from bot.payload import Ignored, Incident, parse_incident

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0
DOCUMENTS = (
    ("/api/v2/incidents.json", "incidents"),
    ("/api/v2/scheduled-maintenances.json", "scheduled_maintenances"),
)


class SourceError(RuntimeError):
    """The API could not be read, or is not our page's: nothing may be posted from it."""


@dataclass(frozen=True)
class Listing:
    incidents: list[Incident]  # incidents and maintenances, as the API lists them
    malformed: int  # items skipped because they do not validate


def fetch_listing(page_url: str, page_id: str, deadline: Deadline, fetch: Fetch = http_fetch) -> Listing:
    """Both documents, validated; raise SourceError saying what is wrong."""
    base = page_url.rstrip("/")

    def get(path: str) -> object:
        return fetch(base + path, deadline.http_timeout(FETCH_TIMEOUT_SECONDS))

    with ThreadPoolExecutor(max_workers=len(DOCUMENTS)) as pool:
        futures = [(path, key, pool.submit(get, path)) for path, key in DOCUMENTS]
    incidents: list[Incident] = []
    malformed = 0
    for path, key, future in futures:
        try:
            document = future.result()
        except Exception as exc:
            raise SourceError(f"could not read {base}{path} ({type(exc).__name__}: {exc})") from exc
        items = _items(document, key, page_id, base + path)
        for index, raw in enumerate(items):
            try:
                incidents.append(parse_incident(raw))
            except Ignored as exc:
                malformed += 1
                item = raw.get("id") if isinstance(raw, dict) else None
                log.warning(
                    f"Skipped a malformed item of {path}: {exc.reason}",
                    extra={"json_fields": {"index": index, "id": item if isinstance(item, str) else None}},
                )
    return Listing(incidents, malformed)


def _items(document: object, key: str, page_id: str, url: str) -> list[object]:
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise SourceError(f"{url} is not a Statuspage API document (no {key!r} list)")
    page = document.get("page")
    got = page.get("id") if isinstance(page, dict) else None
    if got != page_id:
        raise SourceError(
            f"{url} is page {got!r}, not this function's page {page_id!r}: STATUSPAGE_URL points at "
            "someone else's status page; set it to the public URL of page STATUSPAGE_PAGE_ID"
        )
    return document[key]

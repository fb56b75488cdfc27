"""Is this caller Atlassian Statuspage? Fetches, caches and falls back for the IP ranges."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.deadline import Deadline
from bot.ipranges import IPAddress, IPRanges, statuspage_cidrs

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0
# After a failed fetch, wait this long before the next try, so that an outage of the
# range service does not add a 5 s timeout to every request.
RETRY_AFTER_SECONDS = 60.0

# (url, timeout): a timeout in seconds, or requests' (connect, read) pair.
Fetch = Callable[[str, float | tuple[float, float]], Any]


def http_fetch(url: str, timeout: float | tuple[float, float]) -> Any:
    """GET the ranges document; any network, HTTP or JSON error raises."""
    import requests

    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    return response.json()


class Allowlist:
    """Atlassian's Statuspage egress ranges plus configured extras, refreshed every `ttl`.

    A failed refresh keeps the last good list. An instance that never had one uses the
    snapshot bundled at deploy time; with no snapshot either it admits only the extras.
    """

    def __init__(
        self,
        *,
        url: str,
        ttl_seconds: float,
        snapshot: Path,
        extra_cidrs: Iterable[str] = (),
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._ttl = ttl_seconds
        self._snapshot = snapshot
        self._extra = IPRanges.from_cidrs(extra_cidrs)
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._ranges: IPRanges | None = None
        self._fresh_until = float("-inf")
        self._retry_at = float("-inf")

    def allows(self, address: IPAddress, deadline: Deadline | None = None) -> bool:
        """Is `address` let in; a fetch this needs takes its timeout from `deadline`."""
        if address in self._extra:
            return True
        ranges = self._current(deadline)
        return ranges is not None and address in ranges

    def _current(self, deadline: Deadline | None) -> IPRanges | None:
        now = self._clock()
        if now < self._fresh_until or now < self._retry_at:
            return self._ranges
        # With a list in hand, one request refreshes while the others go on using it.
        if not self._lock.acquire(blocking=self._ranges is None):
            return self._ranges
        try:
            now = self._clock()
            if now >= self._fresh_until and now >= self._retry_at:
                self._refresh(now, deadline)
            return self._ranges
        finally:
            self._lock.release()

    def _refresh(self, now: float, deadline: Deadline | None) -> None:
        try:
            timeout = deadline.http_timeout(FETCH_TIMEOUT_SECONDS) if deadline else FETCH_TIMEOUT_SECONDS
            ranges = IPRanges.from_cidrs(statuspage_cidrs(self._fetch(self._url, timeout)))
        except Exception as exc:  # any failure means: keep what we have
            self._retry_at = now + min(RETRY_AFTER_SECONDS, self._ttl)
            self._on_failure(exc)
            return
        self._ranges = ranges
        self._fresh_until = now + self._ttl
        log.info(
            "Loaded Atlassian IP ranges",
            extra={"json_fields": {"ranges": len(ranges), "url": self._url}},
        )

    def _on_failure(self, exc: Exception) -> None:
        fields = {"url": self._url, "error": f"{type(exc).__name__}: {exc}"}
        if self._ranges is not None:
            log.warning(
                "Could not refresh Atlassian IP ranges; keeping the last good list. "
                "Nothing to do unless this repeats for hours.",
                extra={"json_fields": fields},
            )
            return
        snapshot = self._load_snapshot()
        if snapshot is not None:
            self._ranges = snapshot
            log.warning(
                "Could not fetch Atlassian IP ranges; using the snapshot bundled at deploy time.",
                extra={"json_fields": {**fields, "snapshot": str(self._snapshot)}},
            )
            return
        log.error(
            "Could not fetch Atlassian IP ranges and no usable snapshot is bundled: rejecting every "
            "caller outside EXTRA_ALLOWED_CIDRS until a fetch succeeds. Check that the "
            "function can reach the ranges URL; run `make snapshot` before deploying.",
            extra={"json_fields": fields},
        )

    def _load_snapshot(self) -> IPRanges | None:
        try:
            document = json.loads(self._snapshot.read_text(encoding="utf-8"))
            return IPRanges.from_cidrs(statuspage_cidrs(document))
        except (OSError, ValueError):
            return None

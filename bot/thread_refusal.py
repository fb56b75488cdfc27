"""Remember that X refuses this app's thread links, so later tweets go standalone at once.

Since 2026-02-23 X refuses replies made through its API by self-serve apps unless the
original author mentioned or quoted the replying account. Each refused reply costs a call
before the standalone post that follows it. So a refusal is kept in memory at once, and in
one ledger object, which other instances read on their first post, and is tried again
after THREAD_RETRY_HOURS: X may lift it, or the app may be granted an exemption.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.deadline import Deadline
from bot.ledger import LedgerError, Store, iso

log = logging.getLogger(__name__)

OBJECT = "x-thread-refused"  # meta/x-thread-refused.json in the ledger bucket


@dataclass(frozen=True)
class Refusal:
    mode: str  # reply | quote: what X refused
    at: float  # epoch seconds
    message: str  # X's answer
    until: float  # epoch seconds: threading is tried again from then

    def describe(self) -> str:
        return (
            f"X refused a {self.mode} at {iso(self.at)} ({self.message}); "
            f"{'replies' if self.mode == 'reply' else 'quotes'} are tried again after {iso(self.until)}"
        )


class RefusalMemory:
    def __init__(
        self,
        store: Store,
        *,
        mode: str,
        retry_seconds: float,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._mode = mode
        self._retry = retry_seconds
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._known: Refusal | None = None
        self._read_at: float | None = None  # when the ledger object was last read
        self._warned: float | None = None  # the refusal (its time) this instance warned of

    def in_force(self, deadline: Deadline) -> Refusal | None:
        """The refusal of this mode still in force, if any.

        The ledger object is read on the instance's first call, and again once the refusal this
        instance knows of has expired (another instance may have met a newer one). A failed read
        counts as no refusal: the worst it costs is one refused call.
        """
        now = self._wall()
        with self._reading:  # a request that asks meanwhile waits for this read's answer
            with self._lock:
                known = self._known
                stale = self._read_at is None or (
                    known is not None and now >= known.until and self._read_at < known.until
                )
            if stale:
                stored = self._read(deadline)
                with self._lock:
                    self._read_at = now
                    if stored is not None and (self._known is None or stored.at > self._known.at):
                        self._known = stored
                    known = self._known
        if known is None or now >= known.until:
            return None
        self._warn(known)
        return known

    def remember(self, message: str, deadline: Deadline) -> Refusal:
        """X refused a thread link just now: standalone from here on, here and (best effort) in
        every instance."""
        now = self._wall()
        refusal = Refusal(self._mode, now, message[:500], now + self._retry)
        with self._lock:
            self._known = refusal
        try:
            self._store.write_meta(
                OBJECT,
                {
                    "mode": refusal.mode,
                    "at": refusal.at,
                    "at_iso": iso(refusal.at),
                    "message": refusal.message,
                },
                deadline,
            )
        except LedgerError as exc:
            log.warning(f"Could not record X's refusal in the ledger; other instances meet it too: {exc}")
        self._warn(refusal)
        return refusal

    def _read(self, deadline: Deadline) -> Refusal | None:
        try:
            data = self._store.read_meta(OBJECT, deadline)
        except LedgerError as exc:
            log.warning(f"Could not read whether X refuses thread links; trying as configured: {exc}")
            return None
        if data is None or data.get("mode") != self._mode:
            return None  # none, or of another THREAD_MODE: this one has not been refused
        try:
            at = float(data["at"])
            return Refusal(self._mode, at, str(data.get("message", "")), at + self._retry)
        except (KeyError, TypeError, ValueError):
            log.warning(f"Ignored a malformed meta/{OBJECT}.json in the ledger")
            return None

    def _warn(self, refusal: Refusal) -> None:
        """Once per instance and refusal: what happened, and what the operator can do."""
        with self._lock:
            if self._warned == refusal.at:
                return
            self._warned = refusal.at
        log.warning(
            f"{refusal.describe()}. Until then each tweet goes out standalone, with the "
            "incident's link, so none is lost. To thread again: apply for X's Public Utility "
            "access (or an Enterprise plan), or use THREAD_MODE=quote to quote the previous "
            "tweet instead; THREAD_MODE=off stops trying.",
            extra={
                "json_fields": {
                    "thread_refused": refusal.mode,
                    "refused_at": iso(refusal.at),
                    "retry_after": iso(refusal.until),
                    "x_message": refusal.message,
                }
            },
        )

"""One deadline per request: every network call takes its timeout from what remains.

Statuspage stops waiting after 30 s and counts that as a failed delivery. Timeouts set per
call add up past any budget (a slow ranges fetch, then four secret reads, then the ledger,
then X), so the handler makes one Deadline when a request arrives and passes it down; each
call asks it for a timeout capped at what the call would take at most on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# A call is not started with less than this left: it could not finish, and would only turn a
# clear "out of time" into a confusing timeout error.
MIN_CALL_SECONDS = 0.05
# Of an HTTP call's timeout, the connect part: all addresses together (bot/connect.py).
CONNECT_SECONDS = 1.0


class DeadlineExceededError(TimeoutError):
    """Too little of the request's time remains to start the call."""


@dataclass(frozen=True)
class Deadline:
    at: float  # on `clock`
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def before(self, seconds: float) -> Deadline:
        """This deadline, `seconds` earlier: what a step may use, leaving `seconds` to the next."""
        return Deadline(self.at - seconds, self.clock)

    def within(self, seconds: float) -> Deadline:
        """This deadline, or `seconds` from now if that is sooner: a step's own budget."""
        return Deadline(min(self.at, self.clock() + seconds), self.clock)

    def timeout(self, cap: float) -> float:
        """The timeout of one call: at most `cap`, never past the deadline.

        Raises DeadlineExceededError when less than MIN_CALL_SECONDS remain.
        """
        remaining = self.remaining()
        if remaining < MIN_CALL_SECONDS:
            raise DeadlineExceededError(f"out of time: {remaining:.2f} s left of the request's budget")
        return min(cap, remaining)

    def http_timeout(self, cap: float) -> tuple[float, float]:
        """`timeout(cap)` as requests' (connect, read) pair, which together stay within it."""
        return split(self.timeout(cap))


def split(total: float) -> tuple[float, float]:
    """`total` seconds as requests' (connect, read) pair, which together stay within it."""
    connect = min(CONNECT_SECONDS, total / 2)
    return (connect, total - connect)

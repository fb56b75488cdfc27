"""The webhook's heartbeat: when a genuine Statuspage delivery last reached the function.

Written to the ledger (meta/heartbeat.json) by every delivery that passes the source and token
checks and is our page's; the sweep reports its age, so a silent webhook shows in the logs.
"""

from __future__ import annotations

import logging

from bot.deadline import Deadline
from bot.ledger import LedgerError, Store, iso

log = logging.getLogger(__name__)

OBJECT = "heartbeat"


def beat(store: Store, update_id: str, now: float, deadline: Deadline) -> None:
    """Record the delivery; best effort: a lost heartbeat only makes the webhook look older."""
    data = {"at": now, "at_iso": iso(now), "update_id": update_id}
    try:
        store.write_meta(OBJECT, data, deadline)
    except LedgerError as exc:
        log.warning(f"Could not write the webhook's heartbeat to the ledger: {exc}")


def age(store: Store, now: float, deadline: Deadline) -> float | None:
    """Seconds since the last delivery's heartbeat; None if there is none or it cannot be read."""
    try:
        data = store.read_meta(OBJECT, deadline)
    except LedgerError as exc:
        log.warning(f"Could not read the webhook's heartbeat: {exc}")
        return None
    at = data.get("at") if data else None
    return round(now - at, 1) if isinstance(at, int | float) else None

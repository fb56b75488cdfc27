"""Post each update to every enabled destination, side by side, each through its own relay.

Each destination has its own ledger records (X's where they always were; the others' under
their name), its own thread, catch-up and retries: one failing or rate limited never blocks or
undoes another. The answer combines them: `posted` when every destination posted or already
had the update, else the most severe result, with each destination's own in `destinations`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from bot.deadline import Deadline
from bot.decide import Post
from bot.ledger import Store
from bot.relay import Delivery, Relay
from bot.tweet import TemplateError

# Most severe first: the combined result is the first of these that any destination gave.
SEVERITY_ORDER = ("failed", "unknown", "rate_limited", "superseded", "posted", "duplicate")


@dataclass(frozen=True)
class Fanout:
    relays: dict[str, Relay]  # by destination name, in DESTINATIONS order
    stores: dict[str, Store] = field(default_factory=dict)  # each destination's records, for the sweep

    def warm(self, deadline: Deadline) -> None:
        for relay in self.relays.values():
            relay.warm(deadline)

    def preview(self, post: Post) -> dict[str, dict[str, Any]]:
        """Each destination's text for `post` and its length by that destination's rule."""
        previews = {}
        for name, relay in self.relays.items():
            try:
                text, length = relay.preview(post)
                previews[name] = {"text": text, "length": length}
            except TemplateError as exc:
                previews[name] = {"error": str(exc)}
        return previews

    def deliver(self, post: Post, deadline: Deadline) -> Delivery:
        if len(self.relays) == 1:  # one destination: its answer as it is
            return next(iter(self.relays.values())).deliver(post, deadline)
        with ThreadPoolExecutor(max_workers=len(self.relays)) as pool:
            futures = {
                name: pool.submit(relay.deliver, post, deadline) for name, relay in self.relays.items()
            }
        return combine({name: future.result() for name, future in futures.items()})


def combine(deliveries: dict[str, Delivery]) -> Delivery:
    """One answer from each destination's: X's fields (or the first destination's) on top."""
    results = {d.result for d in deliveries.values()}
    if results <= {"posted", "duplicate"}:
        result = "duplicate" if results == {"duplicate"} else "posted"
    else:
        result = next(r for r in SEVERITY_ORDER if r in results)
    main = deliveries.get("x") or next(iter(deliveries.values()))
    reason = "; ".join(f"{name}: {d.reason}" for name, d in deliveries.items())
    each: dict[str, Any] = {
        name: {
            "result": d.result,
            "id": d.tweet_id,
            "reason": d.reason,
            **({"text": d.text, "length": d.weighted_length} if d.text is not None else {}),
            **({"caught_up": d.caught_up} if d.caught_up else {}),
        }
        for name, d in deliveries.items()
    }
    return replace(main, result=result, reason=reason, destinations=each)

"""The sweep: post every update Statuspage published that no webhook brought.

Cloud Scheduler calls it every few minutes (`handle_sweep`, a private function). It lists the
page's incidents and maintenances from Statuspage's public API and hands each qualifying
update, oldest first, to the same relay as the webhook: the same claim, thread, link and cost
rules, so the two paths together post an update once. An update found with no ledger record
at all was missed by the webhook: that is logged at ERROR, so a quarantined webhook alerts.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot import heartbeat
from bot.allowlist import Fetch, http_fetch
from bot.config import Config
from bot.deadline import Deadline
from bot.decide import post_for
from bot.fanout import Fanout
from bot.handler import REQUEST_BUDGET_SECONDS, Answer, json_answer
from bot.ledger import CLAIMED, OUT, SUPERSEDED, Entry, LedgerError, Record, Store, iso, retryable
from bot.logs import trace_context
from bot.payload import Incident, IncidentUpdate
from bot.relay import SEVERITY
from bot.statuspage_api import SourceError, fetch_listing

log = logging.getLogger(__name__)

OBJECT = "sweep"  # meta/sweep.json: the watermark, the last run, the settled incidents
# The whole run ends within this; Terraform gives the sweep function 300 s.
RUN_BUDGET_SECONDS = 240.0
# A failed post is retried by the sweep only this long after its latest attempt, four times
# longer after each: 5, 20, 80, 320 minutes. A sweep every 5 minutes would otherwise spend the
# update's 5 attempts in 25 minutes of an X outage.
FIRST_RETRY_SECONDS = 300.0


def retry_due(record: Record, now: float) -> bool:
    """May the sweep retry this retryable record now? A stale claim at once; a failure after
    its backoff."""
    if record.state == CLAIMED:
        return True
    return now - record.claimed_at >= FIRST_RETRY_SECONDS * 4 ** max(record.attempts - 1, 0)


@dataclass
class _Run:
    """What one run found and did; becomes the answer."""

    checked: int = 0
    posted: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    missed_by_webhook: list[dict[str, Any]] = field(default_factory=list)
    would_post: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0  # X calls, catch-up included, against SWEEP_MAX_POSTS
    stop: str | None = None  # why no further update is handled this run
    warmed: bool = False  # the relay read what posting needs (refusals, instance limits)

    def answer(self, **extra: Any) -> dict[str, Any]:
        answer = {
            "checked": self.checked,
            "posted": self.posted,
            "failed": self.failed,
            "skipped": {reason: n for reason, n in self.skipped.items() if n},
            "missed_by_webhook": self.missed_by_webhook,
        }
        return answer | extra


class Sweep:
    def __init__(
        self,
        config: Config,
        store: Store,
        relay: Fanout,
        *,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._store = store
        self._relay = relay
        # Each destination's records; an update is settled when every one of them is.
        self._stores: dict[str, Store] = relay.stores or {"x": store}
        self._fetch = fetch
        self._clock = clock
        self._wall = wall_clock

    def __call__(self, request: Any) -> Answer:
        """handle_sweep: any method (Cloud Scheduler POSTs); always a 200 with the JSON report."""
        with trace_context(request.headers.get("X-Cloud-Trace-Context"), self._config.project):
            try:
                return json_answer(self.run(dry_run=self._config.dry_run))
            except Exception:
                log.exception("Unexpected error in the sweep. This is a bug: report it with this traceback.")
                return json_answer({"error": "internal error, see the function's logs"})

    def run(self, *, dry_run: bool) -> dict[str, Any]:
        """One sweep; with `dry_run`, list what it would post and write nothing."""
        deadline = Deadline.after(RUN_BUDGET_SECONDS, self._clock)
        now = self._wall()
        run = _Run()
        if not self._config.page_url:
            return self._failed(
                run, "STATUSPAGE_URL is not set: the sweep reads the public status page's API"
            )
        try:
            listing = fetch_listing(self._config.page_url, self._config.page_id, deadline, self._fetch)
            stored = self._store.read_meta(OBJECT, deadline) or {}
        except (SourceError, LedgerError) as exc:
            return self._failed(run, str(exc))
        heartbeat_age = heartbeat.age(self._store, now, deadline)
        watching_since = _number(stored.get("since")) or now  # the first run starts watching now
        since = self._config.sweep_since or watching_since
        settled = stored.get("settled") if stored.get("settled_since") == since else None
        settled_before = settled if isinstance(settled, dict) else {}
        settled_now: dict[str, str] = {}
        run.skipped["malformed"] += listing.malformed
        for incident in sorted(listing.incidents, key=lambda i: i.ordered_updates()[0].created_at):
            run.checked += len(incident.updates)
            if incident.updated_at and settled_before.get(incident.id) == incident.updated_at:
                run.skipped["settled"] += len(incident.updates)
                settled_now[incident.id] = incident.updated_at
                continue
            if (
                self._incident(incident, run, since, watching_since, now, deadline, dry_run)
                and incident.updated_at
            ):
                settled_now[incident.id] = incident.updated_at
        if not dry_run:
            record = {
                "since": watching_since,
                "since_iso": iso(watching_since),
                "last_run_at": now,
                "last_run_iso": iso(now),
                "settled_since": since,
                "settled": settled_now,
            }
            try:
                self._store.write_meta(OBJECT, record, deadline)
            except LedgerError as exc:
                log.warning(
                    f"Could not write the sweep's record; the next run reads more of the ledger: {exc}"
                )
        return self._summary(run, since, heartbeat_age, dry_run)

    def _incident(  # noqa: PLR0917 - one incident's step of run()
        self,
        incident: Incident,
        run: _Run,
        since: float,
        watching_since: float,
        now: float,
        deadline: Deadline,
        dry_run: bool,
    ) -> bool:
        """Hand the incident's qualifying updates to the relay, oldest first; True when every
        update of it is settled (nothing left that a later run could post)."""
        grace = self._config.sweep_grace_seconds
        qualifying: list[IncidentUpdate] = []
        settled = True
        for update in incident.ordered_updates():
            created = update.created_at.timestamp()
            if created <= since:
                run.skipped["before watermark"] += 1
            elif not update.deliver_notifications:
                run.skipped["not notified"] += 1
            elif now - created < grace:
                run.skipped["within grace"] += 1  # the webhook's, for now
                settled = False
            else:
                qualifying.append(update)
        if run.stop:
            run.skipped[run.stop] += len(qualifying)
            return False
        try:
            records = self._read([u.id for u in qualifying], deadline)
        except LedgerError as exc:
            log.warning(f"Sweep: could not read incident {incident.id}'s records; next run: {exc}")
            run.skipped["ledger unavailable"] += len(qualifying)
            return False
        for index, update in enumerate(qualifying):
            # One record per destination (None: that destination never saw the update).
            found = [records.get((name, update.id)) for name in self._stores]
            pending = [r for r in found if r is None or retryable(r, now)]
            if not pending:
                run.skipped[_why_settled(found[0])] += 1
                settled = settled and all(r.state != CLAIMED for r in found if r is not None)
                continue
            waiting = any(r is not None and not retry_due(r, now) for r in pending)
            run.stop = run.stop or self._must_stop(run, deadline)
            if waiting or run.stop:
                # Later updates wait too: posting them first would supersede this one.
                run.skipped[run.stop or "waiting to retry"] += len(qualifying) - index
                return False
            missed = all(r is None for r in found) and update.created_at.timestamp() > watching_since
            if not self._hand_over(incident, update, run, now, deadline, dry_run, missed=missed):
                run.skipped[run.stop or "after a failed update"] += len(qualifying) - index - 1
                return False
        return settled and not run.stop

    def _hand_over(  # noqa: PLR0917 - one update's step of run()
        self,
        incident: Incident,
        update: IncidentUpdate,
        run: _Run,
        now: float,
        deadline: Deadline,
        dry_run: bool,
        *,
        missed: bool,
    ) -> bool:
        """Post one update through the relay; False when the incident must wait for the next run."""
        post = post_for(incident, update, self._config.tweet_template)
        age = round(now - update.created_at.timestamp())
        ids = {"incident_id": incident.id, "update_id": update.id}
        if missed:
            run.missed_by_webhook.append({**ids, "age_seconds": age})
        if dry_run:
            run.would_post.append({**ids, "text": post.text, "missed_by_webhook": missed})
            run.posts += 1
            return True
        if not run.warmed:  # before the run's first post only: a quiet run reads nothing more
            run.warmed = True
            self._relay.warm(deadline.within(REQUEST_BUDGET_SECONDS / 4))
        delivery = self._relay.deliver(post, deadline.within(REQUEST_BUDGET_SECONDS))
        run.posts += (delivery.text is not None) + len(delivery.caught_up)
        fields = {
            **ids,
            "sweep": True,
            "result": delivery.result,
            "reason": delivery.reason,
            "tweet_id": delivery.tweet_id,
            "thread": delivery.thread,
            "cost_usd": delivery.cost_usd,
            "caught_up": delivery.caught_up or None,
        }
        log.log(
            SEVERITY.get(delivery.result, logging.INFO),
            f"Sweep {delivery.result}: update {update.id} of incident {incident.id}: {delivery.reason}",
            extra={"json_fields": {k: v for k, v in fields.items() if v is not None}},
        )
        if missed:
            log.error(
                f"missed_by_webhook: update {update.id} of incident {incident.id}, published {age} s ago, "
                f"never came by webhook; the sweep handed it to the relay ({delivery.result}). Check the "
                "webhook subscriber in Statuspage (Notifications → Webhook: is it quarantined?), its URL "
                "and ?token=, and this function's 'Rejected (403)' log lines.",
                extra={"json_fields": {**ids, "result": "missed_by_webhook", "age_seconds": age}},
            )
        if delivery.result == "posted":
            run.posted.append({**ids, "tweet_id": delivery.tweet_id, "thread": delivery.thread})
            return True
        if delivery.result in ("duplicate", "superseded"):
            run.skipped["already posted" if delivery.result == "duplicate" else "superseded"] += 1
            return True
        run.failed.append({**ids, "result": delivery.result, "reason": delivery.reason})
        if delivery.result == "rate_limited":
            run.stop = "rate limited"
        return False

    def _must_stop(self, run: _Run, deadline: Deadline) -> str | None:
        if run.posts >= self._config.sweep_max_posts:
            return "post cap"
        if deadline.remaining() < REQUEST_BUDGET_SECONDS:
            return "out of time"
        return None

    def _read(self, ids: list[str], deadline: Deadline) -> dict[tuple[str, str], Record]:
        """Each destination's record of each update, read side by side: {(destination, id): record}."""
        keys = [(name, update_id) for name in self._stores for update_id in ids]
        if not keys:
            return {}

        def read(key: tuple[str, str]) -> Entry | None:
            return self._stores[key[0]].get(key[1], deadline)

        with ThreadPoolExecutor(max_workers=min(len(keys), 8)) as pool:
            found = dict(zip(keys, pool.map(read, keys), strict=True))
        return {k: v.record for k, v in found.items() if v is not None}

    def _failed(self, run: _Run, error: str) -> dict[str, Any]:
        log.error(
            f"Sweep failed; nothing posted: {error}",
            extra={"json_fields": {"sweep": True, "error": error}},
        )
        return run.answer(error=error)

    def _summary(self, run: _Run, since: float, heartbeat_age: float | None, dry_run: bool) -> dict[str, Any]:
        extra: dict[str, Any] = {"since": iso(since), "heartbeat_age_seconds": heartbeat_age}
        if dry_run:
            extra["would_post"] = run.would_post
        severity = logging.WARNING if run.failed else logging.INFO
        log.log(
            severity,
            f"Sweep: checked {run.checked}, posted {len(run.posted)}, failed {len(run.failed)}, "
            f"missed by webhook {len(run.missed_by_webhook)}; the webhook's last delivery "
            + (f"{heartbeat_age:.0f} s ago" if heartbeat_age is not None else "is unknown"),
            extra={"json_fields": {"sweep": True, **run.answer(**extra)}},
        )
        return run.answer(**extra)


def _why_settled(record: Record) -> str:
    if record.state in OUT:
        return "already posted"
    if record.state == SUPERSEDED:
        return "superseded"
    if record.state == CLAIMED:
        return "being posted"
    return "given up"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

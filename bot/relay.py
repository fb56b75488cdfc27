"""Post an update at most once and in order, threaded under its incident; catch up failures.

The shell between the handler and X: it claims each update in the ledger before posting and
records the outcome. When an incident's update arrives, it first retries, oldest first, the
incident's earlier updates the ledger holds as failed, but only those newer than the newest
one already on X. An older one is superseded and never posted: the incident must not read
backwards.

A tweet follows the thread's last one as THREAD_MODE says (bot/thread.py). If X refuses that
link, the same update goes out at once standalone, with the incident's link, and the refusal
is remembered (bot/thread_refusal.py): no update is lost to X's reply policy.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.deadline import Deadline
from bot.decide import Post
from bot.destinations import Destination, context_of
from bot.ledger import (
    CALL_DEADLINE_SECONDS,
    DUPLICATE,
    FAILED,
    MAX_ATTEMPTS,
    OUT,
    POSTED,
    SUPERSEDED,
    UNKNOWN,
    Entry,
    LedgerError,
    Record,
    Store,
    claim,
    finish,
    outcome_of,
    retryable,
    supersede,
    take_over,
    why_not,
)
from bot.thread import STANDALONE
from bot.thread_refusal import RefusalMemory
from bot.x_client import (
    ATTEMPT_TIMEOUT_SECONDS,
    PARENT_GONE,
    THREAD_REFUSED,
    TOTAL_BUDGET_SECONDS,
    PostOutcome,
)

log = logging.getLogger(__name__)

_MARGIN_SECONDS = 0.5
_MIN_POST_SECONDS = 1.0  # a catch-up post is not started with less time than this
# The thread and catch-up look at this many of the incident's newest earlier updates (and at
# most this many newer ones), read side by side in one round trip (80 updates took 80 reads).
MAX_EARLIER_READS = 8
_STATE = {"posted": POSTED, "duplicate": DUPLICATE, "unknown": UNKNOWN}
# A result's log severity (INFO for the rest): the request's summary line and each catch-up line.
SEVERITY = {"failed": logging.ERROR, "unknown": logging.ERROR, "rate_limited": logging.WARNING}


@dataclass(frozen=True)
class Delivery:
    result: str
    reason: str
    tweet_id: str | None = None
    attempts: int = 0
    parent: str | None = None  # the tweet this one replies to or quotes
    thread: str | None = None  # reply | quote | standalone; None when nothing was sent
    text: str | None = None  # what was sent, when X was called
    weighted_length: int | None = None
    cost_usd: float = 0.0  # X's estimated price of the tweet created, if one was
    caught_up: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)  # older updates now never to be posted
    destinations: dict[str, Any] | None = None  # each destination's own, when there are several


@dataclass(frozen=True)
class _Sent:
    """One attempt: what X made of it, and what was sent, for the ledger."""

    outcome: PostOutcome
    text: str
    length: int  # as the destination counts it
    parent: str | None
    thread: str
    cost_usd: float


def _retry_note(record: Record, now: float, in_incident: bool) -> str:
    """What happens next to an update whose attempt did not post it."""
    if record.state not in (FAILED, UNKNOWN):
        return ""
    if in_incident and retryable(record, now):
        return f" (attempt {record.attempts} of {MAX_ATTEMPTS}; retried with the incident's next delivery)"
    return " (given up: post it by hand if it matters)"


class Relay:
    """One destination's relay: its ledger records, its posts, its threads."""

    def __init__(
        self,
        store: Store,
        destination: Destination,
        *,
        refusals: RefusalMemory | None = None,
        template: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._dest = destination
        self._rules = destination.rules
        self._refusals = refusals or RefusalMemory(
            store, mode=self._rules.mode, retry_seconds=24 * 3600.0, wall_clock=wall_clock
        )
        self._template = template
        self._wall = wall_clock

    def preview(self, post: Post) -> tuple[str, int]:
        """The text this destination would post for `post` standalone, and its length: for a dry run."""
        update = None
        if post.incident is not None:
            update = next(u for u in post.incident.updates if u.id == post.update_id)
        return self._text(post, update, True)

    def warm(self, deadline: Deadline) -> None:
        """Learn what posting needs before the first post, once per instance: whether X refuses
        thread links (the ledger's record of it), and the destination's own (Mastodon's limits).
        The handler runs this beside the source check, the sweep at its start."""
        if self._rules.mode != "off":
            self._refusals.in_force(deadline)
        warm = getattr(self._dest, "warm", None)
        if warm is not None:
            warm(deadline)

    def deliver(self, post: Post, deadline: Deadline) -> Delivery:
        """Post `post` unless the ledger says it is, or is being, posted; answer by `deadline`.

        The request's time is split: the new update's outcome is written last, so its post
        ends CALL_DEADLINE_SECONDS before the deadline. The claim and the reads may eat into
        that post's time but leave it one attempt. Catch-up posts take only time the new
        post does not need: each, with its own record, ends before the new post could still
        run its whole X budget.
        """
        post_by = deadline.before(CALL_DEADLINE_SECONDS)
        prepare_by = post_by.before(ATTEMPT_TIMEOUT_SECONDS)
        new_post_from = post_by.before(TOTAL_BUDGET_SECONDS + _MARGIN_SECONDS)
        owner = uuid.uuid4().hex
        now = self._wall()
        try:
            won = claim(self._store, post.update_id, post.incident_id, now, owner, prepare_by)
        except LedgerError as exc:
            log.error(f"Ledger unavailable; nothing posted: {exc}")
            return Delivery("failed", f"ledger unavailable: {exc}")
        if isinstance(won, Record):
            return Delivery("duplicate", why_not(won))

        earlier: list[Any] = []
        this: list[Any] = []  # the update itself, as the incident lists it
        view: dict[str, Entry] = {}  # the ledger's records of the incident, as this request leaves them
        caught_up: list[dict[str, Any]] = []
        if post.incident is not None:
            ordered = post.incident.ordered_updates()
            at = next(i for i, u in enumerate(ordered) if u.id == post.update_id)
            earlier, this = ordered[:at][-MAX_EARLIER_READS:], [ordered[at]]
            newer = ordered[at + 1 :][:MAX_EARLIER_READS]
            view = self._read(earlier + newer, prepare_by)
            out = [u.id for u in newer if _is_out(view.get(u.id))]
            if out:  # a newer update is on X already (a late or repeated delivery of this one)
                stale = dataclasses.replace(won.record, state=SUPERSEDED, superseded_by=out[-1])
                self._write(won, stale, deadline)
                return Delivery("superseded", f"the incident's newer update {out[-1]} is already posted")
            caught_up = self._catch_up(post, earlier, view, now, owner, new_post_from)

        sent = self._attempt(won, post, this[0] if this else None, self._parent(earlier, view), post_by)
        view[post.update_id] = self._record(won, sent, deadline)
        outcome = sent.outcome
        reason = outcome.reason + _retry_note(view[post.update_id].record, now, post.incident is not None)
        superseded = self._supersede_older(post, [*earlier, *this], view, now, deadline)
        return Delivery(
            outcome.result,
            reason,
            outcome.tweet_id,
            outcome.attempts,
            sent.parent,
            sent.thread,
            sent.text,
            sent.length,
            sent.cost_usd,
            caught_up,
            superseded,
        )

    def _catch_up(  # noqa: PLR0917 - one step of deliver(), split out to be read on its own
        self,
        post: Post,
        earlier: list[Any],
        view: dict[str, Entry],
        now: float,
        owner: str,
        done_by: Deadline,
    ) -> list[dict[str, Any]]:
        """Retry, oldest first, the earlier updates the ledger holds as retryable and that are
        newer than the newest one already out, updating `view`; each post and its record end
        by `done_by`. Updates the ledger never saw (from before the relay's first delivery)
        do not qualify."""
        done: list[dict[str, Any]] = []
        post_by = done_by.before(CALL_DEADLINE_SECONDS)
        newest_out = _newest_out(earlier, view)
        for index, update in enumerate(earlier):
            entry = view.get(update.id)
            if index <= newest_out or entry is None or not retryable(entry.record, now):
                continue
            if post_by.remaining() < _MIN_POST_SECONDS:
                log.warning(
                    "Catch-up stopped for lack of time; the rest waits for the next delivery",
                    extra={"json_fields": {"incident_id": post.incident_id, "update_id": update.id}},
                )
                break
            try:
                mine = take_over(self._store, entry, now, owner, post_by)
            except LedgerError as exc:
                log.warning(f"Catch-up skipped, ledger unavailable: {exc}")
                break
            if mine is None:
                continue  # another request took it meanwhile
            sent = self._attempt(mine, post, update, self._parent(earlier[:index], view), post_by)
            view[update.id] = self._record(mine, sent, done_by)
            outcome, after = sent.outcome, view[update.id].record
            done.append(
                {
                    "update_id": update.id,
                    "result": outcome.result,
                    "tweet_id": outcome.tweet_id,
                    "thread": sent.thread,
                    "cost_usd": sent.cost_usd,
                }
            )
            # Its own line, with `result`: a failed catch-up alerts as a failed delivery does.
            reason = outcome.reason + _retry_note(after, now, True)
            log.log(
                SEVERITY.get(outcome.result, logging.INFO),
                f"Catch-up {outcome.result}: earlier update {update.id} of the incident: {reason}",
                extra={
                    "json_fields": {
                        "catch_up": True,
                        "result": outcome.result,
                        "reason": reason,
                        "incident_id": post.incident_id,
                        "update_id": update.id,
                        "tweet_id": outcome.tweet_id,
                        "thread": sent.thread,
                        "parent": sent.parent,
                        "cost_usd": sent.cost_usd,
                        "attempts": after.attempts,
                    }
                },
            )
            if outcome.result == "rate_limited":
                break  # every further post would be refused too
        return done

    def _supersede_older(
        self, post: Post, updates: list[Any], view: dict[str, Entry], now: float, deadline: Deadline
    ) -> list[str]:
        """Record as superseded every update older than the newest one out that could still be
        retried. Best effort, side by side, in the time left: the rule also holds on reading,
        since catch-up never looks below the newest update out."""
        newest_out = _newest_out(updates, view)
        if newest_out < 0:
            return []  # nothing is out: every failed update may still be posted, in order
        stale = [
            (u.id, e)
            for u in updates[:newest_out]
            if (e := view.get(u.id)) and e.version >= 0 and retryable(e.record, now)
        ]
        if not stale:
            return []
        by = updates[newest_out].id

        def mark(item: tuple[str, Entry]) -> str | None:
            try:
                return item[0] if supersede(self._store, item[1], by, now, deadline) else None
            except LedgerError:
                return None  # not written: still never posted, as catch-up skips it

        with ThreadPoolExecutor(max_workers=len(stale)) as pool:
            marked = [update_id for update_id in pool.map(mark, stale) if update_id]
        if marked:
            log.info(
                f"Superseded {len(marked)} older update(s) of the incident that were not posted: "
                f"the newer update {by} is out, so they never will be",
                extra={"json_fields": {"incident_id": post.incident_id, "superseded": marked, "by": by}},
            )
        return marked

    def _attempt(
        self, entry: Entry, post: Post, update: Any, parent: Record | None, deadline: Deadline
    ) -> _Sent:
        """Post a claimed update once, tied to `parent` as THREAD_MODE says; never raises.

        If X refuses the tie, the update goes out standalone at once, within the same X budget.
        If an earlier attempt's answer was lost, that tweet may exist: the same text goes to
        the same parent the same way, and X calling it a duplicate means it went out.
        """
        record = entry.record
        deadline = deadline.within(TOTAL_BUDGET_SECONDS)  # a standalone retry shares it
        note = ""
        if record.maybe_posted and record.text:
            how = record.thread or STANDALONE
            if parent is None or parent.tweet_id != record.parent:  # the same parent as before
                parent = _known_parent(record.parent)
            text, length = record.text, self._dest.measure(record.text)
        else:
            how = self._rules.how(parent.tweet_id if parent else None)
            if how != STANDALONE and (refusal := self._refusals.in_force(deadline)):
                how, note = STANDALONE, f"; standalone: {refusal.describe()}"
            text, length = self._text(post, update, self._rules.linked(how))
        parent = None if how == STANDALONE else parent
        context = context_of(post.incident, update, record.update_id, text)
        outcome = self._send(text, how, parent, deadline, context)
        if outcome.result in (THREAD_REFUSED, PARENT_GONE):
            refused, refused_parent, refused_how = outcome, parent.tweet_id if parent else None, how
            (text, length), how, parent = self._text(post, update, True), STANDALONE, None
            context = context_of(post.incident, update, record.update_id, text)
            outcome = self._send(text, how, None, deadline, context)
            note = f"; standalone: X refused the {refused_how} ({refused.reason})"
            if refused.result == PARENT_GONE:
                log.warning(
                    f"X refused to tie the update to tweet {refused_parent}, which is deleted or not "
                    "visible; posted it standalone",
                    extra={"json_fields": {"parent": refused_parent, "update_id": record.update_id}},
                )
            elif outcome.result != "failed":  # a failure may mean X refuses every post
                self._refusals.remember(refused.reason, deadline)
            outcome = dataclasses.replace(outcome, attempts=refused.attempts + outcome.attempts)
        if outcome.result == "duplicate" and record.maybe_posted:
            reason = "X already had this text: the earlier attempt whose answer was lost went out"
            outcome = PostOutcome("posted", reason, None, outcome.attempts)
        created = outcome.result == "posted" and outcome.tweet_id is not None
        cost = self._rules.cost(text) if created else 0.0
        outcome = dataclasses.replace(outcome, reason=outcome.reason + note)
        return _Sent(outcome, text, length, parent.tweet_id if parent else None, how, cost)

    def _send(
        self, text: str, how: str, parent: Record | None, deadline: Deadline, context: Any
    ) -> PostOutcome:
        try:
            return self._dest.post(text, how=how, parent=parent, deadline=deadline, context=context)
        except Exception as exc:  # a bug; the request may have been sent
            log.exception("Unexpected error while posting; recorded as an unknown outcome. This is a bug.")
            return PostOutcome("unknown", f"unexpected error while posting ({type(exc).__name__})", None, 1)

    def _text(self, post: Post, update: Any, linked: bool) -> tuple[str, int]:
        """The update's post by the destination's rule, with or without the incident's link."""
        if post.incident is None:
            return post.text, post.weighted_length  # a component change: never threaded
        if linked and update.id == post.update_id and self._dest.name == "x":
            return post.text, post.weighted_length  # formatted already
        fitted = self._dest.compose(post.incident, update, self._template, linked=linked)
        return fitted.text, fitted.length

    def _parent(self, before: list[Any], view: dict[str, Entry]) -> Record | None:
        """The record of the newest earlier update posted with a known id: the thread's last post."""
        if self._rules.mode == "off":
            return None
        for update in reversed(before):
            entry = view.get(update.id)
            if entry and entry.record.state == POSTED and entry.record.tweet_id:
                return entry.record
        return None

    def _read(self, updates: list[Any], deadline: Deadline) -> dict[str, Entry]:
        """The ledger's records of these updates, read side by side; empty if the ledger fails."""
        if not updates:
            return {}
        ids = [u.id for u in updates]
        try:
            with ThreadPoolExecutor(max_workers=len(ids)) as pool:
                found = dict(zip(ids, pool.map(lambda i: self._store.get(i, deadline), ids), strict=True))
        except LedgerError as exc:
            log.warning(
                f"Could not read the incident's earlier updates; no thread or catch-up this time: {exc}"
            )
            return {}
        return {k: v for k, v in found.items() if v is not None}

    def _record(self, entry: Entry, sent: _Sent, deadline: Deadline) -> Entry:
        """Write the outcome to the ledger. The entry returned says what it was, written or not
        (version -1: not written)."""
        outcome = sent.outcome
        state = _STATE.get(outcome.result, FAILED)
        error = None if state in OUT else f"{outcome.result}: {outcome.reason}"
        after = outcome_of(
            entry.record,
            state,
            tweet_id=outcome.tweet_id,
            error=error,
            text=sent.text,
            parent=sent.parent,
            thread=sent.thread,
        )
        if outcome.ref is not None:
            after = dataclasses.replace(after, ref=outcome.ref)
        return self._write(entry, after, deadline)

    def _write(self, entry: Entry, after: Record, deadline: Deadline) -> Entry:
        try:
            return finish(self._store, entry, after, deadline)
        except LedgerError as exc:
            log.error(
                f"Could not record the outcome ({after.state}) of update {after.update_id}: {exc}. "
                "Its claim goes stale in 5 minutes; a later delivery may then post it again, and only "
                "X's duplicate check stands in the way. Check the ledger bucket.",
                extra={"json_fields": {"update_id": after.update_id, "tweet_id": after.tweet_id}},
            )
            return Entry(after, -1)


def _known_parent(tweet_id: str | None) -> Record | None:
    """A parent known only by its post id (from a record's earlier attempt)."""
    if tweet_id is None:
        return None
    return Record("", None, POSTED, first_claimed_at=0.0, claimed_at=0.0, tweet_id=tweet_id)


def _is_out(entry: Entry | None) -> bool:
    """Is this update on X (posted, or refused by X as a duplicate of what is there)?"""
    return entry is not None and entry.record.state in OUT


def _newest_out(updates: list[Any], view: dict[str, Entry]) -> int:
    """The index of the newest of `updates` (oldest first) that is on X; -1 if none is."""
    return max((i for i, u in enumerate(updates) if _is_out(view.get(u.id))), default=-1)

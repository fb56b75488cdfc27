"""The ledger: one record per incident update, so each is posted at most once and none is lost.

A record is claimed with a create-if-absent write before its tweet is posted; only the
request that wins the claim posts. The record then keeps the outcome. Every later write
is a compare-and-swap on the version the writer read, so two instances never both win.

This module holds the record, the claim rules (pure) and the in-memory store, which serves
local runs and tests. The Google Cloud Storage store is in bot/gcs_ledger.py.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.deadline import Deadline

# A claim with no outcome after this long belongs to a request that died mid-post.
# Far above the function's 60 s timeout, so a live request is never overtaken.
STALE_CLAIM_SECONDS = 300.0
# A failed update is retried by later deliveries of its incident while both hold.
MAX_ATTEMPTS = 5
RETRY_WINDOW_SECONDS = 24 * 3600.0

# Every store call, retries included, gives up after this long, or at the request's deadline
# if that comes first (google-cloud-storage's default retry deadline is 120 s; Statuspage
# stops waiting at 30 s).
CALL_DEADLINE_SECONDS = 2.5

CLAIMED, POSTED, FAILED, DUPLICATE = "claimed", "posted", "failed", "duplicate"
# The post may have gone out: its answer was lost or broken. Retried like a failure, but only
# with the same text to the same parent, so that X's duplicate check can tell.
UNKNOWN = "unknown"
# Not posted, and never to be: a newer update of the incident is already out, and posting
# this one now would show the incident going backwards.
SUPERSEDED = "superseded"
OUT = (POSTED, DUPLICATE)  # on X


class LedgerError(RuntimeError):
    """The store could not be read or written; nothing may be posted."""


@dataclass(frozen=True)
class Record:
    update_id: str
    incident_id: str | None
    state: str  # claimed | posted | failed | unknown | duplicate | superseded
    first_claimed_at: float  # epoch seconds; starts the retry window
    claimed_at: float  # epoch seconds of the latest claim
    attempts: int = 0  # finished posting attempts
    tweet_id: str | None = None  # None when posted is known only from X's duplicate check
    error: str | None = None
    # Who holds the claim: a request whose create was retried after it had landed finds
    # its own claim, not someone else's.
    owner: str = ""
    # What the latest attempt sent, how (reply, quote or standalone) and under which tweet,
    # and whether any attempt may have created the tweet.
    text: str | None = None
    parent: str | None = None
    thread: str | None = None
    maybe_posted: bool = False
    superseded_by: str | None = None  # the newer update that was out first
    ref: dict | None = None  # the post's reply reference beyond its id (Bluesky: uri, cid, root)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Record:
        fields = {f.name for f in dataclasses.fields(cls)}
        if data.get("reply_to") and "parent" not in data:  # written before quotes were possible
            data = {**data, "parent": data["reply_to"], "thread": "reply"}
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass(frozen=True)
class Entry:
    """A record as read, with the version a compare-and-swap must match."""

    record: Record
    version: int


class Store(Protocol):
    """Each call takes its timeout from `deadline` and raises LedgerError when it fails,
    DeadlineExceededError included."""

    def get(self, update_id: str, deadline: Deadline) -> Entry | None:
        """The record, or None if the ledger never saw this update."""

    def create(self, record: Record, deadline: Deadline) -> Entry | None:
        """Write only if absent; None if a record exists."""

    def replace(self, record: Record, version: int, deadline: Deadline) -> Entry | None:
        """Write only if still at `version`; None if someone else wrote since."""

    def read_meta(self, name: str, deadline: Deadline) -> dict | None:
        """A small JSON object the relay keeps beside the records (e.g. X's refusal of replies)."""

    def write_meta(self, name: str, data: dict, deadline: Deadline) -> None:
        """Write it whole, whoever wrote it last."""


def iso(epoch: float) -> str:
    """An epoch time as the ledger's meta objects and log lines show it, for people."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def retryable(record: Record, now: float) -> bool:
    """May this record be claimed again: a dead owner's claim, or a failure still in its window."""
    if record.state == CLAIMED:
        return now - record.claimed_at > STALE_CLAIM_SECONDS
    if record.state in (FAILED, UNKNOWN):
        return record.attempts < MAX_ATTEMPTS and now - record.first_claimed_at < RETRY_WINDOW_SECONDS
    return False


def why_not(record: Record) -> str:
    """Why a record cannot be claimed, for the answer to a re-delivery."""
    if record.state == POSTED:
        if record.tweet_id is None:
            return "already posted (X found its text a duplicate after an answer was lost)"
        return f"already posted as tweet {record.tweet_id}"
    if record.state == DUPLICATE:
        return "already on X (X rejected it as a duplicate)"
    if record.state == CLAIMED:
        return "being posted by another request"
    if record.state == SUPERSEDED:
        return f"superseded: the incident's newer update {record.superseded_by} is already posted"
    if record.state == UNKNOWN:
        return f"given up after {record.attempts} attempt(s), the last one's outcome unknown: {record.error}"
    return f"given up after {record.attempts} attempt(s): {record.error}"


def claim(  # noqa: PLR0917 - the update, the time and who claims it
    store: Store, update_id: str, incident_id: str | None, now: float, owner: str, deadline: Deadline
) -> Entry | Record:
    """Claim the update: an Entry if this request now owns it, else the record that stands."""
    fresh = Record(update_id, incident_id, CLAIMED, first_claimed_at=now, claimed_at=now, owner=owner)
    entry = store.create(fresh, deadline)
    if entry is not None:
        return entry
    existing = store.get(update_id, deadline)
    if existing is None:  # deleted between the two calls; try once more
        return store.create(fresh, deadline) or fresh
    if existing.record.state == CLAIMED and existing.record.owner == owner:
        return existing
    taken = take_over(store, existing, now, owner, deadline)
    if taken is not None:
        return taken
    if retryable(existing.record, now):
        # Another request claimed it between our read and our write: report its claim.
        current = store.get(update_id, deadline)
        return current.record if current else existing.record
    return existing.record


def take_over(store: Store, entry: Entry, now: float, owner: str, deadline: Deadline) -> Entry | None:
    """Claim a record that is retryable; None if it is not, or another request won it."""
    if not retryable(entry.record, now):
        return None
    claimed = dataclasses.replace(entry.record, state=CLAIMED, claimed_at=now, owner=owner)
    return store.replace(claimed, entry.version, deadline)


def outcome_of(
    record: Record,
    state: str,
    *,
    tweet_id: str | None,
    error: str | None,
    text: str | None = None,
    parent: str | None = None,
    thread: str | None = None,
) -> Record:
    """The record after one more finished attempt, which sent `text`, tied to `parent` by
    `thread` (reply or quote; standalone with no parent)."""
    return dataclasses.replace(
        record,
        state=state,
        attempts=record.attempts + 1,
        tweet_id=tweet_id,
        error=error,
        text=text,
        parent=parent,
        thread=thread,
        maybe_posted=record.maybe_posted or state == UNKNOWN,
    )


def finish(store: Store, entry: Entry, record: Record, deadline: Deadline) -> Entry:
    """Write the outcome of our claim. A lost compare-and-swap means our claim went stale."""
    written = store.replace(record, entry.version, deadline)
    if written is None:
        raise LedgerError(f"claim on update {record.update_id} was taken over before its outcome was written")
    return written


def supersede(store: Store, entry: Entry, by: str, now: float, deadline: Deadline) -> bool:
    """Mark a record that could still be retried as superseded by the newer update `by`;
    False if it cannot be retried (or someone else wrote it meanwhile)."""
    if not retryable(entry.record, now):
        return False
    after = dataclasses.replace(entry.record, state=SUPERSEDED, superseded_by=by)
    return store.replace(after, entry.version, deadline) is not None


class ScopedStore:
    """Another destination's records beside X's, in the same store: update `u` is kept as
    `<name>/u`, so X's records stay where they always were."""

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self._prefix = f"{name}/"

    def get(self, update_id: str, deadline: Deadline) -> Entry | None:
        return self._out(self._store.get(self._prefix + update_id, deadline))

    def create(self, record: Record, deadline: Deadline) -> Entry | None:
        return self._out(self._store.create(self._in(record), deadline))

    def replace(self, record: Record, version: int, deadline: Deadline) -> Entry | None:
        return self._out(self._store.replace(self._in(record), version, deadline))

    def read_meta(self, name: str, deadline: Deadline) -> dict | None:
        return self._store.read_meta(self._prefix.replace("/", "-") + name, deadline)

    def write_meta(self, name: str, data: dict, deadline: Deadline) -> None:
        self._store.write_meta(self._prefix.replace("/", "-") + name, data, deadline)

    def _in(self, record: Record) -> Record:
        return dataclasses.replace(record, update_id=self._prefix + record.update_id)

    def _out(self, entry: Entry | None) -> Entry | None:
        if entry is None:
            return None
        update_id = entry.record.update_id.removeprefix(self._prefix)
        return Entry(dataclasses.replace(entry.record, update_id=update_id), entry.version)


class MemoryStore:
    """Per-instance ledger: enough for one process (local runs, tests), not for a fleet."""

    def __init__(self) -> None:
        self._records: dict[str, Entry] = {}
        self._meta: dict[str, dict] = {}
        self._lock = threading.Lock()

    def get(self, update_id: str, deadline: Deadline | None = None) -> Entry | None:
        with self._lock:
            return self._records.get(update_id)

    def create(self, record: Record, deadline: Deadline | None = None) -> Entry | None:
        with self._lock:
            if record.update_id in self._records:
                return None
            entry = self._records[record.update_id] = Entry(record, 1)
            return entry

    def replace(self, record: Record, version: int, deadline: Deadline | None = None) -> Entry | None:
        with self._lock:
            current = self._records.get(record.update_id)
            if current is None or current.version != version:
                return None
            entry = self._records[record.update_id] = Entry(record, version + 1)
            return entry

    def read_meta(self, name: str, deadline: Deadline | None = None) -> dict | None:
        with self._lock:
            return self._meta.get(name)

    def write_meta(self, name: str, data: dict, deadline: Deadline | None = None) -> None:
        with self._lock:
            self._meta[name] = dict(data)

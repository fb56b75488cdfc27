"""Exactly once, threads and catch-up: the ledger, against a real GCS API server on loopback.

fake-gcs-server runs as a subprocess; google-cloud-storage reaches it via
STORAGE_EMULATOR_HOST. X is faked on the wire with `responses`.
"""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import threading
import time
from typing import Any

import pytest
import requests
from conftest import SHORTLINK, FakeGcsServer, FakeX, incident, json_lines, post

from bot.deadline import Deadline
from bot.gcs_ledger import GcsStore
from bot.ledger import (
    CLAIMED,
    FAILED,
    MAX_ATTEMPTS,
    POSTED,
    RETRY_WINDOW_SECONDS,
    STALE_CLAIM_SECONDS,
    Entry,
    MemoryStore,
    Record,
    claim,
    finish,
    outcome_of,
    take_over,
)

LONG = Deadline(float("inf"))  # the rules, not the time: every call gets its full timeout


class CutShort(io.RawIOBase):
    """An answer body whose connection drops after its first bytes."""

    def __init__(self, head: bytes) -> None:
        self.head, self.sent = head, False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.sent:
            raise http.client.IncompleteRead(self.head, 64)
        buffer[: len(self.head)] = self.head
        self.sent = True
        return len(self.head)


DUPLICATE_CONTENT = (
    403,
    {"detail": "You are not allowed to create a Tweet with duplicate content.", "status": 403},
)
# The tweet may have been created, but the answer says nothing usable.
BROKEN_ANSWERS = {
    "read timeout": requests.ReadTimeout("read timed out"),
    "dropped mid-answer": (
        201,
        {"Content-Type": "application/json"},
        io.BufferedReader(CutShort(b'{"data":{"id":"1')),
    ),
    "201 {}": (201, {}),
    "201 errors": (201, {"errors": [{"message": "Internal error", "code": 131}]}),
    "200 html": (200, {"Content-Type": "text/html"}, "<html><body>Over capacity</body></html>"),
}


# --- The claim rules, against both stores ----------------------------------------------------


@pytest.fixture(params=["memory", "gcs"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryStore()
    return GcsStore(request.getfixturevalue("state_bucket"), project="test-project")


def test_only_the_first_claim_wins(store) -> None:
    won = claim(store, "u1", "i1", 1000.0, "owner-a", LONG)
    assert isinstance(won, Entry) and won.record.state == CLAIMED
    lost = claim(store, "u1", "i1", 1001.0, "owner-b", LONG)
    assert isinstance(lost, Record) and lost.owner == "owner-a"


def test_a_claim_whose_create_was_retried_is_still_ours(store) -> None:
    won = claim(store, "u1", "i1", 1000.0, "owner-a", LONG)
    again = claim(store, "u1", "i1", 1000.0, "owner-a", LONG)
    assert isinstance(again, Entry) and again.version == won.version


def test_outcome_is_recorded_and_blocks_later_claims(store) -> None:
    won = claim(store, "u1", "i1", 1000.0, "a", LONG)
    finish(store, won, outcome_of(won.record, POSTED, tweet_id="42", error=None), LONG)
    record = store.get("u1", LONG).record
    assert (record.state, record.tweet_id, record.attempts) == (POSTED, "42", 1)
    assert isinstance(claim(store, "u1", "i1", 1000.0 + RETRY_WINDOW_SECONDS, "b", LONG), Record)


def test_stale_claim_is_taken_over_once(store) -> None:
    claim(store, "u1", "i1", 1000.0, "dead", LONG)
    assert isinstance(claim(store, "u1", "i1", 1000.0 + STALE_CLAIM_SECONDS - 1, "b", LONG), Record)
    entry = store.get("u1", LONG)
    later = 1000.0 + STALE_CLAIM_SECONDS + 1
    first = take_over(store, entry, later, "b", LONG)
    second = take_over(store, entry, later, "c", LONG)  # read the same version: loses the swap
    assert first is not None and first.record.owner == "b"
    assert second is None


def test_failed_updates_are_retryable_within_attempts_and_window(store) -> None:
    entry = claim(store, "u1", "i1", 1000.0, "a", LONG)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        finish(store, entry, outcome_of(entry.record, FAILED, tweet_id=None, error="failed: X 503"), LONG)
        if attempt < MAX_ATTEMPTS:
            entry = take_over(store, store.get("u1", LONG), 2000.0, "a", LONG)
            assert entry is not None, attempt
    assert store.get("u1", LONG).record.attempts == MAX_ATTEMPTS
    assert take_over(store, store.get("u1", LONG), 2000.0, "a", LONG) is None
    other = claim(store, "u2", "i1", 1000.0, "a", LONG)
    finish(store, other, outcome_of(other.record, FAILED, tweet_id=None, error="x"), LONG)
    assert take_over(store, store.get("u2", LONG), 1000.0 + RETRY_WINDOW_SECONDS + 1, "a", LONG) is None


def test_a_claim_lost_to_a_racing_retry_reports_the_winner() -> None:
    from bot.ledger import why_not

    class RacingStore(MemoryStore):
        """Another request retries the update between this one's read and its write."""

        raced = False

        def get(self, update_id: str, deadline: Deadline | None = None) -> Entry | None:
            entry = super().get(update_id, deadline)
            if entry is not None and not self.raced:
                self.raced = True
                take_over(self, entry, 2000.0, "rival", LONG)
            return entry

    store = RacingStore()
    first = claim(store, "u1", "i1", 1000.0, "a", LONG)
    finish(store, first, outcome_of(first.record, FAILED, tweet_id=None, error="failed: X 503"), LONG)
    lost = claim(store, "u1", "i1", 2000.0, "b", LONG)
    assert isinstance(lost, Record) and lost.owner == "rival"
    assert why_not(lost) == "being posted by another request"


def test_finish_after_a_takeover_is_refused(store) -> None:
    from bot.ledger import LedgerError

    mine = claim(store, "u1", "i1", 1000.0, "slow", LONG)
    take_over(store, store.get("u1", LONG), 1000.0 + STALE_CLAIM_SECONDS + 1, "fast", LONG)
    with pytest.raises(LedgerError):
        finish(store, mine, outcome_of(mine.record, POSTED, tweet_id="1", error=None), LONG)


def test_unknown_update_reads_as_none(store) -> None:
    assert store.get("never-seen", LONG) is None


# --- Through the function, with STATE_BUCKET ---------------------------------------------------


def test_twenty_concurrent_deliveries_post_once(make_client, http, secret_manager, state_bucket) -> None:
    x = FakeX(http, delay=0.2)
    client = make_client(STATE_BUCKET=state_bucket)
    barrier = threading.Barrier(20)
    answers: list[dict[str, Any]] = []

    def deliver() -> None:
        barrier.wait()
        response = post(client, incident(1))
        assert response.status_code == 200
        answers.append(response.get_json())

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(x.bodies) == 1
    results = sorted(a["result"] for a in answers)
    assert results == ["duplicate"] * 19 + ["posted"]


def test_redelivery_to_a_new_instance_posts_nothing(make_client, http, secret_manager, state_bucket) -> None:
    x = FakeX(http)
    assert post(make_client(STATE_BUCKET=state_bucket), incident(1)).get_json()["result"] == "posted"
    fresh = make_client(restart=True, STATE_BUCKET=state_bucket)
    answer = post(fresh, incident(1)).get_json()
    assert answer["result"] == "duplicate"
    assert answer["reason"] == "already posted as tweet 1001"
    assert len(x.bodies) == 1


def test_updates_thread_under_their_incident_across_a_restart(
    make_client, http, secret_manager, state_bucket
) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    ids = [post(client, incident(n)).get_json()["tweet_id"] for n in (1, 2)]
    client = make_client(restart=True, STATE_BUCKET=state_bucket)
    ids += [post(client, incident(n)).get_json()["tweet_id"] for n in (3, 4)]
    assert ids == ["1001", "1002", "1003", "1004"]
    assert x.replies() == [None, "1001", "1002", "1003"]
    assert [b["text"] for b in x.bodies] == [
        f"[status] Investigating: Update number 1. {SHORTLINK}",
        f"[status] Monitoring: Update number 2. {SHORTLINK}",
        f"[status] Monitoring: Update number 3. {SHORTLINK}",
        f"[status] Monitoring: Update number 4. {SHORTLINK}",
    ]


def test_threading_can_be_turned_off(make_client, http, secret_manager, state_bucket) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket, THREAD_UPDATES="false")
    for n in (1, 2):
        post(client, incident(n))
    assert x.replies() == [None, None]


def test_a_deleted_parent_posts_the_update_on_its_own(
    make_client, http, secret_manager, state_bucket
) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    x.failures.append(
        (
            403,
            {
                "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
                "status": 403,
            },
        )
    )
    answer = post(client, incident(2)).get_json()
    assert answer["result"] == "posted"
    assert x.replies() == [None, "1001", None]


def test_failed_update_is_caught_up_before_the_next(make_client, http, secret_manager, state_bucket) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    assert post(client, incident(1)).get_json()["tweet_id"] == "1001"
    x.failures += [(503, {"title": "Service Unavailable"})] * 3
    failed = post(client, incident(2)).get_json()
    assert failed["result"] == "failed"
    assert "retried with the incident's next delivery" in failed["reason"]

    answer = post(client, incident(3)).get_json()
    assert answer["result"] == "posted"
    assert answer["caught_up"] == [
        {"update_id": "upd2", "result": "posted", "tweet_id": "1005", "thread": "reply", "cost_usd": 0.2}
    ]
    texts = [b["text"] for b in x.bodies]
    assert texts[-2:] == [
        f"[status] Monitoring: Update number 2. {SHORTLINK}",
        f"[status] Monitoring: Update number 3. {SHORTLINK}",
    ]
    # In order, and threaded: update 2 under update 1, update 3 under update 2.
    assert x.replies()[-2:] == ["1001", "1005"]
    # Caught up means done: a further delivery posts neither again.
    assert post(client, incident(3)).get_json()["result"] == "duplicate"
    assert len(x.bodies) == 6


def test_catch_up_stops_at_a_rate_limit(make_client, http, state_bucket) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    for n, failures in ((2, 3), (3, 6)):  # update 3's delivery also retries update 2, in vain
        x.failures += [(503, {"title": "Service Unavailable"})] * failures
        assert post(client, incident(n)).get_json()["result"] == "failed"
    x.failures.append((429, {"title": "Too Many Requests"}))
    answer = post(client, incident(4)).get_json()
    assert answer["caught_up"] == [
        {"update_id": "upd2", "result": "rate_limited", "tweet_id": None, "thread": "reply", "cost_usd": 0.0}
    ]
    # Update 3 was not tried into the same limit; the new update was, and went out.
    assert [b["text"] for b in x.bodies[-2:]] == [
        f"[status] Monitoring: Update number 2. {SHORTLINK}",
        f"[status] Monitoring: Update number 4. {SHORTLINK}",
    ]
    assert answer["result"] == "posted"


def test_updates_the_ledger_never_saw_are_not_posted(make_client, http, secret_manager, state_bucket) -> None:
    x = FakeX(http)
    # The relay was deployed during update 3: updates 1 and 2 predate it.
    answer = post(make_client(STATE_BUCKET=state_bucket), incident(3)).get_json()
    assert answer["result"] == "posted" and "caught_up" not in answer
    assert [b["text"] for b in x.bodies] == [f"[status] Monitoring: Update number 3. {SHORTLINK}"]


def test_rate_limited_redelivery_is_retried(make_client, http, secret_manager, state_bucket) -> None:
    x = FakeX(http)
    x.failures.append((429, {"title": "Too Many Requests"}))
    client = make_client(STATE_BUCKET=state_bucket)
    assert post(client, incident(1)).get_json()["result"] == "rate_limited"
    assert post(client, incident(1)).get_json()["result"] == "posted"
    assert len(x.bodies) == 2


@pytest.mark.usefixtures("secret_manager")
def test_stopped_gcs_server_answers_failed_without_posting(
    make_client, http, monkeypatch, tmp_path, capsys
) -> None:
    server = FakeGcsServer(tmp_path / "gcs.log")
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    bucket = server.create_bucket()
    x = FakeX(http)
    client = make_client(STATE_BUCKET=bucket)
    assert post(client, incident(1)).get_json()["result"] == "posted"
    server.stop()

    started = time.monotonic()
    response = post(client, incident(2))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["result"] == "failed" and answer["reason"].startswith("ledger unavailable")
    assert len(x.bodies) == 1
    assert elapsed < 20  # the contract: Statuspage gets its answer well before its 30 s
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ERROR"' in line]
    assert any("storage.objectAdmin" in e["message"] for e in errors)


# --- A write that landed but whose answer was lost ----------------------------------------------


def a_replace(method: str, path: str) -> bool:
    """An upload that must match an existing generation: a compare-and-swap, not a create."""
    return method == "POST" and path.startswith("/upload/") and "ifGenerationMatch=0" not in path


def test_a_lost_answer_to_a_compare_and_swap_is_not_a_conflict(gcs_server, dropping_proxy) -> None:
    bucket = gcs_server.create_bucket()
    store = GcsStore(bucket, project="test-project")
    won = claim(store, "u1", "i1", 1000.0, "a", LONG)
    dropping_proxy.drops.append(a_replace)
    # The outcome lands, its answer is lost, the client retries and gets 412: still ours.
    finish(store, won, outcome_of(won.record, POSTED, tweet_id="42", error=None), LONG)
    assert dropping_proxy.dropped and dropping_proxy.dropped[0].endswith("-> 200")
    assert store.get("u1", LONG).record.tweet_id == "42"

    # The same for a takeover of a failed record: the retry's 412 is our own claim.
    finish(store, store.get("u1", LONG), outcome_of(won.record, FAILED, tweet_id=None, error="x"), LONG)
    dropping_proxy.drops.append(a_replace)
    mine = take_over(store, store.get("u1", LONG), 2000.0, "b", LONG)
    assert mine is not None and mine.record.owner == "b"
    # A real conflict still loses: the record now differs from what a rival writes.
    rival = dataclasses.replace(mine.record, owner="c")
    assert store.replace(rival, won.version, LONG) is None


@pytest.mark.usefixtures("secret_manager")
def test_a_lost_answer_to_the_outcome_write_still_answers_posted(
    make_client, http, gcs_server, dropping_proxy, capsys
) -> None:
    x = FakeX(http)
    bucket = gcs_server.create_bucket()
    client = make_client(STATE_BUCKET=bucket)
    dropping_proxy.drops.append(a_replace)  # the outcome write is the first compare-and-swap
    answer = post(client, incident(1)).get_json()
    assert answer["result"] == "posted" and answer["tweet_id"] == "1001"
    assert dropping_proxy.dropped
    out = capsys.readouterr().out
    assert "Could not record the outcome" not in out
    # The ledger holds the outcome, so a re-delivery is a duplicate, not a second post.
    assert post(client, incident(1)).get_json()["reason"] == "already posted as tweet 1001"
    assert len(x.bodies) == 1


# --- Unknown outcomes: the tweet may exist -------------------------------------------------------


def record_of(bucket: str, update_id: str) -> Record:
    return GcsStore(bucket, project="test-project").get(update_id, LONG).record


@pytest.mark.parametrize("broken", list(BROKEN_ANSWERS))
@pytest.mark.usefixtures("secret_manager")
def test_a_broken_answer_is_recorded_as_unknown_and_retried_only_with_the_same_text(
    make_client, http, state_bucket, capsys, broken
) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    assert post(client, incident(1)).get_json()["tweet_id"] == "1001"
    x.failures.append(BROKEN_ANSWERS[broken])
    answer = post(client, incident(2)).get_json()

    assert answer["result"] == "unknown"
    assert len(x.bodies) == 2  # not retried blindly
    summary = [line for line in json_lines(capsys.readouterr().out) if line.get("update_id") == "upd2"]
    assert summary[-1]["severity"] == "ERROR" and summary[-1]["result"] == "unknown"
    record = record_of(state_bucket, "upd2")
    assert (record.state, record.attempts, record.maybe_posted) == ("unknown", 1, True)
    assert (record.text, record.parent, record.thread) == (x.bodies[1]["text"], "1001", "reply")

    # The next update: X says the same text is a duplicate, so the earlier attempt went out.
    x.failures.append(DUPLICATE_CONTENT)
    answer = post(client, incident(3)).get_json()
    # Billed when it went out, not now.
    assert answer["caught_up"] == [
        {"update_id": "upd2", "result": "posted", "tweet_id": None, "thread": "reply", "cost_usd": 0.0}
    ]
    assert x.bodies[2] == x.bodies[1]  # the same text, in reply to the same tweet
    assert answer["result"] == "posted"
    assert x.replies()[3] == "1001"  # the thread goes on from the last tweet whose id is known
    record = record_of(state_bucket, "upd2")
    assert (record.state, record.tweet_id) == ("posted", None)
    assert post(client, incident(2)).get_json()["reason"].startswith("already posted (X found its text")


@pytest.mark.usefixtures("secret_manager")
def test_an_unknown_outcome_that_had_not_gone_out_is_posted_by_its_retry(
    make_client, http, state_bucket
) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    x.failures.append(BROKEN_ANSWERS["read timeout"])
    assert post(client, incident(1)).get_json()["result"] == "unknown"
    # Its own re-delivery takes the claim over and sends the same text; X had not created it.
    answer = post(client, incident(1)).get_json()
    assert answer["result"] == "posted" and answer["tweet_id"] == "1002"
    assert x.bodies[0] == x.bodies[1]
    record = record_of(state_bucket, "upd1")
    assert (record.state, record.tweet_id, record.attempts, record.maybe_posted) == (
        "posted",
        "1002",
        2,
        True,
    )


@pytest.mark.usefixtures("secret_manager")
def test_each_failed_catch_up_is_an_error_line_with_its_result_up_to_given_up(
    make_client, http, state_bucket, capsys
) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    outage = (503, {"title": "Service Unavailable"})
    x.failures += [outage] * 3
    assert post(client, incident(2)).get_json()["result"] == "failed"  # update 2: attempt 1
    capsys.readouterr()
    for _ in range(MAX_ATTEMPTS - 1):  # update 3's deliveries retry update 2 first, in vain
        x.failures += [outage] * 6
        post(client, incident(3))
    lines = [line for line in json_lines(capsys.readouterr().out) if line.get("catch_up")]
    assert [(line["severity"], line["result"], line["update_id"]) for line in lines] == [
        ("ERROR", "failed", "upd2")
    ] * (MAX_ATTEMPTS - 1)
    assert [line["attempts"] for line in lines] == list(range(2, MAX_ATTEMPTS + 1))
    assert "given up" in lines[-1]["message"] and "given up" not in lines[-2]["message"]


# --- Never a stale update after a newer one ------------------------------------------------------


@pytest.mark.usefixtures("secret_manager")
def test_an_update_older_than_one_posted_is_superseded_and_never_posted(
    make_client, http, state_bucket
) -> None:
    """u1 fails, fails again in u2's catch-up, u2 is posted: u1 must not follow u3."""
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    outage = (503, {"title": "Service Unavailable"})
    x.failures += [outage] * 3
    assert post(client, incident(1)).get_json()["result"] == "failed"
    x.failures += [outage] * 3  # u1's catch-up fails again; u2 then goes out
    answer = post(client, incident(2)).get_json()
    assert answer["caught_up"] == [
        {"update_id": "upd1", "result": "failed", "tweet_id": None, "thread": "standalone", "cost_usd": 0.0}
    ]
    assert answer["result"] == "posted" and answer["superseded"] == ["upd1"]
    u2 = answer["tweet_id"]
    record = record_of(state_bucket, "upd1")
    assert (record.state, record.superseded_by) == ("superseded", "upd2")

    answer = post(client, incident(3)).get_json()
    assert answer["result"] == "posted" and "caught_up" not in answer
    assert [b["text"].split(":")[0] for b in x.bodies[-2:]] == ["[status] Monitoring"] * 2
    assert x.replies()[-1] == u2  # in the thread
    assert not any("Update number 1" in b["text"] for b in x.bodies[6:])  # u1 never after u2
    # Its own re-delivery is told why.
    assert post(client, incident(1)).get_json()["reason"] == (
        "superseded: the incident's newer update upd2 is already posted"
    )


@pytest.mark.usefixtures("secret_manager")
def test_a_stale_claim_older_than_a_posted_update_is_not_caught_up(make_client, http, state_bucket) -> None:
    """The rule holds on reading too: a record left retryable (its superseded write lost, or
    a claim whose owner died) is never posted once a newer update is out."""
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    assert post(client, incident(2)).get_json()["result"] == "posted"  # u1 predates the relay
    dead = Record("upd1", "inc1", CLAIMED, first_claimed_at=time.time() - 900, claimed_at=time.time() - 900)
    assert GcsStore(state_bucket, project="test-project").create(dead, LONG) is not None
    answer = post(client, incident(3)).get_json()
    assert answer["result"] == "posted" and "caught_up" not in answer
    assert answer["superseded"] == ["upd1"]
    assert [b["text"] for b in x.bodies] == [
        f"[status] Monitoring: Update number {n}. {SHORTLINK}" for n in (2, 3)
    ]


def test_a_late_delivery_of_an_older_update_is_superseded(http, state_bucket) -> None:
    """What the sweep will do: deliver an update that is not the incident's newest. A newer one
    is out, so this one is recorded superseded and not posted."""
    from conftest import CREDENTIALS, PAGE_ID

    from bot.decide import Post
    from bot.payload import parse_payload
    from bot.relay import Relay
    from bot.x_client import XClient

    x = FakeX(http)
    from bot.destinations.x import XDestination

    relay = Relay(
        GcsStore(state_bucket, project="test-project"),
        XDestination(XClient(lambda refresh, deadline: tuple(CREDENTIALS.values()))),
    )
    whole = parse_payload(incident(2), PAGE_ID)
    newest = Post("[status] Monitoring: Update number 2.", 40, "incident", "inc1", "upd2", whole)
    older = Post("[status] Investigating: Update number 1.", 40, "incident", "inc1", "upd1", whole)
    assert relay.deliver(newest, LONG).result == "posted"
    delivery = relay.deliver(older, LONG)
    assert (delivery.result, delivery.reason) == (
        "superseded",
        "the incident's newer update upd2 is already posted",
    )
    assert len(x.bodies) == 1
    assert record_of(state_bucket, "upd1").state == "superseded"


@pytest.mark.usefixtures("secret_manager")
def test_while_nothing_is_out_failed_updates_stay_to_be_posted_in_order(
    make_client, http, state_bucket
) -> None:
    """X down for an incident's first two updates: neither is superseded by the other's failure,
    and when X is back the next delivery posts all three, oldest first, as one thread."""
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    outage = (503, {"title": "Service Unavailable"})
    x.failures += [outage] * 3
    assert post(client, incident(1)).get_json()["result"] == "failed"
    x.failures += [outage] * 6  # update 1's catch-up, then update 2
    answer = post(client, incident(2)).get_json()
    assert answer["result"] == "failed" and "superseded" not in answer
    assert record_of(state_bucket, "upd1").state == "failed"

    answer = post(client, incident(3)).get_json()
    assert [c["result"] for c in answer["caught_up"]] == ["posted", "posted"]
    assert answer["result"] == "posted"
    assert [b["text"] for b in x.bodies[-3:]] == [
        f"[status] {s}: Update number {n}. {SHORTLINK}"
        for s, n in (("Investigating", 1), ("Monitoring", 2), ("Monitoring", 3))
    ]
    assert x.replies()[-3:] == [None, "1010", "1011"]  # one thread

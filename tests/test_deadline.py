"""One deadline per request: every network call takes its timeout from what remains of 20 s."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

import pytest
import requests
import responses
from conftest import PAGE_ID, PROJECT, RANGES_URL, X_TWEETS_URL, forward_to_gcs, incident, post, serve

from bot.deadline import Deadline, DeadlineExceededError


class FakeClock:
    """Time that passes only when a call says it waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds

    def wait_until(self, moment: float) -> None:
        with self.lock:
            self.now = max(self.now, moment)


def test_a_deadline_hands_out_what_remains_and_refuses_when_nothing_does() -> None:
    clock = FakeClock()
    deadline = Deadline.after(20, clock)
    assert deadline.timeout(2.5) == 2.5
    clock.wait(19)
    assert deadline.timeout(2.5) == pytest.approx(1.0)
    connect, read = deadline.http_timeout(4.0)
    assert connect + read == pytest.approx(1.0) and connect <= 0.5
    assert deadline.before(0.5).timeout(9) == pytest.approx(0.5)
    assert deadline.within(0.2).timeout(9) == pytest.approx(0.2)
    clock.wait(1)
    with pytest.raises(DeadlineExceededError, match="out of time"):
        deadline.timeout(2.5)


def test_a_ledger_call_retries_within_the_time_it_was_given() -> None:
    """google-cloud-storage starts a retry while its retry timeout lasts, and that attempt then
    runs its own timeout: the two together stay within the call's share of the deadline."""
    from bot.gcs_ledger import GcsStore

    clock = FakeClock()
    for left in (20.0, 2.5, 0.7):
        deadline = Deadline.after(left, clock)
        (connect, read), retry = GcsStore._limits(deadline)
        assert connect + read + retry.timeout <= min(left, 2.5) + 1e-9


# --- The whole connect, not each address --------------------------------------------------------


@pytest.fixture
def unanswered_addresses() -> Any:
    """Four loopback addresses on one port: the first refuses, the others never complete a
    connect (a listener whose backlog is full drops the SYN, as a black hole does)."""
    listeners, fillers = [], []
    probe = socket.socket()
    probe.bind(("127.0.0.2", 0))
    port = probe.getsockname()[1]
    probe.close()
    for host in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
        listener = socket.socket()
        listener.bind((host, port))
        listener.listen(0)
        listeners.append(listener)
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, port))
            fillers.append(filler)
    yield port, ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
    for sock in listeners + fillers:
        sock.close()


def test_a_connect_timeout_bounds_all_of_a_hosts_addresses_together(
    unanswered_addresses, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import connect

    port, addresses = unanswered_addresses
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "many.test":  # the resolver is the boundary: a name with four addresses
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
        return real_getaddrinfo(host, *args, **kwargs)

    given: list[float] = []
    real_settimeout = socket.socket.settimeout
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(
        socket.socket, "settimeout", lambda self, t: given.append(t) or real_settimeout(self, t)
    )
    monkeypatch.setattr("urllib3.util.connection.create_connection", connect._urllib3_create_connection)

    def connect_timeouts() -> list[float]:
        given.clear()
        with pytest.raises(requests.ConnectTimeout):
            requests.get(f"http://many.test:{port}/", timeout=(0.3, 1.0))
        return [t for t in given if t is not None and t > 0.01]

    # urllib3 alone: the refused address, then 0.3 s for each of the three silent ones.
    assert sorted(connect_timeouts()) == [0.3, 0.3, 0.3, 0.3]
    connect.install()
    shared = connect_timeouts()
    assert sum(shared[1:]) <= 0.3 + 1e-6  # after the refusal, what remains of 0.3 s, once
    assert len(shared) == 2


# --- Reads of earlier records are bounded -------------------------------------------------------


@pytest.mark.usefixtures("secret_manager")
def test_a_long_incident_reads_a_bounded_number_of_earlier_records(
    make_client, http, state_bucket, gcs_server
) -> None:
    from conftest import FakeX

    from bot.relay import MAX_EARLIER_READS

    FakeX(http)
    forward_to_gcs(http, gcs_server)
    client = make_client(STATE_BUCKET=state_bucket)
    long_incident = incident(1)
    long_incident["incident"]["incident_updates"] = [
        {
            "id": f"upd{n}",
            "body": f"Update {n}.",
            "status": "monitoring",
            "created_at": f"2026-11-27T{n // 60:02d}:{n % 60:02d}:00Z",
        }
        for n in range(80, 0, -1)
    ]
    before = len(http.calls)
    assert post(client, long_incident).get_json()["result"] == "posted"
    reads = [
        c for c in http.calls[before:] if c.request.method == "GET" and "/o/updates%2Fupd" in c.request.url
    ]
    assert 1 <= len(reads) <= MAX_EARLIER_READS
    assert all("upd80" not in c.request.url for c in reads)  # earlier ones, newest first
    assert any("upd79" in c.request.url for c in reads)


# --- A whole request, every call taking its whole timeout ---------------------------------------


def test_every_call_of_a_request_takes_its_timeout_from_one_20_second_budget(
    http, secret_manager, state_bucket, gcs_server, tmp_path
) -> None:
    """A warm instance posts an incident's second update while every network call (the ledger,
    X, the secrets it re-reads after a 401) answers only at the end of its timeout. The
    timeouts, added up, are the time the request took: they must fit in 20 s."""
    from bot.app import build_handler

    clock = FakeClock()
    hanging = threading.Event()
    calls: list[tuple[str, float, float]] = []  # (what, budget left at its start, its timeout)
    started = [0.0]

    heartbeats: list[tuple[float, float]] = []  # (budget left at its start, its timeout)

    def wait(what: str, timeout: Any) -> None:
        seconds = sum(timeout) if isinstance(timeout, tuple) else float(timeout)
        if not hanging.is_set():
            return
        if "heartbeat" in what:  # written side by side with the post: it takes no turn of its own
            heartbeats.append((20 - (clock.now - started[0]), seconds))
            return
        calls.append((what, 20 - (clock.now - started[0]), seconds))
        clock.wait(seconds)

    # The ledger: fake-gcs-server, reached through a callback that first waits the timeout.
    def what(request: Any) -> str:
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        return "heartbeat" if b"meta/heartbeat.json" in body else f"ledger {request.method}"

    forward_to_gcs(http, gcs_server, lambda request: wait(what(request), request.req_kwargs["timeout"]))

    answers = iter([(201, "1001"), (401, None), (201, "1002")])

    def x(request: Any) -> tuple[int, dict[str, str], str]:
        wait("X", request.req_kwargs["timeout"])
        status, tweet_id = next(answers)
        body = {"data": {"id": tweet_id, "text": "t"}} if tweet_id else {"title": "Unauthorized"}
        return status, {}, json.dumps(body)

    http.add_callback(responses.POST, X_TWEETS_URL, callback=x)
    real_access = secret_manager.access_secret_version
    side_by_side = threading.Barrier(4)  # the four credentials are read at once

    def access(self: Any, request: dict[str, str], **kwargs: Any) -> Any:
        if hanging.is_set():
            start = clock.now
            side_by_side.wait(timeout=10)  # all four have read the time before any waits
            calls.append(("secret", 20 - (start - started[0]), kwargs["timeout"]))
            clock.wait_until(start + kwargs["timeout"])
        return real_access(self, request, **kwargs)

    secret_manager.access_secret_version = access
    env = {
        "STATUSPAGE_PAGE_ID": PAGE_ID,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "ATLASSIAN_IP_RANGES_URL": RANGES_URL,
        "IP_RANGES_SNAPSHOT": str(tmp_path / "none.json"),
        "STATE_BUCKET": state_bucket,
    }
    handler = build_handler(env, clock=clock)
    client = serve(handler)

    assert post(client, incident(1)).get_json()["result"] == "posted"  # warm: ranges, secrets
    hanging.set()
    started[0] = clock.now
    answer = post(client, incident(2)).get_json()

    # Claim, read the first update's record, post (401), re-read the four credentials side by
    # side: X's 10 s are then spent, so no second attempt; the outcome is still written.
    assert [what for what, _, _ in calls] == [
        "ledger POST",
        "ledger GET",
        "X",
        *["secret"] * 4,
        "ledger POST",
    ]
    assert all(0 < timeout <= left for _, left, timeout in calls), calls
    assert clock.now - started[0] <= 20, calls
    # The post, its credentials' re-read included (four reads at once: one wait), kept to X's
    # own budget of 10 s.
    assert calls[2][2] + calls[3][2] <= 10
    # The webhook's heartbeat, written beside the claim, within the budget too.
    ((left, timeout),) = heartbeats
    assert 0 < timeout <= left
    assert answer["result"] == "failed" and "out of time" in answer["reason"]
    assert "retried with the incident's next delivery" in answer["reason"]

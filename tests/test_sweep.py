"""The sweep: every update Statuspage published is posted once, even when no webhook comes.

Statuspage's public API and X are faked on the wire with `responses`; the ledger is
fake-gcs-server. Time is a fake wall clock, so updates can be minutes old at will.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from conftest import PAGE_ID, SHORTLINK, FakeX, forward_to_gcs, json_lines, post, serve

from bot.deadline import Deadline
from bot.gcs_ledger import GcsStore
from bot.ledger import CLAIMED, Record

STATUS_URL = "https://status.example.test"
INCIDENTS_URL = f"{STATUS_URL}/api/v2/incidents.json"
MAINTENANCES_URL = f"{STATUS_URL}/api/v2/scheduled-maintenances.json"
LONG = Deadline(float("inf"))
START = time.time()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def incident(times: list[float], *, id: str = "inc1", first: int = 1) -> dict[str, Any]:
    """An incident whose updates upd{first}… were published at `times`, newest first."""
    shortlink = SHORTLINK if id == "inc1" else f"https://stspg.io/{id}"
    updates = [
        {
            "id": f"{id}-upd{first + i}" if id != "inc1" else f"upd{first + i}",
            "body": f"Update number {first + i}.",
            "status": "investigating" if first + i == 1 else "monitoring",
            "created_at": iso(at),
        }
        for i, at in enumerate(times)
    ]
    return {
        "id": id,
        "name": "Elevated errors",
        "status": "monitoring",
        "shortlink": shortlink,
        "updated_at": iso(max(times)),
        "incident_updates": updates[::-1],
    }


class FakeStatuspage:
    """Statuspage's two public API documents; what they list can change between runs."""

    def __init__(self, http: Any) -> None:
        self.incidents: list[Any] = []
        self.maintenances: list[Any] = []
        self.page_id = PAGE_ID
        self.broken: Any = None  # an exception, or a (status, body) answer, for both documents
        http.add_callback("GET", INCIDENTS_URL, callback=lambda r: self.answer("incidents"))
        http.add_callback("GET", MAINTENANCES_URL, callback=lambda r: self.answer("scheduled_maintenances"))

    def answer(self, key: str) -> Any:
        if isinstance(self.broken, Exception):
            raise self.broken
        if self.broken is not None:
            return self.broken[0], {}, self.broken[1]
        items = self.incidents if key == "incidents" else self.maintenances
        page = {"id": self.page_id, "name": "Sentry", "url": STATUS_URL}
        return 200, {"Content-Type": "application/json"}, json.dumps({"page": page, key: items})


class World:
    """One deployment: the webhook and the sweep functions, sharing the ledger, X and a clock."""

    def __init__(self, base_env: dict[str, str], http: Any, bucket: str, **env: str) -> None:
        from bot.app import build_app

        self.now = START
        self.x = FakeX(http)
        self.statuspage = FakeStatuspage(http)
        self.env = {**base_env, "STATE_BUCKET": bucket, "STATUSPAGE_URL": STATUS_URL, **env}
        self.app = build_app(self.env, wall_clock=lambda: self.now)
        self.webhook = serve(self.app.webhook)
        self.bucket = bucket

    def sweep(self) -> dict[str, Any]:
        response = serve(self.app.sweep).post("/")
        assert response.status_code == 200
        return response.get_json()

    def deliver(self, item: dict[str, Any]) -> dict[str, Any]:
        """The webhook of an incident as it stands (the `item` the API lists)."""
        return post(self.webhook, {"page": {"id": PAGE_ID}, "incident": item}).get_json()

    def record(self, update_id: str) -> Record | None:
        entry = GcsStore(self.bucket, project="test-project").get(update_id, LONG)
        return entry.record if entry else None


@pytest.fixture
def world(base_env, http, state_bucket, secret_manager) -> World:
    return World(base_env, http, state_bucket)


def texts(x: FakeX) -> list[str]:
    return [b["text"] for b in x.bodies]


# --- The watermark -------------------------------------------------------------------------------


def test_the_first_run_posts_no_history_and_then_watches(world, capsys) -> None:
    world.statuspage.incidents = [incident([START - 3600, START - 1800])]
    answer = world.sweep()
    assert answer["posted"] == [] and world.x.bodies == []
    assert answer["skipped"] == {"before watermark": 2}
    stored = GcsStore(world.bucket, project="test-project").read_meta("sweep", LONG)
    assert stored["since"] == START and stored["last_run_at"] == START
    # An update published after the first run is the sweep's, once the grace period is over.
    world.now += 600
    world.statuspage.incidents = [incident([START - 3600, START - 1800, START + 60])]
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd3"]
    assert texts(world.x) == [f"[status] Monitoring: Update number 3. {SHORTLINK}"]


def test_a_backfill_posts_in_order_up_to_the_cap_then_goes_on(base_env, http, state_bucket) -> None:
    world = World(base_env, http, state_bucket, SWEEP_SINCE=iso(START - 7200), SWEEP_MAX_POSTS="3")
    world.statuspage.incidents = [incident([START - 3000 + 60 * i for i in range(5)])]
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1", "upd2", "upd3"]
    assert answer["skipped"] == {"post cap": 2}
    assert answer["missed_by_webhook"] == []  # published before the sweep watched: a backfill
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd4", "upd5"]
    # One thread, in order, every one of them once.
    assert texts(world.x) == [
        f"[status] {s}: Update number {n}. {SHORTLINK}"
        for s, n in zip(["Investigating"] + ["Monitoring"] * 4, range(1, 6), strict=True)
    ]
    assert world.x.replies() == [None, "1001", "1002", "1003", "1004"]


# --- Missed webhooks, and the alarm -------------------------------------------------------------


def test_a_missed_webhook_is_posted_once_in_its_thread_and_alarms(world, capsys) -> None:
    world.sweep()  # starts watching at START
    first = incident([START + 10])
    world.now = START + 20
    assert world.deliver(first)["tweet_id"] == "1001"  # the webhook works for update 1 …
    world.now = START + 600  # … and never brings update 2
    world.statuspage.incidents = [incident([START + 10, START + 300])]
    capsys.readouterr()
    answer = world.sweep()

    assert answer["posted"] == [
        {"incident_id": "inc1", "update_id": "upd2", "tweet_id": "1002", "thread": "reply"}
    ]
    assert answer["missed_by_webhook"] == [{"incident_id": "inc1", "update_id": "upd2", "age_seconds": 300}]
    assert world.x.replies() == [None, "1001"]
    lines = json_lines(capsys.readouterr().out)
    (alarm,) = [line for line in lines if line.get("result") == "missed_by_webhook"]
    assert alarm["severity"] == "ERROR" and alarm["age_seconds"] == 300
    assert "quarantined" in alarm["message"] and "token" in alarm["message"]
    (summary,) = [line for line in lines if line["message"].startswith("Sweep: checked")]
    assert summary["heartbeat_age_seconds"] == 580  # the webhook's delivery of update 1
    assert "580 s ago" in summary["message"]
    # Once: the next run finds it posted, and says nothing of a miss.
    answer = world.sweep()
    assert answer["posted"] == [] and answer["missed_by_webhook"] == [] and len(world.x.bodies) == 2


def test_the_webhook_and_the_sweep_racing_on_one_update_post_once(world) -> None:
    world.sweep()
    world.now = START + 600
    item = incident([START + 100])
    world.statuspage.incidents = [item]
    world.x.delay = 0.3
    answers: list[Any] = []
    barrier = threading.Barrier(2)

    def run(job: Any) -> None:
        barrier.wait()
        answers.append(job())

    threads = [
        threading.Thread(target=run, args=(world.sweep,)),
        threading.Thread(target=run, args=(lambda: world.deliver(item),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(world.x.bodies) == 1
    assert world.record("upd1").state == "posted"


def test_updates_published_without_notifying_are_skipped(world) -> None:
    world.sweep()
    world.now = START + 600
    item = incident([START + 100, START + 200])
    item["incident_updates"][0]["deliver_notifications"] = False  # update 2
    world.statuspage.incidents = [item]
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1"]
    assert answer["skipped"] == {"not notified": 1}


def test_updates_within_the_grace_period_are_left_to_the_webhook(world) -> None:
    world.sweep()
    world.now = START + 600
    world.statuspage.incidents = [incident([START + 100, START + 550])]  # 50 s old: under 120
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1"]
    assert answer["skipped"] == {"within grace": 1}


# --- What the webhook left undone ---------------------------------------------------------------


def test_the_incidents_failed_last_update_is_retried_by_the_sweep(world) -> None:
    world.sweep()
    world.now = START + 60
    world.x.failures += [(503, {"title": "Service Unavailable"})] * 3
    item = incident([START + 30])
    assert world.deliver(item)["result"] == "failed"  # the last update: no later delivery comes
    world.statuspage.incidents = [item]
    world.now = START + 200  # 140 s after the attempt: its backoff (5 minutes) has not passed
    answer = world.sweep()
    assert answer["posted"] == [] and answer["skipped"] == {"waiting to retry": 1}
    world.now = START + 400
    answer = world.sweep()
    assert [(p["update_id"], p["tweet_id"]) for p in answer["posted"]] == [("upd1", "1004")]
    assert answer["missed_by_webhook"] == []  # the webhook did bring it
    record = world.record("upd1")
    assert (record.state, record.attempts) == ("posted", 2)


def test_a_stale_claim_is_taken_over(world) -> None:
    world.sweep()
    world.now = START + 1200
    dead = Record("upd1", "inc1", CLAIMED, first_claimed_at=START + 60, claimed_at=START + 60, owner="died")
    GcsStore(world.bucket, project="test-project").create(dead, LONG)
    world.statuspage.incidents = [incident([START + 30])]
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1"]
    assert world.record("upd1").owner != "died"


def test_a_claim_being_posted_is_left_alone(world) -> None:
    world.sweep()
    world.now = START + 200
    live = Record(
        "upd1", "inc1", CLAIMED, first_claimed_at=START + 190, claimed_at=START + 190, owner="alive"
    )
    GcsStore(world.bucket, project="test-project").create(live, LONG)
    world.statuspage.incidents = [incident([START + 30])]
    answer = world.sweep()
    assert answer["posted"] == [] and answer["skipped"] == {"being posted": 1}
    assert world.x.bodies == []


# --- The source ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        requests.ConnectionError("connection refused"),
        (503, "<html>Service Unavailable</html>"),
        (200, "<html>not JSON</html>"),
        (200, json.dumps({"page": {"id": PAGE_ID}, "unexpected": []})),
    ],
    ids=["down", "503", "html", "no list"],
)
def test_an_unreadable_api_posts_nothing_with_one_error(world, capsys, broken) -> None:
    world.sweep()
    world.now = START + 600
    world.statuspage.incidents = [incident([START + 100])]
    world.statuspage.broken = broken
    capsys.readouterr()
    answer = world.sweep()
    assert answer["posted"] == [] and world.x.bodies == []
    assert "error" in answer and STATUS_URL in answer["error"]
    errors = [line for line in json_lines(capsys.readouterr().out) if line["severity"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["message"].startswith("Sweep failed; nothing posted")
    # Nothing was lost: with the API back, the next run posts it.
    world.statuspage.broken = None
    assert [p["update_id"] for p in world.sweep()["posted"]] == ["upd1"]


def test_another_pages_api_posts_nothing(world, capsys) -> None:
    world.sweep()
    world.now = START + 600
    world.statuspage.incidents = [incident([START + 100])]
    world.statuspage.page_id = "someoneelse1"
    answer = world.sweep()
    assert answer["posted"] == [] and world.x.bodies == []
    assert "someone else's status page" in answer["error"]


def test_a_malformed_incident_is_skipped_and_the_others_posted(world, capsys) -> None:
    world.sweep()
    world.now = START + 600
    bad = incident([START + 100], id="bad1")
    bad["shortlink"] = "javascript:alert(1)"
    world.statuspage.incidents = [bad, incident([START + 200])]
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1"]
    assert answer["skipped"] == {"malformed": 1}
    assert any("Skipped a malformed item" in line["message"] for line in json_lines(capsys.readouterr().out))


def test_a_maintenance_is_posted_with_its_status(world) -> None:
    world.sweep()
    world.now = START + 600
    maintenance = incident([START + 100], id="mnt1")
    maintenance["incident_updates"][0].update(status="in_progress", body="Database maintenance has begun.")
    world.statuspage.maintenances = [maintenance]
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["mnt1-upd1"]
    assert texts(world.x) == ["[status] In progress: Database maintenance has begun. https://stspg.io/mnt1"]


# --- Order, limits and cost ---------------------------------------------------------------------


def test_five_updates_only_through_the_sweep_come_out_in_order_as_one_thread(world) -> None:
    world.sweep()
    for n in range(1, 6):  # one update published between each two runs
        world.now = START + 600 * n
        world.statuspage.incidents = [incident([START + 600 * k - 300 for k in range(1, n + 1)])]
        assert [p["update_id"] for p in world.sweep()["posted"]] == [f"upd{n}"]
    statuses = ["Investigating"] + ["Monitoring"] * 4
    assert texts(world.x) == [
        f"[status] {s}: Update number {n}. {SHORTLINK}" for n, s in enumerate(statuses, 1)
    ]
    assert world.x.replies() == [None, "1001", "1002", "1003", "1004"]


def test_incidents_oldest_first_and_a_rate_limit_stops_the_run(base_env, http, state_bucket) -> None:
    world = World(base_env, http, state_bucket, SWEEP_SINCE=iso(START - 7200))
    newer, older = incident([START - 600], id="new1"), incident([START - 3000, START - 2900])
    world.statuspage.incidents = [newer, older]  # the API lists newest first
    world.x.failures.append((429, {"title": "Too Many Requests"}))
    answer = world.sweep()
    assert [f["update_id"] for f in answer["failed"]] == ["upd1"]
    assert answer["skipped"] == {"rate limited": 2}  # upd2, and the newer incident's update
    assert len(world.x.bodies) == 1
    world.now += 301
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1", "upd2", "new1-upd1"]


def test_a_quiet_run_reads_the_api_and_two_ledger_objects_only(
    base_env, http, state_bucket, gcs_server
) -> None:
    forward_to_gcs(http, gcs_server)
    world = World(base_env, http, state_bucket, SWEEP_SINCE=iso(START - 7200))
    world.statuspage.incidents = [
        incident([START - 3000 + 60 * i for i in range(5)]),
        incident([START - 2000], id="inc2"),
    ]
    assert len(world.sweep()["posted"]) == 6
    before = len(http.calls)
    answer = world.sweep()
    assert answer["posted"] == [] and answer["skipped"] == {"settled": 6}
    calls = [(c.request.method, c.request.url, c.request.body) for c in http.calls[before:]]
    api = sorted(u for _, u, _ in calls if not u.startswith(gcs_server.url))
    assert api == [INCIDENTS_URL, MAINTENANCES_URL]
    # Its own record and the heartbeat read, its record written: not one read per update. (The
    # storage client may also check the bucket's existence after a 404: not an object.)
    objects = [(m, u, b) for m, u, b in calls if "/o/" in u or "uploadType" in u]
    assert [(m, u.split("/o/")[-1].split("?")[0]) for m, u, _ in objects if m == "GET"] == [
        ("GET", "meta%2Fsweep.json"),
        ("GET", "meta%2Fheartbeat.json"),
    ]
    (write,) = [b for m, _, b in objects if m == "POST"]
    assert b"meta/sweep.json" in (write if isinstance(write, bytes) else write.encode())
    # An incident that changes is looked at again.
    world.statuspage.incidents[1] = incident([START - 2000, START - 200], id="inc2")
    assert [p["update_id"] for p in world.sweep()["posted"]] == ["inc2-upd2"]


def test_a_dry_run_lists_what_it_would_post_and_writes_nothing(base_env, http, state_bucket) -> None:
    world = World(base_env, http, state_bucket, DRY_RUN="true", SWEEP_SINCE=iso(START - 7200))
    world.statuspage.incidents = [incident([START - 3000, START - 2000])]
    answer = world.sweep()
    assert [w["text"] for w in answer["would_post"]] == [
        f"[status] Investigating: Update number 1. {SHORTLINK}",
        f"[status] Monitoring: Update number 2. {SHORTLINK}",
    ]
    assert world.x.bodies == [] and answer["posted"] == []
    assert GcsStore(world.bucket, project="test-project").read_meta("sweep", LONG) is None
    assert world.record("upd1") is None

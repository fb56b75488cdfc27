"""The ranges cache: first fetch, TTL refresh, failures, and the deploy-time snapshot.

The ranges service is faked on the wire with `responses`; time is a fake clock.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import requests
import responses
from conftest import RANGES_URL, load_fixture

from bot.allowlist import Allowlist

TRUSTED = ipaddress.ip_address("13.52.5.97")
NEW = ipaddress.ip_address("198.51.100.7")
NEW_DOC = {"items": [{"cidr": "198.51.100.0/24", "product": ["statuspage"], "direction": ["egress"]}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(tmp_path: Path, clock: Clock, **kwargs) -> Allowlist:
    defaults = {
        "url": RANGES_URL,
        "ttl_seconds": 3600,
        "snapshot": tmp_path / "snapshot.json",
        "clock": clock,
    }
    return Allowlist(**(defaults | kwargs))


def fetches(rsps) -> int:
    return sum(1 for c in rsps.calls if c.request.url == RANGES_URL)


@responses.activate
def test_fetched_once_then_cached_until_ttl(tmp_path, clock) -> None:
    responses.get(RANGES_URL, json=load_fixture("ip-ranges.json"))
    allowlist = make(tmp_path, clock)
    assert allowlist.allows(TRUSTED)
    clock.now += 3599
    assert allowlist.allows(TRUSTED)
    assert not allowlist.allows(NEW)
    assert fetches(responses) == 1


@responses.activate
def test_refresh_after_ttl_replaces_the_list(tmp_path, clock) -> None:
    responses.get(RANGES_URL, json=load_fixture("ip-ranges.json"))
    responses.get(RANGES_URL, json=NEW_DOC)
    allowlist = make(tmp_path, clock)
    assert allowlist.allows(TRUSTED)
    clock.now += 3600
    assert allowlist.allows(NEW)
    assert not allowlist.allows(TRUSTED)
    assert fetches(responses) == 2


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503},
        {"body": requests.ConnectionError("down")},
        {"body": "<html>not json</html>"},
        {"json": {"items": []}},
    ],
)
@responses.activate
def test_failed_refresh_keeps_the_last_good_list(tmp_path, clock, capsys, failure) -> None:
    responses.get(RANGES_URL, json=load_fixture("ip-ranges.json"))
    responses.get(RANGES_URL, **failure)
    responses.get(RANGES_URL, json=NEW_DOC)
    allowlist = make(tmp_path, clock)
    assert allowlist.allows(TRUSTED)
    clock.now += 3601
    assert allowlist.allows(TRUSTED)
    assert "keeping the last good list" in capsys.readouterr().out
    # The failure is not retried on every request, but after a pause.
    clock.now += 30
    assert allowlist.allows(TRUSTED)
    assert fetches(responses) == 2
    clock.now += 31
    assert allowlist.allows(NEW)
    assert fetches(responses) == 3


@responses.activate
def test_cold_start_outage_falls_back_to_the_snapshot(tmp_path, clock, capsys) -> None:
    (tmp_path / "snapshot.json").write_text(json.dumps(load_fixture("ip-ranges.json")))
    responses.get(RANGES_URL, status=500)
    responses.get(RANGES_URL, json=NEW_DOC)
    allowlist = make(tmp_path, clock)
    assert allowlist.allows(TRUSTED)
    assert not allowlist.allows(NEW)
    assert "using the snapshot" in capsys.readouterr().out
    clock.now += 61  # the service is back: the fetched list replaces the snapshot
    assert allowlist.allows(NEW)


@pytest.mark.parametrize("snapshot", [None, "{broken", '{"items": []}'])
@responses.activate
def test_no_list_and_no_snapshot_fails_closed(tmp_path, clock, capsys, snapshot) -> None:
    if snapshot is not None:
        (tmp_path / "snapshot.json").write_text(snapshot)
    responses.get(RANGES_URL, body=requests.ConnectionError("no route"))
    allowlist = make(tmp_path, clock, extra_cidrs=["127.0.0.1/32"])
    assert not allowlist.allows(TRUSTED)
    assert allowlist.allows(ipaddress.ip_address("127.0.0.1"))
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert line["severity"] == "ERROR" and "make snapshot" in line["message"]


@responses.activate
def test_fetch_uses_a_timeout_of_at_most_five_seconds(tmp_path, clock) -> None:
    seen = []

    def fetch(url: str, timeout: float):
        seen.append(timeout)
        return load_fixture("ip-ranges.json")

    assert make(tmp_path, clock, fetch=fetch).allows(TRUSTED)
    assert seen and all(0 < t <= 5 for t in seen)

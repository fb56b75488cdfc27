"""Every failure alerts: the log lines that failure scenarios emit, held against the alert
metrics' filters in terraform/alerting.tf.

The filters are kept to a few clause forms, and this file evaluates exactly those forms as
Cloud Logging's query language defines them (`=`, `>=` on severity, `:` substring, `OR` lists,
`log_id()`), over log entries built the way Cloud Run stores the function's JSON lines.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from conftest import FakeGcsServer, FakeX, incident, json_lines, post
from test_terraform import LOCALS

SERVICE = "incident-twitter-bot"
SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]


def metric_filter(alert: str) -> str:
    """The metric's whole filter, with the deployment's names filled in."""
    text = f"{LOCALS['our_services']} AND {LOCALS['alerts'][alert]['filter']}"
    return text.replace("${var.function_name}", SERVICE).replace("${local.sweep_name}", f"{SERVICE}-sweep")


def _field(entry: dict[str, Any], path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _alternatives(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("("):
        raw = raw[1:-1]
    return [a.strip().strip('"') for a in raw.split(" OR ")]


def matches(query: str, entry: dict[str, Any]) -> bool:
    """Cloud Logging's query language, for the clause forms our filters use, joined by AND."""
    for clause in re.split(r"\s+AND\s+", query.strip()):
        if match := re.fullmatch(r'log_id\("([^"]+)"\)', clause):
            if not entry.get("logName", "").endswith("/logs/" + match.group(1).replace("/", "%2F")):
                return False
        elif match := re.fullmatch(r"severity>=(\w+)", clause):
            if SEVERITIES.index(entry.get("severity", "DEFAULT")) < SEVERITIES.index(match.group(1)):
                return False
        elif match := re.fullmatch(r"([\w.]+)([=:])(.+)", clause):
            value = _field(entry, match.group(1))
            wanted = _alternatives(match.group(3))
            if match.group(2) == ":":
                if not isinstance(value, str) or not any(w in value for w in wanted):
                    return False
            elif (str(value).lower() if isinstance(value, bool) else value) not in wanted:
                return False  # a JSON true reads as `true` in a query
        else:
            raise AssertionError(f"a clause this evaluator does not know: {clause}")
    return True


def entry_of(line: dict[str, Any], service: str = SERVICE) -> dict[str, Any]:
    """A JSON line of ours as Cloud Run stores it."""
    return {
        "logName": "projects/p/logs/run.googleapis.com%2Fstdout",
        "severity": line["severity"],
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
        "jsonPayload": line,
    }


def test_the_evaluator_reads_the_clause_forms_as_cloud_logging_does() -> None:
    line = {"severity": "WARNING", "rejected": True, "result": "failed", "message": "m"}
    assert matches('jsonPayload.result=("failed" OR "unknown")', entry_of(line))
    assert not matches('jsonPayload.result=("unknown")', entry_of(line))
    assert matches("jsonPayload.rejected=true", entry_of(line))
    assert matches("severity>=WARNING", entry_of(line)) and not matches("severity>=ERROR", entry_of(line))
    assert not matches(metric_filter("errors"), entry_of({**line, "severity": "ERROR"}, "another-service"))


# --- The failure scenarios -----------------------------------------------------------------------


@pytest.fixture
def lines(capsys) -> Any:
    """The JSON lines the scenario printed, as Cloud Run stores them."""

    def read() -> list[dict[str, Any]]:
        return [entry_of(line) for line in json_lines(capsys.readouterr().out)]

    return read


def errors_alert(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ERROR lines; each must be counted by the errors metric."""
    found = [e for e in entries if SEVERITIES.index(e["severity"]) >= SEVERITIES.index("ERROR")]
    assert found, "the scenario logged no ERROR line"
    for entry in found:
        assert matches(metric_filter("errors"), entry), entry
    return found


@pytest.mark.usefixtures("secret_manager")
def test_failed_unknown_and_rate_limited_posts_alert_twice(make_client, http, state_bucket, lines) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    x.failures += [(503, {"title": "Service Unavailable"})] * 3
    post(client, incident(1))
    x.failures.append(requests.ReadTimeout("read timed out"))
    post(client, incident(1))
    x.failures.append((429, {"title": "Too Many Requests"}))
    post(client, incident(2))
    entries = lines()
    errors_alert(entries)
    summaries = [
        e for e in entries if e["jsonPayload"].get("result") in ("failed", "unknown", "rate_limited")
    ]
    assert {e["jsonPayload"]["result"] for e in summaries} == {"failed", "unknown", "rate_limited"}
    assert all(matches(metric_filter("undelivered"), e) for e in summaries)


@pytest.mark.usefixtures("secret_manager")
def test_an_unexpected_error_alerts(make_client, http, monkeypatch, lines) -> None:
    import sys

    client = make_client()

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["bot.handler"], "decide", broken)
    assert post(client, incident(1)).get_json()["result"] == "failed"
    (error,) = errors_alert(lines())
    assert "result" not in error["jsonPayload"] or error["jsonPayload"]["result"] == "failed"


@pytest.mark.usefixtures("secret_manager")
def test_a_failed_outcome_write_alerts_though_the_answer_is_posted(
    make_client, http, monkeypatch, tmp_path, lines
) -> None:
    server = FakeGcsServer(tmp_path / "gcs.log")
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    client = make_client(STATE_BUCKET=server.create_bucket())

    def post_then_lose_the_ledger(request: Any) -> tuple[int, dict[str, str], str]:
        server.stop()  # the claim is written; the outcome will not be
        return 201, {}, '{"data": {"id": "1001", "text": "t"}}'

    http.add_callback("POST", "https://api.twitter.com/2/tweets", callback=post_then_lose_the_ledger)
    started = time.monotonic()
    assert post(client, incident(1)).get_json()["result"] == "posted"
    assert time.monotonic() - started < 20
    (error,) = errors_alert(lines())
    assert error["jsonPayload"]["message"].startswith("Could not record the outcome")


def test_a_start_up_configuration_error_alerts(make_client, lines) -> None:
    with pytest.raises(SystemExit):
        make_client(THREAD_MODE="sideways")
    (error,) = errors_alert(lines())
    assert error["jsonPayload"]["startup"] == "failed"
    # And the crash Cloud Run logs when the container exits, which the start-up metric counts.
    system = {
        "logName": "projects/p/logs/run.googleapis.com%2Fvarlog%2Fsystem",
        "severity": "ERROR",
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": SERVICE}},
        "textPayload": "Container called exit(1).",
    }
    assert matches(metric_filter("startup"), system) and matches(metric_filter("errors"), system)
    assert not matches(metric_filter("startup"), error)


def test_a_run_of_403s_counts_towards_the_rejected_alert(make_client, http, secret_manager, lines) -> None:
    secret_manager.values["tok"] = "the-right-token"
    client = make_client(WEBHOOK_TOKEN_SECRET="tok")
    assert post(client, incident(1), ip="203.0.113.9").status_code == 403
    assert post(client, incident(1), path="/?token=wrong").status_code == 403
    assert post(client, incident(1), headers={"X-Forwarded-For": ""}).status_code == 403
    rejected = [e for e in lines() if matches(metric_filter("rejected"), e)]
    assert len(rejected) == 3 and all(e["severity"] == "WARNING" for e in rejected)
    threshold = LOCALS["alerts"]["rejected"]
    assert (threshold["threshold"], threshold["period"]) == (4, "900s")  # 5 or more in 15 minutes


def test_the_sweeps_failures_and_alarm_alert(base_env, http, state_bucket, secret_manager, lines) -> None:
    from test_sweep import START, World
    from test_sweep import incident as listed

    world = World(base_env, http, state_bucket)
    world.sweep()
    world.now = START + 600
    world.statuspage.incidents = [listed([START + 100])]
    world.sweep()  # posted, and missed by the webhook
    world.statuspage.broken = requests.ConnectionError("down")
    world.sweep()
    entries = lines()
    errors = errors_alert(entries)
    missed = [e for e in errors if e["jsonPayload"].get("result") == "missed_by_webhook"]
    assert len(missed) == 1 and matches(metric_filter("undelivered"), missed[0])
    assert any(e["jsonPayload"]["message"].startswith("Sweep failed") for e in errors)
    sweep_line = {
        **entries[-1],
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": f"{SERVICE}-sweep"}},
    }
    assert matches(metric_filter("errors"), sweep_line)  # the sweep function's lines count too

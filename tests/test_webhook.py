"""The deployed function end to end: main.py through functions-framework's app.

X and the ranges service are faked on the wire with `responses`, so tweepy, requests and
the OAuth 1.0a signing run for real; Secret Manager is faked at its client class.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest
import requests
import responses
from conftest import (
    CREDENTIALS,
    PAGE_ID,
    PROJECT,
    RANGES_URL,
    TRUSTED_IP,
    TRUSTED_IP6,
    X_TWEETS_URL,
    json_lines,
    load_fixture,
    post,
)
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature
from twitter_text import parse_tweet

INCIDENT = load_fixture("incident.json")
EXPECTED_TEXT = (
    "[status] Monitoring: A fix has been implemented and we are monitoring the results. "
    "https://status.sentry.io/incidents/bt27tt1h1wsd?u=jwjgrfrf3pjj"
)


def with_update(payload: dict[str, Any], update_id: str, body: str, status: str) -> dict[str, Any]:
    """The incident with one more update, newer than all the others."""
    payload = json.loads(json.dumps(payload))
    updates = payload["incident"]["incident_updates"]
    newest = max(u["created_at"] for u in updates)
    created = newest[:14] + f"{int(newest[14:16]) + 1:02d}" + newest[16:]
    updates.insert(0, {"id": update_id, "body": body, "status": status, "created_at": created})
    return payload


def x_answers(http: Any, *answers: dict[str, Any]) -> None:
    for answer in answers:
        http.post(X_TWEETS_URL, **answer)


def created(tweet_id: str = "1790000000000000001", text: str = EXPECTED_TEXT) -> dict[str, Any]:
    return {"status": 201, "json": {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": []}}}


def x_calls(http: Any) -> list[Any]:
    return [c for c in http.calls if c.request.url == X_TWEETS_URL]


def assert_signed(request: Any) -> None:
    """The Authorization header is a valid OAuth 1.0a HMAC-SHA1 signature by our four secrets."""
    header = request.headers["Authorization"]
    assert header.startswith("OAuth ")
    params = dict(
        signature.collect_parameters(headers={"Authorization": header}, exclude_oauth_signature=False)
    )
    assert params["oauth_consumer_key"] == CREDENTIALS["getsentryhelp_twitter_consumer_key"]
    assert params["oauth_token"] == CREDENTIALS["getsentryhelp_twitter_access_token"]
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    oauth_request = OAuthRequest(request.url, request.method, body=None, headers={"Authorization": header})
    oauth_request.params = [
        (k, v)
        for k, v in signature.collect_parameters(
            headers={"Authorization": header}, exclude_oauth_signature=True
        )
    ]
    oauth_request.signature = params["oauth_signature"]
    assert signature.verify_hmac_sha1(
        oauth_request,
        CREDENTIALS["getsentryhelp_twitter_consumer_secret"],
        CREDENTIALS["getsentryhelp_twitter_access_token_secret"],
    )
    # And a wrong secret would not verify: the check above can fail.
    assert not signature.verify_hmac_sha1(oauth_request, "wrong", "wrong")


def test_posts_newest_update_as_signed_tweet(make_client, http, secret_manager, capsys):
    x_answers(http, created())
    response = post(make_client(), INCIDENT)

    assert response.status_code == 200
    assert response.get_json() == {
        "result": "posted",
        "reason": "tweet created",
        "tweet_id": "1790000000000000001",
        "thread": "standalone",  # the incident's first tweet here
        "cost_usd": 0.2,  # it carries a link
        "text": EXPECTED_TEXT,
        "incident_id": "lbkhbwn21v5q",
        "update_id": "drfcwbnpxnr6",
    }
    (call,) = x_calls(http)
    assert json.loads(call.request.body) == {"text": EXPECTED_TEXT}
    assert_signed(call.request)
    # The four secrets were read once each, version latest, in our project.
    assert sorted(secret_manager.calls) == sorted(
        f"projects/{PROJECT}/secrets/{name}/versions/latest" for name in CREDENTIALS
    )
    summary = [line for line in json_lines(capsys.readouterr().out) if line.get("result")]
    assert summary[-1]["severity"] == "INFO"
    assert summary[-1]["source_ip"] == TRUSTED_IP
    assert summary[-1]["incident_id"] == "lbkhbwn21v5q"
    assert summary[-1]["update_id"] == "drfcwbnpxnr6"
    assert summary[-1]["text"] == EXPECTED_TEXT
    assert summary[-1]["tweet_id"] == "1790000000000000001"


def test_credentials_and_client_are_kept_for_the_instance(make_client, http, secret_manager):
    x_answers(http, created("1"), created("2"))
    client = make_client()
    assert post(client, INCIDENT).get_json()["tweet_id"] == "1"
    assert (
        post(client, with_update(INCIDENT, "resolved1", "Fixed.", "resolved")).get_json()["tweet_id"] == "2"
    )
    assert len(secret_manager.calls) == 4
    assert secret_manager.instances == 1


def test_newest_update_is_chosen_by_time_not_position(make_client, http, secret_manager):
    payload = json.loads(json.dumps(INCIDENT))
    payload["incident"]["incident_updates"].reverse()
    x_answers(http, created())
    assert post(make_client(), payload).get_json()["update_id"] == "drfcwbnpxnr6"


def test_ties_on_created_at_are_broken_by_display_at(make_client, http):
    payload = json.loads(json.dumps(INCIDENT))
    updates = payload["incident"]["incident_updates"]
    updates[1]["created_at"] = updates[0]["created_at"]
    updates[1]["display_at"] = "2013-05-29T16:30:00-06:00"
    body = post(make_client(DRY_RUN="true"), payload).get_json()
    assert body["update_id"] == "2rryghr4qgrh"


# --- The source check ----------------------------------------------------------------------


def test_get_is_405(make_client, http):
    response = make_client().get("/", headers={"X-Forwarded-For": TRUSTED_IP})
    assert response.status_code == 405


def test_spoofed_leftmost_forwarded_for_is_rejected_and_body_unread(make_client, http, monkeypatch):
    # The attacker writes a trusted address; Google's front end appends the real one.
    client = make_client(DRY_RUN="true")
    bodies_read: list[bytes] = []
    handler_module = sys.modules["bot.handler"]  # this instance's module
    real_decide = handler_module.decide
    monkeypatch.setattr(
        handler_module, "decide", lambda raw, config: bodies_read.append(raw) or real_decide(raw, config)
    )
    assert post(client, INCIDENT, ip=f"{TRUSTED_IP}, 203.0.113.9").status_code == 403
    # Our code never read the body. (functions-framework drains it after the answer, to
    # keep the connection usable; that is the framework's, and parses nothing.)
    assert bodies_read == [] and x_calls(http) == []
    assert post(client, INCIDENT, ip=TRUSTED_IP).status_code == 200
    assert len(bodies_read) == 1  # the spy sees reads when they happen


def test_first_request_reads_secrets_while_the_ranges_load(make_client, http, secret_manager):
    """The two cold-start round trips overlap: the ranges answer only once a secret read began."""
    secret_read_started = threading.Event()
    real_access = secret_manager.access_secret_version

    def access(self, request, **kwargs):
        secret_read_started.set()
        return real_access(self, request, **kwargs)

    secret_manager.access_secret_version = access

    def ranges(request):
        overlapped = secret_read_started.wait(timeout=5)
        return (200 if overlapped else 500), {}, json.dumps(load_fixture("ip-ranges.json"))

    http.remove(responses.GET, RANGES_URL)  # the fixture's plain answer gives way to this one
    http.add_callback(responses.GET, RANGES_URL, callback=ranges)
    x_answers(http, created())
    answer = post(make_client(), INCIDENT).get_json()
    assert answer["result"] == "posted"
    assert len(secret_manager.calls) == 4


def test_trusted_proxy_hops_takes_the_second_entry_from_the_right(make_client, http):
    client = make_client(TRUSTED_PROXY_HOPS="2", DRY_RUN="true")
    # Behind a load balancer: client, LB-seen address, then the LB itself.
    assert post(client, INCIDENT, ip=f"203.0.113.9, {TRUSTED_IP}, 130.211.0.5").status_code == 200
    assert post(client, INCIDENT, ip=f"{TRUSTED_IP}, 203.0.113.9, 130.211.0.5").status_code == 403
    assert post(client, INCIDENT, ip="130.211.0.5").status_code == 403  # too few entries


def test_cold_start_during_a_ranges_outage_uses_the_snapshot(make_client, http, tmp_path):
    snapshot = tmp_path / "ip_ranges_snapshot.json"
    snapshot.write_text(json.dumps(load_fixture("ip-ranges.json")))
    http.remove(responses.GET, RANGES_URL)
    http.get(RANGES_URL, status=503)
    with_snapshot = make_client(DRY_RUN="true", IP_RANGES_SNAPSHOT=str(snapshot))
    assert post(with_snapshot, INCIDENT).get_json()["result"] == "dry_run"
    # Without a snapshot the instance fails closed.
    without = make_client(DRY_RUN="true", IP_RANGES_SNAPSHOT=str(tmp_path / "missing.json"))
    assert post(without, INCIDENT).status_code == 403


def test_ipv6_source_is_checked(make_client, http):
    client = make_client(DRY_RUN="true")
    assert post(client, INCIDENT, ip=TRUSTED_IP6).get_json()["result"] == "dry_run"
    assert post(client, INCIDENT, ip="2001:db8::1").status_code == 403


@pytest.mark.parametrize("header", ["", "not-an-ip", "13.52.5.97:443", "999.1.1.1"])
def test_malformed_source_is_403(make_client, http, header):
    assert post(make_client(DRY_RUN="true"), INCIDENT, ip=header).status_code == 403


def test_ingress_only_and_other_product_ranges_are_not_trusted(make_client, http):
    client = make_client(DRY_RUN="true")
    assert post(client, INCIDENT, ip="18.246.31.225").status_code == 403  # statuspage, ingress only
    assert post(client, INCIDENT, ip="104.192.136.1").status_code == 403  # bitbucket
    assert post(client, INCIDENT, ip="52.215.192.129").status_code == 200  # statuspage, no direction


def test_remote_addr_is_used_only_without_the_header(make_client, http):
    client = make_client(DRY_RUN="true", EXTRA_ALLOWED_CIDRS="127.0.0.1/32")
    assert client.post("/", json=INCIDENT).status_code == 200  # test client's remote_addr is 127.0.0.1
    assert post(client, INCIDENT, ip="203.0.113.9").status_code == 403


# --- The optional token --------------------------------------------------------------------


def test_webhook_token_is_required_when_configured(make_client, http, secret_manager):
    secret_manager.values["statuspage_webhook_token"] = "tok-EEEEEEEEEEEEEEEEEEEE"
    client = make_client(WEBHOOK_TOKEN_SECRET="statuspage_webhook_token", DRY_RUN="true")
    assert post(client, INCIDENT).status_code == 403
    assert post(client, INCIDENT, path="/?token=wrong").status_code == 403
    ok = post(client, INCIDENT, path="/?token=tok-EEEEEEEEEEEEEEEEEEEE")
    assert ok.status_code == 200 and ok.get_json()["result"] == "dry_run"


def test_rotated_token_is_picked_up_and_rereads_are_rate_limited(
    make_client, http, secret_manager, monkeypatch
):
    secret_manager.values["statuspage_webhook_token"] = "tok-OLDOLDOLDOLDOLD"
    client = make_client(WEBHOOK_TOKEN_SECRET="statuspage_webhook_token", DRY_RUN="true")
    assert post(client, INCIDENT, path="/?token=tok-OLDOLDOLDOLDOLD").status_code == 200
    assert len(secret_manager.calls) == 1
    secret_manager.values["statuspage_webhook_token"] = "tok-NEWNEWNEWNEWNEW"
    # The operator rotated the token and updated Statuspage: one re-read, then accepted.
    assert post(client, INCIDENT, path="/?token=tok-NEWNEWNEWNEWNEW").status_code == 200
    assert len(secret_manager.calls) == 2
    # Wrong tokens do not make every request a Secret Manager read: one a minute at most.
    for _ in range(5):
        assert post(client, INCIDENT, path="/?token=tok-GUESSGUESSGUESS").status_code == 403
    assert len(secret_manager.calls) == 2
    monkeypatch.setattr("bot.handler.TOKEN_REREAD_SECONDS", 0.0)  # the minute has passed
    assert post(client, INCIDENT, path="/?token=tok-GUESSGUESSGUESS").status_code == 403
    assert len(secret_manager.calls) == 3


def test_token_secret_unreadable_answers_failed_not_5xx(make_client, http, secret_manager, capsys):
    from google.api_core.exceptions import ServiceUnavailable

    secret_manager.fail = ServiceUnavailable("secretmanager down")
    client = make_client(WEBHOOK_TOKEN_SECRET="statuspage_webhook_token")
    response = post(client, INCIDENT, path="/?token=x")
    assert response.status_code == 200
    assert response.get_json()["result"] == "failed"
    assert "statuspage_webhook_token" in response.get_json()["reason"]


# --- Bodies that are not ours --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'"text"', "body is not a JSON object"),
        (b"{}", "page.id"),
        (json.dumps({"page": {"id": PAGE_ID}}).encode(), "neither an incident nor a component"),
        (
            json.dumps({"page": {"id": "otherpage123"}, "incident": {}}).encode(),
            f"page.id 'otherpage123' is not this function's page (STATUSPAGE_PAGE_ID is '{PAGE_ID}')",
        ),
    ],
)
def test_unusable_bodies_are_ignored(make_client, http, body, reason):
    response = post(make_client(), body)
    assert response.status_code == 200
    assert response.get_json()["result"] == "ignored"
    assert reason in response.get_json()["reason"]
    assert x_calls(http) == []


def test_body_over_one_mib_is_ignored(make_client, http):
    payload = json.loads(json.dumps(INCIDENT))
    payload["padding"] = "x" * (1 << 20)
    response = post(make_client(), payload)
    assert response.get_json() == {"result": "ignored", "reason": "body is over 1 MiB"}


def test_wrong_page_is_ignored(make_client, http, secret_manager):
    payload = json.loads(json.dumps(INCIDENT))
    payload["page"]["id"] = "someoneelse1"
    body = post(make_client(), payload).get_json()
    assert body["result"] == "ignored"
    assert "someoneelse1" in body["reason"]
    assert x_calls(http) == []


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("incident", "id"), None, "incident.id"),
        (("incident", "shortlink"), "javascript:alert(1)", "incident.shortlink"),
        (("incident", "shortlink"), 42, "incident.shortlink"),
        (("incident", "status"), [], "incident.status"),
        (("incident", "incident_updates"), [], "incident.incident_updates"),
        (("incident", "incident_updates"), {"a": 1}, "incident.incident_updates"),
        (("incident", "incident_updates", 0), "x", "incident.incident_updates[0]"),
        (("incident", "incident_updates", 1, "body"), None, "incident.incident_updates[1].body"),
        (("incident", "incident_updates", 0, "status"), 3, "incident.incident_updates[0].status"),
        (("incident", "incident_updates", 2, "id"), "", "incident.incident_updates[2].id"),
        (("incident", "incident_updates", 0, "created_at"), "yesterday", "[0].created_at"),
        (("incident", "id"), "../../other", "incident.id"),
        (("incident", "incident_updates", 0, "id"), "drf cwb", "incident.incident_updates[0].id"),
        (("incident", "incident_updates", 0, "status"), "x" * 33, "incident.incident_updates[0].status"),
        (("incident", "shortlink"), "https://stspg.io/a\u202eb", "incident.shortlink"),
        (("incident", "shortlink"), "https://stspg.io/" + "a" * 2100, "incident.shortlink"),
    ],
)
def test_missing_or_mistyped_fields_are_named(make_client, http, path, value, field):
    payload = json.loads(json.dumps(INCIDENT))
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    body = post(make_client(), payload).get_json()
    assert body["result"] == "ignored"
    assert field in body["reason"]


def test_lone_surrogates_and_controls_are_dropped_from_the_tweet(make_client, http, secret_manager, capsys):
    """A lone surrogate ("\\ud800") is valid JSON but no character: it crashed twitter-text."""
    raw = json.dumps(INCIDENT).replace(
        "A fix has been implemented", "A fix\\ud800 has\\u0000 been \\u202eimplemented"
    )
    assert "\\ud800" in raw
    x_answers(http, created())
    body = post(make_client(), raw).get_json()
    assert body["result"] == "posted" and body["text"] == EXPECTED_TEXT
    assert json.loads(x_calls(http)[0].request.body) == {"text": EXPECTED_TEXT}
    summary = [line for line in json_lines(capsys.readouterr().out) if line.get("result")]
    assert summary[-1]["text"] == EXPECTED_TEXT


def test_component_update_is_ignored_by_default(make_client, http):
    body = post(make_client(), load_fixture("component.json")).get_json()
    assert body["result"] == "ignored"
    assert "POST_COMPONENT_UPDATES" in body["reason"]


def test_component_update_posts_when_enabled(make_client, http, secret_manager):
    text = "[status] Operational: Some Component https://status.sentry.io"
    x_answers(http, created("77", text))
    client = make_client(POST_COMPONENT_UPDATES="true", STATUSPAGE_URL="https://status.sentry.io")
    body = post(client, load_fixture("component.json")).get_json()
    assert body["result"] == "posted" and body["text"] == text
    assert json.loads(x_calls(http)[0].request.body) == {"text": text}


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("scheduled", "Scheduled"),
        ("in_progress", "In progress"),
        ("verifying", "Verifying"),
        ("completed", "Completed"),
        ("investigating", "Investigating"),
        ("identified", "Identified"),
        ("resolved", "Resolved"),
        ("postmortem", "Postmortem"),
    ],
)
def test_statuses_are_humanized(make_client, http, status, shown):
    payload = json.loads(json.dumps(INCIDENT))
    payload["incident"]["incident_updates"][0]["status"] = status
    text = post(make_client(DRY_RUN="true"), payload).get_json()["text"]
    assert text.startswith(f"[status] {shown}: A fix has been implemented")


def test_tweet_template_replaces_the_format(make_client, http):
    client = make_client(DRY_RUN="true", TWEET_TEMPLATE="{name} — {status}\n{body}\n{url}")
    text = post(client, INCIDENT).get_json()["text"]
    assert text == (
        "Virginia Is Down — Monitoring\nA fix has been implemented and we are monitoring the results.\n"
        "https://status.sentry.io/incidents/bt27tt1h1wsd?u=jwjgrfrf3pjj"
    )


def test_dry_run_reads_no_secrets_and_posts_nothing(make_client, http, secret_manager):
    body = post(make_client(DRY_RUN="true"), INCIDENT).get_json()
    assert body["result"] == "dry_run" and body["text"] == EXPECTED_TEXT
    assert secret_manager.calls == [] and x_calls(http) == []


def test_long_body_is_shortened_to_a_valid_tweet(make_client, http, secret_manager):
    payload = json.loads(json.dumps(INCIDENT))
    payload["incident"]["incident_updates"][0]["body"] = "Database failover in progress. " * 70
    x_answers(http, created())
    text = post(make_client(), payload).get_json()["text"]
    sent = json.loads(x_calls(http)[0].request.body)["text"]
    assert sent == text
    parsed = parse_tweet(text)
    assert parsed.valid and parsed.weightedLength >= 260
    assert text.endswith("… https://status.sentry.io/incidents/bt27tt1h1wsd?u=jwjgrfrf3pjj")


# --- X's answers ---------------------------------------------------------------------------


def test_duplicate_content_403_is_duplicate(make_client, http, secret_manager):
    x_answers(
        http,
        {
            "status": 403,
            "json": {
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
        },
    )
    body = post(make_client(), INCIDENT).get_json()
    assert body["result"] == "duplicate"
    assert len(x_calls(http)) == 1


def test_other_403_is_failed_with_what_to_fix(make_client, http, secret_manager, capsys):
    x_answers(
        http,
        {
            "status": 403,
            "json": {
                "detail": "You are not permitted to perform this action.",
                "title": "Forbidden",
                "status": 403,
            },
        },
    )
    response = post(make_client(), INCIDENT)
    assert response.status_code == 200
    assert response.get_json()["result"] == "failed"
    errors = [line for line in json_lines(capsys.readouterr().out) if line["severity"] == "ERROR"]
    assert any("Read and write" in e["message"] and "regenerate" in e["message"] for e in errors)
    assert len(x_calls(http)) == 1


@pytest.mark.parametrize(
    ("app_remaining", "reset_at"),
    [
        ("5", "2026-09-21T15:13:20+00:00"),  # the later of the two exhausted limits
        ("0", "2026-09-21T16:13:20+00:00"),  # the app's 24-hour limit, exhausted and later still
    ],
)
@pytest.mark.usefixtures("secret_manager")
def test_429_is_rate_limited_and_logs_the_limits(make_client, http, capsys, app_remaining, reset_at):
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": "1790000000",
        "x-user-limit-24hour-limit": "17",
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": "1790003600",
        "x-app-limit-24hour-limit": "1667",
        "x-app-limit-24hour-remaining": app_remaining,
        "x-app-limit-24hour-reset": "1790007200",
    }
    x_answers(http, {"status": 429, "json": {"title": "Too Many Requests"}, "headers": headers})
    response = post(make_client(), INCIDENT)
    assert response.status_code == 200 and response.get_json()["result"] == "rate_limited"
    assert len(x_calls(http)) == 1  # no retry, no sleep
    (line,) = [
        line for line in json_lines(capsys.readouterr().out) if line.get("headers") and "reset_at" in line
    ]
    assert line["headers"] == headers
    assert line["reset_at"] == reset_at
    assert line["severity"] == "WARNING"
    assert f"posting resumes after {reset_at} " in response.get_json()["reason"]


def test_5xx_is_retried_then_posted(make_client, http, secret_manager):
    x_answers(http, {"status": 503, "json": {"title": "Service Unavailable"}}, created("9"))
    body = post(make_client(), INCIDENT).get_json()
    assert body["result"] == "posted" and body["tweet_id"] == "9"
    assert len(x_calls(http)) == 2


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: urllib3's NewConnectionError, retries spent."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/2/tweets", reason=reason))


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "json": {"title": "Internal Server Error"}},
        {"body": refused()},
        {"body": requests.ConnectTimeout("connect timed out")},
    ],
    ids=["500", "refused", "connect-timeout"],
)
def test_transient_failures_stop_after_three_attempts(make_client, http, secret_manager, failure):
    """Nothing reached X, or X said it failed: safe to retry at once."""
    x_answers(http, failure, failure, failure, created())
    response = post(make_client(), INCIDENT)
    assert response.status_code == 200
    assert response.get_json()["result"] == "failed"
    assert len(x_calls(http)) == 3


def test_401_rereads_the_secrets_once_and_retries(make_client, http, secret_manager):
    def rotated_meanwhile(request: Any) -> tuple[int, dict[str, str], str]:
        # The operator rotated the token after this instance had read the old one.
        secret_manager.values["getsentryhelp_twitter_access_token"] = "1234567890-ROTATEDROTATEDROTATED"
        return 401, {}, json.dumps({"title": "Unauthorized"})

    http.add_callback("POST", X_TWEETS_URL, callback=rotated_meanwhile)
    x_answers(http, created("5"))
    body = post(make_client(), INCIDENT).get_json()
    assert body["result"] == "posted"
    assert len(secret_manager.calls) == 8  # four, then four again after the 401
    first, second = x_calls(http)
    assert 'oauth_token="1234567890-CCCC' in first.request.headers["Authorization"]
    assert 'oauth_token="1234567890-ROTATED' in second.request.headers["Authorization"]


def test_401_twice_is_failed(make_client, http, secret_manager, capsys):
    unauthorized = {"status": 401, "json": {"title": "Unauthorized"}}
    x_answers(http, unauthorized, unauthorized, created())
    body = post(make_client(), INCIDENT).get_json()
    assert body["result"] == "failed"
    assert len(x_calls(http)) == 2
    assert "regenerate the access token" in capsys.readouterr().out


def test_402_is_failed_with_credits_hint(make_client, http, secret_manager, capsys):
    x_answers(http, {"status": 402, "json": {"title": "Payment Required"}})
    body = post(make_client(), INCIDENT).get_json()
    assert body["result"] == "failed"
    assert "credits" in body["reason"]
    assert len(x_calls(http)) == 1


def test_secret_manager_unavailable_is_failed_not_5xx(make_client, http, secret_manager, capsys):
    from google.api_core.exceptions import PermissionDenied

    secret_manager.fail = PermissionDenied("caller lacks secretmanager.versions.access")
    response = post(make_client(), INCIDENT)
    assert response.status_code == 200
    body = response.get_json()
    assert body["result"] == "failed"
    assert "secretAccessor" in body["reason"]
    assert x_calls(http) == []
    assert any(line["severity"] == "ERROR" for line in json_lines(capsys.readouterr().out))


def test_missing_secret_names_the_secret(make_client, http, secret_manager):
    del secret_manager.values["getsentryhelp_twitter_consumer_secret"]
    body = post(make_client(), INCIDENT).get_json()
    assert body["result"] == "failed"
    assert "getsentryhelp_twitter_consumer_secret" in body["reason"]


def test_secret_prefix_names_the_secrets(make_client, http, secret_manager):
    secret_manager.values = {
        k.replace("getsentryhelp_twitter_", "acme_x_"): v for k, v in CREDENTIALS.items()
    }
    x_answers(http, created())
    assert post(make_client(SECRET_PREFIX="acme_x_"), INCIDENT).get_json()["result"] == "posted"
    assert all("/secrets/acme_x_" in call for call in secret_manager.calls)


# --- Logs and errors -----------------------------------------------------------------------


def test_no_secret_or_token_value_in_any_log_line(make_client, http, secret_manager, capsys):
    token = "tok-FFFFFFFFFFFFFFFFFFFF"
    secret_manager.values["statuspage_webhook_token"] = token
    client = make_client(WEBHOOK_TOKEN_SECRET="statuspage_webhook_token")
    x_answers(
        http,
        {"status": 401, "json": {"title": "Unauthorized"}},
        {"status": 401, "json": {"title": "Unauthorized"}},
        {"status": 503, "json": {}},
        {"status": 503, "json": {}},
        {"status": 503, "json": {}},
        {"status": 403, "json": {"detail": "Forbidden"}},
        created(),
    )
    for _ in range(4):
        post(client, INCIDENT, path=f"/?token={token}")
    post(client, INCIDENT, path="/?token=tok-WRONGWRONGWRONG")
    out = capsys.readouterr().out
    lines = json_lines(out)
    assert len(lines) >= 8
    for value in [*CREDENTIALS.values(), token]:
        assert value not in out
    assert "tok-WRONGWRONGWRONG" not in out


def test_logs_are_one_json_object_per_line_with_trace(make_client, http, capsys):
    client = make_client(DRY_RUN="true")
    post(client, INCIDENT, headers={"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"})
    lines = json_lines(capsys.readouterr().out)
    summary = next(line for line in lines if line.get("result") == "dry_run")
    assert (
        summary["logging.googleapis.com/trace"]
        == f"projects/{PROJECT}/traces/105445aa7843bc8bf206b12000100000"
    )
    assert summary["severity"] == "INFO" and summary["message"].startswith("dry_run:")


def test_unexpected_exception_is_failed_200_with_traceback(make_client, http, monkeypatch, capsys):
    client = make_client()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["bot.handler"], "decide", broken)
    response = post(client, INCIDENT)
    assert response.status_code == 200
    assert response.get_json()["result"] == "failed"
    (error,) = [line for line in json_lines(capsys.readouterr().out) if line["severity"] == "ERROR"]
    assert "Traceback" in error["message"] and "RuntimeError: boom" in error["message"]


def test_an_exception_while_posting_is_an_unknown_outcome(
    make_client, http, secret_manager, monkeypatch, capsys
):
    """The request may have reached X: recorded as unknown, with a result the alert sees."""
    client = make_client()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.x_client.XClient.post", broken)
    response = post(client, INCIDENT)
    assert response.status_code == 200
    assert response.get_json()["result"] == "unknown"
    errors = [line for line in json_lines(capsys.readouterr().out) if line["severity"] == "ERROR"]
    assert "RuntimeError: boom" in errors[0]["message"]
    assert errors[-1]["result"] == "unknown"


def test_missing_page_id_refuses_to_start_with_one_line(make_client, capsys):
    with pytest.raises(SystemExit):
        make_client(STATUSPAGE_PAGE_ID="")
    (line,) = json_lines(capsys.readouterr().out)
    assert line["severity"] == "ERROR" and "STATUSPAGE_PAGE_ID is not set" in line["message"]

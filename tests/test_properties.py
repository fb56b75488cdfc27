"""Property: whatever a trusted caller sends, the answer is a 200 with a known result, and
nothing is posted unless the body is a valid incident of our page."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import PAGE_ID, X_TWEETS_URL, load_fixture, post
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

INCIDENT = load_fixture("incident.json")
RESULTS = {"posted", "dry_run", "ignored", "duplicate", "superseded", "rate_limited", "failed", "unknown"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
PATHS = [
    ("page",),
    ("page", "id"),
    ("incident",),
    ("incident", "id"),
    ("incident", "shortlink"),
    ("incident", "status"),
    ("incident", "name"),
    ("incident", "incident_updates"),
    ("incident", "incident_updates", 0),
    ("incident", "incident_updates", 0, "body"),
    ("incident", "incident_updates", 0, "status"),
    ("incident", "incident_updates", 0, "created_at"),
    ("incident", "incident_updates", 1, "id"),
    ("incident", "incident_updates", 2, "display_at"),
]


@st.composite
def mutated_incidents(draw: Any) -> Any:
    """The real sample with a few fields replaced by arbitrary JSON or deleted."""
    payload = copy.deepcopy(INCIDENT)
    if draw(st.booleans()):  # often just a new body text, which must post
        payload["incident"]["incident_updates"][0]["body"] = draw(st.text(max_size=400))
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=3)):
        target = payload
        try:
            for key in path[:-1]:
                target = target[key]
            if draw(st.booleans()):
                target[path[-1]] = draw(json_values)
            elif isinstance(target, dict):
                target.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            continue
    return payload


bodies = st.one_of(
    json_values.map(json.dumps),
    mutated_incidents().map(json.dumps),
    mutated_incidents().map(json.dumps),
    st.binary(max_size=200),
)


def ours(body: bytes | str) -> dict[str, Any] | None:
    """An independent, partial oracle: the incident if the body is one of our page's."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("page"), dict):
        return None
    if data["page"].get("id") != PAGE_ID or not isinstance(data.get("incident"), dict):
        return None
    return data["incident"]


@pytest.fixture
def client(make_client, http, secret_manager) -> Any:
    http.post(X_TWEETS_URL, json={"data": {"id": "1", "text": "t"}}, status=201)
    client = make_client()
    client.posted_updates = set()  # the instance's ledger remembers these across examples
    return client


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_gets_a_200_and_posts_only_valid_incidents_of_our_page(client, http, body) -> None:
    before = len(http.calls)
    response = post(client, body)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["result"] in RESULTS and isinstance(answer["reason"], str)
    event(answer["result"])
    sent = [c for c in http.calls[before:] if c.request.url == X_TWEETS_URL]
    incident = ours(body)
    if incident is None:
        assert sent == [] and answer["result"] == "ignored"
        return
    if sent:
        assert answer["result"] == "posted"
        text = json.loads(sent[0].request.body)["text"]
        assert parse_tweet(text).valid
        assert text.endswith(" " + incident["shortlink"].strip())
        client.posted_updates.add(answer["update_id"])
    elif answer["result"] == "duplicate":
        assert answer["update_id"] in client.posted_updates
    else:
        assert answer["result"] == "ignored"

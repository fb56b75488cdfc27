"""Bluesky and Mastodon beside X: each network faked on the wire, so the real SDKs run.

Bluesky's atproto SDK speaks httpx, faked with `respx`; Mastodon.py and tweepy speak requests,
faked with `responses`. The ledger is fake-gcs-server.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
import respx
from conftest import SHORTLINK, FakeX, incident, json_lines, post
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.deadline import Deadline
from bot.gcs_ledger import GcsStore

BSKY = "https://bsky.social/xrpc"
MASTODON = "https://mastodon.example.test"
HANDLE = "status.example.com"
DID = "did:plc:statusexample"
PASSWORD = "bsky-app-pass-EEEE-FFFF"
TOKEN = "mastodon-token-GGGGGGGGGGGGGGGG"
LONG = Deadline(float("inf"))
ALL = {
    "DESTINATIONS": "x,bluesky,mastodon",
    "BLUESKY_HANDLE": HANDLE,
    "MASTODON_BASE_URL": MASTODON,
}


def jwt(seconds: float) -> str:
    """An access token as a PDS issues one: the SDK reads its `exp`."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    payload = {
        "exp": int(time.time() + seconds),
        "iat": int(time.time()),
        "sub": DID,
        "scope": "com.atproto.appPass",
    }
    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(payload)}.c2ln"


class FakeBluesky:
    """A PDS: sessions, created records (numbered), scripted failures of createRecord."""

    def __init__(self, mock: respx.MockRouter) -> None:
        self.records: list[dict[str, Any]] = []
        self.logins = self.refreshes = 0
        self.failures: list[httpx.Response] = []
        mock.post(f"{BSKY}/com.atproto.server.createSession").mock(side_effect=self.login)
        mock.post(f"{BSKY}/com.atproto.server.refreshSession").mock(side_effect=self.refresh)
        mock.post(f"{BSKY}/com.atproto.repo.createRecord").mock(side_effect=self.create)

    def session(self) -> httpx.Response:
        return httpx.Response(
            200, json={"accessJwt": jwt(7200), "refreshJwt": jwt(86400), "handle": HANDLE, "did": DID}
        )

    def login(self, request: httpx.Request) -> httpx.Response:
        self.logins += 1
        body = json.loads(request.content)
        if body["password"] != PASSWORD:
            return httpx.Response(
                401, json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
            )
        return self.session()

    def refresh(self, request: httpx.Request) -> httpx.Response:
        self.refreshes += 1
        return self.session()

    def create(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            return self.failures.pop(0)
        body = json.loads(request.content)
        self.records.append(body)
        n = len(self.records)
        return httpx.Response(
            200, json={"uri": f"at://{DID}/app.bsky.feed.post/rkey{n}", "cid": f"bafycid{n}"}
        )


class FakeMastodon:
    """An instance: its limits, created statuses (numbered), each request's headers."""

    def __init__(self, http: Any, max_characters: int = 500) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.failures: list[tuple[int, dict[str, Any]]] = []
        self.instance_reads = 0
        self.max_characters = max_characters
        http.add_callback("POST", f"{MASTODON}/api/v1/statuses", callback=self.create)
        # The path as Mastodon.py asks for it, with its trailing slash.
        http.add_callback("GET", f"{MASTODON}/api/v2/instance/", callback=self.instance)

    def instance(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.instance_reads += 1
        statuses = {"max_characters": self.max_characters, "characters_reserved_per_url": 23}
        return (
            200,
            {},
            json.dumps({"domain": "mastodon.example.test", "configuration": {"statuses": statuses}}),
        )

    def create(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.headers.append(dict(request.headers))
        if self.failures:
            status, answer = self.failures.pop(0)
            return status, {}, json.dumps(answer)
        body = dict(_form(request.body))
        self.statuses.append(body)
        return 200, {}, json.dumps({"id": str(110000 + len(self.statuses)), "content": body.get("status")})


def _form(body: Any) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    text = body.decode() if isinstance(body, bytes) else body
    return parse_qsl(text or "")


@pytest.fixture
def networks(make_client, http, secret_manager, state_bucket) -> Any:
    """X, Bluesky and Mastodon faked; a function with all three on, on fake-gcs-server."""
    secret_manager.values |= {
        "getsentryhelp_twitter_bluesky_app_password": PASSWORD,
        "getsentryhelp_twitter_mastodon_access_token": TOKEN,
    }
    with respx.mock(assert_all_called=False) as mock:
        world = type("Networks", (), {})()
        world.x, world.bluesky, world.mastodon = FakeX(http), FakeBluesky(mock), FakeMastodon(http)
        world.client = make_client(STATE_BUCKET=state_bucket, **ALL)
        world.bucket = state_bucket
        world.make_client = make_client
        yield world


def record_of(bucket: str, key: str) -> Any:
    entry = GcsStore(bucket, project="test-project").get(key, LONG)
    return entry.record if entry else None


# --- Bluesky -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["Update number 1.", "データベースの障害を調査しています。", "🚨🔥 Errors are elevated 👩‍💻"],
    ids=["ascii", "japanese", "emoji"],
)
def test_a_bluesky_post_has_a_link_facet_over_the_links_bytes_and_a_card(networks, body) -> None:
    payload = incident(1)
    payload["incident"]["incident_updates"][0]["body"] = body
    answer = post(networks.client, payload).get_json()
    assert answer["result"] == "posted" and answer["destinations"]["bluesky"]["result"] == "posted"

    (created,) = networks.bluesky.records
    record = created["record"]
    assert created["repo"] == DID and created["collection"] == "app.bsky.feed.post"
    assert record["text"] == f"[status] Investigating: {body} {SHORTLINK}"
    (facet,) = record["facets"]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert record["text"].encode()[start:end] == SHORTLINK.encode()  # exactly the link's bytes
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": SHORTLINK}]
    card = record["embed"]["external"]
    assert (card["uri"], card["title"]) == (SHORTLINK, payload["incident"]["name"])
    assert card["description"] == f"Investigating: {body}"
    assert networks.bluesky.logins == 1


def test_bluesky_follow_ups_reply_with_the_root_and_the_parent(networks) -> None:
    for n in (1, 2, 3):
        assert post(networks.client, incident(n)).get_json()["result"] == "posted"
    first, second, third = (r["record"] for r in networks.bluesky.records)
    assert "reply" not in first
    root = {"uri": f"at://{DID}/app.bsky.feed.post/rkey1", "cid": "bafycid1"}

    def refs(reply: dict[str, Any]) -> dict[str, Any]:
        assert reply["$type"] == "app.bsky.feed.post#replyRef"
        return {k: {"uri": reply[k]["uri"], "cid": reply[k]["cid"]} for k in ("root", "parent")}

    assert refs(second["reply"]) == {"root": root, "parent": root}
    parent = {"uri": f"at://{DID}/app.bsky.feed.post/rkey2", "cid": "bafycid2"}
    assert refs(third["reply"]) == {"root": root, "parent": parent}
    stored = record_of(networks.bucket, "bluesky/upd3")
    assert stored.ref == {
        "uri": f"at://{DID}/app.bsky.feed.post/rkey3",
        "cid": "bafycid3",
        "root_uri": root["uri"],
        "root_cid": "bafycid1",
    }
    assert networks.bluesky.logins == 1  # one session for the instance


def test_an_expired_bluesky_session_is_refreshed_once(networks) -> None:
    expired = httpx.Response(400, json={"error": "ExpiredToken", "message": "Token has expired"})
    networks.bluesky.failures.append(expired)
    answer = post(networks.client, incident(1)).get_json()
    assert answer["destinations"]["bluesky"]["result"] == "posted"
    assert (networks.bluesky.refreshes, networks.bluesky.logins, len(networks.bluesky.records)) == (1, 1, 1)


def test_a_bluesky_rate_limit_is_rate_limited_and_x_still_posts(networks, capsys) -> None:
    limited = httpx.Response(
        429, json={"error": "RateLimitExceeded"}, headers={"ratelimit-reset": "1790000000"}
    )
    networks.bluesky.failures.append(limited)
    answer = post(networks.client, incident(1)).get_json()
    assert answer["result"] == "rate_limited"
    assert {k: v["result"] for k, v in answer["destinations"].items()} == {
        "x": "posted",
        "bluesky": "rate_limited",
        "mastodon": "posted",
    }
    assert answer["tweet_id"] == "1001"
    assert "posting resumes after 2026-09-21T14:13:20+00:00" in answer["destinations"]["bluesky"]["reason"]


def test_bad_bluesky_credentials_fail_with_what_to_fix_and_no_secret_in_the_logs(
    networks, secret_manager, capsys
) -> None:
    secret_manager.values["getsentryhelp_twitter_bluesky_app_password"] = "wrong-password-HHHH"
    answer = post(networks.client, incident(1)).get_json()
    bluesky = answer["destinations"]["bluesky"]
    assert bluesky["result"] == "failed" and "BLUESKY_HANDLE" in bluesky["reason"]
    out = capsys.readouterr().out
    assert "wrong-password-HHHH" not in out and TOKEN not in out and PASSWORD not in out


# --- Mastodon ------------------------------------------------------------------------------------


def test_mastodon_posts_carry_an_idempotency_key_and_chain_replies(networks) -> None:
    for n in (1, 2, 3):
        post(networks.client, incident(n))
    assert [h.get("Idempotency-Key") for h in networks.mastodon.headers] == ["upd1", "upd2", "upd3"]
    assert [s.get("in_reply_to_id") for s in networks.mastodon.statuses] == [None, "110001", "110002"]
    assert {s["visibility"] for s in networks.mastodon.statuses} == {"public"}
    assert networks.mastodon.statuses[0]["status"] == f"[status] Investigating: Update number 1. {SHORTLINK}"
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for h in networks.mastodon.headers)
    assert networks.mastodon.instance_reads == 1  # the limits, once per instance


def test_a_mastodon_5xx_is_retried_with_the_same_idempotency_key(networks) -> None:
    networks.mastodon.failures.append((503, {"error": "Service Unavailable"}))
    answer = post(networks.client, incident(1)).get_json()
    assert answer["destinations"]["mastodon"]["result"] == "posted"
    assert [h["Idempotency-Key"] for h in networks.mastodon.headers] == ["upd1", "upd1"]


def test_the_mastodon_instances_own_limit_is_used(make_client, http, secret_manager, state_bucket) -> None:
    secret_manager.values["getsentryhelp_twitter_mastodon_access_token"] = TOKEN
    mastodon = FakeMastodon(http, max_characters=1000)
    FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket, DESTINATIONS="x,mastodon", MASTODON_BASE_URL=MASTODON)
    payload = incident(1)
    body = "word " * 150  # 750 characters: cut for X (280) and for 500, whole for 1,000
    payload["incident"]["incident_updates"][0]["body"] = body
    answer = post(client, payload).get_json()
    assert answer["result"] == "posted"
    assert mastodon.statuses[0]["status"] == f"[status] Investigating: {body.strip()} {SHORTLINK}"
    assert "…" in answer["text"]  # X's tweet was shortened


# --- Independence, and the ledger ----------------------------------------------------------------


def test_one_destination_failing_neither_blocks_nor_undoes_another(networks) -> None:
    networks.bluesky.failures += [httpx.Response(502, json={"error": "BadGateway"})] * 3
    answer = post(networks.client, incident(1)).get_json()
    assert answer["result"] == "failed"
    assert {k: v["result"] for k, v in answer["destinations"].items()} == {
        "x": "posted",
        "bluesky": "failed",
        "mastodon": "posted",
    }
    assert record_of(networks.bucket, "upd1").state == "posted"  # X's record, where it always was
    assert record_of(networks.bucket, "bluesky/upd1").state == "failed"

    # The next update: Bluesky catches up update 1 alone, then all three post update 2.
    answer = post(networks.client, incident(2)).get_json()
    assert answer["result"] == "posted"
    assert answer["destinations"]["bluesky"]["caught_up"][0]["update_id"] == "upd1"
    assert [b["text"].split(" ")[-2] for b in networks.x.bodies] == ["1.", "2."]  # X: no repeat
    assert [r["record"]["text"].split(" ")[-2] for r in networks.bluesky.records] == ["1.", "2."]
    assert len(networks.mastodon.statuses) == 2


def test_an_update_x_posted_before_destinations_existed_is_not_posted_to_x_again(networks) -> None:
    from google.cloud import storage

    old = {  # today's layout: updates/<id>.json, written before Bluesky and Mastodon were on
        "update_id": "upd1",
        "incident_id": "inc1",
        "state": "posted",
        "first_claimed_at": time.time() - 60,
        "claimed_at": time.time() - 60,
        "attempts": 1,
        "tweet_id": "999",
        "reply_to": None,
        "owner": "before",
    }
    blob = storage.Client(project="test-project").bucket(networks.bucket).blob("updates/upd1.json")
    blob.upload_from_string(json.dumps(old), content_type="application/json")
    answer = post(networks.client, incident(1)).get_json()
    assert networks.x.bodies == []
    assert {k: v["result"] for k, v in answer["destinations"].items()} == {
        "x": "duplicate",
        "bluesky": "posted",
        "mastodon": "posted",
    }
    assert answer["result"] == "posted"


def test_a_re_delivery_everywhere_posted_is_a_duplicate(networks) -> None:
    post(networks.client, incident(1))
    answer = post(networks.client, incident(1)).get_json()
    assert answer["result"] == "duplicate"
    assert (len(networks.x.bodies), len(networks.bluesky.records), len(networks.mastodon.statuses)) == (
        1,
        1,
        1,
    )


# --- Lengths -------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    body=st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x1FAFF, exclude_categories=("Cs",)), max_size=900
    ),
    name=st.text(max_size=60),
)
def test_every_destinations_text_is_valid_by_its_own_rule_with_the_link_whole(body: str, name: str) -> None:
    from twitter_text import parse_tweet

    from bot.destinations.bluesky import MAX_BYTES, MAX_GRAPHEMES, BlueskyDestination
    from bot.destinations.mastodon import MastodonDestination, mastodon_length
    from bot.destinations.x import XDestination
    from bot.fit import graphemes
    from bot.payload import parse_payload
    from bot.x_client import XClient

    payload = incident(1)
    payload["incident"]["name"] = name
    payload["incident"]["incident_updates"][0]["body"] = body
    whole = parse_payload(payload, "j2mfxwj97wnj")
    update = whole.updates[0]
    x = XDestination(XClient(lambda refresh, deadline: ("a", "b", "c", "d"))).compose(
        whole, update, None, linked=True
    )
    bluesky = BlueskyDestination(HANDLE, lambda r, d: PASSWORD).compose(whole, update, None, linked=True)
    mastodon = MastodonDestination(MASTODON, lambda r, d: TOKEN).compose(whole, update, None, linked=True)
    assert parse_tweet(x.text).valid
    assert graphemes(bluesky.text) <= MAX_GRAPHEMES and len(bluesky.text.encode()) <= MAX_BYTES
    assert mastodon_length(mastodon.text, 23) <= 500
    for fitted in (x, bluesky, mastodon):
        assert fitted.text.endswith(" " + SHORTLINK)


@pytest.mark.parametrize(
    "unit",
    ["e\u0301\u0302", "👨‍👩‍👧‍👦", "🇯🇵", "👍🏽"],
    ids=["combining marks", "ZWJ family", "flag", "skin tone"],
)
def test_the_bluesky_limit_is_counted_in_graphemes_and_never_splits_one(unit: str) -> None:
    import unicodedata

    import regex

    from bot.destinations.bluesky import MAX_BYTES, MAX_GRAPHEMES, BlueskyDestination
    from bot.fit import graphemes
    from bot.payload import parse_payload

    payload = incident(1)
    payload["incident"]["incident_updates"][0]["body"] = unit * 400
    whole = parse_payload(payload, "j2mfxwj97wnj")
    fitted = BlueskyDestination(HANDLE, lambda r, d: PASSWORD).compose(
        whole, whole.updates[0], None, linked=True
    )
    assert fitted.shortened and graphemes(fitted.text) <= MAX_GRAPHEMES
    body = fitted.text.removeprefix("[status] Investigating: ").removesuffix(f"… {SHORTLINK}")
    assert set(regex.findall(r"\X", body)) == {unicodedata.normalize("NFC", unit)}  # whole units only
    # And it uses the room: up to the grapheme limit, or the byte limit (a family emoji is 25 bytes).
    assert graphemes(fitted.text) >= MAX_GRAPHEMES - 2 or len(fitted.text.encode()) > MAX_BYTES - 30


# --- Start-up, dry run ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DESTINATIONS": "x,bluesky"}, "BLUESKY_HANDLE"),
        ({"DESTINATIONS": "mastodon"}, "MASTODON_BASE_URL"),
        ({"DESTINATIONS": "x,threads"}, "DESTINATIONS: unknown ['threads']"),
    ],
)
def test_a_destination_without_its_settings_stops_the_start(make_client, capsys, env, named) -> None:
    with pytest.raises(SystemExit):
        make_client(**env)
    (line,) = [line for line in json_lines(capsys.readouterr().out) if line["severity"] == "ERROR"]
    assert named in line["message"]


def test_a_dry_run_shows_each_destinations_text_and_length(make_client, http) -> None:
    client = make_client(DRY_RUN="true", **ALL)
    payload = incident(1)
    payload["incident"]["incident_updates"][0]["body"] = "日本語 " * 120
    answer = post(client, payload).get_json()
    assert answer["result"] == "dry_run"
    each = answer["destinations"]
    assert set(each) == {"x", "bluesky", "mastodon"}
    assert each["x"]["length"] <= 280 and each["bluesky"]["length"] <= 300
    assert each["mastodon"]["text"].endswith(SHORTLINK) and each["mastodon"]["length"] <= 500
    assert len(each["bluesky"]["text"]) > len(each["x"]["text"])  # Bluesky counts CJK as 1, X as 2


def test_the_sweep_catches_up_one_destination_alone(base_env, http, state_bucket, secret_manager) -> None:
    from test_sweep import START, World
    from test_sweep import incident as listed

    secret_manager.values["getsentryhelp_twitter_mastodon_access_token"] = TOKEN
    mastodon = FakeMastodon(http)
    world = World(base_env, http, state_bucket, DESTINATIONS="x,mastodon", MASTODON_BASE_URL=MASTODON)
    world.sweep()  # starts watching
    world.now = START + 60
    mastodon.failures += [(503, {"error": "Service Unavailable"})] * 3
    item = listed([START + 30])
    answer = world.deliver(item)
    assert {k: v["result"] for k, v in answer["destinations"].items()} == {
        "x": "posted",
        "mastodon": "failed",
    }
    world.statuspage.incidents = [item]
    world.now = START + 400  # past the failed attempt's 5 minutes
    answer = world.sweep()
    assert [p["update_id"] for p in answer["posted"]] == ["upd1"] and answer["missed_by_webhook"] == []
    assert len(world.x.bodies) == 1 and len(mastodon.statuses) == 1  # X not again
    assert world.sweep()["skipped"] == {"settled": 1}  # now settled for both


@pytest.mark.parametrize(
    "unit", ["e\u0301\u0302", "👨‍👩‍👧‍👦", "🇯🇵", "👍🏽"], ids=["marks", "family", "flag", "tone"]
)
def test_a_cut_falls_between_graphemes_whatever_the_measure(unit: str) -> None:
    """With a measure in code points (so that the room ends inside a grapheme at most limits),
    the body still keeps only whole graphemes."""
    import unicodedata

    import regex

    from bot.fit import fit_post

    whole = unicodedata.normalize("NFC", unit)
    for limit in range(30, 30 + 3 * len(unit)):
        fitted = fit_post(
            status="s",
            body=unit * 50,
            url="https://x.example/a",
            template="{body} {url}",
            measure=len,
            limit=limit,
        )
        body = fitted.text.removesuffix(" https://x.example/a").removesuffix("…")
        assert len(fitted.text) <= limit
        assert set(regex.findall(r"\X", body)) <= {whole}, (limit, body)


def test_a_component_change_on_bluesky_links_the_status_page(networks) -> None:
    client = networks.make_client(
        STATE_BUCKET=networks.bucket,
        POST_COMPONENT_UPDATES="true",
        STATUSPAGE_URL="https://status.example.com",
        **ALL,
    )
    from conftest import load_fixture

    answer = post(client, load_fixture("component.json")).get_json()
    assert answer["destinations"]["bluesky"]["result"] == "posted"
    record = networks.bluesky.records[0]["record"]
    (facet,) = record["facets"]
    link = record["text"].encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]]
    assert link == b"https://status.example.com"

"""X's 2026 rules: a refused reply still posts, threads by reply or quote, the link where the
operator wants it, and what each post costs. Through the function; X faked on the wire with
`responses`, the ledger on fake-gcs-server."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import responses
from conftest import (
    CREDENTIALS,
    PAGE_ID,
    REPLY_REFUSED,
    SHORTLINK,
    FakeX,
    incident,
    json_lines,
    post,
    serve,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls, parse_tweet

from bot.deadline import Deadline
from bot.gcs_ledger import GcsStore
from bot.ledger import MemoryStore

LONG = Deadline(float("inf"))


def record_of(bucket: str, update_id: str) -> Any:
    return GcsStore(bucket, project="test-project").get(update_id, LONG).record


def refusal_warnings(out: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(out) if line.get("thread_refused")]


# --- A refused reply still posts, once -------------------------------------------------------


@pytest.mark.parametrize("link_in", ["every", "first"])
@pytest.mark.usefixtures("secret_manager")
def test_a_refused_reply_is_posted_once_standalone_with_the_link(
    make_client, http, state_bucket, capsys, link_in
) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket, LINK_IN=link_in)
    assert post(client, incident(1)).get_json()["tweet_id"] == "1001"
    x.refuse.add("reply")
    answer = post(client, incident(2)).get_json()

    assert (answer["result"], answer["tweet_id"], answer["thread"]) == ("posted", "1003", "standalone")
    assert "standalone: X refused the reply (Reply to this conversation is not allowed" in answer["reason"]
    refused, standalone = x.bodies[1:]
    assert refused["reply"] == {"in_reply_to_tweet_id": "1001"}
    assert (SHORTLINK in refused["text"]) is (link_in == "every")
    assert standalone == {"text": f"[status] Monitoring: Update number 2. {SHORTLINK}"}  # no reply, a link
    assert answer["text"] == standalone["text"] and answer["cost_usd"] == 0.2
    record = record_of(state_bucket, "upd2")
    assert (record.state, record.thread, record.parent) == ("posted", "standalone", None)
    out = capsys.readouterr().out
    (warning,) = refusal_warnings(out)
    assert warning["severity"] == "WARNING" and warning["thread_refused"] == "reply"
    for remedy in ("Public Utility", "THREAD_MODE=quote", "THREAD_MODE=off"):
        assert remedy in warning["message"]
    stored = GcsStore(state_bucket, project="test-project").read_meta("x-thread-refused", LONG)
    assert stored["mode"] == "reply" and stored["message"] == REPLY_REFUSED["detail"]
    assert abs(stored["at"] - time.time()) < 60


@pytest.mark.usefixtures("secret_manager")
def test_the_refusal_is_remembered_by_a_new_instance_which_posts_standalone_at_once(
    make_client, http, state_bucket, capsys
) -> None:
    x = FakeX(http)
    x.refuse.add("reply")
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    post(client, incident(2))  # refused, then standalone: 3 calls so far
    assert len(x.bodies) == 3
    capsys.readouterr()

    fresh = make_client(restart=True, STATE_BUCKET=state_bucket)
    for n in (3, 4):
        answer = post(fresh, incident(n)).get_json()
        assert (answer["result"], answer["thread"]) == ("posted", "standalone")
        assert "replies are tried again after" in answer["reason"]
    assert len(x.bodies) == 5  # one call each: no reply tried first
    assert [("reply" in b, b["text"].endswith(SHORTLINK)) for b in x.bodies[3:]] == [(False, True)] * 2
    assert len(refusal_warnings(capsys.readouterr().out)) == 1  # once per instance


@pytest.mark.usefixtures("secret_manager")
def test_replies_are_tried_again_after_thread_retry_hours(base_env, http, state_bucket, capsys) -> None:
    from bot.app import build_handler

    x = FakeX(http)
    x.refuse.add("reply")
    now = [time.time()]
    env = {**base_env, "STATE_BUCKET": state_bucket, "THREAD_RETRY_HOURS": "2"}
    a = serve(build_handler(env, wall_clock=lambda: now[0]))
    b = serve(build_handler(env, wall_clock=lambda: now[0]))

    def deliver(client: Any, n: int) -> list[bool]:
        """Post update n; which of the calls it made were replies."""
        before = len(x.bodies)
        assert post(client, incident(n)).get_json()["result"] == "posted"
        return ["reply" in body for body in x.bodies[before:]]

    assert deliver(a, 1) == [False]  # the root
    assert deliver(a, 2) == [True, False]  # refused, then standalone: remembered
    assert deliver(b, 3) == [False]  # read from the ledger
    now[0] += 2 * 3600 - 60
    assert deliver(a, 4) == [False]  # still within the 2 hours

    now[0] += 120  # past them: tried again, refused again, and that is remembered anew …
    assert deliver(b, 5) == [True, False]
    assert deliver(a, 6) == [False]  # … and read anew by an instance whose refusal expired

    x.refuse.clear()  # X lifts the restriction
    now[0] += 2 * 3600
    assert deliver(a, 7) == [True]
    assert x.replies()[-1] == "1008"  # the thread goes on from the last tweet, standalone or not
    # A new instance reads the stored refusal, finds it expired, and replies too.
    assert deliver(serve(build_handler(env, wall_clock=lambda: now[0])), 8) == [True]
    # Each instance warned once of each refusal it met or read.
    warnings = refusal_warnings(capsys.readouterr().out)
    assert len(warnings) == 4 and len({w["refused_at"] for w in warnings}) == 2


@pytest.mark.usefixtures("secret_manager")
def test_a_catch_up_under_a_refusal_posts_standalone_in_order(make_client, http, state_bucket) -> None:
    """Update 2 failed as a reply before anyone knew X refuses replies: it is caught up once,
    standalone, before update 3, and neither is given up."""
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    x.failures += [(503, {"title": "Service Unavailable"})] * 3
    assert post(client, incident(2)).get_json()["result"] == "failed"
    x.refuse.add("reply")
    answer = post(client, incident(3)).get_json()

    assert answer["caught_up"] == [
        {"update_id": "upd2", "result": "posted", "tweet_id": "1006", "thread": "standalone", "cost_usd": 0.2}
    ]
    assert (answer["result"], answer["thread"], answer["tweet_id"]) == ("posted", "standalone", "1007")
    # Update 2 tried as a reply once more (refused), then standalone; update 3 standalone at once.
    assert [(b["text"].split(" ")[-2], "reply" in b) for b in x.bodies[4:]] == [
        ("2.", True),
        ("2.", False),
        ("3.", False),
    ]
    assert (record_of(state_bucket, "upd2").state, record_of(state_bucket, "upd2").attempts) == ("posted", 2)


@pytest.mark.usefixtures("secret_manager")
def test_a_refusal_of_every_post_is_not_taken_for_a_reply_policy(make_client, http, state_bucket) -> None:
    """A read-only app gets 403 for any post: the standalone fails too, and that is what the
    operator is told; nothing is remembered about replies."""
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    forbidden = (403, {"detail": "You are not permitted to perform this action.", "status": 403})
    x.failures += [forbidden, forbidden]
    answer = post(client, incident(2)).get_json()
    assert answer["result"] == "failed" and "Read and write" in answer["reason"]
    assert GcsStore(state_bucket, project="test-project").read_meta("x-thread-refused", LONG) is None
    assert post(client, incident(3)).get_json()["thread"] == "reply"  # the catch-up, and it, reply


@pytest.mark.usefixtures("secret_manager")
def test_a_record_written_before_quotes_is_retried_as_its_reply(make_client, http, state_bucket) -> None:
    """A ledger in the previous layout (`reply_to`, no `thread`): an update whose answer was lost
    is retried with the same text as a reply to the same tweet, and X's duplicate answer settles it."""
    from google.cloud import storage

    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket)
    post(client, incident(1))
    text = f"[status] Monitoring: Update number 2. {SHORTLINK}"
    legacy = {
        "update_id": "upd2",
        "incident_id": "inc1",
        "state": "unknown",
        "first_claimed_at": time.time() - 60,
        "claimed_at": time.time() - 60,
        "attempts": 1,
        "tweet_id": None,
        "error": "unknown: X's answer was lost or broken (ReadTimeout)",
        "owner": "an-older-version",
        "text": text,
        "reply_to": "1001",
        "maybe_posted": True,
        "superseded_by": None,
    }
    blob = storage.Client(project="test-project").bucket(state_bucket).blob("updates/upd2.json")
    blob.upload_from_string(json.dumps(legacy), content_type="application/json")
    x.failures.append((403, {"detail": "You are not allowed to create a Tweet with duplicate content."}))

    answer = post(client, incident(3)).get_json()
    assert answer["caught_up"][0]["result"] == "posted"
    assert x.bodies[1] == {"text": text, "reply": {"in_reply_to_tweet_id": "1001"}}
    record = record_of(state_bucket, "upd2")
    assert (record.state, record.thread, record.parent) == ("posted", "reply", "1001")


# --- THREAD_MODE ------------------------------------------------------------------------------


@pytest.mark.usefixtures("secret_manager")
def test_quote_mode_quotes_the_previous_tweet(make_client, http, state_bucket) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket, THREAD_MODE="quote")
    answers = [post(client, incident(n)).get_json() for n in (1, 2, 3)]
    assert x.quotes() == [None, "1001", "1002"]
    assert x.replies() == [None, None, None]
    assert [a["thread"] for a in answers] == ["standalone", "quote", "quote"]
    record = record_of(state_bucket, "upd3")
    assert (record.thread, record.parent) == ("quote", "1002")


@pytest.mark.usefixtures("secret_manager")
def test_a_refused_quote_falls_back_like_a_refused_reply(make_client, http, state_bucket) -> None:
    x = FakeX(http)
    x.refuse.add("quote")
    client = make_client(STATE_BUCKET=state_bucket, THREAD_MODE="quote", LINK_IN="first")
    post(client, incident(1))
    answer = post(client, incident(2)).get_json()
    assert (answer["result"], answer["thread"]) == ("posted", "standalone")
    assert "X refused the quote" in answer["reason"]
    assert x.quotes() == [None, "1001", None] and x.bodies[2]["text"].endswith(SHORTLINK)


@pytest.mark.parametrize(
    "env", [{"THREAD_MODE": "off", "LINK_IN": "first"}, {"THREAD_UPDATES": "false"}], ids=["off", "legacy"]
)
@pytest.mark.usefixtures("secret_manager")
def test_off_sends_neither_reply_nor_quote_and_keeps_every_link(make_client, http, state_bucket, env) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket, **env)
    answers = [post(client, incident(n)).get_json() for n in (1, 2, 3)]
    assert x.replies() == x.quotes() == [None, None, None]
    assert all(b["text"].endswith(SHORTLINK) for b in x.bodies)
    assert [(a["thread"], a["cost_usd"]) for a in answers] == [("standalone", 0.2)] * 3


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"THREAD_MODE": "replies"}, "THREAD_MODE='replies' is not one of: reply, quote, off"),
        ({"THREAD_UPDATES": "false", "THREAD_MODE": "quote"}, "contradicts THREAD_MODE='quote'"),
        ({"THREAD_UPDATES": "true", "THREAD_MODE": "off"}, "contradicts THREAD_MODE='off'"),
        ({"LINK_IN": "last"}, "LINK_IN='last' is not one of: every, first"),
        ({"THREAD_RETRY_HOURS": "0"}, "THREAD_RETRY_HOURS must be at least 1"),
        ({"X_POST_PRICE_USD": "nan"}, "X_POST_PRICE_USD must be a price"),
        ({"X_LINK_POST_PRICE_USD": "twenty cents"}, "X_LINK_POST_PRICE_USD='twenty cents' is not a number"),
        # Every follow-up would be empty without its link.
        ({"LINK_IN": "first", "TWEET_TEMPLATE": "{url}"}, "for a follow-up without the link (LINK_IN=first)"),
    ],
)
def test_a_bad_thread_or_price_setting_stops_the_start_naming_it(make_client, capsys, env, named) -> None:
    with pytest.raises(SystemExit) as stopped:
        make_client(**env)
    assert stopped.value.code == 1
    (line,) = [line for line in json_lines(capsys.readouterr().out) if line["severity"] == "ERROR"]
    assert line["message"].startswith("Configuration error; the function does not start: ")
    assert named in line["message"] and line["startup"] == "failed"


@pytest.mark.parametrize(
    ("env", "mode"),
    [({"THREAD_UPDATES": "true", "THREAD_MODE": "quote"}, "quote"), ({"THREAD_UPDATES": "no"}, "off")],
)
def test_thread_updates_agreeing_with_thread_mode_starts(make_client, capsys, env, mode) -> None:
    make_client(**env)
    (started,) = [line for line in json_lines(capsys.readouterr().out) if line["message"].endswith("started")]
    assert (started["thread_mode"], started["link_in"]) == (mode, "every")


# --- LINK_IN and cost_usd ---------------------------------------------------------------------


@pytest.mark.usefixtures("secret_manager")
def test_link_in_first_keeps_the_link_on_the_root_only(make_client, http, state_bucket, capsys) -> None:
    x = FakeX(http)
    client = make_client(STATE_BUCKET=state_bucket, LINK_IN="first")
    payload = incident(3)
    # 255 characters: with " " and the link (23) the tweet would be 300 and need a cut; without, 276.
    fits_bare = " ".join(["abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"] * 4)[:255]
    payload["incident"]["incident_updates"][0]["body"] = fits_bare  # update 3
    answers = [post(client, incident(n)).get_json() for n in (1, 2)] + [post(client, payload).get_json()]

    texts = [b["text"] for b in x.bodies]
    assert texts[0] == f"[status] Investigating: Update number 1. {SHORTLINK}"
    assert texts[1] == "[status] Monitoring: Update number 2."  # no trailing space either
    assert texts[2] == f"[status] Monitoring: {fits_bare}"  # not cut
    assert all(parse_tweet(t).valid for t in texts)
    assert [extract_urls(t) for t in texts] == [[SHORTLINK], [], []]
    assert x.replies() == [None, "1001", "1002"]
    assert [a["cost_usd"] for a in answers] == [0.2, 0.015, 0.015]
    summaries = [line for line in json_lines(capsys.readouterr().out) if "cost_usd" in line]
    assert [(s["cost_usd"], s["text"], s["weighted_length"]) for s in summaries] == [
        (a["cost_usd"], a["text"], parse_tweet(a["text"]).weightedLength) for a in answers
    ]


@pytest.mark.usefixtures("secret_manager")
def test_cost_follows_the_prices_and_any_link_in_the_text(make_client, http, state_bucket) -> None:
    FakeX(http)
    client = make_client(
        STATE_BUCKET=state_bucket, LINK_IN="first", X_POST_PRICE_USD="0.02", X_LINK_POST_PRICE_USD="0.3"
    )
    payload = incident(2)
    payload["incident"]["incident_updates"][0]["body"] = "Details on example.com/status."
    assert post(client, incident(1)).get_json()["cost_usd"] == 0.3
    assert post(client, payload).get_json()["cost_usd"] == 0.3  # no shortlink, but a link all the same
    answer = post(client, incident(3)).get_json()
    assert answer["cost_usd"] == 0.02
    # Nothing created, nothing billed: a re-delivery answers without calling X.
    assert "cost_usd" not in post(client, incident(3)).get_json()


# --- Property: any incident, any mode ----------------------------------------------------------

statuses = st.sampled_from(["investigating", "identified", "monitoring", "resolved", "in_progress"])
bodies = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FFF), max_size=320)


@settings(max_examples=60, deadline=None)
@given(
    updates=st.lists(st.tuples(statuses, bodies), min_size=1, max_size=8),
    mode=st.sampled_from(["reply", "quote", "off"]),
    link_in=st.sampled_from(["every", "first"]),
    refused_from=st.integers(min_value=1, max_value=9),
)
def test_any_thread_is_valid_and_only_follow_ups_lack_the_link(updates, mode, link_in, refused_from) -> None:
    """Each update delivered in turn; from update `refused_from` on, X refuses replies and
    quotes. Every update is posted exactly once; every tweet sent is valid; a tweet lacks the
    incident's link only when it is a reply or quote under LINK_IN=first."""
    from bot.decide import Post, tweet_for
    from bot.destinations.x import XDestination
    from bot.payload import parse_payload
    from bot.relay import Relay
    from bot.thread import ThreadRules
    from bot.x_client import XClient

    payload = incident(len(updates))
    oldest_first = reversed(payload["incident"]["incident_updates"])
    for (status, body), update in zip(updates, oldest_first, strict=True):
        update.update(status=status, body=body)
    whole = parse_payload(payload, PAGE_ID)
    with responses.RequestsMock() as http:
        x = FakeX(http)
        relay = Relay(
            MemoryStore(),
            XDestination(
                XClient(lambda refresh, deadline: tuple(CREDENTIALS.values())), ThreadRules(mode, link_in)
            ),
        )
        for n, update in enumerate(whole.ordered_updates(), 1):
            if n == refused_from:
                x.refuse |= {"reply", "quote"}
            tweet = tweet_for(whole, update, None)
            post = Post(tweet.text, tweet.weighted_length, "incident", "inc1", update.id, whole)
            delivery = relay.deliver(post, LONG)
            assert delivery.result == "posted", delivery.reason
            assert delivery.text == x.created[-1]["text"]

    assert len(x.created) == len(updates)
    for body in x.bodies:
        tie = "reply" if "reply" in body else "quote" if "quote_tweet_id" in body else None
        assert tie in (None, mode), body
        assert parse_tweet(body["text"]).valid, body
        assert (SHORTLINK in body["text"]) is (link_in == "every" or tie is None), body
    if refused_from <= len(updates):  # from then on, only standalone tweets were created
        assert not any("reply" in b or "quote_tweet_id" in b for b in x.created[refused_from - 1 :])

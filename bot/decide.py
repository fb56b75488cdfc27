"""The pure core: a webhook body in, a decision out (post this text, or ignore, and why)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.config import Config
from bot.payload import ComponentChange, Ignored, Incident, IncidentUpdate, parse_payload
from bot.tweet import Tweet, format_tweet

MAX_BODY_BYTES = 1 << 20  # 1 MiB: far above any real Statuspage payload


@dataclass(frozen=True)
class Post:
    text: str
    weighted_length: int
    kind: str  # incident | component
    incident_id: str | None
    update_id: str
    # The whole incident, for threading and catch-up of its earlier updates.
    incident: Incident | None = None


@dataclass(frozen=True)
class Ignore:
    reason: str


def decide(raw: bytes, config: Config) -> Post | Ignore:
    """Validate the body for our page and format its newest update as a tweet."""
    if len(raw) > MAX_BODY_BYTES:
        return Ignore("body is over 1 MiB")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return Ignore("body is not JSON")
    try:
        event = parse_payload(data, config.page_id)
    except Ignored as exc:
        return Ignore(exc.reason)
    if isinstance(event, ComponentChange):
        if not config.post_component_updates or not config.page_url:
            return Ignore("component update (POST_COMPONENT_UPDATES is off)")
        tweet = format_tweet(
            status=event.new_status,
            body=event.component_name,
            name=event.component_name,
            url=config.page_url,
            template=config.tweet_template,
        )
        return Post(tweet.text, tweet.weighted_length, "component", None, event.id)
    return post_for(event, event.latest_update(), config.tweet_template)


def post_for(incident: Incident, update: IncidentUpdate, template: str | None) -> Post:
    """The post of one update of an incident, with the incident for its thread."""
    tweet = tweet_for(incident, update, template)
    return Post(tweet.text, tweet.weighted_length, "incident", incident.id, update.id, incident)


def tweet_for(
    incident: Incident, update: IncidentUpdate, template: str | None, *, link: bool = True
) -> Tweet:
    """The tweet for any update of an incident (the newest, or an earlier one being caught up).

    Without `link`, `{url}` renders empty: a follow-up under LINK_IN=first, whose body gets
    the room.
    """
    return format_tweet(**fields_of(incident, update, link=link), template=template)


def fields_of(incident: Incident, update: IncidentUpdate, *, link: bool) -> dict[str, str]:
    """The template's fields for an update, on any network; `{url}` empty without `link`."""
    return {
        "status": update.status,
        "body": update.body,
        "name": incident.name,
        "url": incident.shortlink if link else "",
    }

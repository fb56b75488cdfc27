"""The networks the relay posts to: X, Bluesky and Mastodon, one module each, behind one small
interface. The relay knows ledger rules and time budgets; a destination knows its network:
its length rule, how it threads, its errors and its credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.deadline import Deadline
from bot.fit import Fitted
from bot.ledger import Record
from bot.payload import Incident, IncidentUpdate
from bot.thread import ThreadRules
from bot.tweet import humanize
from bot.x_client import PostOutcome

NAMES = ("x", "bluesky", "mastodon")


@dataclass(frozen=True)
class Context:
    """What a post is about, for a network that links or embeds it."""

    update_id: str
    link: str | None  # the incident's link, when the text carries it
    title: str  # the incident's name
    description: str  # its status and the update


class Destination(Protocol):
    name: str
    rules: ThreadRules  # how its posts thread, which carry the link, what each costs

    def compose(
        self, incident: Incident, update: IncidentUpdate, template: str | None, *, linked: bool
    ) -> Fitted:
        """The update's post by this network's length rule; TemplateError if none fits."""

    def measure(self, text: str) -> int:
        """The text's length as this network counts it."""

    def post(
        self, text: str, *, how: str, parent: Record | None, deadline: Deadline, context: Context
    ) -> PostOutcome:
        """Create the post, tied to `parent` (its ledger record) as `how` says; never raises
        for what the network does. The outcome's tweet_id is the post's id there."""


def context_of(
    incident: Incident | None, update: IncidentUpdate | None, update_id: str, text: str
) -> Context:
    """The post's context; a component change (no incident) has only its text, which ends with
    the status page's link."""
    if incident is None or update is None:
        last = text.rsplit(" ", 1)[-1]
        return Context(update_id, last if last.startswith(("https://", "http://")) else None, "", text)
    link = incident.shortlink if incident.shortlink in text else None
    return Context(update_id, link, incident.name, f"{humanize(update.status)}: {update.body}"[:300])

"""X: tweets by twitter-text's rule, threaded by reply or quote (THREAD_MODE), through tweepy."""

from __future__ import annotations

from bot.deadline import Deadline
from bot.decide import tweet_for
from bot.destinations import Context
from bot.fit import Fitted
from bot.ledger import Record
from bot.payload import Incident, IncidentUpdate
from bot.thread import QUOTE, REPLY, ThreadRules
from bot.tweet import weight
from bot.x_client import PostOutcome, XClient


class XDestination:
    name = "x"

    def __init__(self, client: XClient, rules: ThreadRules | None = None) -> None:
        self._client = client
        self.rules = rules or ThreadRules()

    def compose(
        self, incident: Incident, update: IncidentUpdate, template: str | None, *, linked: bool
    ) -> Fitted:
        tweet = tweet_for(incident, update, template, link=linked)
        return Fitted(tweet.text, tweet.weighted_length, tweet.shortened)

    def measure(self, text: str) -> int:
        return weight(text)

    def post(
        self, text: str, *, how: str, parent: Record | None, deadline: Deadline, context: Context
    ) -> PostOutcome:
        parent_id = parent.tweet_id if parent is not None else None
        return self._client.post(
            text,
            deadline=deadline,
            reply_to=parent_id if how == REPLY else None,
            quote_of=parent_id if how == QUOTE else None,
        )

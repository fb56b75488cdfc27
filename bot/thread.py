"""How an incident's tweets form a thread, which of them carry the link, and what each costs.

Pure: no I/O. The relay applies these rules to what the ledger knows; `plan` applies them to
a whole incident, for `python -m bot preview` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.decide import tweet_for
from bot.payload import Incident
from bot.tweet import has_url

# How a tweet is tied to the thread's previous one: X's reply or quote, or not at all.
REPLY, QUOTE, STANDALONE = "reply", "quote", "standalone"


@dataclass(frozen=True)
class ThreadRules:
    mode: str = REPLY  # THREAD_MODE: reply | quote | off
    link_in: str = "every"  # LINK_IN: every | first
    # X's pay-per-use estimate: a post, and a post that carries a URL (instead, not on top).
    post_usd: float = 0.015
    link_post_usd: float = 0.20

    @classmethod
    def of(cls, config: Config) -> ThreadRules:
        return cls(config.thread_mode, config.link_in, config.x_post_price_usd, config.x_link_post_price_usd)

    def how(self, parent: str | None) -> str:
        """How a tweet follows `parent`, the thread's last tweet (None: there is none)."""
        if parent is None or self.mode == "off":
            return STANDALONE
        return self.mode

    def linked(self, how: str) -> bool:
        """Does a tweet threaded so carry the incident's link? With LINK_IN=first only one that
        stands alone does: a reply or quote points at the thread, which starts with it."""
        return self.link_in == "every" or how == STANDALONE

    def cost(self, text: str) -> float:
        """The estimated price of posting `text`: a link anywhere in it costs the link price."""
        return self.link_post_usd if has_url(text) else self.post_usd


@dataclass(frozen=True)
class Planned:
    update_id: str
    text: str
    weighted_length: int
    how: str
    cost_usd: float


def plan(incident: Incident, rules: ThreadRules, template: str | None) -> list[Planned]:
    """Every tweet of the incident's thread, oldest first, as the relay posts them when each
    goes out in turn and X accepts every thread link."""
    tweets: list[Planned] = []
    for update in incident.ordered_updates():
        how = rules.how("previous" if tweets else None)
        tweet = tweet_for(incident, update, template, link=rules.linked(how))
        tweets.append(Planned(update.id, tweet.text, tweet.weighted_length, how, rules.cost(tweet.text)))
    return tweets

"""Mastodon: posts within the instance's own limit (graphemes, a URL counting its reserved
length), threaded by in_reply_to_id, through Mastodon.py (imported only when enabled).

Every post carries `Idempotency-Key` = the update id, so Mastodon itself drops a repeat of a
post whose answer was lost: a timeout or a 5xx is retried at once, safely.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.deadline import Deadline, DeadlineExceededError
from bot.decide import fields_of
from bot.destinations import Context
from bot.fit import Fitted, fit_post, graphemes
from bot.ledger import Record
from bot.payload import Incident, IncidentUpdate
from bot.secret_store import SecretError
from bot.thread import ThreadRules
from bot.x_client import ATTEMPT_TIMEOUT_SECONDS, TOTAL_BUDGET_SECONDS, PostOutcome, retry_wait

log = logging.getLogger(__name__)

# Used when the instance's own numbers cannot be read (Mastodon's defaults).
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_LENGTH = 23

TokenSource = Callable[[bool, Deadline], str]


def mastodon_length(text: str, url_length: int) -> int:
    """Mastodon's count: graphemes, each URL (with its scheme) counting `url_length`."""
    from bot._twitter_text import extract_urls_with_indices

    length, last = 0, 0
    for found in extract_urls_with_indices(text, False):
        start, end = found["indices"]
        length += graphemes(text[last:start]) + url_length
        last = end
    return length + graphemes(text[last:])


class MastodonDestination:
    name = "mastodon"

    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        visibility: str = "public",
        rules: ThreadRules | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._visibility = visibility
        self.rules = rules or ThreadRules()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._limits: tuple[int, int] | None = None  # (max characters, URL length), once per instance

    def compose(
        self, incident: Incident, update: IncidentUpdate, template: str | None, *, linked: bool
    ) -> Fitted:
        return fit_post(
            **fields_of(incident, update, link=linked),
            template=template,
            measure=self.measure,
            limit=self._current_limits()[0],
        )

    def measure(self, text: str) -> int:
        return mastodon_length(text, self._current_limits()[1])

    def _current_limits(self) -> tuple[int, int]:
        """The instance's (limit, URL length) once warm() read them; Mastodon's defaults until then."""
        return self._limits or (DEFAULT_MAX_CHARACTERS, DEFAULT_URL_LENGTH)

    def warm(self, deadline: Deadline) -> None:
        """Read the instance's limit and URL length (/api/v2/instance) once per instance; if they
        cannot be read, Mastodon's defaults (500 and 23) hold."""
        if self._limits is None:
            from mastodon import Mastodon

            try:
                connect, read = deadline.http_timeout(ATTEMPT_TIMEOUT_SECONDS)
                client = Mastodon(api_base_url=self._base_url, request_timeout=(connect, read))
                statuses = client.instance_v2()["configuration"]["statuses"]
                self._limits = (int(statuses["max_characters"]), int(statuses["characters_reserved_per_url"]))
            except Exception as exc:
                log.warning(
                    f"Could not read the Mastodon instance's limits ({type(exc).__name__}); using 500 and 23"
                )
                self._limits = (DEFAULT_MAX_CHARACTERS, DEFAULT_URL_LENGTH)

    def post(
        self, text: str, *, how: str, parent: Record | None, deadline: Deadline, context: Context
    ) -> PostOutcome:
        from mastodon import (
            MastodonAPIError,
            MastodonNetworkError,
            MastodonRatelimitError,
            MastodonServerError,
            MastodonUnauthorizedError,
        )

        deadline = deadline.within(TOTAL_BUDGET_SECONDS)
        reread = False
        attempt = 0
        while True:
            attempt += 1
            try:
                client = self._client(reread, deadline)
                created = client.status_post(
                    text,
                    in_reply_to_id=parent.tweet_id if parent is not None and how != "standalone" else None,
                    visibility=self._visibility,
                    idempotency_key=context.update_id,
                )
                return PostOutcome("posted", "status created", str(created["id"]), attempt)
            except (SecretError, DeadlineExceededError) as exc:
                return self._failed(f"Mastodon post stopped before attempt {attempt}: {exc}", attempt - 1)
            except MastodonRatelimitError:
                reason = "Mastodon rate limit reached (429); posting resumes when the instance allows"
                log.warning(reason, extra={"json_fields": {"destination": "mastodon"}})
                return PostOutcome("rate_limited", reason, None, attempt)
            except MastodonUnauthorizedError:
                if not reread:  # the token may have been rotated
                    reread = True
                    continue
                return self._failed(
                    "Mastodon refused the access token (401): create a token with the write:statuses scope "
                    "and add it as a new version of the mastodon_access_token secret",
                    attempt,
                )
            except MastodonServerError as exc:
                error: Exception = exc
            except MastodonAPIError as exc:
                status = exc.args[1] if len(exc.args) > 1 else "?"
                if status == 403:
                    return self._failed(
                        "Mastodon forbade the post (403): the token needs the write:statuses scope, "
                        "and the account must not be suspended or limited",
                        attempt,
                    )
                return self._failed(f"Mastodon answered {status}: {exc.args[-1]}", attempt)
            except MastodonNetworkError as exc:  # a timeout too: the Idempotency-Key makes a retry safe
                error = exc
            wait = retry_wait(attempt, deadline)
            if wait is None:
                return self._failed(
                    f"Mastodon unreachable or failing after {attempt} attempt(s): {type(error).__name__}",
                    attempt,
                )
            log.warning(
                "Mastodon post failed, retrying",
                extra={"json_fields": {"attempt": attempt, "error": type(error).__name__}},
            )
            self._sleep(wait)

    def _client(self, reread: bool, deadline: Deadline) -> Any:
        """A client with the current token, and this attempt's timeout."""
        from mastodon import Mastodon

        token = self._token(reread, deadline)
        connect, read = deadline.http_timeout(ATTEMPT_TIMEOUT_SECONDS)
        return Mastodon(
            access_token=token,
            api_base_url=self._base_url,
            ratelimit_method="throw",  # never sleep inside a request Statuspage waits for
            request_timeout=(connect, read),
            version_check_mode="none",
        )

    def _failed(self, reason: str, attempts: int) -> PostOutcome:
        log.error(reason, extra={"json_fields": {"destination": "mastodon", "attempts": attempts}})
        return PostOutcome("failed", reason, None, attempts)

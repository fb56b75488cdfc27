"""Post a tweet through X's v2 API (tweepy, OAuth 1.0a user context) and classify the answer."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from bot.deadline import Deadline, DeadlineExceededError
from bot.secret_store import SecretError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# All attempts and the waits between them fit in this budget, or in what remains of the
# request's deadline if that is less; Statuspage waits 30 s.
TOTAL_BUDGET_SECONDS = 10.0
ATTEMPT_TIMEOUT_SECONDS = 4.0
BACKOFF_SECONDS = (0.5, 1.0)
RATE_LIMIT_HEADERS = (
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "x-user-limit-24hour-limit",
    "x-user-limit-24hour-remaining",
    "x-user-limit-24hour-reset",
    "x-app-limit-24hour-limit",
    "x-app-limit-24hour-remaining",
    "x-app-limit-24hour-reset",
)
_LIMITS = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
# Outcomes of a tweet sent as a reply or quote that X refused for that link alone (any 403 but
# "duplicate content"): nothing was posted, and the same update may go out standalone.
THREAD_REFUSED = "thread_refused"  # X's reply policy, most likely: it holds for later tweets too
PARENT_GONE = "parent_gone"  # the tweet answered is deleted or not visible: this parent only

Credentials = tuple[str, str, str, str]
# Called with refresh=True after a 401, to re-read rotated credentials, within the deadline.
CredentialSource = Callable[[bool, Deadline], Credentials]


@dataclass(frozen=True)
class PostOutcome:
    # posted | duplicate | rate_limited | failed, or unknown: the request may have reached X
    # but its answer was lost or broken, so the tweet may exist; or, for a reply or quote,
    # THREAD_REFUSED or PARENT_GONE, with X's message as `reason`.
    result: str
    reason: str
    tweet_id: str | None = None  # the post's id on its network (a tweet id on X)
    attempts: int = 0
    ref: dict[str, str] | None = None  # what a later post needs to reply to it, beyond its id


class XClient:
    def __init__(self, credentials: CredentialSource, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._credentials = credentials
        self._sleep = sleep
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_credentials: Credentials | None = None

    def post(
        self, text: str, *, deadline: Deadline, reply_to: str | None = None, quote_of: str | None = None
    ) -> PostOutcome:
        """Create the tweet, as a reply to `reply_to` or a quote of `quote_of` if one is given;
        never raises for what X does.

        Every attempt, and the credentials' read, take their timeouts from `deadline`, and all
        of it ends within TOTAL_BUDGET_SECONDS.
        """
        import tweepy  # deferred: a dry run never posts

        deadline = deadline.within(TOTAL_BUDGET_SECONDS)
        reauthenticated = refresh = False
        attempt = 0
        while True:
            attempt += 1
            try:
                client = self._tweepy_client(refresh=refresh, deadline=deadline)
                refresh = False
                client.session.timeout_local.value = deadline.http_timeout(ATTEMPT_TIMEOUT_SECONDS)
                response = client.create_tweet(
                    text=text, in_reply_to_tweet_id=reply_to, quote_tweet_id=quote_of, user_auth=True
                )
                tweet_id = str(response.data["id"])
                return PostOutcome("posted", "tweet created", tweet_id, attempt)
            except tweepy.Unauthorized:
                if reauthenticated:
                    return self._failed(
                        "X rejected the credentials twice (401): regenerate the access token "
                        "and secret in the X developer portal and add them as new secret versions",
                        attempt,
                    )
                log.warning("X answered 401; re-reading the credentials from Secret Manager once")
                reauthenticated = refresh = True
                continue
            except SecretError as exc:
                return self._failed(str(exc), attempt - 1)
            except DeadlineExceededError as exc:
                return self._failed(f"X post stopped before attempt {attempt}: {exc}", attempt - 1)
            except tweepy.TooManyRequests as exc:
                return self._rate_limited(exc.response, attempt)
            except tweepy.TwitterServerError as exc:
                error: Exception = exc
            except requests.RequestException as exc:
                if not _never_sent(exc):
                    return self._unknown(exc, attempt)
                error = exc
            except (ValueError, KeyError, TypeError) as exc:  # a 2xx that is not a created tweet
                return self._unknown(exc, attempt)
            except tweepy.HTTPException as exc:
                if (reply_to or quote_of) and _thread_refused(exc):
                    gone = "deleted or not visible" in str(exc).lower()
                    return PostOutcome(PARENT_GONE if gone else THREAD_REFUSED, _message(exc), None, attempt)
                return self._refused(exc, attempt)
            # Only transient failures reach here.
            wait = retry_wait(attempt, deadline)
            if wait is None:
                return self._failed(
                    f"X unreachable or failing after {attempt} attempt(s): {type(error).__name__}; "
                    "if it persists, check X's status page (api.x.com)",
                    attempt,
                    detail=str(error),
                )
            log.warning(
                "X post failed, retrying",
                extra={"json_fields": {"attempt": attempt, "error": f"{type(error).__name__}: {error}"}},
            )
            self._sleep(wait)

    def _tweepy_client(self, *, refresh: bool, deadline: Deadline) -> Any:
        """One tweepy.Client per set of credentials; a refresh re-reads them first."""
        credentials = self._credentials(refresh, deadline)
        with self._lock:
            if self._client is None or credentials != self._client_credentials:
                self._client = _build_client(credentials)
                self._client_credentials = credentials
            return self._client

    def _refused(self, exc: Any, attempt: int) -> PostOutcome:
        """What a final 4xx from X means (401 and 429 are handled before this)."""
        status = exc.response.status_code
        if status == 402:
            return self._failed(
                "X answered 402 Payment Required: the app's API credits are used up; "
                "top them up in the X developer portal",
                attempt,
            )
        if status == 403 and "duplicate content" in str(exc).lower():
            return PostOutcome("duplicate", "X rejected the text as a duplicate", None, attempt)
        if status == 403:
            return self._failed(
                "X refused the post (403): check that the app's permission is 'Read and "
                "write', then regenerate the access token and secret and update the secrets",
                attempt,
                detail=str(exc),
            )
        return self._failed(f"X answered {status}", attempt, detail=str(exc))

    def _unknown(self, exc: Exception, attempts: int) -> PostOutcome:
        """The request went out and its answer was lost (a read timeout, a connection dropped
        mid-answer) or is no created tweet (201 {}, 201 with errors, an HTML page): the tweet
        may exist. Never retried here: a retry could post it twice."""
        reason = (
            f"X's answer was lost or broken ({type(exc).__name__}): the tweet may have been "
            "created. Retries send the same text, so X's duplicate check tells whether it was; "
            "check the account if it matters"
        )
        log.error(reason, extra={"json_fields": {"attempts": attempts, "detail": str(exc)[:500]}})
        return PostOutcome("unknown", reason, None, attempts)

    def _failed(self, reason: str, attempts: int, *, detail: str | None = None) -> PostOutcome:
        fields: dict[str, Any] = {"attempts": attempts}
        if detail:
            fields["detail"] = detail
        log.error(reason, extra={"json_fields": fields})
        return PostOutcome("failed", reason, None, attempts)

    def _rate_limited(self, response: Any, attempts: int) -> PostOutcome:
        headers = {h: response.headers[h] for h in RATE_LIMIT_HEADERS if h in response.headers}
        reset = _resumes_at(headers)
        reason = f"X rate limit reached (429); posting resumes after {reset or 'the reset time'}"
        log.warning(reason, extra={"json_fields": {"reset_at": reset, "headers": headers}})
        return PostOutcome("rate_limited", reason, None, attempts)


def retry_wait(attempt: int, deadline: Deadline) -> float | None:
    """How long to wait before retrying a transient failure after `attempt`, with jitter; None
    when no retry fits: MAX_ATTEMPTS are spent, or the deadline would pass. Every network's
    client retries so, within its share of the request's budget."""
    wait = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1] * random.uniform(1, 1.5)  # noqa: S311 - jitter
    if attempt >= MAX_ATTEMPTS or deadline.remaining() < wait + 0.5:
        return None
    return wait


def _never_sent(exc: requests.RequestException) -> bool:
    """Did the request fail before any of it could reach X (no connection, no TLS)? Only then
    is a blind retry safe."""
    if isinstance(
        exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError
    ):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None  # urllib3's MaxRetryError
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)  # refused, unresolved, timed out


def _thread_refused(exc: Any) -> bool:
    """A 403 to a reply or quote refuses its link to the thread, unless it is X's "duplicate
    content" (that text is on X already). X says, for one, 403 "You attempted to reply to a
    Tweet that is deleted or not visible to you.", and refuses replies under its 2026 policy."""
    return exc.response.status_code == 403 and "duplicate content" not in str(exc).lower()


def _message(exc: Any) -> str:
    """X's own words, for the operator: the API's messages, else tweepy's summary."""
    return ("; ".join(str(m) for m in exc.api_messages) or str(exc)).replace("\n", " ")[:500]


def _resumes_at(headers: dict[str, str]) -> str | None:
    """The latest reset among the exhausted limits: the 15-minute one and the two 24-hour ones."""
    resets = []
    for prefix in _LIMITS:
        if headers.get(f"{prefix}-remaining", "0") == "0" and headers.get(f"{prefix}-reset", "").isdigit():
            resets.append(int(headers[f"{prefix}-reset"]))
    return datetime.fromtimestamp(max(resets), UTC).isoformat() if resets else None


def _build_client(credentials: Credentials) -> Any:
    import tweepy

    consumer_key, consumer_secret, access_token, access_token_secret = credentials
    # No wait_on_rate_limit: it would sleep inside a request Statuspage abandons at 30 s.
    client = tweepy.Client(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
    )
    client.session = _TimeoutSession()
    return client


class _TimeoutSession(requests.Session):
    """tweepy sets no timeout; this applies the current attempt's (connect, read), per thread."""

    def __init__(self) -> None:
        super().__init__()
        self.timeout_local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("timeout", getattr(self.timeout_local, "value", ATTEMPT_TIMEOUT_SECONDS))
        return super().request(method, url, *args, **kwargs)

"""Bluesky: posts of at most 300 graphemes and 3,000 bytes, with a clickable link facet and a
link card, threaded by reply (root and parent strong refs), through the atproto SDK.

The SDK is imported only when Bluesky is enabled (its import costs about half a second). One
session per instance: logging in is rate limited (about 30 per 5 minutes), so the session is
kept, the SDK refreshes it before it expires, and an expired one is refreshed once.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
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

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
DEFAULT_SERVICE = "https://bsky.social"

# The app password, re-read when refresh is True (after a refused login: it may be rotated).
PasswordSource = Callable[[bool, Deadline], str]


def fits_bytes(text: str) -> bool:
    return len(text.encode("utf-8")) <= MAX_BYTES


class BlueskyDestination:
    name = "bluesky"

    def __init__(
        self,
        handle: str,
        password: PasswordSource,
        *,
        service: str = DEFAULT_SERVICE,
        rules: ThreadRules | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._handle = handle
        self._password = password
        self._service = service
        self.rules = rules or ThreadRules()
        self._sleep = sleep
        self._lock = threading.Lock()  # one post at a time: the session is shared
        self._client: Any = None
        self._did: str | None = None

    def compose(
        self, incident: Incident, update: IncidentUpdate, template: str | None, *, linked: bool
    ) -> Fitted:
        return fit_post(
            **fields_of(incident, update, link=linked),
            template=template,
            measure=graphemes,
            limit=MAX_GRAPHEMES,
            also=fits_bytes,
        )

    def measure(self, text: str) -> int:
        return graphemes(text)

    def post(
        self, text: str, *, how: str, parent: Record | None, deadline: Deadline, context: Context
    ) -> PostOutcome:
        from atproto_client import exceptions

        deadline = deadline.within(TOTAL_BUDGET_SECONDS)
        refreshed = relogged = False
        attempt = 0
        with self._lock:
            while True:
                attempt += 1
                try:
                    client = self._session(deadline, refresh=relogged)
                    client.request.timeout_local.value = _timeout(deadline)
                    created = client.send_post(
                        text,
                        profile_identify=self._did,
                        reply_to=_reply(parent) if how != "standalone" and parent is not None else None,
                        facets=_facets(text, context.link),
                        embed=_card(context),
                    )
                    return PostOutcome(
                        "posted",
                        "post created",
                        created.uri,
                        attempt,
                        _ref(created.uri, created.cid, parent, how),
                    )
                except (SecretError, DeadlineExceededError) as exc:
                    return self._failed(f"Bluesky post stopped before attempt {attempt}: {exc}", attempt - 1)
                except _LoginRefusedError as exc:
                    return self._failed(str(exc), attempt)
                except exceptions.RateLimitExceededError as exc:
                    return self._rate_limited(exc, attempt)
                except (exceptions.UnauthorizedError, exceptions.BadRequestError) as exc:
                    if not refreshed and _expired(exc):
                        refreshed = True
                        self._refresh(deadline)
                        continue
                    if isinstance(exc, exceptions.BadRequestError):
                        return self._failed(f"Bluesky rejected the post (400): {_message(exc)}", attempt)
                    if not relogged:  # the session was revoked: log in once more
                        relogged = True
                        self._client = None
                        continue
                    return self._failed(
                        f"Bluesky refused the post ({_message(exc)}): check that {self._handle} may post "
                        "and that its app password is current",
                        attempt,
                    )
                except exceptions.InvokeTimeoutError as exc:
                    reason = (
                        f"Bluesky's answer was lost ({type(exc).__name__}): the post may have been created; "
                        "check the account if it matters"
                    )
                    log.error(reason)
                    return PostOutcome("unknown", reason, None, attempt)
                except (exceptions.NetworkError, exceptions.RequestException) as exc:
                    error: Exception = exc
                wait = retry_wait(attempt, deadline)
                if wait is None:
                    return self._failed(
                        f"Bluesky unreachable or failing after {attempt} attempt(s): {type(error).__name__}; "
                        "if it persists, check status.bsky.app",
                        attempt,
                    )
                log.warning(
                    "Bluesky post failed, retrying",
                    extra={"json_fields": {"attempt": attempt, "error": type(error).__name__}},
                )
                self._sleep(wait)

    def _session(self, deadline: Deadline, *, refresh: bool) -> Any:
        """The instance's logged-in client; logs in on first use, or again when the session was
        revoked (re-reading the app password: it may have been rotated)."""
        if self._client is not None:
            return self._client
        from atproto_client import Client, exceptions

        client = Client(base_url=self._service, request=_TimeoutRequest())
        client.on_session_change(self._on_session)
        client.request.timeout_local.value = _timeout(deadline)
        password = self._password(refresh, deadline)
        try:
            client.login(self._handle, password, fetch_bsky_profile=False)
        except exceptions.UnauthorizedError as exc:
            raise _LoginRefusedError(
                f"Bluesky refused the login of {self._handle} ({_message(exc)}): check BLUESKY_HANDLE "
                "and the app password secret; create a new app password if it was revoked"
            ) from None
        self._client = client
        return client

    def _on_session(self, event: Any, session: Any) -> None:
        self._did = session.did

    def _refresh(self, deadline: Deadline) -> None:
        """An expired access token: refresh the session once (the SDK also does so ahead of expiry)."""
        try:
            self._client.request.timeout_local.value = _timeout(deadline)
            self._client._refresh_and_set_session()
        except Exception:
            self._client = None  # the next attempt logs in again

    def _failed(self, reason: str, attempts: int) -> PostOutcome:
        log.error(reason, extra={"json_fields": {"destination": "bluesky", "attempts": attempts}})
        return PostOutcome("failed", reason, None, attempts)

    def _rate_limited(self, exc: Any, attempts: int) -> PostOutcome:
        headers = dict(getattr(exc.response, "headers", None) or {})
        reset = headers.get("ratelimit-reset") or headers.get("RateLimit-Reset")
        when = datetime.fromtimestamp(int(reset), UTC).isoformat() if str(reset or "").isdigit() else None
        reason = f"Bluesky rate limit reached (429); posting resumes after {when or 'the reset time'}"
        limits = {k: v for k, v in headers.items() if k.lower().startswith("ratelimit-")}
        log.warning(reason, extra={"json_fields": {"destination": "bluesky", "headers": limits}})
        return PostOutcome("rate_limited", reason, None, attempts)


class _LoginRefusedError(Exception):
    pass


def _timeout(deadline: Deadline) -> tuple[float, float, float, float]:
    """httpx's (connect, read, write, pool) for this attempt."""
    connect, read = deadline.http_timeout(ATTEMPT_TIMEOUT_SECONDS)
    return connect, read, read, connect


@functools.cache
def _request_class() -> type:
    from atproto_client.request import Request

    class TimeoutRequest(Request):
        """The SDK's transport with the current attempt's timeout, per thread."""

        def __init__(self) -> None:
            super().__init__()
            self.timeout_local = threading.local()

        def _send_request(self, method: str, url: str, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", getattr(self.timeout_local, "value", ATTEMPT_TIMEOUT_SECONDS))
            return super()._send_request(method, url, **kwargs)

    return TimeoutRequest


def _TimeoutRequest() -> Any:  # noqa: N802 - a deferred class, so that atproto loads only when used
    return _request_class()()


def _expired(exc: Any) -> bool:
    """The access token expired (the PDS says so with a 400 or a 401, `ExpiredToken`)."""
    content = getattr(getattr(exc, "response", None), "content", None)
    return getattr(content, "error", None) == "ExpiredToken" or "expired" in _message(exc).lower()


def _message(exc: Any) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    for key in ("message", "error"):
        value = getattr(content, key, None)
        if value:
            return str(value)[:300]
    return type(exc).__name__


def _reply(parent: Record) -> Any:
    """Reply to `parent` in its thread: the root is the parent's root, or the parent itself."""
    from atproto_client import models

    ref = parent.ref or {}
    uri, cid = ref.get("uri") or parent.tweet_id, ref.get("cid")
    parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
    root = models.ComAtprotoRepoStrongRef.Main(uri=ref.get("root_uri") or uri, cid=ref.get("root_cid") or cid)
    return models.AppBskyFeedPost.ReplyRef(parent=parent_ref, root=root)


def _ref(uri: str, cid: str, parent: Record | None, how: str) -> dict[str, str]:
    """What a reply to this post needs: its strong ref, and its thread's root."""
    up = parent.ref if parent is not None and how != "standalone" and parent.ref else None
    if up is None:  # it starts a thread
        return {"uri": uri, "cid": cid, "root_uri": uri, "root_cid": cid}
    return {
        "uri": uri,
        "cid": cid,
        "root_uri": up.get("root_uri", up["uri"]),
        "root_cid": up.get("root_cid", up["cid"]),
    }


def _facets(text: str, link: str | None) -> list[Any] | None:
    """A link facet over the link's UTF-8 bytes, so that it is clickable."""
    if not link or link not in text:
        return None
    from atproto_client import models

    start = len(text[: text.rindex(link)].encode("utf-8"))
    end = start + len(link.encode("utf-8"))
    return [
        models.AppBskyRichtextFacet.Main(
            features=[models.AppBskyRichtextFacet.Link(uri=link)],
            index=models.AppBskyRichtextFacet.ByteSlice(byte_start=start, byte_end=end),
        )
    ]


def _card(context: Context) -> Any:
    """A link card from what the relay knows; the page is never fetched."""
    if not context.link:
        return None
    from atproto_client import models

    return models.AppBskyEmbedExternal.Main(
        external=models.AppBskyEmbedExternal.External(
            uri=context.link, title=context.title or context.link, description=context.description
        )
    )

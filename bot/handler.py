"""The HTTP shell: source check, token check, then always a 200 with a JSON result."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.allowlist import Allowlist
from bot.config import Config
from bot.deadline import Deadline
from bot.decide import MAX_BODY_BYTES, Ignore, decide
from bot.fanout import Fanout
from bot.ipranges import client_ip
from bot.logs import trace_context
from bot.relay import SEVERITY
from bot.secret_store import SecretError, SecretStore

log = logging.getLogger(__name__)

Answer = tuple[Any, int] | tuple[Any, int, dict[str, str]]
# A wrong token re-reads the secret (it may have been rotated), at most this often.
TOKEN_REREAD_SECONDS = 60.0
# Statuspage gives up at 30 s: every request, catch-up included, is answered within this.
REQUEST_BUDGET_SECONDS = 20.0
# The summary line's fields that the answer repeats.
ANSWERED = (
    "tweet_id",
    "thread",
    "cost_usd",
    "text",
    "incident_id",
    "update_id",
    "caught_up",
    "superseded",
    "destinations",
)


class Handler:
    """Handles one Statuspage webhook request; its collaborators are passed in."""

    def __init__(
        self,
        config: Config,
        allowlist: Allowlist,
        secrets: SecretStore,
        relay: Fanout,
        clock: Callable[[], float] = time.monotonic,
        *,
        heartbeat: Callable[[str, float, Deadline], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._allowlist = allowlist
        self._secrets = secrets
        self._relay = relay
        self._clock = clock
        self._heartbeat = heartbeat  # (update id, now, deadline): a genuine delivery came
        self._wall = wall_clock
        self._token_reread_at = float("-inf")
        # Read on an instance's first request, side by side with the IP ranges fetch: the
        # secrets, and whether X refuses thread links (the ledger).
        prefetch: list[str] = [config.webhook_token_secret] if config.webhook_token_secret else []
        if not config.dry_run:
            prefetch += [name for names in config.secret_names.values() for name in names]
        self._warmers: list[Callable[[Deadline], None]] = []
        if prefetch:
            self._warmers.append(lambda deadline: secrets.warm(prefetch, deadline))
        if not config.dry_run:
            self._warmers.append(relay.warm)
        self._warmed = False

    def __call__(self, request: Any) -> Answer:
        with trace_context(request.headers.get("X-Cloud-Trace-Context"), self._config.project):
            try:
                return self._handle(request)
            except Exception:
                # Nothing reaches the framework: a 500 would count towards quarantine.
                log.exception(
                    "Unexpected error; answered 'failed'. This is a bug: report it with this traceback."
                )
                return json_answer({"result": "failed", "reason": "internal error, see the function's logs"})

    def _handle(self, request: Any) -> Answer:
        deadline = Deadline.after(REQUEST_BUDGET_SECONDS, self._clock)
        if request.method != "POST":
            log.info(f"Method Not Allowed (405): {request.method}; Statuspage POSTs")
            return "Method Not Allowed\n", 405, {"Allow": "POST"}
        ip = client_ip(
            request.headers.get("X-Forwarded-For"), request.remote_addr, self._config.trusted_proxy_hops
        )
        if ip is None:
            log.warning(
                "Rejected (403): no valid source address in X-Forwarded-For. If every request "
                "is rejected so, check TRUSTED_PROXY_HOPS.",
                extra={
                    "json_fields": {
                        "rejected": True,
                        "x_forwarded_for": request.headers.get("X-Forwarded-For"),
                    }
                },
            )
            return "Forbidden\n", 403
        fields: dict[str, Any] = {"source_ip": str(ip)}
        if not self._allowed(ip, deadline):
            log.warning(
                "Rejected (403): source is not an Atlassian Statuspage address",
                extra={"json_fields": {"rejected": True, **fields}},
            )
            return "Forbidden\n", 403
        if self._config.webhook_token_secret:
            try:
                token_ok = self._token_matches(request.args.get("token", ""), deadline)
            except SecretError as exc:
                return self._answer("failed", str(exc), fields)
            if not token_ok:
                log.warning(
                    "Rejected (403): missing or wrong ?token= in the webhook URL. If this is "
                    "Statuspage, update its webhook URL to the one Terraform outputs.",
                    extra={"json_fields": {"rejected": True, **fields}},
                )
                return "Forbidden\n", 403
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return self._answer("ignored", "body is over 1 MiB", fields)
        decision = decide(request.stream.read(MAX_BODY_BYTES + 1), self._config)
        if isinstance(decision, Ignore):
            return self._answer("ignored", decision.reason, fields)
        fields |= {
            "kind": decision.kind,
            "incident_id": decision.incident_id,
            "update_id": decision.update_id,
            "text": decision.text,
            "weighted_length": decision.weighted_length,
        }
        if self._config.dry_run:
            if self._config.destinations != ("x",):  # each network's text, by its own length rule
                fields["destinations"] = self._relay.preview(decision)
            return self._answer("dry_run", "DRY_RUN is on; nothing was posted", fields)
        with ThreadPoolExecutor(max_workers=1) as pool:
            if self._heartbeat is not None:  # side by side: the post does not wait for it
                pool.submit(self._heartbeat, decision.update_id, self._wall(), deadline)
            delivery = self._relay.deliver(decision, deadline)
        fields["attempts"] = delivery.attempts
        if delivery.text is not None:  # X was called: what it was sent, how, and its price
            fields |= {
                "text": delivery.text,
                "weighted_length": delivery.weighted_length,
                "thread": delivery.thread,
                "cost_usd": delivery.cost_usd,
            }
        for key in ("tweet_id", "parent"):
            if getattr(delivery, key):
                fields[key] = getattr(delivery, key)
        if delivery.caught_up:
            fields["caught_up"] = delivery.caught_up
        if delivery.superseded:
            fields["superseded"] = delivery.superseded
        if delivery.destinations:
            fields["destinations"] = delivery.destinations
        return self._answer(delivery.result, delivery.reason, fields)

    def _allowed(self, ip: Any, deadline: Deadline) -> bool:
        """The source check. On an instance's first request the warmers run meanwhile: all
        are network round trips, and side by side they cost one."""
        if self._warmed or not self._warmers:
            return self._allowlist.allows(ip, deadline)
        self._warmed = True  # two first requests at once both warm: each warmer reads once
        with ThreadPoolExecutor(max_workers=len(self._warmers)) as pool:
            for warm in self._warmers:
                pool.submit(warm, deadline)
            return self._allowlist.allows(ip, deadline)

    def _token_matches(self, token: str, deadline: Deadline) -> bool:
        """Constant-time compare; on a mismatch, re-read a possibly rotated secret, rate-limited."""
        name = self._config.webhook_token_secret
        (expected,) = self._secrets.get([name], deadline=deadline)
        if hmac.compare_digest(token.encode(), expected.encode()):
            return True
        now = self._clock()
        if now - self._token_reread_at < TOKEN_REREAD_SECONDS:
            return False
        self._token_reread_at = now
        (expected,) = self._secrets.get([name], refresh=True, deadline=deadline)
        return hmac.compare_digest(token.encode(), expected.encode())

    def _answer(self, result: str, reason: str, fields: dict[str, Any]) -> Answer:
        """Log the request's one summary line and answer 200 with the same facts."""
        log.log(
            SEVERITY.get(result, logging.INFO),
            f"{result}: {reason}",
            extra={"json_fields": {"result": result, "reason": reason, **fields}},
        )
        body: dict[str, Any] = {"result": result, "reason": reason}
        for key in ANSWERED:
            if key in fields:
                body[key] = fields[key]
        return json_answer(body)


def json_answer(body: Any) -> Answer:
    """A 200 with `body` as UTF-8 JSON: Japanese text reads as itself, not as \\u escapes."""
    return json.dumps(body, ensure_ascii=False), 200, {"Content-Type": "application/json; charset=utf-8"}

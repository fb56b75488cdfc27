"""The HTTP shell: source check, token check, then always a 200 with a JSON result."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from bot.allowlist import Allowlist
from bot.config import Config
from bot.decide import MAX_BODY_BYTES, Ignore, decide
from bot.ipranges import client_ip
from bot.logs import trace_context
from bot.secret_store import SecretError, SecretStore
from bot.x_client import PostOutcome, XClient

log = logging.getLogger(__name__)

Answer = tuple[Any, int] | tuple[Any, int, dict[str, str]]
_SEVERITY = {"failed": logging.ERROR, "rate_limited": logging.WARNING}


class Handler:
    """Handles one Statuspage webhook request; its collaborators are passed in."""

    def __init__(self, config: Config, allowlist: Allowlist, secrets: SecretStore, x: XClient) -> None:
        self._config = config
        self._allowlist = allowlist
        self._secrets = secrets
        self._x = x

    def __call__(self, request: Any) -> Answer:
        with trace_context(request.headers.get("X-Cloud-Trace-Context"), self._config.project):
            try:
                return self._handle(request)
            except Exception:
                # Nothing reaches the framework: a 500 would count towards quarantine.
                log.exception(
                    "Unexpected error; answered 'failed'. This is a bug: report it with this traceback."
                )
                return {"result": "failed", "reason": "internal error, see the function's logs"}, 200

    def _handle(self, request: Any) -> Answer:
        if request.method != "POST":
            return "Method Not Allowed\n", 405, {"Allow": "POST"}
        ip = client_ip(
            request.headers.get("X-Forwarded-For"), request.remote_addr, self._config.trusted_proxy_hops
        )
        if ip is None:
            log.warning(
                "Rejected (403): no valid source address in X-Forwarded-For. If every request "
                "is rejected so, check TRUSTED_PROXY_HOPS.",
                extra={"json_fields": {"x_forwarded_for": request.headers.get("X-Forwarded-For")}},
            )
            return "Forbidden\n", 403
        fields: dict[str, Any] = {"source_ip": str(ip)}
        if not self._allowlist.allows(ip):
            log.warning(
                "Rejected (403): source is not an Atlassian Statuspage address",
                extra={"json_fields": fields},
            )
            return "Forbidden\n", 403
        if self._config.webhook_token_secret:
            try:
                (expected,) = self._secrets.get([self._config.webhook_token_secret])
            except SecretError as exc:
                return self._answer("failed", str(exc), fields)
            token = request.args.get("token", "")
            if not hmac.compare_digest(token.encode(), expected.encode()):
                log.warning(
                    "Rejected (403): missing or wrong ?token= in the webhook URL. If this is "
                    "Statuspage, update its webhook URL to the one Terraform outputs.",
                    extra={"json_fields": fields},
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
            return self._answer("dry_run", "DRY_RUN is on; nothing was posted", fields)
        outcome: PostOutcome = self._x.post(decision.text)
        if outcome.tweet_id:
            fields["tweet_id"] = outcome.tweet_id
        fields["attempts"] = outcome.attempts
        return self._answer(outcome.result, outcome.reason, fields)

    def _answer(self, result: str, reason: str, fields: dict[str, Any]) -> Answer:
        """Log the request's one summary line and answer 200 with the same facts."""
        log.log(
            _SEVERITY.get(result, logging.INFO),
            f"{result}: {reason}",
            extra={"json_fields": {"result": result, "reason": reason, **fields}},
        )
        body: dict[str, Any] = {"result": result, "reason": reason}
        for key in ("tweet_id", "text", "incident_id", "update_id"):
            if key in fields:
                body[key] = fields[key]
        return body, 200

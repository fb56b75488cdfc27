"""Wire the handler from the environment: configuration once, collaborators passed in."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot import connect, heartbeat, logs
from bot.allowlist import Allowlist, Fetch, http_fetch
from bot.config import Config, ConfigError
from bot.handler import Handler
from bot.ledger import MemoryStore, Store
from bot.relay import Relay
from bot.secret_store import SecretStore
from bot.sweep import Sweep
from bot.thread import ThreadRules
from bot.thread_refusal import RefusalMemory
from bot.tweet import TemplateError, check_template
from bot.x_client import XClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class App:
    """The two entry points, sharing one configuration, ledger, relay and X client."""

    config: Config
    webhook: Handler
    sweep: Sweep


def build_handler(
    env: Mapping[str, str],
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> Handler:
    """The webhook's handler alone (see build_app)."""
    return build_app(env, clock, wall_clock).webhook


def build_app(
    env: Mapping[str, str],
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    fetch: Fetch = http_fetch,
) -> App:
    """Raise ConfigError, with what to fix, rather than start misconfigured.

    `clock` times each request's deadline, `wall_clock` the ledger's retry windows and X's
    refusals, `fetch` reads the sweep's source (tests pass fake ones).
    """
    logs.configure(env.get("LOG_FORMAT"))
    connect.install()  # a connect timeout bounds all of a host's addresses together
    config = Config.from_env(env)
    check_config_template(config)
    if config.sentry_dsn:
        _init_sentry(config.sentry_dsn)
    secrets = SecretStore(project=config.project)
    allowlist = Allowlist(
        url=config.ip_ranges_url,
        ttl_seconds=config.ip_ranges_ttl_seconds,
        snapshot=config.ip_ranges_snapshot,
        extra_cidrs=config.extra_allowed_cidrs,
    )
    x = XClient(
        lambda refresh, deadline: tuple(
            secrets.get(config.credential_names, refresh=refresh, deadline=deadline)
        )
    )
    store = _store(config)
    rules = ThreadRules.of(config)
    refusals = RefusalMemory(
        store, mode=rules.mode, retry_seconds=config.thread_retry_hours * 3600.0, wall_clock=wall_clock
    )
    relay = Relay(
        store, x, rules=rules, refusals=refusals, template=config.tweet_template, wall_clock=wall_clock
    )
    log.info(
        "incident-twitter-bot started",
        extra={
            "json_fields": {
                "page_id": config.page_id,
                "dry_run": config.dry_run,
                "trusted_proxy_hops": config.trusted_proxy_hops,
                "webhook_token": bool(config.webhook_token_secret),
                "post_component_updates": config.post_component_updates,
                "ledger": f"gs://{config.state_bucket}" if config.state_bucket else "memory",
                "thread_mode": config.thread_mode,
                "link_in": config.link_in,
            }
        },
    )
    beat = functools.partial(heartbeat.beat, store)
    return App(
        config,
        Handler(
            config,
            allowlist,
            secrets,
            relay,
            clock,
            heartbeat=None if config.dry_run else beat,
            wall_clock=wall_clock,
        ),
        Sweep(config, store, relay, fetch=fetch, clock=clock, wall_clock=wall_clock),
    )


def check_config_template(config: Config) -> None:
    """Raise ConfigError if TWEET_TEMPLATE can never give a valid tweet (start-up and preview)."""
    try:
        check_template(config.tweet_template, without_link=config.link_in == "first")
    except TemplateError as exc:
        without = " for a follow-up without the link (LINK_IN=first)" if config.link_in == "first" else ""
        raise ConfigError(f"TWEET_TEMPLATE leaves no room for a valid tweet{without}: {exc}") from None


def start(env: Mapping[str, str]) -> App:
    """build_app for main.py: a configuration error is one ERROR line naming the variable, and
    the process exits 1, rather than a traceback (Cloud Run then reports a failed start)."""
    try:
        return build_app(env)
    except ConfigError as exc:
        log.error(
            f"Configuration error; the function does not start: {exc}",
            extra={"json_fields": {"startup": "failed"}},
        )
        raise SystemExit(1) from None


def _store(config: Config) -> Store:
    if not config.state_bucket:
        return MemoryStore()
    from bot.gcs_ledger import GcsStore

    return GcsStore(config.state_bucket, project=config.project)


def _init_sentry(dsn: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.gcp import GcpIntegration

    # Only the integrations named here and the defaults (logging among them, which turns
    # ERROR log lines into events): no auto-enabled web integration that would send the
    # request URL, and with it the ?token=. No frame locals either: they hold secret values.
    sentry_sdk.init(
        dsn=dsn,
        integrations=[GcpIntegration()],
        auto_enabling_integrations=False,
        include_local_variables=False,
    )

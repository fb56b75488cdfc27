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
from bot.deadline import Deadline
from bot.destinations import Destination
from bot.destinations.x import XDestination
from bot.fanout import Fanout
from bot.handler import Handler
from bot.ledger import MemoryStore, ScopedStore, Store
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
    store = _store(config)
    relays, stores = {}, {}
    for name, destination in destinations(config, secrets).items():
        stores[name] = store if name == "x" else ScopedStore(store, name)  # X's records stay put
        refusals = RefusalMemory(
            stores[name],
            mode=destination.rules.mode,
            retry_seconds=config.thread_retry_hours * 3600.0,
            wall_clock=wall_clock,
        )
        relays[name] = Relay(
            stores[name],
            destination,
            refusals=refusals,
            template=config.tweet_template,
            wall_clock=wall_clock,
        )
    relay = Fanout(relays, stores)
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
                "destinations": list(config.destinations),
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


def destinations(config: Config, secrets: SecretStore) -> dict[str, Destination]:
    """The enabled networks, each with its credentials' reader. X threads and links as
    THREAD_MODE and LINK_IN say; the others reply (unless THREAD_MODE=off) and always link."""
    others = ThreadRules("off" if config.thread_mode == "off" else "reply", "every", 0.0, 0.0)
    names = config.secret_names

    def one(name: str) -> Callable[[bool, Deadline], str]:
        return lambda refresh, deadline: secrets.get(names[name], refresh=refresh, deadline=deadline)[0]

    def x_credentials(refresh: bool, deadline: Deadline) -> tuple[str, str, str, str]:
        consumer_key, consumer_secret, token, token_secret = secrets.get(
            names["x"], refresh=refresh, deadline=deadline
        )
        return consumer_key, consumer_secret, token, token_secret

    built: dict[str, Destination] = {}
    for name in config.destinations:
        if name == "x":
            built[name] = XDestination(XClient(x_credentials), ThreadRules.of(config))
        elif name == "bluesky":
            from bot.destinations.bluesky import BlueskyDestination

            built[name] = BlueskyDestination(
                config.bluesky_handle or "", one(name), service=config.bluesky_service, rules=others
            )
        else:
            from bot.destinations.mastodon import MastodonDestination

            built[name] = MastodonDestination(
                config.mastodon_base_url or "", one(name), visibility=config.mastodon_visibility, rules=others
            )
    return built


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

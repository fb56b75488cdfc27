"""All settings, read once from the environment into one typed, immutable object."""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_IP_RANGES_URL = "https://ip-ranges.atlassian.com/"
DEFAULT_SECRET_PREFIX = "getsentryhelp_twitter_"  # noqa: S105 - a name, not a value
# Deployed beside the code; written by `make snapshot` (`python -m bot snapshot`).
DEFAULT_SNAPSHOT_PATH = Path(__file__).with_name("ip_ranges_snapshot.json")
TEMPLATE_FIELDS = frozenset({"status", "name", "body", "url"})
THREAD_MODES = ("reply", "quote", "off")
DESTINATIONS = ("x", "bluesky", "mastodon")
MASTODON_VISIBILITIES = ("public", "unlisted", "private", "direct")
LINK_IN = ("every", "first")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting is missing or malformed; the function must not start."""


@dataclass(frozen=True)
class Config:
    page_id: str
    page_url: str | None = None
    post_component_updates: bool = False
    dry_run: bool = False
    trusted_proxy_hops: int = 1
    ip_ranges_url: str = DEFAULT_IP_RANGES_URL
    ip_ranges_ttl_seconds: int = 3600
    ip_ranges_snapshot: Path = DEFAULT_SNAPSHOT_PATH
    extra_allowed_cidrs: tuple[str, ...] = ()
    webhook_token_secret: str | None = None
    secret_prefix: str = DEFAULT_SECRET_PREFIX
    project: str | None = None
    tweet_template: str | None = None
    sentry_dsn: str | None = None
    state_bucket: str | None = None
    thread_mode: str = "reply"  # reply | quote | off
    link_in: str = "every"  # every | first
    thread_retry_hours: int = 24
    x_post_price_usd: float = 0.015
    x_link_post_price_usd: float = 0.20
    sweep_grace_seconds: int = 120
    sweep_max_posts: int = 10
    sweep_since: float | None = None  # epoch seconds; overrides the sweep's watermark
    destinations: tuple[str, ...] = ("x",)
    bluesky_handle: str | None = None
    bluesky_service: str = "https://bsky.social"
    mastodon_base_url: str | None = None
    mastodon_visibility: str = "public"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build the config, or raise ConfigError naming the variable to fix."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        page_id = get("STATUSPAGE_PAGE_ID")
        if not page_id:
            raise ConfigError(
                "STATUSPAGE_PAGE_ID is not set: set it to your Statuspage page id "
                "(manage.statuspage.io/pages/<PAGE_ID>/...); the function will not "
                "start without it, because it could not tell our page's webhooks from others'."
            )
        config = cls(
            page_id=page_id,
            page_url=get("STATUSPAGE_URL"),
            post_component_updates=_bool(env, "POST_COMPONENT_UPDATES", False),
            dry_run=_bool(env, "DRY_RUN", False),
            trusted_proxy_hops=_int(env, "TRUSTED_PROXY_HOPS", 1, minimum=1),
            ip_ranges_url=get("ATLASSIAN_IP_RANGES_URL") or DEFAULT_IP_RANGES_URL,
            ip_ranges_ttl_seconds=_int(env, "IP_RANGES_TTL_SECONDS", 3600, minimum=1),
            ip_ranges_snapshot=Path(get("IP_RANGES_SNAPSHOT") or DEFAULT_SNAPSHOT_PATH),
            extra_allowed_cidrs=_cidrs(env.get("EXTRA_ALLOWED_CIDRS", "")),
            webhook_token_secret=get("WEBHOOK_TOKEN_SECRET"),
            secret_prefix=env.get("SECRET_PREFIX", DEFAULT_SECRET_PREFIX).strip(),
            project=get("GOOGLE_CLOUD_PROJECT"),
            tweet_template=get("TWEET_TEMPLATE"),
            sentry_dsn=get("SENTRY_DSN"),
            state_bucket=get("STATE_BUCKET"),
            thread_mode=_thread_mode(env),
            link_in=_choice(env, "LINK_IN", LINK_IN),
            thread_retry_hours=_int(env, "THREAD_RETRY_HOURS", 24, minimum=1),
            x_post_price_usd=_price(env, "X_POST_PRICE_USD", 0.015),
            x_link_post_price_usd=_price(env, "X_LINK_POST_PRICE_USD", 0.20),
            sweep_grace_seconds=_int(env, "SWEEP_GRACE_SECONDS", 120, minimum=0),
            sweep_max_posts=_int(env, "SWEEP_MAX_POSTS", 10, minimum=1),
            sweep_since=_time(env, "SWEEP_SINCE"),
            destinations=_destinations(env),
            bluesky_handle=get("BLUESKY_HANDLE"),
            bluesky_service=get("BLUESKY_SERVICE") or "https://bsky.social",
            mastodon_base_url=get("MASTODON_BASE_URL"),
            mastodon_visibility=_choice(env, "MASTODON_VISIBILITY", MASTODON_VISIBILITIES),
        )
        config._check()
        return config

    def _check(self) -> None:
        if "bluesky" in self.destinations and not self.bluesky_handle:
            raise ConfigError(
                "DESTINATIONS includes bluesky, but BLUESKY_HANDLE is not set: set it to the posting "
                "account's handle, and the app password as the secret "
                f"{self.secret_prefix}bluesky_app_password."
            )
        if "bluesky" in self.destinations and not _is_http_url(self.bluesky_service):
            raise ConfigError(
                "BLUESKY_SERVICE must be the account's PDS as an http(s) URL (https://bsky.social)."
            )
        if "mastodon" in self.destinations and not (
            self.mastodon_base_url and _is_http_url(self.mastodon_base_url)
        ):
            raise ConfigError(
                "DESTINATIONS includes mastodon, but MASTODON_BASE_URL is not an http(s) URL: set it to the "
                "instance (https://mastodon.social), and the access token as the secret "
                f"{self.secret_prefix}mastodon_access_token."
            )
        if not _is_http_url(self.ip_ranges_url):
            raise ConfigError("ATLASSIAN_IP_RANGES_URL must be an http(s) URL.")
        if self.page_url and not _is_http_url(self.page_url):
            raise ConfigError("STATUSPAGE_URL must be the public status page's http(s) URL.")
        if self.post_component_updates and not (self.page_url and _is_http_url(self.page_url)):
            raise ConfigError(
                "POST_COMPONENT_UPDATES=true needs STATUSPAGE_URL, the public status "
                "page's http(s) URL, for the link in component tweets."
            )
        if self.tweet_template is not None:
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(self.tweet_template) if f}
            except ValueError as exc:
                raise ConfigError(f"TWEET_TEMPLATE is not a valid format string: {exc}") from None
            unknown = names - TEMPLATE_FIELDS
            if unknown:
                raise ConfigError(
                    f"TWEET_TEMPLATE uses unknown field(s) {sorted(unknown)}; "
                    f"allowed: {sorted(TEMPLATE_FIELDS)}."
                )
            if "url" not in names:
                raise ConfigError("TWEET_TEMPLATE must contain {url}, the link to the incident.")

    @property
    def secret_names(self) -> dict[str, tuple[str, ...]]:
        """The Secret Manager secret ids each enabled destination reads."""
        p = self.secret_prefix
        every = {
            "x": self.credential_names,
            "bluesky": (f"{p}bluesky_app_password",),
            "mastodon": (f"{p}mastodon_access_token",),
        }
        return {name: every[name] for name in self.destinations}

    @property
    def credential_names(self) -> tuple[str, str, str, str]:
        """The four Secret Manager secret ids that hold the X app's OAuth 1.0a credentials."""
        p = self.secret_prefix
        return (
            f"{p}consumer_key",
            f"{p}consumer_secret",
            f"{p}access_token",
            f"{p}access_token_secret",
        )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false.")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, the first being the default."""
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise ConfigError(f"{name}={env[name]!r} is not one of: {', '.join(choices)}.")
    return value


def _destinations(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("DESTINATIONS", "").strip().lower()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip())) or ("x",)
    unknown = [n for n in names if n not in DESTINATIONS]
    if unknown:
        raise ConfigError(f"DESTINATIONS: unknown {unknown}; choose from {', '.join(DESTINATIONS)}.")
    return names


def _thread_mode(env: Mapping[str, str]) -> str:
    """THREAD_MODE, with the older THREAD_UPDATES=false read as `off`; the two may not disagree."""
    mode = _choice(env, "THREAD_MODE", THREAD_MODES)
    if env.get("THREAD_UPDATES", "").strip() == "":
        return mode
    threads = _bool(env, "THREAD_UPDATES", True)
    if not env.get("THREAD_MODE", "").strip():
        return mode if threads else "off"
    if threads != (mode != "off"):
        raise ConfigError(
            f"THREAD_UPDATES={env['THREAD_UPDATES']!r} contradicts THREAD_MODE={mode!r}: "
            "remove THREAD_UPDATES (THREAD_MODE replaces it; THREAD_MODE=off is THREAD_UPDATES=false)."
        )
    return mode


def _time(env: Mapping[str, str], name: str) -> float | None:
    """An ISO-8601 time with its offset, as epoch seconds."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an ISO-8601 time, e.g. 2026-11-01T00:00:00Z.") from None
    if parsed.tzinfo is None:
        raise ConfigError(f"{name}={raw!r} has no offset: add Z (UTC) or +hh:mm.")
    return parsed.timestamp()


def _price(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number (US dollars per post).") from None
    if not 0 <= value < 100:  # also refuses nan and inf
        raise ConfigError(f"{name} must be a price in US dollars from 0 to 100, got {raw}.")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _cidrs(raw: str) -> tuple[str, ...]:
    cidrs = tuple(part.strip() for part in raw.split(",") if part.strip())
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"EXTRA_ALLOWED_CIDRS: {cidr!r} is not a CIDR range.") from None
    return cidrs


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)

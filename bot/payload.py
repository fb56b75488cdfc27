"""Parse and validate a Statuspage webhook payload into typed values.

Pure: no I/O. Anything malformed raises `Ignored` naming the field, so the shell can
answer `ignored` instead of crashing on a KeyError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

# Statuspage's ids are 12 lowercase letters and digits. This wider set keeps every id a safe
# ledger object name and log value: no slash, no control character, no lone surrogate.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Statuspage's statuses are single words (investigating, in_progress…); the tweet shows them
# whole, so a long one could leave no room for a valid tweet.
MAX_STATUS_LENGTH = 32
# Statuspage's shortlinks are ~30 characters; X counts any URL as 23 up to 4,096.
MAX_URL_LENGTH = 2048


class Ignored(Exception):  # noqa: N818 - it is an outcome, not an error
    """The payload is not something we post; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IncidentUpdate:
    id: str
    body: str
    status: str
    created_at: datetime
    display_at: datetime | None
    # False when the operator published the update without notifying subscribers.
    deliver_notifications: bool = True


@dataclass(frozen=True)
class Incident:
    id: str
    name: str
    shortlink: str
    status: str
    updates: tuple[IncidentUpdate, ...]
    updated_at: str | None = None  # as Statuspage wrote it: it changes whenever the incident does

    def ordered_updates(self) -> list[IncidentUpdate]:
        """Oldest first, by created_at, then display_at; the payload's order is not relied on."""
        return sorted(self.updates, key=_age)

    def latest_update(self) -> IncidentUpdate:
        return max(self.updates, key=_age)


_NO_DISPLAY_AT = datetime.min.replace(tzinfo=UTC)


def _age(update: IncidentUpdate) -> tuple[datetime, datetime]:
    return (update.created_at, update.display_at or _NO_DISPLAY_AT)


@dataclass(frozen=True)
class ComponentChange:
    id: str
    component_name: str
    new_status: str


def parse_payload(data: Any, page_id: str) -> Incident | ComponentChange:
    """Validate a decoded JSON body for our page; raise Ignored with the reason otherwise."""
    if not isinstance(data, dict):
        raise Ignored("body is not a JSON object")
    page = data.get("page")
    got_page = page.get("id") if isinstance(page, dict) else None
    if not isinstance(got_page, str) or not got_page:
        raise Ignored("missing or invalid field: page.id")
    if got_page != page_id:
        raise Ignored(f"page.id {got_page!r} is not this function's page (STATUSPAGE_PAGE_ID is {page_id!r})")
    if "incident" in data:
        return parse_incident(data["incident"])
    if "component_update" in data or "component" in data:
        return _component(data.get("component_update"), data.get("component"))
    raise Ignored("payload has neither an incident nor a component update")


def parse_incident(raw: Any) -> Incident:
    """One incident object, as a webhook carries it and the public API lists it."""
    if not isinstance(raw, dict):
        raise Ignored("missing or invalid field: incident")
    shortlink = _text(raw, "shortlink", "incident")
    if not is_link(shortlink):
        raise Ignored(
            "missing or invalid field: incident.shortlink (not an http(s) URL of printable "
            f"characters, at most {MAX_URL_LENGTH:,})"
        )
    updates = raw.get("incident_updates")
    if not isinstance(updates, list) or not updates:
        raise Ignored("missing or invalid field: incident.incident_updates (not a non-empty list)")
    name = raw.get("name")
    updated_at = raw.get("updated_at")
    return Incident(
        id=_id(raw, "id", "incident"),
        name=name if isinstance(name, str) else "",
        shortlink=shortlink,
        status=_status(raw, "incident"),
        updates=tuple(_update(u, f"incident.incident_updates[{i}]") for i, u in enumerate(updates)),
        updated_at=updated_at if isinstance(updated_at, str) else None,
    )


def _update(raw: Any, where: str) -> IncidentUpdate:
    if not isinstance(raw, dict):
        raise Ignored(f"missing or invalid field: {where} (not an object)")
    body = raw.get("body")
    if not isinstance(body, str):
        raise Ignored(f"missing or invalid field: {where}.body")
    display_at = raw.get("display_at")
    return IncidentUpdate(
        id=_id(raw, "id", where),
        body=body,
        status=_status(raw, where),
        created_at=_time(raw.get("created_at"), f"{where}.created_at"),
        # display_at only breaks ties, so a bad one is dropped rather than rejecting the update.
        display_at=_parse_time(display_at) if isinstance(display_at, str) else None,
        deliver_notifications=raw.get("deliver_notifications") is not False,
    )


def _component(update: Any, component: Any) -> ComponentChange:
    if not isinstance(update, dict):
        raise Ignored("missing or invalid field: component_update")
    if not isinstance(component, dict):
        raise Ignored("missing or invalid field: component")
    return ComponentChange(
        id=_id(update, "id", "component_update"),
        component_name=_text(component, "name", "component"),
        new_status=_status(update, "component_update", key="new_status"),
    )


def is_link(value: str) -> bool:
    """An http(s) URL a tweet can carry: printable, no spaces, at most MAX_URL_LENGTH."""
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and len(value) <= MAX_URL_LENGTH
        and value.isprintable()  # no control, format, separator or surrogate, but ' '
        and " " not in value
    )


def _id(obj: dict, key: str, where: str) -> str:
    value = _text(obj, key, where)
    if not _ID.fullmatch(value):
        raise Ignored(f"missing or invalid field: {where}.{key} (not an id of letters, digits, '_' and '-')")
    return value


def _status(obj: dict, where: str, key: str = "status") -> str:
    value = _text(obj, key, where)
    if len(value) > MAX_STATUS_LENGTH:
        raise Ignored(f"missing or invalid field: {where}.{key} (over {MAX_STATUS_LENGTH} characters)")
    return value


def _text(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Ignored(f"missing or invalid field: {where}.{key}")
    return value.strip()


def _time(value: Any, where: str) -> datetime:
    parsed = _parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise Ignored(f"missing or invalid field: {where} (not an ISO 8601 time)")
    return parsed


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # Statuspage sends offsets; a naive time is taken as UTC so that all compare.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""Secret Manager reads: concurrent, bounded in time, cached for the instance's life."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.deadline import Deadline, DeadlineExceededError
from bot.logs import REDACTOR

# Secret Manager's default retry waits up to 60 s; Statuspage gives up after 30 s. A read,
# retries included, takes at most this, or what remains of the request's deadline.
READ_DEADLINE_SECONDS = 8.0


class SecretError(RuntimeError):
    """A secret could not be read; the message says what to check, never the value."""


def default_client() -> Any:
    # Imported here: the client library is heavy and a dry run never needs it.
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient()


def default_project() -> str | None:
    import google.auth

    return google.auth.default()[1]


class SecretStore:
    def __init__(
        self,
        *,
        project: str | None,
        client_factory: Callable[[], Any] = default_client,
        project_factory: Callable[[], str | None] = default_project,
        on_value: Callable[[str], None] = REDACTOR.add,
    ) -> None:
        self._project = project
        self._client_factory = client_factory
        self._project_factory = project_factory
        self._on_value = on_value
        self._client: Any = None
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        self._warmed = False

    def get(
        self, names: Sequence[str], *, refresh: bool = False, deadline: Deadline | None = None
    ) -> list[str]:
        """The values of `names` (version `latest`), read side by side when not cached."""
        with self._lock:
            if refresh:
                for name in names:
                    self._values.pop(name, None)
            missing = [n for n in dict.fromkeys(names) if n not in self._values]
            if missing:
                self._read(missing, deadline)
            return [self._values[n] for n in names]

    def warm(self, names: Sequence[str], deadline: Deadline | None = None) -> None:
        """Read `names` once per instance, ignoring errors, so the first read can overlap other
        I/O (the IP ranges fetch). A later `get` reads again, and reports it, if this failed."""
        if self._warmed:
            return
        self._warmed = True
        with contextlib.suppress(SecretError):
            self.get(names, deadline=deadline)

    def _read(self, names: Iterable[str], deadline: Deadline | None) -> None:
        names = list(names)
        try:
            if self._client is None:
                self._client = self._client_factory()
            if self._project is None:
                self._project = self._project_factory()
        except Exception as exc:
            raise SecretError(
                f"Secret Manager client could not start ({type(exc).__name__}); check the "
                "function's credentials and GOOGLE_CLOUD_PROJECT."
            ) from exc
        if not self._project:
            raise SecretError("No Google Cloud project: set GOOGLE_CLOUD_PROJECT.")
        try:
            # One timeout for the reads side by side, so they end together.
            timeout = deadline.timeout(READ_DEADLINE_SECONDS) if deadline else READ_DEADLINE_SECONDS
        except DeadlineExceededError as exc:
            raise SecretError(f"Could not read secrets {names}: {exc}") from exc
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            values = list(pool.map(lambda name: self._read_one(name, timeout), names))
        for name, value in zip(names, values, strict=True):
            self._on_value(value)
            self._values[name] = value

    def _read_one(self, name: str, timeout: float) -> str:
        from google.api_core import retry

        path = f"projects/{self._project}/secrets/{name}/versions/latest"
        try:
            # A number as timeout is a deadline for all attempts together (api-core's
            # TimeToDeadlineTimeout), and the retry stops there too.
            response = self._client.access_secret_version(
                request={"name": path},
                retry=retry.Retry(initial=0.25, maximum=2.0, timeout=timeout),
                timeout=timeout,
            )
            value = response.payload.data.decode("utf-8").strip()
        except Exception as exc:
            raise SecretError(
                f"Could not read secret {name!r} ({type(exc).__name__}); check that it exists "
                "with an enabled version and that the function's service account has "
                "roles/secretmanager.secretAccessor on it."
            ) from exc
        if not value:
            raise SecretError(f"Secret {name!r} is empty; add its value as a new version.")
        return value

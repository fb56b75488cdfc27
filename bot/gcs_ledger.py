"""The ledger in Google Cloud Storage: one JSON object per update, generations as versions.

`if_generation_match=0` makes a create fail if the object exists, and the generation read
makes every later write a compare-and-swap, so claims hold across all instances.

A write that landed but whose answer was lost is retried by the client and then fails its
own precondition (412). So a 412 is checked by reading the record back: if it holds exactly
what this write wrote, the write is done.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.deadline import Deadline, DeadlineExceededError, split
from bot.ledger import CALL_DEADLINE_SECONDS, Entry, LedgerError, Record

PREFIX = "updates/"
META_PREFIX = "meta/"


def default_client(project: str | None) -> Any:
    # Imported here: a deploy without STATE_BUCKET, and a dry run, never load it.
    from google.cloud import storage

    return storage.Client(project=project)


class GcsStore:
    def __init__(
        self,
        bucket: str,
        *,
        project: str | None = None,
        client_factory: Callable[[str | None], Any] = default_client,
    ) -> None:
        self._bucket_name = bucket
        self._project = project
        self._client_factory = client_factory
        self._bucket: Any = None
        self._lock = threading.Lock()

    def get(self, update_id: str, deadline: Deadline) -> Entry | None:
        from google.api_core.exceptions import NotFound

        blob = self._blob(update_id)
        try:
            timeout, retry = self._limits(deadline)
            data = blob.download_as_bytes(timeout=timeout, retry=retry)
        except NotFound:
            return None
        except Exception as exc:
            raise self._error("read", f"the record of update {update_id}", exc) from exc
        try:
            return Entry(Record.from_json(json.loads(data)), int(blob.generation))
        except (ValueError, TypeError) as exc:
            raise LedgerError(f"ledger record {blob.name} is corrupt: {exc}") from exc

    def create(self, record: Record, deadline: Deadline) -> Entry | None:
        return self._write(record, 0, deadline)

    def replace(self, record: Record, version: int, deadline: Deadline) -> Entry | None:
        return self._write(record, version, deadline)

    def read_meta(self, name: str, deadline: Deadline) -> dict | None:
        from google.api_core.exceptions import NotFound

        blob = self._object(f"{META_PREFIX}{name}.json")
        try:
            timeout, retry = self._limits(deadline)
            data = json.loads(blob.download_as_bytes(timeout=timeout, retry=retry))
        except NotFound:
            return None
        except ValueError as exc:
            raise LedgerError(f"ledger object {blob.name} is corrupt: {exc}") from exc
        except Exception as exc:
            raise self._error("read", blob.name, exc) from exc
        if not isinstance(data, dict):
            raise LedgerError(f"ledger object {blob.name} is corrupt: not a JSON object")
        return data

    def write_meta(self, name: str, data: dict, deadline: Deadline) -> None:
        blob = self._object(f"{META_PREFIX}{name}.json")
        try:
            timeout, retry = self._limits(deadline)
            # Unconditional, so safe to retry: a repeat writes the same bytes again.
            blob.upload_from_string(
                json.dumps(data), content_type="application/json", timeout=timeout, retry=retry
            )
        except Exception as exc:
            raise self._error("write", blob.name, exc) from exc

    def scan(self, deadline: Deadline) -> list[Record]:
        """Every record in the bucket, read side by side: for the operator's CLI, not a request."""
        self._object(PREFIX)  # starts the client, or raises LedgerError saying why not
        try:
            timeout, retry = self._limits(deadline)
            blobs = list(self._bucket.list_blobs(prefix=PREFIX, timeout=timeout, retry=retry))
            with ThreadPoolExecutor(max_workers=16) as pool:
                data = list(pool.map(lambda b: b.download_as_bytes(timeout=timeout, retry=retry), blobs))
        except Exception as exc:
            raise self._error("list", "the records", exc) from exc
        try:
            return [Record.from_json(json.loads(d)) for d in data]
        except (ValueError, TypeError) as exc:
            raise LedgerError(f"a ledger record in gs://{self._bucket_name} is corrupt: {exc}") from exc

    def _write(self, record: Record, generation: int, deadline: Deadline) -> Entry | None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self._blob(record.update_id)
        try:
            timeout, retry = self._limits(deadline)
            blob.upload_from_string(
                json.dumps(record.to_json()),
                content_type="application/json",
                if_generation_match=generation,
                timeout=timeout,
                retry=retry,
            )
        except PreconditionFailed:
            return self._ours(record, deadline)
        except Exception as exc:
            raise self._error("write", f"the record of update {record.update_id}", exc) from exc
        return Entry(record, int(blob.generation))

    def _ours(self, record: Record, deadline: Deadline) -> Entry | None:
        """After a 412: the record as stored if it is exactly the one written (our own retried
        write had landed), else None (someone else wrote first)."""
        current = self.get(record.update_id, deadline)
        return current if current is not None and current.record == record else None

    def _blob(self, update_id: str) -> Any:
        return self._object(f"{PREFIX}{update_id}.json")

    def _object(self, name: str) -> Any:
        with self._lock:
            if self._bucket is None:
                try:
                    self._bucket = self._client_factory(self._project).bucket(self._bucket_name)
                except Exception as exc:
                    raise LedgerError(
                        f"cannot start the Cloud Storage client ({type(exc).__name__})"
                    ) from exc
        return self._bucket.blob(name)

    def _error(self, action: str, what: str, exc: Exception) -> LedgerError:
        if isinstance(exc, DeadlineExceededError):
            return LedgerError(f"could not {action} {what} in the ledger: {exc}")
        return LedgerError(
            f"could not {action} {what} in gs://{self._bucket_name} "
            f"({type(exc).__name__}); check that the bucket exists and the function's service "
            "account has roles/storage.objectAdmin on it"
        )

    @staticmethod
    def _limits(deadline: Deadline) -> tuple[tuple[float, float], Any]:
        """Each attempt's (connect, read) timeout, and the retry policy, within one call's time.

        The client starts a retry only while its retry timeout lasts, and that attempt then
        runs its own timeout: half of the call's time goes to each, so the call ends within it.
        """
        from google.cloud.storage.retry import DEFAULT_RETRY

        half = deadline.timeout(CALL_DEADLINE_SECONDS) / 2
        # Conditional writes are safe to retry: a repeat of a write that landed fails its
        # precondition, and _ours() then finds it was ours.
        return split(half), DEFAULT_RETRY.with_timeout(half)

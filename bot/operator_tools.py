"""The operator's tools behind `python -m bot sweep` and `python -m bot ledger`.

They run on the operator's machine: the ledger is read with the user's application-default
credentials (`gcloud auth application-default login`), and log lines go to stderr, so that
stdout holds only the report.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Mapping

from bot.config import ConfigError
from bot.deadline import Deadline
from bot.ledger import CLAIMED, FAILED, UNKNOWN, LedgerError, Record, iso, retryable

# Generous: these are a person's commands, not a request Statuspage waits for.
CLI_SECONDS = 120.0
COLUMNS = ("update_id", "state", "attempts", "tweet_id", "thread", "parent", "first_claimed", "error")


def sweep(env: Mapping[str, str], *, dry_run: bool) -> int:
    """Run one sweep here; print its JSON report. Exit 1 when it failed or a post failed."""
    from bot.app import build_app

    with contextlib.redirect_stdout(sys.stderr):  # the log lines
        try:
            app = build_app(env)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = app.sweep.run(dry_run=dry_run or app.config.dry_run)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if report.get("error") or report.get("failed") else 0


def ledger(env: Mapping[str, str], command: str, incident_id: str | None) -> int:
    """`show INCIDENT_ID`: each of its updates' records; `failed`: what failed or was given up."""
    from bot.gcs_ledger import GcsStore

    # Only these two settings: reading the ledger needs no page id, secret or X.
    bucket, project = env.get("STATE_BUCKET", "").strip(), env.get("GOOGLE_CLOUD_PROJECT", "").strip()
    if not bucket:
        print(
            "error: set STATE_BUCKET to the ledger's bucket (terraform output state_bucket)", file=sys.stderr
        )
        return 2
    try:
        records = GcsStore(bucket, project=project or None).scan(Deadline.after(CLI_SECONDS))
    except LedgerError as exc:
        print(f"error: {exc}{_credentials_hint(exc)}", file=sys.stderr)
        return 1
    now = time.time()
    if command == "show":
        chosen = [r for r in records if r.incident_id == incident_id]
        if not chosen:
            print(f"no record of incident {incident_id} in gs://{bucket}", file=sys.stderr)
            return 1
    else:
        chosen = [r for r in records if _failed(r, now)]
    print("\t".join(COLUMNS))
    for record in sorted(chosen, key=lambda r: r.first_claimed_at):
        print("\t".join(_row(record, now)))
    return 0


def _failed(record: Record, now: float) -> bool:
    """Not posted and not being posted: failed or unknown (retried or given up), or a stale claim."""
    return record.state in (FAILED, UNKNOWN) or (record.state == CLAIMED and retryable(record, now))


def _row(record: Record, now: float) -> list[str]:
    state = record.state
    if record.state in (FAILED, UNKNOWN):
        state += " (retried)" if retryable(record, now) else " (given up)"
    elif record.state == CLAIMED and retryable(record, now):
        state += " (stale)"
    values = [
        record.update_id,
        state,
        str(record.attempts),
        record.tweet_id or "-",
        record.thread or "-",
        record.parent or "-",
        iso(record.first_claimed_at),
        (record.error or "-").replace("\t", " ").replace("\n", " "),
    ]
    return values


def _credentials_hint(exc: LedgerError) -> str:
    from google.auth.exceptions import DefaultCredentialsError

    if isinstance(exc.__cause__, DefaultCredentialsError):
        return (
            ". No application-default credentials were found: run `gcloud auth application-default "
            "login` (and set GOOGLE_CLOUD_PROJECT), then try again"
        )
    return ""

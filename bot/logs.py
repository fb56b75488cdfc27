"""Cloud Logging structured logs: one JSON object per line on stdout.

Fields go in `extra={"json_fields": {...}}`, the convention of google-cloud-logging's
StructuredLogHandler. Every line passes through a redactor that knows the secret values
this instance has loaded, as a last guard against a secret reaching the logs.

For people at a terminal (`make run`, LOG_FORMAT=text) the same lines are plain text.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import threading
from collections.abc import Iterator

TRACE_KEY = "logging.googleapis.com/trace"
_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)


class Redactor:
    """Replaces known secret values, raw or JSON-escaped, with a marker.

    Thread-safe: `add` swaps in a new immutable set, so a line being scrubbed keeps iterating
    the set it started with (a set changed in place raised "Set changed size during iteration",
    and the line was lost).
    """

    MARK = "[redacted]"

    def __init__(self) -> None:
        self._values: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) >= 4:  # shorter strings would redact ordinary words
            with self._lock:
                self._values = self._values | {value, json.dumps(value, ensure_ascii=False)[1:-1]}

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, self.MARK)
        return text


REDACTOR = Redactor()


class CloudLoggingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            # In the message, a traceback is what Error Reporting groups errors by.
            message = f"{message}\n{self.formatException(record.exc_info)}"
        entry = {"severity": record.levelname, "message": message, "logger": record.name}
        entry.update(getattr(record, "json_fields", None) or {})
        trace = _trace.get()
        if trace:
            entry[TRACE_KEY] = trace
        line = self._redact(json.dumps(entry, default=str, ensure_ascii=False))
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (e.g. in an error X sent) is no UTF-8
            line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        return line


class TextFormatter(CloudLoggingFormatter):
    """`12:00:01 WARNING Rejected (403): … (source_ip=…)`: the same facts, for reading."""

    def format(self, record: logging.LogRecord) -> str:
        entry = json.loads(super().format(record))
        head = f"{self.formatTime(record, '%H:%M:%S')} {entry.pop('severity'):<7} {entry.pop('message')}"
        entry.pop("logger", None)
        entry.pop(TRACE_KEY, None)
        fields = " ".join(
            f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in entry.items() if v is not None
        )
        return f"{head} ({fields})" if fields else head


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time, so redirection (and pytest) sees it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def configure(log_format: str | None = None, logger_name: str = "bot") -> None:
    """Send this package's logs to stdout, once per process: JSON (Cloud Logging's format), or
    text with LOG_FORMAT=text or, when unset, on a terminal."""
    logger = logging.getLogger(logger_name)
    # Replace, matched by name: a re-imported module (tests restart instances so) brings a new
    # class, and its handler must read this module's trace, not the old one's.
    for old in [h for h in logger.handlers if type(h).__name__ == _StdoutHandler.__name__]:
        logger.removeHandler(old)
    text = (log_format or "").strip().lower() == "text" or (not log_format and sys.stdout.isatty())
    handler = _StdoutHandler()
    handler.setFormatter(TextFormatter() if text else CloudLoggingFormatter())
    logger.addHandler(handler)
    if text:  # the local server's own access lines would repeat each of ours
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logger.setLevel(logging.INFO)
    logger.propagate = False


@contextlib.contextmanager
def trace_context(header: str | None, project: str | None) -> Iterator[None]:
    """Tag this request's log lines with its Cloud Trace id, so they group in the console."""
    trace = None
    if header and project:
        trace_id = header.split("/", 1)[0].strip()
        if trace_id:
            trace = f"projects/{project}/traces/{trace_id}"
    token = _trace.set(trace)
    try:
        yield
    finally:
        _trace.reset(token)

"""The structured log lines: the redactor under concurrency, and lines that are not UTF-8 safe."""

from __future__ import annotations

import json
import logging
import threading

from bot.logs import CloudLoggingFormatter, Redactor


def test_redactor_scrubs_while_values_are_added_from_eight_threads() -> None:
    """A secret read on one thread while another scrubs a line: no line may raise or be lost."""
    import sys

    redactor = Redactor()
    for index in range(200):
        redactor.add(f"secret-value-{index:04d}")
    line = "x" * 500 + " secret-value-0007 " + "y" * 500
    errors: list[BaseException] = []
    scrubbed: list[str] = []
    start, done = threading.Barrier(8), threading.Event()

    def scrub() -> None:
        start.wait()
        try:
            for _ in range(100):
                scrubbed.append(redactor(line))
        except BaseException as exc:
            errors.append(exc)

    def add(offset: int) -> None:
        start.wait()
        index = 0
        while not done.is_set() and index < 1_000:
            redactor.add(f"added-{offset}-{index:05d}")
            index += 1

    threads = [threading.Thread(target=scrub) for _ in range(4)]
    adders = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        for thread in threads + adders:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        done.set()
        for thread in adders:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(scrubbed) == 4 * 100
    assert all("secret-value-0007" not in s and Redactor.MARK in s for s in scrubbed)


def test_a_lone_surrogate_in_a_field_still_gives_one_json_line() -> None:
    record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "X answered 400", None, None)
    record.json_fields = {"detail": "bad \ud800 text"}
    line = CloudLoggingFormatter(Redactor()).format(record)
    line.encode("utf-8")  # writable to stdout
    assert json.loads(line)["detail"] == "bad \ud800 text"

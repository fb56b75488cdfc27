"""The real functions-framework server in a subprocess, spoken to over real HTTP on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from conftest import FIXTURES, PAGE_ID, ROOT, TRUSTED_IP

FUNCTIONS_FRAMEWORK = Path(sys.executable).with_name("functions-framework")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(documents: dict[str, bytes]) -> Iterator[str]:
    """A loopback HTTP server that answers GET `path` with `documents[path]` as JSON, else 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in documents:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(documents[self.path])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def ranges_url() -> Iterator[str]:
    """Atlassian's ranges document, served from loopback."""
    with serving({"/": (FIXTURES / "ip-ranges.json").read_bytes()}) as url:
        yield url + "/"


def start(
    env: dict[str, str], port: int, stdout=subprocess.PIPE, target: str = "handle_webhook"
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(FUNCTIONS_FRAMEWORK),
            *("--target", target, "--source", "main.py"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT)), **env},
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is subprocess.PIPE else subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def statuspage_url() -> Iterator[str]:
    """Statuspage's public API, from loopback: the sample incident, and no maintenance."""
    incident = json.loads((FIXTURES / "incident.json").read_text())["incident"]
    documents = {
        "/api/v2/incidents.json": {"page": {"id": PAGE_ID}, "incidents": [incident]},
        "/api/v2/scheduled-maintenances.json": {"page": {"id": PAGE_ID}, "scheduled_maintenances": []},
    }
    with serving({path: json.dumps(doc).encode() for path, doc in documents.items()}) as url:
        yield url


def sweep_env(statuspage_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "STATUSPAGE_PAGE_ID": PAGE_ID,
        "STATUSPAGE_URL": statuspage_url,
        "SWEEP_SINCE": "2013-05-01T00:00:00Z",  # the sample's updates are from 2013-05-29
        "IP_RANGES_SNAPSHOT": str(tmp_path / "none.json"),
    }


WOULD_POST = ["qbbsfhy5s9kk", "2rryghr4qgrh", "drfcwbnpxnr6"]  # the sample's updates, oldest first


def test_handle_sweep_is_served_by_the_real_functions_framework(statuspage_url: str, tmp_path: Path) -> None:
    port = free_port()
    process = start({**sweep_env(statuspage_url, tmp_path), "DRY_RUN": "true"}, port, target="handle_sweep")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.post(f"http://127.0.0.1:{port}/", timeout=10)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"functions-framework did not start:\n{process.communicate()[0]}")
                time.sleep(0.1)
    finally:
        process.terminate()
        out = process.communicate(timeout=10)[0]
    assert response.status_code == 200
    answer = response.json()
    assert [w["update_id"] for w in answer["would_post"]] == WOULD_POST
    assert answer["posted"] == [] and answer["checked"] == 3
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line["message"].startswith("Sweep: checked 3") for line in lines)


def test_sweep_cli_dry_run_prints_what_it_would_post(statuspage_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sweep", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], **sweep_env(statuspage_url, tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # stdout is the report alone; the log lines went to stderr
    assert [w["update_id"] for w in report["would_post"]] == WOULD_POST
    assert report["would_post"][0]["text"].startswith("[status] Investigating: The cloud")
    assert "Sweep: checked 3" in result.stderr


def ledger_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "ledger", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "NO_GCE_CHECK": "true", **env},
    )


def test_ledger_cli_shows_an_incident_and_what_failed(state_bucket: str, gcs_server) -> None:
    from bot.deadline import Deadline
    from bot.gcs_ledger import GcsStore
    from bot.ledger import Record

    now = time.time()
    for record in (
        Record("u1", "inc1", "posted", now - 600, now - 600, 1, "1001", thread="standalone"),
        Record("u2", "inc1", "failed", now - 300, now - 300, 2, None, "failed: X 503", parent="1001"),
        Record("u3", "inc2", "failed", now - 90000, now - 90000, 5, None, "failed: X 402"),
    ):
        GcsStore(state_bucket, project="test-project").create(record, Deadline(float("inf")))
    env = {"STATE_BUCKET": state_bucket, "STORAGE_EMULATOR_HOST": gcs_server.url}

    shown = ledger_cli("show", "inc1", **env)
    assert shown.returncode == 0, shown.stderr
    rows = [line.split("\t") for line in shown.stdout.splitlines()]
    assert rows[0] == [
        "update_id",
        "state",
        "attempts",
        "tweet_id",
        "thread",
        "parent",
        "first_claimed",
        "error",
    ]
    assert rows[2][7] == "failed: X 503"
    assert [r[:6] for r in rows[1:]] == [
        ["u1", "posted", "1", "1001", "standalone", "-"],
        ["u2", "failed (retried)", "2", "-", "-", "1001"],
    ]
    failed = ledger_cli("failed", **env)
    assert [line.split("\t")[:2] for line in failed.stdout.splitlines()[1:]] == [
        ["u3", "failed (given up)"],
        ["u2", "failed (retried)"],
    ]
    assert ledger_cli("show", "nope", **env).returncode == 1


def test_ledger_cli_says_when_there_are_no_credentials(tmp_path: Path) -> None:
    result = ledger_cli("failed", STATE_BUCKET="some-bucket", HOME=str(tmp_path))
    assert result.returncode == 1
    assert "gcloud auth application-default login" in result.stderr
    assert "Traceback" not in result.stderr
    result = ledger_cli("failed", HOME=str(tmp_path))
    assert result.returncode == 2 and "set STATE_BUCKET" in result.stderr


@pytest.fixture(scope="module")
def log_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs") / "stdout.jsonl"


@pytest.fixture(scope="module")
def server(ranges_url: str, tmp_path_factory, log_file: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "STATUSPAGE_PAGE_ID": PAGE_ID,
        "DRY_RUN": "true",
        "LOG_EXECUTION_ID": "true",  # as Terraform deploys it
        "ATLASSIAN_IP_RANGES_URL": ranges_url,
        "IP_RANGES_SNAPSHOT": str(tmp_path_factory.mktemp("s") / "none.json"),
    }
    process = start(env, port, stdout=log_file.open("w"))
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"functions-framework did not start:\n{process.stderr.read()}")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_trusted_post_is_answered_with_the_tweet(server: str) -> None:
    body = (FIXTURES / "incident.json").read_bytes()
    response = requests.post(
        server,
        data=body,
        headers={"X-Forwarded-For": TRUSTED_IP, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["result"] == "dry_run"
    assert response.json()["text"].startswith("[status] Monitoring: A fix has been implemented")


def test_spoofed_forwarded_for_is_403(server: str) -> None:
    response = requests.post(
        server,
        json={"page": {"id": PAGE_ID}},
        headers={"X-Forwarded-For": f"{TRUSTED_IP}, 198.51.100.1"},
        timeout=10,
    )
    assert response.status_code == 403


def test_get_is_405(server: str) -> None:
    assert requests.get(server, headers={"X-Forwarded-For": TRUSTED_IP}, timeout=10).status_code == 405


def test_local_run_reads_well(ranges_url: str, tmp_path: Path) -> None:
    """As `make run` serves: text log lines, one per 405 and 403; answers in plain UTF-8."""
    port, log = free_port(), tmp_path / "out.txt"
    env = {
        "STATUSPAGE_PAGE_ID": PAGE_ID,
        "DRY_RUN": "true",
        "LOG_FORMAT": "text",
        "ATLASSIAN_IP_RANGES_URL": ranges_url,
        "IP_RANGES_SNAPSHOT": str(tmp_path / "none.json"),
    }
    process = start(env, port, stdout=log.open("w"))
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(url, timeout=5).status_code == 405
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert (
            requests.post(url, data=b"{}", headers={"X-Forwarded-For": "203.0.113.5"}, timeout=5).status_code
            == 403
        )
        incident = json.loads((FIXTURES / "incident.json").read_text())
        incident["incident"]["incident_updates"][0]["body"] = "復旧しました。"
        answer = requests.post(url, json=incident, headers={"X-Forwarded-For": TRUSTED_IP}, timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "復旧しました。".encode() in answer.content and b"\\u" not in answer.content
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    lines = [line for line in log.read_text().splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert not any(line.lstrip().startswith("{") for line in log.read_text().splitlines())
    assert len([line for line in lines if "(405)" in line]) == 1
    assert len([line for line in lines if "(403)" in line]) == 1
    (rejected,) = [line for line in lines if "Rejected (403)" in line]
    assert rejected.split()[1] == "WARNING" and 'source_ip="203.0.113.5"' in rejected
    assert any("dry_run: DRY_RUN is on" in line and "復旧しました。" in line for line in lines)


def test_preview_of_a_template_that_can_never_fit_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "preview", str(FIXTURES / "incident.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "TWEET_TEMPLATE": "{status} " + "x" * 300 + " {url}"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: TWEET_TEMPLATE leaves no room for a valid tweet")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_without_page_id_the_server_refuses_to_start() -> None:
    process = start({}, free_port())
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert "STATUSPAGE_PAGE_ID is not set" in output


def test_server_logs_are_json_lines(server: str, log_file: Path) -> None:
    response = requests.post(server, data=b"not json", headers={"X-Forwarded-For": TRUSTED_IP}, timeout=10)
    assert response.json() == {"result": "ignored", "reason": "body is not JSON"}
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines[0]["message"] == "incident-twitter-bot started"
    last = lines[-1]
    assert (last["severity"], last["result"], last["source_ip"]) == ("INFO", "ignored", TRUSTED_IP)
    # LOG_EXECUTION_ID: functions-framework adds the execution id to our JSON, not around it.
    assert last["logging.googleapis.com/labels"]["execution_id"]


def preview(*options: str, **env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "preview", str(FIXTURES / "incident.json"), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], **env},
    )
    return result.stdout.splitlines()


def test_preview_cli_prints_the_incidents_thread_and_its_cost() -> None:
    link = "https://status.sentry.io/incidents/bt27tt1h1wsd?u=jwjgrfrf3pjj"
    lines = preview()
    assert lines[0] == "#1 standalone, update qbbsfhy5s9kk, weighted length 128/280, $0.200"
    assert lines[6] == "#3 reply to #2, update drfcwbnpxnr6, weighted length 106/280, $0.200"
    assert lines[7] == (
        f"[status] Monitoring: A fix has been implemented and we are monitoring the results. {link}"
    )
    assert lines[-1] == (
        "-- 3 tweet(s) with THREAD_MODE=reply, LINK_IN=every: about $0.600 at "
        "X_POST_PRICE_USD=0.015, X_LINK_POST_PRICE_USD=0.2"
    )
    assert json.loads((FIXTURES / "incident.json").read_text())  # the fixture is the seed's sample

    # The options win over the environment; follow-ups drop the link and cost the plain price.
    lines = preview("--thread-mode", "quote", "--link-in", "first", THREAD_UPDATES="false")
    assert lines[1].endswith(link) and link not in lines[4] + lines[7]
    assert lines[3] == "#2 quote of #1, update 2rryghr4qgrh, weighted length 118/280, $0.015"
    assert lines[-1].startswith("-- 3 tweet(s) with THREAD_MODE=quote, LINK_IN=first: about $0.230 ")
    # Each other destination's posts, by its own length rule.
    lines = preview(
        DESTINATIONS="x,bluesky,mastodon", BLUESKY_HANDLE="a.example", MASTODON_BASE_URL="https://m.example"
    )
    assert "bluesky #3, update drfcwbnpxnr6, length 145" in lines  # graphemes: the URL counts all 62
    assert "mastodon #3, update drfcwbnpxnr6, length 106" in lines  # a URL counts 23, as on X
    lines = preview(THREAD_MODE="off", LINK_IN="first", X_LINK_POST_PRICE_USD="0.25")
    assert [line.split(",")[0] for line in lines[0:9:3]] == [f"#{n} standalone" for n in (1, 2, 3)]
    assert lines[-1].startswith("-- 3 tweet(s) with THREAD_MODE=off, LINK_IN=first: about $0.750 ")


def test_snapshot_keeps_only_trusted_ranges_and_refuses_an_empty_list(
    tmp_path: Path, ranges_url: str
) -> None:
    output = tmp_path / "snapshot.json"
    command = [sys.executable, "-m", "bot", "snapshot", "--url", ranges_url, "--output", str(output)]
    result = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, env={"PATH": os.environ["PATH"]}
    )
    assert result.returncode == 0, result.stderr
    cidrs = [item["cidr"] for item in json.loads(output.read_text())["items"]]
    assert cidrs == ["13.52.5.96/28", "2600:1f18:2146:e300::/56", "52.215.192.128/28"]

    bad = [*command[:-4], "--url", ranges_url + "missing", "--output", str(tmp_path / "none.json")]
    result = subprocess.run(
        bad, check=False, cwd=ROOT, capture_output=True, text=True, env={"PATH": os.environ["PATH"]}
    )
    assert result.returncode == 1 and "could not fetch" in result.stderr
    assert not (tmp_path / "none.json").exists()

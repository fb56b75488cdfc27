"""The real functions-framework server in a subprocess, spoken to over real HTTP on loopback."""

from __future__ import annotations

import json
import os
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


@pytest.fixture(scope="module")
def ranges_url() -> Iterator[str]:
    """Atlassian's ranges document, served from loopback."""
    document = (FIXTURES / "ip-ranges.json").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def start(env: dict[str, str], port: int, stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(FUNCTIONS_FRAMEWORK),
            *("--target", "handle_webhook", "--source", "main.py"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT)), **env},
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is subprocess.PIPE else subprocess.PIPE,
        text=True,
    )


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

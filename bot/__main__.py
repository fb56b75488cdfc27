"""Command line tools.

`python -m bot preview PAYLOAD.json`: print the tweet a payload would post, offline.
`python -m bot snapshot`: save Atlassian's Statuspage ranges for bundling at deploy time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.allowlist import FETCH_TIMEOUT_SECONDS, http_fetch
from bot.config import DEFAULT_IP_RANGES_URL, DEFAULT_SNAPSHOT_PATH, Config, ConfigError
from bot.decide import Ignore, decide
from bot.ipranges import statuspage_cidrs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="print the tweet a webhook payload would post")
    preview.add_argument("payload", type=Path, help="a Statuspage webhook body, as JSON")
    snapshot = commands.add_parser("snapshot", help="save Atlassian's Statuspage IP ranges for deploy")
    snapshot.add_argument("--url", default=os.environ.get("ATLASSIAN_IP_RANGES_URL") or DEFAULT_IP_RANGES_URL)
    snapshot.add_argument("--output", type=Path, default=DEFAULT_SNAPSHOT_PATH)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        return _snapshot(args.url, args.output)
    return _preview(args.payload)


def _preview(path: Path) -> int:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    # Without a configured page, preview the payload's own page.
    if not env.get("STATUSPAGE_PAGE_ID"):
        env["STATUSPAGE_PAGE_ID"] = _page_id(raw) or "preview"
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    decision = decide(raw, config)
    if isinstance(decision, Ignore):
        print(f"ignored: {decision.reason}")
        return 1
    print(decision.text)
    print(f"-- weighted length {decision.weighted_length}/280")
    return 0


def _snapshot(url: str, output: Path) -> int:
    """Keep only the items the function trusts; refuse to write a list it would reject."""
    try:
        document = http_fetch(url, FETCH_TIMEOUT_SECONDS)
        cidrs = set(statuspage_cidrs(document))
    except Exception as exc:
        print(f"error: could not fetch a usable ranges list from {url}: {exc}", file=sys.stderr)
        return 1
    items = [i for i in document["items"] if isinstance(i, dict) and i.get("cidr") in cidrs]
    kept = {"creationDate": document.get("creationDate"), "source": url, "items": items}
    output.write_text(json.dumps(kept, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(items)} Statuspage ranges to {output}")
    return 0


def _page_id(raw: bytes) -> str | None:
    try:
        page = json.loads(raw).get("page")
        return page.get("id") if isinstance(page, dict) else None
    except (ValueError, AttributeError):
        return None


if __name__ == "__main__":
    sys.exit(main())

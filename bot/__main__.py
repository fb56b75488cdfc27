"""`python -m bot preview PAYLOAD.json`: print the tweet a payload would post, offline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.config import Config, ConfigError
from bot.decide import Ignore, decide


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="print the tweet a webhook payload would post")
    preview.add_argument("payload", type=Path, help="a Statuspage webhook body, as JSON")
    args = parser.parse_args(argv)

    try:
        raw = args.payload.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.payload}: {exc.strerror}", file=sys.stderr)
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


def _page_id(raw: bytes) -> str | None:
    try:
        page = json.loads(raw).get("page")
        return page.get("id") if isinstance(page, dict) else None
    except (ValueError, AttributeError):
        return None


if __name__ == "__main__":
    sys.exit(main())

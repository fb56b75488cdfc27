"""Command line tools.

`python -m bot preview PAYLOAD.json`: print the thread of tweets a payload's incident makes,
offline, with what each costs.
`python -m bot snapshot`: save Atlassian's Statuspage ranges for bundling at deploy time.
`python -m bot sweep [--dry-run]`: run one sweep from here (bot/operator_tools.py).
`python -m bot ledger show INCIDENT_ID | failed`: read the ledger (bot/operator_tools.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bot import operator_tools
from bot.allowlist import FETCH_TIMEOUT_SECONDS, http_fetch
from bot.app import check_config_template, destinations
from bot.config import (
    DEFAULT_IP_RANGES_URL,
    DEFAULT_SNAPSHOT_PATH,
    LINK_IN,
    THREAD_MODES,
    Config,
    ConfigError,
)
from bot.decide import Ignore, decide
from bot.ipranges import statuspage_cidrs
from bot.secret_store import SecretStore
from bot.thread import QUOTE, REPLY, STANDALONE, Planned, ThreadRules, plan
from bot.tweet import MAX_WEIGHT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="print the tweets a webhook payload's incident makes")
    preview.add_argument("payload", type=Path, help="a Statuspage webhook body, as JSON")
    preview.add_argument("--thread-mode", choices=THREAD_MODES, help="default: $THREAD_MODE, else reply")
    preview.add_argument("--link-in", choices=LINK_IN, help="default: $LINK_IN, else every")
    snapshot = commands.add_parser("snapshot", help="save Atlassian's Statuspage IP ranges for deploy")
    snapshot.add_argument("--url", default=os.environ.get("ATLASSIAN_IP_RANGES_URL") or DEFAULT_IP_RANGES_URL)
    snapshot.add_argument("--output", type=Path, default=DEFAULT_SNAPSHOT_PATH)
    sweep = commands.add_parser("sweep", help="run one sweep against STATUSPAGE_URL; print its report")
    sweep.add_argument(
        "--dry-run", action="store_true", help="post nothing, write nothing: list what it would post"
    )
    ledger = commands.add_parser("ledger", help="read the ledger in STATE_BUCKET")
    reads = ledger.add_subparsers(dest="read", required=True)
    reads.add_parser("show", help="each update's record of one incident").add_argument("incident_id")
    reads.add_parser("failed", help="what failed or was given up")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        return _snapshot(args.url, args.output)
    if args.command == "sweep":
        return operator_tools.sweep(os.environ, dry_run=args.dry_run)
    if args.command == "ledger":
        return operator_tools.ledger(os.environ, args.read, getattr(args, "incident_id", None))
    return _preview(args.payload, args.thread_mode, args.link_in)


def _preview(path: Path, thread_mode: str | None, link_in: str | None) -> int:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if thread_mode:
        env.pop("THREAD_UPDATES", None)
        env["THREAD_MODE"] = thread_mode
    if link_in:
        env["LINK_IN"] = link_in
    # Without a configured page, preview the payload's own page.
    if not env.get("STATUSPAGE_PAGE_ID"):
        env["STATUSPAGE_PAGE_ID"] = _page_id(raw) or "preview"
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        check_config_template(config)  # the start-up check: the same message, not a traceback
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    decision = decide(raw, config)
    if isinstance(decision, Ignore):
        print(f"ignored: {decision.reason}")
        return 1
    rules = ThreadRules.of(config)
    if decision.incident is None:  # a component change: one tweet, never threaded
        cost = rules.cost(decision.text)
        tweets = [Planned(decision.update_id, decision.text, decision.weighted_length, STANDALONE, cost)]
    else:
        tweets = plan(decision.incident, rules, config.tweet_template)
    for number, tweet in enumerate(tweets, 1):
        ties = {STANDALONE: STANDALONE, REPLY: f"reply to #{number - 1}", QUOTE: f"quote of #{number - 1}"}
        how = ties[tweet.how]
        print(
            f"#{number} {how}, update {tweet.update_id}, weighted length "
            f"{tweet.weighted_length}/{MAX_WEIGHT}, ${tweet.cost_usd:.3f}"
        )
        print(tweet.text)
        print()
    total = sum(t.cost_usd for t in tweets)
    print(
        f"-- {len(tweets)} tweet(s) with THREAD_MODE={rules.mode}, LINK_IN={rules.link_in}: "
        f"about ${total:.3f} at X_POST_PRICE_USD={rules.post_usd}, "
        f"X_LINK_POST_PRICE_USD={rules.link_post_usd}"
    )
    _other_destinations(config, decision)
    return 0


def _other_destinations(config: Config, decision: Any) -> None:
    """Each other enabled destination's posts, by its own length rule (nothing is read or sent)."""
    others = [name for name in config.destinations if name != "x"]
    if not others or decision.incident is None:
        return
    built = destinations(config, SecretStore(project=None))
    for name in others:
        print()
        for number, update in enumerate(decision.incident.ordered_updates(), 1):
            fitted = built[name].compose(decision.incident, update, config.tweet_template, linked=True)
            print(f"{name} #{number}, update {update.id}, length {fitted.length}")
            print(fitted.text)


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

"""Tweet formatting, checked against X's own counting rules (twitter-text)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls, parse_tweet

from bot.tweet import ELLIPSIS, TemplateError, check_template, clean, format_tweet, humanize

URL = "https://stspg.io/abc123xyz"
LONG_URL = "https://status.sentry.io/incidents/bt27tt1h1wsd?u=jwjgrfrf3pjj&" + "x" * 200

# Characters from several scripts, with marks, joiners and multi-code-point emoji.
ALPHABET = st.sampled_from(
    list("abc XYZ.,\n\t-")
    + list("日本語のテキスト한국어中文")
    + list("Привет مرحبا שלום สวัสดี नमस्ते")
    + ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "🇺🇸", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤️", "e\u0301", "\u0915\u094d\u0937", "\u200d", "\ufe0f"]
    + ["https://example.com/path ", "www.sentry.io ", "@getsentry ", "#outage "]
)
BODIES = st.lists(ALPHABET, max_size=600).map("".join)


def graphemes_intact(original: str, shortened: str) -> None:
    """The kept body is a prefix of the cleaned body that does not end inside a grapheme."""
    kept = shortened.removesuffix(ELLIPSIS).rstrip()
    assert original.startswith(kept)
    if len(kept) < len(original):
        nxt = original[len(kept)]
        assert unicodedata.category(nxt) not in ("Mn", "Mc", "Me")
        assert nxt not in "\u200d\ufe0f\ufe0e" and not 0x1F3FB <= ord(nxt) <= 0x1F3FF
        assert not 0xE0020 <= ord(nxt) <= 0xE007F
        assert not kept.endswith("\u200d")
        regional = 0
        for char in reversed(kept):
            if not 0x1F1E6 <= ord(char) <= 0x1F1FF:
                break
            regional += 1
        assert regional % 2 == 0, "a flag was split"


@settings(max_examples=300, deadline=None)
@given(body=BODIES, status=st.sampled_from(["investigating", "in_progress", "postmortem", "x" * 20]))
@example(body="word " * 400, status="resolved")
@example(body="日本語" * 400, status="identified")
@example(body="👨‍👩‍👧‍👦" * 300, status="monitoring")
def test_every_tweet_is_valid_and_keeps_its_link_whole(body: str, status: str) -> None:
    for url in (URL, LONG_URL):
        tweet = format_tweet(status=status, body=body, url=url)
        parsed = parse_tweet(tweet.text)
        assert parsed.valid, tweet.text
        assert parsed.weightedLength == tweet.weighted_length
        assert tweet.text.startswith(f"[status] {humanize(status)}:")
        assert tweet.text.endswith(" " + url)
        assert url in extract_urls(tweet.text)
        if tweet.shortened:
            kept = tweet.text.removeprefix(f"[status] {humanize(status)}: ").removesuffix(" " + url)
            assert kept.endswith(ELLIPSIS)
            graphemes_intact(clean(body), kept)


@pytest.mark.parametrize(
    ("body", "min_weight"),
    [
        ("The database cluster is degraded and we are failing over. " * 40, 265),  # English words
        (
            "データベースの障害により、一部のイベントの取り込みが遅延しています" * 40,
            270,
        ),  # Japanese, no spaces
        ("Ошибка базы данных, мы работаем над исправлением. " * 40, 265),  # Cyrillic
        ("x" * 2000, 275),  # one long word
        ("🔥🚒👩‍🚒 " * 400, 270),  # emoji sequences
        ("a" * 150 + " " + "日本" * 200, 270),  # mixed scripts
    ],
)
def test_long_bodies_become_near_full_tweets(body: str, min_weight: int) -> None:
    tweet = format_tweet(status="identified", body=body, url=URL)
    assert tweet.shortened
    assert min_weight <= tweet.weighted_length <= 280
    assert parse_tweet(tweet.text).valid
    assert tweet.text.endswith(f"{ELLIPSIS} {URL}")


def test_cut_falls_on_a_word_boundary() -> None:
    body = " ".join(f"word{i:03d}" for i in range(200))
    tweet = format_tweet(status="identified", body=body, url=URL)
    kept = tweet.text.removeprefix("[status] Identified: ").removesuffix(f"{ELLIPSIS} {URL}")
    assert kept.split(" ")[-1] in body.split(" ")  # the last word is whole
    assert len(kept.split(" ")[-1]) == 7


def test_emoji_sequence_is_never_split() -> None:
    family = "👨‍👩‍👧‍👦"
    for pad in range(8):
        tweet = format_tweet(status="identified", body="a" * pad + family * 200, url=URL)
        kept = tweet.text.removeprefix("[status] Identified: ").removesuffix(f"{ELLIPSIS} {URL}")
        assert kept.removeprefix("a" * pad) == family * (len(kept.removeprefix("a" * pad)) // len(family))


def test_whitespace_is_stripped_and_blank_lines_collapsed() -> None:
    tweet = format_tweet(status="resolved", body="  \n\nFixed.\r\n\r\n\r\n\n  Thanks   all.  \n", url=URL)
    assert tweet.text == f"[status] Resolved: Fixed.\n\nThanks all. {URL}"
    assert not tweet.shortened


def test_empty_body_leaves_no_double_space() -> None:
    assert format_tweet(status="resolved", body="   ", url=URL).text == f"[status] Resolved: {URL}"


def test_template_with_long_name_still_fits() -> None:
    tweet = format_tweet(
        status="investigating", body="b" * 400, name="n" * 400, url=URL, template="{name}: {body} {url}"
    )
    assert parse_tweet(tweet.text).valid and tweet.text.endswith(URL)


def test_template_that_cannot_fit_is_refused() -> None:
    with pytest.raises(TemplateError):
        check_template("x" * 300 + " {body} {url}")
    check_template("{name} ({status}): {body} {url}")


@settings(max_examples=500, deadline=None)
@given(text=BODIES)
@example(text="1️⃣ #️⃣ *️⃣ 10 © ® ™ 🇺🇸🇬 👨‍👩‍👧‍👦👍🏽 ❤ ❤️ 🏴󠁧󠁢󠁳󠁣󠁴󠁿")
def test_emoji_scan_matches_twitter_texts_own(text: str) -> None:
    """bot/_twitter_text.py tries twitter-text's emoji regex only where an emoji can start."""
    from bot._twitter_text import extract_emojis, original_extract_emojis

    assert original_extract_emojis.__module__ == "twitter_text.extract_emojis"  # the library's own
    assert extract_emojis(text) == original_extract_emojis(text)


def test_twitter_text_imports_without_pkg_resources() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pkg_resources'] = None\n"  # as on Python 3.12+ without setuptools
        "from bot.tweet import format_tweet\n"
        "t = format_tweet(status='resolved', body='\\U0001F600' * 200, url='https://x.co/a')\n"
        "assert t.weighted_length == 277, t\n"
        "assert sys.modules['pkg_resources'] is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)

"""Tweet formatting, checked against X's own counting rules (twitter-text)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
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


# --- Bounded work on any body (a 1 MiB body costs what READ_LIMIT characters do) -------------

MiB = 1 << 20
# Alphabet for the URL regexes: labels, dots, hyphens, TLDs and their prefixes, protocols,
# characters that may or may not precede a URL, scripts whose letters are domain characters.
URL_PIECES = st.sampled_from(
    [
        *"a.-_/:?#=&@ 1xK",
        *("io", "com", "co", "jp", "xn--p1ai", "onion", "t.co/", "..", "-.", "_.", "a.b", "\n", "…"),
        *("http://", "https://", "HTTPS://", "$", "(", ")", "\u200e", "\u202a", "é", "\u017f", "\u212a"),
        *("日本", ".公司", "嘉里", "嘉里大酒店", "服务", "\uff20"),
    ]
)


@pytest.mark.parametrize("with_tries", [False, True], ids=["library regex", "TLD tries"])
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(URL_PIECES, max_size=40).map("".join))
@example(text="a." * 50 + "-.io a.io." + "a." * 30 + " x.日.io")
@example(text="https://t.co/abc http://a.b.c.com:80/p?q=1#f, www.example.嘉里大酒店.x")
def test_url_finders_match_twitter_texts_own(text: str, with_tries: bool, monkeypatch) -> None:
    """bot/_twitter_text.py runs the URL regexes only where a label chain reaches a TLD, with
    the library's own regex or (on long chains) its copy with the TLD lists as tries."""
    from bot import _twitter_text

    monkeypatch.setattr(_twitter_text, "_long_chain", lambda text: with_tries)
    finders = (_twitter_text.url_finder, _twitter_text.ascii_domain_finder)
    for finder, original in zip(finders, _twitter_text.original_url_regexes, strict=True):
        ours = [(m.start(), m.end(), m.groups()) for m in finder.finditer(text)]
        theirs = [(m.start(), m.end(), m.groups()) for m in original.finditer(text)]
        assert ours == theirs


@settings(max_examples=3000, deadline=None)
@given(
    text=st.lists(URL_PIECES | st.sampled_from(["COM", "Io", "S", "K", "+", "xn--", "中文网"]), max_size=8)
)
def test_the_tld_lookup_matches_the_librarys_tld_lists(text: list[str]) -> None:
    from twitter_text.regexp.valid_cctld import valid_cctld
    from twitter_text.regexp.valid_gtld import valid_gtld
    from twitter_text.regexp.valid_punycode import valid_punycode

    from bot._twitter_text import url_finder

    joined = "".join(text)
    lists = re.compile(
        f"(?:{valid_gtld.pattern}|{valid_cctld.pattern}|{valid_punycode.pattern})", re.IGNORECASE
    )
    for t in range(len(joined) + 1):
        assert url_finder._tld_at(joined, t) == (lists.match(joined, t) is not None), (joined, t)


def test_tld_lists_are_tries_in_the_lists_order() -> None:
    """The speed-up is on: each TLD list became a trie (it would fall back if a word came after
    one of its own prefixes, which would change which word matches first)."""
    from twitter_text.regexp.valid_cctld import valid_cctld
    from twitter_text.regexp.valid_gtld import valid_gtld

    from bot._twitter_text import _as_trie

    for tld_list in (valid_gtld, valid_cctld):
        assert _as_trie(tld_list) != tld_list.pattern
    shuffled = re.compile("(?:(?:com|commbank|co)(?=[^0-9a-zA-Z@+-]|$))")
    assert _as_trie(shuffled) == shuffled.pattern  # "commbank" after its prefix "com": kept


@settings(max_examples=300, deadline=None)
@given(body=st.lists(URL_PIECES | ALPHABET, max_size=300).map("".join), name=st.text(max_size=40))
def test_formatting_is_the_same_as_with_the_librarys_own_scans(body: str, name: str) -> None:
    """Where the library finishes, the tweet is the same as with its own URL and emoji scans."""
    import sys

    from bot import _twitter_text

    # The modules, not the functions of the same names that the package exports.
    extract_urls_module = sys.modules["twitter_text.extract_urls"]
    parse_tweet_module = sys.modules["twitter_text.parse_tweet"]

    template = "{name}: [{status}] {body} {url}"
    ours = format_tweet(status="identified", body=body, name=name, url=URL, template=template)
    patched = (extract_urls_module.extract_url, extract_urls_module.valid_ascii_domain)
    extract_urls_module.extract_url, extract_urls_module.valid_ascii_domain = (
        _twitter_text.original_url_regexes
    )
    parse_tweet_module.extract_emojis_with_indices = _twitter_text.original_extract_emojis
    try:
        theirs = format_tweet(status="identified", body=body, name=name, url=URL, template=template)
    finally:
        extract_urls_module.extract_url, extract_urls_module.valid_ascii_domain = patched
        parse_tweet_module.extract_emojis_with_indices = _twitter_text.extract_emojis
    assert ours == theirs


def fill(unit: str) -> str:
    return (unit * (MiB // len(unit) + 1))[:MiB]


# The shapes that took seconds to minutes, or grow in the square of their length, in one place.
WORST_BODIES = {
    "version list": fill("1.2.3.4."),
    "short labels": fill("a."),
    "Chinese with ASCII full stops": fill("服务异常.正在处理."),
    "labels, then a TLD far away": fill("a.")[:4000] + "日.io " + fill("x "),
    "a TLD, then labels": "a.io." + fill("a."),
    "labels broken before a TLD": fill("a.")[:4000] + "-.io",
    "combining marks": "a" + fill("\u0301\u0316"),
    "flags": fill("🇯🇵"),
    "keycaps": fill("1️⃣"),
    "host list": fill("db1.prod.example.com, "),
    "a long URL at the cut": "word " * 48 + "https://example.com/" + "a" * 900 + " tail" * 100,
}


@pytest.mark.parametrize("template", [None, "{name} — {status}\n{body}\n{url}"])
@pytest.mark.parametrize("shape", list(WORST_BODIES))
def test_worst_bodies_hand_twitter_text_a_bounded_prefix_and_no_failing_url_try(
    shape: str, template: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted, not timed: how much text twitter-text measures, how often, and that the URL
    regexes are never started where they fail (each such start rescanned a whole run)."""
    import bot.tweet
    from bot import _twitter_text
    from bot.payload import MAX_STATUS_LENGTH, MAX_URL_LENGTH
    from bot.tweet import READ_LIMIT

    measured: list[int] = []
    real_parse = bot.tweet.parse_tweet
    monkeypatch.setattr(
        bot.tweet, "parse_tweet", lambda text, *a: measured.append(len(text)) or real_parse(text, *a)
    )
    tries = {"matched": 0, "failed": 0}

    class Counting:
        def __init__(self, regex: re.Pattern[str]) -> None:
            self.regex = regex

        def match(self, text: str, pos: int) -> re.Match[str] | None:
            found = self.regex.match(text, pos)
            tries["matched" if found else "failed"] += 1
            return found

    for finder in (_twitter_text.url_finder, _twitter_text.ascii_domain_finder):
        monkeypatch.setattr(finder, "regex", Counting(finder.regex))
        monkeypatch.setitem(finder.__dict__, "regex_with_tries", Counting(finder.regex_with_tries))

    body = WORST_BODIES[shape]
    # This module's format_tweet: other tests re-import the bot, as a new instance would.
    tweet = bot.tweet.format_tweet(status="identified", body=body, name=body, url=URL, template=template)

    assert parse_tweet(tweet.text).valid
    fields = 2 * (READ_LIMIT + 1) if template else READ_LIMIT + 1
    assert max(measured) <= fields + MAX_STATUS_LENGTH + MAX_URL_LENGTH + len(template or "") + 16
    assert len(measured) <= 16
    assert tries["failed"] == 0 and tries["matched"] >= 1  # the shortlink, at least


def test_clean_removes_controls_bidi_controls_and_lone_surrogates() -> None:
    text = "a\x00b\x07c\x1bd\x7fe\x85f\u202eg\u2066h\u2069i\ud800j\udfffk\tl\r\nm\ufeffn"
    assert clean(text) == "abcdefghijk l\nmn"
    # What stays: newlines, ordinary format characters such as ZWJ (emoji sequences need it).
    assert clean("👨\u200d👩\n\nok") == "👨\u200d👩\n\nok"


def test_a_lone_surrogate_body_is_formatted_not_crashed() -> None:
    tweet = format_tweet(status="resolved", body='Fixed \ud800 "now"', url=URL)
    assert tweet.text == f'[status] Resolved: Fixed "now" {URL}'


def test_a_field_past_the_read_limit_is_read_in_part_and_ends_in_an_ellipsis() -> None:
    from bot.tweet import READ_LIMIT

    body = "Fixed." + " " * READ_LIMIT + "Unread."
    assert format_tweet(status="resolved", body=body, url=URL).text == f"[status] Resolved: Fixed.… {URL}"

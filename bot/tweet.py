"""Format an update as a tweet that X accepts, measured by X's own twitter-text rules.

Pure: no I/O. Only the body (or, failing that, the incident name) is ever shortened;
the status prefix and the link stay whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot._twitter_text import extract_urls, parse_tweet, twitter_text_config
from bot.payload import MAX_STATUS_LENGTH

DEFAULT_TEMPLATE = "[status] {status}: {body} {url}"
MAX_WEIGHT = 280
ELLIPSIS = "…"
# A cut looks back this many characters for a space before it cuts mid-word.
WORD_WINDOW = 30
# No body beyond this many characters can fit, so longer ones are not measured in full.
SCAN_LIMIT = 4 * MAX_WEIGHT
# Only this many characters of the body and the name are read. A tweet shows at most ~1,400
# (X counts a character 1 or 2, and an emoji sequence of up to 10 code points 2), and both
# normalizing and measuring cost time in proportion, normalizing a run of combining marks in
# its square, so a 1 MiB body costs what this many characters do. A longer field ends in `…`.
READ_LIMIT = 2048
# A shortening tries at most this many cuts (each a measure) before it falls back to one
# measured with the ellipsis' room set aside.
MAX_CUTS = 8
# Removed from every field of a tweet:
# - what X treats as invalid (twitter-text's has_invalid_characters);
# - lone surrogates: valid in JSON ("\ud800") but no character, and they crash UTF-16 counting;
# - control characters other than newline (a tab becomes a space; \r a newline);
# - the bidi embedding, override and isolate controls, which reorder what follows them on screen.
_REMOVED = dict.fromkeys(
    [
        0xFFFE,
        0xFEFF,
        0xFFFF,
        *range(0xD800, 0xE000),
        *(c for c in range(0x20) if chr(c) not in "\t\n\r"),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)
_OPTIONS = twitter_text_config["defaults"]


class TemplateError(ValueError):
    """The template leaves no room for a valid tweet."""


@dataclass(frozen=True)
class Tweet:
    text: str
    weighted_length: int
    shortened: bool


def humanize(status: str) -> str:
    """`in_progress` -> `In progress`: Statuspage's snake_case statuses as people write them."""
    return status.replace("_", " ").strip().capitalize()


def clean(text: str) -> str:
    """NFC, none of the characters above, no spaces around lines, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.translate(_REMOVED))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def read_field(field: str) -> str:
    """The field, cleaned; past READ_LIMIT characters, its first READ_LIMIT and `…`."""
    if len(field) <= READ_LIMIT:
        return clean(field)
    return clean(field[:READ_LIMIT]) + ELLIPSIS


def weight(text: str) -> int:
    """X's weighted length: URLs count 23, CJK and emoji 2, most else 1."""
    return parse_tweet(text).weightedLength


def has_url(text: str) -> bool:
    """Does X see a link in the text (with or without http://, as it links them)?"""
    return bool(extract_urls(text))


def renderer(template: str, *, status: str, url: str) -> Callable[[str, str], str]:
    """render(body, name): the template with the status humanized and the link, for any
    network; an empty field leaves no double space behind."""
    status = humanize(clean(status))

    def render(body: str, name: str) -> str:
        text = template.format(status=status, name=name, body=body, url=url)
        return re.sub(r" {2,}", " ", text).strip()

    return render


def format_tweet(*, status: str, body: str, url: str, name: str = "", template: str | None = None) -> Tweet:
    """Render the template; if the result is too long for X, shorten the body, then the name."""
    template = template or DEFAULT_TEMPLATE
    render = renderer(template, status=status, url=url)
    body, name = read_field(body), read_field(name)
    text = render(body, name)
    parsed = parse_tweet(text)  # X's counting is the costly step: once, on the common path
    if parsed.valid:
        return Tweet(text, parsed.weightedLength, shortened=False)
    room = MAX_WEIGHT - weight(render(ELLIPSIS, name))
    if room < 0 and "{name}" in template:
        name = _shorten(name, MAX_WEIGHT - weight(render("", ELLIPSIS)))
        room = MAX_WEIGHT - weight(render(ELLIPSIS, name))
    text = render(_shorten(body, room), name)
    parsed = parse_tweet(text)
    if not parsed.valid:
        raise TemplateError(f"no valid tweet fits TWEET_TEMPLATE {template!r}")
    return Tweet(text, parsed.weightedLength, shortened=True)


def check_template(template: str | None, *, without_link: bool = False) -> None:
    """Fail at start-up, not at the first incident, if a template can never fit.

    Raises TemplateError when even a shortened body and name leave no valid tweet, with the
    link and, if follow-ups drop it (`without_link`), without it.
    """
    for url in ("https://stspg.io/xxxxxxxxxxxx", "")[: 2 if without_link else 1]:
        format_tweet(
            status="日" * MAX_STATUS_LENGTH,  # the widest status a payload may carry
            body="x" * MAX_WEIGHT,
            name="x" * MAX_WEIGHT,
            url=url,
            template=template,
        )


def _shorten(value: str, room: int) -> str:
    """The longest prefix of `value`, cut cleanly and ending in `…`, whose weight fits `room`.

    twitter-text reports where the text stops fitting and never ends that range inside a
    URL or an emoji sequence; the cut is then moved back to a word boundary if one is near,
    and off any combining mark, so no character or grapheme is split.
    """
    if room <= 0 or not value:
        return ""
    scan = value[:SCAN_LIMIT]
    cut = _fitting(scan, room)
    tried: set[int] = set()
    while cut > 0 and len(tried) < MAX_CUTS:
        candidate = _at_word(scan, cut)
        if candidate not in tried:  # stepping back within a word keeps finding the same space
            tried.add(candidate)
            shortened = scan[:candidate].rstrip() + ELLIPSIS
            if weight(shortened) <= room:
                return shortened
        cut = _step_back(scan, cut)
    if cut <= 0:
        return ""
    # Each step back still did not fit: it is inside a long URL, which counts 23 however it is
    # cut. Cut where the text fits with the ellipsis' room set aside, before the URL.
    cut = _safe(scan, _fitting(scan, room - weight(ELLIPSIS)))
    shortened = scan[:cut].rstrip() + ELLIPSIS
    return shortened if cut > 0 and weight(shortened) <= room else ""


def _fitting(text: str, room: int) -> int:
    """How many characters of `text` fit in `room`, as X counts; never inside a URL or emoji."""
    if room <= 0:
        return 0
    fits = parse_tweet(text, dict(_OPTIONS, max_weighted_tweet_length=room))
    return _code_points(text, fits.validRangeEnd + 1)


def _code_points(text: str, utf16_units: int) -> int:
    """Convert twitter-text's UTF-16 offset into a Python string index."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > utf16_units:
            return index
    return len(text)


def _at_word(text: str, cut: int) -> int:
    """Move the cut back to the last space within WORD_WINDOW, so words stay whole."""
    if cut >= len(text) or text[cut].isspace():
        return cut
    for index in range(cut - 1, max(cut - WORD_WINDOW, 0) - 1, -1):
        if text[index].isspace():
            return index
    return _safe(text, cut)


def _step_back(text: str, cut: int) -> int:
    return _safe(text, cut - 1)


def _safe(text: str, cut: int) -> int:
    """Move the cut back until it does not fall inside a grapheme."""
    while 0 < cut < len(text) and _inside_grapheme(text, cut):
        cut -= 1
    return max(cut, 0)


def _inside_grapheme(text: str, cut: int) -> bool:
    before, after = text[cut - 1], text[cut]
    if before == "\u200d" or _attaches(after):
        return True
    if _regional(before) and _regional(after):
        # Flags are pairs of regional indicators: an odd run before the cut splits one.
        run = 0
        while run < cut and _regional(text[cut - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def _attaches(char: str) -> bool:
    """Characters that belong to the one before: marks, joiners, selectors, skin tones, tags."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char in "\u200d\ufe0e\ufe0f"
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF

"""Fit an update into a network's length rule that is counted in graphemes (Bluesky, Mastodon).

Pure: no I/O. The same template, cleaning and whitespace rules as the tweet (bot/tweet.py);
only the body, then the incident name, is shortened, at a grapheme boundary (a word boundary
when one is near), and ends in `…`. The link is never cut. X's own rule stays in bot/tweet.py,
measured by twitter-text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.tweet import DEFAULT_TEMPLATE, ELLIPSIS, WORD_WINDOW, TemplateError, read_field, renderer


@functools.cache
def _grapheme() -> Any:
    """Unicode's extended grapheme clusters (UAX #29), as `regex` matches them; imported when a
    network that counts them is enabled, not on X's path."""
    import regex

    return regex.compile(r"\X")


@dataclass(frozen=True)
class Fitted:
    text: str
    length: int  # as the network counts it
    shortened: bool


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky and Mastodon count."""
    return len(_grapheme().findall(text))


def fit_post(
    *,
    status: str,
    body: str,
    url: str,
    name: str = "",
    template: str | None = None,
    measure: Callable[[str], int],
    limit: int,
    also: Callable[[str], bool] = lambda text: True,
) -> Fitted:
    """Render the template; if `measure` exceeds `limit` (or `also` refuses), shorten the body,
    then the name. Raise TemplateError when nothing fits."""
    template = template or DEFAULT_TEMPLATE
    render = renderer(template, status=status, url=url)
    body, name = read_field(body), read_field(name)

    def fits(text: str) -> bool:
        return bool(text) and measure(text) <= limit and also(text)

    text = render(body, name)
    if fits(text):
        return Fitted(text, measure(text), shortened=False)
    if not fits(render(ELLIPSIS, name)) and "{name}" in template:
        name = _shorten(name, lambda n: fits(render("", n)))
    body = _shorten(body, lambda b: fits(render(b, name)))
    text = render(body, name)
    if not fits(text):
        raise TemplateError(f"no post within {limit} fits TWEET_TEMPLATE {template!r}")
    return Fitted(text, measure(text), shortened=True)


def _shorten(value: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of `value` at a grapheme boundary, ending in `…`, that `fits`; a word
    boundary within WORD_WINDOW characters before it if there is one. Binary search: the
    measure runs about log2(graphemes) times."""
    ends = [m.end() for m in _grapheme().finditer(value)]

    def candidate(cut: int) -> str:
        return value[:cut].rstrip() + ELLIPSIS

    low, high = 0, len(ends) - 1  # the largest index whose cut fits, if any
    best = -1
    while low <= high:
        middle = (low + high) // 2
        if fits(candidate(ends[middle])):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    if best < 0:
        return ELLIPSIS if fits(ELLIPSIS) else ""
    cut = ends[best]
    space = value.rfind(" ", max(cut - WORD_WINDOW, 0), cut)
    if space > 0 and fits(candidate(space)):
        return candidate(space)
    return candidate(cut)

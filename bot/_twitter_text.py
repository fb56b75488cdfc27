"""twitter-text-parser, made to import on current runtimes and to count without a slow scan.

1. It reads its emoji list with `pkg_resources.resource_string` but does not declare
   setuptools. pkg_resources is gone from setuptools 81 on and absent from the Python 3.12+
   runtimes Cloud Functions builds, and importing it costs ~130 ms of cold start. Its one use
   is mapped onto importlib.resources for the duration of the import only; sys.modules is
   left as it was, so nothing else sees the stand-in.
2. Its emoji extraction runs a regex of ~2,600 alternatives at every position of the text:
   most of the cost of measuring a tweet (bench: ~0.9 ms of a ~2.3 ms request). Here it is
   tried only where an emoji can start, found by a small character class, and with only the
   alternatives that start with that character; the matches are identical
   (tests/test_tweet.py compares the two on arbitrary text).
3. Its URL extraction is quadratic on runs of short dot-separated labels with no top-level
   domain after them ("1.2.3.4.…", "服务异常.正在处理.…": 21 s for 4,000 characters). Its
   regex, `label.`* then a TLD, is retried from every position, and each try walks the whole
   run before failing. `_ChainFinder` works out, in one pass from the right, the positions
   where such a chain does reach a TLD, and runs the regex only there, so every try matches.
   Its TLD lists (~1,600 words tried one after the other, ~20 µs a try) are looked up in a
   set, or written as a trie, which matches the same words in the same order.
   Same matches (tests/test_tweet.py compares them with the library's on arbitrary text).
"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from importlib import resources


def _resource_string(module_name: str, name: str) -> bytes:
    # As pkg_resources does: a plain module's resources sit in its package's directory.
    module = sys.modules[module_name]
    package = module_name if hasattr(module, "__path__") else module_name.rpartition(".")[0]
    return resources.files(package).joinpath(name).read_bytes()


def _import() -> types.ModuleType:
    if "twitter_text" in sys.modules:
        return sys.modules["twitter_text"]
    missing = object()
    saved = sys.modules.pop("pkg_resources", missing)
    sys.modules["pkg_resources"] = types.SimpleNamespace(resource_string=_resource_string)  # type: ignore[assignment]
    try:
        import twitter_text
        import twitter_text.config
    finally:
        if saved is missing:
            del sys.modules["pkg_resources"]
        else:
            sys.modules["pkg_resources"] = saved
    return twitter_text


def _emoji_extractor() -> object:
    from twitter_text.regexp import emoji as emoji_data

    # The library's regex is every multi-code-point emoji (longest first), then one class of
    # single ones: ~2,600 alternatives tried in turn at each emoji. Only those that start with
    # the character at hand can match there, so each first character gets the regex of just
    # its own alternatives, in the same order, then the same class: the same first match.
    single_class = f"[{emoji_data.single_codepoint_emoji_raw}]"
    alternatives: dict[int, list[str]] = {}
    for alternative in emoji_data.multi_codepoint_emoji_joined.split("|"):  # r"\U0001F469\U0000200D…"
        alternatives.setdefault(int(alternative[2:10], 16), []).append(alternative)

    @functools.cache
    def starting_with(code: int) -> re.Pattern[str]:
        return re.compile("|".join([*alternatives.get(code, ()), single_class]))

    # An emoji starts with a character of the single class, or with the first character of a
    # sequence whose second one follows. Keycaps start with a digit, # or *, flags with a
    # regional indicator: neither is tried unless the next character fits.
    single = re.compile(single_class)
    seconds: dict[int, set[int]] = {}
    for entry in emoji_data.emoji_list:
        if len(entry.emoji) > 1 and not single.fullmatch(entry.emoji[0]):
            seconds.setdefault(ord(entry.emoji[0]), set()).add(ord(entry.emoji[1]))
    first = re.compile(f"{single.pattern}|{_class(seconds)}(?={_class(set().union(*seconds.values()))})")

    def extract_emojis_with_indices(text: str) -> list[dict]:
        found, resume = [], 0
        for candidate in first.finditer(text):
            start = candidate.start()
            if start < resume:
                continue
            match = starting_with(ord(text[start])).match(text, start)
            if match:
                found.append({"emoji": match.group(0), "indices": [start, match.end()]})
                resume = match.end()
        return found

    return extract_emojis_with_indices


def _class(codes: Iterable[int]) -> str:
    return "[" + "".join(rf"\U{a:08x}-\U{b:08x}" for a, b in _ranges(sorted(codes))) + "]"


def _ranges(codes: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for code in codes:
        if spans and code == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], code)
        else:
            spans.append((code, code))
    return spans


class _ChainFinder:
    """`regex.finditer(text)`, for a regex whose match needs `label.`* ending in a TLD, tried
    only at the starts where that chain exists.

    A label's suffix from `q` is a valid link when its first and last characters are `member`s
    and the rest are `member`s or in `link_also`; the label just before the TLD needs the
    same with `last_also`. A chain starts at q if its label is a valid last one followed by a
    TLD, or a valid link followed by a chain. `to_starts` maps those domain starts to the
    regex's start positions (e.g. a preceding character, a protocol).

    The regex run there is the library's own, already compiled; on a text with a long chain
    of labels, its copy with the TLD lists as tries (compiled on first need): there a match
    backtracks through every label past its TLD, trying the whole list at each.
    """

    def __init__(  # noqa: PLR0917 - one value per part of the regex
        self,
        regex: re.Pattern[str],
        with_tries: Callable[[], re.Pattern[str]],
        member: re.Pattern[str],
        link_also: str,
        last_also: str,
        tld_at: Callable[[str, int], bool],
        to_starts: Callable[[str, list[int]], list[int]],
    ) -> None:
        self.regex = regex
        self._with_tries = with_tries
        self._member = member
        self._link_also = link_also
        self._last_also = last_also
        self._tld_at = tld_at
        self._to_starts = to_starts

    @functools.cached_property
    def regex_with_tries(self) -> re.Pattern[str]:
        return self._with_tries()

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        regex = self.regex_with_tries if _long_chain(text) else self.regex
        pos = 0
        for start in self._to_starts(text, self.domain_starts(text)):
            if start < pos:
                continue
            match = regex.match(text, start)
            if match is not None:
                yield match
                pos = match.end()

    def domain_starts(self, text: str) -> list[int]:
        """Every position from which a chain of labels reaches a TLD, ascending."""
        dots = [m.start() for m in _DOT.finditer(text)]
        starts: list[int] = []
        chain_next = False  # does a chain start right after the current label's dot?
        for index in range(len(dots) - 1, -1, -1):
            dot = dots[index]
            begin = dots[index - 1] + 1 if index else 0
            tld_next = self._tld_at(text, dot + 1)
            if begin == dot or not (tld_next or chain_next):
                chain_next = False  # no suffix of this label can start a chain
                continue
            is_member = [self._member.match(text, i) is not None for i in range(begin, dot)]
            chain_here = False
            if is_member[-1]:  # every valid label ends in a member
                link = last = True  # all of text[q:dot] may sit inside a link / last label
                for q in range(dot - 1, begin - 1, -1):
                    char, member = text[q], is_member[q - begin]
                    link = link and (member or char in self._link_also)
                    last = last and (member or char in self._last_also)
                    if not (link or last):
                        break
                    if member and ((last and tld_next) or (link and chain_next)):
                        starts.append(q)
                        chain_here = q == begin
            chain_next = chain_here
        starts.reverse()
        return starts


# Where the library's regex backtracks through more labels than this, the trie version runs.
_LONG_CHAIN_LABELS = 16
_LONG_CHAIN = re.compile(rf"(?:[^.\s]{{1,64}}\.){{{_LONG_CHAIN_LABELS}}}")


def _long_chain(text: str) -> bool:
    return text.count(".") >= _LONG_CHAIN_LABELS and _LONG_CHAIN.search(text) is not None


def _tld_words(tld_list: re.Pattern[str]) -> tuple[list[str], str] | None:
    """The words of twitter-text's `(?:(?:word|word|…)(?=…))` TLD list, and the rest of it."""
    head, pattern = "(?:(?:", tld_list.pattern
    words_end = pattern.find(")(?=")
    if not pattern.startswith(head) or words_end < 0:
        return None
    return pattern[len(head) : words_end].split("|"), pattern[words_end + 1 :]


def _trie(words: list[str]) -> str:
    """`words` as one alternation, factored by common prefixes; a word is tried before those
    that are prefixes of it."""
    children: dict[str, list[str]] = {}
    for word in words:
        children.setdefault(word[:1], []).append(word[1:])
    ends = children.pop("", None) is not None
    if not children:
        return ""
    branches = [re.escape(first) + _trie(rests) for first, rests in children.items()]
    if len(branches) == 1 and not ends:
        return branches[0]  # one way on: a plain string, no group to compile
    return f"(?:{'|'.join(branches)})" + ("?" if ends else "")


def _as_trie(tld_list: re.Pattern[str]) -> str:
    """The TLD list's pattern with its words as a trie: the same first match wherever the
    list puts each word before its own prefixes, which is checked here. Otherwise the list
    is kept as it is."""
    parts = _tld_words(tld_list)
    if parts is None:
        return tld_list.pattern
    words, rest = parts
    position = {word: index for index, word in enumerate(words)}
    for index, word in enumerate(words):
        if any(position.get(word[:cut], len(words)) < index for cut in range(1, len(word))):
            return tld_list.pattern  # a word after one of its prefixes: the trie would change the match
    return f"(?:{_trie(words)}{rest}"


class _TldAt:
    """Does the library's TLD part, (gTLD | ccTLD | punycode), match at position t?

    A set lookup where the text there is ASCII: a listed word, case-insensitively, that is
    not followed by a letter, digit, @, + or - (the lists' lookahead), so the whole run of
    letters and digits from t; or xn-- and one more punycode character. Elsewhere, and for
    lists of another shape, the regex itself, as a trie, compiled on first need:
    case-insensitive matching of non-ASCII text has special cases (K, the Kelvin sign,
    matches k) that a lowercase lookup would miss.
    """

    _PUNYCODE = frozenset("-0123456789abcdefghijklmnopqrstuvwxyz")

    def __init__(self, gtld: re.Pattern[str], cctld: re.Pattern[str], punycode: re.Pattern[str]) -> None:
        self._lists = (gtld, cctld, punycode)
        parts = [_tld_words(gtld), _tld_words(cctld)]
        expected = "(?=[^0-9a-zA-Z@+-]|$))"
        usable = all(p is not None and p[1] == expected for p in parts) and punycode.pattern == (
            r"(?:xn--[\-0-9a-z]+)"
        )
        words = [w for p in parts if p is not None for w in p[0] if w.isascii()] if usable else []
        self._words = {w.lower() for w in words}
        self._window = max(map(len, words), default=0) + 1
        self._usable = usable and all(w.isalnum() for w in words)

    @functools.cached_property
    def _regex(self) -> re.Pattern[str]:
        gtld, cctld, punycode = self._lists
        return re.compile(f"(?:{_as_trie(gtld)}|{_as_trie(cctld)}|{punycode.pattern})", re.IGNORECASE)

    def __call__(self, text: str, t: int) -> bool:
        window = text[t : t + self._window]
        if not (self._usable and window.isascii()):
            return self._regex.match(text, t) is not None
        low = window.lower()
        if low.startswith("xn--") and len(low) > 4 and low[4] in self._PUNYCODE:
            return True
        word = _ALNUM.match(low).group()
        return word in self._words and low[len(word) : len(word) + 1] not in ("@", "+", "-")


def _url_finders(url: re.Pattern[str], ascii_domain: re.Pattern[str]) -> tuple[_ChainFinder, _ChainFinder]:
    """Finders for the two regexes extract_urls_with_indices iterates, built from their parts."""
    from twitter_text.regexp.latin_accent_chars import latin_accent_chars
    from twitter_text.regexp.valid_cctld import valid_cctld
    from twitter_text.regexp.valid_domain_chars import valid_domain_chars
    from twitter_text.regexp.valid_gtld import valid_gtld
    from twitter_text.regexp.valid_punycode import valid_punycode
    from twitter_text.regexp.valid_url_preceding_chars import valid_url_preceding_chars

    def with_tries(regex: re.Pattern[str]) -> Callable[[], re.Pattern[str]]:
        def compile_regex() -> re.Pattern[str]:
            pattern = regex.pattern
            for tld_list in (valid_gtld, valid_cctld):
                pattern = pattern.replace(tld_list.pattern, _as_trie(tld_list))
            return re.compile(pattern, regex.flags)

        return compile_regex

    tld_at = _TldAt(valid_gtld, valid_cctld, valid_punycode)
    preceding = re.compile(valid_url_preceding_chars.pattern, url.flags)
    protocol = re.compile(r"https?:\/\/", url.flags)

    def url_starts(text: str, domains: list[int]) -> list[int]:
        # extract_url: (preceding character or ^) (https?://)? domain …, everything after the
        # domain optional. A domain at q is reached from the character before it, or from the
        # character before a protocol that ends at q; at 0, also from ^.
        starts = set()
        for q in domains:
            after_protocol = [
                q - n for n in (7, 8) if q >= n and (m := protocol.match(text, q - n)) and m.end() == q
            ]
            for begin in (q, *after_protocol):
                if begin == 0:
                    starts.add(0)
                elif (m := preceding.match(text, begin - 1)) and m.end() == begin:
                    starts.add(begin - 1)
        return sorted(starts)

    url_finder = _ChainFinder(
        url,
        with_tries(url),
        member=re.compile(valid_domain_chars.pattern, url.flags),
        link_also="_-",  # valid_subdomain
        last_also="-",  # valid_domain_name
        tld_at=tld_at,
        to_starts=url_starts,
    )
    ascii_finder = _ChainFinder(
        ascii_domain,
        with_tries(ascii_domain),
        member=re.compile(rf"[\-a-z0-9{latin_accent_chars.pattern}]", ascii_domain.flags),
        link_also="",
        last_also="",
        tld_at=tld_at,
        to_starts=lambda text, domains: domains,
    )
    return url_finder, ascii_finder


_DOT = re.compile(r"\.")
_ALNUM = re.compile(r"[0-9a-z]*")
_module = _import()
# From its defining module, never patched: correct even if this module is imported again.
original_extract_emojis = sys.modules["twitter_text.extract_emojis"].extract_emojis_with_indices
extract_emojis = _emoji_extractor()
sys.modules["twitter_text.parse_tweet"].extract_emojis_with_indices = extract_emojis
_extract_urls = sys.modules["twitter_text.extract_urls"]
# The library's own compiled regexes, kept for the tests' comparison; the module's names are
# rebound to the finders, which run these same regexes at the starts where they match.
original_url_regexes = tuple(
    # A finder left by an earlier import of this module (tests restart the bot) holds the regex.
    found if isinstance(found, re.Pattern) else found.regex
    for found in (_extract_urls.extract_url, _extract_urls.valid_ascii_domain)
)
_extract_urls.extract_url, _extract_urls.valid_ascii_domain = original_url_regexes
url_finder, ascii_domain_finder = _url_finders(*original_url_regexes)
_extract_urls.extract_url, _extract_urls.valid_ascii_domain = url_finder, ascii_domain_finder
parse_tweet = _module.parse_tweet
extract_urls = _extract_urls.extract_urls
extract_urls_with_indices = _extract_urls.extract_urls_with_indices
twitter_text_config = sys.modules["twitter_text.config"].config

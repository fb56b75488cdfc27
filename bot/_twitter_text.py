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
   The regex is the library's own with its TLD lists (~1,600 words tried one after the other,
   ~20 µs a try) written as a trie, which matches the same words in the same order.
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
    regex's start positions (e.g. a preceding character, a protocol). The regex is compiled
    on first use: the URL finder's at start-up, the ASCII-domain one's with the first bare domain.
    """

    def __init__(  # noqa: PLR0917 - one value per part of the regex
        self,
        compile_regex: Callable[[], re.Pattern[str]],
        member: re.Pattern[str],
        link_also: str,
        last_also: str,
        tld: Callable[[], re.Pattern[str]],
        to_starts: Callable[[str, list[int]], list[int]],
    ) -> None:
        self._compile_regex = compile_regex
        self._member = member
        self._link_also = link_also
        self._last_also = last_also
        self._compile_tld = tld
        self._to_starts = to_starts

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return self._compile_regex()

    @functools.cached_property
    def _tld(self) -> re.Pattern[str]:
        return self._compile_tld()

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        pos = 0
        for start in self._to_starts(text, self.domain_starts(text)):
            if start < pos:
                continue
            match = self.regex.match(text, start)
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
            tld_next = self._tld.match(text, dot + 1) is not None
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
    """The pattern of twitter-text's `(?:(?:word|word|…)(?=…))` TLD list, with its words as a
    trie: the same first match wherever the list puts each word before its own prefixes,
    which is checked here. Otherwise the list is kept as it is."""
    head, rest = "(?:(?:", tld_list.pattern
    words_end = rest.find(")(?=")
    if not rest.startswith(head) or words_end < 0:
        return rest
    words = rest[len(head) : words_end].split("|")
    position = {word: index for index, word in enumerate(words)}
    for index, word in enumerate(words):
        if any(position.get(word[:cut], len(words)) < index for cut in range(1, len(word))):
            return rest  # a word listed after one of its prefixes: the trie would change the match
    return f"(?:{_trie(words)}{rest[words_end + 1 :]}"


def _url_finders(url: re.Pattern[str], ascii_domain: re.Pattern[str]) -> tuple[_ChainFinder, _ChainFinder]:
    """Finders for the two regexes extract_urls_with_indices iterates, built from their parts."""
    from twitter_text.regexp.latin_accent_chars import latin_accent_chars
    from twitter_text.regexp.valid_cctld import valid_cctld
    from twitter_text.regexp.valid_domain_chars import valid_domain_chars
    from twitter_text.regexp.valid_gtld import valid_gtld
    from twitter_text.regexp.valid_punycode import valid_punycode
    from twitter_text.regexp.valid_url_preceding_chars import valid_url_preceding_chars

    @functools.cache
    def tries() -> dict[str, str]:
        return {valid_gtld.pattern: _as_trie(valid_gtld), valid_cctld.pattern: _as_trie(valid_cctld)}

    def with_tries(regex: re.Pattern[str]) -> Callable[[], re.Pattern[str]]:
        def compile_regex() -> re.Pattern[str]:
            pattern = regex.pattern
            for original, trie in tries().items():
                pattern = pattern.replace(original, trie)
            return re.compile(pattern, regex.flags)

        return compile_regex

    @functools.cache
    def tld() -> re.Pattern[str]:
        return re.compile(f"(?:{'|'.join(tries().values())}|{valid_punycode.pattern})", url.flags)

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
        with_tries(url),
        member=re.compile(valid_domain_chars.pattern, url.flags),
        link_also="_-",  # valid_subdomain
        last_also="-",  # valid_domain_name
        tld=tld,
        to_starts=url_starts,
    )
    ascii_finder = _ChainFinder(
        with_tries(ascii_domain),
        member=re.compile(rf"[\-a-z0-9{latin_accent_chars.pattern}]", ascii_domain.flags),
        link_also="",
        last_also="",
        tld=tld,
        to_starts=lambda text, domains: domains,
    )
    return url_finder, ascii_finder


_DOT = re.compile(r"\.")
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
twitter_text_config = sys.modules["twitter_text.config"].config

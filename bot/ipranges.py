"""Atlassian's published IP ranges, parsed once into sorted integer intervals.

Pure: no I/O. A lookup is a binary search over merged intervals per address family,
so the per-request cost does not grow with the number of ranges.
"""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RangesError(ValueError):
    """The ranges document is not in Atlassian's shape, or names no Statuspage range."""


@dataclass(frozen=True)
class _Family:
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def build(cls, intervals: Iterable[tuple[int, int]]) -> _Family:
        merged: list[list[int]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(s for s, _ in merged), tuple(e for _, e in merged))

    def __contains__(self, value: int) -> bool:
        index = bisect_right(self.starts, value) - 1
        return index >= 0 and value <= self.ends[index]


@dataclass(frozen=True)
class IPRanges:
    v4: _Family
    v6: _Family

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> IPRanges:
        intervals: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for cidr in cidrs:
            net = ipaddress.ip_network(cidr, strict=False)
            intervals[net.version].append((int(net.network_address), int(net.broadcast_address)))
        return cls(_Family.build(intervals[4]), _Family.build(intervals[6]))

    def __contains__(self, address: IPAddress) -> bool:
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        family = self.v4 if address.version == 4 else self.v6
        return int(address) in family

    def __len__(self) -> int:
        return len(self.v4.starts) + len(self.v6.starts)


def statuspage_cidrs(document: Any) -> list[str]:
    """The CIDRs of items whose product names Statuspage and, if given, direction egress."""
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise RangesError('expected {"items": [...]}')
    cidrs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("cidr"), str):
            continue
        if not _lists(item.get("product"), "statuspage"):
            continue
        if "direction" in item and not _lists(item["direction"], "egress"):
            continue
        try:
            ipaddress.ip_network(item["cidr"], strict=False)
        except ValueError:
            continue
        cidrs.append(item["cidr"])
    if not cidrs:
        raise RangesError("no Statuspage egress range in the document")
    return cidrs


def _lists(value: Any, wanted: str) -> bool:
    if isinstance(value, str):
        value = [value]
    return isinstance(value, list) and any(isinstance(v, str) and v.strip().lower() == wanted for v in value)


def parse_ip(value: str) -> IPAddress | None:
    """An address from a header or the socket, tolerating [brackets]; None if malformed.

    inet_pton validates and packs in C: a tenth of ipaddress's own string parsing, which
    would otherwise be most of the per-request cost of the source check.
    """
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, value))
    except OSError:
        pass
    try:
        return ipaddress.IPv6Address(socket.inet_pton(socket.AF_INET6, value))
    except OSError:
        return None


def client_ip(forwarded_for: str | None, remote_addr: str | None, hops: int) -> IPAddress | None:
    """The caller as seen by our `hops`-th trusted proxy, counted from the right.

    Google's front end appends the address it saw, so entries further left were written
    by the client and prove nothing. `remote_addr` is used only when there is no header.
    """
    if forwarded_for is None:
        return parse_ip(remote_addr) if remote_addr else None
    entries = forwarded_for.split(",")
    if len(entries) < hops:
        return None
    return parse_ip(entries[-hops])

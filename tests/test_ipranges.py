"""The pure source check: parsing Atlassian's document, the lookup, X-Forwarded-For."""

from __future__ import annotations

import ipaddress

import pytest
from conftest import load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ipranges import IPRanges, RangesError, client_ip, parse_ip, statuspage_cidrs


def test_only_statuspage_egress_ranges_are_taken() -> None:
    assert statuspage_cidrs(load_fixture("ip-ranges.json")) == [
        "13.52.5.96/28",
        "2600:1f18:2146:e300::/56",
        "52.215.192.128/28",
    ]


@pytest.mark.parametrize("document", [[], {"items": "x"}, {"items": []}, {"items": [{"cidr": "1.2.3.0/24"}]}])
def test_documents_without_statuspage_ranges_are_errors(document) -> None:
    with pytest.raises(RangesError):
        statuspage_cidrs(document)


def test_malformed_items_are_skipped() -> None:
    document = {
        "items": [
            {"cidr": "not-a-cidr", "product": ["statuspage"]},
            {"cidr": 5, "product": ["statuspage"]},
            "junk",
            {"cidr": "10.0.0.0/8", "product": ["statuspage"], "direction": ["egress"]},
        ]
    }
    assert statuspage_cidrs(document) == ["10.0.0.0/8"]


def test_lookup_ipv4_ipv6_and_mapped() -> None:
    ranges = IPRanges.from_cidrs(["13.52.5.96/28", "2600:1f18:2146:e300::/56"])
    assert ipaddress.ip_address("13.52.5.96") in ranges
    assert ipaddress.ip_address("13.52.5.111") in ranges
    assert ipaddress.ip_address("13.52.5.112") not in ranges
    assert ipaddress.ip_address("13.52.5.95") not in ranges
    assert ipaddress.ip_address("2600:1f18:2146:e3ff:ffff::1") in ranges
    assert ipaddress.ip_address("2600:1f18:2146:e400::") not in ranges
    assert ipaddress.ip_address("::ffff:13.52.5.100") in ranges
    # An IPv4 number never matches an IPv6 range of the same integer value, nor the reverse.
    assert ipaddress.ip_address("::d34:560") not in ranges


networks = st.one_of(
    st.builds(
        lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, 2**32 - 1), st.integers(8, 32)
    ),
    st.builds(
        lambda a, p: ipaddress.ip_network((a, p), strict=False),
        st.integers(0, 2**128 - 1),
        st.integers(16, 128),
    ),
)
addresses = st.one_of(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
)


@settings(max_examples=300, deadline=None)
@given(nets=st.lists(networks, max_size=30), probes=st.lists(addresses, max_size=30))
def test_binary_search_agrees_with_a_linear_scan(nets, probes) -> None:
    ranges = IPRanges.from_cidrs(str(n) for n in nets)
    for net in nets:
        probes += [net.network_address, net.broadcast_address]
    for address in probes:
        if address.version == 6 and address.ipv4_mapped is not None:
            continue  # covered by the mapped-address test
        expected = any(address in net for net in nets)
        assert (address in ranges) is expected, address


@pytest.mark.parametrize(
    ("header", "remote", "hops", "expected"),
    [
        ("203.0.113.9", "10.0.0.1", 1, "203.0.113.9"),
        ("13.52.5.97, 203.0.113.9", None, 1, "203.0.113.9"),  # left-most is the client's word
        ("1.1.1.1,  13.52.5.97 ,130.211.0.5", None, 2, "13.52.5.97"),
        ("2001:db8::1", None, 1, "2001:db8::1"),
        ("[2001:db8::1]", None, 1, "2001:db8::1"),
        (None, "127.0.0.1", 1, "127.0.0.1"),
        ("130.211.0.5", None, 2, None),
        ("", "127.0.0.1", 1, None),  # a present but empty header does not fall back
        ("1.2.3.4:80", None, 1, None),
        (None, None, 1, None),
    ],
)
def test_client_ip(header, remote, hops, expected) -> None:
    got = client_ip(header, remote, hops)
    assert (str(got) if got else None) == expected


def test_parse_ip_rejects_garbage() -> None:
    assert parse_ip("unknown") is None
    assert parse_ip("") is None

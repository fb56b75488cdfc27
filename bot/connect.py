"""A connect timeout that bounds the whole connect, not each address.

urllib3 (under requests, tweepy and google-cloud-storage) tries every address a host
resolves to, each with the full connect timeout: a host with 6 unreachable addresses took
6 times its timeout. Here the timeout is shared: each address gets what remains of it.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import urllib3.util.connection as urllib3_connection

_urllib3_create_connection = urllib3_connection.create_connection


def create_connection(
    address: tuple[str, int],
    timeout: Any = urllib3_connection._DEFAULT_TIMEOUT,
    source_address: tuple[str, int] | None = None,
    socket_options: Any = None,
) -> socket.socket:
    """urllib3's create_connection, with `timeout` bounding all the addresses together."""
    if not isinstance(timeout, int | float):  # None or urllib3's "socket default": as urllib3 does
        return _urllib3_create_connection(address, timeout, source_address, socket_options)
    host, port = address
    ends = time.monotonic() + timeout
    found = socket.getaddrinfo(
        host.strip("[]"), port, urllib3_connection.allowed_gai_family(), socket.SOCK_STREAM
    )
    error: OSError | None = None
    for *_, sockaddr in found:
        remaining = ends - time.monotonic()
        if remaining <= 0:
            break
        try:
            # An address, not a name: urllib3 resolves it to itself and tries it alone.
            return _urllib3_create_connection(sockaddr[:2], remaining, source_address, socket_options)
        except OSError as exc:
            error = exc
    if error is not None and time.monotonic() < ends:
        raise error  # every address refused, in time
    # urllib3 maps a socket timeout to ConnectTimeoutError.
    raise TimeoutError(f"connect to {host}:{port} timed out after {timeout:.2f} s ({len(found)} addresses)")


def install() -> None:
    """Make every urllib3 connection of this process use `create_connection`."""
    urllib3_connection.create_connection = create_connection

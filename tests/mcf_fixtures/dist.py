"""Helpers for tests that start several processes on this machine."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a process group's MASTER_PORT)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

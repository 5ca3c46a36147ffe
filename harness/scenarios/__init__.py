"""Every scenario module; importing this package registers them all.

``server`` (the student's server, raw-socket probes), ``client`` (the student's client in a
terminal, the harness as its server) and ``end_to_end`` (both of the student's programs).
"""

from harness.scenarios import client, end_to_end, server

__all__ = ["client", "end_to_end", "server"]

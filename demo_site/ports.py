"""`make demo`'s first step: both ports must be free before either server starts.

Otherwise one server dies with "address already in use" while the other runs on alone.
Usage: python -m demo_site.ports COLLECTOR_PORT DEMO_PORT (exit status 1, with a message, if not).
"""

from __future__ import annotations

import socket
import sys


def taken_ports(ports: dict[str, int], host: str = "127.0.0.1") -> list[str]:
    """The ports something already listens on, as "8000 (DEMO_PORT)"."""
    taken = []
    for name, port in ports.items():
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                taken.append(f"{port} ({name})")
    return taken


def main(argv: list[str]) -> int:
    collector_port, demo_port = (int(value) for value in argv)
    taken = taken_ports({"COLLECTOR_PORT": collector_port, "DEMO_PORT": demo_port})
    if taken:
        print(
            f"make demo: port {' and '.join(taken)} on 127.0.0.1 is already in use; nothing was "
            "started. Stop what uses it, or choose other ports: "
            f"make demo COLLECTOR_PORT={collector_port + 1} DEMO_PORT={demo_port + 1}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

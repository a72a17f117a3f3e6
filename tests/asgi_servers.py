"""Real HTTP servers for the tests: an ASGI app served by uvicorn from a daemon thread.

from asgi_servers import free_socket, serve_in_thread

running = serve_in_thread(create_app(settings), free_socket())
...  # talk to it over HTTP at running.url
running.stop()
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT_SECONDS = 10


def free_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1.

    IPPROTO_TCP, so asyncio turns on TCP_NODELAY (protocol 0 leaves Nagle on: ~40 ms a request).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT_SECONDS)
        self.sock.close()


def serve_in_thread(app: ASGIApp, sock: socket.socket, **config: Any) -> RunningServer:
    """Serve `app` on `sock` (extra uvicorn options, e.g. TLS files, in `config`); returns once
    it accepts connections."""
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", **config)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    return RunningServer(server, thread, sock)

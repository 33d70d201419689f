"""Serving the edge API in-process with uvicorn, with a clear error when the port is taken."""

from __future__ import annotations

import asyncio
import errno
import socket

import uvicorn
from fastapi import FastAPI

__all__ = ["PortInUseError", "check_port", "start_server"]


class PortInUseError(OSError):
    """The address the API should listen on is already taken."""


def check_port(host: str, port: int) -> None:
    """Raise :class:`PortInUseError` naming the address if ``host:port`` cannot be bound."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as uvicorn does: a socket of a process that just died (TIME_WAIT) does not count as
        # "in use", a live listener still does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(
                    f"cannot listen on {host}:{port}: the port is already in use "
                    "(stop the other program or choose another port with --port)"
                ) from None
            raise


async def start_server(
    app: FastAPI, host: str, port: int
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Start uvicorn on the running event loop; returns the server and its task.

    Stop it with ``server.should_exit = True`` and await the task.
    """
    check_port(host, port)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise the start-up failure
            raise PortInUseError(f"the API server on {host}:{port} stopped during start-up")
        await asyncio.sleep(0.02)
    return server, task

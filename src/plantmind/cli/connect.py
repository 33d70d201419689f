"""``plantmind connect browse``: look into an industrial server (an OPC UA address space) to
map its nodes to the plant's signals."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from plantmind.cli.common import console, fail

__all__ = ["connect_app"]

connect_app = typer.Typer(
    help="Industrial connectivity: OPC UA, MQTT, Modbus.", no_args_is_help=True
)


@connect_app.command("browse")
def connect_browse(
    url: Annotated[str, typer.Argument(help="OPC UA endpoint, e.g. opc.tcp://10.0.0.5:4840/")],
    depth: Annotated[int, typer.Option(help="How many levels below the root.")] = 3,
    root: Annotated[str | None, typer.Option(help="Start node id (default: Objects).")] = None,
    username: Annotated[str | None, typer.Option(help="User name (anonymous if omitted).")] = None,
    password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the password.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 10.0,
) -> None:
    """Print an OPC UA server's address space as a tree (node class, type, node id, value)."""
    from plantmind.connectors.opcua import browse_tree

    try:
        lines = asyncio.run(
            browse_tree(
                url,
                depth,
                username=username,
                password_env=password_env,
                root=root,
                timeout_s=timeout,
            )
        )
    except Exception as exc:  # any connection or protocol failure: say which and where
        raise fail(f"{url}: {type(exc).__name__}: {exc}") from None
    for line in lines:
        console.print(line, highlight=False)

"""A real server process for the reliability tests: ``hub`` (the hub's HTTP API over a
fleet store) or ``edge`` (an edge node's API with the example plant's inspection station),
served by uvicorn on ``--port`` until SIGTERM. Tokens are read from ``<home>/tokens.json``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def _hub_app(home: Path, db: str) -> FastAPI:
    from plantmind.central.service import CentralService, default_db_url

    return CentralService(db or default_db_url(home), home).app()


def _edge_app(home: Path) -> FastAPI:
    from plantmind.core.plant import example_plant_path, load_plant
    from plantmind.edge.api import create_app
    from plantmind.edge.node import EdgeNode

    return create_app(EdgeNode(load_plant(example_plant_path()), home, restore=False))


async def main(a: argparse.Namespace) -> None:
    home = Path(a.home)
    app = _hub_app(home, a.db) if a.kind == "hub" else _edge_app(home)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=a.port, log_level="warning", lifespan="off")
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    await server.serve()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["hub", "edge"])
    p.add_argument("--home", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--db", default="")
    asyncio.run(main(p.parse_args()))

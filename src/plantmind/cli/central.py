"""``plantmind central ...`` (the hub service) and ``plantmind token ...`` (API tokens)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from plantmind.cli.common import HomeOpt, console, err, plant_or_fail
from plantmind.core.settings import resolve_home

__all__ = ["central_app", "token_app"]

central_app = typer.Typer(help="The central hub service.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (bearer, with a role).", no_args_is_help=True)


@central_app.command("run")
def central_run(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Fleet store URL: sqlite:///path or postgresql+psycopg://user@host/db "
            "(default: SQLite in <home>/central.db).",
        ),
    ] = None,
    home: HomeOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8090,
    mqtt: Annotated[bool, typer.Option("--mqtt/--no-mqtt", help="Receive over MQTT too.")] = True,
    mqtt_host: Annotated[str, typer.Option(help="MQTT broker host.")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help="MQTT broker port.")] = 1883,
    mqtt_username: Annotated[str | None, typer.Option(help="MQTT user name.")] = None,
    mqtt_password: Annotated[
        str | None,
        typer.Option(envvar="PLANTMIND_MQTT_PASSWORD", help="MQTT password (prefer the env var)."),
    ] = None,
    mqtt_tls: Annotated[bool, typer.Option(help="TLS to the broker.")] = False,
    mqtt_ca: Annotated[Path | None, typer.Option(help="CA bundle for the broker's TLS.")] = None,
    plant: Annotated[
        Path | None,
        typer.Option(
            "--plant",
            help="plant.yaml whose llm section names the central model for analysis jobs and "
            "whose egress policy the hub enforces for its sites (default: none; jobs run their "
            "deterministic pipelines and say so, and every site gets the default egress "
            "policy: alerts, health, aggregates).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the hub: HTTP ingest and API, MQTT listener, fleet store, analysis jobs."""
    from plantmind.central.service import CentralService, default_db_url, site_policies_of
    from plantmind.sync.transport_mqtt import HubMqttConfig

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = resolve_home(home)
    url = db or default_db_url(root)
    router = None
    policies = None
    if plant is not None:
        from plantmind.llm.router import Router

        model = plant_or_fail(plant)[0]
        router = Router.from_plant(model, root / "llm", env=False)
        policies = site_policies_of(model)
    hub = CentralService(url, root, router=router, site_policies=policies)
    cfg = (
        HubMqttConfig(
            host=mqtt_host,
            port=mqtt_port,
            username=mqtt_username,
            password=mqtt_password,
            tls=mqtt_tls,
            ca_file=str(mqtt_ca) if mqtt_ca else None,
        )
        if mqtt
        else None
    )
    # the URL may hold a password: show only the driver and the database
    shown = hub.store.engine.url.render_as_string(hide_password=True)
    console.print(
        f"hub on http://{host}:{port}/  store {shown}"
        + (f"  MQTT {cfg.destination}" if cfg else ""),
        highlight=False,
    )
    try:
        asyncio.run(hub.serve(host, port, cfg))
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer, operator, engineer or admin.")] = "viewer",
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    site: Annotated[
        str | None,
        typer.Option(
            help="Bind the token to this site id: the hub stores batches sent with it only "
            "for that site (give every site its own operator token)."
        ),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Create a token and print it once; only its hash is kept (in <home>/tokens.json)."""
    from plantmind.core.auth import TokenStore

    try:
        token = TokenStore.in_home(resolve_home(home)).create(role, label=label, site=site)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    # stdout carries only the token, so `TOKEN=$(plantmind token create ...)` works
    typer.echo(token)
    err.print("store it now: it cannot be shown again", highlight=False)


@token_app.command("list")
def token_list(home: HomeOpt = None) -> None:
    """Token ids, roles, sites and labels (never the tokens); "-" is a token bound to no
    site."""
    from plantmind.core.auth import TokenStore

    rows = TokenStore.in_home(resolve_home(home)).list()
    for r in rows:
        site = r["site"] or "-"
        console.print(f"{r['id']}  {r['role']:<9} {site:<16} {r['label']}", highlight=False)
    if not rows:
        console.print("no tokens")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The id from `token list`.")], home: HomeOpt = None
) -> None:
    """Revoke a token by its id."""
    from plantmind.core.auth import TokenStore

    if not TokenStore.in_home(resolve_home(home)).revoke(token_id):
        err.print(f"[bold red]error:[/] no token with id {token_id!r}", highlight=False)
        raise typer.Exit(2)
    console.print(f"revoked {token_id}")

"""``plantmind central ...`` (the hub service) and ``plantmind token ...`` (API tokens)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from plantmind.cli.common import HomeOpt, PlantOpt, console, err, fail, plant_or_fail
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

        model, plant_path = plant_or_fail(plant)
        router = Router.from_plant(model, root / "llm", env=False, base_dir=plant_path.parent)
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


@central_app.command("broker-acl")
def central_broker_acl(
    plant: PlantOpt = None,
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site", help="Only this site of the plant (repeat for several; default: all)."
        ),
    ] = None,
    hub_user: Annotated[str, typer.Option(help="The hub's MQTT user name.")] = "hub",
    prefix: Annotated[
        str, typer.Option(help="Topic prefix: topics are <prefix>/v1/batch|ack/<site>.")
    ] = "plantmind",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the ACL here (default: stdout).")
    ] = None,
) -> None:
    """Write a Mosquitto ACL for the fleet: each site (user = site id) may only publish its
    own batches and read its own acks; the hub reads every batch and writes the acks;
    anonymous clients get nothing. The mosquitto.conf lines to use go to stderr."""
    from plantmind.sync.broker_acl import BrokerAclError, broker_acl, mosquitto_conf_lines

    model = plant_or_fail(plant)[0]
    known = [s.id for s in model.sites]
    chosen = known
    if site:
        unknown = [s for s in site if s not in known]
        if unknown:
            raise fail(f"--site {', '.join(unknown)}: not in the plant (sites: {', '.join(known)})")
        chosen = list(dict.fromkeys(site))  # a site named twice is meant once
    try:
        text = broker_acl(chosen, hub_user=hub_user, prefix=prefix)
    except BrokerAclError as exc:
        raise fail(str(exc)) from None
    if out is None:
        # stdout carries only the ACL, so `... broker-acl > acl.conf` works
        typer.echo(text, nl=False)
        acl_path = "/etc/mosquitto/acl.conf"
    else:
        out.write_text(text, encoding="utf-8")
        acl_path = str(out.resolve())
        err.print(f"wrote the ACL for {len(chosen)} site(s) to {out}", highlight=False)
    passwd = "/etc/mosquitto/passwd"
    conf = "\n".join(f"  {line}" for line in mosquitto_conf_lines(acl_path, passwd))
    users = "\n".join(f"  mosquitto_passwd {passwd} {s}" for s in chosen)
    err.print(
        "in mosquitto.conf (with your `listener` line; add TLS there for mqtts://):\n"
        f"{conf}\n"
        "passwords (-c creates the file and overwrites an existing one: use it once):\n"
        f"  mosquitto_passwd -c {passwd} {hub_user}\n{users}\n"
        "then `central run --mqtt-username "
        f"{hub_user}` with $PLANTMIND_MQTT_PASSWORD, and on each site `edge run --hub "
        "mqtt(s)://...` with $PLANTMIND_MQTT_USERNAME=<site id> and $PLANTMIND_MQTT_PASSWORD",
        highlight=False,
        markup=False,
    )
    if prefix != "plantmind":
        err.print(
            f"note: `central run` and `edge run` use the topics plantmind/v1/...; an ACL for "
            f"prefix {prefix!r} only fits clients configured with that prefix",
            highlight=False,
            markup=False,
        )


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

"""``plantmind models ...``: signing keys, publishing signed model versions to the hub's
registry, staged deployment and rollback, the fleet's status, air-gap bundles (export at the
centre, import at a site) and the edge agent. The work is done by :mod:`plantmind.models`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from plantmind.cli.common import console, fail

__all__ = ["models_app", "parse_duration"]

models_app = typer.Typer(
    help="Signed models: keys, registry, staged rollout, bundles, the edge agent.",
    no_args_is_help=True,
)

HubOpt = Annotated[
    str, typer.Option("--hub", envvar="PLANTMIND_HUB", help="The hub's URL.")
]  # fmt: skip
TokenOpt = Annotated[
    str, typer.Option("--token", envvar="PLANTMIND_TOKEN", help="API token (prefer the env var).")
]
KeyDirOpt = Annotated[
    Path, typer.Option("--keys", help="Folder of root.key.json, targets.key.json, root.json.")
]


def parse_duration(text: str) -> float:
    """Seconds of ``90``, ``90s``, ``5m``, ``1h``, ``1m30s``, ``365d``."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)([dhms])", t)
    if not parts or "".join(a + b for a, b in parts) != t:
        raise typer.BadParameter(f"not a duration: {text!r} (use 90s, 5m, 1h)")
    return sum(float(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _client(hub: str, token: str) -> Any:
    from plantmind.models.client import HubClient

    if not hub:
        raise fail("give --hub (or set PLANTMIND_HUB)")
    return HubClient(hub, token)


def _hub_call(fn: Any, *args: Any, **kw: Any) -> Any:
    import httpx

    from plantmind.models.client import HubError

    try:
        return fn(*args, **kw)
    except HubError as exc:
        raise fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the hub: {exc}") from None


@models_app.command("keygen")
def keygen(
    keys: KeyDirOpt,
    rotate: Annotated[
        bool, typer.Option(help="Replace the targets key (and with --new-root the root key).")
    ] = False,
    new_root: Annotated[bool, typer.Option(help="With --rotate: a new root key too.")] = False,
    hub: Annotated[str, typer.Option(envvar="PLANTMIND_HUB", help="Push a rotated root.")] = "",
    token: TokenOpt = "",
) -> None:
    """Make the root and targets keys and root.json (version 1); ``--rotate`` makes the next
    root version, signed by the old root key and the new one (give it to the hub)."""
    from plantmind.models.signing import SigningKey, TrustedRoot, make_root

    keys.mkdir(parents=True, exist_ok=True)
    rk, tk, rj = keys / "root.key.json", keys / "targets.key.json", keys / "root.json"
    if not rotate:
        if rk.exists() or tk.exists():
            raise fail(f"{keys} already holds keys (use --rotate)")
        root_key, targets = SigningKey.generate(), SigningKey.generate()
        root_key.save(rk)
        targets.save(tk)
        rj.write_text(json.dumps(make_root([root_key], [targets.public_hex]), indent=1))
        console.print(f"root key {root_key.keyid}, targets key {targets.keyid}; root.json v1 "
                      f"in {keys} (give root.json to every site; keep the keys offline)")  # fmt: skip
        return
    old_root = TrustedRoot.load(rj)
    old_key = SigningKey.load(rk)
    v = old_root.version
    archive = keys / "old"
    archive.mkdir(exist_ok=True)
    targets = SigningKey.generate()
    tk.rename(archive / f"targets.v{v}.key.json")
    targets.save(tk)
    root_key = old_key
    if new_root:
        root_key = SigningKey.generate()
        rk.rename(archive / f"root.v{v}.key.json")
        root_key.save(rk)
    env = make_root([root_key], [targets.public_hex], version=v + 1, also_sign=[old_key])
    old_root.update(env)  # the sites will accept it
    (archive / f"root.v{v}.json").write_text(rj.read_text())
    rj.write_text(json.dumps(env, indent=1))
    console.print(f"root.json v{v + 1}: targets key {targets.keyid}, root key {root_key.keyid}")
    if hub:
        with _client(hub, token) as c:
            _hub_call(c.add_root, env)
        console.print("the hub has the new root; sites take it at their next poll")


@models_app.command("init")
def init(
    root: Annotated[Path, typer.Option(help="root.json (from `models keygen`).")],
    home: Annotated[Path, typer.Option("--home", envvar="PLANTMIND_HOME", help="The hub's home.")],
    blobs: Annotated[
        str | None,
        typer.Option(
            help="Where the models' files live: an fsspec URL (s3://bucket/prefix, extra [s3]; "
            "credentials from the AWS environment) instead of <home>/models/blobs."
        ),
    ] = None,
) -> None:
    """Make the hub's registry folder (``<home>/models``) trusting ``root``. ``--blobs`` on
    a registry whose files are in another store is refused while that store holds files the
    new one lacks (copy them over first): the sites would get 404 for them."""
    from plantmind.models.registry import Registry, RegistryError
    from plantmind.models.store import is_url

    reg_home = home / "models"
    if blobs is not None and not is_url(blobs):
        blobs = str(Path(blobs).expanduser().resolve())  # a folder named from here
    try:
        if blobs is not None:
            _refuse_orphaned_blobs(reg_home, blobs)
        reg = Registry(reg_home, json.loads(root.read_text()), blobs=blobs)
    except ImportError as exc:
        raise fail(str(exc)) from None
    except (RegistryError, ValueError) as exc:
        raise fail(str(exc)) from None
    where = f", files in {blobs}" if blobs else ""
    console.print(f"registry in {reg.home}, root v{reg.roots()[-1]}{where}")


def _same_store(a: str | Path, b: str | Path) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return str(a).rstrip("/") == str(b).rstrip("/")
    return a.resolve() == b.resolve()


def _refuse_orphaned_blobs(reg_home: Path, blobs: str) -> None:
    """Fail if the registry's current local blob folder holds files that the store at
    ``blobs`` lacks (a registry at a URL already is not listed: that needs its credentials)."""
    from plantmind.models.registry import blob_location
    from plantmind.models.store import open_blob_store

    cfg_path = reg_home / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}
    current, new = blob_location(reg_home, cfg.get("blobs")), blob_location(reg_home, blobs)
    if isinstance(current, str) or _same_store(current, new):
        return
    folder = current / "sha256"
    held = sorted(
        p.name for p in folder.glob("*/*") if p.is_file() and re.fullmatch(r"[0-9a-f]{64}", p.name)
    )
    if not held:
        return
    try:
        store = open_blob_store(new, reg_home / "blobs" / "partial")
        missing = [sha for sha in held if not store.has(sha)]
    except ImportError:
        raise
    except Exception as exc:  # a store we cannot reach: refuse rather than orphan the files
        raise fail(f"cannot check what {blobs} holds: {exc}") from None
    if missing:
        dest = f"{str(new).rstrip('/')}/sha256"
        how = f" (e.g. `aws s3 sync {folder} {dest}`)" if str(new).startswith("s3://") else ""
        raise fail(
            f"{folder} holds {len(held)} model file(s), {len(missing)} of them not in {blobs}: "
            "with the registry's files moved there, sites would get 404 for them. Copy the "
            f"folder's contents to {dest}/ first, in the same layout (<2 hex>/<64 hex>){how}, "
            "then run this again"
        )


@models_app.command("publish")
def publish(
    name: str,
    version: int,
    keys: KeyDirOpt,
    files: Annotated[
        list[Path] | None, typer.Option("--file", help="A file of the version (repeat).")
    ] = None,
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Every file of this folder (a health or station artifact)."),
    ] = None,
    kind: Annotated[str, typer.Option(help="detector, health, vision-station, ...")] = "detector",
    golden: Annotated[
        str | None, typer.Option(help="Which file holds the golden inputs and scores.")
    ] = None,
    golden_inputs: Annotated[
        Path | None,
        typer.Option(help="JSON list of inputs: golden.json is computed from this version."),
    ] = None,
    tolerance: Annotated[float, typer.Option(help="Golden score tolerance.")] = 1e-6,
    expires: Annotated[str, typer.Option(help="Validity of the manifest (365d, 90d).")] = "365d",
    rollback_floor: Annotated[
        int | None, typer.Option(help="Lowest version sites may roll back to from this one.")
    ] = None,
    metrics: Annotated[Path | None, typer.Option(help="JSON of the version's evaluation.")] = None,
    hub: HubOpt = "",
    token: TokenOpt = "",
) -> None:
    """Sign a version (manifest + rollback statement) and upload it to the hub's registry."""
    import tempfile

    from plantmind.models.activators import golden_doc
    from plantmind.models.agent import default_activators
    from plantmind.models.manifest import build_manifest, build_rollback
    from plantmind.models.signing import SigningKey, TrustError

    targets = SigningKey.load(keys / "targets.key.json")
    by_name: dict[str, Path] = {}
    for f in files or []:
        if f.name in by_name:
            raise fail(f"two --file share the name {f.name}")
        by_name[f.name] = f
    if folder is not None:
        if not folder.is_dir():
            raise fail(f"--dir {folder}: no such folder")
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                by_name[f.relative_to(folder).as_posix()] = f
    missing = [str(f) for f in by_name.values() if not f.is_file()]
    if not by_name or missing:
        raise fail(f"no such file: {', '.join(missing)}" if missing else "give --file or --dir")
    with tempfile.TemporaryDirectory() as tmp:
        if golden_inputs is not None:
            act = default_activators().get(kind)
            if act is None:
                raise fail(f"no activator computes golden scores for kind {kind!r}")
            try:
                doc = golden_doc(act, by_name, json.loads(golden_inputs.read_text()))
            except (TrustError, ValueError, TypeError) as exc:
                raise fail(f"golden scores: {exc}") from None
            golden = "golden.json"
            by_name[golden] = Path(tmp) / golden
            by_name[golden].write_text(json.dumps(doc))
        g = {"path": golden, "tolerance": tolerance} if golden else None
        try:
            env = build_manifest(
                name, kind, version, by_name, [targets], expires_s=parse_duration(expires),
                golden=g, metrics=json.loads(metrics.read_text()) if metrics else None,
            )  # fmt: skip
        except TrustError as exc:
            raise fail(str(exc)) from None
        floor = rollback_floor if rollback_floor is not None else max(1, version - 1)
        rb = build_rollback(name, version, floor, [targets]) if version > 1 else None
        with _client(hub, token) as c:
            out = _hub_call(c.publish, env, by_name, rb)
    console.print(f"published {out['name']} v{out['version']} (digest {out['digest'][:16]}…)")


@models_app.command("list")
def list_models(hub: HubOpt = "", token: TokenOpt = "") -> None:
    """Models in the registry: versions, and champion/candidate per site group."""
    with _client(hub, token) as c:
        rows = _hub_call(c.models)
    if not rows:
        console.print("no models")
    for r in rows:
        vs = ", ".join(f"v{v['version']}" for v in r["versions"])
        al = "; ".join(f"{g}: champion v{a.get('champion')}, candidate v{a.get('candidate')}"
                       for g, a in r["aliases"].items())  # fmt: skip
        console.print(
            f"{r['name']} ({r['versions'][-1]['kind']}): {vs}  {al}", highlight=False, markup=False
        )


@models_app.command("show")
def show(name: str, version: int, hub: HubOpt = "", token: TokenOpt = "") -> None:
    """The signed manifest of one version, as JSON."""
    with _client(hub, token) as c:
        env = _hub_call(c.manifest, name, version)
    console.print_json(json.dumps(env))


@models_app.command("deploy")
def deploy(
    name: str,
    version: int,
    sites: Annotated[str, typer.Option(help="Comma-separated site ids.")],
    canary: Annotated[int, typer.Option(help="Canary sites (the first N of --sites).")] = 1,
    bake: Annotated[str, typer.Option(help="Bake time watching the gate (60s, 5m).")] = "60s",
    batch: Annotated[int, typer.Option(help="Sites per step after the bake (0: all).")] = 0,
    group: Annotated[str, typer.Option(help="Site group of the aliases.")] = "default",
    hub: HubOpt = "",
    token: TokenOpt = "",
) -> None:
    """Staged rollout: canary, bake with the health gate, then the rest; rolls back by itself
    on a failed gate."""
    site_list = [s.strip() for s in sites.split(",") if s.strip()]
    with _client(hub, token) as c:
        d = _hub_call(c.deploy, name, version, site_list, canary=canary,
                      bake_s=parse_duration(bake), batch=batch, group=group)  # fmt: skip
    console.print(f"deployment {d['id']}: {name} v{version} → {len(site_list)} site(s), "
                  f"state {d['state']}")  # fmt: skip


@models_app.command("rollback")
def rollback(
    name: str,
    to: Annotated[int | None, typer.Option("--to", help="The version to go back to.")] = None,
    keys: Annotated[
        Path | None, typer.Option("--keys", help="Sign a rollback statement with these keys.")
    ] = None,
    group: Annotated[str, typer.Option(help="Site group.")] = "default",
    hub: HubOpt = "",
    token: TokenOpt = "",
) -> None:
    """Stop a rollout in progress, or make an earlier version the champion again."""
    statement = None
    if keys is not None:
        from plantmind.models.manifest import build_rollback
        from plantmind.models.signing import SigningKey

        if to is None:
            raise fail("--keys needs --to (the version the statement allows)")
        with _client(hub, token) as c:
            newest = max(v["version"] for r in _hub_call(c.models) if r["name"] == name
                         for v in r["versions"])  # fmt: skip
        statement = build_rollback(name, newest, to, [SigningKey.load(keys / "targets.key.json")])
    with _client(hub, token) as c:
        console.print(_hub_call(c.rollback, name, group=group, to_version=to, statement=statement))


@models_app.command("status")
def status(hub: HubOpt = "", token: TokenOpt = "") -> None:
    """Deployments (newest first) and what every site runs."""
    with _client(hub, token) as c:
        deps = _hub_call(c.deployments)
        inv = _hub_call(c.inventory)
    for d in deps[:20]:
        console.print(f"{d['id']} {d['name']} v{d['version']} [{d['group']}] {d['state']}: "
                      f"{d.get('reason', '')}", highlight=False, markup=False)  # fmt: skip
    for r in inv:
        ms = ", ".join(f"{m['name']} v{m['version']} {m['state']} ({m['digest'][:12]})"
                       for m in r.get("models", []))  # fmt: skip
        refused = len(r.get("refusals", []))
        console.print(f"{r['site']}: {ms or 'no model'}" + (f"; {refused} refusal(s)" if refused
                      else ""), highlight=False, markup=False)  # fmt: skip


@models_app.command("export")
def export(
    models: Annotated[list[str], typer.Argument(help="NAME or NAME@VERSION.")],
    bundle: Annotated[Path, typer.Option("--bundle", help="The bundle file to write.")],
    registry: Annotated[Path, typer.Option(help="The hub's registry folder (<home>/models).")],
) -> None:
    """Write an air-gap bundle: the trust chain, manifests, rollback statements and files."""
    from plantmind.models.bundle import export_bundle
    from plantmind.models.registry import Registry, RegistryError

    picks: list[tuple[str, int | None]] = []
    for m in models:
        n, _, v = m.partition("@")
        picks.append((n, int(v) if v else None))
    try:
        out = export_bundle(Registry(registry), bundle, picks)
    except (RegistryError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(f"wrote {out} ({out.stat().st_size:,} bytes)")


@models_app.command("import")
def import_(
    bundle: Path,
    home: Annotated[Path, typer.Option(help="The site's model folder.")],
    root: Annotated[
        Path | None, typer.Option(help="The trusted root.json (first time only).")
    ] = None,
) -> None:
    """Install a bundle at a site, with exactly the checks of a pull."""
    from plantmind.models.agent import SiteModels
    from plantmind.models.bundle import import_bundle
    from plantmind.models.signing import TrustError

    try:
        site = SiteModels(home, root=json.loads(root.read_text()) if root else None)
        site.restore()
        rows = import_bundle(bundle, site)
    except TrustError as exc:
        raise fail(f"refused: {exc}") from None
    bad = [r for r in rows if not r["ok"]]
    for r in rows:
        console.print(f"{r['name']} v{r['version']}: " + ("active" if r["ok"] else
                      f"refused ({r.get('reason')})"), highlight=False, markup=False)  # fmt: skip
    if bad:
        raise typer.Exit(1)


@models_app.command("agent")
def agent(
    site: Annotated[str, typer.Option(help="This site's id.")],
    home: Annotated[Path, typer.Option(help="The site's model folder.")],
    root: Annotated[Path | None, typer.Option(help="The trusted root.json (first start).")] = None,
    interval: Annotated[str, typer.Option(help="Poll interval (30s, 5m).")] = "30s",
    hub: HubOpt = "",
    token: TokenOpt = "",
) -> None:
    """Run the edge agent: pull, verify, activate, report (outbound only)."""
    from plantmind.models.agent import main

    args = ["--hub", hub, "--site", site, "--home", str(home), "--token", token,
            "--interval", str(parse_duration(interval))]  # fmt: skip
    if root is not None:
        args += ["--root", str(root)]
    raise typer.Exit(main(args))

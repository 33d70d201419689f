"""``plantmind bench rollout``: a hub and N edge agents in one process, over real HTTP on
127.0.0.1, delivering signed detector models.

Phases: provisioning (v1 to every site, not timed); the tampering cases, each offered to a
separate site through the hub (a manifest with one byte changed, a file with one byte changed
on the hub's disk, an unknown key, an expired manifest, an older version without a signed
rollback, a forged rollback statement, golden inputs that do not reproduce, a bundle cut
short), each of which must be refused with its reason while that site keeps running its
model, and the refusal reported to the hub; a healthy rollout of v2 (one canary, ``bake_s``
of bake watching the health gate, then the rest); a bad v3 whose alert rate fails the gate on
the canary, rolled back automatically. Every site processes items all the time through its
:class:`~plantmind.models.activators.ModelSlot`; items that found no model are counted.

Figures: ``rollout_s`` (deploy → v2 active on every site), ``rollback_s`` (failed gate →
every site back on the champion), ``gate_failed_after_s`` (deploy of v3 → failed gate),
``tamper_cases``, ``tamper_refused``, ``items_without_model``, ``items``.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from plantmind.central.models_api import attach_models
from plantmind.central.service import CentralService, default_db_url
from plantmind.models.activators import DetectorSettingsActivator
from plantmind.models.agent import EdgeAgent, SiteModels
from plantmind.models.bundle import export_bundle, import_bundle
from plantmind.models.client import HubClient
from plantmind.models.manifest import build_manifest, build_rollback
from plantmind.models.registry import Registry
from plantmind.models.rollout import RolloutController
from plantmind.models.signing import SigningKey, canonical_json, make_root
from plantmind.models.store import atomic_write

__all__ = ["HubThread", "detector_version", "run_rollout_bench"]

NAME = "line-detector"
FEATURES = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubThread:
    """A hub (:class:`CentralService` with a model registry) served by uvicorn in a thread."""

    def __init__(self, home: Path, root: dict[str, Any], *, tick_s: float = 0.5) -> None:
        self.service = CentralService(default_db_url(home), home)
        self.app = self.service.app()
        self.registry = Registry(home / "models", root)
        self.rollout: RolloutController = attach_models(self.app, self.registry, tick_s=tick_s)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="hub", daemon=True)
        self.thread.start()
        t0 = time.time()
        while not self.server.started:
            if time.time() - t0 > 20 or not self.thread.is_alive():
                raise RuntimeError("the hub did not start")
            time.sleep(0.02)

    def token(self, role: str, site: str | None = None) -> str:
        return self.service.tokens.create(role, label=site or role, site=site)

    def close(self) -> None:
        self.rollout.stop()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.service.close()


def detector_version(
    folder: Path,
    version: int,
    key: SigningKey,
    *,
    weight: float = 0.25,
    threshold: float = 0.9,
    golden_shift: float = 0.0,
    expires_s: float = 86400.0,
    name: str = NAME,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """A signed detector version (settings + golden inputs) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = [weight] * FEATURES
    inputs = [[0.1 * i] * FEATURES for i in range(5)]
    expected = [sum(w * x for w, x in zip(weights, v, strict=True)) + golden_shift for v in inputs]
    (folder / "settings.json").write_text(
        json.dumps({"weights": weights, "bias": 0.0, "threshold": threshold})
    )
    (folder / "golden.json").write_text(json.dumps({"inputs": inputs, "expected": expected}))
    files = {"settings.json": folder / "settings.json", "golden.json": folder / "golden.json"}
    env = build_manifest(
        name, "detector", version, files, [key], expires_s=expires_s,
        golden={"path": "golden.json", "tolerance": 1e-9},
        metrics={"alert_rate_eval": 0.001}, data_fingerprint=f"sha256:bench-{version}",
    )  # fmt: skip
    return env, files


class _Worker(threading.Thread):
    """Items through one site's slot, all the time (about ``rate`` per second)."""

    def __init__(self, agent: SiteModels, name: str, rate: float, seed: int) -> None:
        super().__init__(daemon=True, name=f"items-{seed}")
        self.agent, self.model, self.rate = agent, name, rate
        self.rng = random.Random(seed)
        self.stop_ev = threading.Event()
        self.items = 0
        self.alerts_by_version: dict[int, int] = {}

    def run(self) -> None:
        pause = 1.0 / self.rate
        while not self.stop_ev.wait(pause):
            slot = self.agent.slots.get(self.model)
            if slot is None:
                continue  # not provisioned yet
            for _ in range(10):
                x = [self.rng.random() for _ in range(FEATURES)]
                out = slot.process(x, DetectorSettingsActivator.detect)
                self.items += 1
                if out is not None and out["alert"]:
                    v = int(out["model_version"])
                    self.alerts_by_version[v] = self.alerts_by_version.get(v, 0) + 1


def _wait(cond: Callable[[], bool], timeout_s: float, what: str, step: float = 0.1) -> float:
    t0 = time.time()
    while not cond():
        if time.time() - t0 > timeout_s:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(step)
    return time.time()


def _running(agent: SiteModels, name: str) -> int | None:
    slot = agent.slots.get(name)
    cur = slot.current if slot else None
    return cur.version if cur else None


def _tamper_cases(
    hub: HubThread, engineer: HubClient, key: SigningKey, work: Path, interval_s: float
) -> dict[str, dict[str, Any]]:
    """Each case offered to its own site through the hub; refused = reason named, model kept,
    refusal in the hub's copy of the site's report."""
    reg = hub.registry
    name = "tamper-detector"
    good, gfiles = detector_version(work / "t1", 10, key, name=name)
    engineer.publish(good, gfiles)  # no rollback statement for this model
    results: dict[str, dict[str, Any]] = {}

    def offer(case: str, expect: str, prepare: Callable[[str], None]) -> None:
        site = f"tamper-{case}"
        group = f"g-{case}"
        reg.set_group(site, group)
        reg.set_alias(group, name, champion=10)
        agent = EdgeAgent(hub.url, site, hub.token("operator", site), work / "sites" / site,
                          root=reg.root_envelope(1), interval_s=interval_s,
                          healthy_after_s=0.0)  # fmt: skip
        try:
            agent.sync_once()
            assert _running(agent, name) == 10, f"{case}: the good version did not install"
            prepare(group)
            agent.sync_once()
            running = _running(agent, name)
            reasons = [r["reason"] for r in agent.refusals]
            at_hub = [r["reason"] for r in (reg.site_report(site) or {}).get("refusals", [])]
            refused = running == 10 and expect in reasons and expect in at_hub
            results[case] = {
                "refused": refused,
                "expected": expect,
                "reasons": reasons,
                "running": running,
                "message": agent.refusals[-1]["message"] if agent.refusals else "",
            }
        finally:  # fmt: skip
            agent.close()

    def write_manifest(env: dict[str, Any]) -> None:
        s = env["signed"]
        atomic_write(reg.home / "manifests" / s["name"] / f"{s['version']}.json",
                     canonical_json(env))  # fmt: skip

    def signed_version(version: int, **kw: Any) -> tuple[dict[str, Any], dict[str, Path]]:
        return detector_version(work / f"t{version}", version, kw.pop("key", key), name=name, **kw)

    def manifest_byte(group: str) -> None:
        env, files = signed_version(11)
        for f in files.values():
            reg.blobs.put_file(f)
        bad = copy.deepcopy(env)
        bad["signed"]["metrics"]["alert_rate_eval"] = 0.002  # one value changed after signing
        write_manifest(bad)
        reg.set_alias(group, name, champion=11)

    def file_byte(group: str) -> None:
        env, files = signed_version(12, weight=0.3)
        engineer.publish(env, files)
        sha = env["signed"]["files"][1]["sha256"]  # settings.json
        p = reg.blobs.local_path(sha)
        assert p is not None  # the benchmark's registry keeps its blobs in a folder
        data = bytearray(p.read_bytes())
        data[5] ^= 0x01
        p.write_bytes(bytes(data))
        reg.set_alias(group, name, champion=12)

    def unknown_key(group: str) -> None:
        env, files = signed_version(13, key=SigningKey.generate())
        for f in files.values():
            reg.blobs.put_file(f)
        write_manifest(env)
        reg.set_alias(group, name, champion=13)

    def expired(group: str) -> None:
        env, files = signed_version(14, expires_s=-60.0)
        for f in files.values():
            reg.blobs.put_file(f)
        write_manifest(env)
        reg.set_alias(group, name, champion=14)

    def older(group: str) -> None:
        env, files = signed_version(3)
        engineer.publish(env, files)
        reg.set_alias(group, name, champion=3)

    def forged_rollback(group: str) -> None:
        env, files = signed_version(4)
        engineer.publish(env, files)
        forged = build_rollback(name, 10, 1, [SigningKey.generate()])
        atomic_write(reg.home / "rollbacks" / name / "10.json", canonical_json(forged))
        reg.set_alias(group, name, champion=4)

    def golden(group: str) -> None:
        env, files = signed_version(15, golden_shift=0.5)
        engineer.publish(env, files)
        reg.set_alias(group, name, champion=15)

    offer("manifest_byte_changed", "bad-signature", manifest_byte)
    offer("file_byte_changed", "bad-hash", file_byte)
    offer("unknown_key", "unknown-key", unknown_key)
    offer("expired", "expired", expired)
    offer("older_version_unsigned", "rollback", older)
    offer("forged_rollback", "unknown-key", forged_rollback)
    (reg.home / "rollbacks" / name / "10.json").unlink(missing_ok=True)
    offer("golden_not_reproduced", "golden", golden)

    # a bundle cut short, imported at a site running v10 (from a whole bundle)
    bundle = export_bundle(reg, work / "b.tar", [(name, 10)])
    site = SiteModels(work / "sites" / "tamper-bundle", root=reg.root_envelope(1),
                      healthy_after_s=0.0)  # fmt: skip
    import_bundle(bundle, site)
    cut = work / "cut.tar"
    data = bundle.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    reason = ""
    try:
        import_bundle(cut, site)
    except ValueError as exc:
        reason = getattr(exc, "reason", "") or str(exc)
        message = str(exc)
    else:
        message = ""
    results["bundle_cut_short"] = {"refused": reason == "truncated" and _running(site, name) == 10,
                                   "expected": "truncated", "reasons": [reason],
                                   "running": _running(site, name), "message": message}  # fmt: skip
    return results


def run_rollout_bench(
    *,
    sites: int = 10,
    bake_s: float = 60.0,
    interval_s: float = 1.0,
    items_per_s: float = 200.0,
    work: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the bench (see the module docstring); returns its figures."""
    say = progress or (lambda _m: None)
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="pm-rollout-")) if work is None else Path(work)
    root_key, targets = SigningKey.generate(), SigningKey.generate()
    root = make_root([root_key], [targets.public_hex])
    hub = HubThread(work / "hub", root, tick_s=0.25)
    engineer = HubClient(hub.url, hub.token("engineer"))
    names = [f"site-{i:02d}" for i in range(sites)]
    agents: list[EdgeAgent] = []
    workers: list[_Worker] = []
    threads: list[threading.Thread] = []
    try:
        for i, s in enumerate(names):
            a = EdgeAgent(hub.url, s, hub.token("operator", s), work / "sites" / s, root=root,
                          interval_s=interval_s, heartbeat_s=interval_s,
                          healthy_after_s=2 * interval_s)  # fmt: skip
            agents.append(a)
            t = threading.Thread(target=a.run, daemon=True, name=f"agent-{s}")
            t.start()
            threads.append(t)
            w = _Worker(a, NAME, items_per_s / 10, i)
            w.start()
            workers.append(w)
        say(f"hub on {hub.url}, {sites} agents polling every {interval_s:g} s")

        def publish(v: int, **kw: Any) -> None:
            env, files = detector_version(work / "pub" / f"v{v}", v, targets, **kw)
            engineer.publish(env, files, build_rollback(NAME, v, 1, [targets]))

        def on_all(v: int) -> Callable[[], bool]:
            return lambda: all(_running(a, NAME) == v for a in agents)

        publish(1)
        engineer.deploy(NAME, 1, names, canary=0, bake_s=0)
        _wait(on_all(1), 120, "v1 on every site")
        say("v1 runs on every site")

        tamper = _tamper_cases(hub, engineer, targets, work / "tamper", interval_s)
        refused = sum(1 for r in tamper.values() if r["refused"])
        say(f"tampering: {refused} of {len(tamper)} cases refused")

        publish(2, weight=0.26)
        t0 = time.time()
        d = engineer.deploy(NAME, 2, names, canary=1, bake_s=bake_s)
        _wait(lambda: hub.rollout.get(d["id"])["state"] not in ("canary", "baking", "rolling"),
              bake_s + 300, "the healthy rollout")  # fmt: skip
        t_done = _wait(on_all(2), 120, "v2 on every site")
        d2 = hub.rollout.get(d["id"])
        rollout_s = t_done - t0
        say(f"v2: {d2['state']} ({d2['reason']}) after {rollout_s:.1f} s")

        publish(3, weight=0.26, threshold=0.3)  # alerts on most items: fails the alert gate
        t1 = time.time()
        d = engineer.deploy(NAME, 3, names, canary=1, bake_s=bake_s)
        _wait(lambda: hub.rollout.get(d["id"])["state"] not in ("canary", "baking", "rolling"),
              bake_s + 300, "the failed gate")  # fmt: skip
        d3 = hub.rollout.get(d["id"])
        t_back = _wait(on_all(2), 120, "every site back on v2")
        _wait(lambda: hub.rollout.get(d["id"])["rollback_complete"] is not None, 30,
              "the hub to see the rollback")  # fmt: skip
        rollback_s = t_back - float(d3["ended"])
        say(f"v3: {d3['state']} ({d3['reason']}); back on v2 in {rollback_s:.1f} s")

        time.sleep(interval_s * 2)
        inv = {r["site"]: [(m["name"], m["version"]) for m in r["models"]]
               for r in engineer.inventory()}  # fmt: skip
        without = sum(a.slots[NAME].items_without_model for a in agents if NAME in a.slots)
        v2_alerts = sum(w.alerts_by_version.get(2, 0) for w in workers)
        return {
            "sites": sites,
            "bake_s": bake_s,
            "interval_s": interval_s,
            "rollout_s": round(rollout_s, 2),
            "rollout_state": d2["state"],
            "rollback_s": round(rollback_s, 2),
            "gate_failed_after_s": round(float(d3["ended"]) - t1, 2),
            "rollback_state": d3["state"],
            "rollback_reason": d3["reason"],
            "tamper_cases": len(tamper),
            "tamper_refused": refused,
            "tamper": tamper,
            "items": sum(w.items for w in workers),
            "items_without_model": without,
            "alerts_carrying_v2": v2_alerts,
            "inventory_all_v2": all((NAME, 2) in v for s, v in inv.items() if s in names),
        }
    finally:
        for w in workers:
            w.stop_ev.set()
        for a in agents:
            a.stop()
        for t in threads:
            t.join(timeout=10)
        for a in agents:
            a.close()
        engineer.close()
        hub.close()
        if own:
            shutil.rmtree(work, ignore_errors=True)

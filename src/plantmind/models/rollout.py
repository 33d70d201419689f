"""Staged rollout on the hub: a canary, a bake time watching the health gate, then the rest
of the sites in batches; abort and automatic rollback on a failed gate, a failed site or a
timeout; manual rollback.

A deployment moves through ``canary`` (the canary sites get the version as ``candidate``),
``baking`` (for ``bake_s`` the gate compares the canary's metrics with the champion's on the
other sites), ``rolling`` (the other sites join ``batch`` at a time) and ends ``done`` (the
version becomes ``champion``), ``rolled_back`` (the candidate is withdrawn: every site is
sent the champion again, with the signed rollback statement it needs), ``timed_out`` or
``superseded`` (a newer deployment of the same model in the same group). Nothing stays in
progress forever: every phase has a timeout, and a site reporting ``failed`` counts against
``max_failures``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from plantmind.models.registry import DEFAULT_GROUP, Registry, RegistryError

__all__ = ["ACTIVE_STATES", "Gate", "RolloutController", "evaluate_gate"]

ACTIVE_STATES = ("active", "healthy")
IN_PROGRESS = ("canary", "baking", "rolling")


@dataclass(frozen=True)
class Gate:
    """The health gate: the candidate fails if its error rate exceeds ``max_error_rate``, its
    p95 latency exceeds ``max_latency_ratio`` × the champion's (plus ``latency_slack_ms``), or
    its alert rate exceeds ``max_alert_ratio`` × the champion's plus ``alert_slack`` (rates
    clearly above, as counts: see :func:`evaluate_gate`); it is judged once ``min_items`` items
    went through the candidate (errors at once)."""

    max_error_rate: float = 0.02
    max_latency_ratio: float = 2.0
    latency_slack_ms: float = 10.0
    max_alert_ratio: float = 2.0
    alert_slack: float = 0.01
    min_items: int = 50


def _sum_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    items = sum(float(r.get("items", 0)) for r in rows)
    errors = sum(float(r.get("errors", 0)) for r in rows)
    alerts = sum(float(r.get("alerts", 0)) for r in rows)
    lat = max((float(r.get("latency_ms_p95", 0.0)) for r in rows), default=0.0)
    return {"items": items, "errors": errors, "alerts": alerts, "latency_ms_p95": lat}


def _over(count: float, n: float, rate: float) -> bool:
    """Whether ``count`` events in ``n`` trials are clearly above ``rate`` (beyond three
    standard deviations of a Poisson count and one event more), so that one unlucky alert
    in the first items does not fail a good candidate."""
    mean = n * rate
    return count > mean + 3.0 * math.sqrt(max(mean, 1.0)) + 1.0


def evaluate_gate(
    gate: Gate, candidate: dict[str, float], champion: dict[str, float] | None
) -> tuple[bool | None, str]:
    """(True, why) passed, (False, why) failed, (None, why) not enough items yet. Rates are
    judged as counts against the allowed rate (see :func:`_over`), not as raw ratios."""
    n = candidate.get("items", 0.0)
    errors = candidate.get("errors", 0.0)
    if n and _over(errors, n, gate.max_error_rate):
        return False, f"error rate {errors / n:.3f} > {gate.max_error_rate}"
    if n < gate.min_items:
        return None, f"{n:.0f} of {gate.min_items} items seen"
    if champion and champion.get("items", 0.0) > 0:
        c_lat = champion.get("latency_ms_p95", 0.0)
        lat = candidate.get("latency_ms_p95", 0.0)
        if lat > c_lat * gate.max_latency_ratio + gate.latency_slack_ms:
            return False, f"p95 latency {lat:.1f} ms vs champion {c_lat:.1f} ms"
        c_rate = champion["alerts"] / champion["items"]
        alerts = candidate.get("alerts", 0.0)
        if _over(alerts, n, c_rate * gate.max_alert_ratio + gate.alert_slack):
            return False, f"alert rate {alerts / n:.4f} vs champion {c_rate:.4f}"
    return True, "within the gate"


class RolloutController:
    """Deployments over a :class:`Registry`; :meth:`tick` moves them on (the hub calls it on
    every site report and on a timer)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.RLock()
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()

    # ---- creating and listing ----------------------------------------------------------
    def deploy(
        self,
        name: str,
        version: int,
        sites: list[str],
        *,
        canary: int = 1,
        bake_s: float = 60.0,
        batch: int = 0,
        group: str = DEFAULT_GROUP,
        gate: Gate | None = None,
        activate_timeout_s: float = 300.0,
        max_failures: int = 0,
    ) -> dict[str, Any]:
        """Start a deployment of ``name`` v``version`` to ``sites`` (canary first)."""
        reg = self.registry
        reg.manifest(name, version)
        if not sites:
            raise RegistryError("name at least one site")
        with self._lock, reg.lock:
            for site in sites:
                if reg.group_of(site) != group:
                    reg.state["groups"][site] = group
            for d in reg.state["deployments"]:
                if d["name"] == name and d["group"] == group and d["state"] in IN_PROGRESS:
                    d["state"], d["ended"] = "superseded", time.time()
            canary = max(0, min(canary, len(sites)))
            d = {
                "id": uuid.uuid4().hex[:12],
                "name": name,
                "version": int(version),
                "group": group,
                "sites": list(sites),
                "canary_sites": list(sites[:canary]),
                "bake_s": float(bake_s),
                "batch": int(batch),
                "gate": asdict(gate or Gate()),
                "activate_timeout_s": float(activate_timeout_s),
                "max_failures": int(max_failures),
                "state": "canary" if canary else "rolling",
                "reason": "",
                "started": time.time(),
                "phase_started": time.time(),
                "ended": None,
                "previous_champion": reg.alias(group, name).get("champion"),
                "rollback_complete": None,
            }
            reg.state["deployments"].append(d)
            enrolled = d["canary_sites"] if canary else self._next_batch(d, [])
            reg.set_alias(group, name, candidate=int(version), candidate_sites=enrolled)
        self.tick()
        return self.get(d["id"])

    def get(self, deployment_id: str) -> dict[str, Any]:
        with self.registry.lock:
            for d in self.registry.state["deployments"]:
                if d["id"] == deployment_id:
                    return dict(d)
        raise RegistryError(f"no deployment {deployment_id!r}", 404)

    def deployments(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.registry.lock:
            return [dict(d) for d in self.registry.state["deployments"][-limit:]][::-1]

    # ---- moving on -------------------------------------------------------------------
    def _site_model(self, site: str, name: str) -> dict[str, Any] | None:
        r = self.registry.site_report(site)
        for m in (r or {}).get("models", []):
            if m.get("name") == name:
                return dict(m)
        return None

    def _site_state(self, site: str, name: str, version: int) -> str:
        """``active``/``healthy`` when the site runs ``version``; ``failed`` when it reported
        failing that version; else ``pending``."""
        r = self.registry.site_report(site) or {}
        for m in r.get("models", []):
            same = m.get("name") == name and m.get("version") == version
            if same and m.get("state") in ACTIVE_STATES:
                return str(m["state"])
        for f in r.get("deployments", []):
            same = f.get("name") == name and f.get("version") == version
            if same and f.get("state") in ("failed", "timed_out"):
                return "failed"
        return "pending"

    def _metrics(self, sites: list[str], name: str, version: int) -> dict[str, float]:
        rows = []
        for s in sites:
            m = self._site_model(s, name)
            if m and m.get("version") == version:
                rows.append(m.get("metrics", {}))
        return _sum_metrics(rows)

    def _next_batch(self, d: dict[str, Any], enrolled: list[str]) -> list[str]:
        rest = [s for s in d["sites"] if s not in enrolled]
        n = d["batch"] if d["batch"] > 0 else len(rest)
        return enrolled + rest[:n]

    def _rollback(self, d: dict[str, Any], state: str, reason: str) -> None:
        d["state"], d["reason"], d["ended"] = state, reason, time.time()
        self.registry.set_alias(d["group"], d["name"], candidate=None, candidate_sites=[])

    def tick(self, now: float | None = None) -> None:
        """Advance every deployment in progress (and note finished rollbacks)."""
        reg = self.registry
        with self._lock, reg.lock:
            for d in reg.state["deployments"]:
                now_ = time.time() if now is None else now
                if d["state"] in IN_PROGRESS:
                    self._advance(d, now_)
                if d["state"] in ("rolled_back", "timed_out") and d["rollback_complete"] is None:
                    champ = d.get("previous_champion")
                    back = champ is None or all(
                        self._site_state(s, d["name"], int(champ)) in ACTIVE_STATES
                        for s in d["sites"]
                    )
                    if back:
                        d["rollback_complete"] = now_
            reg.save()

    def _advance(self, d: dict[str, Any], now: float) -> None:
        reg = self.registry
        alias = reg.alias(d["group"], d["name"])
        enrolled: list[str] = list(alias.get("candidate_sites", []))
        states = {s: self._site_state(s, d["name"], d["version"]) for s in enrolled}
        failed = [s for s, st in states.items() if st == "failed"]
        if len(failed) > d["max_failures"]:
            self._rollback(d, "rolled_back", f"site {failed[0]} failed to activate the version")
            return
        late = now - d["phase_started"] > d["activate_timeout_s"] and d["state"] != "baking"
        if late and any(st == "pending" for st in states.values()):
            why = f"not active on every site within {d['activate_timeout_s']:.0f} s"
            self._rollback(d, "timed_out", why)
            return
        all_active = all(st in ACTIVE_STATES for st in states.values())
        if d["state"] == "canary" and all_active:
            d["state"], d["phase_started"] = "baking", now
        if d["state"] == "baking":
            gate = Gate(**d["gate"])
            cand = self._metrics(enrolled, d["name"], d["version"])
            others = [s for s in d["sites"] if s not in enrolled]
            champ_v = d.get("previous_champion")
            champ = self._metrics(others, d["name"], int(champ_v)) if champ_v else None
            ok, why = evaluate_gate(gate, cand, champ)
            d["gate_status"] = why
            if ok is False:
                self._rollback(d, "rolled_back", f"health gate failed: {why}")
                return
            if now - d["phase_started"] >= d["bake_s"]:
                if ok is None:
                    if now - d["phase_started"] > d["bake_s"] + d["activate_timeout_s"]:
                        self._rollback(d, "timed_out", f"health gate not judged: {why}")
                    return
                d["state"], d["phase_started"] = "rolling", now
                reg.set_alias(d["group"], d["name"], candidate_sites=self._next_batch(d, enrolled))
            return
        if d["state"] == "rolling" and all_active:
            if len(enrolled) < len(d["sites"]):
                reg.set_alias(d["group"], d["name"], candidate_sites=self._next_batch(d, enrolled))
                d["phase_started"] = now
                return
            reg.set_alias(
                d["group"], d["name"], champion=d["version"], candidate=None, candidate_sites=[]
            )
            d["state"], d["ended"], d["reason"] = "done", now, "active on every site"

    def rollback(self, name: str, group: str = DEFAULT_GROUP, to_version: int | None = None) -> str:
        """Manual rollback: stop a deployment in progress (the sites go back to the champion),
        or, with none in progress, make ``to_version`` (default: the champion before the
        current one) the champion. Needs a stored rollback statement that allows it."""
        reg = self.registry
        with self._lock, reg.lock:
            for d in reg.state["deployments"]:
                if d["name"] == name and d["group"] == group and d["state"] in IN_PROGRESS:
                    self._rollback(d, "rolled_back", "rolled back by hand")
                    reg.save()
                    return f"deployment {d['id']} stopped; sites go back to the champion"
            champ = reg.alias(group, name).get("champion")
            if to_version is None:
                done = [
                    d for d in reg.state["deployments"]
                    if d["name"] == name and d["group"] == group and d["state"] == "done"
                    and d["version"] == champ and d.get("previous_champion")
                ]  # fmt: skip
                if not done:
                    raise RegistryError(f"no earlier champion of {name} to go back to", 409)
                to_version = int(done[-1]["previous_champion"])
            if champ is not None and reg.rollback_for(name, to_version) is None:
                raise RegistryError(
                    f"no signed rollback statement lets {name} go back to v{to_version}; "
                    "sign one with `plantmind models rollback --key`",
                    409,
                )
            reg.set_alias(group, name, champion=int(to_version), candidate=None, candidate_sites=[])
            reg.state["deployments"].append(
                {"id": uuid.uuid4().hex[:12], "name": name, "version": int(to_version),
                 "group": group, "sites": [], "state": "rolled_back", "reason": "manual",
                 "started": time.time(), "ended": time.time(), "previous_champion": champ,
                 "rollback_complete": None, "canary_sites": []}
            )  # fmt: skip
            reg.save()
            return f"{name}: champion is v{to_version} again (was v{champ})"

    # ---- timer -------------------------------------------------------------------------
    def start(self, interval_s: float = 1.0) -> None:
        """Tick every ``interval_s`` in a daemon thread (a bake ends without site reports)."""
        if self._timer is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                with contextlib.suppress(Exception):  # the timer must keep going
                    self.tick()

        self._timer = threading.Thread(target=loop, name="rollout-timer", daemon=True)
        self._timer.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
            self._timer = None

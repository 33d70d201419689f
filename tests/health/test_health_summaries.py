"""The outbox producer for health summaries: sends on a real change, a method change or after
the interval, never every cycle; refused categories send nothing."""

from __future__ import annotations

from plantmind.core.plant import EgressPolicy
from plantmind.sync.outbox import Outbox
from plantmind.sync.producers import HealthSummaries


def _s(ts: float, health: float, method: str = "model") -> dict:
    return {"asset_id": "P-1", "ts": ts, "health": health, "rul": health * 6, "method": method}


def test_throttled_summaries(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db", "S")
    hs = HealthSummaries(outbox, min_interval_s=600.0, min_change=5.0)
    for k in range(30):  # 30 cycles of 10 s with a small wobble: only the first goes
        hs([_s(k * 10.0, 98.0 + (k % 3))])
    hs([_s(310.0, 90.0)])  # a real drop
    hs([_s(320.0, 89.0, "deviation")])  # a method change
    hs([_s(1000.0, 89.0, "deviation")])  # the interval passed
    hs([{"asset_id": "P-2", "ts": None, "health": None}])  # warming up: nothing to send
    hs.pending.result(timeout=10)
    assert outbox.stats().queued_by_category == {"health": 4}
    outbox.close()


def test_not_sent_when_egress_refuses_health(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db", "S", EgressPolicy(allow=["alerts"]))
    hs = HealthSummaries(outbox)
    hs([_s(0.0, 50.0)])
    assert hs.pending is None and outbox.stats().queued == 0
    outbox.close()

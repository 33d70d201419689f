"""``/api/health``: every asset's summary carries the smoothed and raw index, the trend, the
remaining life's unit and basis, the open-alert counts and the note; ``/api/health/{asset}``
adds the recent history; a node without a health service answers 503."""

from __future__ import annotations

from fastapi.testclient import TestClient

from plantmind.connectors.simulator import PlantSimulator
from plantmind.core.auth import TokenStore
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode
from plantmind.health.service import HealthService

T0 = 1_767_600_000.0
FIELDS = {
    "asset_id", "kind", "ts", "health", "health_raw", "trend", "trend_per_hour",
    "trend_per_day", "rul", "rul_low", "rul_high", "rul_raw", "unit", "rul_basis",
    "failure_probability", "horizon", "method", "cycles", "open_alerts", "excluded_signals",
    "note", "alert_consistent",
}  # fmt: skip


def test_health_api_fields(plant, tmp_path):
    node = EdgeNode(plant, tmp_path, restore=False)
    service = HealthService(plant, {}).attach(node)
    sim = PlantSimulator(plant, seed=2, start_ts=T0)
    while sim.now < T0 + 2400:  # past the detector's warm-up: ranges are learned
        node.learn(sim.step(300))
    token = TokenStore.in_home(tmp_path).create("viewer")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(node, health=service)) as client:
        rows = client.get("/api/health", headers=auth).json()
        one = client.get("/api/health/CV-401", headers=auth).json()
        assert client.get("/api/health/NOPE", headers=auth).status_code == 404
    with TestClient(create_app(node)) as client:
        assert client.get("/api/health", headers=auth).status_code == 503
    node.close()
    assert {r["asset_id"] for r in rows} == set(node.index.asset_ids)
    for r in rows:
        assert set(r) == FIELDS, r["asset_id"]
        assert r["method"] == "deviation" and r["unit"] == "" and r["rul"] is None
        assert 0 <= r["health"] <= 100 and 0 <= r["health_raw"] <= 100
        assert r["trend"] in {"falling", "rising", "stable", None}
        assert r["open_alerts"] == {"open": 0, "critical": 0, "data_quality": 0, "equipment": 0}
        assert r["note"].startswith("health from the learned normal ranges")
    assert one["history"] and {"ts", "health", "health_raw", "rul"} <= set(one["history"][-1])
    assert one["history"][-1]["health"] == one["health"]

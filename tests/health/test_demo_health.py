"""The demo wires live health: on the simulated plant, P-101's health index falls and its
remaining life shrinks during the scheduled bearing wear (04:00-16:00 of the live hour), and
both recover after the repair."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import plantmind.demo.run as demo
import plantmind.edge.service as edge_service
from plantmind.core.plant import example_plant_path, load_plant
from plantmind.demo.pump import PUMP_MODEL_CONFIG, simulate_bearing_histories
from plantmind.health.rul import RulModel


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_demo_shows_bearing_wear_in_health(tmp_path, monkeypatch):
    plant = load_plant(example_plant_path())
    hist = simulate_bearing_histories(plant, n_runs=10, seed=2)
    model = RulModel(dataclasses.replace(PUMP_MODEL_CONFIG, max_iter=80)).fit(hist)
    model.trained_on.update(cycle_s=10.0, asset_kind="centrifugal_pump")
    monkeypatch.setattr(demo, "pump_model", lambda home, plant: model)
    services = []
    real = edge_service.HealthService

    class Recording(real):  # type: ignore[misc, valid-type]
        def attach(self, node):
            services.append(self)
            return super().attach(node)

    monkeypatch.setattr(edge_service, "HealthService", Recording)
    speed = 20_000.0
    cfg = demo.DemoConfig(
        home=tmp_path, duration_s=3600.0 / speed, speed=speed, history_h=0.25, port=None
    )
    summary = await demo.run_demo(cfg)
    live0 = demo.DEMO_EPOCH + 0.25 * 3600.0
    p101 = next(s for s in summary["health"] if s["asset_id"] == "P-101")
    assert p101["method"] == "model"
    trend = services[0].get("P-101").history
    ts = np.array([t for t, _, _, _ in trend]) - live0
    health = np.array([h for _, h, _, _ in trend])
    rul = np.array([r for _, _, r, _ in trend], dtype=float)
    before = (ts > 0) & (ts < 240)
    late = (ts > 780) & (ts <= 960)
    after = (ts > 1300) & (ts < 1600)  # before the cavitation at 27:00
    assert health[late].mean() < health[before].mean() - 40
    assert rul[late].mean() < 0.5 * rul[before].mean()
    assert health[after].mean() > 80
    # the hub received health summaries through the outbox
    assert summary["hub"]["events_by_category"].get("health", 0) > 0

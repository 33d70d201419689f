"""Live health on the simulated plant: during the bearing wear on P-101 the (smoothed) health
index falls with a falling trend and the remaining life shrinks, in the service, in the API and
in the outbox; after the repair they recover."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fastapi.testclient import TestClient

from plantmind.connectors.simulator import Fault, PlantSimulator
from plantmind.core.auth import TokenStore
from plantmind.core.plant import example_plant_path, load_plant
from plantmind.demo.pump import PUMP_MODEL_CONFIG, pump_model, simulate_bearing_histories
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode
from plantmind.health.rul import RulModel
from plantmind.health.service import HealthService
from plantmind.sync.outbox import Outbox
from plantmind.sync.producers import HealthSummaries

T0 = 1_767_600_000.0
WEAR_START, WEAR_S = 1200.0, 720.0


@pytest.fixture(scope="module")
def plant():
    return load_plant(example_plant_path())


@pytest.fixture(scope="module")
def model(plant) -> RulModel:
    hist = simulate_bearing_histories(plant, n_runs=10, seed=1)
    m = RulModel(dataclasses.replace(PUMP_MODEL_CONFIG, max_iter=80)).fit(hist)
    m.trained_on.update(cycle_s=10.0, asset_kind="centrifugal_pump")
    return m


def _trend(service: HealthService, asset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tr = service.get(asset).history
    ts = np.array([t for t, _, _, _ in tr]) - T0
    return ts, np.array([h for _, h, _, _ in tr]), np.array([r for _, _, r, _ in tr], dtype=float)


@pytest.mark.timeout(180)
def test_bearing_wear_lowers_health_and_rul_through_node_api_and_outbox(plant, model, tmp_path):
    sim = PlantSimulator(
        plant, seed=11, start_ts=T0, faults=[Fault("bearing_wear", "P-101", WEAR_START, WEAR_S)]
    )
    node = EdgeNode(plant, tmp_path, restore=False)
    service = HealthService(plant, {"centrifugal_pump": model}).attach(node)
    outbox = Outbox(tmp_path / "outbox.db", "S")
    summaries = HealthSummaries(outbox, min_change=10.0)
    service.listeners.append(summaries)
    token = TokenStore.in_home(tmp_path).create("viewer")
    seen = []
    with TestClient(create_app(node, health=service)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        while sim.now < T0 + WEAR_START + WEAR_S + 900:
            node.ingest(sim.step(30))
            if abs(sim.now - (T0 + WEAR_START + WEAR_S - 30)) < 15:
                seen.append(client.get("/api/health/P-101", headers=auth).json())
        listing = client.get("/api/health", headers=auth)
        assert client.get("/api/health").status_code == 401
        assert client.get("/api/health/NOPE", headers=auth).status_code == 404
    ts, health, rul = _trend(service, "P-101")
    before = ts < WEAR_START
    late = (ts > WEAR_START + 0.75 * WEAR_S) & (ts <= WEAR_START + WEAR_S)
    after = ts > WEAR_START + WEAR_S + 600
    cap_h = model.config.cap / 3600.0  # no declared time scale: plant seconds, shown in hours
    assert health[before].mean() > 85 and rul[before].mean() > 0.8 * cap_h
    # falling: the last quarter of the wear is far below healthy, and the decline is steady
    assert health[late].mean() < health[before].mean() - 40
    assert rul[late].mean() < 0.5 * rul[before].mean()
    wear = (ts > WEAR_START + 0.4 * WEAR_S) & (ts <= WEAR_START + WEAR_S)
    assert np.corrcoef(ts[wear], health[wear])[0, 1] < -0.7
    assert health[after].mean() > 80  # the bearing was replaced at the end of the window
    # the API showed the same thing near the failure
    p101 = seen[-1]
    assert (
        p101["method"] == "model"
        and p101["health"] < 50
        and p101["rul"] < p101["history"][0]["rul"]
    )
    # the smoothed index, its raw value, a falling trend and the life in hours on the plant's clock
    assert p101["trend"] == "falling" and p101["trend_per_day"] < 0 and p101["trend_per_hour"] < 0
    assert 0 <= p101["health_raw"] <= 100 and p101["unit"] == "h"
    assert p101["rul_basis"] == "plant operating time"
    # near the failure an equipment alert is open, and the summary says so
    assert p101["open_alerts"]["equipment"] >= 1 and p101["alert_consistent"]
    assert " alert on P-101." in p101["note"]
    assert (
        p101["rul_low"] <= p101["rul"] <= p101["rul_high"] and 0 <= p101["failure_probability"] <= 1
    )
    assert {a["asset_id"] for a in listing.json()} == set(node.index.asset_ids)
    # unmodelled assets get the deviation index, and say so
    assert service.get("C-201").method == "deviation"
    # the outbox got the summaries (category health), throttled
    summaries.pending.result(timeout=30)
    sent = outbox.stats().queued_by_category.get("health", 0)
    updates = len(ts)
    assert 0 < sent < updates * len(node.index.asset_ids) / 4
    node.close()
    outbox.close()


def test_pump_model_is_trained_once_and_cached(plant, tmp_path, monkeypatch):
    import plantmind.demo.pump as simulated

    calls = []
    real = simulated.train_pump_model

    def small(p=None, **kw):
        calls.append(1)
        return real(p, n_runs=6)

    monkeypatch.setattr(simulated, "train_pump_model", small)
    a = pump_model(tmp_path, plant)
    b = pump_model(tmp_path, plant)
    assert (
        len(calls) == 1
        and (tmp_path / "health" / "models" / "centrifugal_pump" / "model.json").is_file()
    )
    x = np.zeros((1, len(a.feature_names)), dtype=np.float32)
    np.testing.assert_array_equal(a.predict_features(x), b.predict_features(x))

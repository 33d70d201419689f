"""The edge API over a node fed with generated data: plant, signals, samples, alerts and the
operator actions, events, and the page."""

from __future__ import annotations

import re

import numpy as np
import pytest
from edge_batches import ticks
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from plantmind.core.auth import TokenStore
from plantmind.core.types import SampleBatch
from plantmind.detect.robust import RobustConfig
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode


@pytest.fixture
def tokens(node):
    return TokenStore.in_home(node.home)


@pytest.fixture
def anonymous(node):
    with TestClient(create_app(node)) as c:
        yield c


@pytest.fixture
def client(anonymous, tokens):
    anonymous.headers["Authorization"] = f"Bearer {tokens.create('operator')}"
    return anonymous


def _raise_alert(node) -> str:
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    node.ingest(ticks(node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    node.store.flush()
    (alert,) = node.tracker.open_alerts()
    return alert.id


def test_health_and_plant(client, plant):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/api/plant").json()["name"] == plant.name
    assets = client.get("/api/assets").json()
    assert [a["id"] for a in assets] == ["P-101", "P-102", "C-201", "M-301", "CV-401"]
    assert "openapi" in client.get("/openapi.json").json()


def test_signals_and_recent_samples(client, node):
    rng = np.random.default_rng(1)
    node.learn(ticks(node.index, 0.0, 150, rng))
    sigs = client.get("/api/signals", params={"asset": "P-101"}).json()
    assert len(sigs) == 5 and sigs[0]["unit"] == "mm/s"
    assert sigs[0]["learned_range"] is not None and sigs[0]["latest_ts"] == 149.0
    r = client.get("/api/signals/P-101.flow/samples", params={"limit": 10}).json()
    assert r["ts"] == [float(t) for t in range(140, 150)]
    assert client.get("/api/signals/NOPE/samples").status_code == 404


def test_samples_body_is_plain_json_with_null_for_a_missing_value(client, node):
    # the route encodes its body itself (no response model validation): the same bytes a
    # JSONResponse of the dict would be, a non-finite value written as null
    rng = np.random.default_rng(2)
    node.learn(ticks(node.index, 0.0, 150, rng))
    s = node.index.signal_position()["P-101.flow"]
    node.ring.append(SampleBatch(np.array([s]), np.array([150.0]), np.array([np.nan])))
    r = client.get("/api/signals/P-101.flow/samples", params={"limit": 3})
    assert r.headers["content-type"] == "application/json"
    ts, val = node.ring.recent(s, limit=3)
    want = {"signal": "P-101.flow", "ts": [148.0, 149.0, 150.0], "value": [*val[:2].tolist(), None]}
    assert r.content == JSONResponse(want).body
    assert r.json() == want and ts.tolist() == want["ts"]
    doc = client.get("/openapi.json").json()["paths"]["/api/signals/{signal_id}/samples"]["get"]
    assert doc["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "object"


def test_alert_lifecycle_over_http(client, node):
    alert_id = _raise_alert(node)
    listed = client.get("/api/alerts", params={"state": "open"}).json()
    assert [a["id"] for a in listed] == [alert_id]
    a = listed[0]
    assert a["asset_id"] == "P-101" and "P-101.bearing_temperature" in a["signals"]
    # engineering words: the value, by how much it passed which limit, in the signal's unit
    assert re.search(
        r"= [\d.]+ degC, [\d.]+ degC above its normal maximum [\d.]+ degC", a["message"]
    )
    r = client.post(f"/api/alerts/{alert_id}/acknowledge").json()
    assert r["state"] == "acknowledged"
    r = client.post(f"/api/alerts/{alert_id}/false-alarm").json()
    assert r["state"] == "resolved" and r["false_alarm"] is True
    assert client.post(f"/api/alerts/{alert_id}/acknowledge").status_code == 409
    assert client.post("/api/alerts/nope/resolve").status_code == 404
    node.store.flush()
    kinds = [e["kind"] for e in client.get("/api/events").json()]
    assert {"alert.opened", "alert.acknowledged", "alert.false_alarm"} <= set(kinds)
    stats = client.get("/api/stats").json()
    assert stats["alerts_opened"] == 1 and stats["open_alerts"] == 0


def test_false_alarm_lowers_sensitivity_of_its_signals(node):
    alert_id = _raise_alert(node)
    s = node.index.signal_position()["P-101.bearing_temperature"]
    before = node.detector.state_dict()["sensitivity"][s]
    node.mark_false_alarm(alert_id)
    assert node.detector.state_dict()["sensitivity"][s] > before


def test_state_and_open_alerts_survive_a_restart(tmp_path, plant):
    n1 = EdgeNode(plant, tmp_path, restore=False, detector_config=RobustConfig(warmup=100))
    alert_id = _raise_alert(n1)
    state = n1.detector.state_dict()
    n1.close()
    n2 = EdgeNode(plant, tmp_path, detector_config=RobustConfig(warmup=100))
    try:
        assert [a.id for a in n2.tracker.open_alerts()] == [alert_id]
        np.testing.assert_array_equal(n2.detector.state_dict()["q_hi"], state["q_hi"])
    finally:
        n2.close()


def test_page_is_served_without_external_assets(client):
    html = client.get("/").text
    assert "<canvas" in html or "canvas" in html
    assert "http://" not in html and "https://" not in html  # works air-gapped


def test_api_needs_a_valid_token_but_health_is_open(anonymous, tokens):
    assert anonymous.get("/health").status_code == 200
    r = anonymous.get("/api/alerts")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    bad = {"Authorization": "Bearer pm_0000_wrong"}
    assert anonymous.get("/api/alerts", headers=bad).status_code == 401
    good = tokens.create("viewer")
    forged = good[:-4] + "AAAA"
    assert (
        anonymous.get("/api/alerts", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    assert (
        anonymous.get("/api/alerts", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    )


def test_a_viewer_cannot_act_on_alerts(anonymous, tokens, node):
    alert_id = _raise_alert(node)
    viewer = {"Authorization": f"Bearer {tokens.create('viewer')}"}
    for action in ("acknowledge", "resolve", "false-alarm"):
        r = anonymous.post(f"/api/alerts/{alert_id}/{action}", headers=viewer)
        assert r.status_code == 403 and "operator" in r.json()["detail"]
    assert anonymous.post(f"/api/alerts/{alert_id}/acknowledge").status_code == 401
    operator = {"Authorization": f"Bearer {tokens.create('operator')}"}
    assert (
        anonymous.post(f"/api/alerts/{alert_id}/acknowledge", headers=operator).status_code == 200
    )


def test_tokens_are_stored_hashed(tokens):
    token = tokens.create("admin", label="test")
    text = tokens.path.read_text()
    assert token not in text and token.split("_", 2)[2] not in text  # the secret may hold "_"
    assert tokens.verify(token).role.name == "ADMIN"
    assert tokens.revoke(token.split("_")[1]) and tokens.verify(token) is None

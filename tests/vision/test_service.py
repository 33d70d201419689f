"""Stations over HTTP: upload → verdict, score and overlay; review queue; bad uploads; roles."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from plantmind.core.auth import TokenStore
from plantmind.demo.parts import make_part, png_bytes
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode
from plantmind.vision.station import VisionStations

from .test_bad_inputs import huge_png_header


@pytest.fixture
def app_client(tmp_path, plant, trained):
    directory, _ = trained
    node = EdgeNode(plant, tmp_path, restore=False)
    vision = VisionStations(tmp_path, [st for s in plant.sites for st in s.stations])
    shutil.copytree(directory, vision.model_dir("QS-1"))
    tokens = TokenStore.in_home(tmp_path)
    with TestClient(create_app(node)) as c:
        c.headers["Authorization"] = f"Bearer {tokens.create('operator')}"
        yield c, tokens, vision
    vision.close()
    node.close()


def test_upload_gives_verdict_score_and_overlay(app_client):
    client, _, _ = app_client
    r = client.post("/api/inspect/QS-1", content=png_bytes(make_part(7, "scratch")[0]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] in ("pass", "fail", "uncertain")
    assert 0.0 <= body["score"] <= 1.0
    png = client.get(body["overlay_url"])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    listed = client.get("/api/inspect/results", params={"station": "QS-1"}).json()
    assert [x["id"] for x in listed] == [body["id"]]
    st = {s["id"]: s for s in client.get("/api/inspect/stations").json()}
    assert st["QS-1"]["model"]["channels"] == 1


def test_bad_uploads_are_refused_and_the_station_keeps_serving(app_client):
    client, _, _ = app_client
    cases = [
        (b"hello", "not an image"),
        (png_bytes(make_part(3)[0])[:300], "truncated or corrupt"),
        (huge_png_header(), "image too large"),
        (png_bytes(make_part(3, colour=True)[0]), "wrong number of channels"),
    ]
    for data, problem in cases:
        r = client.post("/api/inspect/QS-1", content=data, params={"source": "cam.png"})
        assert r.status_code == 422 and problem in r.json()["detail"], r.text
        assert "cam.png" in r.json()["detail"]
    assert client.post("/api/inspect/QS-1", content=b"").status_code == 422
    assert client.post("/api/inspect/NOPE", content=png_bytes(make_part(3)[0])).status_code == 404
    ok = client.post("/api/inspect/QS-1", content=png_bytes(make_part(4)[0]))
    assert ok.status_code == 200


def test_review_feeds_the_threshold(app_client):
    client, _, vision = app_client
    # force the review band wide so this part is uncertain, whatever the tiny model says
    model = vision.model("QS-1")
    before = model.thresholds
    model.thresholds.review, model.thresholds.fail = 0.0, 2.0
    model.save_meta()
    r = client.post("/api/inspect/QS-1", content=png_bytes(make_part(11, "pit")[0])).json()
    assert r["verdict"] == "uncertain"
    queue = client.get("/api/inspect/reviews").json()
    assert [q["id"] for q in queue] == [r["id"]]
    done = client.post(f"/api/inspect/results/{r['id']}/review", json={"label": "defect"})
    assert done.status_code == 200 and done.json()["label"] == "defect"
    assert client.get("/api/inspect/reviews").json() == []
    thr = vision.model("QS-1").thresholds
    assert thr.n_defect == 1 and thr.n_good == before.n_good  # refit from the held-out goods
    assert (
        client.post("/api/inspect/results/nope/review", json={"label": "good"}).status_code == 404
    )


def test_viewer_reads_but_cannot_upload_or_review(app_client):
    client, tokens, _ = app_client
    viewer = {"Authorization": f"Bearer {tokens.create('viewer')}"}
    assert client.get("/api/inspect/results", headers=viewer).status_code == 200
    img = png_bytes(make_part(5)[0])
    assert client.post("/api/inspect/QS-1", content=img, headers=viewer).status_code == 403
    assert (
        client.post("/api/inspect/QS-1", content=img, headers={"Authorization": ""}).status_code
        == 401
    )

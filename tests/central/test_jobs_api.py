"""Analysis jobs through the hub's API: a compliance check submitted over HTTP runs on the
hub's worker, reports progress, and serves its summary, matrix and report; bad submissions are
refused with the problem named; roles guard submitting and reading."""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plantmind.central.service import CentralService, default_db_url

_spec = importlib.util.spec_from_file_location(
    "_comply_mini_data", Path(__file__).parents[1] / "comply" / "mini_data.py"
)
assert _spec is not None and _spec.loader is not None
mini = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mini)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@pytest.fixture
def hub(tmp_path):
    h = CentralService(default_db_url(tmp_path), tmp_path)
    yield h
    h.close()


def _comply_body() -> dict:
    return {
        "standard": {"name": "receivers.md", "content_b64": _b64(mini.STANDARD)},
        "procedures": [{"name": "sop-210.md", "content_b64": _b64(mini.SOP)}],
    }


def test_a_compliance_check_runs_as_a_hub_job(hub):
    hub.jobs.start()  # the hub's worker thread, as `central run` starts it
    with TestClient(hub.app()) as c:
        op = {"Authorization": f"Bearer {hub.tokens.create('operator', label='qa')}"}
        viewer = {"Authorization": f"Bearer {hub.tokens.create('viewer')}"}
        assert c.post("/api/jobs/comply", json=_comply_body()).status_code == 401
        assert c.post("/api/jobs/comply", json=_comply_body(), headers=viewer).status_code == 403
        r = c.post("/api/jobs/comply", json=_comply_body(), headers=op)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while (job := c.get(f"/api/jobs/{job_id}", headers=viewer).json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "done", job
        assert job["submitted_by"] == "qa"
        assert job["files"] == ["matrix.csv", "report.html", "summary.json"]
        res = job["result"]
        assert res["requirements"] == len(mini.REQUIREMENTS)
        assert res["model"] is None and res["model_calls"] == 0
        # the rows that are missing are exactly the ones the made-up SOP leaves out
        matrix = c.get(f"/api/jobs/{job_id}/files/matrix.csv", headers=viewer)
        assert matrix.status_code == 200
        rows = list(csv.DictReader(io.StringIO(matrix.text)))
        missing = {
            row["paragraph"].removeprefix(mini.SECTION)
            for row in rows
            if row["status"] == "missing"
        }
        assert missing == set(mini.OMITTED)
        assert all(row["judged_by"].startswith("deterministic") for row in rows)
        html = c.get(f"/api/jobs/{job_id}/files/report.html", headers=viewer)
        assert html.status_code == 200 and "<table" in html.text
        assert c.get(f"/api/jobs/{job_id}/files/../inputs/x", headers=viewer).status_code == 404
        scratch = f"/api/jobs/{job_id}/files/work/judge_cache.sqlite"
        assert c.get(scratch, headers=viewer).status_code == 404
        listed = c.get("/api/jobs", params={"kind": "comply.check"}, headers=viewer).json()
        assert [j["id"] for j in listed] == [job_id] and "result" not in listed[0]


def test_bad_submissions_are_refused_and_failed_jobs_say_why(hub):
    with TestClient(hub.app()) as c:
        op = {"Authorization": f"Bearer {hub.tokens.create('operator')}"}
        body = _comply_body()
        body["standard"]["content_b64"] = "not base64!"
        r = c.post("/api/jobs/comply", json=body, headers=op)
        assert r.status_code == 422 and "receivers.md" in r.text
        body = _comply_body()
        body["procedures"] = []
        assert c.post("/api/jobs/comply", json=body, headers=op).status_code == 422
        body = _comply_body()
        body["standard"] = {"name": "scan.docx", "content_b64": _b64("binary")}
        job_id = c.post("/api/jobs/comply", json=body, headers=op).json()["id"]
        assert hub.jobs.run_pending() == 1
        job = c.get(f"/api/jobs/{job_id}", headers=op).json()
        assert job["status"] == "failed" and "scan.docx" in job["error"]
        assert c.get("/api/jobs/nope", headers=op).status_code == 404


def test_a_message_check_runs_as_a_hub_job(hub):
    spec = {
        "language": "en",
        "items": [
            {"concept": "shaft_diameter", "value": 20, "unit": "mm",
             "tol_plus": 0.05, "tol_minus": 0.02, "modality": "shall"},
        ],
    }  # fmt: skip
    with TestClient(hub.app()) as c:
        op = {"Authorization": f"Bearer {hub.tokens.create('operator')}"}
        body = {
            "message": "The shaft diameter should be 0.8 in. Delivery on 03/04/2026.",
            "spec": spec,
            "glossary_csv": "concept,en,de\nshaft_diameter,shaft diameter,Wellendurchmesser\n",
            "locale": None,
        }
        job_id = c.post("/api/jobs/language", json=body, headers=op).json()["id"]
        bad = c.post("/api/jobs/language", json={"message": "x", "spec": {"items": "no"}},
                     headers=op).json()["id"]  # fmt: skip
        assert hub.jobs.run_pending() == 2
        job = c.get(f"/api/jobs/{job_id}", headers=op).json()
        assert job["status"] == "done", job
        report = job["result"]
        codes = {f["code"] for f in report["flags"]}
        assert {"ambiguous_date", "weakened_modality", "unit_mismatch"} <= codes
        assert report["quantities"][0]["comparison"]["value"] == pytest.approx(20.32)
        assert report["translation"]["text"] is None  # no model: nothing pretends to translate
        failed = c.get(f"/api/jobs/{bad}", headers=op).json()
        assert failed["status"] == "failed" and "submitted spec" in failed["error"]

"""``plantmind bench rollout`` at a small scale (3 sites, 1 s bake): every tampering case
refused, the healthy rollout done, the bad canary rolled back, no item without a model."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from plantmind.cli import app


def test_bench_rollout_small(tmp_path):
    out = tmp_path / "rollout.json"
    args = ["bench", "rollout", "--sites", "3", "--bake", "1", "--interval", "0.3",
            "--json", str(out)]  # fmt: skip
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    for key in ("rollout_s", "rollback_s", "tamper_cases", "tamper_refused", "items_without_model"):
        assert key in doc
    assert doc["tamper_cases"] == 8 and doc["tamper_refused"] == 8, doc["tamper"]
    brief = {k: v for k, v in doc.items() if k != "tamper"}
    assert doc["rollout_state"] == "done" and doc["rollout_s"] >= 1.0, brief  # the bake waited
    assert doc["rollback_state"] == "rolled_back", brief
    assert "alert rate" in doc["rollback_reason"], brief
    assert doc["rollback_s"] <= 30
    assert doc["items_without_model"] == 0 and doc["items"] > 0
    assert doc["inventory_all_v2"] and doc["alerts_carrying_v2"] >= 0

"""``plantmind bench sync`` runs both paths and reports the documented fields."""

from __future__ import annotations

import json

import pytest

from plantmind.bench.sync import run_sync_bench


@pytest.mark.service
def test_bench_reports_both_paths_with_nothing_lost(tmp_path, mqtt_broker, pg_url):
    out = tmp_path / "bench" / "sync.json"
    base = pg_url.split("?", 1)[0]
    rows = run_sync_bench(out, n_events=3000, pg_url=base)
    assert json.loads(out.read_text()) == rows
    assert [r["path"] for r in rows] == ["outbox→embedded hub→sqlite", "outbox→mqtt→hub→postgresql"]
    for r in rows:
        assert r["events_per_s"] > 0 and r["lost"] == 0 and r["duplicated"] == 0

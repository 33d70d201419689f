"""The one question path: :class:`AssistService` with a live source, the edge-store source
(what ``plantmind ask --asset`` reads without a running node) and unknown assets."""

from __future__ import annotations

import pytest

from plantmind.assist.live import LiveSource, StoreLive
from plantmind.assist.service import AssistService, UnknownAsset
from plantmind.core.types import Alert, AlertState, Severity
from plantmind.knowledge.index import KnowledgeIndex
from plantmind.store.edge import EdgeStore

MANUAL = """<!-- page 1 -->
# Pump manual
## Limits
Vibration alarm at 4.5 mm/s and trip at 7.1 mm/s on the drive-end housing.
"""
WORK_ORDERS = """wo_id,asset,date,symptom,action
WO-1,P-101,2025-02-19,vib hi 4.9 mm/s,laser align
"""


@pytest.fixture
def kb(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.md").write_text(MANUAL, encoding="utf-8")
    (docs / "wo.csv").write_text(WORK_ORDERS, encoding="utf-8")
    with KnowledgeIndex(tmp_path / "kb", embedder=None) as index:
        index.add([docs])
        yield index


def _alert(i: str, state: AlertState) -> Alert:
    return Alert(
        i, "riverside", "P-101", 1.7e9, 1.7e9, Severity.WARNING, ["P-101.vibration_rms"],
        f"vibration high ({state})", 0.9, state=state,
    )  # fmt: skip


def test_store_source_reads_open_alerts_and_latest_averages(tmp_path, plant, kb):
    db = tmp_path / "edge.db"
    store = EdgeStore(db)
    store.upsert_alert(_alert("a1", AlertState.OPEN)).result()
    store.upsert_alert(_alert("a2", AlertState.RESOLVED)).result()
    store.write_aggregates(
        ["P-101.vibration_rms"], [(0, 60.0, 10, 5.0, 4.0, 6.0), (0, 120.0, 10, 5.6, 5.0, 6.1)]
    ).result()
    store.close()
    with StoreLive.open(plant, db, kb) as live:
        source: LiveSource = live  # the protocol the service reads
        assert [a.id for a in source.open_alerts("P-101")] == ["a1"]
        assert source.latest_readings("P-101") == {"P-101.vibration_rms": (120.0, 5.6)}
        assert [w.section for w in source.recent_work_orders("P-101")] == ["work order WO-1"]
        ans = AssistService(kb).ask("vibration trip level", "P-101", source)
    readings = {r["signal"]: r for r in ans.to_dict()["context"]["readings"]}
    assert readings["P-101.vibration_rms"]["value"] == pytest.approx(5.6)
    assert "ABOVE normal range" in ans.answer and "vibration high (open)" in ans.answer
    assert "resolved" not in ans.answer


def test_no_store_means_no_alerts_and_no_readings_and_no_new_file(tmp_path, plant, kb):
    db = tmp_path / "edge.db"
    with StoreLive.open(plant, db, kb) as live:
        ctx = AssistService(kb).context("P-101", live)
    assert ctx.open_alerts == [] and all(r.value is None for r in ctx.readings)
    assert [w["section"] for w in ctx.work_orders] == ["work order WO-1"]
    assert not db.exists()


def test_unknown_asset_is_reported_before_an_empty_question(tmp_path, plant, kb):
    with StoreLive.open(plant, tmp_path / "edge.db", kb) as live:
        with pytest.raises(UnknownAsset, match="unknown asset 'NOPE'"):
            AssistService(kb).ask("   ", "NOPE", live)
        with pytest.raises(ValueError, match="empty"):
            AssistService(kb).ask("   ", "P-101", live)


def test_without_a_live_source_the_asset_adds_no_context(kb):
    ans = AssistService(kb).ask("vibration trip level", asset="P-101")
    assert ans.context is None and "7.1 mm/s" in ans.answer

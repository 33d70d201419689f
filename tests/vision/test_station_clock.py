"""The stations' clock: results and reviews stamped by an injected clock (the node's plant
time), wall time by default, a database written before read as it was."""

from __future__ import annotations

import shutil
import time

import pytest

from plantmind.demo.parts import make_part, png_bytes
from plantmind.vision.station import VisionStations

PLANT_TS = 1_767_600_000.0  # a simulated hour in January 2026, far from today's wall time


@pytest.fixture
def stations(plant):
    return [st for s in plant.sites for st in s.stations]


def _open(home, stations, trained, **kw):
    vision = VisionStations(home, stations, **kw)
    if not vision.model_dir("QS-1").exists():
        shutil.copytree(trained[0], vision.model_dir("QS-1"))
    return vision


def test_results_and_reviews_take_the_given_clock(tmp_path, stations, trained):
    now = [PLANT_TS]
    vision = _open(tmp_path, stations, trained, clock=lambda: now[0])
    try:
        rec, _ = vision.inspect("QS-1", png_bytes(make_part(5)[0]), "part.png")
        assert rec.ts == PLANT_TS
        now[0] += 90.0
        reviewed = vision.review(rec.id, "good", "anna")
        assert reviewed.ts == PLANT_TS and reviewed.reviewed_at == PLANT_TS + 90.0
        assert vision.get(rec.id) == reviewed
    finally:
        vision.close()


def test_wall_time_by_default_and_old_results_stay_readable(tmp_path, stations, trained):
    before = time.time()
    old = _open(tmp_path, stations, trained)  # as every node did before the clock
    first, _ = old.inspect("QS-1", png_bytes(make_part(6)[0]), "wall.png")
    old.close()
    assert before <= first.ts <= time.time()
    again = _open(tmp_path, stations, trained, clock=lambda: PLANT_TS)
    try:
        kept = again.get(first.id)
        assert kept is not None
        assert (kept.ts, kept.verdict, kept.score) == (first.ts, first.verdict, first.score)
        second, _ = again.inspect("QS-1", png_bytes(make_part(7)[0]), "plant.png")
        assert second.ts == PLANT_TS
        assert {r.id for r in again.results("QS-1")} == {first.id, second.id}
    finally:
        again.close()


def test_a_bad_clock_is_refused_and_nothing_is_stored(tmp_path, stations, trained):
    with pytest.raises(TypeError, match="clock must be a callable"):
        VisionStations(tmp_path, stations, clock=12.0)  # type: ignore[arg-type]
    vision = _open(tmp_path, stations, trained, clock=lambda: float("nan"))
    try:
        with pytest.raises(ValueError, match="not a time"):
            vision.inspect("QS-1", png_bytes(make_part(8)[0]), "nan.png")
        assert vision.results() == []
    finally:
        vision.close()

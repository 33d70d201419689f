"""The demo's station: trained on generated parts in the background, then inspects parts."""

from __future__ import annotations

import time

from plantmind.demo.inspection import DemoInspection


def test_demo_station_trains_and_inspects_generated_parts(tmp_path, plant):
    demo = DemoInspection(tmp_path, plant, period_s=60.0, train_seconds=5.0)
    try:
        assert demo.station_id == "QS-1"
        assert demo._ready.wait(240), demo.problem
        for k in range(4):
            demo.tick(1000.0 + 60.0 * k)
            deadline = time.time() + 30
            while demo._busy.locked() or sum(demo.counts.values()) < k + 1:
                assert time.time() < deadline
                time.sleep(0.05)
        rows = demo.vision.results("QS-1")
        assert len(rows) == 4
        assert demo.vision.overlay(rows[0].id)[:4] == b"\x89PNG"
        assert demo.summary()["trained"] is True
    finally:
        demo.close()

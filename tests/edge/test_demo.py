"""The demo end to end, at high speed: the simulated plant's injected faults are detected and
healthy assets stay quiet; the summary has the documented shape."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from plantmind.demo.run import DemoConfig, DemoProgress, run_demo, write_summary


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 21])
def test_one_simulated_hour_detects_the_faults(tmp_path, seed):
    cfg = DemoConfig(home=tmp_path, duration_s=1.0, speed=3600.0, port=None, seed=seed)
    summary = asyncio.run(run_demo(cfg))
    assert summary["simulated_hours"] == pytest.approx(1.0, abs=0.01)
    kinds = {f["kind"] for f in summary["faults"]}
    assert kinds == {
        "bearing_wear",
        "cavitation",
        "sensor_drift",
        "stuck_sensor",
        "spikes",
        "valve_closure",
    }
    for f in summary["faults"]:
        assert set(f) >= {"kind", "asset", "start", "end", "detected", "delay_s"}
    assert len(summary["detected_kinds"]) >= 5
    assert summary["false_alerts_per_hour"] <= 1.0
    # a sensor fault is a data-quality warning; an equipment fault gets one critical alert
    assert summary["critical_for_sensor_faults"] == 0
    assert summary["critical_per_equipment_fault_max"] <= 1
    for f in summary["faults"]:
        if f["detected"] and f["kind"] in {"sensor_drift", "stuck_sensor", "spikes"}:
            assert f["category"] == "data-quality" and f["severity"] == "warning"
    write_summary(summary, tmp_path / "s.json")
    assert (
        json.loads((tmp_path / "s.json").read_text())["faults_detected"]
        == summary["faults_detected"]
    )


@pytest.mark.slow
def test_the_multivariate_view_adds_no_false_alerts(tmp_path):
    cfg = DemoConfig(home=tmp_path, duration_s=1.0, speed=3600.0, port=None, multivariate=True)
    summary = asyncio.run(run_demo(cfg))
    assert summary["multivariate"]["state"] == "scoring"  # learned from the history
    assert len(summary["detected_kinds"]) == 6
    assert summary["false_alerts_per_hour"] <= 1.0


@pytest.mark.slow
def test_demo_serves_the_api_while_running(tmp_path):
    seen: dict[str, object] = {}

    async def main() -> None:
        cfg = DemoConfig(home=tmp_path, duration_s=3.0, speed=600.0, port=0, history_h=1.0)

        async def probe() -> None:
            while "url" not in seen:
                await asyncio.sleep(0.05)
            # the demo's admin token travels in the page URL's fragment
            token = str(seen["page_url"]).split("#token=", 1)[1]
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=str(seen["url"])) as client:
                seen["health"] = (await client.get("/health")).json()
                seen["anonymous"] = (await client.get("/api/assets")).status_code
                seen["assets"] = (await client.get("/api/assets", headers=auth)).json()
                # the README's question: the demo indexed the plant's documents at start
                q = {"question": "P-101 brg temp high, what to check?", "asset": "P-101"}
                r = await client.post("/assist/ask", json=q, headers=auth, timeout=30)
                seen["answer"] = r.json()

        def on_progress(p: DemoProgress) -> None:
            if p.url and "url" not in seen:
                seen["page_url"] = p.extra["page_url"]
                seen["url"] = p.url

        task = asyncio.create_task(probe())
        seen["summary"] = await run_demo(cfg, on_progress)
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert seen["health"]["status"] == "ok"
    assert len(seen["assets"]) == 5
    assert seen["anonymous"] == 401
    answer = seen["answer"]
    assert answer.get("declined") is False and answer["citations"], answer
    assert (
        seen["summary"]["knowledge"]["documents"] >= 5
        and not seen["summary"]["knowledge"]["failed"]
    )
    hub = seen["summary"]["hub"]  # the in-process hub got what the site's policy lets out
    assert hub["sites"] == 1 and hub["outbox"]["queued"] == 0
    assert set(hub["events_by_category"]) <= {"alerts", "health", "aggregates"}

"""What the edge queues for the hub: alert changes (rate-limited while active) and one
summary per signal and period from the stored aggregates, each period exactly once."""

from __future__ import annotations

import numpy as np

from plantmind.core.types import Alert, Severity
from plantmind.detect.alerts import AlertUpdate
from plantmind.store.edge import EdgeStore
from plantmind.sync.outbox import Outbox, queued_rows
from plantmind.sync.producers import AlertForwarder, PeriodicAggregates


def test_hourly_summaries_from_minute_buckets_once_per_hour(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    outbox = Outbox(tmp_path / "outbox.db", "S")
    # two hours of minute buckets for one signal: value = minute number
    t0 = 1_767_571_200.0
    rows = [(0, t0 + 60 * m, 60, float(m), float(m) - 1, float(m) + 1) for m in range(120)]
    store.write_aggregates(["P-1.temp"], rows)
    agg = PeriodicAggregates(outbox, store, [("P-1.temp", "P-1")])
    assert agg.emit(t0 + 3600 + 60) == 0  # the first hour is not past the lag yet
    assert agg.emit(t0 + 3600 + 200) == 1
    assert agg.emit(t0 + 3600 + 900) == 0  # never twice
    assert agg.emit(t0 + 7200, lag_s=0) == 1
    batch = outbox.next_batch()
    from plantmind.sync.wire import decode_batch

    _, events = decode_batch(batch.body)
    first = events[0]["data"]
    assert first == {"signal": "P-1.temp", "asset": "P-1", "start": t0, "period_s": 3600.0,
                     "count": 3600, "mean": 29.5, "min": -1.0, "max": 60.0}  # fmt: skip
    assert events[1]["data"]["start"] == t0 + 3600 and events[1]["ts"] == t0 + 7200
    outbox.close()
    store.close()


def _alert(active: float, severity: Severity = Severity.WARNING) -> Alert:
    return Alert("a1", "S", "P-1", 0.0, active, severity, ["x"], "m", 0.6)


def test_active_alerts_are_forwarded_at_most_once_a_minute(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db", "S")
    fwd = AlertForwarder(outbox, min_interval_s=60.0)
    fwd(AlertUpdate(opened=[_alert(0.0)]))
    for t in np.arange(1.0, 120.0, 1.0):
        fwd(AlertUpdate(updated=[_alert(float(t))]))
    fwd(AlertUpdate(updated=[_alert(121.0, Severity.CRITICAL)]))  # a new severity goes at once
    fwd(AlertUpdate(resolved=[_alert(130.0)]))
    fwd.pending.result()
    outbox.flush()
    assert len(queued_rows(outbox)) == 4  # opened, t=60, critical, resolved
    outbox.close()


def test_operator_actions_reach_the_outbox(tmp_path):
    """Acknowledging and resolving an alert on the node is forwarded at once, not at the
    alert's next detector update."""
    import json

    from plantmind.core.plant import example_plant_path, load_plant
    from plantmind.core.types import SampleBatch
    from plantmind.detect.robust import RobustConfig
    from plantmind.edge.node import EdgeNode

    plant = load_plant(example_plant_path())
    node = EdgeNode(
        plant, tmp_path / "edge", restore=False, detector_config=RobustConfig(warmup=50)
    )
    outbox = Outbox(tmp_path / "outbox.db", "riverside", plant.egress)
    try:
        node.listeners.append(AlertForwarder(outbox))
        s = node.index.signal_position()["P-101.flow"]
        rng = np.random.default_rng(0)
        node.learn(SampleBatch(np.full(100, s), np.arange(100.0), 180 + rng.normal(0, 1, 100)))
        node.ingest(SampleBatch(np.full(10, s), np.arange(100.0, 110.0), np.full(10, 300.0)))
        (alert,) = node.tracker.open_alerts()
        node.acknowledge(alert.id)
        node.resolve(alert.id)
        outbox.flush()
        rows = outbox._reader().execute(
            "SELECT data FROM outbox WHERE category = 'alerts' ORDER BY seq"
        )
        states = [json.loads(r[0])["state"] for r in rows]
        assert states == ["open", "acknowledged", "resolved"]
    finally:
        outbox.close()
        node.close()

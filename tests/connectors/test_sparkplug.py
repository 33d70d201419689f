"""Sparkplug B specifics: the decoder message by message (aliases, signed integers, seq, bdSeq,
deaths), and against the real Mosquitto broker a seq gap that makes the host publish a rebirth
request, and an NDEATH that marks signals stale."""

from __future__ import annotations

import asyncio
import math
import time

import aiomqtt
import pytest
from connector_peers import SparkplugEdgeNode, unique

from plantmind.connectors.sparkplug import (
    REBIRTH_METRIC,
    DataType,
    MetricSpec,
    Payload,
    SparkplugDecoder,
    SparkplugSource,
    encode_payload,
    metric_value,
    rebirth_payload,
)
from plantmind.core.connectivity import Backoff, SparkplugConfig

pytestmark = pytest.mark.timeout(60)
T = "spBv1.0/g"


def _decoder() -> SparkplugDecoder:
    return SparkplugDecoder("n1", None, {"Flow": 4, "Temp": 1})


def _birth(seq: int = 0, bd: int = 7) -> bytes:
    return encode_payload(
        [
            MetricSpec("bdSeq", value=bd, datatype=DataType.UInt64),
            MetricSpec("Flow", 10, 1.5, DataType.Double, 1_000),
            MetricSpec("Temp", 11, -3, DataType.Int16, 1_000),
            MetricSpec("Other", 12, 9, DataType.Int32, 1_000),
        ],
        seq=seq,
    )


def test_signed_integers_and_types_round_trip():
    cases = [
        (DataType.Int8, -5),
        (DataType.Int16, -300),
        (DataType.Int32, -70000),
        (DataType.Int64, -(2**40)),
        (DataType.UInt32, 4_000_000_000),
        (DataType.Float, 1.5),
        (DataType.Double, -2.25),
        (DataType.Boolean, True),
    ]
    data = encode_payload([MetricSpec(f"m{i}", None, v, t) for i, (t, v) in enumerate(cases)])
    p = Payload.FromString(data)
    assert [metric_value(m) for m in p.metrics] == [float(v) for _, v in cases]
    rb = Payload.FromString(rebirth_payload()).metrics[0]
    assert rb.name == REBIRTH_METRIC and rb.boolean_value and rb.datatype == DataType.Boolean


def test_birth_then_data_by_alias_with_metric_timestamps():
    d = _decoder()
    res = d.handle(f"{T}/NBIRTH/n1", _birth())
    assert sorted(res.samples) == [(1, 1.0, -3.0), (4, 1.0, 1.5)] and res.rebirth is None
    data = encode_payload(
        [
            MetricSpec(None, 10, 2.5, DataType.Double, 2_500),
            MetricSpec(None, 12, 1, DataType.Int32),
        ],
        seq=1,
        timestamp_ms=3_000,
    )
    res = d.handle(f"{T}/NDATA/n1", data)
    assert res.samples == [(4, 2.5, 2.5)] and not res.problems  # 'Other' is not mapped: ignored


def test_unknown_alias_is_reported_and_the_rest_of_the_message_flows():
    d = _decoder()
    d.handle(f"{T}/NBIRTH/n1", _birth())
    data = encode_payload(
        [MetricSpec(None, 99, 1.0, DataType.Double), MetricSpec(None, 10, 4.0, DataType.Double)],
        seq=1,
        timestamp_ms=5_000,
    )
    res = d.handle(f"{T}/NDATA/n1", data)
    assert res.samples == [(4, 5.0, 4.0)]
    assert res.problems[0][0] == f"alias 99 on {T}/NDATA/n1"
    assert res.rebirth == "unknown alias 99"


def test_sequence_gap_and_wrap():
    d = _decoder()
    d.handle(f"{T}/NBIRTH/n1", _birth(seq=0))
    ok = d.handle(f"{T}/NDATA/n1", encode_payload([], seq=1))
    assert ok.rebirth is None
    gap = d.handle(f"{T}/NDATA/n1", encode_payload([], seq=5))
    assert gap.rebirth == "sequence gap: expected seq 2, got 5"
    d.handle(f"{T}/NBIRTH/n1", _birth(seq=254))
    assert d.handle(f"{T}/NDATA/n1", encode_payload([], seq=255)).rebirth is None
    assert d.handle(f"{T}/NDATA/n1", encode_payload([], seq=0)).rebirth is None  # wraps at 256


def test_data_before_any_birth_asks_for_rebirth():
    res = _decoder().handle(f"{T}/NDATA/n1", encode_payload([MetricSpec(None, 10, 1.0)], seq=3))
    assert res.rebirth == "data before any NBIRTH" and res.problems


def test_ndeath_marks_stale_only_with_the_current_bdseq():
    d = _decoder()
    d.handle(f"{T}/NBIRTH/n1", _birth(bd=7))
    old = encode_payload(
        [MetricSpec("bdSeq", value=6, datatype=DataType.UInt64)], timestamp_ms=9_000
    )
    assert d.handle(f"{T}/NDEATH/n1", old).samples == [] and not d.stale
    death = encode_payload(
        [MetricSpec("bdSeq", value=7, datatype=DataType.UInt64)], timestamp_ms=9_000
    )
    res = d.handle(f"{T}/NDEATH/n1", death)
    assert d.stale == {1, 4}
    assert sorted(s for s, _, _ in res.samples) == [1, 4]
    assert all(t == 9.0 and math.isnan(v) for _, t, v in res.samples)
    d.handle(f"{T}/NBIRTH/n1", _birth(bd=8))
    assert not d.stale


def test_ddeath_marks_the_device_signals_stale():
    d = SparkplugDecoder("n1", "dev", {"Flow": 4})
    d.handle(f"{T}/NBIRTH/n1", encode_payload([], seq=0))
    d.handle(f"{T}/DBIRTH/n1/dev", encode_payload([MetricSpec("Flow", 3, 1.0)], seq=1))
    d.handle(f"{T}/DDEATH/n1/other", encode_payload([], seq=2))
    assert not d.stale
    d.handle(f"{T}/DDEATH/n1/dev", encode_payload([], seq=3))
    assert d.stale == {4}


def test_garbage_payload_is_a_problem_not_a_crash():
    res = _decoder().handle(f"{T}/NDATA/n1", b"\xff\xff\xff not protobuf")
    assert res.problems and res.problems[0][0] == f"topic {T}/NDATA/n1"


# --- against the broker ------------------------------------------------------------------------


def _config(group: str, **kw) -> SparkplugConfig:
    return SparkplugConfig(
        protocol="sparkplug",
        id="spb",
        host="127.0.0.1",
        group_id=group,
        edge_node="gw1",
        metrics={"P-101.flow": "Pump/Flow", "P-101.discharge_pressure": "Pump/Pressure"},
        rebirth_holdoff_s=0.1,
        reconnect=Backoff(initial_s=0.05, max_s=0.5),
        **kw,
    )


async def test_a_sequence_gap_makes_the_host_request_a_rebirth(mosquitto, index, collect):
    group = unique("pmtest")
    edge = SparkplugEdgeNode(mosquitto, group, "gw1", {"Pump/Flow": 1, "Pump/Pressure": 2})
    await edge.start()
    seen: list[str] = []
    async with aiomqtt.Client(*mosquitto) as watcher:
        await watcher.subscribe(f"spBv1.0/{group}/NCMD/gw1")

        async def watch() -> None:
            async for msg in watcher.messages:
                p = Payload.FromString(msg.payload)
                seen.extend(m.name for m in p.metrics if metric_value(m))

        wt = asyncio.create_task(watch())
        try:
            source = SparkplugSource(_config(group), index)
            col = collect(source)
            flow = index.signal_position()["P-101.flow"]
            await col.wait_for(lambda got: any(s == flow for s, _, _ in got))  # born
            births = edge.rebirth_requests
            await asyncio.sleep(0.3)  # past the hold-off
            await edge.skip_seq(3)
            await edge.data({"Pump/Flow": 12.0}, time.time())
            deadline = time.monotonic() + 5
            while edge.rebirth_requests == births and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert edge.rebirth_requests > births
            assert REBIRTH_METRIC in seen
            assert source.diagnostics()["rebirth_requests"] >= 1
            # the value in the gapped message itself is still delivered (its alias is known)
            await col.wait_for(lambda got: any(s == flow and v == 12.0 for s, _, v in got))
        finally:
            wt.cancel()
            await edge.stop()


async def test_ndeath_marks_signals_stale_until_the_next_birth(mosquitto, index, collect):
    group = unique("pmtest")
    edge = SparkplugEdgeNode(mosquitto, group, "gw1", {"Pump/Flow": 1, "Pump/Pressure": 2})
    await edge.start()
    try:
        source = SparkplugSource(_config(group), index)
        col = collect(source)
        flow = index.signal_position()["P-101.flow"]
        await col.wait_for(lambda got: any(s == flow for s, _, _ in got))
        await edge.raw("NDEATH", edge._death_payload())
        await col.wait_for(lambda got: any(s == flow and math.isnan(v) for s, _, v in got))
        assert source.stale == {"P-101.flow", "P-101.discharge_pressure"}
        assert source.diagnostics()["stale_signals"] == ["P-101.discharge_pressure", "P-101.flow"]
        edge.bd_seq += 1
        await edge.birth()
        deadline = time.monotonic() + 5
        while source.stale and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert source.stale == set()
    finally:
        await edge.stop()

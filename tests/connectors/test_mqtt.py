"""MQTT JSON specifics: topic matching, the field mapping, timestamps, and against a private
Mosquitto started by the test: user name and password, TLS."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import shutil
import subprocess
import time
from pathlib import Path

import aiomqtt
import pytest
from connector_peers import free_port, make_certificate, unique

from plantmind.connectors.mqtt import MqttJsonSource, client_options, match_topic
from plantmind.core.connectivity import (
    Backoff,
    MissingSecretError,
    MqttConfig,
    MqttTopicMap,
    PasswordAuth,
    TlsConfig,
)

pytestmark = pytest.mark.timeout(60)


def _source(index, topics: list[MqttTopicMap], **kw) -> MqttJsonSource:
    cfg = MqttConfig(
        protocol="mqtt",
        id="mq",
        host="127.0.0.1",
        topics=topics,
        reconnect=Backoff(initial_s=0.05, max_s=0.5),
        **kw,
    )
    return MqttJsonSource(cfg, index)


def _drain(source: MqttJsonSource) -> list[tuple[int, float, float]]:
    b = source._take()
    return list(zip(b.signal.tolist(), b.ts.tolist(), b.value.tolist(), strict=True))


def test_topic_filters():
    assert match_topic("a/+/c", "a/b/c") == ["b"]
    assert match_topic("a/+/c", "a/b/d") is None
    assert match_topic("a/#", "a") == []
    assert match_topic("a/b", "a/b/c") is None
    with pytest.raises(ValueError, match="whole level"):
        MqttTopicMap(topic="a/b+/c", signal="x")
    with pytest.raises(ValueError, match="last level"):
        MqttTopicMap(topic="a/#/c", signal="x")
    with pytest.raises(ValueError, match=r"refers to \{2\}"):
        MqttTopicMap(topic="a/+/c", signal="{2}.flow")
    with pytest.raises(ValueError, match="exactly one"):
        MqttTopicMap(topic="a/b")


def test_mapping_templates_fields_and_timestamps(index):
    src = _source(
        index,
        [
            MqttTopicMap(topic="f/+/+", signal="{1}.{2}", value_field="", timestamp_field=None),
            MqttTopicMap(
                topic="m/comp",
                fields={"C-201.motor_current": "d.i", "C-201.discharge_pressure": "d.p"},
                timestamp_field="meta.time",
            ),
            MqttTopicMap(topic="s/x", signal="P-101.flow", timestamp_field="t"),
        ],
    )
    pos = index.signal_position()
    t0 = time.time()
    assert src.handle("f/P-101/flow", b"12.5") == 1  # a bare number, arrival time
    [(s, t, v)] = _drain(src)
    assert (s, v) == (pos["P-101.flow"], 12.5) and t0 <= t <= time.time()
    doc = {"meta": {"time": "2024-05-01T12:00:00Z"}, "d": {"i": 50, "p": "7.5"}}
    assert src.handle("m/comp", json.dumps(doc).encode()) == 2
    assert sorted(_drain(src)) == sorted(
        [
            (pos["C-201.motor_current"], 1714564800.0, 50.0),
            (pos["C-201.discharge_pressure"], 1714564800.0, 7.5),
        ]
    )
    assert src.handle("s/x", b'{"t": 1700000000.5, "value": true}') == 1
    assert _drain(src) == [(pos["P-101.flow"], 1700000000.5, 1.0)]
    assert src.handle("s/x", b'{"t": 1700000000500, "value": 1}') == 1  # ms detected
    assert _drain(src)[0][1] == 1700000000.5


def test_bad_messages_are_logged_once_and_skipped(index, caplog):
    caplog.set_level(logging.WARNING, logger="plantmind.connectors")
    src = _source(
        index,
        [
            MqttTopicMap(topic="s/+", signal="{1}"),
            MqttTopicMap(topic="m", fields={"P-101.flow": "a", "P-102.flow": "b"}),
        ],
    )
    assert src.handle("s/P-101.flow", b"{nope") == 0
    assert src.handle("s/P-101.flow", b"{nope") == 0
    assert src.handle("s/P-101.flow", b'{"value": "high"}') == 0
    assert src.handle("s/NOT.A.SIGNAL", b'{"value": 1}') == 0
    assert src.handle("m", b'{"a": 1}') == 1  # 'b' missing: the rest of the message flows
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("not JSON" in m for m in msgs) == 1
    assert any("source mq" in m and "not a number: 'high'" in m for m in msgs)
    assert any("signal NOT.A.SIGNAL" in m for m in msgs)
    assert any("no field 'b'" in m for m in msgs)


def test_password_comes_from_the_environment_and_never_shows(monkeypatch):
    cfg = MqttConfig(
        protocol="mqtt",
        id="mq",
        host="h",
        auth=PasswordAuth(username="u", password_env="PM_TEST_MQTT_PW"),
        topics=[MqttTopicMap(topic="a", signal="P-101.flow")],
    )
    with pytest.raises(MissingSecretError, match="PM_TEST_MQTT_PW is not set"):
        client_options(cfg, "x")
    monkeypatch.setenv("PM_TEST_MQTT_PW", "hunter2")
    assert client_options(cfg, "x")["password"] == "hunter2"
    assert "hunter2" not in repr(cfg) and "hunter2" not in cfg.model_dump_json()


# --- a private broker with a password file and a TLS listener ----------------------------------


@pytest.fixture
def private_broker(tmp_path: Path):
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists() or not shutil.which("mosquitto_passwd"):
        pytest.skip("mosquitto / mosquitto_passwd not installed; cannot start a private broker")
    ca_cert, _, ca, ca_key = make_certificate(str(tmp_path), "ca", ca=True)
    srv_cert, srv_key, _, _ = make_certificate(str(tmp_path), "broker", issuer=(ca, ca_key))
    pwfile = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), "plant", "pw-123"], check=True)
    plain, tls = free_port(), free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        # run as the current user: a root mosquitto would switch to 'mosquitto', which cannot
        # read pytest's private tmp directory
        f"user {getpass.getuser()}\n"
        f"per_listener_settings false\nallow_anonymous false\npassword_file {pwfile}\n"
        f"listener {plain} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\ncafile {ca_cert}\ncertfile {srv_cert}\nkeyfile {srv_key}\n"
    )
    proc = subprocess.Popen(
        [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    import socket

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", tls), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.skip(
            f"private mosquitto did not start: {proc.stderr.read().decode()[:300] if proc.stderr else ''}"
        )
    yield {"plain": plain, "tls": tls, "ca": ca_cert}
    proc.terminate()
    proc.wait(timeout=5)


async def _roundtrip(index, collect, port: int, publish_kw: dict, **source_kw) -> None:
    topic = unique("pm")
    src = _source(index, [MqttTopicMap(topic=topic, signal="P-101.flow")], port=port, **source_kw)
    col = collect(src)
    await asyncio.wait_for(src.connected.wait(), 10)
    async with aiomqtt.Client(
        "127.0.0.1", port, username="plant", password="pw-123", **publish_kw
    ) as c:
        await c.publish(topic, b'{"value": 3.5, "ts": 1700000000}', qos=1)
    flow = index.signal_position()["P-101.flow"]
    await col.wait_for(lambda got: (flow, 1700000000.0, 3.5) in got)


async def test_username_and_password(private_broker, index, collect, monkeypatch, caplog):
    monkeypatch.setenv("PM_TEST_MQTT_PW", "pw-123")
    auth = PasswordAuth(username="plant", password_env="PM_TEST_MQTT_PW")
    await _roundtrip(index, collect, private_broker["plain"], {}, auth=auth)
    # a wrong password: refused, retried, the password never logged
    caplog.set_level(logging.DEBUG, logger="plantmind")
    monkeypatch.setenv("PM_TEST_MQTT_PW_BAD", "not-the-pw")
    bad = _source(
        index,
        [MqttTopicMap(topic="x", signal="P-101.flow")],
        port=private_broker["plain"],
        auth=PasswordAuth(username="plant", password_env="PM_TEST_MQTT_PW_BAD"),
    )
    await bad.start()
    await asyncio.sleep(0.8)
    assert not bad.connected.is_set() and bad.diagnostics()["connect_failures"] >= 1
    await bad.close()
    assert "not-the-pw" not in caplog.text


async def test_tls_with_a_private_ca(private_broker, index, collect, monkeypatch):
    import ssl

    monkeypatch.setenv("PM_TEST_MQTT_PW", "pw-123")
    ctx = ssl.create_default_context(cafile=private_broker["ca"])
    await _roundtrip(
        index,
        collect,
        private_broker["tls"],
        {"tls_context": ctx},
        auth=PasswordAuth(username="plant", password_env="PM_TEST_MQTT_PW"),
        tls=TlsConfig(ca_file=private_broker["ca"]),
    )


# --- bad input on the shared broker: one message never costs the others -----------------------


async def test_a_far_future_timestamp_does_not_blind_the_signal(mosquitto, index, collect):
    from plantmind.detect.quality import QualityGate

    topic = unique("pm-future")
    src = _source(index, [MqttTopicMap(topic=topic, signal="P-101.flow")], port=mosquitto[1])
    col = collect(src)
    await asyncio.wait_for(src.connected.wait(), 10)
    t0 = time.time() - 60
    async with aiomqtt.Client(*mosquitto) as c:
        await c.publish(topic, json.dumps({"value": -1.0, "ts": 1e15}), qos=1)
        for i in range(30):
            await c.publish(topic, json.dumps({"value": float(i), "ts": t0 + i}), qos=1)
    got = await col.wait_for(lambda g: len(g) >= 30)
    assert [v for _, _, v in got] == [float(i) for i in range(30)]
    # as the edge node would: every valid sample passes the quality gate's order check
    gate = QualityGate(index.n_signals)
    assert sum(len(gate.filter(b)[0]) for b in col.batches) == 30
    assert gate.counters.total() == 0
    d = src.diagnostics()
    assert d["future_timestamps"] == 1 and d["disconnects"] == 0


def test_the_future_check_is_a_setting_of_live_sources(index):
    src = _source(index, [MqttTopicMap(topic="s/x", signal="P-101.flow")])
    now = time.time()
    assert src.handle("s/x", json.dumps({"value": 1, "ts": now + 200}).encode()) == 1
    assert src.handle("s/x", json.dumps({"value": 2, "ts": now + 400}).encode()) == 0
    assert src.stats.extra["future_timestamps"] == 1
    src.max_future_s = None  # off: every timestamp is taken as it comes
    assert src.handle("s/x", json.dumps({"value": 3, "ts": now + 400}).encode()) == 1
    assert [v for _, _, v in _drain(src)] == [1.0, 3.0]


async def test_a_retained_bad_message_is_skipped_without_reconnecting(mosquitto, index, collect):
    topic = unique("pm-retained")
    async with aiomqtt.Client(*mosquitto) as c:
        # retained: the broker hands it to every (re)connecting subscriber first
        await c.publish(topic, b"\xff\xfe not json {", qos=1, retain=True)
    src = _source(index, [MqttTopicMap(topic=topic, signal="P-101.flow")], port=mosquitto[1])
    col = collect(src)
    try:
        await asyncio.wait_for(src.connected.wait(), 10)
        t0 = time.time() - 60
        async with aiomqtt.Client(*mosquitto) as c:
            await c.publish(topic, b"[" * 100_000 + b"]" * 100_000, qos=1)
            await c.publish(topic, b'{"value": 1' + b"0" * 400 + b"}", qos=1)  # > float range
            await c.publish(topic, b'{"value": 1' + b"0" * 5000 + b"}", qos=1)  # > digit limit
            for i in range(30):
                await c.publish(topic, json.dumps({"value": float(i), "ts": t0 + i}), qos=1)
        got = await col.wait_for(lambda g: len(g) >= 30)
        await asyncio.sleep(0.3)  # time for a reconnect to show, had one happened
        assert [v for _, _, v in got] == [float(i) for i in range(30)]  # 0 of 30 lost
        d = src.diagnostics()
        assert d["disconnects"] == 0 and d["connect_failures"] == 0 and d["connected"] == 1
        assert d["messages"] == 34 and d["messages_skipped"] >= 3
    finally:
        async with aiomqtt.Client(*mosquitto) as c:
            await c.publish(topic, b"", qos=1, retain=True)  # clear the retained message


def test_deep_json_is_refused_before_parsing(index, caplog):
    caplog.set_level(logging.WARNING, logger="plantmind.connectors")
    src = _source(index, [MqttTopicMap(topic="s/x", signal="P-101.flow", value_field="a.0")])
    assert src.handle("s/x", b'{"a": [' + b"[" * 1000 + b"]" * 1000 + b"]}") == 0
    assert "nested deeper than 64 levels" in caplog.text
    # brackets inside strings do not count, and 64 levels (the bound) still parse
    assert src.handle("s/x", b'{"a": [7], "note": "' + b"{[" * 100 + b'"}') == 1
    assert src.handle("s/x", b'{"a": [8, ' + b"[" * 62 + b"]" * 62 + b"]}") == 1
    assert [v for _, _, v in _drain(src)] == [7.0, 8.0]

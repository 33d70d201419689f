"""The hub's idempotent inbox and fleet store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from plantmind.central.inbox import Inbox
from plantmind.store.central import CentralStore
from plantmind.sync.wire import WireError, encode_batch


def _body(site: str, seqs, cat: str = "aggregates", data=None) -> bytes:
    return encode_batch(site, [(s, cat, 1.0, data or f'{{"n":{s},"asset":"A"}}') for s in seqs])


def _alert(seq: int, state: str, active: float) -> tuple[int, str, float, str]:
    import json

    doc = {"id": "al1", "site_id": "S", "asset_id": "P-1", "opened_at": 1.0,
           "last_active_at": active, "severity": "warning", "signals": ["x"],
           "message": "m", "peak_score": 0.7, "state": state}  # fmt: skip
    return (seq, "alerts", active, json.dumps(doc))


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_each_event_is_stored_once_in_site_order(db_url):
    store = CentralStore(db_url)
    inbox = Inbox(store)
    try:
        assert inbox.receive(_body("S1", range(1, 101))) == 100
        assert inbox.receive(_body("S2", range(5, 10))) == 9
        assert inbox.receive(_body("S1", range(1, 101))) == 100  # a re-send
        assert inbox.receive(_body("S1", range(50, 151))) == 150  # overlap after a restart
        assert store.site_seqs("S1") == list(range(1, 151))
        assert store.site_seqs("S2") == list(range(5, 10))
        c = store.counts()
        assert c["events"] == 155 and c["sites"] == 2 and c["assets"] == 2
        assert inbox.counters.duplicates == 151
        sites = {s["id"]: s for s in store.list_sites()}
        assert sites["S1"]["last_seq"] == 150 and sites["S1"]["events"] == 150
    finally:
        store.close()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_alerts_keep_their_newest_state_even_when_replayed(db_url):
    store = CentralStore(db_url)
    inbox = Inbox(store)
    try:
        inbox.receive(encode_batch("S", [_alert(1, "open", 10.0), _alert(2, "open", 20.0)]))
        inbox.receive(encode_batch("S", [_alert(3, "resolved", 30.0)]))
        inbox.receive(encode_batch("S", [_alert(1, "open", 10.0), _alert(2, "open", 20.0)]))
        (a,) = store.list_alerts()
        assert a["state"] == "resolved" and a["site_id"] == "S" and a["last_active_at"] == 30.0
        assert store.list_alerts(state="open") == []
    finally:
        store.close()


def test_malformed_batches_are_rejected_and_counted(tmp_path):
    store = CentralStore(f"sqlite:///{tmp_path / 'c.db'}")
    inbox = Inbox(store)
    for body in (b"nope", b'{"v": 2}', b'{"v":1,"site":"S","events":[]}',
                 encode_batch("S", [(2, "alerts", 1.0, "{}")]).replace(b'"seq":2', b'"seq":"x"')):  # fmt: skip
        with pytest.raises(WireError):
            inbox.receive(body)
    with pytest.raises(WireError, match="topic"):
        inbox.receive(_body("S1", [1]), "mqtt", site="S2")  # one site cannot write as another
    assert inbox.counters.rejected == 5 and store.counts()["events"] == 0
    store.close()

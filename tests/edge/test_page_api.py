"""What the edge page needs of the API: alert filters and paging with a total, operator name
and comment on every action (kept on the alert, shown with its event), the forwarding state
read from the outbox, who is signed in, and the page's own script and style."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
from edge_batches import ticks
from fastapi.testclient import TestClient

from plantmind.core.auth import TokenStore
from plantmind.core.types import Alert, AlertState, Severity
from plantmind.edge.api import create_app
from plantmind.sync.audit import AuditRecord
from plantmind.sync.outbox import Outbox


@pytest.fixture
def client(node):
    with TestClient(create_app(node)) as c:
        token = TokenStore.in_home(node.home).create("operator", label="night shift")
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _stored_alerts(node, n: int = 30) -> list[Alert]:
    out = []
    for i in range(n):
        a = Alert(
            f"al_{i:03d}", "riverside", ("P-101", "C-201", "M-301")[i % 3], 1000.0 + i,
            1000.0 + i, Severity.CRITICAL if i % 4 == 0 else Severity.WARNING,
            ["P-101.flow"], f"alert {i}", 0.8,
            state=AlertState.RESOLVED if i % 2 else AlertState.OPEN,
        )  # fmt: skip
        node.store.upsert_alert(a)
        out.append(a)
    node.store.flush()
    return out


def _raise_alert(node) -> str:
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    node.ingest(ticks(node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    node.store.flush()
    (alert,) = node.tracker.open_alerts()
    return alert.id


def test_alerts_page_with_a_total_and_filter_by_open_asset_and_severity(client, node):
    made = _stored_alerts(node)
    r = client.get("/api/alerts", params={"limit": 10})
    assert r.headers["X-Total-Count"] == "30"
    assert [a["id"] for a in r.json()] == [a.id for a in reversed(made)][:10]  # newest first
    tail = client.get("/api/alerts", params={"limit": 10, "offset": 25})
    assert len(tail.json()) == 5 and tail.headers["X-Total-Count"] == "30"
    past = client.get("/api/alerts", params={"limit": 10, "offset": 40})
    assert past.json() == [] and past.headers["X-Total-Count"] == "30"

    def ids(**params) -> set[str]:
        r = client.get("/api/alerts", params={"limit": 100, **params})
        assert r.status_code == 200, r.text
        assert r.headers["X-Total-Count"] == str(len(r.json()))
        return {a["id"] for a in r.json()}

    assert ids(open="true") == {a.id for a in made if a.state != AlertState.RESOLVED}
    assert ids(open="false") == {a.id for a in made if a.state == AlertState.RESOLVED}
    assert ids(severity="critical") == {a.id for a in made if a.severity == Severity.CRITICAL}
    assert ids(asset="C-201", open="true", severity="warning") == {
        a.id
        for a in made
        if a.asset_id == "C-201" and a.state == AlertState.OPEN and a.severity == "warning"
    }
    assert ids(since=1025.0) == {a.id for a in made if a.last_active_at >= 1025.0}
    bad = client.get("/api/alerts", params={"severity": "panic"})
    assert bad.status_code == 422 and "severity" in bad.text
    assert client.get("/api/alerts", params={"since": "nan"}).status_code == 422
    assert client.get("/api/alerts", params={"offset": -1}).status_code == 422


def test_every_action_keeps_the_operators_name_and_comment(client, node):
    alert_id = _raise_alert(node)
    r = client.post(
        f"/api/alerts/{alert_id}/acknowledge",
        json={"name": "  Jo Miller ", "comment": "DE bearing hot, oil dark"},
    )
    assert r.status_code == 200, r.text
    (note,) = r.json()["details"]["actions"]
    assert (note["action"], note["name"], note["comment"]) == (
        "alert.acknowledged", "Jo Miller", "DE bearing hot, oil dark",
    )  # fmt: skip
    # no body: the token's label is the name (older clients keep working)
    r = client.post(f"/api/alerts/{alert_id}/resolve")
    assert r.json()["state"] == "resolved"
    assert [n["name"] for n in r.json()["details"]["actions"]] == ["Jo Miller", "night shift"]
    # an action on a stored (resolved) alert keeps its note too
    r = client.post(f"/api/alerts/{alert_id}/false-alarm", json={"name": "Ana", "comment": "drift"})
    assert r.json()["false_alarm"] is True
    node.store.flush()
    stored = node.store.get_alert(alert_id)
    assert [(n["action"], n["name"]) for n in stored.details["actions"]] == [
        ("alert.acknowledged", "Jo Miller"),
        ("alert.resolved", "night shift"),
        ("alert.false_alarm", "Ana"),
    ]
    # a refused action leaves no note
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", json={"name": "X"}).status_code == 409
    assert len(client.get(f"/api/alerts/{alert_id}").json()["details"]["actions"]) == 3
    # the events of the actions carry who and why (the audit view)
    ops = {
        e["kind"]: e.get("operator")
        for e in client.get("/api/events").json()
        if e["kind"] != "alert.opened"
    }
    assert ops == {
        "alert.acknowledged": {"name": "Jo Miller", "comment": "DE bearing hot, oil dark"},
        "alert.resolved": {"name": "night shift", "comment": ""},
        "alert.false_alarm": {"name": "Ana", "comment": "drift"},
    }


def test_a_bad_action_body_is_refused_with_the_field_named(client, node):
    alert_id = _raise_alert(node)
    r = client.post(f"/api/alerts/{alert_id}/acknowledge", json={"name": "x" * 121})
    assert r.status_code == 422 and "name" in r.text
    r = client.post(f"/api/alerts/{alert_id}/acknowledge", json={"comment": "x" * 2001})
    assert r.status_code == 422 and "comment" in r.text
    assert client.get(f"/api/alerts/{alert_id}").json()["state"] == "open"


def test_forwarding_state_from_the_outbox(client, node):
    assert client.get("/api/forwarding").json() == {"configured": False}
    node.learn(ticks(node.index, 5000.0, 10))  # plant time 5009 s
    with Outbox(node.home / "outbox.db", "riverside") as outbox:
        first = outbox.put("alerts", {"id": "a"}, ts=4000.0)
        outbox.put("alerts", {"id": "b"}, ts=4500.0)
        f = client.get("/api/forwarding").json()
        assert f["configured"] and f["queued"] == 2 and f["last_delivered"] is None
        assert f["oldest_queued_ts"] == 4000.0 and f["backlog_age_s"] == pytest.approx(1009.0)
        rec = AuditRecord(
            ts=1.7e9, destination="hub.example", site="riverside", first_seq=first,
            last_seq=first, events=1, categories={"alerts": 1}, bytes=10,
            outcome="delivered", duration_ms=1.0,
        )  # fmt: skip
        outbox.ack(first, rec).result()
        f = client.get("/api/forwarding").json()
    assert f["queued"] == 1 and f["delivered"] == 1 and f["backlog_age_s"] == pytest.approx(509.0)
    assert f["last_delivered"]["destination"] == "hub.example" and f["last_delivered_ago_s"] > 0
    assert [a["outcome"] for a in f["attempts"]] == ["delivered"]


def test_whoami_names_the_token_and_its_role(client, node):
    me = client.get("/api/whoami").json()
    assert (me["role"], me["label"]) == ("operator", "night shift") and "secret" not in me
    assert client.get("/api/whoami", headers={"Authorization": "Bearer pm_x_y"}).status_code == 401


def test_the_page_script_and_style_are_served_and_stay_local(client):
    html = client.get("/").text
    assert '<script src="/static/edge.js">' in html and "/static/edge.css" in html
    for name, kind in (("edge.js", "text/javascript"), ("edge.css", "text/css")):
        r = client.get(f"/static/{name}", headers={"Authorization": ""})  # open, like the page
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert "http://" not in r.text and "https://" not in r.text  # nothing from outside
        assert r.content == resources.files("plantmind.web").joinpath("static", name).read_bytes()
    # data only ever reaches the page as text: no HTML built from strings
    js = client.get("/static/edge.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js
    assert client.get("/static/..%2Ftemplates%2Fedge.html").status_code == 404  # named files only
    r = client.get("/static/secrets.json")
    assert r.status_code == 404 and "secrets.json" in r.json()["detail"]

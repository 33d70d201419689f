"""Site identity on the hub: a token bound to a site stores only that site's batches; token
management over HTTP for admins, with its audit log; ``plantmind token create --site``."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from plantmind.central.inbox import BatchRefusedError
from plantmind.central.service import CentralService, default_db_url
from plantmind.central.tokens_api import TokenAudit
from plantmind.cli import app as cli_app
from plantmind.core.auth import Role, TokenStore
from plantmind.sync.wire import encode_batch


def _alerts(site: str, seqs: range | list[int]) -> bytes:
    return encode_batch(site, [(s, "alerts", float(s), f'{{"id":"a{s}"}}') for s in seqs])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _last_seq(hub: CentralService, site: str) -> int | None:
    return next((s["last_seq"] for s in hub.store.list_sites() if s["id"] == site), None)


@pytest.fixture
def hub(tmp_path):
    h = CentralService(default_db_url(tmp_path), tmp_path)
    yield h
    h.close()


def test_a_site_token_stores_only_its_own_site(hub):
    riverside = _bearer(hub.tokens.create("operator", label="riverside edge", site="riverside"))
    lakeside = _bearer(hub.tokens.create("operator", site="lakeside"))
    with TestClient(hub.app()) as c:
        assert c.post("/api/ingest", content=_alerts("riverside", range(1, 4))).status_code == 401
        r = c.post("/api/ingest", content=_alerts("riverside", range(1, 4)), headers=riverside)
        assert r.json() == {"acked_upto": 3}
        # lakeside's token cannot write riverside's events, not even new ones
        r = c.post("/api/ingest", content=_alerts("riverside", range(4, 9)), headers=lakeside)
        assert r.status_code == 403
        assert "riverside" in r.json()["detail"] and "lakeside" in r.json()["detail"]
        # nor create a site it is not bound to
        r = c.post("/api/ingest", content=_alerts("hillside", [1]), headers=lakeside)
        assert r.status_code == 403
    assert _last_seq(hub, "riverside") == 3
    assert _last_seq(hub, "hillside") is None
    assert hub.store.site_seqs("riverside") == [1, 2, 3]
    assert hub.counts()["events"] == 3
    assert hub.inbox.counters.rejected == 2


def test_person_tokens_are_not_site_writers_unless_bound(hub):
    body = _alerts("riverside", [1])
    with TestClient(hub.app()) as c:
        for role in ("engineer", "admin"):
            r = c.post("/api/ingest", content=body, headers=_bearer(hub.tokens.create(role)))
            assert r.status_code == 403 and "not bound to a site" in r.json()["detail"]
        viewer = _bearer(hub.tokens.create("viewer", site="riverside"))
        assert c.post("/api/ingest", content=body, headers=viewer).status_code == 403
        admin = _bearer(hub.tokens.create("admin", site="riverside"))
        assert c.post("/api/ingest", content=body, headers=admin).json() == {"acked_upto": 1}


def test_a_site_less_operator_token_still_works_and_is_warned_about_once(hub, caplog):
    token = hub.tokens.create("operator", label="old site token")
    token_id = token.split("_")[1]
    with TestClient(hub.app()) as c, caplog.at_level(logging.WARNING, "plantmind.core.auth"):
        for first in (1, 3, 5):
            body = _alerts("riverside", [first, first + 1])
            assert c.post("/api/ingest", content=body, headers=_bearer(token)).status_code == 200
    warned = [r for r in caplog.records if "not bound to a site" in r.getMessage()]
    assert len(warned) == 1 and token_id in warned[0].getMessage()
    assert token not in caplog.text  # only the id is ever logged
    assert hub.store.site_seqs("riverside") == list(range(1, 7))


def test_site_binding_in_the_token_file(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    bound = store.create("operator", label="edge", site="riverside")
    free = store.create(Role.OPERATOR)
    p = store.verify(bound)
    assert p is not None and p.site == "riverside" and p.role == Role.OPERATOR
    assert store.verify(free).site is None  # type: ignore[union-attr]
    rows = {r["id"]: r for r in store.list()}
    assert rows[bound.split("_")[1]]["site"] == "riverside"
    assert "sha256" not in json.dumps(store.list())
    for bad in ("", "river side", "x" * 129, "a/b"):
        with pytest.raises(ValueError, match="site id"):
            store.create("operator", site=bad)


def test_a_token_file_from_before_site_binding_still_verifies(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    token = store.create("operator", label="old")
    doc = json.loads(store.path.read_text())
    for entry in doc["tokens"].values():
        del entry["site"]
    store.path.write_text(json.dumps(doc))
    fresh = TokenStore(store.path)
    p = fresh.verify(token)
    assert p is not None and p.site is None and p.label == "old"
    assert fresh.list()[0]["site"] is None


def test_the_mqtt_path_refuses_another_sites_batch_too(hub):
    with pytest.raises(BatchRefusedError, match="topic"):
        hub.inbox.receive(_alerts("riverside", [1]), "mqtt", site="lakeside")
    assert hub.counts()["events"] == 0


def test_cli_token_create_with_a_site(tmp_path):
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    res = runner.invoke(
        cli_app, ["token", "create", "--role", "operator", "--site", "riverside", *home]
    )
    assert res.exit_code == 0, res.output
    token = res.stdout.strip().splitlines()[0]
    p = TokenStore.in_home(tmp_path).verify(token)
    assert p is not None and p.site == "riverside" and p.role == Role.OPERATOR
    runner.invoke(cli_app, ["token", "create", "--role", "viewer", *home])
    listed = runner.invoke(cli_app, ["token", "list", *home])
    assert listed.exit_code == 0
    lines = {ln.split()[0]: ln.split() for ln in listed.stdout.strip().splitlines()}
    assert lines[p.token_id][1:3] == ["operator", "riverside"]
    assert [ln[2] for k, ln in lines.items() if k != p.token_id] == ["-"]
    bad = runner.invoke(cli_app, ["token", "create", "--site", "no such/site", *home])
    assert bad.exit_code == 2 and "site id" in bad.output


def test_admins_manage_tokens_over_http_and_every_action_is_audited(hub):
    admin_token = hub.tokens.create("admin", label="ops")
    admin = _bearer(admin_token)
    admin_id = admin_token.split("_")[1]
    operator = _bearer(hub.tokens.create("operator", site="riverside"))
    with TestClient(hub.app()) as c:
        # lower roles get nothing, not even the list
        for headers in (operator, _bearer(hub.tokens.create("engineer"))):
            assert c.get("/api/tokens", headers=headers).status_code == 403
            assert c.post("/api/tokens", json={}, headers=headers).status_code == 403
            assert c.delete(f"/api/tokens/{admin_id}", headers=headers).status_code == 403
            assert c.get("/api/tokens/audit", headers=headers).status_code == 403
        assert c.get("/api/tokens").status_code == 401

        r = c.post(
            "/api/tokens",
            json={"role": "operator", "label": "lakeside edge", "site": "lakeside"},
            headers=admin,
        )
        assert r.status_code == 201
        made = r.json()
        assert made["site"] == "lakeside" and made["token"].startswith(f"pm_{made['id']}_")
        listed = c.get("/api/tokens", headers=admin).json()
        assert {t["id"]: t["site"] for t in listed}[made["id"]] == "lakeside"
        assert made["token"] not in json.dumps(listed) and "sha256" not in json.dumps(listed)

        # the new token writes its site's batches, and only those
        new = _bearer(made["token"])
        assert c.post("/api/ingest", content=_alerts("lakeside", [1]), headers=new).json() == {
            "acked_upto": 1
        }
        r = c.post("/api/ingest", content=_alerts("riverside", [1]), headers=new)
        assert r.status_code == 403

        bad = c.post("/api/tokens", json={"role": "boss"}, headers=admin)
        assert bad.status_code == 422
        bad = c.post("/api/tokens", json={"site": "a b"}, headers=admin)
        assert bad.status_code == 422

        r = c.delete(f"/api/tokens/{made['id']}", headers=admin)
        assert r.status_code == 200 and r.json()["revoked"] == made["id"]
        r = c.post("/api/ingest", content=_alerts("lakeside", [2]), headers=new)
        assert r.status_code == 401  # revoked: the running hub sees it at once
        assert c.delete(f"/api/tokens/{made['id']}", headers=admin).status_code == 404

        audit = c.get("/api/tokens/audit", headers=admin).json()
    actions = [(a["action"], a["target"], a["outcome"]) for a in reversed(audit)]
    assert actions == [
        ("create", made["id"], "ok"),
        ("list", None, "ok"),
        ("revoke", made["id"], "ok"),
        ("revoke", made["id"], "not_found"),
    ]
    assert {a["actor"] for a in audit} == {admin_id}
    assert audit[-1]["detail"] == {"role": "operator", "label": "lakeside edge", "site": "lakeside"}
    assert made["token"] not in json.dumps(audit)
    # the log is a file under the hub's home: a hub restarted there still has it
    again = TokenAudit(hub.home)
    try:
        assert len(again.rows()) == 4
    finally:
        again.close()

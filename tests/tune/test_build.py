"""The dataset builder on the demo plant: enough records, each traceable to its passage, and
a split with no test record sharing a passage or a near-duplicate with a training record
(checked here pair by pair, not through the builder's own LSH)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.core.plant import example_plant_path, load_plant
from plantmind.knowledge.index import _expand_paths
from plantmind.knowledge.loaders import load_document
from plantmind.tune.build import DECLINE_SHARE, build_dataset, signal_passage
from plantmind.tune.dedup import GROUP_JACCARD, jaccard, shingles
from plantmind.tune.records import SPLITS, TASKS, read_records, text_sha256

pytest.importorskip("datasketch", reason="near-duplicate removal needs plantmind[tune]")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tune")
    res = CliRunner().invoke(app, ["tune", "build", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_build_writes_enough_records_with_every_field(built: Path) -> None:
    lines = (built / "records.jsonl").read_text().splitlines()
    assert len(lines) >= 150
    for line in lines:
        d = json.loads(line)
        assert set(d) >= {"id", "messages", "task", "source", "generator", "sensitivity", "split"}
        assert d["split"] in SPLITS and d["task"] in TASKS
        assert d["source"]["doc"] and len(d["source"]["sha256"]) == 64
        assert [m["role"] for m in d["messages"]] == ["system", "user", "assistant"]
        assert d["generator"]["name"].startswith("template:")
    report = json.loads((built / "report.json").read_text())
    assert report["leaks"] == []
    assert report["decline_share"] >= DECLINE_SHARE
    # every task reaches the held-out test split
    assert all(per.get("test", 0) > 0 for per in report["per_task_split"].values())


def test_every_record_traces_to_a_passage_of_its_source(built: Path) -> None:
    plant_path = example_plant_path()
    plant = load_plant(plant_path)
    passages: dict[str, set[str]] = {plant_path.name: set()}
    for asset in (a for s in plant.sites for ln in s.lines for a in ln.assets):
        passages[plant_path.name].update(text_sha256(signal_passage(sig)) for sig in asset.signals)
    folders = [plant_path.parent / f.path for s in plant.sites for f in s.documents]
    for p, name in _expand_paths(folders):
        doc = load_document(p)
        shas = passages.setdefault(name, set())
        for b in doc.blocks:
            shas.add(text_sha256(b.text))
            shas.update(text_sha256(line) for line in b.text.splitlines())
    for r in read_records(built / "records.jsonl"):
        if r.task == "decline":
            assert r.source["doc"] == "decline"
            continue
        assert r.source["doc"] in passages, r.source
        for sha in r.passages:
            assert sha in passages[r.source["doc"]], (r.id, r.source)


def test_no_test_record_shares_a_passage_or_near_duplicate_with_training(built: Path) -> None:
    records = read_records(built / "records.jsonl")
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    assert train and test
    train_passages = {p for r in train for p in r.passages}
    assert not [r.id for r in test if set(r.passages) & train_passages]
    train_sh = [shingles(r.content()) for r in train]
    for r in test:
        s = shingles(r.content())
        worst = max(jaccard(s, t) for t in train_sh)
        assert worst < GROUP_JACCARD, (r.id, r.question, worst)


def test_questions_come_in_technician_styles(built: Path) -> None:
    records = read_records(built / "records.jsonl")
    styles = {r.generator["style"] for r in records}
    assert styles == {"formal", "colloquial", "shorthand"}
    short = [r.question for r in records if r.generator["style"] == "shorthand"]
    assert any("temp" in q.split() or "brg" in q.split() for q in short)


def test_same_input_same_records_and_split() -> None:
    plant_path = example_plant_path()
    plant = load_plant(plant_path)
    paths = [plant_path.parent / f.path for s in plant.sites for f in s.documents]
    a, _ = build_dataset(plant, plant_path, paths)
    b, _ = build_dataset(plant, plant_path, paths)
    assert [(r.id, r.split) for r in a] == [(r.id, r.split) for r in b]
    assert len({r.id for r in a}) == len(a)  # ids unique after duplicate removal


def test_bad_options_are_named(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["tune", "build", "--out", str(tmp_path), "--test-fraction", "1.5"])
    assert res.exit_code != 0 and "test_fraction" in res.output
    res = runner.invoke(app, ["tune", "build", "--out", str(tmp_path), "--docs", "/nope/x.md"])
    assert res.exit_code != 0 and "/nope/x.md" in res.output


def test_split_command_resplits_in_place(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text((built / "records.jsonl").read_text())
    res = CliRunner().invoke(app, ["tune", "split", str(path), "--seed", "7"])
    assert res.exit_code == 0, res.output
    assert "leaks between test and train: 0" in res.output
    before = {r.id: r.split for r in read_records(built / "records.jsonl")}
    after = {r.id: r.split for r in read_records(path)}
    assert before.keys() == after.keys() and before != after


def test_near_duplicate_signals_stay_on_one_side() -> None:
    # P-101 and P-102 have the same sensor sheet: their questions differ in one digit
    plant_path = example_plant_path()
    plant = load_plant(plant_path)
    recs, _ = build_dataset(plant, plant_path, [])
    by_q = {r.question: r.split for r in recs}
    pairs = [(q, q.replace("P-101", "P-102")) for q in by_q if "P-101" in q]
    assert pairs
    for a, b in pairs:
        if b in by_q:
            assert (
                by_q[a] == by_q[b]
                or "train" not in {by_q[a], by_q[b]}
                or "test"
                not in {
                    by_q[a],
                    by_q[b],
                }
            )


def test_closed_alerts_become_review_records_and_open_ones_do_not() -> None:
    from plantmind.core.types import Alert, AlertState, Severity
    from plantmind.tune.build import alert_records

    def alert(aid: str, state: AlertState, false_alarm: bool) -> Alert:
        return Alert(
            id=aid, site_id="s", asset_id="P-101", opened_at=1.7e9, last_active_at=1.7e9 + 60,
            severity=Severity("critical"), signals=["P-101.bearing_temperature"],
            message="Bearing temperature 91 degC, above its limit of 80 degC",
            peak_score=5.0, state=state, resolved_by="J. Becker", false_alarm=false_alarm,
            details={"recommended_check": "check the oil level"},
        )  # fmt: skip

    recs = list(
        alert_records(
            [
                alert("a1", AlertState.RESOLVED, False),
                alert("a2", AlertState.RESOLVED, True),
                alert("a3", AlertState.OPEN, False),
            ],
            {"P-101": "confidential"},
        )
    )
    answers = {r.source["passage"]: r.answer for r in recs}
    assert set(answers) == {"alert a1", "alert a2"}
    assert "real condition" in answers["alert a1"] and "false alarm" in answers["alert a2"]
    assert all("J. Becker" in a and "check the oil level" in a for a in answers.values())
    assert {r.sensitivity for r in recs} == {"confidential"}


def test_records_carry_passages_in_the_assistants_format(built: Path) -> None:
    from plantmind.assist.answer import SYSTEM_PROMPT

    records = read_records(built / "records.jsonl")
    for r in records:
        golds = [c for c in r.context if c.get("gold")]
        assert len(golds) == (0 if r.task == "decline" else 1), r.id
        keys = [(c["source"], c.get("section")) for c in r.context]
        assert len(set(keys)) == len(keys)  # no passage twice
    # the gold passage and distractors (or, for a decline, distractors only)
    assert sum(len(r.context) >= 2 for r in records) >= 0.95 * len(records)
    r = next(x for x in records if x.task == "diagnosis")
    system, user, assistant = r.grounded_messages()
    assert system["content"] == SYSTEM_PROMPT
    assert user["content"].startswith("Passages from the plant documents:\n\n[1] (")
    assert user["content"].endswith(f"Question: {r.question}")
    k = next(n for n, c in enumerate(r.context, start=1) if c.get("gold"))
    assert assistant["content"].endswith(f"[{k}]")
    decline = next(x for x in records if x.task == "decline")
    assert decline.grounded_messages()[-1]["content"] == "NOT FOUND"
    # the gold passage's place varies (a model must read, not learn a position)
    places = {next(n for n, c in enumerate(x.context) if c.get("gold")) for x in records
              if x.task != "decline"}  # fmt: skip
    assert len(places) >= 2


def test_no_training_prompt_shows_a_held_out_gold_passage(built: Path) -> None:
    records = read_records(built / "records.jsonl")
    held = {(c["source"], c.get("section")) for r in records if r.split != "train"
            for c in r.context if c.get("gold")}  # fmt: skip
    for r in records:
        if r.split == "train":
            shown = {(c["source"], c.get("section")) for c in r.context if not c.get("gold")}
            assert not shown & held, r.id

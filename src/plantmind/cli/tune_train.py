"""``plantmind tune train`` and ``plantmind tune export``: the command functions (registered
on the ``tune`` app by :mod:`plantmind.cli.tune`). Training and export are done by
:mod:`plantmind.tune.train` and :mod:`plantmind.tune.export`; they need the ``finetune``
extra (torch, transformers, peft, gguf), which a missing package names in one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from plantmind.cli.common import console, err
from plantmind.cli.common import fail as _fail

__all__ = ["export_cmd", "publish_adapter", "train_cmd"]

_FINETUNE = {"torch", "transformers", "peft", "gguf", "safetensors", "accelerate", "numpy"}


@contextmanager
def _guard() -> Iterator[None]:
    """Known failures end the command with one red line, a missing package with the extra."""
    from plantmind.tune.base import BaseError
    from plantmind.tune.export import ExportError
    from plantmind.tune.recipe import RecipeError
    from plantmind.tune.records import RecordError
    from plantmind.tune.train import TrainError

    try:
        yield
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root not in _FINETUNE:
            raise
        raise _fail(f"{root} is not installed: pip install 'plantmind[finetune]'") from None
    except (BaseError, ExportError, RecipeError, RecordError, TrainError) as exc:
        raise _fail(str(exc)) from None


def train_cmd(
    records: Annotated[
        Path, typer.Option(help="records.jsonl (plantmind tune build/split): train split used.")
    ],
    out: Annotated[Path, typer.Option(help="Run folder: adapter/, checkpoint/, model card.")],
    recipe: Annotated[
        Path | None,
        typer.Option(help="Recipe YAML (default: the packaged SmolLM2-135M CPU fixture)."),
    ] = None,
    base: Annotated[
        str | None, typer.Option(help="Base model (GGUF file, model folder), over the recipe's.")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Optimiser steps, over the recipe's.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the checkpoint in --out when there is one.")
    ] = True,
) -> None:
    """Fine-tune a base model with LoRA on the train split; resumable, eval loss reported."""
    from plantmind.tune.recipe import load_recipe, packaged_recipe
    from plantmind.tune.train import train

    with _guard():
        r = load_recipe(recipe or packaged_recipe("fixture"))
        r = r.with_overrides(base=base, max_steps=max_steps)
        res = train(records, r, out, resume=resume)
    for w in res.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)

    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.4f}"

    start = f"resumed at step {res.resumed_from}, " if res.resumed_from else ""
    console.print(
        f"trained {res.steps} steps ({start}{res.train_records} train records); "
        f"train loss {f(res.first_loss)} → {f(res.last_loss)}, eval loss "
        f"{f(res.eval_loss_before)} → {f(res.eval_loss_after)} ({res.eval_records} records)"
    )
    console.print(f"adapter: {res.adapter_dir}\nmodel card: {out / 'model_card.json'}")


def export_cmd(
    run_dir: Annotated[Path, typer.Option("--run", help="Run folder of plantmind tune train.")],
    out: Annotated[Path, typer.Option(help="Folder for the GGUF files and the Modelfile.")],
    outtype: Annotated[
        str, typer.Option(help="Merged weights: f16, q8_0 (smaller) or f32 (exact).")
    ] = "f16",
    base: Annotated[
        Path | None, typer.Option(help="Base GGUF (default: the one in the run's model card).")
    ] = None,
    publish: Annotated[
        int | None,
        typer.Option(
            help="Also sign the adapter as this version of model --name (kind llm-adapter, "
            "the base's digest as its compatibility) and upload it to the hub's registry "
            "($PLANTMIND_HUB, $PLANTMIND_TOKEN)."
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="Model name for --publish.")] = "plant-llm",
    keys: Annotated[
        Path | None, typer.Option(help="Signing keys for --publish (`plantmind models keygen`).")
    ] = None,
) -> None:
    """Write the tuned model as GGUF (merged, and the adapter alone) and an Ollama Modelfile."""
    from plantmind.tune.export import export_run

    if outtype not in ("f16", "q8_0", "f32"):
        raise _fail(f"--outtype {outtype}: use f16, q8_0 or f32")
    if publish is not None and keys is None:
        raise _fail("--publish needs --keys (the folder `plantmind models keygen` made)")
    with _guard():
        res = export_run(
            run_dir, out, outtype=cast(Literal["f32", "f16", "q8_0"], outtype), base=base
        )
    console.print(f"merged model: {res.merged}")
    if res.adapter is not None:
        console.print(f"adapter (llama.cpp LoRA, on {res.base.name}): {res.adapter}")
    console.print(f"Ollama: ollama create plant-assistant -f {res.modelfile}")
    if publish is not None:
        assert keys is not None
        if res.adapter is None:
            raise _fail("--publish: this base has no adapter GGUF to publish")
        publish_adapter(run_dir, res.adapter, res.modelfile, name=name, version=publish,
                        keys=keys, base_gguf=res.base)  # fmt: skip


def publish_adapter(
    run_dir: Path,
    adapter: Path,
    modelfile: Path,
    *,
    name: str,
    version: int,
    keys: Path,
    base_gguf: Path | None = None,
) -> None:
    """Sign the adapter GGUF, the Modelfile and the run's model card as ``name`` v``version``
    (kind ``llm-adapter``; compatibility: the base model's sha256, so a site applies it only
    to that base; the card's metrics and data fingerprint in the manifest) and upload it."""
    import json
    import os

    from plantmind.cli.models import _client, _hub_call
    from plantmind.models.manifest import build_manifest, build_rollback
    from plantmind.models.signing import SigningKey, TrustError

    card_path = run_dir / "model_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    base: dict[str, Any] = card["base"] if isinstance(card.get("base"), dict) else {}
    losses: dict[str, Any] = card["losses"] if isinstance(card.get("losses"), dict) else {}
    files = {"adapter.gguf": adapter, "Modelfile": modelfile}
    if card_path.is_file():
        files["model_card.json"] = card_path
    targets = SigningKey.load(keys / "targets.key.json")
    metrics = {f"loss_{k}": v for k, v in losses.items() if isinstance(v, int | float)}
    golden = _golden_prompts(run_dir, files, base_gguf)
    if golden is not None:
        files["golden.json"] = golden
    else:
        console.print(
            "[yellow]published without golden prompts[/yellow] (llama-cpp-python or the base "
            "GGUF is not here): sites will not check the adapter's continuations before use"
        )
    try:
        env = build_manifest(
            name, "llm-adapter", version, files, [targets],
            compat={"base_sha256": base.get("sha256", ""), "base": base.get("path", "")},
            metrics=metrics, data_fingerprint=str(card.get("data", {}).get("fingerprint", "")),
            golden={"path": "golden.json", "tolerance": 0.5} if golden is not None else None,
        )  # fmt: skip
    except TrustError as exc:
        raise _fail(str(exc)) from None
    rb = build_rollback(name, version, max(1, version - 1), [targets]) if version > 1 else None
    with _client(os.environ.get("PLANTMIND_HUB", ""), os.environ.get("PLANTMIND_TOKEN", "")) as c:
        out = _hub_call(c.publish, env, files, rb)
    console.print(f"published {out['name']} v{out['version']} (digest {out['digest'][:16]}…)")


#: prompts whose greedy continuations a site must reproduce before it uses a delivered adapter
GOLDEN_PROMPTS = (
    "P-101 bearing temperature is high. What should be checked first?",
    "Which document describes the lockout of the cooling pump?",
    "What is the torque for the coupling bolts? Answer NOT FOUND if you do not know.",
)


def _golden_prompts(run_dir: Path, files: dict[str, Path], base_gguf: Path | None) -> Path | None:
    """``golden.json`` for the adapter (the prompts and this version's continuations through
    :class:`~plantmind.models.activators.AdapterActivator`, on ``base_gguf``, the base the
    export used, else the one the run card names), written in ``run_dir``; None when
    llama.cpp or the base cannot be opened here."""
    import json

    from plantmind.models.activators import AdapterActivator, golden_doc
    from plantmind.models.signing import TrustError

    try:
        act = (
            AdapterActivator()
            if base_gguf is None
            else AdapterActivator(bases=lambda _files: [base_gguf])
        )
        doc = golden_doc(act, files, list(GOLDEN_PROMPTS))
    except TrustError:
        return None
    path = run_dir / "golden.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path

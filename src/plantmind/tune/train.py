"""LoRA fine-tuning of a base model on the ``train`` split of ``records.jsonl`` (peft and a
plain torch loop): the chat template of the base's tokenizer renders each record, the loss
counts only the assistant's tokens, the eval split's loss is measured before and after.

A run folder holds ``adapter/`` (peft's ``adapter_model.safetensors`` and config: what
:mod:`plantmind.tune.export` turns into GGUF), ``checkpoint/`` (adapter, optimiser and step,
written every ``save_every`` steps and at the end: a second call resumes from it and gives
the same weights as an uninterrupted run), ``model_card.json`` and ``README.md`` (base and
its sha256, data fingerprint, record counts per task, recipe, losses, versions, time)."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from plantmind.tune.recipe import Recipe, check_recipe

__all__ = [
    "Example",
    "ProgressFn",
    "TrainError",
    "TrainResult",
    "data_fingerprint",
    "encode_messages",
    "eval_loss",
    "load_tuned",
    "train",
]

#: ``progress(step, total_steps, loss)`` after every optimiser step
ProgressFn = Callable[[int, int, float], None]

_CKPT = "checkpoint"
_ADAPTER = "adapter"
_CARD = "model_card.json"


class TrainError(RuntimeError):
    """Training cannot start or go on; the message says why and what to change."""


@dataclass(frozen=True, slots=True)
class Example:
    """One tokenised record: ``labels`` is -100 outside the assistant's turns."""

    input_ids: list[int]
    labels: list[int]


@dataclass(slots=True)
class TrainResult:
    """What :func:`train` did. ``model`` is the trained peft model (in memory, not saved in
    the card); losses are mean cross-entropy per assistant token."""

    out_dir: Path
    adapter_dir: Path
    steps: int
    resumed_from: int
    train_records: int
    eval_records: int
    first_loss: float | None
    last_loss: float | None
    eval_loss_before: float | None
    eval_loss_after: float | None
    card: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    model: Any = None
    tokenizer: Any = None


def data_fingerprint(ids: Sequence[str]) -> str:
    """sha256 over the sorted record ids (one per line)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def encode_messages(tokenizer: Any, messages: list[dict[str, str]], context_length: int) -> Example:
    """Render ``messages`` with the tokenizer's chat template and label the assistant turns
    (their text and end-of-turn marker) for the loss; cut at ``context_length`` tokens."""
    try:
        full = tokenizer.apply_chat_template(messages, tokenize=False)
    except Exception as exc:  # jinja's TemplateError, or a template's raise_exception
        roles = "/".join(m["role"] for m in messages)
        raise TrainError(
            f"the base's chat template cannot render a {roles} record: {exc}"
        ) from None
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prefix = tokenizer.apply_chat_template(
            messages[:i], tokenize=False, add_generation_prompt=True
        )
        upto = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if not (upto.startswith(prefix) and full.startswith(upto)):
            raise TrainError(
                "the base's chat template renders a conversation differently from its prefix; "
                "the assistant's tokens cannot be found (use another base)"
            )
        spans.append((len(prefix), len(upto)))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])[:context_length]
    offsets = list(enc["offset_mapping"])[:context_length]
    labels = [
        tok if any(a <= start < b for a, b in spans) else -100
        for tok, (start, _end) in zip(ids, offsets, strict=True)
    ]
    return Example(ids, labels)


def _collate(batch: Sequence[Example], pad_id: int) -> dict[str, Any]:
    import torch

    n = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), n), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for i, e in enumerate(batch):
        k = len(e.input_ids)
        ids[i, :k] = torch.tensor(e.input_ids)
        labels[i, :k] = torch.tensor(e.labels)
        mask[i, :k] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _loss_sum(model: Any, batch: dict[str, Any], device: str) -> tuple[Any, int]:
    """Summed cross-entropy over the labelled tokens, and their count."""
    import torch

    ids = batch["input_ids"].to(device)
    labels = batch["labels"].to(device)
    out = model(input_ids=ids, attention_mask=batch["attention_mask"].to(device))
    logits = out.logits[:, :-1, :].float()
    target = labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return loss, int((target != -100).sum())


def eval_loss(
    model: Any, examples: Sequence[Example], pad_id: int, batch_size: int = 4
) -> float | None:
    """Mean cross-entropy per assistant token over ``examples`` (None when there are none)."""
    import torch

    if not examples:
        return None
    param = next(model.parameters())
    device = param.device.type
    half = param.dtype in (torch.bfloat16, torch.float16) and device == "cuda"
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    amp = torch.autocast(device, dtype=param.dtype) if half else nullcontext()
    with torch.no_grad(), amp:
        for i in range(0, len(examples), batch_size):
            loss, n = _loss_sum(model, _collate(examples[i : i + batch_size], pad_id), device)
            total += float(loss)
            count += n
    model.train(was_training)
    return total / count if count else None


def _encode_all(
    tokenizer: Any, records: Sequence[Any], ctx: int, grounded: bool = True
) -> list[Example]:
    """Tokenised records; ``grounded``: in the assistant's format (their passages before the
    question) where a record has passages. Records whose answer the context length cuts
    off entirely are left out."""
    out = []
    for r in records:
        msgs = r.grounded_messages() if grounded and getattr(r, "context", None) else r.messages
        ex = encode_messages(tokenizer, msgs, ctx)
        if any(lab != -100 for lab in ex.labels[1:]):
            out.append(ex)
    return out


def _check(recipe: Recipe, warn: list[str]) -> None:
    from plantmind.tune.base import describe_base, machine_facts, resolve_base

    info = describe_base(resolve_base(recipe.base))
    facts = machine_facts()
    problems = check_recipe(
        recipe,
        cuda_available=facts.cuda_available,
        bitsandbytes_available=facts.bitsandbytes_available,
        bf16_supported=facts.bf16_supported,
        gpu_memory_gib=facts.gpu_memory_gib,
        host_memory_gib=facts.host_memory_gib,
        model_context_length=info.context_length,
        model_params=info.n_params,
        model_hidden=info.hidden,
        model_layers=info.layers,
        model_vocab=info.vocab,
        base_is_gguf=info.kind == "gguf",
    )
    errors = [str(p) for p in problems if p.level == "error"]
    warn.extend(str(p) for p in problems if p.level == "warning")
    if errors:
        raise TrainError("the recipe does not fit this machine:\n  " + "\n  ".join(errors))


def _peft_model(model: Any, recipe: Recipe) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if _is_linear(m, torch)}
    missing = [t for t in recipe.target_modules if t not in names]
    if missing:
        raise TrainError(
            f"target_modules: {', '.join(missing)} not in the base model; its linear layers "
            f"are {', '.join(sorted(names))}"
        )
    if recipe.quantization == "4bit":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.gradient_checkpointing
        )
    elif recipe.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    torch.manual_seed(recipe.seed)
    cfg = LoraConfig(
        r=recipe.rank,
        lora_alpha=recipe.alpha,
        lora_dropout=recipe.dropout,
        target_modules=list(recipe.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


def _is_linear(module: Any, torch: Any) -> bool:
    return isinstance(module, torch.nn.Linear) or type(module).__name__ == "Linear4bit"


def _micro_batches(n_examples: int, recipe: Recipe, step: int) -> list[list[int]]:
    """The example indices of optimiser step ``step`` (0-based): epochs are seeded
    permutations, cut into batches, ``gradient_accumulation`` batches a step. A function of
    the step alone, so a resumed run reads the same batches as an uninterrupted one."""
    import torch

    per_epoch = math.ceil(n_examples / recipe.batch_size)
    out = []
    for k in range(recipe.gradient_accumulation):
        g = step * recipe.gradient_accumulation + k
        epoch, pos = divmod(g, per_epoch)
        gen = torch.Generator().manual_seed(recipe.seed * 1_000_003 + epoch)
        order = torch.randperm(n_examples, generator=gen).tolist()
        out.append(order[pos * recipe.batch_size : (pos + 1) * recipe.batch_size])
    return out


def _total_steps(n_examples: int, recipe: Recipe) -> int:
    if recipe.max_steps is not None:
        return recipe.max_steps
    per_epoch = math.ceil(math.ceil(n_examples / recipe.batch_size) / recipe.gradient_accumulation)
    return max(1, math.ceil((recipe.epochs or 1.0) * per_epoch))


def _save_checkpoint(out_dir: Path, model: Any, opt: Any, state: dict[str, Any]) -> None:
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    tmp = out_dir / f"{_CKPT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sd = {
        k: v.detach().cpu().contiguous()
        for k, v in get_peft_model_state_dict(model, save_embedding_layers=False).items()
    }
    save_file(sd, str(tmp / "adapter.safetensors"))
    torch.save({"optimizer": opt.state_dict(), "rng": torch.get_rng_state()}, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    final = out_dir / _CKPT
    old = out_dir / f"{_CKPT}.old"
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.replace(old)
    tmp.replace(final)
    shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(out_dir: Path, model: Any, opt: Any, expect: dict[str, str]) -> dict[str, Any]:
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    ckpt = out_dir / _CKPT
    state: dict[str, Any] = json.loads((ckpt / "state.json").read_text())
    for key, want in expect.items():
        if state.get(key) != want:
            raise TrainError(
                f"{ckpt} was written with another {key.replace('_', ' ')}; resume needs the "
                f"same base, data and recipe: give --no-resume to start again, or another --out"
            )
    set_peft_model_state_dict(model, load_file(str(ckpt / "adapter.safetensors")))
    blob = torch.load(ckpt / "optimizer.pt", weights_only=False)
    opt.load_state_dict(blob["optimizer"])
    torch.set_rng_state(blob["rng"])
    return state


def _rich_progress() -> tuple[ProgressFn, Callable[[], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("train", total=None, loss="-")
    bar.start()

    def update(step: int, total: int, loss: float) -> None:
        bar.update(task, completed=step, total=total, loss=f"{loss:.3f}")

    return update, bar.stop


def train(
    records_path: Path,
    recipe: Recipe,
    out_dir: Path,
    *,
    resume: bool = True,
    progress: ProgressFn | Literal["rich"] | None = "rich",
) -> TrainResult:
    """Fine-tune ``recipe.base`` with LoRA on the train split of ``records_path`` into
    ``out_dir``; with ``resume`` an existing checkpoint there (same base, data and recipe)
    is continued from its step. Raises :class:`TrainError` (no train split, a recipe that
    does not fit this machine) or :class:`plantmind.tune.base.BaseError`."""
    started = time.time()
    from plantmind.tune.records import read_records

    records = read_records(records_path)
    train_recs = sorted((r for r in records if r.split == "train"), key=lambda r: r.id)
    eval_recs = sorted((r for r in records if r.split == "eval"), key=lambda r: r.id)
    if not train_recs:
        raise TrainError(
            f"{records_path}: no records with split 'train' ({len(records)} records): "
            f"split them first (plantmind tune split)"
        )
    warnings: list[str] = []
    _check(recipe, warnings)

    import torch
    import transformers

    from plantmind.tune.base import load_base, resolve_base, resolve_device

    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(recipe.seed)
    device = resolve_device(recipe)
    base_model, tokenizer, digest = load_base(recipe, device=device)
    train_ex = _encode_all(tokenizer, train_recs, recipe.context_length, recipe.grounded)
    eval_ex = _encode_all(tokenizer, eval_recs, recipe.context_length, recipe.grounded)
    if not train_ex:
        raise TrainError(f"context_length: {recipe.context_length} cuts every assistant answer")
    pad_id = int(tokenizer.pad_token_id)
    resuming = resume and (out_dir / _CKPT / "state.json").is_file()
    # a resumed run has the loss before training in its checkpoint
    before = None if resuming else eval_loss(base_model, eval_ex, pad_id, recipe.batch_size)
    model = _peft_model(base_model, recipe)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    expect = {
        "base_sha256": digest,
        "data_fingerprint": data_fingerprint([r.id for r in train_recs]),
        "recipe_fingerprint": recipe.fingerprint(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {**expect, "step": 0, "losses": [], "eval_loss_before": before}
    if resuming:
        state = _load_checkpoint(out_dir, model, opt, expect)
    elif not resume:
        shutil.rmtree(out_dir / _CKPT, ignore_errors=True)
    resumed_from = int(state["step"])
    total = _total_steps(len(train_ex), recipe)
    amp = recipe.dtype != "float32" and recipe.quantization == "none"
    amp_dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(recipe.dtype)
    scaler = torch.amp.GradScaler(device) if recipe.dtype == "float16" else None
    update, stop = _rich_progress() if progress == "rich" else (progress, None)
    model.train()
    try:
        for step in range(resumed_from, total):
            lr_scale = min(1.0, (step + 1) / recipe.warmup_steps) if recipe.warmup_steps else 1.0
            for group in opt.param_groups:
                group["lr"] = recipe.learning_rate * lr_scale
            batches = [
                _collate([train_ex[i] for i in idx], pad_id)
                for idx in _micro_batches(len(train_ex), recipe, step)
            ]
            n_tokens = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)
            step_loss = 0.0
            for b in batches:
                ctx = torch.autocast(device, dtype=amp_dtype) if amp else nullcontext()
                with ctx:
                    loss_sum, _n = _loss_sum(model, b, device)
                loss = loss_sum / max(n_tokens, 1)
                (scaler.scale(loss) if scaler else loss).backward()
                step_loss += float(loss.detach())
            if scaler:
                scaler.unscale_(opt)
            if recipe.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, recipe.max_grad_norm)
            if scaler:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            opt.zero_grad(set_to_none=True)
            state["losses"].append(step_loss)
            state["step"] = step + 1
            if (step + 1) % recipe.save_every == 0 or step + 1 == total:
                _save_checkpoint(out_dir, model, opt, state)
            if update is not None:
                update(step + 1, total, step_loss)
    finally:
        if stop is not None:
            stop()
    after = eval_loss(model, eval_ex, pad_id, recipe.batch_size)
    model.eval()
    adapter_dir = out_dir / _ADAPTER
    model.save_pretrained(adapter_dir, save_embedding_layers=False)
    _fix_adapter_config(adapter_dir, recipe.base)
    losses: list[float] = state["losses"]
    card = _card(
        recipe,
        resolve_base(recipe.base),
        digest,
        expect["data_fingerprint"],
        train_recs,
        eval_recs,
        losses,
        state.get("eval_loss_before", before),
        after,
        device,
        started,
        resumed_from,
        len(train_ex),
    )
    (out_dir / _CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "README.md").write_text(_readme(card), encoding="utf-8")
    return TrainResult(
        out_dir=out_dir,
        adapter_dir=adapter_dir,
        steps=int(state["step"]),
        resumed_from=resumed_from,
        train_records=len(train_recs),
        eval_records=len(eval_recs),
        first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None,
        eval_loss_before=card["losses"]["eval_before"],
        eval_loss_after=after,
        card=card,
        warnings=warnings,
        model=model,
        tokenizer=tokenizer,
    )


def _fix_adapter_config(adapter_dir: Path, base: str) -> None:
    """Name the recipe's base in peft's config (not the converted copy in the cache)."""
    p = adapter_dir / "adapter_config.json"
    cfg = json.loads(p.read_text())
    cfg["base_model_name_or_path"] = base
    p.write_text(json.dumps(cfg, indent=2) + "\n")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("plantmind", "torch", "transformers", "peft"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _card(
    recipe: Recipe,
    base_path: Path,
    digest: str,
    fingerprint: str,
    train_recs: Sequence[Any],
    eval_recs: Sequence[Any],
    losses: list[float],
    before: float | None,
    after: float | None,
    device: str,
    started: float,
    resumed_from: int,
    n_train_examples: int,
) -> dict[str, Any]:
    return {
        "kind": "plantmind.tune.lora",
        "base": {"name": recipe.base, "path": str(base_path), "sha256": digest},
        "data": {
            "fingerprint": fingerprint,
            "fingerprint_of": "sha256 over the sorted ids of the train records",
            "train_records": len(train_recs),
            "train_examples_used": n_train_examples,
            "eval_records": len(eval_recs),
            "train_by_task": dict(sorted(Counter(r.task for r in train_recs).items())),
            "eval_by_task": dict(sorted(Counter(r.task for r in eval_recs).items())),
        },
        "recipe": recipe.model_dump(),
        "steps": len(losses),
        "resumed_from_step": resumed_from,
        "losses": {
            "train_first": losses[0] if losses else None,
            "train_last": losses[-1] if losses else None,
            "train": losses,
            "eval_before": before,
            "eval_after": after,
            "unit": "mean cross-entropy per assistant token (nats)",
        },
        "device": device,
        "versions": _versions(),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 1),
    }


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def _readme(card: dict[str, Any]) -> str:
    b, d, lo, r = card["base"], card["data"], card["losses"], card["recipe"]
    tasks = ", ".join(f"{k} {v}" for k, v in d["train_by_task"].items())
    return (
        f"# LoRA adapter: {r['name']}\n\n"
        f"Fine-tuned by plantmind {card['versions']['plantmind']} on {card['finished']} "
        f"({card['seconds']} s on {card['device']}).\n\n"
        f"- base: `{b['name']}` (`{b['path']}`), sha256 `{b['sha256']}`\n"
        f"- data: {d['train_records']} train records ({tasks}), {d['eval_records']} eval "
        f"records; fingerprint `{d['fingerprint']}` ({d['fingerprint_of']})\n"
        f"- LoRA r={r['rank']} alpha={r['alpha']:g} dropout={r['dropout']:g} on "
        f"{', '.join(r['target_modules'])}; lr {r['learning_rate']:g}, {card['steps']} steps, "
        f"batch {r['batch_size']} × {r['gradient_accumulation']}, context "
        f"{r['context_length']}, {r['dtype']}, quantization {r['quantization']}, seed {r['seed']}\n"
        f"- train loss: first {_fmt(lo['train_first'])}, last {_fmt(lo['train_last'])}\n"
        f"- eval loss: before {_fmt(lo['eval_before'])}, after {_fmt(lo['eval_after'])} "
        f"({lo['unit']})\n\n"
        f"`adapter/` is a peft LoRA adapter; `plantmind tune export` writes it as GGUF for "
        f"llama.cpp and Ollama. `model_card.json` holds the same facts for machines.\n"
    )


def load_tuned(run_dir: Path) -> tuple[Any, Any, dict[str, Any]]:
    """``(peft_model, tokenizer, model_card)`` of a run folder: its base (checked against the
    card's sha256) with the saved adapter, on the CPU in float32, in eval mode."""
    from peft import PeftModel

    from plantmind.tune.base import load_base

    card_path = run_dir / _CARD
    if not card_path.is_file():
        raise TrainError(f"{run_dir}: no {_CARD} (not a plantmind tune train run folder)")
    card = json.loads(card_path.read_text())
    base, tokenizer, digest = load_base(card["base"]["path"], device="cpu")
    if digest != card["base"]["sha256"]:
        raise TrainError(
            f"{card['base']['path']} is not the base this adapter was trained on "
            f"(sha256 {digest[:12]}…, the card says {card['base']['sha256'][:12]}…)"
        )
    model = PeftModel.from_pretrained(base, run_dir / _ADAPTER)
    model.eval()
    return model, tokenizer, card

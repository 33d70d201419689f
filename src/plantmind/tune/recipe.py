"""The training recipe: one YAML file that says which base model to tune (a GGUF file, a
Hugging Face model directory, or a hub-style name found in the local cache only: nothing
downloads at run time), the LoRA shape, the optimiser, the device, the precision and the
quantisation; and :func:`check_recipe`, the configuration checks of the GPU code path (QLoRA
needs CUDA and bitsandbytes, bf16 needs a GPU that has it, the context must fit the model, a
7–13 B model must fit the memory), which run without a GPU and without importing torch.

The packaged recipes (``recipes/fixture.yaml``: the SmolLM2-135M fixture on a CPU;
``recipes/gpu-7b.yaml``: a 7 B model on one GPU) are found with :func:`packaged_recipe`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "FIXTURE_BASE",
    "Problem",
    "Recipe",
    "RecipeError",
    "check_recipe",
    "estimate_memory_gib",
    "load_recipe",
    "packaged_recipe",
    "parse_recipe",
]

#: The ``base`` value that names the packaged SmolLM2-135M fixture (:mod:`plantmind.tune.fixture`)
FIXTURE_BASE = "fixture:smollm2-135m"


class RecipeError(ValueError):
    """A recipe file that cannot be read or is not a valid recipe; the message names the field."""


class Recipe(BaseModel):
    """A LoRA fine-tuning recipe. Sizes are in tokens and optimiser steps; ``max_steps`` (when
    set) wins over ``epochs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        default="custom", min_length=1, description="A label written to the model card."
    )
    base: str = Field(
        min_length=1,
        description=f"A .gguf file, a Hugging Face model folder, a hub-style name found in the "
        f"local Hugging Face cache, or {FIXTURE_BASE!r}. Relative paths are read from the "
        f"recipe's folder.",
    )
    rank: int = Field(default=8, ge=1, le=1024, description="LoRA rank r.")
    alpha: int = Field(default=16, ge=1, description="LoRA alpha (the update is scaled alpha/r).")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="LoRA dropout.")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        min_length=1,
        description="Module names that get LoRA adapters (Linear layers of the base).",
    )
    learning_rate: float = Field(default=2e-4, gt=0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    warmup_steps: int = Field(default=0, ge=0)
    epochs: float | None = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    context_length: int = Field(
        default=512, ge=16, description="Tokens per example (longer are cut)."
    )
    batch_size: int = Field(default=1, ge=1)
    gradient_accumulation: int = Field(default=1, ge=1)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    quantization: Literal["none", "4bit"] = Field(
        default="none", description="4bit = QLoRA (bitsandbytes NF4, CUDA only)."
    )
    gradient_checkpointing: bool = False
    grounded: bool = Field(
        default=True,
        description="Train in the assistant's format: the record's passages numbered before "
        "the question, the answer citing its passage ([k]) or saying NOT FOUND.",
    )
    save_every: int = Field(default=50, ge=1, description="Optimiser steps between checkpoints.")
    max_grad_norm: float | None = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _steps(self) -> Recipe:
        if self.epochs is None and self.max_steps is None:
            raise ValueError("give epochs or max_steps")
        return self

    def with_overrides(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` (``None`` values are ignored), validated again."""
        data = self.model_dump()
        data.update({k: v for k, v in changes.items() if v is not None})
        return _validate(data, "recipe")

    def fingerprint(self) -> str:
        """sha256 of the fields that shape each training step (a resumed run must have the
        same one). The length of the run (``epochs``, ``max_steps``) is left out, so a run can
        be continued for more steps; the base is checked by its sha256 instead of its path."""
        data = self.model_dump(exclude={"name", "save_every", "epochs", "max_steps", "base"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _validate(data: Any, where: str) -> Recipe:
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "recipe"
            lines.append(f"{loc}: {e['msg']}")
        raise RecipeError(f"{where}: " + "; ".join(lines)) from None


def parse_recipe(data: Any, *, where: str = "recipe", root: Path | None = None) -> Recipe:
    """A recipe from a mapping; a relative ``base`` path that exists under ``root`` (the
    recipe's folder) is made absolute."""
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: a recipe must be a mapping of fields")
    recipe = _validate(data, where)
    if root is not None and not recipe.base.startswith("fixture:"):
        p = Path(recipe.base).expanduser()
        if not p.is_absolute() and (root / p).exists():
            recipe = recipe.model_copy(update={"base": str((root / p).resolve())})
    return recipe


def load_recipe(path: Path) -> Recipe:
    """Read a recipe YAML file; :class:`RecipeError` names the file and the bad fields."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not YAML ({exc})") from None
    return parse_recipe(data, where=str(path), root=path.parent)


def packaged_recipe(name: str = "fixture") -> Path:
    """The path of a recipe shipped with plantmind (``fixture`` or ``gpu-7b``)."""
    p = Path(str(resources.files("plantmind.tune") / "recipes" / f"{name}.yaml"))
    if not p.is_file():
        raise RecipeError(f"no packaged recipe {name!r} (there are fixture and gpu-7b)")
    return p


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of :func:`check_recipe`: ``level`` error (training would fail or cannot
    fit) or warning (it runs, but slowly or wastefully); ``field`` is the recipe field to
    change."""

    level: Literal["error", "warning"]
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.field}: {self.message}"


_BYTES_PER_PARAM = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0}


def estimate_memory_gib(
    recipe: Recipe,
    n_params: float,
    *,
    hidden: int | None = None,
    layers: int | None = None,
    vocab: int | None = None,
) -> float:
    """A rough upper estimate of the memory training needs (GiB): the frozen weights at the
    recipe's precision (NF4 ≈ 0.56 byte a parameter with its scales), the LoRA weights with
    their gradients and AdamW moments (fp32), and the activations of one micro-batch (about 34
    bytes per token, layer and hidden unit without gradient checkpointing, 2 with it — the
    usual transformer rule of thumb), the logits with their gradient (fp32) and 1 GiB for the
    runtime; ``hidden``/``layers``/``vocab`` default to a 7 B Llama shape. It is meant to
    catch a recipe that cannot fit, not to size a machine to the last gigabyte."""
    per_param = 0.56 if recipe.quantization == "4bit" else _BYTES_PER_PARAM[recipe.dtype]
    weights = n_params * per_param
    hidden = hidden or 4096
    layers = layers or 32
    lora = len(recipe.target_modules) * layers * recipe.rank * 2 * hidden * 16.0
    act_bytes = 2.0 if recipe.gradient_checkpointing else 34.0
    act_scale = 1.0 if recipe.dtype != "float32" else 2.0
    tokens = recipe.batch_size * recipe.context_length
    activations = tokens * layers * hidden * act_bytes * act_scale / 2.0
    logits = tokens * (vocab or 32000) * 4.0 * 2
    return (weights * 1.1 + lora + activations + logits) / 2**30 + 1.0


def check_recipe(
    recipe: Recipe,
    *,
    cuda_available: bool,
    bitsandbytes_available: bool,
    bf16_supported: bool | None = None,
    gpu_memory_gib: float | None = None,
    host_memory_gib: float | None = None,
    model_context_length: int | None = None,
    model_params: float | None = None,
    model_hidden: int | None = None,
    model_layers: int | None = None,
    model_vocab: int | None = None,
    base_is_gguf: bool = False,
) -> list[Problem]:
    """The problems that would stop (``error``) or slow (``warning``) training with this
    recipe on this machine. Everything it reads is passed in (what torch says of the GPU,
    what the base's config says of the model), so it runs anywhere without torch; the trainer
    calls it with the real values before it loads the model."""
    out: list[Problem] = []

    def add(level: Literal["error", "warning"], field: str, msg: str) -> None:
        out.append(Problem(level, field, msg))

    on_gpu = recipe.device == "cuda" or (recipe.device == "auto" and cuda_available)
    if recipe.device == "cuda" and not cuda_available:
        add(
            "error",
            "device",
            "cuda asked for but torch sees no CUDA GPU (a CPU build of torch, or no driver); "
            "set device: cpu, or install a CUDA build of torch on a GPU machine",
        )
    if recipe.quantization == "4bit":
        if not on_gpu:
            add(
                "error",
                "quantization",
                "4bit (QLoRA) needs a CUDA GPU and bitsandbytes; on a CPU set quantization: none "
                "(and dtype: float32)",
            )
        if not bitsandbytes_available:
            add(
                "error",
                "quantization",
                "4bit (QLoRA) needs bitsandbytes: pip install 'bitsandbytes>=0.43' (CUDA only), "
                "or set quantization: none",
            )
        if base_is_gguf:
            add(
                "error",
                "base",
                "4bit (QLoRA) is done here from a Hugging Face model folder (safetensors); a "
                "GGUF base is de-quantised to dtype instead: point base at the model folder, or "
                "set quantization: none",
            )
        if recipe.dtype == "float32":
            add(
                "warning",
                "dtype",
                "4bit with float32 compute is slow; use bfloat16 (or float16 on GPUs without it)",
            )
    if on_gpu and cuda_available:
        if recipe.dtype == "bfloat16" and bf16_supported is False:
            add(
                "error",
                "dtype",
                "this GPU has no bfloat16 (it needs compute capability 8.0, Ampere or newer); "
                "use float16 (T4, V100) or float32",
            )
    elif not on_gpu:
        if recipe.dtype == "float16":
            add(
                "error",
                "dtype",
                "float16 training needs a GPU; on a CPU use float32 (or bfloat16, slower)",
            )
        elif recipe.dtype == "bfloat16":
            add("warning", "dtype", "bfloat16 on a CPU trains, but slower than float32 here")
    if model_context_length is not None and recipe.context_length > model_context_length:
        add(
            "error",
            "context_length",
            f"{recipe.context_length} tokens is longer than the base model's "
            f"{model_context_length}; set context_length: {model_context_length} or less",
        )
    if model_params is not None:
        need = estimate_memory_gib(
            recipe, model_params, hidden=model_hidden, layers=model_layers, vocab=model_vocab
        )
        size = f"{model_params / 1e9:.1f} B parameters"
        if on_gpu and gpu_memory_gib is not None and need > gpu_memory_gib:
            add(
                "error",
                "quantization" if recipe.quantization == "none" else "context_length",
                f"a {size} model needs about {need:.0f} GiB to train this way, the GPU has "
                f"{gpu_memory_gib:.0f} GiB: use quantization: 4bit (QLoRA), "
                f"gradient_checkpointing: true, a shorter context_length or batch_size: 1",
            )
        if not on_gpu:
            hint = (
                f"a {size} model in {recipe.dtype} needs about {need:.0f} GiB of memory "
                f"to train on a CPU"
            )
            if host_memory_gib is not None and need > host_memory_gib:
                add(
                    "error",
                    "device",
                    f"{hint}, this machine has {host_memory_gib:.0f} GiB: train it on a GPU "
                    f"(recipes/gpu-7b.yaml) or choose a smaller base",
                )
            elif model_params >= 3e9:
                add(
                    "warning",
                    "device",
                    f"{hint} and days of CPU time for one epoch: train it on a GPU "
                    f"(recipes/gpu-7b.yaml)",
                )
    if recipe.gradient_checkpointing and not on_gpu and (model_params or 0) < 1e9:
        add("warning", "gradient_checkpointing", "slows a small CPU run for no gain; set false")
    if recipe.alpha / recipe.rank > 8:
        add(
            "warning",
            "alpha",
            f"alpha/rank = {recipe.alpha / recipe.rank:g} scales the update strongly; "
            f"alpha is usually 1–2 × rank",
        )
    return out

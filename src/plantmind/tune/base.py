"""The base model a recipe tunes: where it is (a GGUF file, a Hugging Face model folder, a
hub-style name found in the local cache only, or the packaged fixture), what it is (its
digest, size and context, read without torch), what this machine offers (CUDA, bfloat16,
memory, bitsandbytes), and loading it for training.

A GGUF base is converted once by transformers (de-quantised to float32, the tokenizer rebuilt
from the GGUF vocabulary) and the result is kept as safetensors under
``<cache>/base/<sha256 of the GGUF>/``; ``<cache>`` is ``$PLANTMIND_CACHE`` or the per-user
cache folder. Later loads read that folder in seconds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantmind.tune.recipe import FIXTURE_BASE, Recipe

__all__ = [
    "BaseError",
    "BaseInfo",
    "MachineFacts",
    "base_digest",
    "cache_root",
    "describe_base",
    "load_base",
    "machine_facts",
    "resolve_base",
    "resolve_device",
]

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


class BaseError(RuntimeError):
    """The base model cannot be found or loaded; the message says what to do."""


def cache_root() -> Path:
    """``$PLANTMIND_CACHE`` or the per-user cache folder (created)."""
    env = os.environ.get("PLANTMIND_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("plantmind"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def resolve_base(base: str | Path) -> Path:
    """The local file or folder of ``base``: the fixture, an existing path, or a hub-style
    name (``org/model``) already in the local Hugging Face cache. Nothing is downloaded."""
    text = str(base)
    if text == FIXTURE_BASE or text.startswith("fixture:"):
        from plantmind.tune.fixture import FIXTURE_PACKAGE, fixture_gguf_path

        if text != FIXTURE_BASE:
            raise BaseError(f"unknown fixture {text!r} (there is {FIXTURE_BASE!r})")
        p = fixture_gguf_path()
        if p is None:
            raise BaseError(
                f"the fixture base model is not installed: pip install 'plantmind[finetune]' "
                f"(it brings {FIXTURE_PACKAGE.replace('_', '-')}, SmolLM2-135M as GGUF)"
            )
        return p
    p = Path(text).expanduser()
    if p.exists():
        if p.is_dir() and not (p / "config.json").is_file():
            ggufs = sorted(p.glob("*.gguf"))
            if len(ggufs) == 1:
                return ggufs[0].resolve()
            raise BaseError(f"{p}: neither a model folder (config.json) nor one .gguf file")
        return p.resolve()
    if text.count("/") == 1 and not text.startswith((".", "/", "~")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(repo_id=text, local_files_only=True))
        except ImportError:
            pass
        except Exception:  # huggingface_hub raises several kinds for "not cached"
            pass
        raise BaseError(
            f"{text!r} is not in the local Hugging Face cache and nothing downloads at run "
            f"time: fetch it where there is a network (huggingface-cli download {text}) and "
            f"copy the folder here, or give base as a folder or .gguf path"
        )
    raise BaseError(f"{text}: no such base model file or folder")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _cached_sha256(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, mtime) so a 14 GB base is read once."""
    st = path.stat()
    key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    index = cache_root() / "digests.json"
    try:
        known: dict[str, str] = json.loads(index.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    digest = _sha256_file(path)
    known[key] = digest
    tmp = index.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(known, indent=0))
    tmp.replace(index)
    return digest


def base_digest(path: Path) -> str:
    """sha256 of a GGUF file; for a model folder, sha256 over its weight files' names and
    sha256s (sorted), so the same weights give the same digest wherever they are."""
    if path.is_file():
        return _cached_sha256(path)
    files = sorted(f for f in path.iterdir() if f.suffix in _WEIGHT_SUFFIXES and f.is_file())
    if not files:
        raise BaseError(f"{path}: no weight files ({', '.join(_WEIGHT_SUFFIXES)})")
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}:{_cached_sha256(f)}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class BaseInfo:
    """What a base model is, read from its GGUF header or config.json (no torch)."""

    path: Path
    kind: str  # "gguf" or "hf"
    architecture: str
    n_params: float | None
    context_length: int | None
    hidden: int | None
    layers: int | None
    vocab: int | None


def _safetensors_params(folder: Path) -> float | None:
    total = 0
    files = sorted(folder.glob("*.safetensors"))
    for f in files:
        with f.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, t in header.items():
            if name != "__metadata__":
                count = 1
                for d in t["shape"]:
                    count *= int(d)
                total += count
    return float(total) if files else None


def describe_base(path: Path) -> BaseInfo:
    """Size, context and shape of the base at ``path`` (a resolved file or folder); a GGUF
    already converted in the cache is described from its config (parsing a GGUF's vocabulary
    takes seconds)."""
    if path.suffix == ".gguf":
        converted = cache_root() / "base" / base_digest(path)
        if (converted / "source.json").is_file():
            info = describe_base(converted)
            return BaseInfo(
                path, "gguf", info.architecture, info.n_params, info.context_length,
                info.hidden, info.layers, info.vocab,
            )  # fmt: skip
        from gguf import GGUFReader

        r = GGUFReader(path)

        def kv(key: str) -> Any:
            f = r.fields.get(key)
            return f.contents() if f is not None else None

        arch = str(kv("general.architecture") or "unknown")
        tokens = r.fields.get("tokenizer.ggml.tokens")
        return BaseInfo(
            path=path,
            kind="gguf",
            architecture=arch,
            n_params=float(sum(int(t.n_elements) for t in r.tensors)),
            context_length=kv(f"{arch}.context_length"),
            hidden=kv(f"{arch}.embedding_length"),
            layers=kv(f"{arch}.block_count"),
            vocab=len(tokens.data) if tokens is not None else None,
        )
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise BaseError(f"{path}: no config.json (not a Hugging Face model folder)")
    cfg = json.loads(cfg_path.read_text())
    text = cfg.get("text_config", cfg)
    arch = cfg.get("model_type") or (cfg.get("architectures") or ["unknown"])[0]
    return BaseInfo(
        path=path,
        kind="hf",
        architecture=str(arch),
        n_params=_safetensors_params(path),
        context_length=text.get("max_position_embeddings"),
        hidden=text.get("hidden_size"),
        layers=text.get("num_hidden_layers"),
        vocab=text.get("vocab_size"),
    )


@dataclass(frozen=True, slots=True)
class MachineFacts:
    """What :func:`plantmind.tune.recipe.check_recipe` needs to know of this machine."""

    cuda_available: bool
    bf16_supported: bool | None
    gpu_memory_gib: float | None
    host_memory_gib: float | None
    bitsandbytes_available: bool


def machine_facts() -> MachineFacts:
    """Ask torch (and the OS) what this machine has."""
    from importlib.util import find_spec

    import torch

    cuda = bool(torch.cuda.is_available())
    bf16 = bool(torch.cuda.is_bf16_supported()) if cuda else None
    gpu = torch.cuda.get_device_properties(0).total_memory / 2**30 if cuda else None
    try:
        host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        host = None
    return MachineFacts(cuda, bf16, gpu, host, find_spec("bitsandbytes") is not None)


def resolve_device(recipe: Recipe) -> str:
    """``cpu`` or ``cuda`` for the recipe's ``device`` on this machine."""
    import torch

    if recipe.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return recipe.device


def _converted_gguf(path: Path, digest: str) -> Path:
    """The transformers-converted copy of a GGUF base (made once, under the cache)."""
    target = cache_root() / "base" / digest
    if (target / "config.json").is_file() and (target / "source.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(f"{digest}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32
    )
    # the weights are plain float32 now; the GGUF "quantizer" only blocks saving them
    setattr(model, "hf_quantizer", None)  # noqa: B010
    for cfg in (model.config, getattr(model, "generation_config", None)):
        if cfg is not None and hasattr(cfg, "quantization_config"):
            delattr(cfg, "quantization_config")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "source.json").write_text(
        json.dumps({"gguf": str(path), "sha256": digest, "converted_by": "transformers"})
    )
    if target.exists():
        shutil.rmtree(target)
    tmp.replace(target)
    return target


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_base(
    recipe_or_path: Recipe | str | Path, *, device: str | None = None
) -> tuple[Any, Any, str]:
    """``(model, tokenizer, base_digest)`` for a recipe (its base, dtype, quantisation and
    device) or a bare base path (float32 on the CPU). The model is in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if isinstance(recipe_or_path, Recipe):
        recipe = recipe_or_path
    else:
        recipe = Recipe(base=str(recipe_or_path), device="cpu")
    path = resolve_base(recipe.base)
    digest = base_digest(path)
    folder = _converted_gguf(path, digest) if path.suffix == ".gguf" else path
    dev = device or resolve_device(recipe)
    kwargs: dict[str, Any] = {"dtype": _torch_dtype(recipe.dtype), "local_files_only": True}
    if recipe.quantization == "4bit":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=_torch_dtype(recipe.dtype),
        )
        kwargs["device_map"] = {"": 0}
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except OSError as exc:
        raise BaseError(f"{folder}: cannot load the model ({exc})") from None
    if recipe.quantization != "4bit":
        model.to(torch.device(dev))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise BaseError(
            f"{path}: the base model has no chat template (an instruct model is needed)"
        )
    model.eval()
    return model, tokenizer, digest

"""From a trained LoRA adapter to files llama.cpp and Ollama run: a merged GGUF (the base
GGUF's metadata — tokenizer, chat template, hyper-parameters — copied, every weight written
as f32, f16 or Q8_0 with the LoRA update added), an adapter-only GGUF (llama.cpp's LoRA
format, for ``lora_path`` / Ollama's ``ADAPTER``) and an Ollama ``Modelfile``.

It needs the base as GGUF (the fixture is one; a Hugging Face base is converted with
llama.cpp's ``convert_hf_to_gguf.py`` first) and only numpy, safetensors and gguf: no torch.
llama.cpp stores the Q and K projections of Llama models with their rows permuted for its
rotary embedding (transformers undoes that when it reads a GGUF), so the update computed in
the Hugging Face layout is permuted the same way before it is added or written."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ExportError",
    "ExportResult",
    "OutType",
    "convert_base",
    "export_adapter_gguf",
    "export_gguf",
    "export_run",
    "write_modelfile",
]

OutType = Literal["f32", "f16", "q8_0"]

#: architectures whose GGUF holds Q/K rows permuted (llama.cpp's converter ``LlamaModel``)
_PERMUTED_QK = {"llama"}
#: architectures mapped here (others: use llama.cpp's convert_lora_to_gguf.py)
_SUPPORTED = {"llama", "qwen2", "qwen3"}


class ExportError(RuntimeError):
    """The adapter or its base cannot be exported; the message says why."""


@dataclass(frozen=True, slots=True)
class _Adapter:
    rank: int
    scale: float
    alpha: float
    #: GGUF tensor name (``blk.0.attn_q.weight``) -> (A: r × in, B: out × r), HF layout, f32
    pairs: dict[str, tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The files :func:`export_run` wrote."""

    merged: Path
    adapter: Path | None
    modelfile: Path
    base: Path


def _adapter_dir(source: Path) -> Path:
    if (source / "adapter_config.json").is_file():
        return source
    if (source / "adapter" / "adapter_config.json").is_file():
        return source / "adapter"
    raise ExportError(f"{source}: neither a run folder (adapter/) nor a peft adapter folder")


def _base_of(source: Path, base: Path | None) -> Path:
    """The base GGUF: ``base`` if given (checked against the run's card when there is one),
    else the card's base path."""
    card_path = source / "model_card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else None
    if base is None:
        if card is None:
            raise ExportError(f"{source}: no model_card.json; give the base GGUF (--base)")
        base = Path(card["base"]["path"])
    if base.suffix != ".gguf" or not base.is_file():
        raise ExportError(
            f"{base}: export needs the base model as a GGUF file; convert a Hugging Face "
            f"folder with llama.cpp's convert_hf_to_gguf.py and give it as --base"
        )
    # a base trained from a Hugging Face folder has no GGUF to compare: the GGUF given is
    # taken as its conversion (the tensor shapes are still checked when the update is added)
    if card is not None and str(card["base"]["path"]).endswith(".gguf"):
        from plantmind.tune.base import base_digest

        if base_digest(base) != card["base"]["sha256"]:
            raise ExportError(
                f"{base} is not the base the adapter was trained on (its sha256 differs from "
                f"the model card's)"
            )
    return base


def _gguf_arch(reader: Any) -> tuple[str, int, int, int]:
    f = reader.fields
    arch = str(f["general.architecture"].contents())
    if arch not in _SUPPORTED:
        raise ExportError(
            f"architecture {arch!r} is not mapped here ({', '.join(sorted(_SUPPORTED))}); "
            f"convert the adapter with llama.cpp's convert_lora_to_gguf.py"
        )
    blocks = int(f[f"{arch}.block_count"].contents())
    heads = int(f[f"{arch}.attention.head_count"].contents())
    kv = f.get(f"{arch}.attention.head_count_kv")
    return arch, blocks, heads, int(kv.contents()) if kv is not None else heads


def _permute(w: Any, n_head: int) -> Any:
    """llama.cpp's row order of a Q or K projection (``w``: out × in, HF order)."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def _read_adapter(adapter_dir: Path, reader: Any) -> _Adapter:
    import gguf
    import numpy as np

    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    for flag in ("use_dora", "use_rslora", "fan_in_fan_out"):
        if cfg.get(flag):
            raise ExportError(f"{adapter_dir}: {flag} adapters are not exported here")
    if cfg.get("bias", "none") != "none" or cfg.get("modules_to_save"):
        raise ExportError(f"{adapter_dir}: only LoRA weights (no biases, no saved modules)")
    rank, alpha = int(cfg["r"]), float(cfg["lora_alpha"])
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        raise ExportError(f"{adapter_dir}: per-module ranks or alphas are not exported here")
    weights = _load_safetensors(adapter_dir / "adapter_model.safetensors")
    arch, blocks, _heads, _kv = _gguf_arch(reader)
    arch_enum = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch)
    names = gguf.get_tensor_name_map(arch_enum, blocks)
    pairs: dict[str, tuple[Any, Any]] = {}
    for key, a in weights.items():
        if ".lora_A." not in key:
            continue
        module = key.split(".lora_A.")[0]
        b = weights.get(key.replace(".lora_A.", ".lora_B."))
        if b is None:
            raise ExportError(f"{adapter_dir}: {key} has no lora_B")
        hf = module.removeprefix("base_model.model.")
        mapped = names.get_name(hf)
        if mapped is None:
            raise ExportError(f"{adapter_dir}: no GGUF tensor for {hf}")
        pairs[mapped + ".weight"] = (a.astype(np.float32), b.astype(np.float32))
    if not pairs:
        raise ExportError(f"{adapter_dir}: no LoRA weights in adapter_model.safetensors")
    return _Adapter(rank=rank, scale=alpha / rank, alpha=alpha, pairs=pairs)


def _load_safetensors(path: Path) -> dict[str, Any]:
    try:
        from safetensors.numpy import load_file

        return dict(load_file(str(path)))
    except (TypeError, ValueError):  # bfloat16 has no numpy dtype: go through torch
        from safetensors.torch import load_file as load_torch

        return {k: v.float().numpy() for k, v in load_torch(str(path)).items()}


def _layout(name: str, w: Any, arch: str, heads: int, kv_heads: int) -> Any:
    if arch in _PERMUTED_QK:
        if name.endswith("attn_q.weight"):
            return _permute(w, heads)
        if name.endswith("attn_k.weight"):
            return _permute(w, kv_heads)
    return w


def _copy_metadata(reader: Any, writer: Any, skip: set[str]) -> None:
    import gguf

    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in skip:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)


def _out_type(tensor: Any, outtype: OutType) -> Any:
    from gguf import GGMLQuantizationType as Q

    shape = [int(x) for x in tensor.shape]
    if len(shape) == 1 or outtype == "f32":
        return Q.F32
    if outtype == "q8_0" and shape[0] % 32 == 0:
        return Q.Q8_0
    return Q.F16


@lru_cache(maxsize=2)
def _reader(path: str, mtime_ns: int) -> Any:
    """One parsed GGUF per file version (parsing a vocabulary takes seconds; the reader is a
    memory map, so keeping it costs no memory)."""
    import gguf

    return gguf.GGUFReader(path)


def _read_gguf(path: Path) -> Any:
    return _reader(str(path.resolve()), path.stat().st_mtime_ns)


def _open(source: Path, base: Path | Any | None) -> tuple[Path, Any]:
    """The adapter folder of ``source`` and a reader of its base GGUF (``base``: a path, an
    open ``GGUFReader``, or None for the run's model card)."""
    import gguf

    adapter_dir = _adapter_dir(source)
    if isinstance(base, gguf.GGUFReader):
        return adapter_dir, base
    has_card = (source / "model_card.json").is_file()
    return adapter_dir, _read_gguf(_base_of(source if has_card else adapter_dir, base))


def export_gguf(
    source: Path,
    out_path: Path,
    *,
    base: Path | Any | None = None,
    outtype: OutType = "f16",
) -> Path:
    """Write the base GGUF with the adapter of ``source`` (a run folder or a peft adapter
    folder) merged in, as ``outtype``; returns ``out_path``. One tensor is in memory at a
    time (plus the adapter), so a 7 B base exports on a machine with a few GB free."""
    if outtype not in ("f32", "f16", "q8_0"):
        raise ExportError(f"outtype {outtype!r}: use f32, f16 or q8_0")
    adapter_dir, reader = _open(source, base)
    return _write_merged(reader, _read_adapter(adapter_dir, reader), out_path, outtype)


def convert_base(base: Path, out_path: Path, outtype: OutType = "f16") -> Path:
    """The base GGUF alone written as ``outtype`` (no adapter): the base of a base vs tuned
    comparison in the same number format as the tuned model."""
    if outtype not in ("f32", "f16", "q8_0"):
        raise ExportError(f"outtype {outtype!r}: use f32, f16 or q8_0")
    return _write_merged(_read_gguf(base), _Adapter(0, 0.0, 0.0, {}), out_path, outtype)


@contextlib.contextmanager
def _gguf_file(out_path: Path, arch: str) -> Iterator[Any]:
    """A ``GGUFWriter`` on ``<out_path>.tmp``, renamed to ``out_path`` when the block ends
    well; on any error closed and removed (no half-written file, no open handle)."""
    import gguf

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    writer = gguf.GGUFWriter(tmp, arch)
    try:
        yield writer
    except BaseException:
        with contextlib.suppress(Exception):
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    tmp.replace(out_path)


def _write_merged(reader: Any, adapter: _Adapter, out_path: Path, outtype: OutType) -> Path:
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as Q

    arch, _blocks, heads, kv_heads = _gguf_arch(reader)
    present = {t.name for t in reader.tensors}
    if missing := sorted(set(adapter.pairs) - present):
        raise ExportError(f"the base GGUF has no tensor {missing[0]} that the adapter changes")
    with _gguf_file(out_path, arch) as writer:
        _copy_metadata(reader, writer, {"general.architecture", "general.file_type"})
        ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16}
        writer.add_file_type(int(ftype.get(outtype, gguf.LlamaFileType.MOSTLY_Q8_0)))
        if adapter.pairs:
            writer.add_string("plantmind.lora.merged", f"r={adapter.rank} alpha={adapter.alpha:g}")
        plan = []
        for t in reader.tensors:
            qtype = _out_type(t, outtype)
            rows_cols = tuple(int(x) for x in reversed(t.shape))
            n = int(np.prod(rows_cols))
            if qtype == Q.Q8_0:
                byte_shape = (*rows_cols[:-1], rows_cols[-1] // 32 * 34)
                writer.add_tensor_info(t.name, byte_shape, np.dtype(np.uint8), n // 32 * 34, qtype)
            else:
                dt = np.dtype(np.float32 if qtype == Q.F32 else np.float16)
                writer.add_tensor_info(t.name, rows_cols, dt, n * dt.itemsize)
            plan.append((t, qtype, rows_cols))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t, qtype, rows_cols in plan:
            w = gguf.quants.dequantize(t.data, t.tensor_type).reshape(rows_cols).astype(np.float32)
            if t.name in adapter.pairs:
                a, b = adapter.pairs[t.name]
                delta = (b @ a) * np.float32(adapter.scale)
                if delta.shape != w.shape:
                    raise ExportError(
                        f"{t.name}: the adapter's update is {delta.shape}, the base GGUF's tensor "
                        f"{w.shape}: not the base the adapter was trained on"
                    )
                w = w + _layout(t.name, delta, arch, heads, kv_heads)
            data = (
                gguf.quants.quantize(w, qtype)
                if qtype == Q.Q8_0
                else w.astype(np.float32 if qtype == Q.F32 else np.float16)
            )
            writer.write_tensor_data(np.ascontiguousarray(data))
    return out_path


def export_adapter_gguf(source: Path, out_path: Path, *, base: Path | Any | None = None) -> Path:
    """Write the adapter alone in llama.cpp's LoRA GGUF format (``general.type`` adapter,
    ``adapter.type`` lora, ``adapter.lora.alpha``; ``<tensor>.lora_a`` r × in and
    ``<tensor>.lora_b`` out × r, f32, B's rows in llama.cpp's Q/K order)."""
    import gguf
    import numpy as np

    adapter_dir, reader = _open(source, base)
    arch, _blocks, heads, kv_heads = _gguf_arch(reader)
    adapter = _read_adapter(adapter_dir, reader)
    with _gguf_file(out_path, arch) as writer:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, adapter.alpha)
        name = reader.fields.get("general.name")
        if name is not None:
            writer.add_string("general.name", f"{name.contents()} (plantmind LoRA)")
        for tname, (a, b) in adapter.pairs.items():
            writer.add_tensor(tname + ".lora_a", np.ascontiguousarray(a, dtype=np.float32))
            b_ll = _layout(tname, b, arch, heads, kv_heads)
            writer.add_tensor(tname + ".lora_b", np.ascontiguousarray(b_ll, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    return out_path


def write_modelfile(
    path: Path,
    model: Path,
    *,
    adapter: Path | None = None,
    system: str | None = None,
    stop: tuple[str, ...] = ("<|im_end|>",),
) -> Path:
    """An Ollama ``Modelfile``: ``FROM`` the merged GGUF (or the base with ``ADAPTER``),
    greedy decoding, the stop marker of the chat template. Ollama reads the chat template
    from the GGUF's ``tokenizer.chat_template``. Paths are relative to the Modelfile when
    they sit beside it."""

    def rel(p: Path) -> str:
        try:
            return "./" + str(p.resolve().relative_to(path.parent.resolve()))
        except ValueError:
            return str(p.resolve())

    lines = [f"FROM {rel(model)}"]
    if adapter is not None:
        lines.append(f"ADAPTER {rel(adapter)}")
    lines.append("PARAMETER temperature 0")
    lines.extend(f'PARAMETER stop "{s}"' for s in stop)
    if system:
        lines.append('SYSTEM """' + system.replace('"""', "'''") + '"""')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def export_run(
    run_dir: Path, out_dir: Path, *, outtype: OutType = "f16", base: Path | None = None
) -> ExportResult:
    """Everything for a run: ``<out>/model-<outtype>.gguf`` (merged), ``<out>/adapter.gguf``
    and ``<out>/Modelfile`` (``FROM`` the merged file)."""

    _adapter_dir(run_dir)
    base_path = _base_of(run_dir, base)
    reader = _read_gguf(base_path)
    merged = export_gguf(run_dir, out_dir / f"model-{outtype}.gguf", base=reader, outtype=outtype)
    adapter = export_adapter_gguf(run_dir, out_dir / "adapter.gguf", base=reader)
    modelfile = write_modelfile(out_dir / "Modelfile", merged)
    return ExportResult(merged=merged, adapter=adapter, modelfile=modelfile, base=base_path)

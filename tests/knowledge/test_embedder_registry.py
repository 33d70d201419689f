"""Embedders by name: the index's dense half can be any registered embedder; an unknown name
is refused with the known ones."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.knowledge.embed import embedder_names, load_embedder, register_embedder


class HashEmbedder:
    """A stand-in embedder: a bag of hashed words, L2-normalised (no model needed)."""

    name = "hash-test"
    dim = 64

    def __init__(self, *, max_tokens: int = 128, quantize: bool = True) -> None:
        self.max_tokens = max_tokens

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split()[: self.max_tokens]:
                out[i, hash(w) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_a_registered_embedder_is_loaded_by_name_once_per_process():
    if "hash-test" not in embedder_names():
        register_embedder("hash-test", HashEmbedder)
    a = load_embedder("hash-test", max_tokens=16)
    assert isinstance(a, HashEmbedder) and a.max_tokens == 16
    assert load_embedder("hash-test", max_tokens=16) is a
    assert "minilm" in embedder_names()


def test_unknown_and_duplicate_names_are_refused():
    with pytest.raises(ValueError, match=r"unknown embedder 'nope' \(known: .*minilm"):
        load_embedder("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_embedder("minilm", HashEmbedder)

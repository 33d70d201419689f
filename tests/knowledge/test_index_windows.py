"""Windowed embeddings: a chunk is embedded as windows within the model's limit and scored
by its best window, so a passage's end counts as much as its opening."""

from __future__ import annotations

import numpy as np

from plantmind.knowledge import index as kindex
from plantmind.knowledge.index import EMBED_MAX_WINDOWS, EMBED_WINDOW, KnowledgeIndex, embed_windows


class KeywordEmbedder:
    """[1, 0] for a text holding "zebra", else [0, 1]; records how many texts it saw."""

    name = "keyword-test"
    dim = 2

    def __init__(self) -> None:
        self.seen = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += len(texts)
        return np.array(
            [[1.0, 0.0] if "zebra" in t.lower() else [0.0, 1.0] for t in texts], dtype=np.float32
        )


def test_windows_stay_within_the_size_and_carry_the_heading():
    text = " ".join(f"w{i}" for i in range(300))
    wins = embed_windows("Magneto timing", "text", text)
    assert 1 < len(wins) <= EMBED_MAX_WINDOWS
    assert all(w.startswith("Magneto timing: ") for w in wins)
    assert all(len(w.split()) <= EMBED_WINDOW + 2 for w in wins)
    assert "w299" in wins[-1]
    assert embed_windows(None, "toc", text) == [text]
    assert embed_windows(None, "text", "short") == ["short"]


def test_a_chunk_is_scored_by_its_best_window(tmp_path):
    filler = " ".join(f"filler{i} words about engines" for i in range(60))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.md").write_text(f"# Long\n{filler} and the zebra stripe check.\n")
    (docs / "other.md").write_text("# Other\nThe oil is changed every 50 hours.\n")
    emb = KeywordEmbedder()
    with KnowledgeIndex(tmp_path / "kb", embedder=emb) as kb:
        kb.add([docs])
        assert emb.seen > 2  # the long chunk went in as several windows
        res = kb.search("zebra", k=2)
        assert res.top_dense == 1.0 and res.hits[0].chunk.source == "long.md"
    # Reopened with the same embedder: nothing is re-embedded.
    again = KeywordEmbedder()
    with KnowledgeIndex(tmp_path / "kb", embedder=again) as kb:
        assert again.seen == 0 and kb.search("zebra", k=1).top_dense == 1.0


def test_an_index_embedded_with_other_window_settings_is_re_embedded(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\nzebra " + "word " * 200 + "\n")
    with KnowledgeIndex(tmp_path / "kb", embedder=KeywordEmbedder()) as kb:
        kb.add([docs])
    monkeypatch.setattr(kindex, "EMBED_WINDOW", 50)
    monkeypatch.setattr(kindex, "EMBED_STRIDE", 40)
    emb = KeywordEmbedder()
    with KnowledgeIndex(tmp_path / "kb", embedder=emb):
        assert emb.seen == 5  # 201 words: windows at words 0, 40, 80, 120 and 160

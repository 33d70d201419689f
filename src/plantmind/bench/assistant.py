"""``plantmind bench assistant``: ingest a document folder, answer a question set, and score
retrieval (hit@1/hit@5 of the gold source and page), declines (unanswerable questions
declined, answerable ones wrongly declined), latency and ingestion speed.

Question file: JSON lines with ``id``, ``question`` and, for scoring, ``source``, ``page``,
``unanswerable`` and optionally ``alt_pages`` ([[source, page], ...], other pages that
answer it). A gold source matches a cited one when either path ends with the other, so
"manuals/pump.md" matches a document cited as "pump.md"; a document without pages (a
work-order table) counts as page 1.

With a model (``llm``, e.g. the in-process :class:`~plantmind.llm.local.LocalChatBackend` of
``--llm local``), the answers are generated and the summary adds the model's figures: time
to first token (from the question, and from the model call), the model call's total time,
tokens per second and how many generated answers cite a passage. A model that records its
calls (``last_timing``, as the in-process one does) gives the time to first token; for one
that does not, those figures are None.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.assist.answer import Assistant
from plantmind.core.types import Citation
from plantmind.knowledge.index import KnowledgeIndex
from plantmind.llm.client import ChatModel

__all__ = ["load_questions", "run_assistant_bench"]


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The questions of a JSON-lines file; a bad line is an error naming the line."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "question" not in row:
            raise ValueError(f"{path}:{n}: needs at least 'question'")
        row.setdefault("id", f"line{n}")
        out.append(row)
    return out


def _same_source(a: str, b: str) -> bool:
    a, b = a.replace("\\", "/"), b.replace("\\", "/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _gold(q: dict[str, Any]) -> list[tuple[str, int | None]]:
    gold = []
    if q.get("source"):
        gold.append((str(q["source"]), q.get("page")))
    for alt in q.get("alt_pages") or []:
        gold.append((str(alt[0]), alt[1] if len(alt) > 1 else None))
    return gold


def _matches(c: Citation, gold: list[tuple[str, int | None]]) -> bool:
    page = c.page if c.page is not None else 1
    return any(_same_source(c.source, s) and (p is None or page == p) for s, p in gold)


def run_assistant_bench(
    corpus: list[Path],
    qa: Path,
    out: Path,
    *,
    embed: bool = True,
    llm: ChatModel | None = None,
    progress: Callable[[str], None] = print,
    lockbox: bool = False,
    baselines: bool = False,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run the benchmark; writes ``out/answers.jsonl`` and ``out/summary.json`` and returns
    the summary. The index is built fresh in ``out/index``.

    Questions marked ``"lockbox": true`` are left out unless ``lockbox`` is set, which
    scores those alone (evaluate them once, at the end). ``by_style`` gives the figures per
    ``style`` field; ``baselines`` adds the plain recipes of
    :mod:`plantmind.bench.assistant_baselines` over the same chunks. ``limit``: the first
    N questions only (a model on a small machine)."""
    questions = [q for q in load_questions(qa) if bool(q.get("lockbox")) == lockbox]
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        questions = questions[:limit]
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "index", ignore_errors=True)
    t_open = time.perf_counter()
    index = KnowledgeIndex(out / "index", embedder="auto" if embed else None)
    load_s = time.perf_counter() - t_open
    progress(f"index: {index.dense_status} (models loaded in {load_s:.1f} s)")
    load_before = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), time.process_time()
    results = index.add(corpus)
    ingest_s = time.perf_counter() - t0
    ingest_cpu_s = time.process_time() - cpu0
    pages = sum(r.pages for r in results)
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        progress(f"failed: {r.error}")
    chunks = sum(r.chunks for r in results)
    progress(
        f"ingested {len(results) - len(failed)} file(s), {pages} pages, {chunks} chunks in "
        f"{ingest_s:.1f} s ({pages / ingest_s if ingest_s else 0:.1f} pages/s)"
    )
    assistant = Assistant(index, llm=llm)
    model_load_s = _load_model(llm, progress)
    assistant.ask("warm up")  # first-call costs (allocation, caches) are not latency
    rows = []
    lat: list[float] = []
    cpu_lat: list[float] = []
    calls: list[dict[str, Any]] = []  # the model's figures, per question it answered
    hit1 = hit5 = n_answerable = wrongly_declined = n_unanswerable = declined_unanswerable = 0
    with (out / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for q in questions:
            if llm is not None and hasattr(llm, "last_timing"):
                llm.last_timing = None
            t, c = time.perf_counter(), time.process_time()
            ans = assistant.ask(str(q["question"]))
            ms = (time.perf_counter() - t) * 1e3
            call = _model_call(llm, ans, t) if llm is not None else None
            lat.append(ms)
            cpu_lat.append((time.process_time() - c) * 1e3)
            d = ans.to_dict()
            row = {
                "id": q["id"],
                "answer": d["answer"],
                "declined": d["declined"],
                "citations": d["citations"],
                "retrieved": d["retrieved"],
                "latency_ms": round(ms, 3),
            }
            if call is not None:
                calls.append(call)
                row["model"] = {k: v for k, v in call.items() if k != "cited"}
            if q.get("unanswerable"):
                n_unanswerable += 1
                declined_unanswerable += int(ans.declined)
            elif q.get("source"):
                n_answerable += 1
                gold = _gold(q)
                ranks = [i for i, c in enumerate(ans.retrieved) if _matches(c, gold)]
                row["gold_rank"] = ranks[0] + 1 if ranks else None
                row["top_retrieved"] = [[c.source, c.page] for c in ans.retrieved[:5]]
                hit1 += int(bool(ranks) and ranks[0] == 0)
                hit5 += int(bool(ranks) and ranks[0] < 5)
                wrongly_declined += int(ans.declined)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows.append(row)
    by_style = _by_style(questions, rows)
    baseline_figures = (
        _run_baselines(index, questions, embed=embed, progress=progress) if baselines else None
    )
    index.close()
    summary = {
        "questions": len(questions),
        "answerable": n_answerable,
        "unanswerable": n_unanswerable,
        "hit_at_1": round(hit1 / n_answerable, 4) if n_answerable else None,
        "hit_at_5": round(hit5 / n_answerable, 4) if n_answerable else None,
        "unanswerable_declined": (
            round(declined_unanswerable / n_unanswerable, 4) if n_unanswerable else None
        ),
        "answerable_wrongly_declined": (
            round(wrongly_declined / n_answerable, 4) if n_answerable else None
        ),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 2) if lat else None,
        "latency_p95_ms": round(float(np.percentile(lat, 95)), 2) if lat else None,
        "latency_cpu_p50_ms": round(float(np.percentile(cpu_lat, 50)), 2) if lat else None,
        "ingest_pages": pages,
        "ingest_chunks": chunks,
        "ingest_s": round(ingest_s, 2),
        "ingest_pages_per_s": round(pages / ingest_s, 1) if ingest_s and pages else None,
        "ingest_cpu_s": round(ingest_cpu_s, 2),
        # Wall-clock figures depend on what else runs: the 1-minute load average before
        # ingestion and at the end says how busy the machine was.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpu_cores": os.cpu_count(),
        "failed_files": [r.error for r in failed],
        "dense": index.embedder is not None,
        "model": getattr(llm, "name", None) if llm is not None else None,
        "lockbox": lockbox,
        "by_style": by_style,
    }
    if llm is not None:
        summary["llm"] = _model_figures(llm, calls, model_load_s)
    if baseline_figures is not None:
        summary["baselines"] = baseline_figures
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _load_model(llm: ChatModel | None, progress: Callable[[str], None]) -> float | None:
    """Load a model that loads on first use (the in-process one) before anything is timed;
    the seconds it took, or None."""
    load = getattr(llm, "load", None)
    if load is None:
        return None
    t0 = time.perf_counter()
    load()
    s = time.perf_counter() - t0
    progress(f"model {getattr(llm, 'name', '?')} loaded in {s:.1f} s")
    return s


def _model_call(llm: ChatModel, ans: Any, t_question: float) -> dict[str, Any] | None:
    """One question's model figures: None when no model call was made (the question was
    declined before it)."""
    if "model_ms" not in ans.timings:
        return None
    out: dict[str, Any] = {
        "model_ms": round(ans.timings["model_ms"], 3),
        "cited": bool(ans.citations) and ans.model_used is not None,
        "generated": ans.model_used is not None,
    }
    timing = getattr(llm, "last_timing", None)
    if timing is not None and timing.started >= t_question:
        first = timing.first_token_at
        out["ttft_ms"] = None if first is None else round((first - t_question) * 1e3, 3)
        out["model_ttft_ms"] = None if timing.ttft_ms is None else round(timing.ttft_ms, 3)
        out["prompt_eval_tokens"] = timing.prompt_eval_tokens
        out["completion_tokens"] = timing.completion_tokens
        out["decode_ms"] = (
            None if timing.ttft_ms is None else round(timing.total_ms - timing.ttft_ms, 3)
        )
    return out


def _pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 2) if xs else None


def _model_figures(
    llm: ChatModel, calls: list[dict[str, Any]], load_s: float | None
) -> dict[str, Any]:
    """The summary's model figures (see the module docstring)."""
    ttft = [c["ttft_ms"] for c in calls if c.get("ttft_ms") is not None]
    model_ttft = [c["model_ttft_ms"] for c in calls if c.get("model_ttft_ms") is not None]
    model_ms = [c["model_ms"] for c in calls]
    gen_tokens = sum(c.get("completion_tokens") or 0 for c in calls if c.get("decode_ms"))
    decode_s = sum(c["decode_ms"] for c in calls if c.get("decode_ms")) / 1e3
    generated = [c for c in calls if c["generated"]]
    return {
        "model": getattr(llm, "name", None),
        "model_path": str(getattr(llm, "path", "") or "") or None,
        "n_ctx": getattr(llm, "n_ctx", None),
        "threads": getattr(llm, "threads", None),
        "load_s": None if load_s is None else round(load_s, 3),
        "model_calls": len(calls),
        "ttft_p50_ms": _pct(ttft, 50),
        "ttft_p95_ms": _pct(ttft, 95),
        "model_ttft_p50_ms": _pct(model_ttft, 50),
        "model_ttft_p95_ms": _pct(model_ttft, 95),
        "model_total_p50_ms": _pct(model_ms, 50),
        "model_total_p95_ms": _pct(model_ms, 95),
        "decode_tokens_per_s": round(gen_tokens / decode_s, 1) if decode_s > 0 else None,
        "generated_answers": len(generated),
        "generated_with_citations": sum(c["cited"] for c in generated),
    }


def _figures(qs: list[dict[str, Any]], ranks: list[int | None], declined: list[bool]) -> dict:
    """hit@1/hit@5 (rank 1-based or None), declines, over answerable/unanswerable ``qs``."""
    ans = [i for i, q in enumerate(qs) if not q.get("unanswerable") and q.get("source")]
    una = [i for i, q in enumerate(qs) if q.get("unanswerable")]

    def frac(xs: list[bool]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    return {
        "answerable": len(ans),
        "unanswerable": len(una),
        "hit_at_1": frac([ranks[i] == 1 for i in ans]),
        "hit_at_5": frac([ranks[i] is not None and ranks[i] <= 5 for i in ans]),  # type: ignore[operator]
        "answerable_wrongly_declined": frac([declined[i] for i in ans]),
        "unanswerable_declined": frac([declined[i] for i in una]),
    }


def _by_style(qs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, dict]:
    styles = sorted({str(q.get("style", "unstyled")) for q in qs})
    out = {}
    for st in styles:
        idx = [i for i, q in enumerate(qs) if str(q.get("style", "unstyled")) == st]
        out[st] = _figures(
            [qs[i] for i in idx],
            [rows[i].get("gold_rank") for i in idx],
            [bool(rows[i]["declined"]) for i in idx],
        )
    return out


def _run_baselines(
    index: KnowledgeIndex,
    qs: list[dict[str, Any]],
    *,
    embed: bool,
    progress: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Each plain recipe's figures over all questions and per style. A plain recipe has no
    decline rule of its own, so it gets the plain one: a cut on its top score, set where it
    declines 90 % of the unanswerable questions of the *other* styles (leave-one-style-out;
    see :func:`score_cut_declines`); ``score_auc`` says how well any cut could separate."""
    from plantmind.bench.assistant_baselines import auc, build_baselines, pages_in_order

    chunks = list(index._chunks)
    encoder = None
    if embed and index.embedder is not None:
        from plantmind.knowledge.embed import load_embedder

        try:
            long = load_embedder(max_tokens=256)  # the model's own limit, windows ≤ 250
            encoder = long.encode
        except Exception as exc:  # the index's embedder works, so this should too
            progress(f"baselines: no 256-token embedder ({exc}); using the index's")
            encoder = index.embedder.encode
    vectors = None  # the index holds window vectors now: whole chunks are embedded afresh
    t0 = time.perf_counter()
    recipes = build_baselines(chunks, encoder, chunk_vectors=vectors, progress=progress)
    progress(f"baselines built in {time.perf_counter() - t0:.1f} s")
    out: dict[str, dict[str, Any]] = {}
    for b in recipes:
        ranks: list[int | None] = []
        top: list[float] = []
        lat: list[float] = []
        for q in qs:
            t = time.perf_counter()
            order, score = b.rank(str(q["question"]))
            lat.append((time.perf_counter() - t) * 1e3)
            top.append(score)
            gold = _gold(q) if q.get("source") else []
            pages = pages_in_order(chunks, order, k=5)
            hit = [
                i
                for i, c in enumerate(pages)
                if _matches(Citation(c.source, c.page, None, 0.0), gold)
            ]
            ranks.append(hit[0] + 1 if hit else None)
        declined = score_cut_declines(qs, top)
        fig = _figures(qs, ranks, declined)
        fig["score_auc"] = auc(
            [s for s, q in zip(top, qs, strict=True) if not q.get("unanswerable")],
            [s for s, q in zip(top, qs, strict=True) if q.get("unanswerable")],
        )
        fig["latency_p95_ms"] = round(float(np.percentile(lat, 95)), 2) if lat else None
        styles = sorted({str(q.get("style", "unstyled")) for q in qs})
        fig["by_style"] = {}
        for st in styles:
            idx = [i for i, q in enumerate(qs) if str(q.get("style", "unstyled")) == st]
            fig["by_style"][st] = _figures(
                [qs[i] for i in idx], [ranks[i] for i in idx], [declined[i] for i in idx]
            )
        out[b.name] = fig
    return out


def score_cut_declines(
    qs: list[dict[str, Any]], top: list[float], target: float = 0.9
) -> list[bool]:
    """Declines of a plain score cut: a question is declined when its top retrieval score is
    below a cut set, on the questions of the other styles, at the lowest score that declines
    ``target`` of their unanswerable ones. With one style only, the cut is set on all the
    questions (in-sample, so it flatters the recipe).

    >>> qs = [{"style": "a", "unanswerable": True}, {"style": "a"},
    ...       {"style": "b", "unanswerable": True}, {"style": "b"}]
    >>> score_cut_declines(qs, [1.0, 5.0, 2.0, 1.5])
    [True, False, False, False]
    """
    styles = sorted({str(q.get("style", "unstyled")) for q in qs})
    out = [False] * len(qs)
    for st in styles:
        fit = [i for i, q in enumerate(qs) if len(styles) == 1 or q.get("style", "unstyled") != st]
        una = sorted(top[i] for i in fit if qs[i].get("unanswerable"))
        if not una:
            continue
        # the cut just above the target share of unanswerable top scores
        k = min(len(una) - 1, max(0, int(np.ceil(target * len(una))) - 1))
        cut = una[k]
        for i, q in enumerate(qs):
            if str(q.get("style", "unstyled")) == st:
                out[i] = top[i] <= cut
    return out

"""Which language a message is in, sentence by sentence: lingua's statistical models (one
detector per set of languages, built once and cached) with the distinctive function words
of :mod:`~plantmind.language.lexicon` as extra evidence on short sentences. A message whose
sentences are confidently in two languages is reported as mixed, with the spans; text that
is too short, not made of words, or not confidently any configured language is "unknown",
with the reason, never a guess."""

from __future__ import annotations

import bisect
import os
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from plantmind.language.lexicon import distinctive_function_words
from plantmind.language.segments import Span, is_cjk, mask, sentences, words

__all__ = [
    "DEFAULT_LANGUAGES",
    "MIN_WORDS",
    "LanguageDetector",
    "LanguageResult",
    "Segment",
    "get_detector",
]

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "zh", "it", "pt", "nl", "pl", "ja")
"""Languages loaded unless the caller names others (``PLANTMIND_LANGUAGES``: comma list)."""

MIN_WORDS = 3
"""Fewer words than this (space-delimited scripts) carry too little evidence to name a
language: lingua's own accuracy figures drop steeply below three words."""
MIN_CJK = 2
"""CJK characters needed: the script already narrows the choice to zh or ja (kana)."""
_MIN_FUNCTION_HITS = 2
"""Distinctive function words of a language that is not configured needed to call a
sentence "not one of the configured languages"."""
FUNCTION_WORD_LR = 10.0
"""Likelihood ratio of one distinctive function word ("the", "und", "les", "los") for its
language: such words are among the most frequent of their language and absent from the
others' vocabulary, so one is worth at least an order of magnitude."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of one script inside one sentence, and what was decided about it."""

    span: Span
    language: str | None
    confidence: float
    reason: str
    words: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "language": self.language,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "words": self.words,
        }


@dataclass(slots=True)
class LanguageResult:
    """``language``: the main language (ISO 639-1) or ``"unknown"``; ``languages``: every
    language found, main first; ``mixed``: more than one; ``reason``: how it was decided,
    or why not."""

    language: str
    languages: list[str]
    mixed: bool
    reason: str
    confidence: float
    segments: list[Segment] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._starts = [s.span.start for s in self.segments]

    @property
    def known(self) -> bool:
        return self.language != "unknown"

    def language_at(self, pos: int) -> str | None:
        """The language of the segment holding character ``pos`` (else the main one)."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i >= 0:
            s = self.segments[i]
            if s.span.start <= pos < s.span.end and s.language:
                return s.language
        return self.language if self.known else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "languages": self.languages,
            "mixed": self.mixed,
            "reason": self.reason,
            "confidence": round(self.confidence, 3),
            "segments": [s.to_dict() for s in self.segments],
        }


def _is_latin(word: str) -> bool:
    return all("LATIN" in unicodedata.name(ch, "") for ch in word)


def _has_vowel(word: str) -> bool:
    for ch in word.lower():
        base = unicodedata.normalize("NFD", ch)[0]
        if base in "aeiouy" or ch in "æœøå":
            return True
    return False


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


class LanguageDetector:
    """Lingua restricted to ``languages`` (ISO 639-1 codes), every model preloaded (so no
    call waits on a model load). ``load_s`` and ``memory_mb`` record what building cost."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        codes = []
        for code in languages:
            try:
                codes.append(IsoCode639_1.from_str(code.strip().lower()))
            except ValueError:
                raise ValueError(f"unknown language code {code!r} (ISO 639-1, e.g. de)") from None
        if len(codes) < 2:
            raise ValueError("language detection needs at least two languages to choose from")
        self.languages = tuple(sorted({c.name.lower() for c in codes}))
        rss0, t0 = _rss_mb(), time.perf_counter()
        # high-accuracy mode: supplier messages are short, where low-accuracy mode fails
        self._lingua = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            .with_preloaded_language_models()
            .build()
        )
        self.load_s = time.perf_counter() - t0
        rss1 = _rss_mb()
        self.memory_mb = None if rss0 is None or rss1 is None else max(0.0, rss1 - rss0)
        # every language's function words, configured or not: a sentence full of French
        # function words is not English just because French was left out
        self._hints = distinctive_function_words()

    # -- one run of text ---------------------------------------------------------------------
    def _confidences(self, text: str) -> list[tuple[str, float]]:
        return [
            (c.language.iso_code_639_1.name.lower(), c.value)
            for c in self._lingua.compute_language_confidence_values(text)
        ]

    def classify(self, text: str) -> tuple[str | None, float, str, int]:
        """(language or None, confidence, reason, words) for one run of one script."""
        cjk = sum(1 for ch in text if is_cjk(ch))
        ws = [w.text for w in words(text)]
        if cjk and cjk >= sum(len(w) for w in ws):
            if cjk < MIN_CJK:
                return None, 0.0, f"too short to tell: {cjk} character", cjk
            conf = self._confidences(text)
            if not conf or conf[0][1] <= 0.5:
                return None, 0.0, "not one of the configured languages", cjk
            return conf[0][0], conf[0][1], "lingua", cjk
        # one-letter words ("a", "y", "à") carry almost no evidence: they do not count
        n = sum(1 for w in ws if len(w) > 1)
        if n == 0 and ws:
            return None, 0.0, f"too short to tell: {len(ws)} letter(s)", len(ws)
        if n == 0:
            return None, 0.0, "no words (only numbers, symbols or emoji)", 0
        if n < MIN_WORDS:
            return None, 0.0, f"too short to tell: {n} word{'s' * (n != 1)}", n
        # every word of the Latin-script languages we know has a vowel; runs of consonants
        # are noise or codes ("xkq zzv")
        long_words = [w for w in ws if len(w) > 1 and _is_latin(w)]
        if long_words and sum(not _has_vowel(w) for w in long_words) * 2 > len(long_words):
            return None, 0.0, "does not look like words of any configured language", n
        conf = self._confidences(text)
        if not conf or conf[0][1] == 0.0:
            return None, 0.0, "not one of the configured languages", n
        hits: dict[str, list[str]] = {}
        for w in ws:
            lang = self._hints.get(w.lower())
            if lang:
                hits.setdefault(lang, []).append(w.lower())
        ranked = sorted(hits.items(), key=lambda kv: -len(kv[1]))
        if (
            ranked
            and ranked[0][0] not in self.languages
            and len(ranked[0][1]) >= _MIN_FUNCTION_HITS
            and (len(ranked) == 1 or len(ranked[0][1]) > len(ranked[1][1]))
        ):
            shown = ", ".join(dict.fromkeys(ranked[0][1]))
            return (
                None, 0.0,
                f"not one of the configured languages (function words of {ranked[0][0]}: "
                f"{shown})", n,
            )  # fmt: skip
        # Bayes: each distinctive function word multiplies its language's odds by
        # FUNCTION_WORD_LR (lingua reads "The shaft shall be" as German on n-grams alone)
        score = {lang: c for lang, c in conf}
        for lang, found in hits.items():
            if lang in score:
                score[lang] *= FUNCTION_WORD_LR ** len(found)
        total = sum(score.values())
        best = max(score, key=lambda k: score[k])
        p = score[best] / total
        # decide only when one language is more likely than all the others together
        if p <= 0.5:
            return (
                None, p,
                f"no language is more likely than all others together (best: {best} {p:.2f})", n,
            )  # fmt: skip
        if best in hits:
            return best, p, f"lingua and function words ({', '.join(dict.fromkeys(hits[best]))})", n
        return best, p, "lingua", n

    # -- a whole message -----------------------------------------------------------------------
    def detect(self, text: str, neutral: Iterable[Span] = ()) -> LanguageResult:
        """The language(s) of ``text``. ``neutral`` spans (numbers, quantities, dates, part
        numbers) are blanked first: they belong to no language and mislead the models."""
        clean = mask(text, neutral)
        segments: list[Segment] = []
        for sent in sentences(clean):
            for run in _script_runs(clean, sent):
                lang, conf, reason, n = self.classify(run.text)
                if n:
                    # the span shows the original characters, numbers included
                    span = Span.of(text, run.start, run.end)
                    segments.append(Segment(span, lang, conf, reason, n))
        share: dict[str, int] = {}
        for s in segments:
            if s.language:
                share[s.language] = share.get(s.language, 0) + len(s.span.text)
        if share:
            langs = sorted(share, key=lambda k: -share[k])
            main = langs[0]
            conf = max(s.confidence for s in segments if s.language == main)
            how = (
                "sentences in " + " and ".join(langs)
                if len(langs) > 1
                else f"{sum(1 for s in segments if s.language)} sentence(s) in {main}"
            )
            return LanguageResult(main, langs, len(langs) > 1, how, conf, segments)
        # no single sentence decides: the message as a whole may
        body = " ".join(clean[s.span.start : s.span.end] for s in segments)
        lang, conf, reason, n = self.classify(body) if body else (None, 0.0, "", 0)
        if lang:
            for i, s in enumerate(segments):
                segments[i] = Segment(s.span, lang, conf, "whole message", s.words)
            return LanguageResult(lang, [lang], False, f"whole message: {reason}", conf, segments)
        if not segments or n == 0:
            reason = "no words (only numbers, symbols or emoji)"
        return LanguageResult("unknown", [], False, reason, conf, segments)


def _script_runs(text: str, sent: Span) -> list[Span]:
    """``sent`` cut where the script changes between CJK and the space-delimited scripts
    (digits, punctuation and spaces go with the run they are in)."""
    runs: list[Span] = []
    start: int | None = None
    kind: bool | None = None  # True: CJK
    last = sent.start
    for i in range(sent.start, sent.end):
        ch = text[i]
        if not ch.isalpha():
            continue
        k = is_cjk(ch)
        if kind is None:
            start, kind = i, k
        elif k != kind:
            runs.append(Span.of(text, start or 0, last + 1))
            start, kind = i, k
        last = i
    if start is not None:
        runs.append(Span.of(text, start, last + 1))
    return runs


_DETECTORS: dict[tuple[str, ...], LanguageDetector] = {}
_LOCK = threading.Lock()


def _configured() -> tuple[str, ...]:
    env = os.environ.get("PLANTMIND_LANGUAGES", "").strip()
    return tuple(c.strip() for c in env.split(",") if c.strip()) if env else DEFAULT_LANGUAGES


def get_detector(languages: Sequence[str] | None = None) -> LanguageDetector:
    """The shared detector for ``languages`` (default: ``PLANTMIND_LANGUAGES`` or
    :data:`DEFAULT_LANGUAGES`), built on first use; later calls return the same one."""
    key = tuple(sorted({c.strip().lower() for c in (languages or _configured())}))
    det = _DETECTORS.get(key)
    if det is None:
        with _LOCK:
            det = _DETECTORS.get(key)
            if det is None:
                det = _DETECTORS[key] = LanguageDetector(key)
    return det

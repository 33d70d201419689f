"""Checking one supplier or regional message: what it says (languages, quantities, dates,
part numbers, glossary terms, modal words) and where it differs from the specification or
cannot be read safely, as flags that each carry a code, a plain-English message and the
span of text they refer to. What was not checked is listed with the reason, never left out
silently."""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plantmind.language.conventions import Convention, language_convention, locale_convention
from plantmind.language.dates import DateContext, DateValue, find_dates
from plantmind.language.detect import MIN_WORDS, LanguageResult, get_detector
from plantmind.language.glossary import Glossary, TermMatch
from plantmind.language.lexicon import LINKING, is_function_word
from plantmind.language.modality import RANK, Modal, find_modals, modality_languages
from plantmind.language.numbers import NumberContext, NumberShape, NumberValue, find_numbers
from plantmind.language.part_numbers import DEFAULT_PREFIXES, PartNumber, PartNumberRules
from plantmind.language.quantities import Quantity, find_quantities, resolve_quantity
from plantmind.language.segments import Span, Spans, is_cjk, mask, sentences
from plantmind.language.spec import Spec, SpecItem
from plantmind.language.terms import term_after, term_before
from plantmind.language.translate import Translation, translate
from plantmind.language.units import Unit, convert, lookup

__all__ = ["FLAG_CODES", "Flag", "MessageReport", "SkippedCheck", "check_message", "warm_up"]

_CURRENCY = r"(?:EUR|USD|CHF|GBP|CNY|RMB|JPY|PLN|€|\$|£|¥|元)"
_CURRENCY_AFTER = re.compile(rf"\s*{_CURRENCY}(?![^\W\d_])")
_CURRENCY_BEFORE = re.compile(rf"(?<![^\W\d_]){_CURRENCY}\s*$")


_NEXT_WORD = re.compile(r"\s*([^\W\d_]+)")


def _counts_a_word(text: str, span: Span) -> bool:
    """A number without a unit followed by a noun counts that noun ("3 pallets", "2
    Lieferungen", "2小时"); it is not the value of the term before it."""
    m = _NEXT_WORD.match(text, span.end)
    if m is None:
        return False
    word = m.group(1)
    if is_cjk(word[0]):
        return True
    return word.lower() not in LINKING and not is_function_word(word)


def _is_price(text: str, span: Span) -> bool:
    """A price ("12.50 EUR", "€ 12.50"), not a measured value."""
    return bool(
        _CURRENCY_AFTER.match(text, span.end)
        or _CURRENCY_BEFORE.search(text[max(0, span.start - 5) : span.start])
    )


_pieces = lookup("pcs")
assert _pieces is not None
PIECES: Unit = _pieces

FLAG_CODES = (
    "ambiguous_date",
    "ambiguous_number",
    "unit_mismatch",
    "tolerance_mismatch",
    "weakened_modality",
    "missing_quantity",
    "missing_unit",
    "term_not_in_glossary",
    "mixed_language",
    "unknown_language",
)


@dataclass(frozen=True, slots=True)
class Flag:
    """A difference that can cause an error: ``code`` (one of :data:`FLAG_CODES`), a plain
    English ``message``, and the ``span`` it refers to."""

    code: str
    message: str
    span: Span | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "span": self.span.to_dict() if self.span else None,
        }


@dataclass(frozen=True, slots=True)
class SkippedCheck:
    """A check that did not run on (part of) the message: what was left unchecked, and
    why (the report's ``not_analysed``)."""

    what: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"what": self.what, "why": self.why}


@dataclass(frozen=True, slots=True)
class ValueMention:
    """A quantity or a number without a unit, and the concept and spec item it was tied to
    (``matched_by``: the term next to it, the only concept in its sentence, or the only
    spec item of its kind)."""

    span: Span
    quantity: Quantity | None
    number: NumberValue
    concept: str | None
    matched_by: str | None
    term_span: Span | None
    sentence: Span
    language: str | None
    spec_item: str | None = None
    comparison: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = (
            self.quantity.to_dict()
            if self.quantity is not None
            else {"span": self.span.to_dict(), "number": self.number.to_dict()}
        )
        out.update(
            concept=self.concept,
            matched_by=self.matched_by,
            term=self.term_span.to_dict() if self.term_span else None,
            spec_item=self.spec_item,
            comparison=self.comparison,
        )
        if self.quantity is None:
            out["value"] = self.number.value
        return out


@dataclass(slots=True)
class MessageReport:
    """Everything :func:`check_message` found; ``to_dict()`` is the JSON shape."""

    text: str
    language: LanguageResult
    quantities: list[ValueMention] = field(default_factory=list)
    numbers: list[ValueMention] = field(default_factory=list)
    dates: list[DateValue] = field(default_factory=list)
    part_numbers: list[PartNumber] = field(default_factory=list)
    terms: list[TermMatch] = field(default_factory=list)
    modality: list[Modal] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    not_analysed: list[SkippedCheck] = field(default_factory=list)
    translation: Translation | None = None
    sender_locale: str | None = None
    receiver_locale: str | None = None
    spec: str | None = None
    elapsed_ms: float = 0.0

    def codes(self) -> list[str]:
        """The flag codes, in order (with repeats)."""
        return [f.code for f in self.flags]

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language.language,
            "languages": self.language.languages,
            "language_detail": self.language.to_dict(),
            "sender_locale": self.sender_locale,
            "receiver_locale": self.receiver_locale,
            "spec": self.spec,
            "quantities": [q.to_dict() for q in self.quantities],
            "numbers": [n.to_dict() for n in self.numbers],
            "dates": [d.to_dict() for d in self.dates],
            "part_numbers": [p.to_dict() for p in self.part_numbers],
            "terms": [t.to_dict() for t in self.terms],
            "modality": [m.to_dict() for m in self.modality],
            "flags": [f.to_dict() for f in self.flags],
            "not_analysed": [n.to_dict() for n in self.not_analysed],
            "translation": self.translation.to_dict() if self.translation else None,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def _g(v: float) -> str:
    return f"{v:.6g}"


def _band(value: float, plus: float | None, minus: float | None, unit: str) -> str:
    if plus is None or minus is None:
        return f"{_g(value)} {unit}"
    if plus == minus:
        return f"{_g(value)} ± {_g(plus)} {unit}"
    return f"{_g(value)} +{_g(plus)}/-{_g(minus)} {unit}"


def _precision(n: NumberValue) -> float:
    """Half a unit of the last decimal written: how far a rounded value may be from what it
    stands for ("0.787" stands for 0.7865..0.7875); 0 for a whole number."""
    m = re.search(r"[.,](\d+)$", n.raw)
    if n.value is None or m is None:
        return 0.0
    head = re.sub(r"\D", "", n.raw[: m.start()]) or "0"
    if float(f"{head}.{m.group(1)}") != abs(n.value):
        return 0.0  # the separator groups thousands
    return 0.5 * 10 ** -len(m.group(1))


class _Checker:
    def __init__(
        self,
        text: str,
        spec: Spec | None,
        glossary: Glossary | None,
        sender: str | None,
        receiver: str | None,
        languages: Sequence[str] | None,
    ) -> None:
        self.text = text
        self.spec = spec
        self.sender = locale_convention(sender) if sender else None
        self.receiver = locale_convention(receiver) if receiver else None
        self.languages = languages
        extra = {i.concept: i.term_lists() for i in spec.items if i.terms} if spec else {}
        self.glossary = glossary
        self.terms_source: Glossary | None = glossary
        if extra:
            self.terms_source = (glossary or Glossary({})).merged(extra)
        self.flags: list[Flag] = []
        self.not_analysed: list[SkippedCheck] = []
        self.terms_in: dict[int, list[TermMatch]] = {}  # sentence start -> its terms

    def flag(self, code: str, message: str, span: Span | None) -> None:
        self.flags.append(Flag(code, message, span))

    def skip(self, what: str, why: str) -> None:
        item = SkippedCheck(what, why)
        if item not in self.not_analysed:
            self.not_analysed.append(item)

    def lang_conv(self, lang: LanguageResult, pos: int) -> Convention | None:
        code = lang.language_at(pos)
        return language_convention(code) if code else None

    # -- the whole check -----------------------------------------------------------------------
    def run(self) -> MessageReport:
        text = self.text
        taken = Spans()
        pn_cfg = self.spec.part_numbers if self.spec else None
        rules = PartNumberRules(
            pn_cfg.prefixes if pn_cfg and pn_cfg.prefixes is not None else DEFAULT_PREFIXES,
            pn_cfg.patterns if pn_cfg else (),
        )
        parts = rules.find(text, taken)
        date_matches = find_dates(text, taken)
        q_matches = find_quantities(text, taken)
        bare: list[tuple[int, int, NumberShape]] = []
        for start, end, shape in find_numbers(text):
            if taken.taken(start, end):
                continue
            nxt = text[end : end + 1]
            if nxt.isalpha() and nxt.isascii():
                continue  # "2RS", "4711A": a code
            if not shape.readings:
                self.skip(f"{shape.raw!r}", "fits no number convention: read as a reference")
                continue
            bare.append((start, end, shape))
        neutral = [p.span for p in parts] + [d.span for d in date_matches]
        neutral += [q.span for q in q_matches] + [Span.of(text, s, e) for s, e, _ in bare]
        lang = get_detector(self.languages).detect(text, neutral)

        masked = mask(text, [p.span for p in parts] + [d.span for d in date_matches])
        nctx = NumberContext.for_text(masked, sender=self.sender, receiver=self.receiver)
        dctx = DateContext.for_dates(date_matches, sender=self.sender, receiver=self.receiver)
        dates = [dctx.resolve(d, language=self.lang_conv(lang, d.span.start)) for d in date_matches]
        sents = sentences(text)
        starts = [s.start for s in sents]
        whole = Span.of(text, 0, len(text))

        def sentence_of(pos: int) -> Span:
            i = bisect.bisect_right(starts, pos) - 1
            return sents[i] if i >= 0 and pos < sents[i].end else whole

        terms = self.terms_source.find(text) if self.terms_source else []
        for t in terms:
            self.terms_in.setdefault(sentence_of(t.span.start).start, []).append(t)
        mentions: list[ValueMention] = []
        for qm in q_matches:
            q = resolve_quantity(qm, nctx, self.lang_conv(lang, qm.span.start))
            mentions.append(self._mention(q.span, q, q.number, lang, sentence_of))
        for start, end, shape in bare:
            span = Span.of(text, start, end)
            counted = self._counted(span, lang, sentence_of)
            num = nctx.resolve(
                shape, count=counted is not None, language=self.lang_conv(lang, start)
            )
            if counted is not None:
                # "200 shafts", "1.250 roulements": a count of the glossary term that follows
                term, t = counted
                q = Quantity(span, num.value, PIECES, "", num)
                sent = sentence_of(start)
                mentions.append(
                    ValueMention(span, q, num, t.concept, "counted term after the value",
                                 term, sent, lang.language_at(start))
                )  # fmt: skip
                continue
            mentions.append(self._mention(span, None, num, lang, sentence_of))
        modals = self._modals(lang, sents)

        self._language_flags(lang)
        self._ambiguity_flags(mentions, dates)
        if self.spec is not None:
            self._spec_checks(mentions, terms, modals, sentence_of)
        else:
            self.skip(
                "spec checks",
                "no spec given: units, tolerances, modality, missing quantities not compared",
            )
        self._missing_units(mentions)
        self._glossary_checks(mentions, terms)
        report = MessageReport(
            text, lang,
            quantities=[m for m in mentions if m.quantity is not None],
            numbers=[m for m in mentions if m.quantity is None],
            dates=dates, part_numbers=parts, terms=terms, modality=modals,
        )  # fmt: skip
        return report

    def _mention(
        self,
        span: Span,
        q: Quantity | None,
        number: NumberValue,
        lang: LanguageResult,
        sentence_of: Any,
    ) -> ValueMention:
        sent = sentence_of(span.start)
        code = lang.language_at(span.start)
        cand: Span | None = None
        before = None
        if not (q is None and (_is_price(self.text, span) or _counts_a_word(self.text, span))):
            before = term_before(self.text, span.start, sent.start, code)
        if q is not None and q.kind in ("count", "time"):
            # a count names what it counts after it ("200 pcs ball bearings"); a duration
            # qualifies an action ("dry for 2 h"); before either, only a label names a term
            # ("Kugellager: 200 Stück"), otherwise it is the verb ("deliver 200 pcs")
            if q.kind == "count":
                cand = term_after(self.text, span.end, sent.end, code)
            label = before is not None and any(
                c in self.text[before.end : span.start] for c in ":："
            )
            if cand is None and label:
                cand = before
        else:
            cand = before
        concept = matched_by = None
        near = self.terms_in.get(sent.start, [])
        for t in near:
            if cand is not None and t.span.overlaps(cand):
                concept, matched_by = t.concept, "term next to the value"
                break
        if concept is None and cand is None and q is not None:
            # only a concept that measures what the value measures: "200 pcs" is not the
            # test pressure named earlier in the sentence
            in_sentence = {t.concept for t in near if self._kind(t.concept) in (None, q.kind)}
            if len(in_sentence) == 1:
                concept, matched_by = next(iter(in_sentence)), "only concept in its sentence"
        return ValueMention(span, q, number, concept, matched_by, cand, sent, code)

    def _counted(
        self, span: Span, lang: LanguageResult, sentence_of: Any
    ) -> tuple[Span, TermMatch] | None:
        """The counted glossary term right after a bare whole number, if its concept is a
        count (by the glossary's kind or the spec item's unit)."""
        sent = sentence_of(span.start)
        cand = term_after(self.text, span.end, sent.end, lang.language_at(span.start))
        if cand is None:
            return None
        for t in self.terms_in.get(sent.start, []):
            if t.span.overlaps(cand) and self._kind(t.concept) == "count":
                return cand, t
        return None

    def _kind(self, concept: str) -> str | None:
        item = self.spec.item(concept) if self.spec else None
        if item is not None and item.kind:
            return item.kind
        return self.terms_source.kind(concept) if self.terms_source else None

    def _modals(self, lang: LanguageResult, sents: list[Span]) -> list[Modal]:
        out: list[Modal] = []
        known = modality_languages()
        for s in sents:
            code = lang.language_at(s.start)
            if code is None:
                continue
            if code not in known:
                self.skip("modality", f"modal words of {code} are not known")
                continue
            out += find_modals(self.text, code, s.start, s.end)
        return out

    # -- flags ---------------------------------------------------------------------------------
    def _language_flags(self, lang: LanguageResult) -> None:
        whole = Span.of(self.text, 0, len(self.text))
        if not lang.known:
            self.flag("unknown_language", f"language not determined: {lang.reason}", whole)
            self.skip(
                "language-dependent reading",
                "language unknown: modal words and terms were not read; numbers and dates "
                "use only the locale and the message's own evidence",
            )
            return
        if lang.mixed:
            main = lang.language
            for s in lang.segments:
                if s.language and s.language != main:
                    self.flag(
                        "mixed_language",
                        f"this part is in {s.language}, the rest of the message in {main}",
                        s.span,
                    )
        for s in lang.segments:
            if s.language is None and s.words >= MIN_WORDS:
                self.skip(f"language of {s.span.text!r}", s.reason)

    def _ambiguity_flags(self, mentions: list[ValueMention], dates: list[DateValue]) -> None:
        for m in mentions:
            nums = [m.number] + (list(m.quantity.tol_numbers) if m.quantity else [])
            for n in nums:
                if n.ambiguous:
                    self.flag("ambiguous_number", n.note, m.span)
        for d in dates:
            if d.ambiguous:
                self.flag("ambiguous_date", d.note, d.span)

    def _spec_checks(
        self,
        mentions: list[ValueMention],
        terms: list[TermMatch],
        modals: list[Modal],
        sentence_of: Any,
    ) -> None:
        spec = self.spec
        assert spec is not None
        no_unit = [i.concept for i in spec.items if i.unit is None and i.kind is None]
        if no_unit:
            self.skip(
                "unit and tolerance checks",
                f"the spec gives no unit for {', '.join(no_unit)}: their values were not compared",
            )
        mentioned: dict[str, set[int]] = {}
        for i, m in enumerate(mentions):
            item = spec.item(m.concept) if m.concept else None
            how = m.matched_by
            if item is None and m.concept is None and m.term_span is None and m.quantity:
                same = [it for it in spec.items if it.kind == m.quantity.kind]
                if len(same) == 1:
                    item, how = same[0], "only spec item of its kind"
            if item is None:
                continue
            cmp = self._compare(m, item) if m.quantity is not None else None
            mentions[i] = ValueMention(
                m.span, m.quantity, m.number, m.concept or item.concept, how, m.term_span,
                m.sentence, m.language, item.concept, cmp,
            )  # fmt: skip
            mentioned.setdefault(item.concept, set()).add(m.sentence.start)
        # a concept named without a value
        for t in terms:
            item = spec.item(t.concept)
            if item is None or item.value is None:
                continue
            sent = sentence_of(t.span.start)
            if sent.start not in mentioned.get(t.concept, set()):
                self.flag(
                    "missing_quantity",
                    f"the message names {t.span.text!r} ({t.concept}) but gives no value "
                    f"for it (spec: {_band(item.value, item.tol_plus, item.tol_minus, item.unit or '')})",
                    t.span,
                )
                mentioned.setdefault(t.concept, set()).add(sent.start)
        self._modality_checks(mentions, terms, modals, sentence_of)

    def _compare(self, m: ValueMention, item: SpecItem) -> dict[str, Any] | None:
        q = m.quantity
        assert q is not None
        want = item.unit_obj
        if want is None:
            if item.kind is not None and item.kind != q.kind:
                self.flag(
                    "unit_mismatch",
                    f"{q.span.text} is a {q.kind}, but {item.concept} is a {item.kind}",
                    q.span,
                )
            return None
        if want.kind != q.kind:
            self.flag(
                "unit_mismatch",
                f"{q.span.text} is a {q.kind} ({q.unit.symbol}), but the spec gives "
                f"{item.concept} as a {want.kind} in {want.symbol}: cannot be compared",
                q.span,
            )
            return {"comparable": False}
        if q.value is None:
            self.skip(
                f"tolerance of {q.span.text!r}",
                "its number is ambiguous, so its value was not compared with the spec",
            )
            return {"comparable": True, "value": None}
        v = convert(q.value, q.unit, want)
        tp = None if q.tol_plus is None else convert(q.tol_plus, q.unit, want, difference=True)
        tm = None if q.tol_minus is None else convert(q.tol_minus, q.unit, want, difference=True)
        out: dict[str, Any] = {"comparable": True, "value": round(v, 6), "unit": want.symbol}
        within: bool | None = None
        if item.value is not None:
            lo = item.value - (item.tol_minus or 0.0)
            hi = item.value + (item.tol_plus or 0.0)
            slack = 0.0
            if item.tol_plus is None and q.unit != want:
                # no tolerance and another unit: equal as far as the digits written go
                slack = convert(_precision(q.number), q.unit, want, difference=True)
            within = lo - slack - 1e-9 <= v <= hi + slack + 1e-9
            out.update(spec_min=round(lo, 6), spec_max=round(hi, 6), within=within)
        spec_txt = (
            _band(item.value, item.tol_plus, item.tol_minus, want.symbol)
            if item.value is not None
            else want.symbol
        )
        if q.unit != want:
            verdict = (
                ""
                if within is None
                else (
                    ": within the spec's tolerance" if within else ": outside the spec's tolerance"
                )
            )
            self.flag(
                "unit_mismatch",
                f"{q.span.text} is in {q.unit.symbol}, the spec gives {item.concept} in "
                f"{want.symbol}: {_g(q.value)} {q.unit.symbol} = {_g(v)} {want.symbol} "
                f"(spec {spec_txt}){verdict}",
                q.span,
            )
        if within is False:
            self.flag(
                "tolerance_mismatch",
                f"{q.span.text} ({_g(v)} {want.symbol}) is outside the spec's {item.concept}: "
                f"{spec_txt}",
                q.span,
            )
        elif (
            item.value is not None
            and item.tol_plus is not None
            and item.tol_minus is not None
            and tp is not None
            and tm is not None
            and (
                v + tp > item.value + item.tol_plus + 1e-9
                or v - tm < item.value - item.tol_minus - 1e-9
            )
        ):
            self.flag(
                "tolerance_mismatch",
                f"{q.span.text} allows {_g(v - tm)}–{_g(v + tp)} {want.symbol}, wider than the "
                f"spec's {item.concept}: {spec_txt}",
                q.span,
            )
        return out

    def _modality_checks(
        self,
        mentions: list[ValueMention],
        terms: list[TermMatch],
        modals: list[Modal],
        sentence_of: Any,
    ) -> None:
        spec = self.spec
        assert spec is not None
        anchors: list[tuple[str, Span]] = [(m.spec_item, m.span) for m in mentions if m.spec_item]
        anchors += [(t.concept, t.span) for t in terms if spec.item(t.concept)]
        done: set[tuple[str, int]] = set()
        modals_in: dict[int, list[Modal]] = {}
        for m in modals:
            modals_in.setdefault(sentence_of(m.span.start).start, []).append(m)
        for concept, span in anchors:
            item = spec.item(concept)
            if item is None or item.strength is None:
                continue
            sent = sentence_of(span.start)
            if (concept, sent.start) in done:
                continue
            done.add((concept, sent.start))
            in_sent = modals_in.get(sent.start, [])
            if not in_sent:
                continue
            nearest = min(in_sent, key=lambda m: abs(m.span.start - span.start))
            if RANK[nearest.strength] < RANK[item.strength]:
                self.flag(
                    "weakened_modality",
                    f"{nearest.span.text!r} ({nearest.strength}) where the spec makes "
                    f"{item.concept} {item.strength} ({item.modality!r})",
                    nearest.span,
                )

    def _missing_units(self, mentions: list[ValueMention]) -> None:
        """A number without a unit right after the term of a measured concept: the spec's
        unit when it has one, else what the glossary says the concept measures."""
        for m in mentions:
            if m.quantity is not None or m.concept is None:
                continue
            if m.matched_by != "term next to the value":
                continue
            item = self.spec.item(m.concept) if self.spec else None
            want = item.unit_obj if item is not None else None
            if want is not None:
                why = f"the spec gives {m.concept} in {want.symbol}"
            else:
                kind = self._kind(m.concept)
                if kind is None or kind == "count":
                    continue  # a count needs no unit ("Kugellager: 200")
                why = f"{m.concept} is a {kind}"
            self.flag("missing_unit", f"{m.span.text} has no unit; {why}", m.span)

    def _glossary_checks(self, mentions: list[ValueMention], terms: list[TermMatch]) -> None:
        if self.terms_source is None:
            self.skip("glossary terms", "no glossary given: terms not normalised or checked")
            return
        seen: set[str] = set()
        for m in mentions:
            c = m.term_span
            if c is None or any(t.span.overlaps(c) for t in terms):
                continue
            key = c.text.casefold()
            if key in seen:
                continue
            seen.add(key)
            self.flag(
                "term_not_in_glossary",
                f"{c.text!r} (the term for {m.span.text}) is not in the glossary",
                c,
            )


def check_message(
    text: str,
    *,
    spec: Spec | None = None,
    glossary: Glossary | None = None,
    sender_locale: str | None = None,
    router: Any = None,
    receiver_locale: str | None = None,
    target_language: str | None = None,
    languages: Sequence[str] | None = None,
    translate_message: bool = True,
) -> MessageReport:
    """Check one message. ``sender_locale``/``receiver_locale`` (default: the spec's
    locale) settle numbers and dates; ``router`` translates into ``target_language``
    (default: the spec's language, else English). Raises ValueError for an unknown locale."""
    t0 = time.perf_counter()
    receiver = receiver_locale or (spec.receiver_locale if spec else None)
    checker = _Checker(text, spec, glossary, sender_locale, receiver, languages)
    if not text.strip():
        lang = LanguageResult("unknown", [], False, "empty message", 0.0)
        checker.flag("unknown_language", "the message is empty", None)
        checker.skip("everything", "the message is empty")
        report = MessageReport(text, lang)
    else:
        report = checker.run()
    report.flags = checker.flags
    report.not_analysed = checker.not_analysed
    report.sender_locale, report.receiver_locale = sender_locale, receiver
    report.spec = spec.source if spec else None
    report.elapsed_ms = (time.perf_counter() - t0) * 1e3
    if translate_message and text.strip():
        target = (target_language or (spec.language if spec else None) or "en").split("-")[0]
        lang = report.language
        if not lang.known:
            tr = Translation(
                target, None, "translation not done: the message's language is unknown"
            )
        elif lang.languages == [target]:
            tr = Translation(target, None, f"translation not needed: the message is in {target}")
        else:
            tr = translate(
                router, text, source=lang.language, target=target, terms=report.terms,
                glossary=checker.terms_source,
            )  # fmt: skip
        report.translation = tr
        if tr.text is None and not tr.reason.startswith("translation not needed"):
            report.not_analysed.append(SkippedCheck("translation", tr.reason))
    return report


def warm_up(languages: Sequence[str] | None = None) -> dict[str, float | None]:
    """Build the detector and read the CLDR conventions of its languages now, so that the
    first message is as fast as the rest; returns the detector's load time and memory."""
    t0 = time.perf_counter()
    det = get_detector(languages)
    for code in det.languages:
        language_convention(code)
    check_message(
        "The shaft diameter shall be 20 mm ± 0.05 (PN 4711-A), 3. April 2026.",
        languages=languages,
        translate_message=False,
    )
    return {
        "detector_load_s": det.load_s,
        "detector_memory_mb": det.memory_mb,
        "warm_up_s": time.perf_counter() - t0,
    }

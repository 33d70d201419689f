"""Redaction before anything goes to the central model: configured terms and patterns
(employee names and ids, customer names, recipe parameters, asset ids if asked) become stable
placeholders such as ``[EMPLOYEE_3fa2c1]``, and the answer gets the originals back.

A placeholder is an HMAC of the term under a per-site key (``<home>/redact.key``), so the
same term gets the same placeholder in every call and after a restart (the centre can still
tell "the same person" across a conversation), while the centre, without the key, cannot
test guesses ("is it Jane Doe?") against it. Known limit: redaction finds what the patterns
describe, nothing else; a name no pattern lists goes through.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from plantmind.core.routing import RedactionPattern

__all__ = ["Redactor", "StreamRestorer", "load_key"]

_PLACEHOLDER = re.compile(r"\[[A-Z]+_[0-9a-f]{6}\]")
_MAX_PLACEHOLDER = 24  # longest "[RECIPE_abcdef]"-like token, for stream buffering


def load_key(home: str | Path | None) -> bytes:
    """The site's redaction key from ``<home>/redact.key`` (created, owner-only, on first
    use); a random per-process key without a home."""
    if home is None:
        return secrets.token_bytes(32)
    path = Path(home) / "redact.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


class Redactor:
    """Replaces configured terms and patterns with stable placeholders (see the module).

    ``extra_terms`` maps further literal terms to their kind (the plant's asset ids when the
    site asks for them)."""

    def __init__(
        self,
        patterns: Sequence[RedactionPattern],
        *,
        key: bytes,
        extra_terms: Mapping[str, str] | None = None,
    ) -> None:
        self._key = key
        parts: list[str] = []
        self._kinds: list[str] = []
        self._fold: list[bool] = []
        for p in patterns:
            if p.regex is not None:
                body = p.regex if not p.ignore_case else f"(?i:{p.regex})"
                parts.append(f"(?P<g{len(parts)}>{body})")
            else:
                parts.append(f"(?P<g{len(parts)}>{_terms_regex(p.terms, p.ignore_case)})")
            self._kinds.append(p.kind.upper())
            self._fold.append(p.ignore_case)
        by_kind: dict[str, list[str]] = {}
        for term, kind in (extra_terms or {}).items():
            by_kind.setdefault(kind, []).append(term)
        for kind, terms in sorted(by_kind.items()):
            parts.append(f"(?P<g{len(parts)}>{_terms_regex(terms, False)})")
            self._kinds.append(kind.upper())
            self._fold.append(False)
        # One alternation, so a text is scanned once whatever the number of patterns.
        self._regex = re.compile("|".join(parts)) if parts else None

    @property
    def active(self) -> bool:
        return self._regex is not None

    def placeholder(self, kind: str, term: str, fold: bool) -> str:
        norm = term.casefold() if fold else term
        digest = hmac.new(self._key, f"{kind}\0{norm}".encode(), hashlib.sha256).hexdigest()
        return f"[{kind}_{digest[:6]}]"

    def redact(
        self, text: str, mapping: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """``text`` with every match replaced; ``mapping`` (placeholder → original, added to
        in place when given) restores it."""
        out = {} if mapping is None else mapping
        if self._regex is None or not text:
            return text, out

        def sub(m: re.Match[str]) -> str:
            group = int(str(m.lastgroup)[1:])
            original = m.group(0)
            ph = self.placeholder(self._kinds[group], original, self._fold[group])
            out.setdefault(ph, original)
            return ph

        return self._regex.sub(sub, text), out

    def redact_messages(
        self, messages: Iterable[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Messages with their text content redacted (also the text parts of multi-part
        content); one mapping for all of them."""
        mapping: dict[str, str] = {}
        out: list[dict[str, Any]] = []
        for msg in messages:
            m = dict(msg)
            content = m.get("content")
            if isinstance(content, str):
                m["content"] = self.redact(content, mapping)[0]
            elif isinstance(content, list):
                parts = []
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        part = {**part, "text": self.redact(part["text"], mapping)[0]}
                    parts.append(part)
                m["content"] = parts
            out.append(m)
        return out, mapping

    @staticmethod
    def restore(text: str, mapping: Mapping[str, str]) -> str:
        """Placeholders in ``text`` back to the originals (unknown ones stay as they are)."""
        if not mapping or "[" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


class StreamRestorer:
    """Restores placeholders in a stream of deltas, holding back a tail that may be the first
    half of a placeholder split across two deltas."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = mapping
        self._buf = ""

    def feed(self, delta: str) -> str:
        if not self.mapping:
            return delta
        self._buf += delta
        cut = self._buf.rfind("[")
        if cut >= 0 and "]" not in self._buf[cut:] and len(self._buf) - cut < _MAX_PLACEHOLDER:
            ready, self._buf = self._buf[:cut], self._buf[cut:]
        else:
            ready, self._buf = self._buf, ""
        return Redactor.restore(ready, self.mapping)

    def flush(self) -> str:
        rest, self._buf = self._buf, ""
        return Redactor.restore(rest, self.mapping)


def _terms_regex(terms: Iterable[str], ignore_case: bool) -> str:
    # Longest first, so "Jane Doe-Smith" wins over "Jane Doe"; whole words only, so the term
    # "Ann" does not eat "Annual".
    alts = "|".join(re.escape(t.strip()) for t in sorted(set(terms), key=len, reverse=True))
    body = f"(?<!\\w)(?:{alts})(?!\\w)"
    return f"(?i:{body})" if ignore_case else body

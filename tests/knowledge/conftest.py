"""Fixtures for the knowledge tests: real PDFs written by the tests (a minimal PDF writer:
Helvetica text, one content stream per page, a correct cross-reference table)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, pages: list[str], *, encrypted: bool = False) -> Path:
    """A PDF with one page per entry of ``pages`` (lines split on newlines; an empty string
    makes a page without text). ``encrypted`` adds a standard security handler whose user
    password is not empty, so a reader needs a password."""
    objects: list[bytes] = []
    n = len(pages)
    # 1 catalog, 2 pages, 3 font, then (page, content) pairs.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        content_ref = 5 + 2 * i
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_ref} 0 R >>"
            ).encode()
        )
        ops = ""
        if text:
            ops = (
                "BT /F1 11 Tf 14 TL 56 740 Td "
                + " ".join(f"({_escape(line)}) Tj T*" for line in text.split("\n"))
                + " ET"
            )
        data = ops.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    encrypt_ref = ""
    if encrypted:
        offsets.append(len(out))
        o_hex = os.urandom(32).hex()
        u_hex = os.urandom(32).hex()
        out += (
            f"{len(objects) + 1} 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <{o_hex}> "
            f"/U <{u_hex}> /P -44 >>\nendobj\n"
        ).encode()
        encrypt_ref = f" /Encrypt {len(objects) + 1} 0 R /ID [<{'ab' * 16}> <{'ab' * 16}>]"
    xref = len(out)
    count = len(offsets) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += f"trailer\n<< /Size {count} /Root 1 0 R{encrypt_ref} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    """``make_pdf(name_or_path, pages, encrypted=False)``: relative names go in tmp_path."""

    def make(name: str | Path, pages: list[str], **kw: bool) -> Path:
        path = Path(name)
        if not path.is_absolute():
            path = tmp_path / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_pdf(path, pages, **kw)

    return make

"""Fixtures for the compliance tests: the real 29 CFR 1910.147 text (shared data, skipped
when absent), the example lockout/tagout SOP, and the stand-in model servers of tests/llm
(see ``comply_support``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from comply_support import CFR, SOP_DIR, central_server, edge_server

__all__ = ["central_server", "edge_server"]


@pytest.fixture(scope="session")
def cfr_path() -> Path:
    if not CFR.is_file():
        pytest.skip(f"shared data absent: {CFR} (29 CFR 1910.147 is not part of the project)")
    return CFR


@pytest.fixture(scope="session")
def sop_dir() -> Path:
    return SOP_DIR

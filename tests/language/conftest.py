"""Fixtures for the language tests: the example glossary and spec, a warmed detector, and
the stand-in OpenAI-compatible servers of ``tests/llm`` (shared, not copied)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import plantmind
from plantmind.language.check import warm_up
from plantmind.language.glossary import Glossary
from plantmind.language.spec import Spec, load_spec

_spec = importlib.util.spec_from_file_location(
    "_llm_stand_in_servers", Path(__file__).parents[1] / "llm" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_mod = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _mod  # its dataclasses look their module up while being built
_spec.loader.exec_module(_mod)

edge_server = _mod.edge_server
central_server = _mod.central_server

EXAMPLES = Path(plantmind.__file__).parent / "examples" / "language"


@pytest.fixture(scope="session", autouse=True)
def detector_ready() -> dict[str, float | None]:
    """The detector is built once per session (about a second); every test reuses it."""
    return warm_up()


@pytest.fixture(scope="session")
def glossary() -> Glossary:
    return Glossary.from_csv(EXAMPLES / "glossary.csv")


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec(EXAMPLES / "spec.yaml")

"""What the compliance tests borrow from other test folders, loaded from their files (not
copied): the recording OpenAI-compatible stand-in servers of ``tests/llm/conftest.py`` and
the PDF writer of ``tests/knowledge/conftest.py``; and the paths of the test data."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import plantmind

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
_REGULATION = Path("data") / "docs" / "regulations" / "29cfr1910.147.md"
# The team's shared data is not part of the project (its licence forbids copying): it is looked
# for in $PLANTMIND_SHARED_DATA, beside the checkout, and where this team's machines keep it; the
# tests that read it skip, saying so, where none of these holds it.
_SHARED = [
    *(
        [Path(os.environ["PLANTMIND_SHARED_DATA"])]
        if os.environ.get("PLANTMIND_SHARED_DATA")
        else []
    ),
    REPO.parent / "shared",
    Path("/work/shared"),
]
CFR = next(
    (d / _REGULATION for d in _SHARED if (d / _REGULATION).is_file()), _SHARED[0] / _REGULATION
)
SOP_DIR = Path(plantmind.__file__).parent / "examples" / "procedures"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_llm = _load("_plantmind_tests_llm_conftest", TESTS / "llm" / "conftest.py")
_knowledge = _load("_plantmind_tests_knowledge_conftest", TESTS / "knowledge" / "conftest.py")

StandIn = _llm.StandIn
central_server = _llm.central_server
edge_server = _llm.edge_server
write_pdf = _knowledge.write_pdf

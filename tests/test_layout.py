"""The direction of imports: capabilities never import the apps (edge, central, cli)."""

from __future__ import annotations

import ast
from pathlib import Path

import plantmind

ROOT = Path(plantmind.__file__).parent
APPS = ("plantmind.edge", "plantmind.central", "plantmind.cli")
CAPABILITIES = ("core", "store", "connectors", "detect", "health", "vision", "knowledge",
                "assist", "comply", "language", "llm", "sync")  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_capabilities_do_not_import_apps():
    offenders = []
    for cap in CAPABILITIES:
        for path in (ROOT / cap).rglob("*.py"):
            for name in _imports(path):
                if name.startswith(APPS):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_every_module_has_a_docstring():
    missing = [
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*.py")
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) and p.stat().st_size > 0
    ]
    assert missing == []

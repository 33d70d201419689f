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


def test_typer_lives_only_in_the_cli_package():
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "cli" not in path.relative_to(ROOT).parts[:1]
        and any(name.split(".")[0] == "typer" for name in _imports(path))
    ]
    assert offenders == []


HEAVY = ("scipy", "sklearn", "torch", "onnxruntime", "onnx", "PIL", "sentence_transformers",
         "numba", "river", "pandas")  # fmt: skip


# what a CLI module may import at module level, besides plantmind.cli itself
LIGHT = {"plantmind.core.ids", "plantmind.core.settings", "plantmind.health"}


def test_cli_modules_import_no_heavy_package_at_module_level():
    """`plantmind --help` loads every CLI module: their top-level imports stay light (a
    command imports its capability inside its function)."""
    offenders = []
    for path in (ROOT / "cli").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                light = name.startswith("plantmind.cli") or name in LIGHT
                if name.split(".")[0] in HEAVY or (name.startswith("plantmind.") and not light):
                    offenders.append(f"{path.name} imports {name}")
    assert offenders == []


def test_help_loads_no_heavy_package():
    import subprocess
    import sys

    code = (
        "import sys\nfrom plantmind.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]"

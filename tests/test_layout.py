"""The direction of imports. Capabilities never import the apps (edge, central) or the entry
points (cli, demo); the two services never import each other or an entry point; no capability
but the connectors (which own it) imports the simulator or the demo; Typer lives in cli/ only;
SQLite is opened in store/ only."""

from __future__ import annotations

import ast
from pathlib import Path

import plantmind

ROOT = Path(plantmind.__file__).parent
SERVICES = ("plantmind.edge", "plantmind.central")
ENTRY_POINTS = ("plantmind.cli", "plantmind.demo")
APPS = SERVICES + ENTRY_POINTS
DEMO_ONLY = ("plantmind.connectors.simulator", "plantmind.demo")
CAPABILITIES = ("core", "store", "connectors", "detect", "health", "vision", "knowledge",
                "assist", "comply", "language", "llm", "sync", "models")  # fmt: skip


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


def test_the_services_do_not_import_each_other_or_an_entry_point():
    offenders = []
    for service in SERVICES:
        others = tuple(a for a in APPS if a != service)
        for path in (ROOT / service.split(".")[1]).rglob("*.py"):
            for name in _imports(path):
                if name.startswith(others):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_capabilities_do_not_import_the_simulator_or_the_demo():
    offenders = []
    for cap in CAPABILITIES:
        if cap == "connectors":  # owns the simulator
            continue
        for path in (ROOT / cap).rglob("*.py"):
            for name in _imports(path):
                if name.startswith(DEMO_ONLY):
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


def test_only_the_store_opens_sqlite():
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] != "store"
        and "sqlite3.connect" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []

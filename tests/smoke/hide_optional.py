"""Run the ``plantmind`` command line as a base install sees it: every package of an install
extra (``plantmind.core.extras.EXTRAS``) fails to import, as if it were not installed
(txtai's way of testing optional dependencies). ``python hide_optional.py ARGS...``."""

from __future__ import annotations

import importlib.abc
import sys

from plantmind.core.extras import EXTRAS

HIDDEN = {name for names in EXTRAS.values() for name in names}


class _HideOptional(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, _HideOptional())

if __name__ == "__main__":
    from plantmind.cli import app

    app(prog_name="plantmind")

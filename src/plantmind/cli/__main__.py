"""``python -m plantmind.cli``: the same command line as ``plantmind``."""

from plantmind.cli import app

if __name__ == "__main__":
    app()

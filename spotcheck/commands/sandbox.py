"""``spotcheck sandbox``: the synthetic marketplace (serve it, print its ground truth).

The sandbox imports nothing of the project; its own Typer app is mounted here as it is.
"""

from sandbox.cli import app

__all__ = ["app"]

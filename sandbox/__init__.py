"""A synthetic cross-border marketplace (three platform styles) for the demo, tests and benches.

Imports nothing of the project: it stands in for the outside world. See README.md.
"""

from sandbox.runner import Sandbox
from sandbox.truth import build_truth

__all__ = ["Sandbox", "build_truth", "cli"]

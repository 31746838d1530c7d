"""The test suite's own lists name modules that exist.

``./dev test`` hands the serial modules to pytest by path: a stale name there is a usage
error that stops the serial run, and a stale name in LONGEST_FIRST silently orders nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST
from tests.serial import SERIAL_MODULES

ROOT = Path(__file__).resolve().parent.parent


def test_listed_modules_exist() -> None:
    missing = sorted(m for m in (*SERIAL_MODULES, *LONGEST_FIRST) if not (ROOT / m).is_file())
    assert not missing, f"listed test modules that do not exist: {missing}"


def test_serial_and_longest_first_do_not_overlap() -> None:
    assert not SERIAL_MODULES & set(LONGEST_FIRST)

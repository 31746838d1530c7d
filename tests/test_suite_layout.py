"""The test suite's own layout: its lists name modules that exist, and its data comes from
the one factory.

``./dev test`` hands the serial modules to pytest by path: a stale name there is a usage
error that stops the serial run, and a stale name in LONGEST_FIRST silently orders nothing.
A module that builds its own platforms, listings or plans drifts from the shared world
(issue 23 found five such builders): the check below sends their rows to ``tests/factory``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import LONGEST_FIRST
from tests.serial import SERIAL_MODULES

ROOT = Path(__file__).resolve().parent.parent


def test_listed_modules_exist() -> None:
    missing = sorted(m for m in (*SERIAL_MODULES, *LONGEST_FIRST) if not (ROOT / m).is_file())
    assert not missing, f"listed test modules that do not exist: {missing}"


def test_serial_and_longest_first_do_not_overlap() -> None:
    assert not SERIAL_MODULES & set(LONGEST_FIRST)


# --- One test-data factory (tests/factory/) -------------------------------------------------

FACTORY = ROOT / "tests" / "factory"
#: Names that say "I build test data": such a helper that writes model rows belongs in the
#: factory, whatever it builds.
BUILDER_NAMES = re.compile(r"^(make_|build_|add_|_seed|seed_|_make_|_build_|_add_)")
#: Helpers outside the factory allowed to make model rows, each with the reason.
ALLOWED: dict[tuple[str, str], str] = {
    ("tests/risk/test_matching.py", "_keys"):
        "an unsaved ForeignNotice in memory: the matcher's key extraction, no database",
}


def _model_classes() -> set[str]:
    from store import models

    return {name for name, value in vars(models).items()
            if isinstance(value, type) and hasattr(value, "__table__")}


def made_rows(source: str, classes: set[str]) -> dict[tuple[str, int], set[str]]:
    """(function name, line) -> the store.models classes the function instantiates (or bulk
    inserts with ``insert(Model)``), for every function in *source* that makes any.  Nested
    functions count on their own; a class is recognised under ``from store.models import``
    names (aliases too) and as ``m.Model`` where ``store.models`` is imported as ``m``."""
    tree = ast.parse(source)
    names: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "store.models":
            names.update({a.asname or a.name: a.name for a in node.names if a.name in classes})
        elif isinstance(node, ast.ImportFrom) and node.module == "store":
            modules.update(a.asname or a.name for a in node.names if a.name == "models")
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "store.models")

    def model_of(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return names.get(expr.id)
        if (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)
                and expr.value.id in modules and expr.attr in classes):
            return expr.attr
        return None

    found: dict[tuple[str, int], set[str]] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        made: set[str] = set()
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            cls = model_of(node.func)
            if cls is None and isinstance(node.func, ast.Name) and node.func.id == "insert" \
                    and node.args:
                cls = model_of(node.args[0])
            if cls is not None:
                made.add(cls)
        if made:
            found[(fn.name, fn.lineno)] = made
    return found


def _factory_classes(classes: set[str]) -> set[str]:
    """The classes the factory's row builders (tests/factory/rows.py) make: a helper elsewhere
    making one of them duplicates a factory builder."""
    built: set[str] = set()
    for made in made_rows((FACTORY / "rows.py").read_text("utf-8"), classes).values():
        built |= made
    return built


def duplicate_builders(path: str, source: str, classes: set[str],
                       factory_classes: set[str]) -> list[str]:
    """Helpers of one test module that build model rows the factory's job: any helper making
    a row the factory's builders make, and any helper named as a builder making any row.
    Test functions themselves may make rows inline (that is what a model's test does)."""
    out = []
    for (name, line), made in sorted(made_rows(source, classes).items()):
        if name.startswith("test_") or (path, name) in ALLOWED:
            continue
        dup = made & factory_classes
        if dup or BUILDER_NAMES.match(name):
            out.append(f"{path}:{line} {name}() makes {sorted(dup or made)}")
    return out


def test_no_test_module_keeps_its_own_data_builder() -> None:
    classes = _model_classes()
    factory_classes = _factory_classes(classes)
    assert {"Platform", "Seller", "Listing", "Campaign", "Plan", "User"} <= factory_classes
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if FACTORY in path.parents:
            continue
        rel = path.relative_to(ROOT).as_posix()
        found += duplicate_builders(rel, path.read_text("utf-8"), classes, factory_classes)
    assert not found, ("build these rows with tests/factory (or allow-list the helper in "
                       "tests/test_suite_layout.py with the reason):\n" + "\n".join(found))


def test_allow_list_names_helpers_that_exist() -> None:
    classes = _model_classes()
    stale = [key for key in ALLOWED
             if key[1] not in {name for name, _ in
                               made_rows((ROOT / key[0]).read_text("utf-8"), classes)}]
    assert not stale, f"allow-listed helpers that no longer make rows: {stale}"


def test_the_builder_check_sees_the_ways_rows_are_made() -> None:
    """The check itself, on made-up modules: what it must flag and what it must let pass."""
    classes = _model_classes()
    factory_classes = _factory_classes(classes)
    flagged = '''
from sqlalchemy import insert
from store import models as m
from store.models import Listing as L, Measure, Platform

def _shop(s):
    s.add(Platform(code="x", name="x"))

def make_measure(s):
    s.add(Measure(case_id=1, kind="takedown", by="ian"))

def bulk(s, rows):
    s.execute(insert(L), rows)

def mall(s):
    return m.Seller(platform_id=1, external_id="s", name="n")

def test_outer(s):
    def inner():
        return Platform(code="y", name="y")
    inner()
'''
    found = duplicate_builders("t.py", flagged, classes, factory_classes)
    assert sorted(f.split()[1] for f in found) == ["_shop()", "bulk()", "inner()",
                                                   "make_measure()", "mall()"]
    passed = '''
from store.models import Measure, Platform

def test_platform_round_trip(s):
    s.add(Platform(code="x", name="x"))

def _takedown(s):
    s.add(Measure(case_id=1, kind="takedown", by="ian"))

def helper(s):
    return s.get(Platform, 1)
'''
    assert duplicate_builders("t.py", passed, classes, factory_classes) == []

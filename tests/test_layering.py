"""The import graph of the project: no cycles, and every import follows the layering.

Layering (docs/design.md): ``store`` imports no sibling; ``crawlers``, ``sampler`` and
``evidence`` import only ``store``; ``scheduler`` composes them; ``spotcheck`` (CLI, console)
sits on top; ``sandbox`` imports nothing of the project.  The graph is read with ``ast`` from
the source (imports inside functions count too: a lazy import is still a dependency), so a new
cycle or a layer breach fails here before anyone meets it as an ImportError.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("store", "crawlers", "sampler", "evidence", "scheduler", "spotcheck", "sandbox")
#: Which top-level packages each package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "store": set(),
    "crawlers": {"store"},
    "sampler": {"store"},
    "evidence": {"store"},
    "scheduler": {"store", "crawlers", "sampler", "evidence"},
    "spotcheck": {"store", "crawlers", "sampler", "evidence", "scheduler", "sandbox"},
    "sandbox": set(),
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic scripts are loaded by path, not imported
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # ``from pkg import sub`` imports the submodule when there is one.
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                           for a in node.names]
            for target in targets:
                resolved = resolve(target)
                if resolved and resolved != module:
                    graph[module].add(resolved)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100
    assert cycles(graph) == []


def test_imports_follow_the_layering() -> None:
    breaches = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if (top := target.split(".")[0]) != (own := module.split(".")[0])
        and top not in ALLOWED[own])
    assert breaches == []


def _packages() -> list[str]:
    """Every package of the project, subpackages too (``crawlers.extract``)."""
    return sorted(m for m, path in _modules().items() if path.name == "__init__.py")


def test_each_package_states_its_public_api() -> None:
    import importlib
    import importlib.util

    packages = _packages()
    assert {"store", "crawlers.extract", "spotcheck.web.routes"} <= set(packages)
    for package in packages:
        module = importlib.import_module(package)
        names = getattr(module, "__all__", None)
        assert names, f"{package}/__init__.py has no __all__"
        for name in names:
            assert hasattr(module, name) or importlib.util.find_spec(f"{package}.{name}"), \
                f"{package}.__all__ names {name!r}, which is neither defined nor a module"


def public_api_breaches(packages: dict[str, set[str]],
                        imports: dict[str, set[str]]) -> list[str]:
    """Imports (``module`` → dotted names it imports, ``pkg.name`` for ``from pkg import
    name``) that reach a name of a package the package's ``__all__`` does not state, from a
    module outside that package."""
    found = []
    for module, targets in imports.items():
        for target in sorted(targets):
            parts = target.split(".")
            for i in range(1, len(parts)):
                package = ".".join(parts[:i])
                if package not in packages:
                    break
                if module == package or module.startswith(package + "."):
                    continue  # inside the package: its own modules are its business
                if parts[i] not in packages[package]:
                    found.append(f"{module} imports {package}.{parts[i]}")
                    break
    return sorted(set(found))


def _imported_names() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, path in _modules().items():
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.update(f"{node.module}.{a.name}" for a in node.names)
        out[module] = names
    return out


def test_breach_finder_finds_a_name_outside_all() -> None:
    packages = {"a": {"pub"}, "a.sub": {"x"}}
    imports = {"b": {"a.pub.f", "a.hidden", "a.sub.x"}, "a.inner": {"a.hidden"},
               "c": {"a.sub.y.z"}}
    assert public_api_breaches(packages, imports) == [
        "b imports a.hidden", "b imports a.sub", "c imports a.sub"]


def test_callers_outside_a_package_import_only_its_public_api() -> None:
    """Code of the project reaches into another package only through the names that
    package's ``__init__`` states in ``__all__`` (a subpackage likewise for the rest of its
    own package).  Tests and benchmarks may reach further in: they check the inside."""
    import importlib

    packages = {p: set(importlib.import_module(p).__all__) for p in _packages()}
    assert public_api_breaches(packages, _imported_names()) == []

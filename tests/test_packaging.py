"""The installed wheel carries every file the packages read at run time.

Templates, translations, profiles, migrations and static files are loaded through their
package, so a wheel that lacks one renders nothing or fails to migrate. The test builds the
wheel from a copy of the tree (the build leaves ``build/`` and ``*.egg-info`` behind), checks
that every non-Python file of every package is in it, and loads a template of each package
from the unpacked wheel alone (not from the checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("spotcheck", "store", "crawlers", "sampler", "scheduler", "evidence", "sandbox")
NOT_SHIPPED = {".py", ".pyc", ".md"}  # .py ship as modules; READMEs are for the repository

RENDER = """
from store.templating import environment
import store.templating, sys
assert store.templating.__file__.startswith(sys.argv[1]), store.templating.__file__
for package, name in [("spotcheck.web", "console/login.html"), ("sampler", "plan_report.html"),
                      ("evidence", "evidence_report.html"),
                      ("scheduler", "report_half_year.html")]:
    env = environment(package)
    source, filename, _ = env.loader.get_source(env, name)
    assert filename.startswith(sys.argv[1]), filename
    assert "<" in source
print("ok")
"""


def _data_files() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if (path.is_file() and path.suffix not in NOT_SHIPPED
                    and "__pycache__" not in path.parts):
                found.add(path.relative_to(ROOT).as_posix())
    return found


@pytest.mark.slow
def test_wheel_ships_templates_and_data(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q",
                    "-w", str(tmp_path / "dist")], cwd=src, check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("spotcheck-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    wanted = _data_files()
    assert any("/templates/" in name for name in wanted)
    missing = sorted(wanted - names)
    assert not missing, f"not in the wheel: {missing}"
    assert not [n for n in names if n.startswith("templates/")], "templates outside packages"

    site = str(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": site}
    done = subprocess.run([sys.executable, "-c", RENDER, site], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"

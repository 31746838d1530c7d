"""Chinese glyphs in the PDFs store.printing makes for reports and evidence packs (see
test_cjk_rendering.py for why 一 against 龍 tells glyphs from empty boxes).  A module of its
own: Playwright's sync API cannot start while another module's browser fixture runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from store.printing import PrintJob, print_pdfs
from store.settings import Settings
from tests.conftest import need
from tests.store.test_cjk_rendering import PAGE, ink

pytestmark = pytest.mark.browser


def test_chinese_glyphs_in_a_printed_pdf(tmp_path: Path, settings: Settings,
                                        chromium_path: str | None) -> None:
    need(shutil.which("pdftoppm") is not None,
         "pdftoppm is not installed (apt-get install poppler-utils; ./dev setup does)")
    cfg = settings.model_copy(update={"browser": chromium_path or ""})
    pdfs = []
    for name, char in (("one", "一"), ("dragon", "龍")):
        html = PAGE.replace('<div id="a">一</div><div id="b">龍</div>', f"<div>{char}</div>")
        pdfs.append(PrintJob(html, tmp_path / f"{name}.pdf"))
    print_pdfs(pdfs, cfg)
    drawn = []
    for job in pdfs:
        subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", str(job.pdf),
                        str(job.pdf.with_suffix(""))], check=True)
        [png] = job.pdf.parent.glob(f"{job.pdf.stem}*.png")
        drawn.append(ink(Image.open(png)))
    assert drawn[0] > 0 and drawn[1] > 3 * drawn[0], drawn

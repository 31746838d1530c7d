"""Invisible format characters never reach stored or matched text."""

from __future__ import annotations

from crawlers.normalise import clean_text
from sampler.risk.importers.base import clip
from sampler.risk.normalise import fold
from store.text import has_format, strip_format

RLO, PDF_ = "\u202e", "\u202c"


def test_override_cannot_disguise_a_file_name() -> None:
    hostile = f"invoice{RLO}gnp.exe"
    assert has_format(hostile)
    assert strip_format(hostile) == "invoicegnp.exe"
    assert clean_text(hostile) == "invoicegnp.exe"
    assert clip(f"  {hostile} ", 100) == "invoicegnp.exe"


def test_matching_sees_what_a_person_sees() -> None:
    # "Brand" written backwards under an override reads "Brand" on screen: once cleaned,
    # screen and matching both see the characters as stored.
    backwards = f"{RLO}dnarB{PDF_}"
    assert clean_text(backwards) == "dnarB"
    assert fold(backwards) == "dnarb"
    assert fold("Br\u200band") == "brand"  # a zero-width space cannot split a brand


def test_joiners_that_scripts_need_stay() -> None:
    emoji = "👩\u200d🔬 lab"
    assert strip_format(emoji) == emoji
    assert clean_text("می\u200cخواهم") == "می\u200cخواهم"

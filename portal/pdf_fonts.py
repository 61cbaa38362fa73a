"""Fonts for the PDFs the portal prints, carried by the project (never a system copy).

``japanese()`` registers IPAexGothic (``portal/static/fonts/ipaexg.ttf``, IPA Font
License v1.0, licence text beside it) with ReportLab as a TrueType font and returns
its name. ReportLab embeds TrueType fonts as *subsets* (only the glyphs used, a
``/FontFile2`` stream in the PDF), so a letter prints the same on any printer and
viewer, which the built-in CID fonts (not embedded) do not promise. The font draws
Latin text too, so one font serves letters in every language.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).resolve().parent / "static" / "fonts"
JAPANESE = "IPAexGothic"
JAPANESE_FILE = FONT_DIR / "ipaexg.ttf"


def japanese() -> str:
    """The name of the embedded Japanese font, registered once per process."""
    if JAPANESE not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(JAPANESE, str(JAPANESE_FILE)))
    return JAPANESE

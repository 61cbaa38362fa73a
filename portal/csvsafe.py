"""Writing CSV that a spreadsheet opens as data, never as formulas.

Every CSV the portal writes (exports, the resident's data download, import reports)
goes through ``writer``: a cell that starts like a formula (``=``, ``+``, ``-``,
``@``, a tab or carriage return, or their full-width forms, which spreadsheets
with a Japanese input method read the same way) is written with a leading
apostrophe, so it shows as text (OWASP: CSV injection). Numbers stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """``value``, with an apostrophe in front when a spreadsheet would run it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, out, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out, **options: Any) -> SafeWriter:
    return SafeWriter(out, **options)

"""A page of rows with the attributes the pagination macro reads, for lists that
count and fetch their rows themselves (``db.paginate`` gives scalars only)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class RowPage:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

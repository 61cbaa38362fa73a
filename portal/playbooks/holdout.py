"""The holdout: a stable, hash-chosen share of the residents who meet a playbook's
trigger get no outreach, as the comparison group of the uplift.

``bucket(playbook_id, resident_id)`` is 0–99 and the same in Python and in SQL on
SQLite and PostgreSQL (``bucket_sql``): two rounds of a 31-bit linear congruential
mix, taking the high bits — plain integer arithmetic both databases do alike (no
overflow: every product stays below 2**62). A resident is held out of a playbook
when their bucket is below its ``holdout_percent``; the same resident is held out
of a playbook every time, and of different playbooks independently.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, cast, literal
from sqlalchemy.sql import ColumnElement

_M = 2147483648  # 2**31
_A = 1103515245
_C = 12345
_SALT = 1640531527  # 2**32 / golden ratio, minus 2**31


def bucket(playbook_id: int, resident_id: int) -> int:
    h = (resident_id * _A + playbook_id * 40503 + _SALT) % _M
    h = (h * _A + _C) % _M
    return (h // 65536) % 100


def bucket_sql(playbook_id, resident_id) -> ColumnElement[int]:
    """The same as ``bucket`` as a SQL expression over two integer expressions."""
    r = cast(resident_id, BigInteger)
    p = cast(playbook_id, BigInteger) if not isinstance(playbook_id, int) else literal(
        playbook_id, BigInteger)
    h = (r * _A + p * 40503 + _SALT) % _M
    h = (h * _A + _C) % _M
    # integer division on both databases: FLOOR of a non-negative integer quotient
    return ((h - h % 65536) / 65536) % 100


def held_out(playbook_id: int, resident_id: int, percent: int) -> bool:
    return bucket(playbook_id, resident_id) < percent

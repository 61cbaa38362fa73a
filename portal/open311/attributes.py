"""A service's Open311 attributes: the values a POST carries as ``attribute[code]``
(``attribute[code][]`` for each value of a multivaluelist) checked against the
service's ``ServiceAttribute`` rows, and the list values staff type in the console
(one per line: ``key | 日本語の名前 | English name``)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from portal.inquiries.models import AttributeDatatype, ServiceAttribute

LIST_TYPES = (AttributeDatatype.SINGLEVALUELIST, AttributeDatatype.MULTIVALUELIST)
STRING_MAX = 1000
TEXT_MAX = 4000
KEY_MAX = 60
NAME_MAX = 120
CODE_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
_PARAM = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def raw_values(form: Any) -> dict[str, list[str]]:
    """``{code: [value, …]}`` from the form's ``attribute[code]`` and
    ``attribute[code][]`` fields (empty values dropped: an empty optional argument
    is the same as none)."""
    found: dict[str, list[str]] = {}
    for name in form:
        match = _PARAM.match(name)
        if match is None:
            continue
        values = [v.strip() for v in form.getlist(name) if v and v.strip()]
        if values:
            found.setdefault(match.group(1), []).extend(values)
    return found


def _number(value: str) -> int | float | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value() and abs(number) < 10**15:
        return int(number)
    result = float(number)
    return result if math.isfinite(result) else None


def parse_w3_datetime(value: str) -> datetime | None:
    """A w3 date-time with its time zone (``2010-01-01T00:00:00Z``,
    ``2010-01-01T09:00+09:00``), else None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})",
                        value or ""):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def validate(definition: Sequence[ServiceAttribute], raw: Mapping[str, list[str]]
             ) -> tuple[dict[str, Any], list[str]]:
    """``(values to store, error messages)``: every required attribute present,
    every value of the right type and, for lists, one of the defined keys. Codes
    the service does not define are refused rather than silently dropped."""
    by_code = {a.code: a for a in definition if a.variable}
    errors: list[str] = []
    values: dict[str, Any] = {}
    for code in raw:
        if code not in by_code:
            errors.append(_("The service has no attribute “%(code)s”.", code=code))
    for attribute in sorted(by_code.values(), key=lambda a: (a.position, a.code)):
        given = raw.get(attribute.code, [])
        code = attribute.code
        if not given:
            if attribute.required:
                errors.append(_("The attribute “%(code)s” is required.", code=code))
            continue
        datatype = attribute.datatype
        if datatype != AttributeDatatype.MULTIVALUELIST and len(given) > 1:
            errors.append(_("The attribute “%(code)s” takes one value.", code=code))
            continue
        value = given[0]
        if datatype in LIST_TYPES:
            keys = [str(v.get("key")) for v in attribute.values or []]
            unknown = [v for v in given if v not in keys]
            if unknown:
                errors.append(_("“%(value)s” is not one of the values of the attribute "
                                "“%(code)s” (%(keys)s).", value=unknown[0], code=code,
                                keys=", ".join(keys)))
                continue
            values[code] = (list(dict.fromkeys(given))
                            if datatype == AttributeDatatype.MULTIVALUELIST else value)
        elif datatype == AttributeDatatype.NUMBER:
            number = _number(value)
            if number is None:
                errors.append(_("The attribute “%(code)s” must be a number.", code=code))
                continue
            values[code] = number
        elif datatype == AttributeDatatype.DATETIME:
            parsed = parse_w3_datetime(value)
            if parsed is None:
                errors.append(_("The attribute “%(code)s” must be a date and time with its "
                                "time zone, e.g. 2026-12-04T09:30:00+09:00.", code=code))
                continue
            values[code] = parsed.isoformat()
        elif datatype == AttributeDatatype.STRING:
            if "\n" in value or "\r" in value:
                errors.append(_("The attribute “%(code)s” must be a single line.", code=code))
                continue
            if len(value) > STRING_MAX:
                errors.append(_("The attribute “%(code)s” can be at most %(n)d characters.",
                                code=code, n=STRING_MAX))
                continue
            values[code] = value
        else:  # text
            if len(value) > TEXT_MAX:
                errors.append(_("The attribute “%(code)s” can be at most %(n)d characters.",
                                code=code, n=TEXT_MAX))
                continue
            values[code] = value
    return values, errors


# -- the console's list values --------------------------------------------------------

def parse_values(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """Lines ``key | 名前 | name`` → ``([{"key", "name_ja", "name_en"}], errors)``."""
    values: list[dict[str, str]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 3:
            errors.append(_("Line %(n)d: write the key, the Japanese name and the English "
                            "name, separated by “|”.", n=number))
            continue
        key, name_ja, name_en = [*parts, "", ""][:3]
        if not key or not CODE_PATTERN.match(key) or len(key) > KEY_MAX:
            errors.append(_("Line %(n)d: the key must be letters, digits, dots, hyphens or "
                            "underscores (at most %(max)d).", n=number, max=KEY_MAX))
            continue
        if key in seen:
            errors.append(_("Line %(n)d: the key “%(key)s” is there twice.", n=number, key=key))
            continue
        if not (name_ja or name_en):
            errors.append(_("Line %(n)d: give the value a name.", n=number))
            continue
        if len(name_ja) > NAME_MAX or len(name_en) > NAME_MAX:
            errors.append(_("Line %(n)d: a name can be at most %(max)d characters.", n=number,
                            max=NAME_MAX))
            continue
        seen.add(key)
        values.append({"key": key, "name_ja": name_ja, "name_en": name_en})
    return values, errors


def format_values(values: Iterable[Mapping[str, str]] | None) -> str:
    return "\n".join(" | ".join([v.get("key", ""), v.get("name_ja", ""), v.get("name_en", "")])
                     for v in values or [])


def value_name(value: Mapping[str, str], locale: str, default: str) -> str:
    """A list value's name in ``locale``, else in the default language, else any."""
    for loc in (locale, default, "ja", "en"):
        if value.get(f"name_{loc}"):
            return value[f"name_{loc}"]
    return str(value.get("key", ""))

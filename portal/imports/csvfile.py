"""Reading import files: encodings, the header, rows, and the problems found.

A problem is stored as ``{"row", "column", "code", "params", "reason"}``: ``reason``
is English (the command line, logs); ``describe()`` renders it in the reader's
language from ``code`` and ``params``. Row numbers are line numbers (a value never
runs over lines): the header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal import csvsafe

#: ``--encoding`` choices → the Python codecs tried, in order.
ENCODINGS: dict[str, tuple[str, ...]] = {
    "auto": ("utf-8-sig", "cp932"),
    "utf-8": ("utf-8-sig",),
    "cp932": ("cp932",),
}
ENCODING_LABELS = {"utf-8-sig": "UTF-8", "cp932": "Shift_JIS (CP932)"}

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})

REASONS = {
    # row problems
    "required": _l("a value is required"),
    "too_long": _l("longer than %(max)s characters"),
    "extra_values": _l("the row has %(found)s values but the header has %(expected)s columns"),
    "bad_datetime": _l("not a valid date and time: %(value)s (use ISO 8601, e.g. "
                       "2026-04-01 09:30)"),
    "future": _l("the time is in the future: %(value)s"),
    "unknown_channel": _l("unknown channel %(value)s; use one of %(choices)s"),
    "unknown_service": _l("unknown service %(value)s (use a service slug or an Open311 "
                          "service code)"),
    "unknown_resident": _l("no resident with the external id %(value)s"),
    "resident_deleted": _l("resident record was deleted at the resident's request"),
    "duplicate_key": _l("%(value)s appears already in row %(first)s"),
    "bad_birth_year": _l("not a birth year: %(value)s (4 digits from 1900 to %(max)s)"),
    "bad_email": _l("not a valid e-mail address: %(value)s"),
    "bad_postal_code": _l("not a postal code: %(value)s (7 digits, e.g. 123-4567; 〒 and "
                          "full-width digits are fine)"),
    "unknown_event": _l("unknown life event %(value)s; use one of %(choices)s"),
    "bad_date": _l("not a valid date: %(value)s (use YYYY-MM-DD, e.g. 2026-04-01)"),
    "future_date": _l("the date is in the future: %(value)s"),
    "unknown_district": _l("unknown district %(value)s; use one of %(choices)s"),
    "bad_boolean": _l("not a yes/no value: %(value)s (use true/false, 1/0 or yes/no)"),
    "bad_locale": _l("unknown language %(value)s; use ja or en"),
    "date_range": _l("the date %(value)s is out of range (use a year from %(min)s to "
                     "%(max)s)"),
    "nul": _l("contains a NUL character, which is not allowed in a value"),
    "quote_unclosed": _l("a quoted value starts in this row and is never closed (a value "
                         "cannot run over several lines; the lines after this row are read "
                         "as rows of their own)"),
    "quote_spans": _l("a quoted value starts in this row and ends only in row %(last)s (a "
                      "value cannot run over several lines; the lines after this row are "
                      "read as rows of their own)"),
    # file problems (row 1 or the row where reading stopped)
    "empty": _l("the file is empty"),
    "no_rows": _l("the file has a header but no rows"),
    "encoding": _l("the file is not readable as %(encodings)s; save it as UTF-8 or "
                   "Shift_JIS (CP932)"),
    "not_csv": _l("the file cannot be read as CSV: %(detail)s"),
    "header_missing": _l("missing required columns: %(columns)s"),
    "header_unknown": _l("unknown columns: %(columns)s"),
    "header_duplicated": _l("columns given more than once: %(columns)s"),
    "lines_disagree": _l("the file has %(lines)s data lines but %(rows)s rows were read; "
                         "nothing is imported"),
}
HEADER_PARTS = ("missing", "unknown", "duplicated")  # REASONS["header_" + part]


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False


class FileProblem(Exception):
    """The whole file is unusable (encoding, header, not CSV)."""

    def __init__(self, code: str, row: int = 1, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.row = row
        self.params = params


@dataclass
class Result:
    """What checking (and possibly applying) one file found and did."""

    kind: str
    filename: str
    encoding: str | None = None
    total_rows: int = 0
    good_rows: int = 0
    bad_rows: int = 0
    blank_rows: int = 0
    file_error: bool = False
    applied: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {
        "created": 0, "updated": 0, "duplicates": 0, "skipped": 0})
    # (row, column, code, params) while checking; see ``problem_dicts``
    problems: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """True when nothing may be written (without skipping bad rows, or at all)."""
        return self.file_error or not self.good_rows

    def stops(self, skip_bad: bool) -> bool:
        return self.blocked or (self.bad_rows > 0 and not skip_bad)

    def problem_dicts(self) -> list[dict[str, Any]]:
        """Every problem in row order, with an English ``reason``."""
        self.problems.sort(key=lambda p: p[0])
        with force_locale("en"):
            return [{"row": row, "column": column, "code": code, "params": params,
                     "reason": _render(code, params)}
                    for row, column, code, params in self.problems]


def _render(code: str, params: dict[str, Any]) -> str:
    if code == "header":
        return "; ".join(str(REASONS[f"header_{part}"]) % {"columns": params[part]}
                         for part in HEADER_PARTS if params.get(part))
    message = REASONS.get(code)
    if message is None:
        return code
    return str(message) % params if params else str(message)


def describe(problem: dict[str, Any]) -> str:
    """A stored problem in the current language."""
    code = problem.get("code")
    if code and (code in REASONS or code == "header"):
        try:
            return _render(code, problem.get("params") or {})
        except (KeyError, TypeError, ValueError):
            pass
    return problem.get("reason") or ""


def choose_codec(content: bytes, encoding: str) -> str:
    """The first codec that decodes the whole file, or a file problem naming those tried."""
    tried = ENCODINGS[encoding]
    for codec in tried:
        try:
            content.decode(codec)
        except UnicodeDecodeError:
            continue
        return codec
    raise FileProblem("encoding", encodings=" / ".join(ENCODING_LABELS[c] for c in tried))


class Records:
    """CSV records of a decoded file, one per line; ``number`` is the row number of the
    last one read (the header is row 1).

    A value never runs over lines: a quoted value that does (a stray opening quote
    would otherwise swallow the rows after it, or the rest of the file) makes the row
    where it opened bad, and the lines after that row are read as rows of their own.
    Such a row is yielded as ``None`` and its problem added to ``problems``.

    A line the csv module cannot read at all ends the iteration quietly (so that a COPY
    in progress finishes cleanly); ``check()`` then raises it as a file problem.
    """

    def __init__(self, content: bytes, codec: str,
                 problems: list[tuple[int, str, str, dict[str, Any]]] | None = None) -> None:
        # split as the csv module does with newline="": at \r\n, \n or \r
        text = content.decode(codec)
        self._lines = io.StringIO(text, newline="").readlines()
        self.lines = len(self._lines)
        #: any NUL character in the file (then the importers look for it value by value)
        self.has_nul = "\x00" in text
        self.number = 0
        self.error: FileProblem | None = None
        self.problems = problems if problems is not None else []

    def __iter__(self) -> Iterator[list[str] | None]:
        lines = self._lines
        count = len(lines)
        problems = self.problems
        while self.number < count:
            # (re)start after the last line read: after the header, or after a row
            # whose quoted value ran over lines
            base = self.number
            reader = csv.reader(map(lines.__getitem__, range(base, count)))
            try:
                for row in reader:
                    end = base + reader.line_num  # lines [number, end) made this record
                    if end == self.number + 1 and end != count:
                        self.number = end
                        yield row
                        continue
                    start = self.number
                    self.number = start + 1
                    if not _quote_left_open(lines[start:end]):
                        if end == start + 1:  # the last line, complete
                            yield row
                            continue
                        problems.append((self.number, "", "quote_spans", {"last": end}))
                    else:
                        problems.append((self.number, "", "quote_unclosed", {}))
                    yield None
                    break  # read the lines after this row again, as rows of their own
            except csv.Error as error:
                start = self.number
                if base + reader.line_num - start <= 1:
                    self.error = FileProblem("not_csv", row=start + 1, detail=str(error))
                    return
                # e.g. a stray quote swallowed more than a value may hold
                self.number = start + 1
                problems.append((self.number, "", "quote_unclosed", {}))
                yield None

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def check_count(self, result: Result) -> None:
        """Every data line must be a row (or a blank line) of ``result``; otherwise
        rows were lost between reading and checking, and the file is refused."""
        lines = max(self.lines - 1, 0)
        rows = result.total_rows + result.blank_rows
        if rows != lines:
            raise FileProblem("lines_disagree", lines=lines, rows=rows)


def _quote_left_open(lines: list[str]) -> bool:
    """Whether a record made of ``lines`` ends inside a quoted value (the csv module
    then reads one more line into it when there is one: give it an empty one)."""
    reader = csv.reader([*lines, ""])
    try:
        next(reader)
    except csv.Error:
        return True
    return reader.line_num > len(lines)


def nul_problems(row_no: int, row: list[str], positions: dict[str, int]
                 ) -> list[tuple[int, str, str, dict[str, Any]]]:
    """A problem for each value of ``row`` holding a NUL character (no database
    stores it in text, and the API refuses it too)."""
    return [(row_no, name, "nul", {}) for name, index in positions.items()
            if index < len(row) and "\x00" in row[index]]


def numbered(records: Iterable[list[str] | None], progress: Callable[[int], Any] | None,
             every: int) -> Iterator[tuple[int, list[str] | None]]:
    """Data rows with their row number in the file (the header is row 1), telling
    ``progress`` how many rows were read every ``every`` rows and at the end."""
    tick = 0
    for row_no, row in enumerate(records, start=2):
        yield row_no, row
        if progress is not None:
            tick += 1
            if tick == every:
                progress(tick)
                tick = 0
    if progress is not None and tick:
        progress(tick)


def read_header(records: Iterable[list[str] | None], columns: Sequence[Column]
                ) -> dict[str, int]:
    """Column name → position; one file problem naming every missing, unknown or
    repeated column. Names are matched without case and surrounding spaces."""
    header = next(iter(records), None)
    if header is None and getattr(records, "problems", None):
        row, _column, code, params = records.problems.pop()
        raise FileProblem(code, row=row, **params)
    if not header or not any(name.strip() for name in header):
        raise FileProblem("empty")
    known = {c.name for c in columns}
    positions: dict[str, int] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for index, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff").lower()
        if not name and index == len(header) - 1:
            continue  # a trailing comma
        if name not in known:
            unknown.append(raw.strip() or f"#{index + 1}")
        elif name in positions:
            duplicated.append(name)
        else:
            positions[name] = index
    missing = [c.name for c in columns if c.required and c.name not in positions]
    if missing or unknown or duplicated:
        raise FileProblem("header", missing=", ".join(missing), unknown=", ".join(unknown),
                          duplicated=", ".join(duplicated))
    return positions


def guess_kind(content: bytes, kinds: dict[str, Sequence[Column]]) -> str | None:
    """The kind whose header the file's first line matches (None when none does).
    Column names are ASCII, so the encoding of the rest does not matter here."""
    text = content[:8192].decode("utf-8-sig", errors="replace")
    first = next(csv.reader(io.StringIO(text.splitlines()[0] if text else "")), [])
    names = {n.strip().lower() for n in first} - {""}
    for kind, columns in kinds.items():
        required = {c.name for c in columns if c.required}
        if required <= names and names <= {c.name for c in columns}:
            return kind
    return None


def parse_bool(value: str) -> bool | None:
    """True/False, or None when ``value`` is not a yes/no word."""
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def problems_csv(problems: list[dict[str, Any]], translate: bool = True) -> str:
    """The problems as CSV text: row, column, reason (in the current language, or the
    stored English with ``translate=False``)."""
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "column", "reason"])
    for problem in problems:
        writer.writerow([problem["row"], problem["column"],
                         describe(problem) if translate else problem["reason"]])
    return out.getvalue()


def mark_preview(result: Result) -> None:
    """Mark the preview's rows that have a problem (the problems found after the
    preview was taken included)."""
    if not result.preview:
        return
    last = result.preview[-1]["row"]
    bad = {p[0] for p in result.problems if p[0] <= last}
    for entry in result.preview:
        entry["ok"] = entry["row"] not in bad


CHUNK = 900  # keys per IN (…) query


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

"""The day's letters: one PDF per ``LetterBatch`` for printing, and "printed".

The PDF (ReportLab, A4) starts with a list of the batch's letters (number,
resident, department) for whoever puts them in envelopes, then one letter per page
(a long one continues on the next): the resident's postal address in the Japanese
layout at the top left where a window envelope shows it (〒123-4567, the address,
then the name with 様), the date, the municipality's letterhead (name, department,
telephone) at the right, the subject and the body — in the message's language.
The Japanese font is embedded as a subset (``portal.pdf_fonts``), so the letters
print the same anywhere.

A letter counts as sent when staff mark its batch printed (``mark_printed``): the
batch's queued letters become sent with that time, and survey invitations sent by
letter get their ``sent_at``. Marking a printed batch again changes nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from portal.audit.recording import record
from portal.extensions import db
from portal.i18n import municipality_name
from portal.i18n_fields import localized
from portal.outreach.models import (
    LetterBatch,
    MessageChannel,
    MessageStatus,
    OutreachMessage,
    SuppressionReason,
)
from portal.pdf_fonts import japanese
from portal.residents.models import Resident
from portal.residents.naming import addressed, resident_name
from portal.services.models import Department
from portal.surveys.models import Invitation
from portal.timeutil import utcnow

WIDTH, HEIGHT = A4
MARGIN = 20 * mm
LIST_ROWS = 32  # rows of the list per page
GREY = HexColor("#555555")
#: closing punctuation that may hang at the end of a line rather than start the next
HANGING = "、。，．,.)）」』】〕!?！？ー"


@dataclass(frozen=True)
class Letter:
    number: int
    message: OutreachMessage
    department: Department | None


def letters_of(batch: LetterBatch) -> list[Letter]:
    """The batch's letters to print (not suppressed, resident not erased), in order
    (two queries, whatever the number)."""
    messages = db.session.scalars(
        select(OutreachMessage).options(joinedload(OutreachMessage.resident))
        .where(OutreachMessage.letter_batch_id == batch.id,
               OutreachMessage.channel == MessageChannel.LETTER,
               OutreachMessage.status != MessageStatus.SUPPRESSED)
        .order_by(OutreachMessage.id)).all()
    messages = [m for m in messages if withdrawn(m.resident) is None]
    ids = {m.department_id for m in messages if m.department_id}
    departments = {d.id: d for d in db.session.scalars(
        select(Department).where(Department.id.in_(ids)))} if ids else {}
    return [Letter(n, m, departments.get(m.department_id)) for n, m in enumerate(messages, 1)]


def withdrawn(resident: Resident) -> str | None:
    """Why a letter queued for ``resident`` may no longer go out: erased, outreach
    consent withdrawn or do-not-contact asked for since it was written (a batch can
    wait days for printing; the guards hold until the letter leaves)."""
    if resident.anonymised_at is not None:
        return SuppressionReason.ANONYMISED
    if not resident.consent_outreach:
        return SuppressionReason.NO_CONSENT
    if resident.do_not_contact:
        return SuppressionReason.DO_NOT_CONTACT
    return None


def _withdrawn_reasons():
    """(SuppressionReason, condition on ``residents``) in the guards' order."""
    r = Resident
    return ((SuppressionReason.ANONYMISED, r.anonymised_at.is_not(None)),
            (SuppressionReason.NO_CONSENT, r.consent_outreach.is_not(True)),
            (SuppressionReason.DO_NOT_CONTACT, r.do_not_contact.is_(True)))


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` in lines no wider than ``width``: Japanese breaks between any two
    characters (closing punctuation hangs), Latin words at spaces."""
    lines: list[str] = []
    for paragraph in (text or "").replace("\r\n", "\n").split("\n"):
        line = ""
        for ch in paragraph:
            if not line or ch in HANGING or stringWidth(line + ch, font, size) <= width:
                line += ch
                continue
            cut = line.rfind(" ")
            tail = line[cut + 1:]
            digits = len(line) - len(line.rstrip("0123456789０１２３４５６７８９"))
            if ch != " " and cut > 0 and tail.isascii() and tail.strip():
                lines.append(line[:cut])
                line = tail + ch
            elif ch.isdigit() and 0 < digits < len(line):  # keep a number whole
                lines.append(line[:-digits])
                line = line[-digits:] + ch
            else:
                lines.append(line.rstrip())
                line = "" if ch == " " else ch
        lines.append(line)
    return lines


class _Writer:
    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.font = japanese()
        self.canvas = Canvas(self.buffer, pagesize=A4, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setAuthor(title)

    def text(self, x: float, y: float, value: str, size: float = 10.5, *, right=False,
             colour=None) -> None:
        c = self.canvas
        c.setFont(self.font, size)
        c.setFillColor(colour or HexColor("#000000"))
        (c.drawRightString if right else c.drawString)(x, y, value)

    def finish(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


def _list_pages(w: _Writer, batch: LetterBatch, letters: list[Letter]) -> None:
    """The first page(s): what the batch holds."""
    pages = max(1, -(-len(letters) // LIST_ROWS))
    day = format_date(batch.day, "long")
    for page in range(pages):
        y = HEIGHT - MARGIN
        w.text(MARGIN, y, _("Letters to print: %(day)s", day=day), 16)
        y -= 8 * mm
        w.text(MARGIN, y, ngettext("%(num)s letter, on the page after this list.",
                                   "%(num)s letters, one per page after this list.",
                                   len(letters))
               + (f"  ({page + 1}/{pages})" if pages > 1 else ""), 10, colour=GREY)
        y -= 10 * mm
        columns = (MARGIN, MARGIN + 14 * mm, MARGIN + 95 * mm)
        for x, head in zip(columns, (_("No."), _("Resident"), _("Department")), strict=True):
            w.text(x, y, head, 10, colour=GREY)
        w.canvas.setStrokeColor(GREY)
        w.canvas.line(MARGIN, y - 2 * mm, WIDTH - MARGIN, y - 2 * mm)
        y -= 8 * mm
        for letter in letters[page * LIST_ROWS:(page + 1) * LIST_ROWS]:
            resident = letter.message.resident
            who = resident_name(resident, "ja") or "—"
            if resident.external_id:
                who += f"  ({resident.external_id})"
            w.text(columns[0] + 8 * mm, y, str(letter.number), 10, right=True)
            w.text(columns[1], y, who[:40], 10)
            w.text(columns[2], y, (localized(letter.department, "name")
                                   if letter.department else "—")[:30], 10)
            y -= 7 * mm
        if not letters:
            w.text(MARGIN, y, _("No letters in this batch."), 10)
        w.canvas.showPage()


def _letter_pages(w: _Writer, batch: LetterBatch, letter: Letter, total: int) -> None:
    message, resident = letter.message, letter.message.resident
    locale = message.locale or "ja"
    with force_locale(locale):
        day = format_date(batch.day, "long")
        city = municipality_name(locale)
        department = localized(letter.department, "name", locale) if letter.department else ""
        phone = (_("Telephone: %(phone)s", phone=letter.department.phone)
                 if letter.department is not None and letter.department.phone else "")
    top = HEIGHT - MARGIN
    # the address, Japanese layout, where a window envelope shows it
    y = top - 5 * mm
    w.text(MARGIN, y, f"〒{resident.postal_code or ''}", 11)
    y -= 6 * mm
    # a building's name (after an ideographic space) on a line of its own
    for line in (piece for part in (resident.address or "").split("\u3000") if part.strip()
                 for piece in wrap(part.strip(), w.font, 11, 95 * mm)):
        w.text(MARGIN, y, line, 11)
        y -= 5.5 * mm
    y -= 3 * mm
    w.text(MARGIN, y, addressed(resident_name(resident, "ja"), "ja"), 14)
    bottom_address = y
    # the date and the letterhead
    right = WIDTH - MARGIN
    w.text(right, top - 5 * mm, day, 10.5, right=True)
    y = top - 22 * mm
    w.text(right, y, city, 14, right=True)
    for line in (department, phone):
        if line:
            y -= 6 * mm
            w.text(right, y, line, 10.5, right=True)
    y = min(bottom_address, y) - 18 * mm
    for line in wrap(message.subject or "", w.font, 14, WIDTH - 2 * MARGIN):
        w.text(MARGIN, y, line, 14)
        y -= 8 * mm
    y -= 4 * mm
    footer = f"{batch.day.isoformat()}  {letter.number}/{total}"
    for line in wrap(message.body or "", w.font, 10.5, WIDTH - 2 * MARGIN):
        if y < MARGIN + 10 * mm:  # a long letter goes on over the page
            w.text(right, MARGIN / 2, footer, 8, right=True, colour=GREY)
            w.canvas.showPage()
            y = HEIGHT - MARGIN
        w.text(MARGIN, y, line, 10.5)
        y -= 6.2 * mm
    w.text(right, MARGIN / 2, footer, 8, right=True, colour=GREY)
    w.canvas.showPage()


def batch_pdf(batch: LetterBatch) -> bytes:
    """The batch as one PDF: the list, then the letters."""
    letters = letters_of(batch)
    w = _Writer(_("Letters to print: %(day)s", day=format_date(batch.day, "long")))
    _list_pages(w, batch, letters)
    for letter in letters:
        _letter_pages(w, batch, letter, len(letters))
    return w.finish()


def filename(batch: LetterBatch) -> str:
    return f"letters-{batch.day.isoformat()}.pdf"


def mark_printed(batch: LetterBatch, actor, now: datetime | None = None) -> int | None:
    """The batch's letters count as sent; None when it was already printed (nothing
    changes), else how many letters. Audited; the caller commits."""
    if batch.printed_at is not None:
        return None
    now = now or utcnow()
    # one statement each; the guard on printed_at makes a second worker's a no-op
    claimed = db.session.execute(
        update(LetterBatch).where(LetterBatch.id == batch.id, LetterBatch.printed_at.is_(None))
        .values(printed_at=now, printed_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.refresh(batch)
        return None
    in_batch = (OutreachMessage.letter_batch_id == batch.id,
                OutreachMessage.status == MessageStatus.QUEUED)
    # letters whose resident withdrew since they were written are not printed
    # (``letters_of``): suppressed with the reason, never counted as sent
    for why, condition in _withdrawn_reasons():
        db.session.execute(
            update(OutreachMessage).where(*in_batch, OutreachMessage.resident_id.in_(
                select(Resident.id).where(condition)))
            .values(status=MessageStatus.SUPPRESSED, reason=why.value)
            .execution_options(synchronize_session=False))
    db.session.execute(
        update(Invitation).where(
            Invitation.id.in_(select(OutreachMessage.survey_invitation_id).where(*in_batch)),
            Invitation.sent_at.is_(None))
        .values(sent_at=now).execution_options(synchronize_session=False))
    count = db.session.execute(
        update(OutreachMessage).where(*in_batch)
        .values(status=MessageStatus.SENT, sent_at=now)
        .execution_options(synchronize_session=False)).rowcount or 0
    db.session.refresh(batch)
    record("letters.printed", actor=actor, target=batch, summary="Marked letters printed",
           data={"day": batch.day.isoformat(), "letters": count})
    db.session.flush()
    return count


def batch_counts(batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{batch id: {"queued": n, "sent": n}}`` (one query)."""
    if not batch_ids:
        return {}
    rows = db.session.execute(
        select(OutreachMessage.letter_batch_id, OutreachMessage.status, func.count())
        .where(OutreachMessage.letter_batch_id.in_(batch_ids),
               OutreachMessage.status != MessageStatus.SUPPRESSED)
        .group_by(OutreachMessage.letter_batch_id, OutreachMessage.status)).all()
    counts = {i: {"queued": 0, "sent": 0} for i in batch_ids}
    for batch_id, status, n in rows:
        counts[batch_id][status] = n
    return counts

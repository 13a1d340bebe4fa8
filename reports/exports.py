"""The register as one table of values, written out as CSV and XLSX.

The page renders the same `register_table`, so the page, the CSV and the XLSX
agree cell for cell; the API serializes the `Register` it is built from.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone
from openpyxl import Workbook

from engagement.register import TOTALS, Register

TOTAL_LABELS = {
    "attended": "Attended",
    "present": "Present",
    "late": "Late",
    "excused": "Excused",
    "absent": "Absent",
    "no_show": "No-show",
}
# Characters that make a spreadsheet treat a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def session_heading(session: Any) -> str:
    local = timezone.localtime(session.date_start)
    return f"{local:%Y-%m-%d %H:%M} {session.title}"


def register_table(register: Register) -> list[list[Any]]:
    """Header, one row per student (cells, totals, rate, flag), then a row per total
    with the per-session figures. Rates are fractions (0.75), None when undefined."""
    header = [
        "Student",
        "Username",
        *(session_heading(session) for session in register.sessions),
        *(TOTAL_LABELS[name] for name in TOTALS),
        "Rate",
        "Flagged",
    ]
    table: list[list[Any]] = [header]
    for row in register.rows:
        totals = row.totals.as_dict()
        table.append(
            [
                row.name,
                row.username,
                *row.cells,
                *(totals[name] for name in TOTALS),
                totals["rate"],
                "yes" if row.flagged else "",
            ]
        )
    padding = [""] * (len(TOTALS) + 2)
    for name in TOTALS:
        table.append(
            [
                f"Total {TOTAL_LABELS[name].lower()}",
                "",
                *(getattr(session.totals, name) for session in register.sessions),
                *padding,
            ]
        )
    table.append(["Rate", "", *(session.totals.rate for session in register.sessions), *padding])
    return table


def text(value: Any) -> str:
    """A table value as the page and the CSV show it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def formula_safe(value: Any) -> Any:
    """A text cell a spreadsheet shows as typed, never runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def register_csv(register: Register) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in register_table(register):
        writer.writerow([formula_safe(text(value)) for value in row])
    return buffer.getvalue()


def register_xlsx(register: Register) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=register.semester.code[:31] or "Register")
    for row in register_table(register):
        sheet.append(["" if value is None else formula_safe(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(register: Register, extension: str) -> str:
    safe_code = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in register.semester.code)
    return f"register-{safe_code}.{extension}"

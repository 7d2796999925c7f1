"""Spreadsheets streamed to the client: CSV and Excel (openpyxl write-only), no row cap, bounded memory.

Rows come from generators that fetch in keyset batches; CSV is encoded and sent line by line, Excel is written
row by row by openpyxl's write-only workbook into a temporary file (openpyxl keeps no rows in memory in that
mode) which is then sent in chunks and deleted.
"""
import csv
import io
import os
import re
import tempfile

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMATS = ("csv", "xlsx")
CHUNK = 64 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_NUMBER = re.compile(r"[+-]?[\d\s().-]*")


def _safe_text(value):
    """Text a spreadsheet shows as text: control characters a worksheet cannot hold are dropped, and text that
    a spreadsheet would run as a formula (=, @, or + / - not followed by a number such as a phone) gets a leading
    apostrophe (CSV) — the Excel writer stores such text as a string cell instead."""
    if not isinstance(value, str):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _is_formula_like(text):
    return bool(text) and (text[0] in "=@\t\r" or (text[0] in "+-" and not _NUMBER.fullmatch(text)))


def _csv_cell(value):
    value = _safe_text(value)
    return "'" + value if isinstance(value, str) and _is_formula_like(value) else value


def _xlsx_row(sheet, row):
    cells = []
    for value in row:
        value = _safe_text(value)
        if isinstance(value, str) and _is_formula_like(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula
            value = cell
        cells.append(value)
    return cells


def csv_chunks(header, rows):
    """The CSV text (UTF-8 with a byte-order mark, for Excel) of `header` and `rows`, in chunks of about CHUNK."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(path, sheets):
    """Write `sheets` [(title, header, rows)] to an .xlsx file at `path` with a write-only workbook."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append(_xlsx_row(sheet, row))
    workbook.save(path)


def xlsx_chunks(sheets):
    """The bytes of the workbook of `sheets`, written to a temporary file first, then read in chunks."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, sheets)
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def response(fmt, filename, sheets):
    """A streamed download of `sheets` [(title, header, rows)] as CSV (the first sheet) or Excel (all sheets)."""
    if fmt == "csv":
        title, header, rows = sheets[0]
        body, mimetype = csv_chunks(header, rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = xlsx_chunks(sheets), XLSX_TYPE
    headers = {"Content-Disposition": f"attachment; filename={filename}.{fmt}"}
    return Response(stream_with_context(body), mimetype=mimetype, headers=headers)

"""Reading the small tables users bring (predictions, manifests, split files) the way spreadsheets write them.

A file saved by Excel, LibreOffice or Google Sheets may start with a byte-order mark, end lines with CRLF,
quote fields, separate them with ``;`` (locales with a decimal comma) or tabs, and add an empty column at the
end of every row (``00001,happy,happy,``). pandas' defaults turn that last case into a silently shifted table
(the first column becomes the index). Here every shape gives the same rows, or an error that names the file,
the line and what was expected.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

__all__ = ["DELIMITERS", "read_table", "split_line"]

DELIMITERS = (",", ";", "\t")


def _delimiter(line: str) -> str:
    """The separator of a header or data line: the candidate that occurs most outside quotes (comma on a tie)."""
    outside, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _fields(line: str, delimiter: str) -> list[str]:
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])]


def split_line(line: str, delimiter: str | None = None) -> list[str]:
    """One line's fields (quotes removed, spaces around fields stripped, trailing empty fields dropped)."""
    fields = _fields(line, delimiter or _delimiter(line))
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def read_table(path, what: str = "table") -> tuple[list[str], list[tuple[int, dict]]]:
    """(header, [(line number, {column: value})]) of a delimited text file with a header row.

    Empty columns at the end of the header and of each row (a spreadsheet's trailing separator) are dropped;
    a row with more non-empty fields than the header, a duplicated column name, an empty file and a header
    without rows are errors naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} {path}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8 "
                         "CSV") from None
    # one csv.reader over the whole text, so a quoted field may hold a line break (a spreadsheet's cell with
    # Alt+Enter, a model's multi-line answer); each record keeps the line it starts on, for the messages
    first = next((line for line in io.StringIO(text, newline=None) if line.strip()), None)
    if first is None:
        raise ValueError(f"{what} {path}: the file is empty; expected a header row and one row per clip")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    records, start = [], 1
    try:
        for fields in reader:
            fields = [f.strip() for f in fields]
            while fields and fields[-1] == "":
                fields.pop()
            if fields:
                records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ValueError(f"{what} {path}: line {start}: {e}") from None
    if not records:
        raise ValueError(f"{what} {path}: no fields, only separators; expected a header row and one row per clip")
    (head_line, header), body = records[0], records[1:]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise ValueError(f"{what} {path}: line {head_line}: duplicated column names {dup}")
    rows = []
    for i, fields in body:
        if len(fields) > len(header):
            raise ValueError(f"{what} {path}: line {i} has {len(fields)} fields, the header {len(header)} "
                             f"({delimiter!r}-separated: {header})")
        rows.append((i, dict(zip(header, fields + [""] * (len(header) - len(fields))))))
    if not rows:
        raise ValueError(f"{what} {path}: only a header row ({header}); expected one row per clip")
    return header, rows

"""imports: why an import refused its file, stored as a code

`contact_imports.message` of a failed import held the English sentence of the refusal ("The
file is empty.", "scan.pdf is not a CSV or XLSX file.", "The worksheet declares 2,000,000
rows, …"); it now holds the code of dispatch.audiences.refusals with its values
(`file_empty`, `not_csv_or_xlsx?name=scan.pdf`, `rows_declared?rows=2000000&limit=1048576`),
which the API returns with its English sentence and the pages put in words. The patterns are
those the pages used to match the sentences with (dispatch/web/labels.py NOTES), and the other
refusals' sentences word for word. Other messages (a summary, a cancellation) are left as
they are. The downgrade writes the sentences back.

Revision ID: 002a671320e7
Revises: c95d3707473f
Create Date: 2026-12-02 06:45:00.000000

"""
import re
from urllib.parse import parse_qsl, urlencode

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '002a671320e7'
down_revision = 'c95d3707473f'
branch_labels = None
depends_on = None

# code: (the sentence as written before this revision, its values as named groups; the same
# sentence with the values as placeholders, for the downgrade).
SENTENCES = {
    "file_empty": (r"The file is empty\.", "The file is empty."),
    "not_csv_or_xlsx": (r"(?P<name>.+) is not a CSV or XLSX file\.",
                        "%(name)s is not a CSV or XLSX file."),
    "xls_file": (r"This is an old Excel 97-2003 \(\.xls\) file: save it as \.xlsx or CSV\.",
                 "This is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV."),
    "not_text": (r"The file is not text in UTF-8, UTF-16 or Windows-1258: byte "
                 r"(?P<byte>0x[0-9a-f]+) on line (?P<line>\d+) is none of them\. Save it as "
                 r"'CSV UTF-8' or XLSX\.",
                 "The file is not text in UTF-8, UTF-16 or Windows-1258: byte %(byte)s on line "
                 "%(line)s is none of them. Save it as 'CSV UTF-8' or XLSX."),
    "bom_not_utf8": (r"Line (?P<line>\d+) is not valid UTF-8 \(byte (?P<byte>\d+)\), though the "
                     r"file says it is: correct it or save the file again\.",
                     "Line %(line)s is not valid UTF-8 (byte %(byte)s), though the file says it "
                     "is: correct it or save the file again."),
    "line_not_utf8": (r"Line (?P<line>\d+) is not valid UTF-8 \(byte (?P<byte>\d+)\) while the "
                      r"rest of the file is: correct that line or save the file again as "
                      r"'CSV UTF-8'\.",
                      "Line %(line)s is not valid UTF-8 (byte %(byte)s) while the rest of the "
                      "file is: correct that line or save the file again as 'CSV UTF-8'."),
    "line_not_text": (r"Line (?P<line>\d+) is not valid (?P<encoding>[\w -]+?) text: "
                      r"(?P<why>.*)\.",
                      "Line %(line)s is not valid %(encoding)s text: %(why)s."),
    "line_nul": (r"Line (?P<line>\d+) contains a NUL character \(byte 0\): the file is damaged "
                 r"or not a CSV\.",
                 "Line %(line)s contains a NUL character (byte 0): the file is damaged or not "
                 "a CSV."),
    "no_header": (r"The first line must be a header naming the columns \(phone, \.\.\.\)\.",
                  "The first line must be a header naming the columns (phone, ...)."),
    "column_twice": (r"Columns (?P<first>.+?) and (?P<second>.+) both give (?P<field>[^:]+): "
                     r"keep one\.",
                     "Columns %(first)s and %(second)s both give %(field)s: keep one."),
    "no_phone_column": (r"No phone column: the header \(line (?P<line>\d+)\) has (?P<found>.*); "
                        r"name the column of numbers one of (?P<names>.*), 'số điện thoại' or "
                        r"'SĐT'\.",
                        "No phone column: the header (line %(line)s) has %(found)s; name the "
                        "column of numbers one of %(names)s, 'số điện thoại' or 'SĐT'."),
    "no_phone": (r"No phone column\.", "No phone column."),
    "header_broken": (r"Line (?P<line>\d+), the header: (?P<why>[^:]+): (?P<text>.*)\.",
                      "Line %(line)s, the header: %(why)s: %(text)s."),
    "not_xlsx": (r"The file is not a readable XLSX workbook \((?P<why>.*)\)\.",
                 "The file is not a readable XLSX workbook (%(why)s)."),
    "sheet_unreadable": (r"The first worksheet cannot be read \((?P<why>.*)\)\.",
                         "The first worksheet cannot be read (%(why)s)."),
    "workbook_damaged": (r"The workbook is damaged after line (?P<line>\d+): (?P<why>.*)\.",
                         "The workbook is damaged after line %(line)s: %(why)s."),
    "cell_too_long": (r"The workbook has a cell longer than (?P<limit>[\d,]+) characters \(the "
                      r"limit LOA_IMPORT_MAX_CELL_CHARS\)\.",
                      "The workbook has a cell longer than %(limit)s characters (the limit "
                      "LOA_IMPORT_MAX_CELL_CHARS)."),
    "part_too_large": (r"The workbook's part (?P<part>\S+) decompresses to more than "
                       r"(?P<limit_mb>[\d,]+) MB \(the limit (?P<setting>\w+)\)\.",
                       "The workbook's part %(part)s decompresses to more than %(limit_mb)s MB "
                       "(the limit %(setting)s)."),
    "part_declared_too_large": (r"The workbook's part (?P<part>\S+) declares (?P<size_mb>[\d,]+) "
                                r"MB uncompressed, more than the limit of (?P<limit_mb>[\d,]+) "
                                r"MB \((?P<setting>\w+)\)\.",
                                "The workbook's part %(part)s declares %(size_mb)s MB "
                                "uncompressed, more than the limit of %(limit_mb)s MB "
                                "(%(setting)s)."),
    "rows_declared": (r"The worksheet declares (?P<rows>[\d,]+) rows, more than the limit of "
                      r"(?P<limit>[\d,]+) \(LOA_IMPORT_MAX_ROWS\)\.",
                      "The worksheet declares %(rows)s rows, more than the limit of %(limit)s "
                      "(LOA_IMPORT_MAX_ROWS)."),
    "cells_declared": (r"The worksheet declares (?P<rows>[\d,]+) rows × (?P<columns>[\d,]+) "
                       r"columns = (?P<cells>[\d,]+) cells, more than the limit of "
                       r"(?P<limit>[\d,]+) \(LOA_IMPORT_MAX_CELLS\)\.",
                       "The worksheet declares %(rows)s rows × %(columns)s columns = %(cells)s "
                       "cells, more than the limit of %(limit)s (LOA_IMPORT_MAX_CELLS)."),
    "too_many_rows": (r"The worksheet holds more than (?P<limit>[\d,]+) rows \(the limit "
                      r"LOA_IMPORT_MAX_ROWS\)\.",
                      "The worksheet holds more than %(limit)s rows (the limit "
                      "LOA_IMPORT_MAX_ROWS)."),
    "too_many_cells": (r"The worksheet holds more than (?P<limit>[\d,]+) cells \(the limit "
                       r"LOA_IMPORT_MAX_CELLS\)\.",
                       "The worksheet holds more than %(limit)s cells (the limit "
                       "LOA_IMPORT_MAX_CELLS)."),
}
PATTERNS = [(code, re.compile(pattern)) for code, (pattern, _) in SENTENCES.items()]
NUMBERS = {"limit", "rows", "columns", "cells", "size_mb", "limit_mb"}
imports = sa.table("contact_imports", sa.column("id", sa.BigInteger),
                   sa.column("status", sa.String), sa.column("message", sa.Text))


def to_code(text):
    for code, pattern in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            values = {k: v.replace(",", "") if k in NUMBERS else v
                      for k, v in found.groupdict().items()}
            if code == "not_csv_or_xlsx" and values["name"] == "The file":
                values["name"] = "upload"
            return f"{code}?{urlencode(values)}" if values else code
    return None


def to_sentence(text):
    code, _, query = text.partition("?")
    if code not in SENTENCES or " " in query:
        return None
    values = {k: f"{int(v):,}" if k in NUMBERS and v.isdigit() else v
              for k, v in parse_qsl(query, keep_blank_values=True)}
    try:
        return SENTENCES[code][1] % values
    except KeyError:  # a code written without some value
        return None


def _rewrite(convert):
    bind = op.get_bind()
    rows = bind.execute(sa.select(imports.c.id, imports.c.message).where(
        imports.c.status == "failed", imports.c.message.is_not(None))).all()
    for import_id, text in rows:
        new = convert(text)
        if new is not None and new != text:
            bind.execute(imports.update().where(imports.c.id == import_id).values(message=new))


def upgrade():
    _rewrite(to_code)


def downgrade():
    _rewrite(to_sentence)

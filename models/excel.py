"""Reading the contract's files from Excel workbooks (.xlsx), with openpyxl in read-only mode.

Which sheet is read (one per file, never a hidden one):
1. the sheet named for the file's kind, in English or Chinese (`students` or `学生`; case and
   surrounding spaces do not matter), if there is one: it must be visible;
2. otherwise the workbook's only sheet, if it has exactly one and it is visible;
3. otherwise nothing is read and the problem names the sheets found.
Hidden cells are never read silently either: the sheet read may not have hidden rows or columns
that hold values, nor merged cells (a merged header or value hides which column or row it is for).

The sheet is read as a CSV file is: the header in row 1 (contract names, or the columns' Chinese
names), one record per row, blank rows passed over, rows numbered as the spreadsheet shows them.
Cells keep their types (a date cell is a date, a number a number); a formula or an error value
(#N/A) is refused, since the value a program reads is not always the one Excel shows. Every problem
is placed as `file:sheet!cell` (models.files.SheetPlace), e.g. `students.xlsx:学生!C14`.

openpyxl's read-only mode streams the rows (memory holds one row, besides the shared strings), but
does not tell merged cells or hidden rows and columns: a first pass over the sheet's XML with the
standard library's streaming parser finds those (the cells' values are not looked at then).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from models.files import (
    EXCEL_SUFFIXES,
    MAX_FIELD_CHARS,
    MAX_FILE_BYTES,
    Problems,
    SheetPlace,
    check_header,
    too_big_file,
)
from models.schema import RecordSpec

__all__ = ["EXCEL_SUFFIXES", "read_rows"]

# The workbook's parts once unzipped (XML spends many bytes per value); the values themselves are
# bounded by MAX_FILE_BYTES as for CSV.
MAX_UNPACKED_BYTES = 4 * MAX_FILE_BYTES
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003), and password-protected workbooks
_ZIP = b"PK\x03\x04"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def read_rows(path: Path, spec: RecordSpec, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number, {column: value}) for each record of the workbook's sheet for `spec`."""
    name = str(path)
    if not _readable_package(path, name, problems):
        return
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of features it drops (styles, extensions)
            workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged package; each means the same
        problems.add(
            name, None, None,
            f"不是可读的 Excel 工作簿（.xlsx）：{type(exc).__name__}: {str(exc)[:200]}",
            f"not a readable Excel workbook (.xlsx): {type(exc).__name__}: {str(exc)[:200]}",
        )  # fmt: skip
        return
    try:
        sheet = _choose_sheet(workbook, spec, name, problems)
        if sheet is None or not _plain_layout(sheet, name, problems):
            return
        yield from _sheet_rows(sheet, spec, name, problems)
    finally:
        workbook.close()


def _readable_package(path: Path, name: str, problems: Problems) -> bool:
    """The file is an OOXML package within the bounds, or a problem says what it is instead."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        problems.add(name, None, None, *too_big_file(size))
        return False
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_OLE2):
        problems.add(
            name, None, None,
            "这是旧版 Excel 97-2003（.xls）文件或加密的工作簿，只是改名为 .xlsx；请在 Excel 或 WPS 中打开，"
            "去掉密码，另存为“Excel 工作簿（.xlsx）”",
            "this is an Excel 97-2003 (.xls) file, or a password-protected workbook, named .xlsx: open it in "
            "Excel or WPS, remove any password and save it as an Excel Workbook (.xlsx)",
        )  # fmt: skip
        return False
    if not head.startswith(_ZIP):
        problems.add(
            name, None, None,
            "不是 Excel 工作簿（.xlsx 文件是 zip 包，这个不是）；请在 Excel 或 WPS 中另存为“Excel 工作簿（.xlsx）”",
            "not an Excel workbook (an .xlsx file is a zip package; this is not): save it from Excel or WPS "
            "as an Excel Workbook (.xlsx)",
        )  # fmt: skip
        return False
    try:
        with zipfile.ZipFile(path) as package:
            unpacked = sum(member.file_size for member in package.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        problems.add(name, None, None, f"Excel 文件已损坏：{exc}", f"damaged Excel file: {exc}")
        return False
    if unpacked > MAX_UNPACKED_BYTES:
        problems.add(
            name, None, None,
            f"工作簿解压后过大（{unpacked} 字节，最多 {MAX_UNPACKED_BYTES} 字节）；请拆分为多个文件",
            f"the workbook is too large unpacked ({unpacked} bytes, at most {MAX_UNPACKED_BYTES}): "
            "split it into several files",
        )  # fmt: skip
        return False
    return True


def _choose_sheet(workbook: Any, spec: RecordSpec, name: str, problems: Problems) -> Any | None:
    """The sheet to read (the rule in the module's docstring), or None after saying why there is none."""
    sheets = list(workbook.worksheets)
    wanted = {spec.kind.casefold(), spec.zh.casefold()}
    named = [s for s in sheets if s.title.strip().casefold() in wanted]
    listed = "、".join(s.title + ("（隐藏）" if s.sheet_state != "visible" else "") for s in sheets)
    listed_en = ", ".join(s.title + (" (hidden)" if s.sheet_state != "visible" else "") for s in sheets)
    if len(named) > 1:
        problems.add(
            name, None, None,
            f"有 {len(named)} 个工作表都以{spec.zh}命名（{'、'.join(s.title for s in named)}）；只能保留一个",
            f"{len(named)} sheets are named for {spec.kind} ({', '.join(s.title for s in named)}): keep one",
        )  # fmt: skip
        return None
    if named:
        sheet = named[0]
    elif len(sheets) == 1:
        sheet = sheets[0]
    else:
        problems.add(
            name, None, None,
            f"工作簿有 {len(sheets)} 个工作表（{listed}），不知道读哪一个：请把要导入的工作表命名为“{spec.zh}”或“{spec.kind}”",
            f"the workbook has {len(sheets)} sheets ({listed_en}) and none is named for the data: name the "
            f"sheet to import {spec.zh!r} or {spec.kind!r}",
        )  # fmt: skip
        return None
    if sheet.sheet_state != "visible":
        problems.add(
            name, None, None,
            "工作表被隐藏；jianfu 不读取隐藏的工作表：请取消隐藏（右键单击工作表标签 → 取消隐藏）后再导入",
            "the sheet is hidden; jianfu reads no hidden sheet: unhide it (right-click a sheet tab → Unhide) "
            "and import again",
            sheet=sheet.title,
        )  # fmt: skip
        return None
    return sheet


def _plain_layout(sheet: Any, name: str, problems: Problems) -> bool:
    """No merged cells, no hidden row or column holding a value; each one found is a problem."""
    merged: list[str] = []
    hidden_columns: list[tuple[int, int]] = []
    hidden_rows: list[int] = []
    hidden_cells: dict[int, str] = {}  # hidden column → its first cell holding a value
    with sheet._get_source() as source:  # the sheet's XML part (openpyxl's own accessor; pinned below 3.2)
        for _, element in ElementTree.iterparse(source, events=("end",)):
            tag = element.tag
            if tag == _MAIN + "col" and element.get("hidden") in {"1", "true"}:
                hidden_columns.append((int(element.get("min", "0")), int(element.get("max", "0"))))
            elif tag == _MAIN + "row":
                cells = [c for c in element if _holds_value(c)]
                if cells and element.get("hidden") in {"1", "true"}:
                    hidden_rows.append(int(element.get("r", "0")))
                if hidden_columns:
                    for cell in cells:
                        ref = cell.get("r", "")
                        index = _column_index(ref)
                        if any(lo <= index <= hi for lo, hi in hidden_columns):
                            hidden_cells.setdefault(index, ref)
                element.clear()
            elif tag == _MAIN + "mergeCell":
                merged.append(element.get("ref", "?"))
    title = sheet.title
    for ref in merged:
        problems.add(
            name, None, None,
            f"合并单元格 {ref}；请取消合并，每个值各占一个单元格（表头也是）",
            f"merged cells {ref}: unmerge them, one value to a cell (the header too)",
            sheet=title, cell=ref,
        )  # fmt: skip
    for index, ref in sorted(hidden_cells.items()):
        letter = column_letter(index)
        problems.add(
            name, None, None,
            f"第 {letter} 列被隐藏但有数据（如 {ref}）；jianfu 不读取隐藏的单元格：请取消隐藏或删除这一列",
            f"column {letter} is hidden but holds values (e.g. {ref}); jianfu reads no hidden cell: "
            "unhide the column or delete it",
            sheet=title, cell=f"{letter}:{letter}",
        )  # fmt: skip
    for first, last in _runs(hidden_rows):
        one = first == last
        zh = f"第 {first} 行" if one else f"第 {first}–{last} 行"
        en = (
            f"row {first} is hidden (a filter?) and holds"
            if one
            else f"rows {first}-{last} are hidden (a filter?) and hold"
        )
        problems.add(
            name, None, None,
            f"{zh}被隐藏（筛选？）且有数据；jianfu 不读取隐藏的单元格：请取消隐藏（或清除筛选）或删除",
            f"{en} values; jianfu reads no hidden cell: unhide (or clear the filter) or delete",
            sheet=title, cell=f"{first}:{last}",
        )  # fmt: skip
    return not (merged or hidden_cells or hidden_rows)


def _holds_value(cell: Any) -> bool:
    return any(part.tag in {_MAIN + "v", _MAIN + "is", _MAIN + "f"} for part in cell)


def _column_index(ref: str) -> int:
    index = 0
    for char in ref:
        if not char.isalpha():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index


def _runs(numbers: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive runs: [3, 4, 5, 9] → (3, 5), (9, 9)."""
    start = previous = None
    for n in sorted(numbers):
        if previous is not None and n == previous + 1:
            previous = n
            continue
        if start is not None and previous is not None:
            yield start, previous
        start = previous = n
    if start is not None and previous is not None:
        yield start, previous


def _header_names(spec: RecordSpec) -> dict[str, str]:
    """Header text → contract column: the names themselves and their Chinese names."""
    names = {c.name: c.name for c in spec.columns}
    for column in spec.columns:
        names.setdefault(column.zh.casefold(), column.name)
    return names


def _sheet_rows(
    sheet: Any, spec: RecordSpec, name: str, problems: Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    title = sheet.title
    sheet.reset_dimensions()  # the file's own <dimension> may be wrong: read every row there is
    rows = enumerate(sheet.iter_rows(), start=1)
    first = next(rows, None)
    if first is None or all(_blank(cell.value) for cell in first[1]):
        problems.add(
            name, 1, None,
            f"第 1 行是空的：表头必须在第 1 行；{spec.zh}表的表头为：{','.join(spec.column_names)}",
            f"row 1 is empty: the header must be in row 1; the header of {spec.kind} is: "
            f"{','.join(spec.column_names)}",
            sheet=title, cell="A1",
        )  # fmt: skip
        return
    known = _header_names(spec)
    header: list[str] = []
    letters: dict[str, str] = {}
    for position, cell in enumerate(first[1], start=1):
        text = "" if cell.value is None else str(cell.value).strip()
        column = known.get(text.casefold(), text.lower())
        header.append(column)
        if column:
            letters.setdefault(column, column_letter(position))
    while header and not header[-1]:
        header.pop()
    problems.places[name] = SheetPlace(title, letters)
    for position, column in enumerate(header, start=1):
        if not column:
            problems.add(
                name, 1, None,
                "表头单元格是空的；每一列都要有列名（或删除这一列）",
                "the header cell is blank: give every column a name (or delete the column)",
                cell=f"{column_letter(position)}1",
            )  # fmt: skip
    if not check_header([h for h in header if h], spec, name, problems) or not all(header):
        return
    width = len(header)
    decoded = 0
    for row_no, cells in rows:
        values: dict[str, Any] = {}
        bad = False
        for position, cell in enumerate(cells, start=1):
            value = cell.value
            if _blank(value):
                continue
            ref = f"{column_letter(position)}{row_no}"
            if position > width:
                problems.add(
                    name, row_no, None,
                    f"单元格有值但所在列没有表头：{str(value)[:40]!r}",
                    f"the cell holds a value but its column has no header: {str(value)[:40]!r}",
                    cell=ref,
                )  # fmt: skip
                bad = True
                continue
            column = header[position - 1]
            kind = cell.data_type
            if kind == "f":
                problems.add(
                    name, row_no, column,
                    f"单元格是公式 {str(value)[:60]}；请改为它的值（复制后“选择性粘贴 → 值”）",
                    f"the cell holds a formula {str(value)[:60]}: replace it with its value "
                    "(copy, then Paste Special → Values)",
                )  # fmt: skip
                bad = True
                continue
            if kind == "e":
                problems.add(
                    name, row_no, column,
                    f"单元格是错误值 {value}；请改正",
                    f"the cell holds an error value {value}: correct it",
                )  # fmt: skip
                bad = True
                continue
            value = _plain(value)
            if isinstance(value, str):
                if len(value) > MAX_FIELD_CHARS:
                    problems.add(
                        name, row_no, column,
                        f"值过长（{len(value)} 个字符，最多 {MAX_FIELD_CHARS} 个）；停止读取此文件",
                        f"a value is longer than {MAX_FIELD_CHARS} characters ({len(value)}); stopped reading this file",
                    )  # fmt: skip
                    return
                decoded += len(value)
            else:
                decoded += 8
            values[column] = value
        if decoded > MAX_FILE_BYTES:
            problems.add(name, row_no, None, *too_big_file(decoded))
            return
        if values and not bad:
            yield row_no, values


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plain(value: Any) -> Any:
    """A cell's value as the contract's parsers take it: text, a number, a truth value, a date or a
    moment (naive: read in the school's time zone, as a CSV timestamp without an offset is)."""
    if isinstance(value, datetime):
        return value.date() if value.time() == time(0) else value
    if isinstance(value, date | str | bool | int | float):
        return value
    if isinstance(value, time | timedelta):
        return str(value)
    return str(value)

"""Excel in and out. A bad-Excel corpus, written on the fly: each workbook is refused with its exact
message placed at file:sheet!cell, exit status 1, and the database left exactly as it was; a good
workbook imports into the same database as the same data in CSV; exports as .xlsx carry the CSV's
rows and pseudonyms under Chinese headers, and text that looks like a formula stays text."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from jianfu.cli import app
from models.bulk import OPTIONAL, REQUIRED
from service import data_team
from service.store import tables as t
from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from tests.conftest import SAMPLES, database_digest

ATTEMPT_COLUMNS = REQUIRED + OPTIONAL  # the attempts contract's columns, in order

STUDENT = "stu-65a1c97c"  # in the samples, class east-2-1
ITEM = "math-g5-01-001"
STUDENTS_HEADER = ["student_id", "class_id", "display_name", "personal_cap_minutes"]


def _book(sheets: dict[str, list[list[object]]]) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    return book


def merged_header(folder: Path) -> str:
    book = _book({"学生": [["student_id", None, "display_name"], ["s-new-1", "east-2-1", "新同学"]]})
    book["学生"].merge_cells("A1:B1")
    book.save(folder / "students.xlsx")
    return "students.xlsx"


def date_typed_as_text(folder: Path) -> str:
    header = list(ATTEMPT_COLUMNS)
    row = ["x-ev-1", STUDENT, ITEM, "2026年10月12日", "2026-10-12T19:30:00+08:00", 1, 300, None, "app"]
    _book({"作业记录": [header, row]}).save(folder / "attempts.xlsx")
    return "attempts.xlsx"


def formula(folder: Path) -> str:
    rows = [STUDENTS_HEADER, ["s-new-1", "east-2-1", "新同学", "=30+15"]]
    _book({"学生": rows}).save(folder / "students.xlsx")
    return "students.xlsx"


def hidden_sheet(folder: Path) -> str:
    book = _book(
        {"说明": [["请在“学生”表中填写"]], "学生": [STUDENTS_HEADER, ["s-new-1", "east-2-1", "新同学"]]}
    )
    book["学生"].sheet_state = "hidden"
    book.save(folder / "students.xlsx")
    return "students.xlsx"


def hidden_rows(folder: Path) -> str:
    rows = [
        STUDENTS_HEADER,
        ["s-new-1", "east-2-1", "甲"],
        ["s-new-2", "east-2-1", "乙"],
        ["s-new-3", "east-2-1", "丙"],
    ]
    book = _book({"学生": rows})
    book["学生"].row_dimensions[3].hidden = True
    book["学生"].row_dimensions[4].hidden = True
    book.save(folder / "students.xlsx")
    return "students.xlsx"


def empty_first_row(folder: Path) -> str:
    _book({"学生": [[None], STUDENTS_HEADER, ["s-new-1", "east-2-1", "新同学"]]}).save(
        folder / "students.xlsx"
    )
    return "students.xlsx"


def empty_rows_between(folder: Path) -> str:
    """Blank rows are passed over, but rows keep the numbers the spreadsheet shows: the bad one is 6."""
    rows = [
        STUDENTS_HEADER,
        ["s-new-1", "east-2-1", "甲"],
        [],
        [None, None],
        [],
        ["s-new-2", "no-such-class", "乙"],
    ]
    _book({"学生": rows}).save(folder / "students.xlsx")
    return "students.xlsx"


def chinese_sheet_name(folder: Path) -> str:
    """The only sheet, named in Chinese (characters GBK has, GB2312 has not), with a space: quoted."""
    rows = [STUDENTS_HEADER, ["s-new-1", "east-2-1", "新同学", 500]]
    _book({"五年級 學生": rows}).save(folder / "students.xlsx")
    return "students.xlsx"


def chinese_headers(folder: Path) -> str:
    """Headers may be the columns' Chinese names; the problem still names the cell."""
    rows = [["学生标识", "班级标识", "显示名"], ["s-new-1", "no-such-class", "新同学"]]
    _book({"学生": rows}).save(folder / "students.xlsx")
    return "students.xlsx"


def ten_mb_cell(folder: Path) -> str:
    """openpyxl cuts a value at Excel's 32,767 characters as it writes: the 10 MB value is put into
    the saved package's XML in place of a short one, as another program might write it."""
    import zipfile

    header = ["item_id", "subject", "kp_ids", "grade", "kind", "stem"]
    _book({"题目": [header, ["x-big", "math", "math-g5-01", 5, "written", "PLACEHOLDER-STEM"]]}).save(
        folder / "small.xlsx"
    )
    stem = ("很长的题干" * (10 * 1024 * 1024 // 5)).encode()
    with (
        zipfile.ZipFile(folder / "small.xlsx") as small,
        zipfile.ZipFile(folder / "items.xlsx", "w", zipfile.ZIP_DEFLATED) as big,
    ):
        for member in small.infolist():
            big.writestr(member, small.read(member).replace(b"PLACEHOLDER-STEM", stem))
    (folder / "small.xlsx").unlink()
    return "items.xlsx"


def xls_saved_as_xlsx(folder: Path) -> str:
    # The start of every Excel 97-2003 file (an OLE2 compound file), then whatever follows.
    (folder / "students.xlsx").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook" * 64
    )
    return "students.xlsx"


def csv_saved_as_xlsx(folder: Path) -> str:
    (folder / "students.xlsx").write_text("student_id,class_id,display_name\ns-new-1,east-2-1,新同学\n")
    return "students.xlsx"


def several_sheets(folder: Path) -> str:
    _book({"Sheet1": [STUDENTS_HEADER], "Sheet2": [STUDENTS_HEADER]}).save(folder / "students.xlsx")
    return "students.xlsx"


def value_without_header(folder: Path) -> str:
    _book({"学生": [STUDENTS_HEADER, ["s-new-1", "east-2-1", "新同学", None, "多出来的"]]}).save(
        folder / "students.xlsx"
    )
    return "students.xlsx"


NOT_WRITTEN = "个问题，未写入任何数据 / "
CORPUS: dict[str, tuple[Callable[[Path], str], list[str]]] = {
    "merged header cells": (merged_header, [
        "students.xlsx:学生!A1:B1: 合并单元格 A1:B1；请取消合并，每个值各占一个单元格（表头也是） / "
        "merged cells A1:B1: unmerge them, one value to a cell (the header too)",
    ]),
    "a date typed as text": (date_typed_as_text, [
        "attempts.xlsx:作业记录!D2: 应为日期 YYYY-MM-DD，得到 '2026年10月12日' / "
        "expected a date YYYY-MM-DD, got '2026年10月12日'",
    ]),
    "a formula": (formula, [
        "students.xlsx:学生!D2: 单元格是公式 =30+15；请改为它的值（复制后“选择性粘贴 → 值”） / "
        "the cell holds a formula =30+15: replace it with its value (copy, then Paste Special → Values)",
    ]),
    "a hidden sheet": (hidden_sheet, [
        "students.xlsx:学生: 工作表被隐藏；jianfu 不读取隐藏的工作表：请取消隐藏（右键单击工作表标签 → 取消隐藏）后再导入 / "
        "the sheet is hidden; jianfu reads no hidden sheet: unhide it (right-click a sheet tab → Unhide) and "
        "import again",
    ]),
    "hidden rows": (hidden_rows, [
        "students.xlsx:学生!3:4: 第 3–4 行被隐藏（筛选？）且有数据；jianfu 不读取隐藏的单元格：请取消隐藏（或清除筛选）或删除 / "
        "rows 3-4 are hidden (a filter?) and hold values; jianfu reads no hidden cell: unhide (or clear the "
        "filter) or delete",
    ]),
    "an empty first row": (empty_first_row, [
        "students.xlsx:学生!A1: 第 1 行是空的：表头必须在第 1 行；学生表的表头为：student_id,class_id,display_name,"
        "personal_cap_minutes / row 1 is empty: the header must be in row 1; the header of students is: "
        "student_id,class_id,display_name,personal_cap_minutes",
    ]),
    "empty rows between records": (empty_rows_between, [
        "students.xlsx:学生!B6: 未知的班级 'no-such-class' / unknown class 'no-such-class'",
    ]),
    "a Chinese sheet name": (chinese_sheet_name, [
        "students.xlsx:'五年級 學生'!D2: 应在 0 到 240 分钟 之间，得到 500 / must be between 0 and 240 minutes, got 500",
    ]),
    "Chinese headers": (chinese_headers, [
        "students.xlsx:学生!B2: 未知的班级 'no-such-class' / unknown class 'no-such-class'",
    ]),
    "a 10 MB cell": (ten_mb_cell, [
        "items.xlsx:题目!F2: 值过长（10485760 个字符，最多 100000 个）；停止读取此文件 / "
        "a value is longer than 100000 characters (10485760); stopped reading this file",
    ]),
    "an .xls saved as .xlsx": (xls_saved_as_xlsx, [
        "students.xlsx: 这是旧版 Excel 97-2003（.xls）文件或加密的工作簿，只是改名为 .xlsx；请在 Excel 或 WPS 中打开，"
        "去掉密码，另存为“Excel 工作簿（.xlsx）” / this is an Excel 97-2003 (.xls) file, or a password-protected "
        "workbook, named .xlsx: open it in Excel or WPS, remove any password and save it as an Excel Workbook (.xlsx)",
    ]),
    "a CSV saved as .xlsx": (csv_saved_as_xlsx, [
        "students.xlsx: 不是 Excel 工作簿（.xlsx 文件是 zip 包，这个不是）；请在 Excel 或 WPS 中另存为“Excel 工作簿（.xlsx）” / "
        "not an Excel workbook (an .xlsx file is a zip package; this is not): save it from Excel or WPS as an "
        "Excel Workbook (.xlsx)",
    ]),
    "several sheets, none named for the data": (several_sheets, [
        "students.xlsx: 工作簿有 2 个工作表（Sheet1、Sheet2），不知道读哪一个：请把要导入的工作表命名为“学生”或“students” / "
        "the workbook has 2 sheets (Sheet1, Sheet2) and none is named for the data: name the sheet to import "
        "'学生' or 'students'",
    ]),
    "a value in a column without a header": (value_without_header, [
        "students.xlsx:学生!E2: 单元格有值但所在列没有表头：'多出来的' / "
        "the cell holds a value but its column has no header: '多出来的'",
    ]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_a_bad_workbook_is_refused_at_its_sheet_and_cell_and_writes_nothing(
    case: str, tmp_path: Path, samples_sqlite: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, expected = CORPUS[case]
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
    url = f"sqlite:///{tmp_path / 'school.db'}"
    engine = make_engine(url)
    before = database_digest(engine)
    folder = tmp_path / "in"
    folder.mkdir()
    name = make(folder)
    monkeypatch.chdir(folder)
    for command in ("validate", "import"):
        result = runner.invoke(app, ["data", command, name, "--database", url])
        assert result.exit_code == 1, result.output
        n = len(expected)
        assert result.stderr.splitlines() == [
            *expected,
            f"{n} {NOT_WRITTEN}{n} problem{'s' * (n != 1)}; nothing was written",
        ]
    assert database_digest(engine) == before
    engine.dispose()


def _typed(column: str, text: str) -> object:
    """A CSV value as a spreadsheet would hold it: numbers as numbers, dates as dates."""
    if text == "":
        return None
    if column in {"grade", "order", "seconds", "personal_cap_minutes"}:
        return int(text)
    if column in {"est_minutes", "score"}:
        return float(text)
    if column in {"night", "taught_on", "date"}:
        return date.fromisoformat(text)
    if column in {"correct", "needs_parent"}:
        return text == "1"
    return text


def test_a_good_workbook_gives_the_same_database_as_the_same_csv(tmp_path: Path, runner: CliRunner) -> None:
    """Every file of the samples (attempts and error book cut to their first 3,000 rows), once as CSV
    and once as workbooks with typed cells, Chinese sheet names and a hidden sheet of lists that is not
    the data's (which is not read): the two databases are identical."""
    csv_dir, xlsx_dir = tmp_path / "csv", tmp_path / "xlsx"
    csv_dir.mkdir()
    xlsx_dir.mkdir()
    sheet_names = {"students": "学生", "attempts": "作业记录", "items": "items"}
    for source in sorted(SAMPLES.glob("*.csv")):
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        if source.stem in {"attempts", "error_book"}:
            lines = lines[:3001]
        (csv_dir / source.name).write_text("".join(lines), encoding="utf-8")
        rows = list(csv.reader(io.StringIO("".join(lines))))
        header = rows[0]
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = sheet_names.get(source.stem, "Sheet1")
        sheet.append(header)
        for row in rows[1:]:
            sheet.append([_typed(c, v) for c, v in zip(header, row, strict=True)])
        if source.stem == "students":
            lists = book.create_sheet("下拉选项")
            lists.append(["east-2-1"])
            lists.sheet_state = "hidden"
        book.save(xlsx_dir / f"{source.stem}.xlsx")
    digests = []
    for folder in (csv_dir, xlsx_dir):
        url = f"sqlite:///{tmp_path / (folder.name + '.db')}"
        result = runner.invoke(app, ["data", "import", str(folder), "--database", url])
        assert result.exit_code == 0, result.output
        engine = make_engine(url)
        digests.append(database_digest(engine))
        engine.dispose()
    assert digests[0] == digests[1]
    assert int(digests[0]["attempts"].split(":")[0]) == 3000


def test_the_import_api_places_a_workbook_s_problems_at_sheet_and_cell(tmp_path: Path) -> None:
    """service.data_team, as the import API's job runs it: the refusal's problems carry sheet, cell
    and the place as people write it, and the refusal's detail names it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'school.db'}")
    upgrade(engine)
    assert import_files(engine, [SAMPLES / "schools.csv", SAMPLES / "classes.csv"]).ok
    before = database_digest(engine)
    folder = tmp_path / "upload"
    folder.mkdir()
    path = data_team.upload_path(folder=folder, field="files", filename="students.xlsx", taken=set())
    _book({"学生": [STUDENTS_HEADER, ["s-new-1", "east-2-1", "甲"], ["s-new-2", "east-9-9", "乙"]]}).save(
        path
    )
    with pytest.raises(data_team.ImportRefused) as refused:
        data_team.import_paths(db=engine, paths=[path], erasure_key="k" * 32)
    problem = refused.value.extra["problems"][0]
    assert problem == {
        "file": "students.xlsx", "row": 3, "field": "class_id", "sheet": "学生", "cell": "B3",
        "where": "students.xlsx:学生!B3", "detail": "unknown class 'east-9-9'", "detail_zh": "未知的班级 'east-9-9'",
    }  # fmt: skip
    assert refused.value.en == "nothing was imported: students.xlsx:学生!B3: unknown class 'east-9-9'"
    assert database_digest(engine) == before
    engine.dispose()


def _export_world(tmp_path: Path) -> tuple[Engine, str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'school.db'}")
    upgrade(engine)
    cut = tmp_path / "cut"
    cut.mkdir()
    for source in SAMPLES.glob("*.csv"):
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        if source.stem in {"attempts", "error_book"}:
            lines = lines[:2001]
        (cut / source.name).write_text("".join(lines), encoding="utf-8")
    assert import_files(engine, [cut]).ok
    return engine, "export-key-" + "x" * 32


def test_the_xlsx_export_holds_the_csv_s_rows_and_pseudonyms_under_chinese_headers(tmp_path: Path) -> None:
    engine, key = _export_world(tmp_path)
    for kind in ("attempts", "error_book"):
        as_csv = list(csv.reader(io.StringIO("".join(data_team.export_csv(db=engine, key=key, kind=kind)))))
        workbook = tmp_path / f"{kind}.xlsx"
        workbook.write_bytes(b"".join(data_team.export_xlsx(db=engine, key=key, kind=kind)))
        book = openpyxl.load_workbook(workbook, read_only=True)
        sheet = book[data_team.EXPORT_SHEETS_ZH[kind]]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
        assert rows[0] == [data_team.EXPORT_HEADERS_ZH[c] for c in as_csv[0]]
        assert rows[0][0] == "学生（化名）"
        assert len(rows) == len(as_csv) > 100
        assert [r[0] for r in rows[1:]] == [r[0] for r in as_csv[1:]]  # the same pseudonyms, in order
        assert all(str(r[0]).startswith("p-") for r in rows[1:])
        for got, want in zip(rows[1:], as_csv[1:], strict=True):
            assert [_as_csv_text(v) for v in got] == want


def _as_csv_text(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "hour"):  # a date cell comes back as a datetime
        return str(value.date().isoformat())  # type: ignore[attr-defined]
    return str(value)


def test_text_that_looks_like_a_formula_is_exported_as_text(tmp_path: Path) -> None:
    """Values starting with = + - @ (here class ids stored by another path than the import) are
    written as text cells, never as formulas."""
    engine, key = _export_world(tmp_path)
    nasty = ['=HYPERLINK("http://x","y")', "+1+2", "-3+4", "@SUM(A1)"]
    with engine.begin() as conn:
        item = conn.execute(t.items.select().limit(1)).mappings().one()["item_id"]
        for n, value in enumerate(nasty):
            conn.execute(insert(t.classes).values(class_id=value, school_id="sch-east", grade=5, name=value))
            conn.execute(insert(t.students).values(student_id=f"s-evil-{n}", class_id=value,
                                                   display_name="x", personal_cap_minutes=None))  # fmt: skip
            conn.execute(insert(t.error_book).values(
                entry_id=f"e-evil-{n}", student_id=f"s-evil-{n}", item_id=item,
                created_at=student_created(), created_offset_min=480, error_type="careless",
            ))  # fmt: skip
    path = tmp_path / "error_book.xlsx"
    path.write_bytes(b"".join(data_team.export_xlsx(db=engine, key=key, kind="error_book")))
    book = openpyxl.load_workbook(path)  # full mode: cells' types
    sheet = book.worksheets[0]
    found = {}
    for row in sheet.iter_rows(min_row=2):
        if row[1].value in nasty:
            found[row[1].value] = row[1].data_type
    assert found == {value: "s" for value in nasty}  # text cells, not formulas ("f") or numbers ("n")
    assert "<f>" not in _sheet_xml(path)


def student_created() -> object:
    from datetime import UTC, datetime

    return datetime(2026, 10, 12, 12, 0, tzinfo=UTC)


def _sheet_xml(path: Path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as package:
        return package.read("xl/worksheets/sheet1.xml").decode()


def test_an_export_longer_than_a_sheet_goes_on_to_the_next_sheet_with_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel holds 1,048,576 rows a sheet and xlsxwriter drops the rest without a word: the export goes
    on to "<name> (2)" (the limit made small here: the rule, not a million rows)."""
    engine, key = _export_world(tmp_path)
    as_csv = list(csv.reader(io.StringIO("".join(data_team.export_csv(db=engine, key=key, kind="attempts")))))
    monkeypatch.setattr(data_team, "XLSX_ROWS", 41)  # 40 data rows a sheet
    workbook = tmp_path / "attempts.xlsx"
    workbook.write_bytes(b"".join(data_team.export_xlsx(db=engine, key=key, kind="attempts")))
    book = openpyxl.load_workbook(workbook, read_only=True)
    title = data_team.EXPORT_SHEETS_ZH["attempts"]
    data_rows = len(as_csv) - 1
    sheets = -(-data_rows // 40)
    assert book.sheetnames == [title] + [f"{title} ({n})" for n in range(2, sheets + 1)]
    got = []
    for name in book.sheetnames:
        rows = [list(r) for r in book[name].iter_rows(values_only=True)]
        assert rows[0] == [data_team.EXPORT_HEADERS_ZH[c] for c in as_csv[0]]
        assert 1 <= len(rows) - 1 <= 40
        got += rows[1:]
    book.close()
    assert [[_as_csv_text(v) for v in r] for r in got] == as_csv[1:]

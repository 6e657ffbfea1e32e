"""Reading the contract's tabular files: CSV (UTF-8, UTF-8 with BOM, GBK), Parquet and Excel
(.xlsx: models.excel).

Owns encodings, headers and the shape of rows; says what is wrong as `file:row:column` problems, or
for a workbook as `file:sheet!cell` (a SheetPlace). What a value means is `models.schema`'s
business. Rows are numbered as a spreadsheet shows them: the header is row 1, the first record
row 2 (Parquet files are numbered the same way).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.schema import IMPORT_ORDER, Known, RecordProblem, RecordSpec, validate_record

MAX_FIELD_CHARS = 100_000
EXCEL_SUFFIXES = (".xlsx",)  # read by models.excel
# However a file is stored, what it holds once decoded is bounded: at most MAX_FIELD_CHARS per value
# (CSV and Parquet alike), MAX_GROUP_BYTES per Parquet row group and MAX_FILE_BYTES per file (a CSV
# file's size; a Parquet file's values decoded, counted before they are expanded: see ParquetLimits).
MAX_GROUP_BYTES = 256 << 20
MAX_FILE_BYTES = 512 << 20
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class SheetPlace:
    """Where a file's records are in an Excel workbook: the sheet read and each contract column's
    letter, so that a problem at (row, column) is placed at sheet!cell."""

    sheet: str
    letters: dict[str, str]

    def cell(self, row: int, column: str | None) -> str:
        letter = self.letters.get(column) if column is not None else None
        return f"{letter}{row}" if letter is not None else f"{row}:{row}"  # a whole row: 14:14


@dataclass
class Problems:
    """Problems found so far: all of them counted, the first `limit` kept to show.

    A file read from a workbook has a SheetPlace in `places` (by file name): its problems are placed
    at sheet and cell, whoever adds them (the reader, the validation, the importer's checks)."""

    limit: int = 100
    shown: list[RecordProblem] = field(default_factory=list)
    count: int = 0
    places: dict[str, SheetPlace] = field(default_factory=dict)

    def add(
        self, file: str, row: int | None, column: str | None, zh: str, en: str, *,
        sheet: str | None = None, cell: str | None = None,
    ) -> None:  # fmt: skip
        """A problem in `file` at `row` and `column` (as known); in a workbook also `sheet` and `cell`
        (by default the file's SheetPlace's, `cell` from row and column)."""
        self.count += 1
        if len(self.shown) >= self.limit:
            return
        place = self.places.get(file)
        if place is not None:
            sheet = sheet or place.sheet
            if cell is None and row is not None:
                cell = place.cell(row, column)
        self.shown.append(RecordProblem(file, row, column, zh, en, sheet, cell))

    def lines(self) -> list[str]:
        out = [str(p) for p in self.shown]
        if self.count > len(self.shown):
            hidden = self.count - len(self.shown)
            out.append(f"… 另有 {hidden} 个问题未显示 / … and {hidden} more problems not shown")
        return out

    def __bool__(self) -> bool:
        return self.count > 0


def kind_of(path: Path) -> str | None:
    """The record kind a file holds, from its name: `attempts-2026-10.csv` holds attempts."""
    stem = path.name.split(".")[0].lower()
    for kind in sorted(IMPORT_ORDER, key=len, reverse=True):
        if stem == kind or stem.startswith((kind + "-", kind + "_")):
            return kind
    return None


def decode_csv(raw: bytes, name: str, problems: Problems) -> str | None:
    """The text of a CSV file, or None after saying why it cannot be read."""

    def line_of(offset: int) -> int:
        return raw.count(b"\n", 0, offset) + 1

    if raw.startswith(_UTF16_BOMS):
        problems.add(
            name, None, None,
            "文件是 UTF-16 编码；请另存为 UTF-8 或 GBK 的 CSV",
            "the file is UTF-16; save it as CSV in UTF-8 or GBK",
        )  # fmt: skip
        return None
    nul = raw.find(b"\x00")
    if nul >= 0:
        problems.add(
            name, line_of(nul), None,
            "文件含有 NUL 字节（\\0），不是文本 CSV",
            "the file contains a NUL byte (\\0); it is not a text CSV",
        )  # fmt: skip
        return None
    if raw.startswith(_UTF8_BOM):
        try:
            return raw[len(_UTF8_BOM) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            looks_gbk = _decodes(raw[len(_UTF8_BOM) :], "gbk")
            problems.add(
                name, line_of(exc.start + len(_UTF8_BOM)), None,
                "文件开头标记为 UTF-8（BOM），但内容不是 UTF-8" + ("，看起来是 GBK；请用同一种编码另存" if looks_gbk else ""),
                "the file is marked UTF-8 (BOM) but is not UTF-8"
                + ("; it looks like GBK: save it again in one encoding" if looks_gbk else ""),
            )  # fmt: skip
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("gbk")
        except UnicodeDecodeError:
            problems.add(
                name, line_of(utf8_error.start), None,
                "无法识别的编码：既不是 UTF-8 也不是 GBK",
                "unrecognised encoding: neither UTF-8 nor GBK",
            )  # fmt: skip
            return None


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def check_header(header: list[str], spec: RecordSpec, name: str, problems: Problems) -> bool:
    ok = True
    expected = ", ".join(spec.column_names)
    if not set(header) & set(spec.column_names):
        problems.add(
            name, 1, None,
            f"第一行不是表头（没有任何预期的列）；{spec.zh}文件的第一行应为：{','.join(spec.column_names)}",
            f"the first row is not a header (none of the expected columns); the first row of "
            f"{spec.kind} files should be: {','.join(spec.column_names)}",
        )  # fmt: skip
        return False
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.add(name, 1, column, f"表头重复列 {column!r}", f"the header repeats column {column!r}")
            ok = False
        seen.add(column)
        if column not in spec.column_names:
            problems.add(
                name, 1, column or "(blank)",
                f"未知的列 {column!r}；{spec.zh}文件的列为：{expected}",
                f"unknown column {column!r}; {spec.kind} files have: {expected}",
            )  # fmt: skip
            ok = False
    for column in spec.required_names:
        if column not in seen:
            problems.add(
                name, 1, column,
                f"缺少必需的列 {column!r}（表头必须是第一行）",
                f"missing required column {column!r} (the header must be the first row)",
            )  # fmt: skip
            ok = False
    return ok


def read_rows(path: Path, spec: RecordSpec, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number, {column: raw value}) for each record of a CSV, Parquet or .xlsx file."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        yield from _read_parquet(path, spec, problems)
    elif suffix in EXCEL_SUFFIXES:
        from models import excel  # openpyxl only when a workbook is read

        yield from excel.read_rows(path, spec, problems)
    elif suffix in {".xls", ".xlsm", ".xlsb", ".et", ".ods"}:
        problems.add(
            str(path), None, None,
            f"不支持 {suffix} 文件；请在 Excel 或 WPS 中另存为“Excel 工作簿（.xlsx）”或 CSV",
            f"{suffix} files are not read: save it from Excel or WPS as an Excel Workbook (.xlsx) or as CSV",
        )  # fmt: skip
    else:
        yield from _read_csv(path, spec, problems)


def _read_csv(path: Path, spec: RecordSpec, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    name = str(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        problems.add(name, None, None, *too_big_file(size))
        return
    text = decode_csv(path.read_bytes(), name, problems)
    if text is None:
        return
    if not text.strip():
        problems.add(
            name, None, None,
            f"文件是空的：第一行应为表头 {','.join(spec.column_names)}",
            f"the file is empty: the first row should be the header {','.join(spec.column_names)}",
        )  # fmt: skip
        return
    csv.field_size_limit(MAX_FIELD_CHARS + 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row_no = 1
    try:
        header = [h.strip().lower() for h in next(reader)]
        if not check_header(header, spec, name, problems):
            return
        width = len(header)
        for row_no, values in enumerate(reader, start=2):
            if len(values) == width:
                yield row_no, dict(zip(header, values, strict=True))
            elif not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line, as spreadsheets leave at the end
            elif len(values) < width:
                problems.add(
                    name, row_no, header[len(values)],
                    f"行不完整：应有 {width} 列，只有 {len(values)} 列（从 {header[len(values)]} 起缺失）",
                    f"truncated row: expected {width} fields, found {len(values)} "
                    f"(missing from {header[len(values)]} on)",
                )  # fmt: skip
            else:
                problems.add(
                    name, row_no, None,
                    f"列数过多：应有 {width} 列，实际 {len(values)} 列（是否有未加引号的逗号？）",
                    f"too many fields: expected {width}, found {len(values)} (an unquoted comma?)",
                )  # fmt: skip
    except csv.Error as exc:
        row_no = reader.line_num if row_no == 1 else row_no + 1
        if "field larger than field limit" in str(exc):
            problems.add(
                name, row_no, None,
                f"字段过长（超过 {MAX_FIELD_CHARS} 个字符）；停止读取此文件",
                f"a field is longer than {MAX_FIELD_CHARS} characters; stopped reading this file",
            )  # fmt: skip
        else:
            problems.add(
                name, row_no, None,
                f"CSV 格式错误：{exc}（引号未闭合？）；停止读取此文件",
                f"malformed CSV: {exc} (an unclosed quote?); stopped reading this file",
            )  # fmt: skip


def too_big_file(size: int) -> tuple[str, str]:
    return (
        f"文件解压后的数据过大（{size} 字节，最多 {MAX_FILE_BYTES} 字节）；请拆分为多个文件",
        f"the file's data is too large ({size} bytes decoded, at most {MAX_FILE_BYTES}): split it into several files",
    )  # fmt: skip


class TooLarge(Exception):
    """A Parquet file's values are over a limit (MAX_FIELD_CHARS, MAX_GROUP_BYTES, MAX_FILE_BYTES);
    where (row and column, as far as known) and why, in Chinese and English."""

    def __init__(self, row: int | None, column: str | None, zh: str, en: str) -> None:
        super().__init__(en)
        self.row, self.column, self.zh, self.en = row, column, zh, en


def open_parquet(path: Path) -> Any:
    """A pyarrow ParquetFile whose text columns are read dictionary-encoded, as most writers store them:
    a value repeated on every row stays one value until ParquetLimits has counted what it decodes to."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    return pq.ParquetFile(path, read_dictionary=text)


@dataclass
class ParquetLimits:
    """What a Parquet file's values decode to, counted before they are decoded: its metadata first
    (`check_metadata`: row groups' and column chunks' uncompressed sizes and the longest value the
    statistics know), then each batch as read (`check_batch`: a dictionary-encoded column's size is
    its values' lengths taken by the row indices, so a huge value repeated 20,000 times is found at
    the cost of 20,000 integers). Raises TooLarge."""

    names: list[str]
    file_bytes: int = 0
    group_bytes: int = 0
    rows: int = 0

    def check_metadata(self, metadata: Any) -> None:
        total = 0
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            total += group.total_byte_size
            chunks = [group.column(c) for c in range(group.num_columns)]
            if group.total_byte_size > MAX_GROUP_BYTES:
                biggest = max(chunks, key=lambda chunk: chunk.total_uncompressed_size)
                self._group_over(None, biggest.path_in_schema, group.total_byte_size)
            for chunk in chunks:
                stats = chunk.statistics
                if stats is not None and stats.has_min_max and isinstance(stats.max, str | bytes):
                    longest = max(len(stats.min), len(stats.max))
                    if longest > MAX_FIELD_CHARS:
                        self._value_over(None, chunk.path_in_schema, longest)
        if total > MAX_FILE_BYTES:
            raise TooLarge(None, None, *too_big_file(total))

    def start_group(self) -> None:
        self.group_bytes = 0

    def check_batch(self, batch: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        sizes = []  # each column's bytes decoded
        for name, column in zip(self.names, batch.columns, strict=True):
            if pa.types.is_dictionary(column.type):
                values, indices = column.dictionary, column.indices
                if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                    self._check_chars(pc.utf8_length(values), indices, name)
                sizes.append(
                    (pc.sum(pc.take(pc.binary_length(values), indices)).as_py() or 0) + indices.nbytes
                )
            else:
                if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                    self._check_chars(pc.utf8_length(column), None, name)
                sizes.append(column.nbytes)
        decoded = sum(sizes)
        self.group_bytes += decoded
        self.file_bytes += decoded
        biggest = self.names[sizes.index(max(sizes))] if sizes else None
        if self.group_bytes > MAX_GROUP_BYTES:
            self._group_over(self.rows + 2, biggest, self.group_bytes)
        if self.file_bytes > MAX_FILE_BYTES:
            raise TooLarge(self.rows + 2, biggest, *too_big_file(self.file_bytes))
        self.rows += batch.num_rows

    def _check_chars(self, chars: Any, indices: Any, column: str) -> None:
        """No value over MAX_FIELD_CHARS: `chars` per value, or per dictionary entry with `indices`."""
        import pyarrow.compute as pc

        longest = pc.max(chars).as_py() or 0
        if longest > MAX_FIELD_CHARS:
            per_row = chars if indices is None else pc.take(chars, indices)
            row = pc.index(pc.greater(per_row, MAX_FIELD_CHARS), True).as_py()
            if row >= 0:  # (a dictionary entry no row uses costs nothing more)
                self._value_over(row, column, longest)

    def _value_over(self, row: int | None, column: str, length: int) -> None:
        raise TooLarge(
            None if row is None else self.rows + row + 2, column,
            f"值过长（{length} 个字符，最多 {MAX_FIELD_CHARS} 个）；停止读取此文件",
            f"a value is longer than {MAX_FIELD_CHARS} characters ({length}); stopped reading this file",
        )  # fmt: skip

    def _group_over(self, row: int | None, column: str | None, size: int) -> None:
        raise TooLarge(
            row, column,
            f"一个行组解压后过大（{size} 字节，最多 {MAX_GROUP_BYTES} 字节）；请用较小的行组另存",
            f"a row group is too large decoded ({size} bytes, at most {MAX_GROUP_BYTES}): "
            "write the file with smaller row groups",
        )  # fmt: skip


def parquet_batches(parquet: Any, names: list[str], batch_size: int = 20_000) -> Iterator[Any]:
    """The record batches of an `open_parquet` file, row group by row group, each within the limits
    (ParquetLimits; raises TooLarge before a batch over them is decoded)."""
    limits = ParquetLimits(names)
    limits.check_metadata(parquet.metadata)
    for group in range(parquet.metadata.num_row_groups):
        limits.start_group()
        for batch in parquet.iter_batches(batch_size=batch_size, row_groups=[group]):
            limits.check_batch(batch)
            yield batch


def _read_parquet(path: Path, spec: RecordSpec, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa

    name = str(path)
    try:
        parquet = open_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        problems.add(
            name, None, None, f"不是可读的 Parquet 文件：{exc}", f"not a readable Parquet file: {exc}"
        )
        return
    header = [h.strip().lower() for h in parquet.schema_arrow.names]
    if not check_header(header, spec, name, problems):
        return
    row_no = 1
    try:
        for batch in parquet_batches(parquet, header):
            for values in batch.rename_columns(header).to_pylist():
                row_no += 1
                yield row_no, values
    except TooLarge as exc:
        problems.add(name, exc.row, exc.column, exc.zh, exc.en)
    except (pa.ArrowException, OSError) as exc:
        problems.add(name, row_no + 1, None, f"Parquet 文件损坏：{exc}", f"damaged Parquet file: {exc}")


def validated_records(
    path: Path,
    spec: RecordSpec,
    known: Known,
    problems: Problems,
    leave_out: Callable[[str], bool] | None = None,
) -> Iterator[tuple[int, Any]]:
    """(row number, record) for every valid row of a file; every problem goes to `problems`.

    leave_out: student ids whose rows are passed over unchecked (students deleted on a guardian's
    request): such a row is never validated, remembered or named in a problem."""
    erased = leave_out if "student_id" in spec.column_names else None
    for row_no, raw in read_rows(path, spec, problems):
        student = raw.get("student_id") if erased is not None else None
        if erased is not None and student is not None and erased(str(student).strip()):
            continue
        record, errors = validate_record(spec, raw, known)
        for column, error in errors:
            problems.add(str(path), row_no, column, error.zh, error.en)
        if record is not None:
            yield row_no, record

"""Whole-column acceptance of a clean attempts file, for district-sized imports.

`validate_record` checks one row at a time and says exactly what is wrong; that costs Python work
per row. Most big homework logs are clean, so `accept_attempts` first tries to accept a whole file
with column operations (Arrow). It is deliberately *stricter* than the row checks: it accepts only
the plainest spelling of every value (ids without surrounding spaces, `YYYY-MM-DD` nights,
`YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM` timestamps with their offset, 0/1/true/false, …) and only when
every row passes. Anything else, including any row the row checks would refuse, returns None and
the caller validates row by row, so users always see the same messages. A property test holds the
two to this: whatever this module accepts, the row checks accept with the same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from models.files import EXCEL_SUFFIXES, TooLarge, open_parquet, parquet_batches
from models.schema import (
    ATTEMPT_SOURCES,
    DEFAULT_TIMEZONE,
    FALSE_WORDS,
    MAX_ATTEMPT_SECONDS,
    TRUE_WORDS,
    Attempt,
    Known,
    fixed_offset,
)

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
_NIGHT = r"^\d{4}-\d{2}-\d{2}$"
_STAMP = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?[+-]([01]\d|2[0-3]):[0-5]\d$"
_SECONDS = r"^\d{1,5}$"
_SCORE = r"^(0|1)(\.\d{1,12})?$"
REQUIRED = ("event_id", "student_id", "item_id", "night", "submitted_at", "correct")
OPTIONAL = ("seconds", "score", "source")
# The typed columns of an accepted file, in the attempts table's order.
SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("student_id", pa.string()),
        ("item_id", pa.string()),
        ("night", pa.date32()),
        ("submitted_at", pa.timestamp("us", tz="UTC")),
        ("submitted_offset_min", pa.int16()),
        ("correct", pa.bool_()),
        ("seconds", pa.int32()),
        ("score", pa.float64()),
        ("source", pa.string()),
    ]
)


BATCH_ROWS = 32_768  # rows read, checked and handed on at a time: memory holds one batch, not the file


class NotPlain(Exception):
    """The file needs the row checks (something in it is not plainly valid): nothing it gave counts."""


def accept_attempts(path: Path, known: Known) -> pa.Table | None:
    """The file's attempts as typed columns (SCHEMA) if every row is plainly valid, else None."""
    try:
        batches = list(accepted_batches(path, known))
    except NotPlain:
        return None
    return pa.concat_tables(batches) if batches else None


def accepted_batches(path: Path, known: Known, *, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """The file's attempts as typed tables (SCHEMA) of at most about `batch_rows` rows, read and
    checked one batch at a time, so a district's log is never in memory whole. Raises NotPlain as
    soon as a batch is not plainly valid, and after the last one if an event id came twice (or the
    file holds no row): the caller then drops what it was given and checks the file row by row."""
    seen: list[
        pa.ChunkedArray
    ] = []  # the event ids so far (about 20 bytes a row): repeats are found at the end
    rows = 0
    try:
        for raw in _read(path, batch_rows):
            if raw.num_rows == 0:
                continue
            table = _accept(raw, known)
            if table is None:
                raise NotPlain
            seen.append(table.column("event_id"))
            rows += table.num_rows
            yield table
        if rows == 0:
            raise NotPlain
        if _repeats(pa.chunked_array([c for ids in seen for c in ids.chunks], pa.string())):
            raise NotPlain  # repeated event ids: the row checks tell identical repeats from conflicts
    except (pa.ArrowException, OSError, ValueError, TooLarge):
        raise NotPlain from None  # anything unusual is for the row checks to explain


def _repeats(ids: pa.ChunkedArray) -> bool:
    """Whether any id comes twice: sorted, then each compared with the next. (A hash table of a million
    ids, as count_distinct builds, took about 60 MB more at once.)"""
    if len(ids) < 2:
        return False
    ordered = pc.take(ids, pc.sort_indices(ids))
    return bool(pc.any(pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))).as_py())


def _read(path: Path, batch_rows: int) -> Iterator[pa.Table]:
    """The file's columns as text, a batch at a time (raises NotPlain if its header will not do)."""
    if path.suffix.lower() in EXCEL_SUFFIXES:
        raise NotPlain  # a workbook is read row by row (models.excel)
    if path.suffix.lower() in {".parquet", ".pq"}:
        parquet = open_parquet(path)  # text dictionary-encoded until the limits have counted it
        names = parquet.schema_arrow.names
        _check_names(names)
        for batch in parquet_batches(parquet, names, batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            table = pa.table(
                [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns],
                names=table.column_names,
            )
            if not all(pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in table.schema):
                raise NotPlain
            yield table
        return
    with open(path, "rb") as f:
        first_line = f.readline(1 << 16)
    if first_line.startswith(b"\xef\xbb\xbf"):
        first_line = first_line[3:]
    header = next(csv.reader(io.StringIO(first_line.decode("utf-8"))), [])
    if len(set(header)) != len(header):
        raise NotPlain
    _check_names(header)
    # From a Python file object: given a path, Arrow reads ahead most of the file (78 MB of a 91 MB
    # log held at once); from a file object, two blocks, at the same speed.
    with open(path, "rb") as source:
        yield from _csv_batches(source, header, batch_rows)


def _csv_batches(source: Any, header: list[str], batch_rows: int) -> Iterator[pa.Table]:
    block = max(1 << 20, min(batch_rows * 100, 64 << 20))  # about 100 bytes a row in a homework log
    reader = pv.open_csv(
        source,
        read_options=pv.ReadOptions(encoding="utf8", block_size=block, use_threads=False),
        parse_options=pv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
        convert_options=pv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=True,
        ),
    )
    if reader.schema.names != header:
        raise NotPlain
    for batch in reader:
        yield pa.Table.from_batches([batch])


def _check_names(names: list[str]) -> None:
    if len(set(names)) != len(names) or not set(REQUIRED) <= set(names) <= set(REQUIRED + OPTIONAL):
        raise NotPlain


def _all(mask: pa.ChunkedArray | pa.Array) -> bool:
    return bool(pc.all(pc.fill_null(mask, False)).as_py()) if len(mask) else True


def _matches(column: pa.ChunkedArray, pattern: str) -> bool:
    return _all(pc.match_substring_regex(column, pattern))


def _accept(raw: pa.Table, known: Known) -> pa.Table | None:
    n = raw.num_rows
    if n == 0:
        return None
    col = {name: raw.column(name) for name in raw.column_names}
    for name in ("event_id", "student_id", "item_id"):
        if not _matches(col[name], _ID):
            return None
    if pc.count_distinct(col["event_id"]).as_py() != n:
        return None  # repeated event ids: the row checks tell identical repeats from conflicts
    students = col["student_id"]
    if not _all(pc.is_in(students, pa.array(list(known.student_classes), pa.string()))):
        return None
    if not _all(pc.is_in(col["item_id"], pa.array(list(known.item_subjects), pa.string()))):
        return None
    if not (_matches(col["night"], _NIGHT) and _matches(col["submitted_at"], _STAMP)):
        return None
    night = pc.cast(col["night"], pa.date32())
    stamps = col["submitted_at"]
    submitted = pc.cast(stamps, pa.timestamp("us", tz="UTC"))
    offset_text = pc.utf8_slice_codeunits(stamps, -6)
    sign = pc.if_else(pc.equal(pc.utf8_slice_codeunits(offset_text, 0, 1), "-"), -1, 1)
    hours = pc.cast(pc.utf8_slice_codeunits(offset_text, 1, 3), pa.int16())
    minutes = pc.cast(pc.utf8_slice_codeunits(offset_text, 4, 6), pa.int16())
    offset = pc.cast(pc.multiply(sign, pc.add(pc.multiply(hours, 60), minutes)), pa.int16())

    latest = pa.scalar(known.now + known.future_tolerance, pa.timestamp("us", tz="UTC"))
    if not _all(pc.less_equal(submitted, latest)):
        return None
    if not _all(pc.greater_equal(_local_dates(submitted, students, known), night)):
        return None  # submitted (in the school's time zone) before the night it belongs to

    lowered = pc.ascii_lower(col["correct"])
    if not _all(pc.is_in(lowered, pa.array(sorted(TRUE_WORDS | FALSE_WORDS)))):
        return None
    correct = pc.is_in(lowered, pa.array(sorted(TRUE_WORDS)))

    seconds = _optional_number(col.get("seconds"), n, _SECONDS, pa.int32(), 1, MAX_ATTEMPT_SECONDS)
    score = _optional_number(col.get("score"), n, _SCORE, pa.float64(), 0, 1)
    if seconds is None or score is None:
        return None
    source: Any = pa.array(["app"] * n, pa.string())
    if "source" in col:
        text = col["source"]
        if not _all(pc.or_kleene(pc.equal(text, ""), pc.is_in(text, pa.array(list(ATTEMPT_SOURCES))))):
            return None
        source = pc.if_else(pc.equal(text, ""), "app", text)
    columns = [
        col["event_id"],
        students,
        col["item_id"],
        night,
        submitted,
        offset,
        correct,
        seconds,
        score,
        source,
    ]
    return pa.Table.from_arrays([_chunked(c) for c in columns], schema=SCHEMA)


def _optional_number(
    text: pa.ChunkedArray | None, n: int, pattern: str, kind: pa.DataType, lo: float, hi: float
) -> Any:
    """A column that may be blank: blank is null; otherwise it must match pattern and lie in [lo, hi].
    None if any value does not."""
    if text is None:
        return pa.nulls(n, kind)
    given = pc.not_equal(text, "")
    if not _all(pc.or_kleene(pc.invert(given), pc.match_substring_regex(text, pattern))):
        return None
    values = pc.cast(pc.if_else(given, text, pa.scalar(None, pa.string())), kind)
    in_range = pc.and_kleene(pc.greater_equal(values, lo), pc.less_equal(values, hi))
    return values if _all(pc.or_kleene(pc.is_null(values), in_range)) else None


def _chunked(column: Any) -> pa.ChunkedArray:
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


def _local_dates(submitted: pa.ChunkedArray, students: pa.ChunkedArray, known: Known) -> pa.ChunkedArray:
    """Each moment's calendar date in its student's school time zone (zone rules, not offsets)."""
    zone_of_student = {
        s: known.schools.get(known.class_schools.get(c, ""), DEFAULT_TIMEZONE)
        for s, c in known.student_classes.items()
    }
    zone_names = sorted(set(zone_of_student.values())) or [DEFAULT_TIMEZONE]
    zones = pc.take(
        pa.array([zone_of_student[s] for s in zone_of_student] or [DEFAULT_TIMEZONE]),
        pc.index_in(students, pa.array(list(zone_of_student) or [""])),
    )
    local = pa.nulls(len(submitted), pa.date32())
    for zone in zone_names:
        here = pc.cast(pc.local_timestamp(pc.cast(submitted, pa.timestamp("us", tz=zone))), pa.date32())
        local = pc.if_else(pc.equal(zones, zone), here, local)
    return _chunked(local)


def attempts_of(table: pa.Table) -> list[Attempt]:
    """The records of an accepted table, with each timestamp in the offset it was written with."""
    records = []
    for row in table.to_pylist():
        offset = row.pop("submitted_offset_min")
        row["submitted_at"] = row["submitted_at"].astimezone(fixed_offset(timedelta(minutes=offset)))
        records.append(Attempt(**row))
    return records
